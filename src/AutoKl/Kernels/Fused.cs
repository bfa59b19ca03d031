using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

/// <summary>
/// Kernels of the fused losses (Losses/Fused.cs): a loss over a whole batch in one or two passes
/// over memory, where the same formula composed of ops writes a temporary the size of the batch
/// for every step. Sums are taken per fixed block (or per row) and the block results added in
/// order on the calling thread, so the bits do not depend on the thread count.
/// </summary>
internal static class Fused
{
    /// <summary>Elements per block of a flat sum (fixed, so the bits do not depend on the split).</summary>
    internal const int Block = 4096;

    /// <summary><c>dst += src</c> elementwise (same type and length).</summary>
    public static void AddInto(Array dst, Array src)
    {
        switch (dst)
        {
            case float[] d: Chunked.Run(d.Length, 1, new AddChunk<float>(d, (float[])src)); break;
            case double[] d: Chunked.Run(d.Length, 1, new AddChunk<double>(d, (double[])src)); break;
            default: throw new InvalidOperationException($"internal error: cannot add into {dst.GetType()}");
        }
    }

    private readonly record struct AddChunk<T>(T[] Dst, T[] Src) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end) => TensorPrimitives.Add(Dst.AsSpan(start, end - start), Src.AsSpan(start, end - start), Dst.AsSpan(start, end - start));
    }

    /// <summary>
    /// sum over i of kl_div's pointwise term: <c>xlogy(t, t) - t * q</c>, or with
    /// <paramref name="logTarget"/> <c>exp(t) * (t - q)</c>.
    /// </summary>
    /// <remarks>With <paramref name="logTarget"/>, exp(t) is written into <paramref name="expT"/> when given (for the backward pass).</remarks>
    public static T KlSum<T>(T[] q, T[] t, bool logTarget, T[] expT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int blocks = (q.Length + Block - 1) / Block;
        var partial = ArrayPool<T>.Shared.Rent(blocks);
        try
        {
            Chunked.Run(blocks, Block, new KlChunk<T>(q, t, partial, logTarget, expT));
            T total = T.Zero;
            for (int b = 0; b < blocks; b++) total += partial[b];
            return total;
        }
        finally { ArrayPool<T>.Shared.Return(partial); }
    }

    private readonly record struct KlChunk<T>(T[] Q, T[] Tgt, T[] Partial, bool LogTarget, T[] ExpT) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            var scratch = ArrayPool<T>.Shared.Rent(Block);
            try
            {
                for (int b = start; b < end; b++)
                {
                    int first = b * Block, n = Math.Min(Block, Q.Length - first);
                    var q = Q.AsSpan(first, n);
                    var t = Tgt.AsSpan(first, n);
                    var s = ExpT.Length > 0 ? ExpT.AsSpan(first, n) : scratch.AsSpan(0, n);
                    if (LogTarget)
                    {
                        FastMath.Exp(t, s);
                        Partial[b] = Dot<T>(s, t, q);
                    }
                    else
                    {
                        TensorPrimitives.Log(t, s);
                        Partial[b] = XlogyMinusProduct<T>(t, q, s);
                    }
                }
            }
            finally { ArrayPool<T>.Shared.Return(scratch); }
        }
    }

    /// <summary>sum of a * (b - c).</summary>
    private static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && a.Length >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; i <= a.Length - Vector<T>.Count; i += Vector<T>.Count)
                acc += new Vector<T>(a[i..]) * (new Vector<T>(b[i..]) - new Vector<T>(c[i..]));
            sum = Vector.Sum(acc);
        }
        for (; i < a.Length; i++) sum += a[i] * (b[i] - c[i]);
        return sum;
    }

    /// <summary>sum of xlogy(t, t) - t * q, with <paramref name="logT"/> = log(t) (xlogy is 0 where t is 0 and not NaN).</summary>
    private static T XlogyMinusProduct<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> q, ReadOnlySpan<T> logT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && t.Length >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; i <= t.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vt = new Vector<T>(t[i..]);
                var xlogy = Vector.ConditionalSelect(Vector.Equals(vt, Vector<T>.Zero), Vector<T>.Zero, vt * new Vector<T>(logT[i..]));
                acc += xlogy - vt * new Vector<T>(q[i..]);
            }
            sum = Vector.Sum(acc);
        }
        for (; i < t.Length; i++)
        {
            T xlogy = t[i] == T.Zero ? T.Zero : t[i] * logT[i];
            sum += xlogy - t[i] * q[i];
        }
        return sum;
    }

    /// <summary>dq = -w * scale, with w = t (or exp(t) with <paramref name="logTarget"/>): kl_div's gradient for its input.</summary>
    public static void KlInputGrad<T>(T[] t, bool logTarget, T scale, T[] dq) where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(t.Length, 1, new ScaleChunk<T>(t, dq, -scale, logTarget));

    private readonly record struct ScaleChunk<T>(T[] X, T[] Y, T Factor, bool Exp) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            var x = X.AsSpan(start, end - start);
            var y = Y.AsSpan(start, end - start);
            if (Exp) { FastMath.Exp(x, y); TensorPrimitives.Multiply(y, Factor, y); }
            else TensorPrimitives.Multiply(x, Factor, y);
        }
    }

    /// <summary>
    /// The gradient of a loss of log-softmax rows against target weights w (one row of
    /// <paramref name="n"/> at a time): <c>dx = (softmax * sum(w) - w) * scale</c>. The row's
    /// softmax is exp(a - c): either a = log_softmax output and c = 0 (<paramref name="shift"/>
    /// empty), or a = logits and c = the row's logsumexp; or, when <paramref name="sums"/> is
    /// given, a holds the forward pass's exp(x - max) and the softmax is a / sums[row], with no exp
    /// to take. w is <paramref name="t"/>, exp(t) (<paramref name="expTarget"/>), or the one-hot
    /// row of a class index (<paramref name="index"/>, whose rows with <paramref name="ignore"/>
    /// get dx = 0). <paramref name="dx"/> may be <paramref name="a"/>.
    /// </summary>
    public static void SoftmaxMinusTarget<T>(T[] a, T[] shift, T[] sums, T[] t, bool expTarget, long[] index, long ignore, int n, T scale, T[] dx, T[]? targetSums = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(n == 0 ? 0 : a.Length / n, n, new SoftmaxMinusTargetChunk<T>(a, shift, sums, t, expTarget, index, ignore, n, scale, dx, targetSums ?? []));

    /// <summary>One row at a time; <c>TargetSums</c>, when given, holds each row's sum(w) from the forward pass.</summary>
    private readonly record struct SoftmaxMinusTargetChunk<T>(T[] A, T[] Shift, T[] Sums, T[] Tgt, bool ExpTarget, long[] Index, long Ignore, int N, T Scale, T[] Dx, T[] TargetSums) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            // dx may be the target weights' own array (kept from the forward pass): the softmax then
            // goes to a scratch row first, and each w is read before its place is written
            bool overTarget = ReferenceEquals(Tgt, Dx);
            var scratch = ExpTarget || overTarget ? ArrayPool<T>.Shared.Rent(ExpTarget && overTarget ? 2 * N : N) : null;
            bool kept = Sums.Length > 0;
            try
            {
                for (int r = start; r < end; r++)
                {
                    var a = A.AsSpan(r * N, N);
                    var dx = Dx.AsSpan(r * N, N);
                    if (Index.Length > 0)
                    {
                        long k = Index[r];
                        if (k == Ignore) { dx.Clear(); continue; }
                        // (softmax - onehot) * scale
                        if (kept) TensorPrimitives.Multiply(a, Scale / Sums[r], dx);
                        else
                        {
                            FastMath.ExpOfDifference(a, Shift[r], dx);
                            TensorPrimitives.Multiply(dx, Scale, dx);
                        }
                        dx[(int)k] -= Scale;
                        continue;
                    }
                    ReadOnlySpan<T> w = Tgt.AsSpan(r * N, N);
                    if (ExpTarget)
                    {
                        FastMath.Exp(w, scratch.AsSpan(0, N));
                        w = scratch.AsSpan(0, N);
                    }
                    T total = TargetSums.Length > 0 ? TargetSums[r] : TensorPrimitives.Sum(w);
                    var p = overTarget ? scratch.AsSpan(ExpTarget ? N : 0, N) : dx;
                    if (kept)
                    {
                        if (!ReferenceEquals(A, Dx)) a.CopyTo(p);
                        total /= Sums[r];
                    }
                    else if (Shift.Length > 0) FastMath.ExpOfDifference(a, Shift[r], p);
                    else FastMath.Exp<T>(a, p);
                    TimesMinus(p, total, w, Scale, dx);
                }
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
        }
    }

    /// <summary>dx = (p * total - w) * scale, one pass (each product rounded, no fused multiply-add); dx may be p or w.</summary>
    private static void TimesMinus<T>(ReadOnlySpan<T> p, T total, ReadOnlySpan<T> w, T scale, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vt = new Vector<T>(total);
            var vs = new Vector<T>(scale);
            for (; i <= dx.Length - Vector<T>.Count; i += Vector<T>.Count)
                ((new Vector<T>(p[i..]) * vt - new Vector<T>(w[i..])) * vs).CopyTo(dx[i..]);
        }
        for (; i < dx.Length; i++) dx[i] = (p[i] * total - w[i]) * scale;
    }

    /// <summary>
    /// Per row of logits x (length <paramref name="n"/>): its logsumexp into <paramref name="lse"/>,
    /// and the row's loss into <paramref name="loss"/>: with class indices, lse - x[k] (0 for an
    /// ignored row); with soft targets t, lse * sum(t) - sum(t * x) computed as
    /// log(s) * sum(t) - sum(t * (x - max)), which keeps its digits for large logits. When
    /// <paramref name="exps"/> is given (laid out like x), exp(x - max) is kept there and each
    /// row's sum s in <paramref name="sums"/>, for a backward pass without exp.
    /// </summary>
    /// <remarks>
    /// With soft targets, each row's sum(t) goes into <paramref name="targetSums"/> when given, and
    /// with <paramref name="checkTarget"/> a row whose t has a negative or NaN element gets a NaN
    /// loss (the row is in cache here; a separate check would read the whole target again).
    /// </remarks>
    public static void CrossEntropyRows<T>(T[] x, T[] t, long[] index, long ignore, int n, T[] lse, T[] loss, T[] exps, T[] sums, T[] targetSums, bool checkTarget)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(lse.Length, 2 * n, new CrossEntropyChunk<T>(x, t, index, ignore, n, lse, loss, exps, sums, targetSums, checkTarget));

    private readonly record struct CrossEntropyChunk<T>(T[] X, T[] Tgt, long[] Index, long Ignore, int N, T[] Lse, T[] Loss, T[] Exps, T[] Sums, T[] TargetSums, bool CheckTarget) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            var scratch = ArrayPool<T>.Shared.Rent(2 * N);
            try
            {
                for (int r = start; r < end; r++)
                {
                    var x = X.AsSpan(r * N, N);
                    var shifted = scratch.AsSpan(0, N);
                    var e = Exps.Length > 0 ? Exps.AsSpan(r * N, N) : scratch.AsSpan(N, N);
                    T max = Rows.FiniteMax<T>(x);
                    // soft targets need the shifted row itself (for sum(t * (x - max))); indices one element of it
                    if (Index.Length == 0) TensorPrimitives.Subtract(x, max, shifted);
                    FastMath.ExpOfDifference<T>(x, max, e);
                    T sum = TensorPrimitives.Sum<T>(e);
                    if (Sums.Length > 0) Sums[r] = sum;
                    T logSum = T.Log(sum);
                    Lse[r] = logSum + max;
                    if (Index.Length > 0)
                    {
                        long k = Index[r];
                        Loss[r] = k == Ignore ? T.Zero : logSum - (x[(int)k] - max);
                    }
                    else
                    {
                        var t = Tgt.AsSpan(r * N, N);
                        T tSum = TensorPrimitives.Sum<T>(t);
                        if (TargetSums.Length > 0) TargetSums[r] = tSum;
                        Loss[r] = CheckTarget && N > 0 && !(TensorPrimitives.Min<T>(t) >= T.Zero)
                            ? T.NaN
                            : logSum * tSum - TensorPrimitives.Dot(t, (ReadOnlySpan<T>)shifted);
                    }
                }
            }
            finally { ArrayPool<T>.Shared.Return(scratch); }
        }
    }
}

