using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

/// <summary>
/// A contiguous tensor seen as rows along a block of adjacent axes: shape [Outer, N, Inner] with
/// the axes merged into N. Row r starts at (r / Inner) * N * Inner + r % Inner, with stride Inner.
/// </summary>
internal readonly record struct RowLayout(int Outer, int N, int Inner)
{
    /// <summary>The number of rows.</summary>
    public int Count => Outer * Inner;

    /// <summary>The layout when the sorted <paramref name="axes"/> are adjacent; null otherwise. No axes: rows of one element.</summary>
    public static RowLayout? Of(int[] shape, int[] axes)
    {
        if (axes.Length == 0) return new RowLayout(Shapes.Numel(shape), 1, 1);
        if (axes[^1] - axes[0] != axes.Length - 1) return null;
        int outer = 1, n = 1, inner = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            if (d < axes[0]) outer *= shape[d];
            else if (d <= axes[^1]) n *= shape[d];
            else inner *= shape[d];
        }
        return new RowLayout(outer, n, inner);
    }
}

/// <summary>
/// A rule that maps one row of its inputs (a, and b for
/// the backward rules) to a row of the output, or to one value when the rule reduces.
/// </summary>
internal interface IRowKernel
{
    /// <summary>Whether the output has one value per row (true) or a whole row (false).</summary>
    bool Reduces { get; }

