using System.Numerics;

namespace AutoKl.Optim;

/// <summary>
/// Base of every optimizer: parameter groups with their own hyper-parameters, a state per
/// parameter (step count and buffers such as momenta), <see cref="Step"/> and
/// <see cref="ZeroGrad"/>, and a state that can be saved and restored (see <see cref="Checkpoint"/>).
/// Each subclass holds its update rule in one file, written once for float32 and float64
/// (generic math), so float32 parameters are updated in float32 as in PyTorch.
/// </summary>
/// <namespacedoc>
///   <summary>Optimizers that agree with PyTorch step for step (SGD, Adam, AdamW, RMSprop,
///   Adagrad), learning-rate schedules, gradient clipping, the training loop
///   (<see cref="Minimize"/>) and checkpoints.</summary>
/// </namespacedoc>
/// <example>
/// <code lang="csharp">
/// var w = Tensor.FromArray(new[] { 0.5, -0.3 }).RequiresGrad_();
/// var adam = new Adam(new[] { w }, lr: 1e-3);
/// for (var step = 0; step &lt; 100; step++)
/// {
///     adam.ZeroGrad();
///     (w * w).Sum().Backward();
///     adam.Step();
/// }
/// </code>
/// </example>
public abstract class Optimizer
{
    private readonly List<ParamGroup> _groups = new();
    private readonly Dictionary<Tensor, ParameterState> _state = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, double> _defaults;

    /// <summary>
    /// Sets up the optimizer: <paramref name="defaults"/> fill the hyper-parameters each group
    /// does not set, then each group is checked with <c>Validate</c> (protected).
    /// </summary>
    protected Optimizer(string name, IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, double> defaults)
    {
        ArgumentNullException.ThrowIfNull(groups);
        Name = name;
        _defaults = new Dictionary<string, double>(defaults);
        var list = groups.ToList();
        if (list.Count == 0 || list.All(g => g.Parameters.Count == 0))
            throw new AutoKlException(name, "parameters: got an empty parameter list; pass the tensors to optimise");
        foreach (var g in list) AddParamGroup(g);
    }

    /// <summary>The optimizer's name as in PyTorch (<c>SGD</c>, <c>Adam</c>, ...); also used in error messages and checkpoints.</summary>
    public string Name { get; }

    /// <summary>The parameter groups, in the order they were added.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>The default hyper-parameters given to the constructor, by PyTorch name.</summary>
    public IReadOnlyDictionary<string, double> Defaults => _defaults;

    /// <summary>Every parameter of every group, in group order (the numbering used by saved states).</summary>
    public IReadOnlyList<Tensor> Parameters => _groups.SelectMany(g => g.Parameters).ToArray();

