using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

/// <summary>
/// A two-input elementwise kernel. The scalar forms serve rows where one side is broadcast
/// along the innermost dimension, so broadcasting never materialises a stretched copy.
/// </summary>
internal interface IBinaryKernel
{
    void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
    void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
    void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

internal readonly struct AddK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(b, a, y);
}

internal readonly struct SubK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Subtract(a, b, y);
}

internal readonly struct MulK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Multiply(b, a, y);
}

internal readonly struct DivK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Divide(a, b, y);
}

internal readonly struct PowK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Pow(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Pow(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Pow(a, b, y);
}

/// <summary>atan2(a, b): the angle of the point (b, a), a the y coordinate, as Math.Atan2.</summary>
internal readonly struct Atan2K : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Atan2(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Atan2(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Atan2(a, b, y);
}

/// <summary>Elementwise maximum; NaN propagates, as in torch.maximum.</summary>
internal readonly struct MaxK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Max(b, a, y);
}

/// <summary>Elementwise minimum; NaN propagates, as in torch.minimum.</summary>
internal readonly struct MinK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(a, b, y);
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(a, b, y);
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Min(b, a, y);
}

/// <summary>
/// x * log(y), defined as 0 where x == 0 (even for y == 0), as scipy/PyTorch xlogy. Vectorised:
/// log and multiply run through TensorPrimitives, then the x == 0 entries are set to 0 (a NaN
/// y still gives NaN), instead of a scalar log per element.
/// </summary>
internal readonly struct XlogyK : IBinaryKernel
{
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Log(b, y);
        TensorPrimitives.Multiply(a, y, y);
        ZeroWhereXIsZero(a, b, y);
    }

    /// <summary>y[i] = 0 wherever a[i] == 0 (either sign) and b[i] is not NaN; a vector at a time.</summary>
    private static void ZeroWhereXIsZero<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var va = new Vector<T>(a[i..]);
                var vb = new Vector<T>(b[i..]);
                var zero = Vector.Equals(va, Vector<T>.Zero) & Vector.Equals(vb, vb); // b == b is false only for NaN
                Vector.ConditionalSelect(zero, Vector<T>.Zero, new Vector<T>(y[i..])).CopyTo(y[i..]);
            }
        }
        for (; i < y.Length; i++)
            if (a[i] == T.Zero && !T.IsNaN(b[i])) y[i] = T.Zero;
    }

    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Multiply(a, T.Log(b), y);
        if (T.IsNaN(b)) return;
        for (int i = 0; i < y.Length; i++)
            if (a[i] == T.Zero) y[i] = T.Zero;
    }

    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a == T.Zero)
        {
            for (int i = 0; i < y.Length; i++) y[i] = T.IsNaN(b[i]) ? b[i] : T.Zero;
            return;
        }
        TensorPrimitives.Log(b, y);
        TensorPrimitives.Multiply(y, a, y);
    }
}

/// <summary>Comparison kernels: 1 where the relation holds, else 0, in the inputs' dtype.</summary>
internal enum Relation { Lt, Le, Gt, Ge, Eq, Ne }