    /// <summary>
    /// Computes one row; <paramref name="b"/> is empty for the forward rules, and for the backward
    /// rules <paramref name="a"/> is the forward output and <paramref name="b"/> its gradient.
    /// <paramref name="scratch"/> has the row's length.
    /// </summary>
    void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The same rule for <paramref name="width"/> rows that run down neighbouring columns (the
    /// axis is not the last): element k of those rows is <c>a[k * stride ..][..width]</c>, and
    /// <paramref name="y"/> is laid out like <paramref name="a"/>, or holds <paramref name="width"/>
    /// values when the rule reduces. Each pass reads memory in order, a block of columns at a
    /// time. <paramref name="scratch"/> holds 3 * width values.
    /// </summary>
    void RunColumns<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y, int n, int stride, int width, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Runs a row kernel over every row, rows split across cores (each row on one thread).</summary>
internal static class Rows
{
    /// <summary>
    /// Applies <paramref name="kernel"/> to each row of <paramref name="a"/> (and
    /// <paramref name="b"/>, same shape, or empty) into <paramref name="y"/>: the same shape, or one
    /// value per row in [Outer, Inner] order.
    /// </summary>
    public static void Run<T, K>(T[] a, T[] b, T[] y, RowLayout rows, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        if (rows.Count == 0 || rows.N == 0 && !kernel.Reduces) return;
        if (rows.Inner == 1)
        {
            Chunked.Run(rows.Count, rows.N, new RowChunk<T, K>(a, b, y, rows, kernel));
            return;
        }
        var columns = new ColumnChunk<T, K>(a, b, y, rows, kernel);
        Chunked.Run(rows.Outer * columns.BlocksPerOuter, rows.N * Math.Min(rows.Inner, BlockColumns), columns);
    }

    /// <summary>
    /// <see cref="Run"/> over the rows along any sorted <paramref name="axes"/>: axes that are not
    /// adjacent are first moved to the end (and a whole-row result moved back).
    /// </summary>
    public static T[] Apply<T, K>(T[] a, T[] b, int[] shape, int[] axes, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        if (RowLayout.Of(shape, axes) is { } rows)
        {
            // every element is written by the kernel
            var y = StoragePool.Rent<T>(kernel.Reduces ? rows.Count : a.Length, zeroed: false);
            Run(a, b, y, rows, kernel);
            return y;
        }
        var movedA = Layout.AxesLast(a, shape, axes);
        var movedB = b.Length == 0 ? b : Layout.AxesLast(b, shape, axes).Data;
        var result = Apply(movedA.Data, movedB, movedA.Shape, movedA.Axes, kernel);
        return kernel.Reduces ? result : Layout.AxesBack(result, movedA.Shape, movedA.Perm);
    }

    /// <summary>Contiguous rows (Inner = 1), [start, end), each passed to the kernel in place.</summary>
    private readonly record struct RowChunk<T, K>(T[] A, T[] B, T[] Y, RowLayout Rows, K Kernel) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        public void Run(int start, int end)
        {
            int n = Rows.N;
            var scratch = ArrayPool<T>.Shared.Rent(n);
            try
            {
                for (int r = start; r < end; r++)
                {
                    var outRow = Kernel.Reduces ? Y.AsSpan(r, 1) : Y.AsSpan(r * n, n);
                    Kernel.Run<T>(A.AsSpan(r * n, n), B.Length > 0 ? B.AsSpan(r * n, n) : default, outRow, scratch.AsSpan(0, n));
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>
    /// Columns in a block handed to <see cref="IRowKernel.RunColumns"/>: wide enough that each
    /// call works on long spans, narrow enough that its scratch stays in the first-level cache.
    /// Blocks start at fixed columns, so the spans (and the bits) do not depend on the split.
    /// </summary>
    private const int BlockColumns = 1024;

    /// <summary>Strided rows (Inner &gt; 1) in blocks of neighbouring columns; items [start, end) are (outer, block) pairs.</summary>
    private readonly record struct ColumnChunk<T, K>(T[] A, T[] B, T[] Y, RowLayout Rows, K Kernel) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        public int BlocksPerOuter => (Rows.Inner + BlockColumns - 1) / BlockColumns;

        public void Run(int start, int end)
        {
            int n = Rows.N, inner = Rows.Inner;
            var scratch = ArrayPool<T>.Shared.Rent(3 * BlockColumns);
            try
            {
                for (int item = start; item < end; item++)
                {
                    int o = item / BlocksPerOuter, i0 = item % BlocksPerOuter * BlockColumns;
                    int width = Math.Min(BlockColumns, inner - i0), first = o * n * inner + i0;
                    int length = n == 0 ? 0 : (n - 1) * inner + width;
                    var y = Kernel.Reduces ? Y.AsSpan(o * inner + i0, width) : Y.AsSpan(first, length);
                    Kernel.RunColumns<T>(A.AsSpan(first, length), B.Length > 0 ? B.AsSpan(first, length) : default,
                                         y, n, inner, width, scratch.AsSpan(0, 3 * width));
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>
    /// The maximum of a row, or 0 when it is not finite (a row of -inf, or one holding +inf or
    /// NaN), so that x - shift never computes inf - inf.
    /// </summary>
    public static T FiniteMax<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The hardware max (which may pass over a NaN) on four accumulators: a row holding NaN
        // comes out NaN whatever shift it gets (its exps sum to NaN), so only finite rows need
        // an exact max, and any max of theirs is exact.
        int i = 0, w = Vector<T>.Count;
        T max = T.NegativeInfinity;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported && x.Length >= 4 * w)
        {
            var m0 = new Vector<T>(x);
            Vector<T> m1 = m0, m2 = m0, m3 = m0;
            for (; i <= x.Length - 4 * w; i += 4 * w)
            {
                m0 = Vector.MaxNative(m0, new Vector<T>(x[i..]));
                m1 = Vector.MaxNative(m1, new Vector<T>(x[(i + w)..]));
                m2 = Vector.MaxNative(m2, new Vector<T>(x[(i + 2 * w)..]));
                m3 = Vector.MaxNative(m3, new Vector<T>(x[(i + 3 * w)..]));
            }
            var m = Vector.MaxNative(Vector.MaxNative(m0, m1), Vector.MaxNative(m2, m3));
            for (int j = 0; j < w; j++) max = T.Max(max, m[j]);
        }
        for (; i < x.Length; i++) max = T.Max(max, x[i]);
        return T.IsFinite(max) ? max : T.Zero;
    }

    /// <summary>
    /// Sets column row j of y to NaN where <paramref name="sum"/>[j] (the sum of exp(x - shift), or
    /// its log) is not finite: the row held +inf or NaN, and its softmax and log_softmax are NaN
    /// throughout, as in PyTorch (a finite shift would give [nan, 0, 0] for [inf, 1, 2]). A finite
    /// row, -inf entries included, has a finite sum: its max contributes exp(0) = 1.
    /// </summary>
    public static void NaNWhereSumNotFinite<T>(ReadOnlySpan<T> sum, Span<T> y, int n, int stride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < sum.Length; j++)
            if (!T.IsFinite(sum[j]))
                for (int k = 0; k < n; k++) y[k * stride + j] = T.NaN;
    }

    /// <summary>Element k of each of the column rows: <c>data[k * stride ..][..width]</c>.</summary>
    public static ReadOnlySpan<T> At<T>(ReadOnlySpan<T> data, int k, int stride, int width) => data.Slice(k * stride, width);

    /// <inheritdoc cref="At{T}(ReadOnlySpan{T}, int, int, int)"/>
    public static Span<T> At<T>(Span<T> data, int k, int stride, int width) => data.Slice(k * stride, width);

    /// <summary><see cref="FiniteMax{T}(ReadOnlySpan{T})"/> of each column row, into <paramref name="max"/>.</summary>
    public static void FiniteMax<T>(ReadOnlySpan<T> x, int n, int stride, Span<T> max) where T : unmanaged, IFloatingPointIeee754<T>
    {
        At(x, 0, stride, max.Length).CopyTo(max);
        for (int k = 1; k < n; k++) TensorPrimitives.Max(max, At(x, k, stride, max.Length), max);
        foreach (ref var m in max)
            if (!T.IsFinite(m)) m = T.Zero;
    }

    /// <summary>
    /// The finite maximum of each column row (into <paramref name="max"/>) and the sum of
    /// exp(x - max) over it (into <paramref name="sum"/>, in order of k). Row k of x - max is
    /// written into <paramref name="shifted"/> and of exp(x - max) into <paramref name="exps"/>
    /// when those are laid out like x; an empty one means the width-sized scratch
    /// <paramref name="e"/> (the same span may serve as both).
    /// </summary>
    public static void MaxAndExpSum<T>(ReadOnlySpan<T> x, int n, int stride, Span<T> max, Span<T> sum, Span<T> e, Span<T> shifted, Span<T> exps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = max.Length;
        FiniteMax(x, n, stride, max);
        sum.Clear();
        for (int k = 0; k < n; k++)
        {
            var shiftedRow = shifted.IsEmpty ? e : At(shifted, k, stride, w);
            var expRow = exps.IsEmpty ? e : At(exps, k, stride, w);
            TensorPrimitives.Subtract(At(x, k, stride, w), max, shiftedRow);
            FastMath.Exp(shiftedRow, expRow);
            TensorPrimitives.Add(sum, expRow, sum);
        }
    }

    /// <summary>The sum of each column row, in order of k, into <paramref name="sum"/>.</summary>
    public static void Sum<T>(ReadOnlySpan<T> x, int n, int stride, Span<T> sum) where T : unmanaged, IFloatingPointIeee754<T>
    {
        sum.Clear();
        for (int k = 0; k < n; k++) TensorPrimitives.Add(sum, At(x, k, stride, sum.Length), sum);
    }
}

/// <summary>log_softmax of a row: (x - max) - log(sum(exp(x - max))).</summary>
internal readonly struct LogSoftmaxRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var max = Rows.FiniteMax(x);
        var sum = FastMath.SumOfExpOfDifference(x, max, scratch);
        if (!T.IsFinite(sum)) { y.Fill(T.NaN); return; }
        ShiftedLess(x, max, T.Log(sum), y);
    }

    /// <summary>y = (x - max) - logSum in one pass, each difference rounded as two subtractions would round it.</summary>
    internal static void ShiftedLess<T>(ReadOnlySpan<T> x, T max, T logSum, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vm = new Vector<T>(max);
            var vl = new Vector<T>(logSum);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(x[i..]) - vm - vl).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] = x[i] - max - logSum;
    }

    public void RunColumns<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, int n, int stride, int w, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> max = scratch[..w], sum = scratch.Slice(w, w), e = scratch.Slice(2 * w, w);
        Rows.MaxAndExpSum(x, n, stride, max, sum, e, shifted: y, exps: default);
        TensorPrimitives.Log(sum, sum);
        for (int k = 0; k < n; k++) TensorPrimitives.Subtract(Rows.At(y, k, stride, w), sum, Rows.At(y, k, stride, w));
        Rows.NaNWhereSumNotFinite(sum, y, n, stride);
    }
}

