namespace AutoKl.Optim;

/// <summary>
/// Base of the learning-rate schedules, with PyTorch 1.13's <c>lr_scheduler</c> semantics: the
/// constructor records each group's <c>initial_lr</c> (= its lr, unless already recorded by
/// another schedule), then takes an initial step (epoch 0); each <see cref="Step"/> (after the
/// optimizer's step) advances the epoch and writes the new lr into every group. Schedules are
/// "chainable": each computes the new lr from the group's current lr, so several schedules on
/// one optimizer compose (<see cref="ChainedScheduler"/>, <see cref="SequentialLR"/>).
/// </summary>
public abstract class LRScheduler
{
    private double[] _lastLr;

    /// <summary>Records <c>initial_lr</c> in every group of <paramref name="optimizer"/>. A subclass ends its constructor with <c>InitialStep</c> (protected).</summary>
    protected LRScheduler(Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        foreach (var g in optimizer.ParamGroups)
            if (!g.Has("initial_lr")) g["initial_lr"] = g.Lr;
        BaseLrs = optimizer.ParamGroups.Select(g => g["initial_lr"]).ToArray();
        LastEpoch = -1;
        _lastLr = optimizer.ParamGroups.Select(g => g.Lr).ToArray();
    }

    /// <summary>The optimizer whose learning rates this schedule sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Each group's <c>initial_lr</c> when the schedule was created.</summary>
    public IReadOnlyList<double> BaseLrs { get; private set; }

    /// <summary>The epoch (number of <see cref="Step"/> calls since the initial step); 0 right after construction.</summary>
    public int LastEpoch { get; internal set; }

    /// <summary>Number of steps taken, counting the initial one (PyTorch's <c>_step_count</c>).</summary>
    protected int StepCount { get; private set; }

    /// <summary>The learning rate of the first parameter group after the last step.</summary>
    public double CurrentLr => _lastLr[0];

    /// <summary>The learning rate of every parameter group after the last step.</summary>
    public double[] GetLastLr() => (double[])_lastLr.Clone();

    /// <summary>Advances one epoch and sets every group's lr.</summary>
    public virtual void Step()
    {
        StepCount++;
        LastEpoch++;
        Apply(ComputeLr());
    }

    /// <summary>Jumps to <paramref name="epoch"/> using the closed form when the schedule has one (PyTorch's <c>step(epoch)</c>, used by <see cref="SequentialLR"/>).</summary>
    internal void StepTo(int epoch)
    {
        StepCount++;
        LastEpoch = epoch;
        Apply(ClosedFormLr());
    }

    /// <summary>The construction-time step: resets the step count and steps to epoch 0.</summary>
    protected internal void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>The new lr of every group for <see cref="LastEpoch"/>, from each group's current lr (chainable form).</summary>
    protected abstract double[] ComputeLr();

    /// <summary>
    /// The lr of every group at <see cref="LastEpoch"/> computed from <see cref="BaseLrs"/> alone;
    /// schedules without a closed form keep the chainable rule.
    /// </summary>
    protected virtual double[] ClosedFormLr() => ComputeLr();

