namespace AutoKl;

// Regression losses on the difference input - target (PyTorch conventions; Mean is over every element).
public static partial class Losses
{
    /// <summary>Mean squared error: (input - target)^2, reduced (PyTorch's <c>F.mse_loss</c>).</summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets, same shape as input.</param>
    /// <param name="reduction">None, Sum or Mean (default, over every element).</param>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        var d = Difference("mse_loss", input, target);
        return LossSupport.ReduceNoBatchMean("mse_loss", d * d, reduction);
    }

    /// <summary>Mean absolute error: |input - target|, reduced (PyTorch's <c>F.l1_loss</c>); the gradient at 0 is 0.</summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets, same shape as input.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
        => LossSupport.ReduceNoBatchMean("l1_loss", Tensor.Abs(Difference("l1_loss", input, target)), reduction);

    /// <summary>
    /// Huber loss (PyTorch's <c>F.huber_loss</c>): 0.5 d^2 where |d| &lt; delta, else
    /// delta (|d| - 0.5 delta), with d = input - target. Equals delta * SmoothL1 with beta = delta.
    /// </summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets, same shape as input.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    /// <param name="delta">Where the quadratic turns linear; positive.</param>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        const string op = "huber_loss";
        if (!(delta > 0)) throw new AutoKlException(op, $"delta must be positive, got {delta}");
        var d = Difference(op, input, target);
        var a = Tensor.Abs(d);
        var pointwise = Tensor.Where(Tensor.Lt(a, delta), d * d * 0.5, (a - 0.5 * delta) * delta);
        return LossSupport.ReduceNoBatchMean(op, pointwise, reduction);
    }

    /// <summary>
    /// Smooth L1 loss (PyTorch's <c>F.smooth_l1_loss</c>): 0.5 d^2 / beta where |d| &lt; beta,
    /// else |d| - 0.5 beta; beta = 0 is the L1 loss.
    /// </summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets, same shape as input.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    /// <param name="beta">Where the quadratic turns linear; non-negative.</param>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        const string op = "smooth_l1_loss";
        if (!(beta >= 0)) throw new AutoKlException(op, $"beta must be non-negative, got {beta}");
        var d = Difference(op, input, target);
        var a = Tensor.Abs(d);
        if (beta == 0) return LossSupport.ReduceNoBatchMean(op, a, reduction);
        var pointwise = Tensor.Where(Tensor.Lt(a, beta), d * d * (0.5 / beta), a - 0.5 * beta);
        return LossSupport.ReduceNoBatchMean(op, pointwise, reduction);
    }

    private static Tensor Difference(string op, Tensor input, Tensor target)
    {
        LossSupport.CheckPair(op, input, target);
        return input - target;
    }
}