    /// <summary>
    /// Adds a group: hyper-parameters it does not set are taken from <see cref="Defaults"/>.
    /// Every parameter must be a floating-point leaf that requires gradients and belong to no other group.
    /// </summary>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var known = new HashSet<Tensor>(_groups.SelectMany(g => g.Parameters), ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < group.Parameters.Count; i++)
        {
            var p = group.Parameters[i];
            string at = $"parameters[{i}] (shape {Shapes.Format(p.ShapeRef)}, group {_groups.Count})";
            if (!p.DType.IsFloatingPoint())
                throw new AutoKlException(Name, $"{at} is {p.DType.Name()}; only float32/float64 tensors can be optimised");
            if (!p.IsLeaf)
                throw new AutoKlException(Name, $"{at} is not a leaf (it was produced by '{p.GradFnName}'); optimise leaf tensors, e.g. x.Detach().RequiresGrad_()");
            if (!p.RequiresGrad)
                throw new AutoKlException(Name, $"{at} does not require gradients; set RequiresGrad = true (or RequiresGrad_()) before optimising it");
            if (known.Contains(p) || !seen.Add(p))
                throw new AutoKlException(Name, $"{at} appears more than once among the optimizer's parameters");
        }
        RejectUnknownHyperParameters(group.HyperParameters, Name, $"param group {_groups.Count}");
        // The defaults fill the caller's group; a group that is refused is handed back as it came.
        var filled = _defaults.Keys.Where(k => !group.Has(k)).ToList();
        foreach (var k in filled) group.SetRaw(k, _defaults[k]);
        try
        {
            Validate(group, $"param group {_groups.Count}");
        }
        catch
        {
            foreach (var k in filled) group.RemoveRaw(k);
            throw;
        }
        _groups.Add(group);
    }

    /// <summary>
    /// Throws when <paramref name="hyperParameters"/> holds a name this optimizer does not use
    /// (<c>initial_lr</c>, which schedules record, is allowed): a misspelt or foreign setting
    /// would otherwise be ignored without a word.
    /// </summary>
    private void RejectUnknownHyperParameters(IReadOnlyDictionary<string, double> hyperParameters, string op, string where)
    {
        foreach (var k in hyperParameters.Keys)
            if (!_defaults.ContainsKey(k) && k != "initial_lr")
                throw new AutoKlException(op, $"{where} sets '{k}', which {Name} does not use (it uses: {string.Join(", ", _defaults.Keys)})");
    }

    /// <summary>Adds a group of parameters that uses the default hyper-parameters.</summary>
    public void AddParamGroup(IEnumerable<Tensor> parameters) => AddParamGroup(new ParamGroup(parameters));

    /// <summary>Clears the gradient of every parameter (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        foreach (var g in _groups)
            foreach (var p in g.Parameters) p.ZeroGrad();
    }

    /// <summary>
    /// Updates every parameter that has a gradient, in place, from its gradient and its state.
    /// Parameters without a gradient are skipped and keep their state unchanged (as in PyTorch).
    /// </summary>
    public void Step()
    {
        using var _ = Autograd.NoGrad();
        // the state made here (moments, buffers) outlives any TensorScope the step runs in
        using var kept = TensorScope.Outside();
        foreach (var group in _groups)
            foreach (var p in group.Parameters)
            {
                if (p.GradRef is not { } grad) continue;
                if (grad.DType != p.DType)
                    throw new AutoKlException(Name, $"the gradient of a {p.DType.Name()} parameter of shape {Shapes.Format(p.ShapeRef)} is {grad.DType.Name()}");
                if (!_state.TryGetValue(p, out var state)) _state[p] = state = new ParameterState();
                using (p.MutateInPlace(Name))
                    Update(group, p, grad, state);
            }
    }

    /// <summary>
    /// The update rule: changes <paramref name="parameter"/>'s values in place from
    /// <paramref name="gradient"/> and the parameter's <paramref name="state"/> (which it owns).
    /// </summary>
    protected abstract void Update(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state);

    /// <summary>Checks one group's hyper-parameters; throws <see cref="AutoKlException"/> naming the one at fault.</summary>
    /// <param name="group">The group, with every default filled in.</param>
    /// <param name="where">Where the group is, for messages ("param group 1").</param>
    protected abstract void Validate(ParamGroup group, string where);

    /// <summary>Names of the state buffers this optimizer may keep for a parameter (for checking restored states).</summary>
    protected abstract IReadOnlyCollection<string> BufferNames { get; }

    /// <summary>Throws when the hyper-parameter <paramref name="name"/> is NaN, infinite or negative.</summary>
    protected internal void RequireNonNegative(ParamGroup group, string where, string name)
    {
        double v = group[name];
        if (!(double.IsFinite(v) && v >= 0))
            throw new AutoKlException(Name, $"{where}: invalid {name} = {v}; it must be a finite number >= 0");
    }

    /// <summary>Throws unless 0 &lt;= value &lt; 1.</summary>
    protected internal void RequireInUnitInterval(ParamGroup group, string where, string name)
    {
        double v = group[name];
        if (!(v >= 0 && v < 1))
            throw new AutoKlException(Name, $"{where}: invalid {name} = {v}; it must be in [0, 1)");
    }

    /// <summary>True when <paramref name="parameter"/> has a state (it has been updated at least once).</summary>
    public bool HasState(Tensor parameter) => _state.ContainsKey(parameter);

    /// <summary>The live state of <paramref name="parameter"/> (step count and buffers); see <see cref="HasState"/>.</summary>
    public ParameterState State(Tensor parameter) => _state.TryGetValue(parameter, out var s) ? s
        : throw new AutoKlException(Name, $"the parameter of shape {Shapes.Format(parameter.ShapeRef)} has no state: it has not been updated yet, or it is not one of this optimizer's parameters");

    /// <summary>
    /// A deep copy of everything needed to continue optimising exactly: each group's
    /// hyper-parameters (including a schedule's current <c>lr</c>) and each parameter's state.
    /// Parameters are numbered in group order (<see cref="Parameters"/>). Refuses a group that was
    /// given a setting the optimizer does not use after it was added (<see cref="LoadState"/> would
    /// refuse the state).
    /// </summary>
    public OptimizerState SaveState()
    {
        using var kept = TensorScope.Outside(); // a snapshot the caller keeps, whatever scope is open
        var parameters = Parameters;
        var groups = new List<OptimizerState.Group>();
        int index = 0;
        foreach (var g in _groups)
        {
            // a setting added to the group after AddParamGroup would make the state unloadable
            RejectUnknownHyperParameters(g.HyperParameters, Name, $"param group {groups.Count}");
            groups.Add(new OptimizerState.Group(Enumerable.Range(index, g.Parameters.Count).ToArray(),
                new Dictionary<string, double>(g.HyperParameters)));
            index += g.Parameters.Count;
        }
        var states = new List<OptimizerState.Entry>();
        for (int i = 0; i < parameters.Count; i++)
            if (_state.TryGetValue(parameters[i], out var s))
                states.Add(new OptimizerState.Entry(i, s.Step, s.Buffers.ToDictionary(kv => kv.Key, kv => kv.Value.CopyValues())));
        return new OptimizerState(Name, groups, states);
    }

    /// <summary>
    /// Restores a state from <see cref="SaveState"/>. Refuses (and changes nothing) when it was
    /// saved by another kind of optimizer, for other groups or parameter shapes/dtypes, or has
    /// unknown buffers, unknown hyper-parameters (as <see cref="AddParamGroup(ParamGroup)"/> does)
    /// or invalid ones.
    /// </summary>
    public void LoadState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        CheckCompatible(state);
        Restore(state);
    }

    /// <summary>Takes the groups' hyper-parameters and the parameters' states from <paramref name="state"/>, which <see cref="CheckCompatible"/> has accepted.</summary>
    internal void Restore(OptimizerState state)
    {
        using var kept = TensorScope.Outside();
        for (int gi = 0; gi < _groups.Count; gi++)
            _groups[gi].ReplaceHyperParameters(state.Groups[gi].HyperParameters);
        var parameters = Parameters;
        _state.Clear();
        foreach (var e in state.Entries)
        {
            var s = new ParameterState { Step = e.Step };
            foreach (var (k, t) in e.Buffers) s.Set(k, t.CopyValues());
            _state[parameters[e.ParameterIndex]] = s;
        }
    }

    /// <summary>Throws unless <paramref name="state"/> can be loaded into this optimizer.</summary>
    internal void CheckCompatible(OptimizerState state, string? operation = null)
    {
        string op = operation ?? Name + ".load_state";
        if (state.OptimizerName != Name)
            throw new AutoKlException(op, $"the state was saved by {state.OptimizerName}, not {Name}");
        if (state.Groups.Count != _groups.Count)
            throw new AutoKlException(op, $"the state has {state.Groups.Count} parameter groups, this optimizer has {_groups.Count}");
        int index = 0;
        for (int gi = 0; gi < _groups.Count; gi++)
        {
            var saved = state.Groups[gi];
            int n = _groups[gi].Parameters.Count;
            if (saved.ParameterIndices.Count != n || !saved.ParameterIndices.SequenceEqual(Enumerable.Range(index, n)))
                throw new AutoKlException(op, $"param group {gi} has {n} parameters here, {saved.ParameterIndices.Count} in the state");
            index += n;
            RejectUnknownHyperParameters(saved.HyperParameters, op, $"param group {gi} of the state");
            var probe = new ParamGroup(_groups[gi].Parameters);
            probe.ReplaceHyperParameters(saved.HyperParameters);
            foreach (var k in _defaults.Keys)
                if (!probe.Has(k))
                    throw new AutoKlException(op, $"param group {gi} of the state lacks the hyper-parameter '{k}'");
            Validate(probe, $"param group {gi} of the state");
        }
        var parameters = Parameters;
        var seen = new HashSet<int>();
        foreach (var e in state.Entries)
        {
            if (e.ParameterIndex < 0 || e.ParameterIndex >= parameters.Count || !seen.Add(e.ParameterIndex))
                throw new AutoKlException(op, $"the state refers to parameter {e.ParameterIndex}, but there are {parameters.Count} (or it appears twice)");
            if (e.Step < 0)
                throw new AutoKlException(op, $"parameter {e.ParameterIndex} has a negative step count {e.Step}");
            var p = parameters[e.ParameterIndex];
            foreach (var (k, t) in e.Buffers)
            {
                if (!BufferNames.Contains(k))
                    throw new AutoKlException(op, $"parameter {e.ParameterIndex} has a buffer '{k}', which {Name} does not use");
                if (t.DType != p.DType || !Shapes.Equal(t.ShapeRef, p.ShapeRef))
                    throw new AutoKlException(op, $"buffer '{k}' of parameter {e.ParameterIndex} is {t.DType.Name()} {Shapes.Format(t.ShapeRef)}, the parameter is {p.DType.Name()} {Shapes.Format(p.ShapeRef)}");
            }
        }
    }

    /// <summary>A hyper-parameter converted to the parameter's element type (float32 rounds as PyTorch's scalars do).</summary>
    protected static T As<T>(double value) where T : IFloatingPointIeee754<T> => T.CreateChecked(value);
}