    /// <summary>Writes <paramref name="lrs"/> into the groups and remembers them.</summary>
    protected void Apply(double[] lrs)
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++) groups[i].Lr = lrs[i];
        _lastLr = lrs;
    }

    /// <summary>Sets what <see cref="GetLastLr"/> returns (composite schedules).</summary>
    protected void SetLastLr(double[] lrs) => _lastLr = (double[])lrs.Clone();

    /// <summary>Each group's current lr.</summary>
    protected double[] GroupLrs() => Optimizer.ParamGroups.Select(g => g.Lr).ToArray();

    /// <summary>The kind of schedule, stored in checkpoints (the class name).</summary>
    public string Kind => GetType().Name;

    /// <summary>A copy of the position in the schedule (epoch, step count, base and last lrs, and any schedule-specific counters).</summary>
    public SchedulerState SaveState()
    {
        var values = new Dictionary<string, double> { ["last_epoch"] = LastEpoch, ["step_count"] = StepCount };
        SaveExtra(values);
        foreach (var (key, value) in Settings()) values[key] = value;
        return new SchedulerState(Kind, values, BaseLrs.ToArray(), GetLastLr(), Children.Select(c => c.SaveState()).ToArray());
    }

    /// <summary>Restores a position saved by <see cref="SaveState"/>; refuses (changing nothing) a state of another kind or shape.</summary>
    public void LoadState(SchedulerState state)
    {
        CheckCompatible(state);
        Restore(state);
    }

    internal void CheckCompatible(SchedulerState state, string? operation = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        string op = operation ?? Kind + ".load_state";
        if (state.Kind != Kind)
            throw new AutoKlException(op, $"the state was saved by a {state.Kind}, not a {Kind}");
        int groups = Optimizer.ParamGroups.Count;
        if (state.BaseLrs.Count != groups || state.LastLrs.Count != groups)
            throw new AutoKlException(op, $"the state is for {state.BaseLrs.Count} parameter groups, the optimizer has {groups}");
        foreach (var key in new[] { "last_epoch", "step_count" }.Concat(ExtraKeys))
        {
            if (!state.Values.TryGetValue(key, out var v))
                throw new AutoKlException(op, $"the {Kind} state lacks '{key}'");
            // Counters are whole numbers an int holds; a file with a valid checksum can still
            // carry NaN, 1e300 or 2.5 (written by hand or by another program).
            double min = key == "last_epoch" ? -1 : 0;
            if (!(v >= min && v <= int.MaxValue && Math.Floor(v) == v))
                throw new AutoKlException(op, $"the {Kind} state's '{key}' is {v}, not a whole number >= {min}");
        }
        for (int i = 0; i < groups; i++)
            if (!(double.IsFinite(state.BaseLrs[i]) && double.IsFinite(state.LastLrs[i])))
                throw new AutoKlException(op, $"the {Kind} state's learning rates of group {i} are not finite ({state.BaseLrs[i]}, {state.LastLrs[i]})");
        // The schedule's own settings must be the ones it was saved with: a StepLR(10, 0.7) state
        // loaded into a StepLR(5, 0.5) would continue a trajectory that never existed.
        var settings = Settings().ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (key, value) in settings)
        {
            if (!state.Values.TryGetValue(key, out var saved))
                throw new AutoKlException(op, $"the {Kind} state does not record its setting '{key[SettingPrefix.Length..]}'");
            if (!saved.Equals(value))
                throw new AutoKlException(op, $"the state was saved by a {Kind} with {key[SettingPrefix.Length..]} = {saved}, this one has {value}");
        }
        foreach (var key in state.Values.Keys)
            if (key.StartsWith(SettingPrefix, StringComparison.Ordinal) && !settings.ContainsKey(key))
                throw new AutoKlException(op, $"the state was saved by a {Kind} with a setting '{key[SettingPrefix.Length..]}' this one does not have");
        var children = Children;
        if (state.Children.Count != children.Count)
            throw new AutoKlException(op, $"the state has {state.Children.Count} sub-schedules, this {Kind} has {children.Count}");
        for (int i = 0; i < children.Count; i++) children[i].CheckCompatible(state.Children[i], op);
    }

    /// <summary>Takes the position from <paramref name="state"/>, which <see cref="CheckCompatible"/> has accepted.</summary>
    internal void Restore(SchedulerState state)
    {
        LastEpoch = (int)state.Values["last_epoch"];
        StepCount = (int)state.Values["step_count"];
        BaseLrs = state.BaseLrs.ToArray();
        _lastLr = state.LastLrs.ToArray();
        LoadExtra(state.Values);
        var children = Children;
        for (int i = 0; i < children.Count; i++) children[i].Restore(state.Children[i]);
    }

    private const string SettingPrefix = "setting:";

    /// <summary>
    /// The schedule's own settings: the public get-only number properties its class declares
    /// (StepSize, Gamma, TMax, ...), and lists of them (Milestones) element by element with their count. Read
    /// by reflection so that a schedule added later is covered without code of its own.
    /// </summary>
    private IEnumerable<KeyValuePair<string, double>> Settings()
    {
        var properties = GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly);
        // Get-only properties are settings fixed at construction; ones with a setter are position.
        foreach (var p in properties.Where(p => p.SetMethod is null).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var value = p.GetValue(this);
            switch (value)
            {
                case int i: yield return new(SettingPrefix + p.Name, i); break;
                case double d: yield return new(SettingPrefix + p.Name, d); break;
                case IReadOnlyList<int> list:
                    yield return new(SettingPrefix + p.Name + ".count", list.Count);
                    for (int k = 0; k < list.Count; k++) yield return new($"{SettingPrefix}{p.Name}[{k}]", list[k]);
                    break;
            }
        }
    }

    /// <summary>Sub-schedules of a composite schedule (saved with it).</summary>
    protected virtual IReadOnlyList<LRScheduler> Children => Array.Empty<LRScheduler>();

    /// <summary>Names of the schedule-specific counters written by <c>SaveExtra</c> (protected).</summary>
    protected virtual IEnumerable<string> ExtraKeys => Array.Empty<string>();

    /// <summary>Adds schedule-specific counters to a saved state.</summary>
    protected virtual void SaveExtra(IDictionary<string, double> values) { }

    /// <summary>Reads back what <c>SaveExtra</c> (protected) wrote.</summary>
    protected virtual void LoadExtra(IReadOnlyDictionary<string, double> values) { }

    /// <summary>Throws when a schedule argument is out of range.</summary>
    protected static void Require(bool ok, string schedule, string message)
    {
        if (!ok) throw new AutoKlException(schedule, message);
    }
}

/// <summary>A snapshot of a schedule's position (<see cref="LRScheduler.SaveState"/>).</summary>
/// <param name="Kind">The schedule's class name.</param>
/// <param name="Values">Epoch, step count and schedule-specific counters.</param>
/// <param name="BaseLrs">Each group's initial lr.</param>
/// <param name="LastLrs">Each group's lr after the last step.</param>
/// <param name="Children">Sub-schedules' states (composites).</param>
public sealed record SchedulerState(string Kind, IReadOnlyDictionary<string, double> Values, IReadOnlyList<double> BaseLrs,
                                    IReadOnlyList<double> LastLrs, IReadOnlyList<SchedulerState> Children);
