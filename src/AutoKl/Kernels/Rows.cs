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
}

/// <summary>Runs a row kernel over every row, rows split across cores (each row on one thread).</summary>
internal static class Rows
{
    /// <summary>
    /// Applies <paramref name="kernel"/> to each row of <paramref name="a"/> (and
    /// <paramref name="b"/>, same shape, or empty) into <paramref name="y"/>: the same shape, or one
    /// value per row in [Outer, Inner] order. Strided rows are copied out and back, so every
    /// kernel reads and writes contiguous spans.
    /// </summary>
    public static void Run<T, K>(T[] a, T[] b, T[] y, RowLayout rows, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        if (rows.Count == 0 || rows.N == 0 && !kernel.Reduces) return;
        if (Chunked.Splits(rows.Count, rows.N)) Split(a, b, y, rows, kernel);
        else Range(a, b, y, rows, kernel, 0, rows.Count);
    }

    private static void Split<T, K>(T[] a, T[] b, T[] y, RowLayout rows, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
        => Chunked.For(rows.Count, rows.N, (start, end) => Range(a, b, y, rows, kernel, start, end));

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
            var y = GC.AllocateUninitializedArray<T>(kernel.Reduces ? rows.Count : a.Length);
            Run(a, b, y, rows, kernel);
            return y;
        }
        var (movedA, movedShape, perm) = Layout.AxesLast(a, shape, axes);
        var movedB = b.Length == 0 ? b : Layout.AxesLast(b, shape, axes).Data;
        var last = Enumerable.Range(shape.Length - axes.Length, axes.Length).ToArray();
        var result = Apply(movedA, movedB, movedShape, last, kernel);
        return kernel.Reduces ? result : Layout.AxesBack(result, movedShape, perm);
    }

    private static void Range<T, K>(T[] a, T[] b, T[] y, RowLayout rows, K kernel, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        int n = rows.N, inner = rows.Inner;
        bool strided = inner > 1, hasB = b.Length > 0;
        // scratch, then (strided only) the gathered rows of a and b and the output row
        var pool = ArrayPool<T>.Shared.Rent(strided ? 4 * n : n);
        try
        {
            var scratch = pool.AsSpan(0, n);
            for (int r = start; r < end; r++)
            {
                int offset = r / inner * n * inner + r % inner;
                Span<T> outRow = kernel.Reduces ? y.AsSpan(r, 1) : strided ? pool.AsSpan(3 * n, n) : y.AsSpan(offset, n);
                if (!strided)
                {
                    kernel.Run<T>(a.AsSpan(offset, n), hasB ? b.AsSpan(offset, n) : default, outRow, scratch);
                    continue;
                }
                var rowA = pool.AsSpan(n, n);
                var rowB = hasB ? pool.AsSpan(2 * n, n) : default;
                for (int k = 0; k < n; k++) rowA[k] = a[offset + k * inner];
                for (int k = 0; k < rowB.Length; k++) rowB[k] = b[offset + k * inner];
                kernel.Run<T>(rowA, rowB, outRow, scratch);
                if (!kernel.Reduces)
                    for (int k = 0; k < n; k++) y[offset + k * inner] = outRow[k];
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(pool);
        }
    }

    /// <summary>
    /// The maximum of a row, or 0 when it is not finite (a row of -inf, or one holding +inf or
    /// NaN), so that x - shift never computes inf - inf.
    /// </summary>
    public static T FiniteMax<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var max = TensorPrimitives.Max(x);
        return T.IsFinite(max) ? max : T.Zero;
    }
}

/// <summary>log_softmax of a row: (x - max) - log(sum(exp(x - max))).</summary>
internal readonly struct LogSoftmaxRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(x, Rows.FiniteMax(x), y);
        TensorPrimitives.Exp(y, scratch);
        TensorPrimitives.Subtract(y, T.Log(TensorPrimitives.Sum<T>(scratch)), y);
    }
}

/// <summary>softmax of a row: exp(x - max) / sum(exp(x - max)).</summary>
internal readonly struct SoftmaxRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> _, Span<T> y, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Subtract(x, Rows.FiniteMax(x), y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Divide(y, TensorPrimitives.Sum<T>(y), y);
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
        TensorPrimitives.Subtract(x, shift, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        y[0] = T.Log(TensorPrimitives.Sum<T>(scratch)) + shift;
    }
}

/// <summary>The backward rule of log_softmax for one row: g - exp(y) * sum(g), with y the log_softmax output.</summary>
internal readonly struct LogSoftmaxBackwardRow : IRowKernel
{
    public bool Reduces => false;
    public void Run<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> g, Span<T> dx, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var total = TensorPrimitives.Sum(g);
        TensorPrimitives.Exp(y, scratch);
        // dx = g - exp(y) * total, as one fused multiply-add: (exp(y) * -total) + g
        TensorPrimitives.MultiplyAdd(scratch, -total, g, dx);
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
}