/// <summary>
/// What an optimizer keeps for one parameter: the number of updates applied and named buffers
/// shaped like the parameter (PyTorch's names: <c>momentum_buffer</c>, <c>exp_avg</c>,
/// <c>exp_avg_sq</c>, <c>max_exp_avg_sq</c>, <c>square_avg</c>, <c>grad_avg</c>, <c>sum</c>).
/// </summary>
public sealed class ParameterState
{
    private readonly Dictionary<string, Tensor> _buffers = new();

    /// <summary>Number of updates applied to the parameter.</summary>
    public long Step { get; internal set; }

    /// <summary>The buffers by name (live tensors; do not keep them across steps).</summary>
    public IReadOnlyDictionary<string, Tensor> Buffers => _buffers;

    /// <summary>True when the buffer exists.</summary>
    public bool Has(string name) => _buffers.ContainsKey(name);

    /// <summary>The buffer <paramref name="name"/>, created shaped like <paramref name="parameter"/> and filled with <paramref name="fill"/> if missing.</summary>
    internal Tensor GetOrCreate(string name, Tensor parameter, double fill = 0)
    {
        if (!_buffers.TryGetValue(name, out var t))
            using (TensorScope.Outside())
                _buffers[name] = t = Tensor.Full(parameter.ShapeRef, fill, parameter.DType);
        return t;
    }

