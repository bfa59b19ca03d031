namespace AutoKl.Optim;

/// <summary>
/// A set of parameters optimised with the same hyper-parameters (PyTorch's <c>param_group</c>).
/// Set only the hyper-parameters that should differ from the optimizer's defaults; the
/// optimizer fills in the rest when the group is added (C#:
/// <c>new ParamGroup(w1) { Lr = 0.1, Momentum = 0.9 }</c>; F#: <c>ParamGroup([w1], Lr = 0.1)</c>).
/// Hyper-parameters are stored under PyTorch's names (<c>lr</c>, <c>momentum</c>,
/// <c>weight_decay</c>, <c>beta1</c>, <c>beta2</c>, ...); flags are stored as 0 or 1.
/// </summary>
public sealed class ParamGroup
{
    private readonly Dictionary<string, double> _hyperParameters = new();

    /// <summary>A group holding <paramref name="parameters"/>, with no hyper-parameters set yet.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
    }

    /// <summary>A group holding the given parameters, with no hyper-parameters set yet.</summary>
    public ParamGroup(params Tensor[] parameters) : this((IEnumerable<Tensor>)parameters) { }

    /// <summary>The tensors this group updates, in order.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Every hyper-parameter set on this group, by PyTorch name (flags as 0/1).</summary>
    public IReadOnlyDictionary<string, double> HyperParameters => _hyperParameters;

    /// <summary>True when the hyper-parameter <paramref name="name"/> is set on this group.</summary>
    public bool Has(string name) => _hyperParameters.ContainsKey(name);

    /// <summary>
    /// A hyper-parameter by its PyTorch name (e.g. <c>"lr"</c>, <c>"initial_lr"</c>). Reading
    /// one that is not set is an error; every value must be a finite, non-negative number.
    /// </summary>
    public double this[string name]
    {
        get => _hyperParameters.TryGetValue(name, out var v) ? v
            : throw new AutoKlException("param_group",
                $"this parameter group has no hyper-parameter '{name}' (set: {string.Join(", ", _hyperParameters.Keys)}); " +
                "either its optimizer does not use it or the group has not been added to an optimizer yet");
        set
        {
            if (!double.IsFinite(value) || value < 0)
                throw new AutoKlException("param_group", $"hyper-parameter '{name}' must be a finite non-negative number, got {value}");
            _hyperParameters[name] = value;
        }
    }

    /// <summary>Learning rate (<c>lr</c>).</summary>
    public double Lr { get => this["lr"]; set => this["lr"] = value; }
    /// <summary>Momentum factor (SGD, RMSprop).</summary>
    public double Momentum { get => this["momentum"]; set => this["momentum"] = value; }
    /// <summary>Dampening of the momentum (SGD).</summary>
    public double Dampening { get => this["dampening"]; set => this["dampening"] = value; }
    /// <summary>Nesterov momentum (SGD).</summary>
    public bool Nesterov { get => Flag("nesterov"); set => SetFlag("nesterov", value); }
    /// <summary>Weight decay: L2 penalty added to the gradient (AdamW: decoupled decay).</summary>
    public double WeightDecay { get => this["weight_decay"]; set => this["weight_decay"] = value; }
    /// <summary>Maximise the objective instead of minimising it.</summary>
    public bool Maximize { get => Flag("maximize"); set => SetFlag("maximize", value); }
    /// <summary>Decay rate of the first moment (Adam, AdamW).</summary>
    public double Beta1 { get => this["beta1"]; set => this["beta1"] = value; }
    /// <summary>Decay rate of the second moment (Adam, AdamW).</summary>
    public double Beta2 { get => this["beta2"]; set => this["beta2"] = value; }
    /// <summary>Term added to the denominator for numerical stability.</summary>
    public double Eps { get => this["eps"]; set => this["eps"] = value; }
    /// <summary>Use the running maximum of the second moment (Adam, AdamW).</summary>
    public bool Amsgrad { get => Flag("amsgrad"); set => SetFlag("amsgrad", value); }
    /// <summary>Where Adam adds epsilon (Adam, AdamW).</summary>
    public EpsilonPlacement EpsilonPlacement
    {
        get => (EpsilonPlacement)(int)this["epsilon_placement"];
        set => this["epsilon_placement"] = (int)value;
    }
    /// <summary>Smoothing constant of the squared-gradient average (RMSprop).</summary>
    public double Alpha { get => this["alpha"]; set => this["alpha"] = value; }
    /// <summary>Normalise by an estimate of the gradient's variance (RMSprop).</summary>
    public bool Centered { get => Flag("centered"); set => SetFlag("centered", value); }
    /// <summary>Learning-rate decay (Adagrad).</summary>
    public double LrDecay { get => this["lr_decay"]; set => this["lr_decay"] = value; }
    /// <summary>Starting value of the squared-gradient accumulator (Adagrad).</summary>
    public double InitialAccumulatorValue { get => this["initial_accumulator_value"]; set => this["initial_accumulator_value"] = value; }

    private bool Flag(string name) => this[name] != 0;
    private void SetFlag(string name, bool value) => _hyperParameters[name] = value ? 1 : 0;

    /// <summary>Sets a hyper-parameter without the non-negativity check (for values restored from a state).</summary>
    internal void SetRaw(string name, double value) => _hyperParameters[name] = value;

    /// <summary>Forgets a hyper-parameter, so that the optimizer's default applies again.</summary>
    internal void RemoveRaw(string name) => _hyperParameters.Remove(name);

    internal void ReplaceHyperParameters(IReadOnlyDictionary<string, double> values)
    {
        _hyperParameters.Clear();
        foreach (var (k, v) in values) _hyperParameters[k] = v;
    }
}
