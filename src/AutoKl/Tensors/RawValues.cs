using AutoKl.Kernels;

namespace AutoKl;

// Raw access to a tensor's values that records nothing: a broadcast copy and an element write,
// for ops whose kernels need operands of equal shape (where, matmul's batches, in-place
// updates), for creation (eye) and for distributions that read values directly.
public sealed partial class Tensor
{
    /// <summary>The raw values broadcast to <paramref name="shape"/> (no recording); the tensor itself when already that shape.</summary>
    internal static Tensor Expanded(Tensor x, int[] shape)
    {
        if (Shapes.Equal(x.ShapeRef, shape)) return x;
        var y = Uninitialized(x.DType, shape);
        switch (x.Storage)
        {
            case float[] f: Layout.Expand(f, x.ShapeRef, shape, y.Span<float>()); break;
            case double[] d: Layout.Expand(d, x.ShapeRef, shape, y.Span<double>()); break;
            case long[] l: Layout.Expand(l, x.ShapeRef, shape, y.Span<long>()); break;
        }
        return y;
    }

    /// <summary>Writes element <paramref name="i"/> (flat, row-major), converting to the storage's type.</summary>
    internal void SetFlat(int i, double v)
    {
        switch (Storage)
        {
            case double[] d: d[i] = v; break;
            case float[] f: f[i] = (float)v; break;
            case long[] l: l[i] = (long)v; break;
        }
    }
}