    internal void Set(string name, Tensor value)
    {
        value.Unscope(); // state outlives every TensorScope
        _buffers[name] = value;
    }
}

/// <summary>
/// A snapshot of an optimizer (<see cref="Optimizer.SaveState"/>): each group's parameter
/// numbers and hyper-parameters, and each updated parameter's step count and buffers.
/// </summary>
public sealed class OptimizerState
{
    /// <summary>One parameter group: which parameters (numbered in group order) and its hyper-parameters.</summary>
    public sealed record Group(IReadOnlyList<int> ParameterIndices, IReadOnlyDictionary<string, double> HyperParameters);

    /// <summary>The state of parameter number <paramref name="ParameterIndex"/>.</summary>
    public sealed record Entry(int ParameterIndex, long Step, IReadOnlyDictionary<string, Tensor> Buffers);

    /// <summary>Creates a snapshot.</summary>
    public OptimizerState(string optimizerName, IReadOnlyList<Group> groups, IReadOnlyList<Entry> entries)
    {
        OptimizerName = optimizerName;
        Groups = groups;
        Entries = entries;
    }

    /// <summary>The <see cref="Optimizer.Name"/> of the optimizer that saved it.</summary>
    public string OptimizerName { get; }
    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<Group> Groups { get; }
    /// <summary>The per-parameter states (parameters never updated have none).</summary>
    public IReadOnlyList<Entry> Entries { get; }
}
