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
    /// value per row in [Outer, Inner] order.
    /// </summary>
    public static void Run<T, K>(T[] a, T[] b, T[] y, RowLayout rows, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        if (rows.Count == 0 || rows.N == 0 && !kernel.Reduces) return;
        Chunked.Run(rows.Count, rows.N, new RowChunk<T, K>(a, b, y, rows, kernel));
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
            var y = GC.AllocateUninitializedArray<T>(kernel.Reduces ? rows.Count : a.Length);
            Run(a, b, y, rows, kernel);
            return y;
        }
        var movedA = Layout.AxesLast(a, shape, axes);
        var movedB = b.Length == 0 ? b : Layout.AxesLast(b, shape, axes).Data;
        var result = Apply(movedA.Data, movedB, movedA.Shape, movedA.Axes, kernel);
        return kernel.Reduces ? result : Layout.AxesBack(result, movedA.Shape, movedA.Perm);
    }

    /// <summary>
    /// Rows [start, end). Contiguous rows (Inner = 1) are passed to the kernel in place. Strided
    /// rows (the axis is not the last) are copied out and back a tile of neighbouring rows at a
    /// time: the tile's k-th elements sit side by side in memory, so each cache line read or
    /// written is used whole instead of once per row.
    /// </summary>
    private readonly record struct RowChunk<T, K>(T[] A, T[] B, T[] Y, RowLayout Rows, K Kernel) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IRowKernel
    {
        /// <summary>Rows per tile: 16 (a 64-byte line of float32), fewer for rows so long that a tile would pass 1M elements.</summary>
        private int TileRows => Math.Clamp((1 << 20) / Math.Max(Rows.N, 1), 1, 16);

        public void Run(int start, int end)
        {
            int n = Rows.N;
            var scratch = ArrayPool<T>.Shared.Rent(n);
            try
            {
                if (Rows.Inner == 1) Contiguous(start, end, scratch.AsSpan(0, n));
                else Strided(start, end, scratch.AsSpan(0, n));
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }
        }

        private void Contiguous(int start, int end, Span<T> scratch)
        {
            int n = Rows.N;
            for (int r = start; r < end; r++)
            {
                var outRow = Kernel.Reduces ? Y.AsSpan(r, 1) : Y.AsSpan(r * n, n);
                Kernel.Run<T>(A.AsSpan(r * n, n), B.Length > 0 ? B.AsSpan(r * n, n) : default, outRow, scratch);
            }
        }

        private void Strided(int start, int end, Span<T> scratch)
        {
            int n = Rows.N, inner = Rows.Inner, tile = TileRows;
            var tileA = ArrayPool<T>.Shared.Rent(tile * n);
            var tileB = B.Length > 0 ? ArrayPool<T>.Shared.Rent(tile * n) : [];
            var tileY = Kernel.Reduces ? [] : ArrayPool<T>.Shared.Rent(tile * n);
            try
            {
                for (int r = start; r < end;)
                {
                    // rows r .. r + width - 1: one outer block, consecutive inner positions
                    int i = r % inner, width = Math.Min(tile, Math.Min(end - r, inner - i));
                    int first = r / inner * n * inner + i;
                    Gather(A, first, inner, n, width, tileA);
                    if (B.Length > 0) Gather(B, first, inner, n, width, tileB);
                    for (int j = 0; j < width; j++)
                    {
                        var outRow = Kernel.Reduces ? Y.AsSpan(r + j, 1) : tileY.AsSpan(j * n, n);
                        Kernel.Run<T>(tileA.AsSpan(j * n, n), B.Length > 0 ? tileB.AsSpan(j * n, n) : default, outRow, scratch);
                    }
                    if (!Kernel.Reduces) Scatter(tileY, Y, first, inner, n, width);
                    r += width;
                }
            }
            finally
            {
                ArrayPool<T>.Shared.Return(tileA);
                if (tileB.Length > 0) ArrayPool<T>.Shared.Return(tileB);
                if (tileY.Length > 0) ArrayPool<T>.Shared.Return(tileY);
            }
        }

        /// <summary>tile[j * n + k] = src[first + k * inner + j] for the tile's <paramref name="width"/> rows.</summary>
        private static void Gather(T[] src, int first, int inner, int n, int width, T[] tile)
        {
            for (int k = 0; k < n; k++)
            {
                int at = first + k * inner;
                for (int j = 0; j < width; j++) tile[j * n + k] = src[at + j];
            }
        }

        /// <summary>The inverse of <see cref="Gather"/>.</summary>
        private static void Scatter(T[] tile, T[] dst, int first, int inner, int n, int width)
        {
            for (int k = 0; k < n; k++)
            {
                int at = first + k * inner;
                for (int j = 0; j < width; j++) dst[at + j] = tile[j * n + k];
            }
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
        // dx = g - exp(y) * total, as (exp(y) * -total) + g: the same rounding as the subtraction
        // (MultiplyAdd rounds the product; FusedMultiplyAdd would not, and would change the bits)
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
