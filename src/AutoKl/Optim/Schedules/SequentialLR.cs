namespace AutoKl.Optim;

/// <summary>
/// Runs schedules one after another: <c>schedulers[i]</c> from epoch <c>milestones[i-1]</c>;
/// at a milestone the next schedule restarts from its epoch 0 (e.g. a <see cref="LinearLR"/>
/// warm-up for 10 epochs, then <see cref="CosineAnnealingLR"/>). Build the sub-schedules on the
/// same optimizer, in order, right before this one (PyTorch's <c>SequentialLR</c>).
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Combines the schedules; resets the lr to each group's initial lr and re-runs the first schedule's initial step.</summary>
    /// <param name="optimizer">The optimizer all the schedules act on.</param>
    /// <param name="schedulers">The schedules, in order of use (one more than milestones).</param>
    /// <param name="milestones">Increasing epochs at which to switch to the next schedule.</param>
    public SequentialLR(Optimizer optimizer, IEnumerable<LRScheduler> schedulers, IEnumerable<int> milestones) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        _schedulers = schedulers.ToArray();
        _milestones = milestones.ToArray();
        Require(_schedulers.Length >= 1, "SequentialLR", "schedulers: needs at least one schedule");
        Require(_milestones.Length == _schedulers.Length - 1, "SequentialLR",
            $"milestones: expected {_schedulers.Length - 1} milestones for {_schedulers.Length} schedules, got {_milestones.Length}");
        for (int i = 0; i < _schedulers.Length; i++)
            Require(ReferenceEquals(_schedulers[i].Optimizer, optimizer), "SequentialLR", $"schedulers[{i}] acts on another optimizer");
        for (int i = 1; i < _milestones.Length; i++)
            Require(_milestones[i] > _milestones[i - 1], "SequentialLR", $"milestones must increase, got [{string.Join(", ", _milestones)}]");
        LastEpoch = 0;
        foreach (var g in optimizer.ParamGroups) g.Lr = g["initial_lr"];
        // undo the initial steps the sub-schedules took when they were built, then redo the first one's
        foreach (var s in _schedulers) s.LastEpoch -= 1;
        _schedulers[0].InitialStep();
        SetLastLr(_schedulers[0].GetLastLr());
    }

    /// <summary>The milestone epochs.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc/>
    public override void Step()
    {
        LastEpoch++;
        int idx = _milestones.Count(m => m <= LastEpoch); // bisect_right
        var scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == LastEpoch) scheduler.StepTo(0);
        else scheduler.Step();
        SetLastLr(scheduler.GetLastLr());
    }

    /// <inheritdoc/>
    protected override double[] ComputeLr() => GroupLrs();

    /// <summary>The schedulers run one after another, saved and restored with this one.</summary>
    protected override IReadOnlyList<LRScheduler> Children => _schedulers;
}
