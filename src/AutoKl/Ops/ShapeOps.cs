using System.Numerics;
using AutoKl.Kernels;

namespace AutoKl;

// Shape and layout: reshape shares storage; permute, expand, slice and concat copy. Each
// backward rule is the inverse movement (expand's is the tape's sum back to the input's shape,
// slice's is a zero-padded scatter).
public sealed partial class Tensor
{
    /// <summary>The same values under a new shape; one dimension may be -1 (inferred). Shares storage.</summary>
    public static Tensor Reshape(Tensor x, int[] shape)
    {
        var target = InferShape(x, shape);
        if (Shapes.Equal(target, x.ShapeRef) && !x.RequiresGrad) return x;
        var y = x.View(target);
        return Record(y, "reshape", [x], g => [g.Reshape(x.ShapeRef)], readsValues: false, jvp: Fwd ? t => t[0]!.Reshape(target) : null);
    }

    private static int[] InferShape(Tensor x, int[] shape)
    {
        var target = (int[])shape.Clone();
        int unknown = Array.IndexOf(target, -1);
        if (target.Count(d => d == -1) > 1 || target.Any(d => d < -1))
            throw new AutoKlException("reshape", $"shape {Shapes.Format(shape)} is invalid: only one dimension may be -1 and none may be negative otherwise");
        if (unknown >= 0)
        {
            int known = target.Where((d, i) => i != unknown).Aggregate(1, (p, d) => p * d);
            if (known == 0 || x.Numel % known != 0)
                throw new AutoKlException("reshape", $"cannot reshape a tensor of shape {Shapes.Format(x.ShapeRef)} ({x.Numel} elements) to {Shapes.Format(shape)}");
            target[unknown] = x.Numel / known;
        }
        if (Shapes.Numel(target) != x.Numel)
            throw new AutoKlException("reshape", $"cannot reshape a tensor of shape {Shapes.Format(x.ShapeRef)} ({x.Numel} elements) to {Shapes.Format(shape)} ({Shapes.Numel(target)} elements)");
        return target;
    }

    /// <summary>Reorders the dimensions: result dimension i is input dimension <paramref name="dims"/>[i].</summary>
    public static Tensor Permute(Tensor x, int[] dims)
    {
        if (dims.Length != x.Rank)
            throw new AutoKlException("permute", $"{dims.Length} dimensions given for a tensor of rank {x.Rank} (shape {Shapes.Format(x.ShapeRef)})");
        var perm = dims.Select(d => Shapes.NormalizeAxis("permute", d, x.Rank)).ToArray();
        if (perm.Distinct().Count() != perm.Length)
            throw new AutoKlException("permute", $"[{string.Join(", ", dims)}] is not a permutation of the {x.Rank} dimensions");
        var shape = perm.Select(p => x.ShapeRef[p]).ToArray();
        var y = Empty(x.DType, shape);
        DTypeDispatch.RunAny(x.DType, new PermuteBody(x, perm, y));
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return Record(y, "permute", [x], g => [Permute(g, inverse)], readsValues: false, jvp: Fwd ? t => Permute(t[0]!, perm) : null);
    }

    private readonly struct PermuteBody(Tensor x, int[] perm, Tensor y) : IElementBody
    {
        public void Run<T>() where T : unmanaged, INumber<T> => Layout.Permute(x.Data<T>(), x.ShapeRef, perm, y.Span<T>());
    }

    /// <summary>Swaps two dimensions (by default the last two, the matrix transpose).</summary>
    public static Tensor Transpose(Tensor x, int dim0 = -2, int dim1 = -1)
    {
        if (x.Rank < 2) return x;
        int a = Shapes.NormalizeAxis("transpose", dim0, x.Rank), b = Shapes.NormalizeAxis("transpose", dim1, x.Rank);
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }

    /// <summary>
    /// Stretches dimensions of size 1 (and adds leading ones) to <paramref name="shape"/>; -1 keeps
    /// a dimension. The gradient sums back over the stretched dimensions.
    /// </summary>
    public static Tensor Expand(Tensor x, int[] shape)
    {
        if (shape.Length < x.Rank)
            throw new AutoKlException("expand", $"cannot expand shape {Shapes.Format(x.ShapeRef)} to fewer dimensions {Shapes.Format(shape)}");
        var target = (int[])shape.Clone();
        int lead = shape.Length - x.Rank;
        for (int i = 0; i < target.Length; i++)
        {
            int own = i < lead ? 1 : x.ShapeRef[i - lead];
            if (target[i] == -1)
            {
                if (i < lead) throw new AutoKlException("expand", $"-1 is not allowed for the new leading dimension {i} in {Shapes.Format(shape)}");
                target[i] = own;
            }
            else if (own != target[i] && own != 1)
                throw new AutoKlException("expand", $"cannot expand shape {Shapes.Format(x.ShapeRef)} to {Shapes.Format(shape)}: dimension {i} has size {own}, which is neither 1 nor {target[i]}");
        }
        if (Shapes.Equal(target, x.ShapeRef)) return x;
        var y = Expanded(x, target);
        return Record(y, "expand", [x], g => [g], readsValues: false, jvp: Fwd ? t => Expand(t[0]!, target) : null);
    }