/// <summary>The normal log-density with one loc and one scale (Distributions/Normal.cs), forward and backward in one pass each.</summary>
internal static class NormalKernels
{
    /// <summary>
    /// y = -(d * d) / (s * s * 2) - log(s) - c with d = x - loc, each step rounded in T as the
    /// composed ops round it.
    /// </summary>
    public static void LogProb<T>(T[] x, T loc, T scale, T logScale, T c, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T twoVariance = scale * scale * T.CreateChecked(2);
        for (int i = 0; i < x.Length; i++)
        {
            T d = x[i] - loc;
            y[i] = -(d * d) / twoVariance - logScale - c;
        }
    }

    /// <summary>
    /// dx = -g * d / s^2 (when <paramref name="dx"/> is given); returns sum(g * d / s^2) for loc
    /// and sum(g * (d^2 / s^3 - 1 / s)) for scale, summed in order in double.
    /// </summary>
    public static (double Loc, double Scale) Backward<T>(T[] x, T[] g, T loc, T scale, T[]? dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T variance = scale * scale;
        double s = double.CreateChecked(scale), l = double.CreateChecked(loc);
        double sumGd = 0, sumGdd = 0, sumG = 0;
        for (int i = 0; i < x.Length; i++)
        {
            T d = x[i] - loc;
            if (dx is not null) dx[i] = -(g[i] * d) / variance;
            double gi = double.CreateChecked(g[i]), di = double.CreateChecked(x[i]) - l;
            sumGd += gi * di;
            sumGdd += gi * di * di;
            sumG += gi;
        }
        return (sumGd / (s * s), sumGdd / (s * s * s) - sumG / s);
    }
}
