using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    /// <remarks>
    /// With <paramref name="logTarget"/>, exp(t) is written into <paramref name="expT"/> when given
    /// (for the backward pass), and when <paramref name="expTRowSums"/> is given too, the sum of
    /// each row of <paramref name="rowLength"/> exps goes there (the backward pass through
    /// log_softmax needs them; taken here, they cost no pass of their own).
    /// With <paramref name="rowShifts"/> (a max and a log-sum per row), q is not given but computed
    /// a row at a time from logits in its place, as (x - max) - logSum: the log_softmax output
    /// that was never written (the same bits as writing it).
    /// </remarks>
    public static T KlSum<T>(T[] q, T[] t, bool logTarget, T[] expT, int rowLength = 0, T[]? expTRowSums = null, T[]? rowShifts = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Blocks of a fixed length; through log_softmax, of whole rows (whether q is given or
        // computed, the same blocks, so the same bits), one row each when their sums are asked for.
        int length = rowLength <= 0 ? Block
            : expTRowSums is { Length: > 0 } ? rowLength
            : rowLength * Math.Max(1, Block / rowLength);
        int blocks = length == 0 ? 0 : (q.Length + length - 1) / length;
        var partial = ArrayPool<T>.Shared.Rent(blocks);
        try
        {
            Chunked.Run(blocks, length, new KlChunk<T>(q, t, partial, logTarget, expT, length, expTRowSums ?? [], rowShifts ?? [], rowLength));
            T total = T.Zero;
            for (int b = 0; b < blocks; b++) total += partial[b];
            return total;
        }
        finally { ArrayPool<T>.Shared.Return(partial); }
    }

    private readonly record struct KlChunk<T>(T[] Q, T[] Tgt, T[] Partial, bool LogTarget, T[] ExpT, int Length, T[] ExpTSums, T[] Shifts, int RowLength) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            var scratch = ExpT.Length > 0 ? null : ArrayPool<T>.Shared.Rent(Length);
            // the row of q computed from the logits, while it is in cache
            var qRow = Shifts.Length > 0 ? ArrayPool<T>.Shared.Rent(Length) : null;
            try
            {
                for (int b = start; b < end; b++)
                {
                    int first = b * Length, n = Math.Min(Length, Q.Length - first);
                    ReadOnlySpan<T> q = Q.AsSpan(first, n);
                    if (qRow is not null)
                    {
                        for (int row = first / RowLength, at = 0; at < n; row++, at += RowLength)
                            LogSoftmaxRow.ShiftedLess<T>(q.Slice(at, RowLength), Shifts[2 * row], Shifts[2 * row + 1], qRow.AsSpan(at, RowLength));
                        q = qRow.AsSpan(0, n);
                    }
                    var t = Tgt.AsSpan(first, n);
                    var s = ExpT.Length > 0 ? ExpT.AsSpan(first, n) : scratch.AsSpan(0, n);
                    if (LogTarget)
                    {
                        (Partial[b], T expSum) = FastMath.ExpTimesDifferenceSum<T>(t, q, s);
                        if (ExpTSums.Length > 0) ExpTSums[b] = expSum;
                    }
                    else
                    {
                        TensorPrimitives.Log(t, s);
                        Partial[b] = XlogyMinusProduct<T>(t, q, s);
                    }
                }
            }
            finally
            {
                if (scratch is not null) ArrayPool<T>.Shared.Return(scratch);
                if (qRow is not null) ArrayPool<T>.Shared.Return(qRow);
            }
        }
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

    /// <summary>y = x * factor, split across cores; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Scale<T>(T[] x, T factor, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(x.Length, 1, new ScaleChunk<T>(x, y, factor, false));

    /// <summary>
    /// The gradient of kl_div through log_softmax against target weights w (one row of
    /// <paramref name="n"/> at a time): <c>dx = (exp(q) * sum(w) - w) * scale</c>, with q the
    /// log_softmax output and w = <paramref name="t"/>, or exp(t) with <paramref name="expTarget"/>.
    /// <paramref name="dx"/> may be <paramref name="t"/>. sum(w) is taken from <paramref name="rowSums"/>
    /// when given, and exp(q) is read as <paramref name="softmaxExps"/> / <paramref name="softmaxSums"/>
    /// (what log_softmax kept) when given.
    /// </summary>
    public static void SoftmaxMinusTarget<T>(T[] q, T[] t, bool expTarget, int n, T scale, T[] dx, T[]? rowSums = null, T[]? softmaxExps = null, T[]? softmaxSums = null)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(n == 0 ? 0 : q.Length / n, n,
            new SoftmaxMinusTargetChunk<T>(q, t, expTarget, n, scale, dx, rowSums ?? [], softmaxExps ?? [], softmaxSums ?? []));

    private readonly record struct SoftmaxMinusTargetChunk<T>(T[] Q, T[] Tgt, bool ExpTarget, int N, T Scale, T[] Dx, T[] RowSums, T[] SoftmaxExps, T[] SoftmaxSums) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            // with exp(t) taken here, it goes to a scratch row first
            var scratch = ExpTarget ? ArrayPool<T>.Shared.Rent(N) : null;
            try
            {
                for (int r = start; r < end; r++)
                {
                    ReadOnlySpan<T> w = Tgt.AsSpan(r * N, N);
                    if (ExpTarget)
                    {
                        FastMath.Exp(w, scratch.AsSpan(0, N));
                        w = scratch.AsSpan(0, N);
                    }
                    // dx may be the target weights' own row (kept from the forward pass): each w is read before its place is written
                    T total = RowSums.Length > 0 ? RowSums[r] : TensorPrimitives.Sum(w);
                    // softmax = exp(q), or the exps log_softmax kept over their row sum
                    if (SoftmaxExps.Length > 0) TimesMinus<T>(SoftmaxExps.AsSpan(r * N, N), total / SoftmaxSums[r], w, Scale, Dx.AsSpan(r * N, N));
                    else FastMath.ExpTimesMinus<T>(Q.AsSpan(r * N, N), total, w, Scale, Dx.AsSpan(r * N, N));
                }
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
        }
    }

    /// <summary>
    /// dx = (p * factor - w) * scale in one pass, each product rounded (no fused multiply-add);
    /// dx may be p or w.
    /// </summary>
    public static void TimesMinus<T>(ReadOnlySpan<T> p, T factor, ReadOnlySpan<T> w, T scale, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vf = new Vector<T>(factor);
            var vs = new Vector<T>(scale);
            for (; i <= dx.Length - Vector<T>.Count; i += Vector<T>.Count)
                ((new Vector<T>(p[i..]) * vf - new Vector<T>(w[i..])) * vs).CopyTo(dx[i..]);
        }
        for (; i < dx.Length; i++) dx[i] = (p[i] * factor - w[i]) * scale;
    }

    /// <summary>
    /// Per row of logits x (length <paramref name="n"/>): its logsumexp into <paramref name="lse"/>,
    /// and the row's loss into <paramref name="loss"/>: with class indices, lse - x[k] (0 for an
    /// ignored row); with soft targets t, lse * sum(t) - sum(t * x) computed as
    /// log(s) * sum(t) - sum(t * (x - max)), which keeps its digits for large logits. When
    /// <paramref name="unitGrad"/> is given (laid out like x), the row's gradient for an output
    /// gradient of 1 goes there while the row is in cache: (softmax - w) * gradScale, w the one-hot
    /// row of the class (0 for an ignored row) or t scaled by sum(t).
    /// </summary>
    /// <remarks>
    /// With <paramref name="checkTarget"/> a row whose soft target has a negative or NaN element
    /// gets a NaN loss (the row is in cache here; a separate check would read the whole target again).
    /// </remarks>
    public static void CrossEntropyRows<T>(T[] x, T[] t, long[] index, long ignore, int n, T[] lse, T[] loss, T[] unitGrad, T gradScale, bool checkTarget)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(lse.Length, 2 * n, new CrossEntropyChunk<T>(x, t, index, ignore, n, lse, loss, unitGrad, gradScale, checkTarget));

    private readonly record struct CrossEntropyChunk<T>(T[] X, T[] Tgt, long[] Index, long Ignore, int N, T[] Lse, T[] Loss, T[] UnitGrad, T GradScale, bool CheckTarget) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            bool grad = UnitGrad.Length > 0;
            var scratch = grad ? null : ArrayPool<T>.Shared.Rent(N); // the exps go to the unit gradient when it is asked for
            try
            {
                for (int r = start; r < end; r++)
                {
                    var x = X.AsSpan(r * N, N);
                    var e = grad ? UnitGrad.AsSpan(r * N, N) : scratch!.AsSpan(0, N);
                    // soft targets: the target row's sum and min ride on the pass that finds the logits' max
                    var t = Index.Length > 0 ? default : Tgt.AsSpan(r * N, N);
                    var (max, tSum, tMin) = Index.Length > 0 ? (Rows.FiniteMax<T>(x), T.Zero, T.Zero) : MaxAndTargetSums(x, t);
                    T sum = grad ? FastMath.ExpOfDifferenceAndSum<T>(x, max, e) : FastMath.SumOfExpOfDifference<T>(x, max, e);
                    T logSum = T.Log(sum);
                    Lse[r] = logSum + max;
                    // a row holding +inf or NaN has a NaN log_softmax throughout, so its loss and
                    // gradient are NaN, as composed and in PyTorch (its logsumexp may be +inf)
                    bool nanRow = !T.IsFinite(sum);
                    if (Index.Length > 0)
                    {
                        long k = Index[r];
                        Loss[r] = k == Ignore ? T.Zero : nanRow ? T.NaN : logSum - (x[(int)k] - max);
                        if (!grad) continue;
                        if (k == Ignore) { e.Clear(); continue; }
                        if (nanRow) { e.Fill(T.NaN); continue; }
                        TensorPrimitives.Multiply(e, GradScale / sum, e);
                        e[(int)k] -= GradScale;
                    }
                    else if (nanRow)
                    {
                        Loss[r] = T.NaN;
                        if (grad) e.Fill(T.NaN);
                    }
                    else
                    {
                        // sum(t * (x - max)) rides on the pass that writes the gradient
                        T tDotShifted = TimesMinusAndDot(e, tSum / sum, t, GradScale, grad ? e : default, x, max);
                        // a NaN in t makes tSum, and so the loss, NaN already
                        Loss[r] = CheckTarget && N > 0 && !(tMin >= T.Zero) ? T.NaN : logSum * tSum - tDotShifted;
                    }
                }
            }
            finally { if (scratch is not null) ArrayPool<T>.Shared.Return(scratch); }
        }
    }

    /// <summary>
    /// The finite max of a row of logits (as <see cref="Rows.FiniteMax{T}(ReadOnlySpan{T})"/>: 0 when
    /// it is inf or NaN), and the sum and min of its soft-target row, in one pass over both.
    /// </summary>
    private static (T Max, T TargetSum, T TargetMin) MaxAndTargetSums<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity, sum = T.Zero, min = T.PositiveInfinity;
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && t.Length >= 2 * w)
        {
            // two accumulators for the sum: one chain of dependent adds would wait on the adder's latency
            Vector<T> sum0 = Vector<T>.Zero, sum1 = Vector<T>.Zero;
            var vMin = new Vector<T>(T.PositiveInfinity);
            var vMax = new Vector<T>(T.NegativeInfinity);
            for (; i <= t.Length - 2 * w; i += 2 * w)
            {
                var t0 = new Vector<T>(t[i..]);
                var t1 = new Vector<T>(t[(i + w)..]);
                sum0 += t0;
                sum1 += t1;
                // the hardware min and max, which may pass over a NaN: a NaN in t makes tSum NaN,
                // and a NaN in x the row's exps (see Rows.FiniteMax), so neither needs them to see it
                vMin = Vector.MinNative(vMin, Vector.MinNative(t0, t1));
                vMax = Vector.MaxNative(vMax, Vector.MaxNative(new Vector<T>(x[i..]), new Vector<T>(x[(i + w)..])));
            }
            sum = Vector.Sum(sum0 + sum1);
            for (int j = 0; j < w; j++)
            {
                min = T.Min(min, vMin[j]);
                max = T.Max(max, vMax[j]);
            }
        }
        for (; i < t.Length; i++)
        {
            sum += t[i];
            min = T.Min(min, t[i]);
            max = T.Max(max, x[i]);
        }
        return (T.IsFinite(max) ? max : T.Zero, sum, min);
    }

    /// <summary>
    /// dx = (p * factor - t) * scale (each product rounded, no fused multiply-add; skipped when dx is empty, and
    /// dx may be p), and in the same pass sum(t * (x - shift)), which it returns.
    /// </summary>
    private static T TimesMinusAndDot<T>(ReadOnlySpan<T> p, T factor, ReadOnlySpan<T> t, T scale, Span<T> dx, ReadOnlySpan<T> x, T shift)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool write = !dx.IsEmpty;
        T dot = T.Zero;
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && t.Length >= 2 * w)
        {
            // two accumulators: one chain of dependent adds would wait on the adder's latency
            Vector<T> dot0 = Vector<T>.Zero, dot1 = Vector<T>.Zero;
            var vShift = new Vector<T>(shift);
            var vFactor = new Vector<T>(factor);
            var vScale = new Vector<T>(scale);
            for (; i <= t.Length - 2 * w; i += 2 * w)
            {
                var t0 = new Vector<T>(t[i..]);
                var t1 = new Vector<T>(t[(i + w)..]);
                dot0 += t0 * (new Vector<T>(x[i..]) - vShift);
                dot1 += t1 * (new Vector<T>(x[(i + w)..]) - vShift);
                if (!write) continue;
                ((new Vector<T>(p[i..]) * vFactor - t0) * vScale).CopyTo(dx[i..]);
                ((new Vector<T>(p[(i + w)..]) * vFactor - t1) * vScale).CopyTo(dx[(i + w)..]);
            }
            dot = Vector.Sum(dot0 + dot1);
        }
        for (; i < t.Length; i++)
        {
            dot += t[i] * (x[i] - shift);
            if (write) dx[i] = (p[i] * factor - t[i]) * scale;
        }
        return dot;
    }
}

