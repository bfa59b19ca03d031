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
        bool block = axes[^1] - axes[0] == axes.Length - 1;
        if (!block)
        {
            var kept = Enumerable.Range(0, shape.Length).Where(d => Array.IndexOf(axes, d) < 0);
            var perm = kept.Concat(axes).ToArray();
            var moved = new T[x.Length];
            Layout.Permute(x, shape, perm, moved);
            var movedShape = perm.Select(d => shape[d]).ToArray();
            return Run(moved, movedShape, Enumerable.Range(shape.Length - axes.Length, axes.Length).ToArray(), kernel);
        }
        int outer = 1, reduced = 1, inner = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            if (d < axes[0]) outer *= shape[d];
            else if (d <= axes[^1]) reduced *= shape[d];
            else inner *= shape[d];
        }
        var y = new T[outer * inner];
        if (y.Length == 0) return y;
        if (reduced == 0)
        {
            if (!kernel.AllowsEmpty)
                throw new AutoKlException(kernel.Name, $"cannot reduce over an empty dimension (shape {Shapes.Format(shape)}, axes [{string.Join(", ", axes)}])");
            return y;
        }
        for (int o = 0; o < outer; o++)
        {
            if (inner == 1) { y[o] = kernel.Reduce<T>(x.AsSpan(o * reduced, reduced)); continue; }
            var dst = y.AsSpan(o * inner, inner);
            int baseIndex = o * reduced * inner;
            x.AsSpan(baseIndex, inner).CopyTo(dst);
            for (int r = 1; r < reduced; r++)
                kernel.Combine<T>(dst, x.AsSpan(baseIndex + r * inner, inner), dst);
        }
        return y;
    }
}
