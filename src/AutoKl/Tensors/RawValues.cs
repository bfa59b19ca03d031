using System.Numerics;
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
        DTypeDispatch.RunAny(x.DType, new ExpandBody(x, shape, y));
        return y;
    }

    private readonly struct ExpandBody(Tensor x, int[] shape, Tensor y) : IElementBody
    {
        public void Run<T>() where T : unmanaged, INumber<T> => Layout.Expand(x.Data<T>(), x.ShapeRef, shape, y.Span<T>());
    }

    /// <summary>Writes element <paramref name="i"/> (flat, row-major), converting to the storage's type.</summary>
    internal void SetFlat(int i, double v) => DTypeDispatch.RunAny(DType, new SetFlatBody(this, i, v));

    private readonly struct SetFlatBody(Tensor x, int i, double v) : IElementBody
    {
        public void Run<T>() where T : unmanaged, INumber<T> => x.Data<T>()[i] = T.CreateTruncating(v);
    }
}