    /// <summary>Removes every dimension of size 1.</summary>
    public static Tensor Squeeze(Tensor x) => Reshape(x, x.ShapeRef.Where(d => d != 1).ToArray());

    /// <summary>Removes dimension <paramref name="axis"/> if its size is 1 (otherwise returns x unchanged, as PyTorch).</summary>
    public static Tensor Squeeze(Tensor x, int axis)
    {
        if (x.Rank == 0) return x;
        int a = Shapes.NormalizeAxis("squeeze", axis, x.Rank);
        return x.ShapeRef[a] != 1 ? x : Reshape(x, x.ShapeRef.Where((_, i) => i != a).ToArray());
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="axis"/> (from -rank-1 to rank).</summary>
    public static Tensor Unsqueeze(Tensor x, int axis)
    {
        int a = Shapes.NormalizeAxis("unsqueeze", axis, x.Rank + 1);
        var shape = x.ShapeRef.ToList();
        shape.Insert(a, 1);
        return Reshape(x, shape.ToArray());
    }

    /// <summary>Merges dimensions <paramref name="startDim"/> to <paramref name="endDim"/> into one.</summary>
    public static Tensor Flatten(Tensor x, int startDim = 0, int endDim = -1)
    {
        if (x.Rank == 0) return Reshape(x, [1]);
        int s = Shapes.NormalizeAxis("flatten", startDim, x.Rank), e = Shapes.NormalizeAxis("flatten", endDim, x.Rank);
        if (s > e) throw new AutoKlException("flatten", $"start dimension {startDim} comes after end dimension {endDim}");
        var shape = x.ShapeRef.Take(s).Append(x.ShapeRef[s..(e + 1)].Aggregate(1, (p, d) => p * d)).Concat(x.ShapeRef.Skip(e + 1)).ToArray();
        return Reshape(x, shape);
    }

    /// <summary>
    /// Elements <paramref name="start"/>, start + step, ... before <paramref name="end"/> along
    /// <paramref name="axis"/>, with Python's rules: negative bounds count from the end, bounds
    /// beyond the size are clipped.
    /// </summary>
    public static Tensor Slice(Tensor x, int axis, int start, int end = int.MaxValue, int step = 1)
    {
        int a = Shapes.NormalizeAxis("slice", axis, x.Rank);
        if (x.Rank == 0) throw new AutoKlException("slice", "cannot slice a scalar (rank 0)");
        if (step <= 0) throw new AutoKlException("slice", $"step must be positive, got {step}");
        int size = x.ShapeRef[a];
        int s = Math.Clamp(start < 0 ? start + size : start, 0, size);
        int e = Math.Clamp(end < 0 ? end + size : end, 0, size);
        int count = e > s ? (e - s + step - 1) / step : 0;
        return SliceRaw(x, a, s, count, step);
    }

    /// <summary>
    /// <paramref name="length"/> elements from <paramref name="start"/> along <paramref name="axis"/>;
    /// unlike <see cref="Slice(Tensor, int, int, int, int)"/>, bounds outside the dimension are an error.
    /// </summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        int a = Shapes.NormalizeAxis("narrow", axis, x.Rank);
        int size = x.ShapeRef[a];
        int s = start < 0 ? start + size : start;
        if (s < 0 || length < 0 || s + length > size)
            throw new AutoKlException("narrow", $"start {start} with length {length} does not fit dimension {a} of size {size} (shape {Shapes.Format(x.ShapeRef)})");
        return SliceRaw(x, a, s, length, 1);
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="axis"/>, that axis removed.</summary>
    public static Tensor Select(Tensor x, int axis, int index)
    {
        if (x.Rank == 0) throw new AutoKlException("select", "cannot index a scalar (rank 0)");
        int a = Shapes.NormalizeAxis("select", axis, x.Rank);
        int size = x.ShapeRef[a];
        int i = index < 0 ? index + size : index;
        if (i < 0 || i >= size)
            throw new AutoKlException("select", $"index {index} is out of range for dimension {a} of size {size} (shape {Shapes.Format(x.ShapeRef)})");
        var sliced = SliceRaw(x, a, i, 1, 1);
        return Reshape(sliced, x.ShapeRef.Where((_, d) => d != a).ToArray());
    }

    private static (int Offset, int[] Dims, int[] Strides) SliceView(int[] shape, int axis, int start, int count, int step)
    {
        var strides = Shapes.Strides(shape);
        var dims = (int[])shape.Clone();
        dims[axis] = count;
        int offset = start * strides[axis];
        strides[axis] *= step;
        return (offset, dims, strides);
    }

    private static Tensor SliceRaw(Tensor x, int axis, int start, int count, int step)
    {
        if (start == 0 && count == x.ShapeRef[axis] && step == 1) return x;
        var (offset, dims, strides) = SliceView(x.ShapeRef, axis, start, count, step);
        var y = Empty(x.DType, dims);
        DTypeDispatch.RunAny(x.DType, new GatherBody(x, y, offset, dims, strides));
        return Record(y, "slice", [x], g => [SliceBackward(g, x.ShapeRef, axis, start, step)], readsValues: false,
            jvp: Fwd ? t => SliceRaw(t[0]!, axis, start, count, step) : null);
    }

    /// <summary>Copies the elements of <paramref name="x"/> at offset + index . strides (over dims) into <paramref name="y"/>.</summary>
    private readonly struct GatherBody(Tensor x, Tensor y, int offset, int[] dims, int[] strides) : IElementBody
    {
        public void Run<T>() where T : unmanaged, INumber<T> => Layout.Gather(x.Data<T>(), offset, dims, strides, y.Span<T>());
    }

    /// <summary>Zeros of the input's shape with the slice's gradient written into the sliced positions.</summary>
    private static Tensor SliceBackward(Tensor g, int[] inputShape, int axis, int start, int step)
    {
        var (offset, dims, strides) = SliceView(inputShape, axis, start, g.ShapeRef[axis], step);
        var y = Empty(g.DType, inputShape);
        DTypeDispatch.RunAny(g.DType, new ScatterBody(g, y, offset, dims, strides));
        return Record(y, "slice_backward", [g], gg => [SliceRaw(gg, axis, start, g.ShapeRef[axis], step)], readsValues: false,
            jvp: Fwd ? t => SliceBackward(t[0]!, inputShape, axis, start, step) : null);
    }

    /// <summary>Writes the elements of <paramref name="x"/> into <paramref name="y"/> at offset + index . strides (over dims).</summary>
    private readonly struct ScatterBody(Tensor x, Tensor y, int offset, int[] dims, int[] strides) : IElementBody
    {
        public void Run<T>() where T : unmanaged, INumber<T> => Layout.Scatter<T>(x.Data<T>(), y.Data<T>(), offset, dims, strides);
    }

    /// <summary>Joins tensors along an existing <paramref name="axis"/>; all other dimensions must agree.</summary>
    public static Tensor Concat(IEnumerable<Tensor> tensors, int axis = 0)
    {
        var xs = tensors.ToArray();
        if (xs.Length == 0) throw new AutoKlException("concat", "needs at least one tensor");
        var first = xs[0];
        if (first.Rank == 0) throw new AutoKlException("concat", "cannot concatenate scalars (rank 0); use Stack");
        int a = Shapes.NormalizeAxis("concat", axis, first.Rank);
        var dtype = xs.All(x => x.DType == first.DType) ? first.DType : DType.Float64;
        for (int k = 0; k < xs.Length; k++)
        {
            var x = xs[k];
            bool fits = x.Rank == first.Rank && Enumerable.Range(0, x.Rank).All(d => d == a || x.ShapeRef[d] == first.ShapeRef[d]);
            if (!fits)
                throw new AutoKlException("concat", $"tensor {k} has shape {Shapes.Format(x.ShapeRef)}, which does not match {Shapes.Format(first.ShapeRef)} outside dimension {a}");
            if (x.DType != dtype) xs[k] = x.ToType(dtype);
        }
        var shape = (int[])first.ShapeRef.Clone();
        shape[a] = xs.Sum(x => x.ShapeRef[a]);
        var y = Empty(dtype, shape);
        var starts = new int[xs.Length];
        for (int k = 0, start = 0; k < xs.Length; start += xs[k].ShapeRef[a], k++)
        {
            starts[k] = start;
            var (offset, dims, strides) = SliceView(shape, a, start, xs[k].ShapeRef[a], 1);
            DTypeDispatch.RunAny(dtype, new ScatterBody(xs[k], y, offset, dims, strides));
        }
        return Record(y, "concat", xs, g => xs.Select((x, k) => For(x, () => SliceRaw(g, a, starts[k], x.ShapeRef[a], 1))).ToArray(), readsValues: false,
            jvp: Fwd ? t => Concat(xs.Select((x, k) => t[k] ?? ZerosLike(x)), a) : null);
    }

    /// <summary>Joins tensors of equal shape along a new <paramref name="axis"/>.</summary>
    public static Tensor Stack(IEnumerable<Tensor> tensors, int axis = 0)
    {
        var xs = tensors.ToArray();
        if (xs.Length == 0) throw new AutoKlException("stack", "needs at least one tensor");
        for (int k = 1; k < xs.Length; k++)
            if (!Shapes.Equal(xs[k].ShapeRef, xs[0].ShapeRef))
                throw new AutoKlException("stack", $"tensor {k} has shape {Shapes.Format(xs[k].ShapeRef)}, tensor 0 has {Shapes.Format(xs[0].ShapeRef)}; stacked tensors must have equal shapes");
        int a = Shapes.NormalizeAxis("stack", axis, xs[0].Rank + 1);
        return Concat(xs.Select(x => Unsqueeze(x, a)), a);
    }
}
