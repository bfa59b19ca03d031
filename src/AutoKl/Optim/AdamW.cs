namespace AutoKl.Optim;

/// <summary>
/// AdamW (<c>torch.optim.AdamW</c>): Adam with decoupled weight decay. Each step first shrinks
/// the parameter, <c>p *= 1 - lr * weight_decay</c>, then applies Adam's update to the raw
/// gradient (no L2 term in it). See <see cref="Adam"/> for the moment update and the epsilon placements.
/// </summary>
public sealed class AdamW : Optimizer
{
    private static readonly string[] Buffers = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <summary>AdamW over one group of parameters.</summary>
    /// <param name="parameters">Floating-point leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate, >= 0.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="eps">Added to the denominator, >= 0.</param>
    /// <param name="weightDecay">Decoupled decay rate, >= 0 (PyTorch's default 0.01).</param>
    /// <param name="amsgrad">Use the running maximum of v (AMSGrad).</param>
    /// <param name="maximize">Maximise the objective.</param>
    /// <param name="epsilonPlacement">Where eps enters (PyTorch's default or Kingma &amp; Ba's epsilon-hat).</param>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                 double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false,
                 EpsilonPlacement epsilonPlacement = EpsilonPlacement.PyTorch)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, epsilonPlacement) { }

    /// <summary>AdamW over several groups; each group's unset hyper-parameters default to these arguments.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                 double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false,
                 EpsilonPlacement epsilonPlacement = EpsilonPlacement.PyTorch)
        : base("AdamW", groups, Adam.AdamDefaults(lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, epsilonPlacement)) { }

    /// <summary>The state buffers this optimizer keeps per parameter (see the class summary); a restored state may hold only these.</summary>
    protected override IReadOnlyCollection<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override void Validate(ParamGroup group, string where) => Adam.ValidateAdam(this, group, where);

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state)
        => Adam.AdamStep(group, parameter, gradient, state, decoupledDecay: true);
}
