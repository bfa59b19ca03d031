using AutoKl.Kernels;

namespace AutoKl;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with PyTorch's rules: 2-D @ 2-D; a 1-D operand is treated as a row (left)
    /// or column (right) vector and that dimension removed from the result; leading batch
    /// dimensions broadcast. Gradients: dA = g Bᵀ, dB = Aᵀ g, summed over broadcast batches.
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        (a, b) = Promote("matmul", a, b);
        if (a.Rank == 0 || b.Rank == 0)
            throw new AutoKlException("matmul", $"both operands need at least one dimension, got shapes {Shapes.Format(a.ShapeRef)} and {Shapes.Format(b.ShapeRef)}");
        // Checked here, before 1-D operands are unsqueezed, so the message shows the shapes as given.
        int inner = b.Rank == 1 ? b.ShapeRef[0] : b.ShapeRef[^2];
        if (a.ShapeRef[^1] != inner)
            throw new AutoKlException("matmul", $"shapes {Shapes.Format(a.ShapeRef)} and {Shapes.Format(b.ShapeRef)} do not chain: {a.ShapeRef[^1]} columns against {inner} rows");
        if (a.Rank == 1 && b.Rank == 1) return Squeeze(Squeeze(MatMul(Unsqueeze(a, 0), Unsqueeze(b, 1)), -1), -1);
        if (a.Rank == 1) return Squeeze(MatMul(Unsqueeze(a, 0), b), -2);
        if (b.Rank == 1) return Squeeze(MatMul(a, Unsqueeze(b, 1)), -1);

        int m = a.ShapeRef[^2], k = a.ShapeRef[^1], n = b.ShapeRef[^1];
        int[] batch;
        try { batch = Shapes.Broadcast("matmul", a.ShapeRef[..^2], b.ShapeRef[..^2]); }
        catch (AutoKlException e)
        {
            throw new AutoKlException("matmul", $"the batch dimensions of shapes {Shapes.Format(a.ShapeRef)} and {Shapes.Format(b.ShapeRef)} do not broadcast ({e.Message})");
        }
        var aFull = Expanded(a, [.. batch, m, k]);
        var bFull = Expanded(b, [.. batch, k, n]);
        var y = Empty(a.DType, [.. batch, m, n]);
        DTypeDispatch.Run(a.DType, new BatchedMatMulBody(aFull, bFull, y, Shapes.Numel(batch), m, k, n));
        return Record(y, "matmul", [a, b], g =>
        [
            For(a, () => MatMul(g, Transpose(b))),
            For(b, () => MatMul(Transpose(a), g)),
        ], jvp: Fwd ? t => SumTerms(Lin(t[0], ta => MatMul(ta, b)), Lin(t[1], tb => MatMul(a, tb))) : null);
    }

    private readonly struct BatchedMatMulBody(Tensor a, Tensor b, Tensor y, int count, int m, int k, int n) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            T[] av = a.Data<T>(), bv = b.Data<T>(), yv = y.Data<T>();
            for (int i = 0; i < count; i++)
                MatMulKernel.Run<T>(av.AsSpan(i * m * k, m * k), bv.AsSpan(i * k * n, k * n), yv.AsSpan(i * m * n, m * n), m, k, n);
        }
    }
}