/// <summary>softmax of a row: exp(x - max) / sum(exp(x - max)).</summary>
internal readonly struct SoftmaxRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(x, Rows.FiniteMax(x), y);
        FastMath.Exp(y, y);
        var sum = TensorPrimitives.Sum<T>(y);
        if (T.IsFinite(sum)) TensorPrimitives.Divide(y, sum, y);
        else y.Fill(T.NaN);
    }

    public void RunColumns<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, int n, int stride, int w, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> max = scratch[..w], sum = scratch.Slice(w, w), e = scratch.Slice(2 * w, w);
        Rows.MaxAndExpSum(x, n, stride, max, sum, e, shifted: y, exps: y);
        for (int k = 0; k < n; k++) TensorPrimitives.Divide(Rows.At(y, k, stride, w), sum, Rows.At(y, k, stride, w));
        Rows.NaNWhereSumNotFinite(sum, y, n, stride);
    }
}

/// <summary>logsumexp of a row: log(sum(exp(x - max))) + max; -inf for an empty row (log 0).</summary>
internal readonly struct LogSumExpRow : IRowKernel
{
    public bool Reduces => true;
    public void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.IsEmpty) { y[0] = T.NegativeInfinity; return; }
        var shift = Rows.FiniteMax(x);
        y[0] = T.Log(FastMath.SumOfExpOfDifference(x, shift, scratch)) + shift;
    }

    public void RunColumns<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, int n, int stride, int w, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) { y.Fill(T.NegativeInfinity); return; }
        Span<T> max = scratch[..w], sum = scratch.Slice(w, w), e = scratch.Slice(2 * w, w);
        Rows.MaxAndExpSum(x, n, stride, max, sum, e, shifted: default, exps: default);
        TensorPrimitives.Log(sum, y);
        TensorPrimitives.Add(y, max, y);
    }
}

