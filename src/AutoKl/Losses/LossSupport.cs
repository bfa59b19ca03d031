namespace AutoKl;

/// <summary>What the loss functions share: applying a <see cref="Reduction"/>, the input/target
/// contract, and the straight-through replacement of values.</summary>
internal static class LossSupport
{
    /// <summary>Applies <paramref name="reduction"/> to elementwise losses.</summary>
    public static Tensor Reduce(string op, Tensor pointwise, Reduction reduction) => reduction switch
    {
        Reduction.None => pointwise,
        Reduction.Sum => Tensor.Sum(pointwise),
        Reduction.Mean => Tensor.Mean(pointwise),
        Reduction.BatchMean => pointwise.Rank == 0
            ? Tensor.Sum(pointwise)
            : Tensor.Sum(pointwise) / (double)pointwise.ShapeRef[0],
        _ => throw new AutoKlException(op, $"unknown reduction {reduction}"),
    };

    /// <summary>Reductions other than BatchMean (which only KL defines).</summary>
    public static Tensor ReduceNoBatchMean(string op, Tensor pointwise, Reduction reduction)
    {
        if (reduction == Reduction.BatchMean)
            throw new AutoKlException(op, "reduction BatchMean is only defined for kl_div; use Mean, Sum or None");
        return Reduce(op, pointwise, reduction);
    }

    /// <summary>Both floating-point and of the same shape (the usual input/target contract).</summary>
    public static void CheckPair(string op, Tensor input, Tensor target)
    {
        ArgumentChecks.Float(op, "input", input);
        ArgumentChecks.Float(op, "target", target);
        ArgumentChecks.SameShape(op, "input", input, "target", target);
    }

    /// <summary>A gradient-transparent replacement of the values: forward gives <paramref name="replaced"/>,
    /// backward treats the result as <paramref name="x"/> (PyTorch's in-place clamp under no_grad).</summary>
    public static Tensor StraightThrough(Tensor x, Func<Tensor, Tensor> replaced)
    {
        Tensor shift;
        using (Autograd.NoGrad()) shift = replaced(x) - x;
        return x + shift.Detach();
    }
}
