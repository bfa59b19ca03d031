using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

/// <summary>A reduction: a whole contiguous row to one value, or two rows combined elementwise.</summary>
internal interface IReduceKernel
{
    string Name { get; }
    bool AllowsEmpty { get; }
    T Reduce<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>;
    void Combine<T>(ReadOnlySpan<T> acc, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

internal readonly struct SumR : IReduceKernel
{
    public string Name => "sum";
    public bool AllowsEmpty => true;
    public T Reduce<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sum(x);
    public void Combine<T>(ReadOnlySpan<T> acc, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(acc, x, y);
}

internal readonly struct MaxR : IReduceKernel
{
    public string Name => "max";
    public bool AllowsEmpty => false;
    public T Reduce<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(x);
    public void Combine<T>(ReadOnlySpan<T> acc, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(acc, x, y);
}

internal readonly struct MinR : IReduceKernel
{
    public string Name => "min";
    public bool AllowsEmpty => false;
    public T Reduce<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(x);
    public void Combine<T>(ReadOnlySpan<T> acc, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(acc, x, y);
}

/// <summary>Reductions over any set of axes (sum, max, min), split across cores when large; not the public <see cref="AutoKl.Reduction"/> of losses.</summary>
internal static class AxisReduction
{
    /// <summary>
    /// Below this many columns per thread a reduction over leading axes stays on one thread: each
    /// reduced row is one short kernel call per column block, and narrow blocks on several
    /// threads cost more than they save (and share cache lines at their edges).
    /// </summary>
    private const int MinColumnsPerThread = 2048;

    /// <summary>
    /// Reduces <paramref name="x"/> (contiguous, shape <paramref name="shape"/>) over the sorted
    /// <paramref name="axes"/>. When the axes form one contiguous block the data is read in place
    /// as [outer, reduced, inner]; otherwise the reduced axes are first moved to the end.
    /// </summary>
    public static T[] Run<T, K>(T[] x, int[] shape, int[] axes, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IReduceKernel
    {
        if (axes.Length == 0) return (T[])x.Clone();
        if (RowLayout.Of(shape, axes) is not { } rows)
        {
            var moved = Layout.AxesLast(x, shape, axes);
            return Run(moved.Data, moved.Shape, moved.Axes, kernel);
        }
        var y = StoragePool.Rent<T>(rows.Count, zeroed: rows.N == 0);
        if (y.Length == 0) return y;
        if (rows.N == 0)
        {
            if (!kernel.AllowsEmpty)
                throw new AutoKlException(kernel.Name, $"cannot reduce over an empty dimension (shape {Shapes.Format(shape)}, axes [{string.Join(", ", axes)}])");
            return y;
        }
        // Split the outer blocks when there are several (or the rows are contiguous), otherwise
        // the columns of the one block; either way each output element has one thread.
        if (rows.Outer > 1 || rows.Inner == 1)
            Chunked.Run(rows.Outer, rows.N * rows.Inner, new ReduceChunk<T, K>(x, y, rows, kernel, Columns: false));
        else
            Chunked.Run(rows.Inner, rows.N, new ReduceChunk<T, K>(x, y, rows, kernel, Columns: true), MinColumnsPerThread);
        return y;
    }

    /// <summary>
    /// Reduces outer blocks [start, end) whole, or (<paramref name="Columns"/>) the columns
    /// [start, end) of the single outer block: a row of <c>Inner</c> values is combined with
    /// the next, N times.
    /// </summary>
    private readonly record struct ReduceChunk<T, K>(T[] X, T[] Y, RowLayout Rows, K Kernel, bool Columns) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T> where K : IReduceKernel
    {
        public void Run(int start, int end)
        {
            int n = Rows.N, inner = Rows.Inner;
            if (Columns) { Block(0, start, end); return; }
            for (int o = start; o < end; o++)
            {
                if (inner == 1) Y[o] = Kernel.Reduce<T>(X.AsSpan(o * n, n));
                else Block(o, 0, inner);
            }
        }

        private void Block(int o, int i0, int i1)
        {
            int n = Rows.N, inner = Rows.Inner;
            var dst = Y.AsSpan(o * inner + i0, i1 - i0);
            int first = o * n * inner + i0;
            X.AsSpan(first, dst.Length).CopyTo(dst);
            for (int r = 1; r < n; r++)
                Kernel.Combine<T>(dst, X.AsSpan(first + r * inner, dst.Length), dst);
        }
    }
}