/// <summary>The normal log-density with one loc and one scale (Distributions/Normal.cs), forward and backward in one pass each.</summary>
internal static class NormalKernels
{
    /// <summary>
    /// y = -(d * d) / (s * s * 2) - log(s) - c with d = x - loc, each step rounded in T as the
    /// composed ops round it (vector lanes round each step as a scalar does, division included).
    /// </summary>
    public static void LogProb<T>(T[] x, T loc, T scale, T logScale, T c, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T twoVariance = scale * scale * T.CreateChecked(2);
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vLoc = new Vector<T>(loc);
            var vTwoVariance = new Vector<T>(twoVariance);
            var vLogScale = new Vector<T>(logScale);
            var vC = new Vector<T>(c);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var d = new Vector<T>(x.AsSpan(i)) - vLoc;
                (-(d * d) / vTwoVariance - vLogScale - vC).CopyTo(y.AsSpan(i));
            }
        }
        for (; i < x.Length; i++)
        {
            T d = x[i] - loc;
            y[i] = -(d * d) / twoVariance - logScale - c;
        }
    }

    /// <summary>
    /// dx = -g * d / s^2 (when <paramref name="dx"/> is given); returns sum(g * d / s^2) for loc
    /// and sum(g * (d^2 / s^3 - 1 / s)) for scale, the sums taken in double (two running sums of
    /// four lanes each, added in a fixed order: two chains, so the adds do not wait on each other).
    /// </summary>
    public static (double Loc, double Scale) Backward<T>(T[] x, T[] g, T loc, T scale, T[]? dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dx is not null) InputGradient(x, g, loc, scale * scale, dx);
        double s = double.CreateChecked(scale), l = double.CreateChecked(loc);
        double sumGd = 0, sumGdd = 0, sumG = 0;
        int i = 0;
        if (Avx.IsSupported && x.Length >= 8)
        {
            var vl = Vector256.Create(l);
            Vector256<double> gd0 = default, gd1 = default, gdd0 = default, gdd1 = default, g0 = default, g1 = default;
            for (; i <= x.Length - 8; i += 8)
            {
                var (xa, ga) = AsDoubles(x, g, i);
                var (xb, gb) = AsDoubles(x, g, i + 4);
                var da = xa - vl;
                var db = xb - vl;
                var gda = ga * da;
                var gdb = gb * db;
                gd0 += gda;
                gd1 += gdb;
                gdd0 += gda * da;
                gdd1 += gdb * db;
                g0 += ga;
                g1 += gb;
            }
            sumGd = Vector256.Sum(gd0 + gd1);
            sumGdd = Vector256.Sum(gdd0 + gdd1);
            sumG = Vector256.Sum(g0 + g1);
        }
        for (; i < x.Length; i++)
        {
            double gi = double.CreateChecked(g[i]), di = double.CreateChecked(x[i]) - l;
            sumGd += gi * di;
            sumGdd += gi * di * di;
            sumG += gi;
        }
        return (sumGd / (s * s), sumGdd / (s * s * s) - sumG / s);
    }

    /// <summary>Four elements of x and g from <paramref name="i"/>, as doubles.</summary>
    private static (Vector256<double> X, Vector256<double> G) AsDoubles<T>(T[] x, T[] g, int i) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            return (Avx.ConvertToVector256Double(Vector128.Create<float>(MemoryMarshal.Cast<T, float>(x.AsSpan(i, 4)))),
                    Avx.ConvertToVector256Double(Vector128.Create<float>(MemoryMarshal.Cast<T, float>(g.AsSpan(i, 4)))));
        return (Vector256.Create<double>(MemoryMarshal.Cast<T, double>(x.AsSpan(i, 4))),
                Vector256.Create<double>(MemoryMarshal.Cast<T, double>(g.AsSpan(i, 4))));
    }

    /// <summary>dx = -(g * d) / variance, d = x - loc, each step rounded in T.</summary>
    private static void InputGradient<T>(T[] x, T[] g, T loc, T variance, T[] dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vLoc = new Vector<T>(loc);
            var vVariance = new Vector<T>(variance);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                (-(new Vector<T>(g.AsSpan(i)) * (new Vector<T>(x.AsSpan(i)) - vLoc)) / vVariance).CopyTo(dx.AsSpan(i));
        }
        for (; i < x.Length; i++) dx[i] = -(g[i] * (x[i] - loc)) / variance;
    }
}
