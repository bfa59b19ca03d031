namespace AutoKl.Optim;

/// <summary>Multiplies the lr by <c>gamma</c> at each milestone epoch.</summary>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>Creates the schedule and takes its initial step.</summary>
    /// <param name="optimizer">The optimizer whose lr is set.</param>
    /// <param name="milestones">Epochs at which to decay (a repeated epoch decays once per repetition).</param>
    /// <param name="gamma">Decay factor, >= 0.</param>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = milestones.OrderBy(m => m).ToArray();
        Require(gamma >= 0 && double.IsFinite(gamma), "MultiStepLR", $"gamma must be finite and >= 0, got {gamma}");
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestone epochs, sorted.</summary>
    public IReadOnlyList<int> Milestones => _milestones;
    /// <summary>Decay factor.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr()
    {
        int count = _milestones.Count(m => m == LastEpoch);
        return count == 0 ? GroupLrs() : GroupLrs().Select(lr => lr * Math.Pow(Gamma, count)).ToArray();
    }

    /// <inheritdoc/>
    protected override double[] ClosedFormLr()
    {
        int passed = _milestones.Count(m => m <= LastEpoch);
        return BaseLrs.Select(b => b * Math.Pow(Gamma, passed)).ToArray();
    }
}