/// <summary>The backward rule of log_softmax for one row: g - exp(y) * sum(g), with y the log_softmax output.</summary>
internal readonly struct LogSoftmaxBackwardRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> dx, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var total = TensorPrimitives.Sum(g);
        // dx = g - exp(y) * total, as (exp(y) * total - g) * -1 (negating a difference is exact),
        // in one pass with the exps in registers
        FastMath.ExpTimesMinus(y, total, g, -T.One, dx);
    }

    public void RunColumns<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> dx, int n, int stride, int w, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> minusTotal = scratch[..w], e = scratch.Slice(w, w);
        Rows.Sum(g, n, stride, minusTotal);
        TensorPrimitives.Negate(minusTotal, minusTotal);
        for (int k = 0; k < n; k++)
        {
            FastMath.Exp(Rows.At(y, k, stride, w), e);
            TensorPrimitives.MultiplyAdd(e, minusTotal, Rows.At(g, k, stride, w), Rows.At(dx, k, stride, w));
        }
    }
}

/// <summary>
/// The forward rule of log_softmax for one row: t - sum(exp(y) * t), with y the log_softmax output
/// and t the input's tangent (the tangent of a log-probability moves against the softmax-weighted mean).
/// </summary>
internal readonly struct LogSoftmaxJvpRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> t, Span<T> dy, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        FastMath.Exp(y, scratch);
        TensorPrimitives.Subtract(t, TensorPrimitives.Dot<T>(scratch, t), dy);
    }

    public void RunColumns<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> t, Span<T> dy, int n, int stride, int w, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> mean = scratch[..w], e = scratch.Slice(w, w);
        mean.Clear();
        for (int k = 0; k < n; k++)
        {
            FastMath.Exp(Rows.At(y, k, stride, w), e);
            TensorPrimitives.MultiplyAdd(e, Rows.At(t, k, stride, w), mean, mean);
        }
        for (int k = 0; k < n; k++) TensorPrimitives.Subtract(Rows.At(t, k, stride, w), mean, Rows.At(dy, k, stride, w));
    }
}

/// <summary>The backward rule of softmax for one row: y * (g - sum(g * y)), with y the softmax output.</summary>
internal readonly struct SoftmaxBackwardRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> dx, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dot = TensorPrimitives.Dot(g, y);
        TensorPrimitives.Subtract(g, dot, scratch);
        TensorPrimitives.Multiply(y, scratch, dx);
    }

    public void RunColumns<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> dx, int n, int stride, int w, Span<T> scratch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> dot = scratch[..w], t = scratch.Slice(w, w);
        dot.Clear();
        for (int k = 0; k < n; k++)
        {
            TensorPrimitives.Multiply(Rows.At(g, k, stride, w), Rows.At(y, k, stride, w), t);
            TensorPrimitives.Add(dot, t, dot);
        }
        for (int k = 0; k < n; k++)
        {
            TensorPrimitives.Subtract(Rows.At(g, k, stride, w), dot, t);
            TensorPrimitives.Multiply(Rows.At(y, k, stride, w), t, Rows.At(dx, k, stride, w));
        }
    }
}
