namespace AutoKl;

// Gather picks values along an axis by int64 indices; ScatterAdd is its adjoint. Each is the
// other's backward rule.
public sealed partial class Tensor
{
    /// <summary>
    /// result[..., i, ...] = x[..., index[..., i, ...], ...] along <paramref name="axis"/>
    /// (PyTorch's gather): <paramref name="index"/> is int64, has x's rank, and is no larger than
    /// x in every other dimension.
    /// </summary>
    public static Tensor Gather(Tensor x, int axis, Tensor index)
    {
        x.RequireFloat("gather");
        int a = Shapes.NormalizeAxis("gather", axis, x.Rank);
        CheckIndex("gather", x.ShapeRef, a, index);
        var y = Empty(x.DType, index.ShapeRef);
        var at = Positions(index, a, x.ShapeRef);
        DTypeDispatch.Run(x.DType, new PickBody(x, at, y));
        return Record(y, "gather", [x], g => [ScatterAdd(ZerosLike(x), a, index, g)], jvp: Fwd ? t => Gather(t[0]!, a, index) : null);
    }

    /// <summary>
    /// A copy of <paramref name="x"/> with <paramref name="source"/> added at the positions
    /// <paramref name="index"/> names along <paramref name="axis"/> (PyTorch's scatter_add).
    /// </summary>
    public static Tensor ScatterAdd(Tensor x, int axis, Tensor index, Tensor source)
    {
        (x, source) = Promote("scatter_add", x, source);
        int a = Shapes.NormalizeAxis("scatter_add", axis, x.Rank);
        CheckIndex("scatter_add", x.ShapeRef, a, index);
        if (!Shapes.Equal(index.ShapeRef, source.ShapeRef))
            throw new AutoKlException("scatter_add", $"source shape {Shapes.Format(source.ShapeRef)} must equal index shape {Shapes.Format(index.ShapeRef)}");
        var y = new Tensor(x.Storage.Clone() as Array ?? throw new InvalidOperationException(), x.ShapeRef);
        var at = Positions(index, a, x.ShapeRef);
        DTypeDispatch.Run(x.DType, new AccumulateBody(source, at, y));
        return Record(y, "scatter_add", [x, source], g => [For(x, () => g), For(source, () => Gather(g, a, index))],
            jvp: Fwd ? t => ScatterAdd(t[0] ?? ZerosLike(x), a, index, t[1] ?? ZerosLike(source)) : null);
    }

    private static void CheckIndex(string op, int[] shape, int axis, Tensor index)
    {
        if (index.DType != DType.Int64)
            throw new AutoKlException(op, $"index must be an int64 tensor, got {index.DType.Name()} (create it with Tensor.FromArray on long[] or int[])");
        if (index.Rank != shape.Length)
            throw new AutoKlException(op, $"index has rank {index.Rank} (shape {Shapes.Format(index.ShapeRef)}) but the tensor has rank {shape.Length} (shape {Shapes.Format(shape)})");
        for (int d = 0; d < shape.Length; d++)
            if (d != axis && index.ShapeRef[d] > shape[d])
                throw new AutoKlException(op, $"index shape {Shapes.Format(index.ShapeRef)} is larger than tensor shape {Shapes.Format(shape)} in dimension {d}");
        var idx = index.Data<long>();
        for (int i = 0; i < idx.Length; i++)
            if (idx[i] < 0 || idx[i] >= shape[axis])
                throw new AutoKlException(op, $"index value {idx[i]} at flat position {i} is out of range for dimension {axis} of size {shape[axis]}");
    }

    /// <summary>
    /// For each element of <paramref name="index"/> (row-major), the flat position in a tensor of
    /// <paramref name="shape"/> that it names: its own coordinates, with the axis coordinate
    /// replaced by the index value.
    /// </summary>
    private static int[] Positions(Tensor index, int axis, int[] shape)
    {
        var strides = Shapes.Strides(shape);
        var idx = index.Data<long>();
        var indexShape = index.ShapeRef;
        var coords = new int[indexShape.Length];
        var at = new int[idx.Length];
        for (int pos = 0; pos < at.Length; pos++)
        {
            int offset = 0;
            for (int d = 0; d < coords.Length; d++)
                offset += (d == axis ? (int)idx[pos] : coords[d]) * strides[d];
            at[pos] = offset;
            for (int d = coords.Length - 1; d >= 0; d--)
            {
                if (++coords[d] < indexShape[d]) break;
                coords[d] = 0;
            }
        }
        return at;
    }

    private static void Pick<T>(T[] x, int[] at, T[] y)
    {
        for (int i = 0; i < at.Length; i++) y[i] = x[at[i]];
    }

    private static void Accumulate<T>(T[] source, int[] at, T[] y) where T : System.Numerics.INumber<T>
    {
        for (int i = 0; i < at.Length; i++) y[at[i]] += source[i];
    }

    private readonly struct PickBody(Tensor x, int[] at, Tensor y) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => Pick(x.Data<T>(), at, y.Data<T>());
    }

    private readonly struct AccumulateBody(Tensor source, int[] at, Tensor y) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => Accumulate(source.Data<T>(), at, y.Data<T>());
    }
}
