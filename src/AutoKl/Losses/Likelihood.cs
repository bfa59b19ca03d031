namespace AutoKl;

// Negative log-likelihood losses of count and real-valued data.
public static partial class Losses
{
    /// <summary>
    /// Poisson negative log-likelihood (PyTorch's <c>F.poisson_nll_loss</c>): with
    /// <paramref name="logInput"/> the input is log(rate) and the loss exp(input) - target input,
    /// otherwise input - target log(input + eps). <paramref name="full"/> adds the Stirling
    /// approximation of log(target!), target log target - target + 0.5 log(2 pi target), where
    /// target &gt; 1. Every gradient is finite, the target's included (PyTorch's is NaN at target 0 with full).
    /// </summary>
    /// <param name="input">log(rate) (logInput) or the rate.</param>
    /// <param name="target">Counts, same shape.</param>
    /// <param name="logInput">Whether input is the log of the rate.</param>
    /// <param name="full">Add the Stirling term.</param>
    /// <param name="eps">Added to the rate inside the log when logInput is false.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor PoissonNllLoss(Tensor input, Tensor target, bool logInput = true, bool full = false, double eps = 1e-8, Reduction reduction = Reduction.Mean)
    {
        const string op = "poisson_nll_loss";
        LossSupport.CheckPair(op, input, target);
        var loss = logInput ? Tensor.Exp(input) - target * input : input - target * Tensor.Log(input + eps);
        if (full)
        {
            // Stirling's term only where target > 1; elsewhere it is fed 1 so no log(0) reaches the gradient.
            var counted = Tensor.Gt(target, 1.0);
            var t = Tensor.Where(counted, target, Tensor.OnesLike(target));
            var stirling = t * Tensor.Log(t) - t + Tensor.Log(t * (2 * Math.PI)) * 0.5;
            loss = loss + Tensor.Where(counted, stirling, Tensor.ZerosLike(stirling));
        }
        return LossSupport.ReduceNoBatchMean(op, loss, reduction);
    }

    /// <summary>
    /// Gaussian negative log-likelihood (PyTorch's <c>F.gaussian_nll_loss</c>):
    /// 0.5 (log var + (input - target)^2 / var), plus 0.5 log(2 pi) when <paramref name="full"/>.
    /// <paramref name="var"/> has input's shape, or input's shape with the last dimension 1 or
    /// dropped (one variance per sample). Its values are clamped below at <paramref name="eps"/>
    /// for the value only (the gradient passes as PyTorch's in-place clamp under no_grad does).
    /// </summary>
    /// <param name="input">Predicted means.</param>
    /// <param name="target">Observations, same shape.</param>
    /// <param name="var">Predicted variances, non-negative.</param>
    /// <param name="full">Add the constant 0.5 log(2 pi).</param>
    /// <param name="eps">Lower clamp of the variance.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor GaussianNllLoss(Tensor input, Tensor target, Tensor var, bool full = false, double eps = 1e-6, Reduction reduction = Reduction.Mean)
    {
        const string op = "gaussian_nll_loss";
        var d = Difference(op, input, target);
        ArgumentChecks.Float(op, "var", var);
        if (!Shapes.Equal(var.ShapeRef, input.ShapeRef))
        {
            var batchShape = input.ShapeRef.Length == 0 ? input.ShapeRef : input.ShapeRef[..^1];
            if (Shapes.Equal(var.ShapeRef, batchShape)) var = var.Unsqueeze(-1);
            else if (!(var.Rank == input.Rank && var.Rank > 0 && var.ShapeRef[^1] == 1 && Shapes.Equal(var.ShapeRef[..^1], batchShape)))
                throw new AutoKlException(op, $"var shape {Shapes.Format(var.ShapeRef)} must equal input shape {Shapes.Format(input.ShapeRef)}, or be it with the last dimension 1 or dropped");
        }
        if (Validation.Enabled) ArgumentChecks.NonNegative(op, "var", var);
        var v = LossSupport.StraightThrough(var, x => Tensor.Clamp(x, min: eps));
        var loss = (Tensor.Log(v) + d * d / v) * 0.5;
        if (full) loss = loss + 0.5 * Math.Log(2 * Math.PI);
        return LossSupport.ReduceNoBatchMean(op, loss, reduction);
    }
}
