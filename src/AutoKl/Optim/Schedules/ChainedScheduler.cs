namespace AutoKl.Optim;

/// <summary>
/// Steps several schedules together on one optimizer, so their effects multiply (e.g.
/// <see cref="ExponentialLR"/> with <see cref="StepLR"/>). PyTorch's <c>ChainedScheduler</c>.
/// </summary>
public sealed class ChainedScheduler : LRScheduler
{
    private readonly LRScheduler[] _schedulers;

    /// <summary>Chains the schedules (all on the same optimizer, already constructed).</summary>
    public ChainedScheduler(IEnumerable<LRScheduler> schedulers) : base(FirstOptimizer(schedulers))
    {
        _schedulers = schedulers.ToArray();
        for (int i = 0; i < _schedulers.Length; i++)
            Require(ReferenceEquals(_schedulers[i].Optimizer, Optimizer), "ChainedScheduler", $"schedulers[{i}] acts on another optimizer");
        LastEpoch = 0;
        SetLastLr(GroupLrs());
    }

    private static Optimizer FirstOptimizer(IEnumerable<LRScheduler> schedulers)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        var first = schedulers.FirstOrDefault();
        if (first is null) throw new AutoKlException("ChainedScheduler", "schedulers: needs at least one schedule");
        return first.Optimizer;
    }

    /// <inheritdoc/>
    public override void Step()
    {
        LastEpoch++;
        foreach (var s in _schedulers) s.Step();
        SetLastLr(GroupLrs());
    }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => GroupLrs();

    /// <summary>The chained schedulers, saved and restored with this one.</summary>
    protected override IReadOnlyList<LRScheduler> Children => _schedulers;
}
