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

internal static class Reduction
{
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
            var (moved, movedShape, _) = Layout.AxesLast(x, shape, axes);
            return Run(moved, movedShape, Enumerable.Range(shape.Length - axes.Length, axes.Length).ToArray(), kernel);
        }
        var y = new T[rows.Count];
        if (y.Length == 0) return y;
        if (rows.N == 0)
        {
            if (!kernel.AllowsEmpty)
                throw new AutoKlException(kernel.Name, $"cannot reduce over an empty dimension (shape {Shapes.Format(shape)}, axes [{string.Join(", ", axes)}])");
            return y;
        }
        // Each output element is reduced by one thread, in the same order whatever the split.
        if (rows.Outer > 1 || rows.Inner == 1)
        {
            if (Chunked.Splits(rows.Outer, rows.N * rows.Inner)) SplitBlocks(x, y, rows, kernel);
            else Blocks(x, y, rows, kernel, 0, rows.Outer, 0, rows.Inner);
        }
        else if (Chunked.Splits(rows.Inner, rows.N)) SplitColumns(x, y, rows, kernel);
        else Blocks(x, y, rows, kernel, 0, 1, 0, rows.Inner);
        return y;
    }

    /// <summary>Reduces outer blocks [o0, o1), columns [i0, i1) of each (row reductions when Inner is 1).</summary>
    private static void Blocks<T, K>(T[] x, T[] y, RowLayout rows, K kernel, int o0, int o1, int i0, int i1)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IReduceKernel
    {
        int reduced = rows.N, inner = rows.Inner;
        for (int o = o0; o < o1; o++)
        {
            if (inner == 1) { y[o] = kernel.Reduce<T>(x.AsSpan(o * reduced, reduced)); continue; }
            var dst = y.AsSpan(o * inner + i0, i1 - i0);
            int first = o * reduced * inner + i0;
            x.AsSpan(first, dst.Length).CopyTo(dst);
            for (int r = 1; r < reduced; r++)
                kernel.Combine<T>(dst, x.AsSpan(first + r * inner, dst.Length), dst);
        }
    }

    private static void SplitBlocks<T, K>(T[] x, T[] y, RowLayout rows, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IReduceKernel
        => Chunked.For(rows.Outer, rows.N * rows.Inner, (start, end) => Blocks(x, y, rows, kernel, start, end, 0, rows.Inner));

    /// <summary>One outer block with many columns (a reduction over the leading axes): split the columns.</summary>
    private static void SplitColumns<T, K>(T[] x, T[] y, RowLayout rows, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IReduceKernel
        => Chunked.For(rows.Inner, rows.N, (start, end) => Blocks(x, y, rows, kernel, 0, 1, start, end));
}
