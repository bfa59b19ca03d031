namespace AutoKl.Optim;

/// <summary>Multiplies the lr by <c>gamma</c> every <c>stepSize</c> epochs: lr = base_lr * gamma^floor(epoch / stepSize).</summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the schedule and takes its initial step.</summary>
    /// <param name="optimizer">The optimizer whose lr is set.</param>
    /// <param name="stepSize">Epochs between decays, > 0.</param>
    /// <param name="gamma">Decay factor, >= 0.</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        Require(stepSize > 0, "StepLR", $"stepSize must be > 0, got {stepSize}");
        Require(gamma >= 0 && double.IsFinite(gamma), "StepLR", $"gamma must be finite and >= 0, got {gamma}");
        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }
    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr() =>
        LastEpoch == 0 || LastEpoch % StepSize != 0 ? GroupLrs() : GroupLrs().Select(lr => lr * Gamma).ToArray();

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() => BaseLrs.Select(b => b * Math.Pow(Gamma, LastEpoch / StepSize)).ToArray();
}
