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
        var idx = index.Data<long>();
        int stride = Shapes.Strides(x.ShapeRef)[a];
        ForEachIndex(index.ShapeRef, a, x.ShapeRef, (pos, src) => y.SetFlat(pos, x.GetFlat(src + (int)idx[pos] * stride)));
        return Record(y, "gather", [x], g => [ScatterAdd(ZerosLike(x), a, index, g)]);
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
        var idx = index.Data<long>();
        int stride = Shapes.Strides(x.ShapeRef)[a];
        ForEachIndex(index.ShapeRef, a, x.ShapeRef, (pos, dst) =>
        {
            int at = dst + (int)idx[pos] * stride;
            y.SetFlat(at, y.GetFlat(at) + source.GetFlat(pos));
        });
        return Record(y, "scatter_add", [x, source], g => [For(x, () => g), For(source, () => Gather(g, a, index))]);
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
    /// Calls <paramref name="visit"/>(flat position in the index, flat position in the tensor of
    /// the same coordinates with the axis coordinate set to 0).
    /// </summary>
    private static void ForEachIndex(int[] indexShape, int axis, int[] shape, Action<int, int> visit)
    {
        var strides = Shapes.Strides(shape);
        var coords = new int[indexShape.Length];
        int total = Shapes.Numel(indexShape);
        for (int pos = 0; pos < total; pos++)
        {
            int baseOffset = 0;
            for (int d = 0; d < coords.Length; d++) if (d != axis) baseOffset += coords[d] * strides[d];
            visit(pos, baseOffset);
            for (int d = coords.Length - 1; d >= 0; d--)
            {
                if (++coords[d] < indexShape[d]) break;
                coords[d] = 0;
            }
        }
    }
}