internal readonly struct CompareK(Relation relation) : IBinaryKernel
{
    private bool Holds<T>(T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => relation switch
    {
        Relation.Lt => a < b,
        Relation.Le => a <= b,
        Relation.Gt => a > b,
        Relation.Ge => a >= b,
        Relation.Eq => a == b,
        _ => a != b,
    };
    public void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> { for (int i = 0; i < y.Length; i++) y[i] = Holds(a[i], b[i]) ? T.One : T.Zero; }
    public void Run<T>(ReadOnlySpan<T> a, T b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> { for (int i = 0; i < y.Length; i++) y[i] = Holds(a[i], b) ? T.One : T.Zero; }
    public void Run<T>(T a, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> { for (int i = 0; i < y.Length; i++) y[i] = Holds(a, b[i]) ? T.One : T.Zero; }
}

/// <summary>
/// Runs a binary kernel over two contiguous arrays broadcast to a common shape, split across
/// cores when the result is large.
/// </summary>
internal static class Broadcast
{
    /// <summary><paramref name="y"/> has exactly the broadcast <paramref name="shape"/> of the two operands.</summary>
    public static void Run<T, K>(T[] a, int[] shapeA, T[] b, int[] shapeB, T[] y, int[] shape, K kernel)
        where T : unmanaged, IFloatingPointIeee754<T> where K : IBinaryKernel
    {
        if (y.Length == 0) return;
        // Equal lengths, or one operand a single number: since y is their broadcast, the other
        // operand then has y's length too, and flat slices line up.
        if ((a.Length == y.Length && b.Length == y.Length) || a.Length == 1 || b.Length == 1)
        {
            Chunked.Run(y.Length, 1, new FlatChunk<T, K>(a, b, y, kernel));
            return;
        }
        var (dims, strides) = Coalesce(shape, Shapes.BroadcastStrides(shapeA, shape), Shapes.BroadcastStrides(shapeB, shape));
        var rows = new BroadcastRows(dims, strides[0], strides[1]);
        Chunked.Run(rows.Count, rows.Length, new RowsChunk<T, K>(a, b, y, rows, kernel));
    }

    private readonly struct FlatChunk<T, K>(T[] a, T[] b, T[] y, K kernel) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T> where K : IBinaryKernel
    {
        public void Run(int start, int end)
        {
            var dst = y.AsSpan(start, end - start);
            if (a.Length == 1 && b.Length == 1) kernel.Run<T>(a, b, dst);
            else if (b.Length == 1) kernel.Run(a.AsSpan(start, end - start), b[0], dst);
            else if (a.Length == 1) kernel.Run(a[0], b.AsSpan(start, end - start), dst);
            else kernel.Run<T>(a.AsSpan(start, end - start), b.AsSpan(start, end - start), dst);
        }
    }

    /// <summary>The result's coalesced dimensions and each operand's strides over them (0 where broadcast).</summary>
    private readonly record struct BroadcastRows(int[] Dims, int[] StridesA, int[] StridesB)
    {
        /// <summary>The innermost dimension: the length of a row.</summary>
        public int Length => Dims[^1];

        public int Count => Shapes.Numel(Dims) / Length;

        /// <summary>Where row <paramref name="row"/> starts in each operand.</summary>
        public (int A, int B) Offsets(int row)
        {
            int offA = 0, offB = 0;
            for (int d = Dims.Length - 2; d >= 0 && row > 0; d--)
            {
                int i = row % Dims[d];
                row /= Dims[d];
                offA += i * StridesA[d];
                offB += i * StridesB[d];
            }
            return (offA, offB);
        }
    }

    /// <summary>Rows of the result, each a kernel call over a row of each operand or its single broadcast value.</summary>
    private readonly struct RowsChunk<T, K>(T[] a, T[] b, T[] y, BroadcastRows rows, K kernel) : IChunkBody
        where T : unmanaged, IFloatingPointIeee754<T> where K : IBinaryKernel
    {
        public void Run(int start, int end)
        {
            int n = rows.Length, lastA = rows.StridesA[^1], lastB = rows.StridesB[^1];
            for (int r = start; r < end; r++)
            {
                var (offA, offB) = rows.Offsets(r);
                var row = y.AsSpan(r * n, n);
                if (lastA != 0 && lastB != 0) kernel.Run<T>(a.AsSpan(offA, n), b.AsSpan(offB, n), row);
                else if (lastA != 0) kernel.Run(a.AsSpan(offA, n), b[offB], row);
                else if (lastB != 0) kernel.Run(a[offA], b.AsSpan(offB, n), row);
                else { kernel.Run<T>(a.AsSpan(offA, 1), b.AsSpan(offB, 1), row[..1]); row.Fill(row[0]); }
            }
        }
    }

    /// <summary>
    /// Drops size-1 dimensions and merges neighbours that are contiguous in every operand, so
    /// the innermost loop runs over rows as long as possible.
    /// </summary>
    public static (int[] Dims, int[][] Strides) Coalesce(int[] shape, params int[][] strides)
    {
        var dims = new List<int>();
        var st = strides.Select(_ => new List<int>()).ToArray();
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 1) continue;
            bool merge = dims.Count > 0;
            for (int k = 0; k < strides.Length && merge; k++)
                merge = st[k][^1] == strides[k][d] * shape[d];
            if (merge)
            {
                dims[^1] *= shape[d];
                for (int k = 0; k < strides.Length; k++) st[k][^1] = strides[k][d];
            }
            else
            {
                dims.Add(shape[d]);
                for (int k = 0; k < strides.Length; k++) st[k].Add(strides[k][d]);
            }
        }
        if (dims.Count == 0) { dims.Add(1); foreach (var s in st) s.Add(1); }
        return (dims.ToArray(), st.Select(s => s.ToArray()).ToArray());
    }
}
