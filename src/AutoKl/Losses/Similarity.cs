namespace AutoKl;

// Cosine similarity and the cosine embedding loss.
public static partial class Losses
{
    /// <summary>
    /// Cosine similarity along <paramref name="axis"/> with PyTorch 1.13's formula:
    /// sum((x1 / n1) * (x2 / n2)) with n = max(||x||, eps), each vector normalised first (which
    /// keeps the result in [-1, 1]); the eps clamp changes the value only, the gradient treats n as
    /// the norm (PyTorch clamps in place under no_grad). x1 and x2 broadcast.
    /// </summary>
    /// <param name="x1">First tensor.</param>
    /// <param name="x2">Second tensor, broadcastable with x1.</param>
    /// <param name="axis">The axis of the vectors (PyTorch's dim, default 1).</param>
    /// <param name="eps">Lower bound of each norm.</param>
    public static Tensor CosineSimilarity(Tensor x1, Tensor x2, int axis = 1, double eps = 1e-8)
    {
        const string op = "cosine_similarity";
        ArgumentChecks.Float(op, "x1", x1);
        ArgumentChecks.Float(op, "x2", x2);
        var shape = Shapes.Broadcast(op, x1.ShapeRef, x2.ShapeRef);
        int a = Shapes.NormalizeAxis(op, axis, shape.Length);
        // Align ranks so the axis means the same dimension of both.
        var n1 = Norm(Align(x1, shape.Length), a, eps);
        var n2 = Norm(Align(x2, shape.Length), a, eps);
        return Tensor.Sum(Align(x1, shape.Length) / n1 * (Align(x2, shape.Length) / n2), a);
    }

    private static Tensor Align(Tensor x, int rank)
    {
        while (x.Rank < rank) x = x.Unsqueeze(0);
        return x;
    }

    private static Tensor Norm(Tensor x, int axis, double eps)
        => LossSupport.StraightThrough(Tensor.Sqrt(Tensor.Sum(x * x, axis, keepDim: true)), n => Tensor.Clamp(n, min: eps));

    /// <summary>
    /// PyTorch's <c>F.cosine_embedding_loss</c>: 1 - cos(x1, x2) where target = 1 and
    /// max(0, cos(x1, x2) - margin) where target = -1, with cos along axis 1 computed as
    /// sum(x1 x2) / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) as PyTorch does. The target takes no gradient.
    /// </summary>
    /// <param name="input1">Shape [N, D] (or [D]).</param>
    /// <param name="input2">Same shape as input1.</param>
    /// <param name="target">1 or -1 per row, shape [N] (or scalar).</param>
    /// <param name="margin">Margin for the dissimilar pairs, in [-1, 1].</param>
    /// <param name="reduction">None, Sum or Mean (default, over the rows).</param>
    public static Tensor CosineEmbeddingLoss(Tensor input1, Tensor input2, Tensor target, double margin = 0.0, Reduction reduction = Reduction.Mean)
    {
        const string op = "cosine_embedding_loss";
        ArgumentChecks.Float(op, "input1", input1);
        ArgumentChecks.Float(op, "input2", input2);
        ArgumentChecks.SameShape(op, "input1", input1, "input2", input2);
        if (input1.Rank < 1 || input1.Rank > 2)
            throw new AutoKlException(op, $"input1 must be 1-D or 2-D, got shape {Shapes.Format(input1.ShapeRef)}");
        var expectedTarget = input1.Rank == 2 ? new[] { input1.ShapeRef[0] } : Array.Empty<int>();
        if (!Shapes.Equal(target.ShapeRef, expectedTarget))
            throw new AutoKlException(op, $"target must have shape {Shapes.Format(expectedTarget)} (one 1 or -1 per row), got {Shapes.Format(target.ShapeRef)}");
        if (Validation.Enabled) ArgumentChecks.Values(op, "target", target, v => v == 1 || v == -1, "1 or -1");
        int axis = input1.Rank - 1;
        const double epsilon = 1e-12;
        var dot = Tensor.Sum(input1 * input2, axis);
        var mag1 = Tensor.Sum(input1 * input1, axis) + epsilon;
        var mag2 = Tensor.Sum(input2 * input2, axis) + epsilon;
        var cos = dot / Tensor.Sqrt(mag1 * mag2);
        var y = target.Detach().ToType(cos.DType);
        var zero = Tensor.ZerosLike(cos);
        var pointwise = Tensor.Where(Tensor.Eq(y, 1.0), 1.0 - cos, zero)
                      + Tensor.Where(Tensor.Eq(y, -1.0), Tensor.Clamp(cos - margin, min: 0), zero);
        return LossSupport.ReduceNoBatchMean(op, pointwise, reduction);
    }
}
