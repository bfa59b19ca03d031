namespace AutoKl.Optim;

/// <summary>Multiplies the lr by <c>gamma</c> every epoch: lr = base_lr * gamma^epoch.</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Creates the schedule and takes its initial step.</summary>
    /// <param name="optimizer">The optimizer whose lr is set.</param>
    /// <param name="gamma">Decay factor, >= 0.</param>
    public ExponentialLR(Optimizer optimizer, double gamma) : base(optimizer)
    {
        Require(gamma >= 0 && double.IsFinite(gamma), "ExponentialLR", $"gamma must be finite and >= 0, got {gamma}");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => LastEpoch == 0 ? GroupLrs() : GroupLrs().Select(lr => lr * Gamma).ToArray();

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() => BaseLrs.Select(b => b * Math.Pow(Gamma, LastEpoch)).ToArray();
}
