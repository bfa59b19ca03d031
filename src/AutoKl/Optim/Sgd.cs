using System.Numerics;

namespace AutoKl.Optim;

/// <summary>
/// Stochastic gradient descent with PyTorch's rules (<c>torch.optim.SGD</c>), per element:
/// <code>
/// d = maximize ? -g : g;   d += weight_decay * p
/// buf = (first step) ? d : momentum * buf + (1 - dampening) * d      (when momentum != 0)
/// d = nesterov ? d + momentum * buf : buf
/// p -= lr * d
/// </code>
/// The first momentum buffer is the gradient itself (no dampening), and lr stays outside the
/// buffer, so changing lr mid-run takes effect at once. (DiffSharp's SGD differs: do not expect
/// its trajectories.)
/// </summary>
public sealed class SGD : Optimizer
{
    private static readonly string[] Buffers = ["momentum_buffer"];

    /// <summary>SGD over one group of parameters.</summary>
    /// <param name="parameters">Floating-point leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate, >= 0.</param>
    /// <param name="momentum">Momentum factor, >= 0 (0 = plain gradient descent).</param>
    /// <param name="dampening">Dampening of the momentum, >= 0.</param>
    /// <param name="nesterov">Nesterov momentum; needs momentum > 0 and dampening 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="maximize">Maximise the objective.</param>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
               bool nesterov = false, double weightDecay = 0, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, nesterov, weightDecay, maximize) { }

    /// <summary>SGD over several groups; each group's unset hyper-parameters default to these arguments.</summary>
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
               bool nesterov = false, double weightDecay = 0, bool maximize = false)
        : base("SGD", groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening, ["nesterov"] = nesterov ? 1 : 0,
            ["weight_decay"] = weightDecay, ["maximize"] = maximize ? 1 : 0,
        }) { }

    /// <summary>The state buffers this optimizer keeps per parameter (see the class summary); a restored state may hold only these.</summary>
    protected override IReadOnlyCollection<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override void Validate(ParamGroup group, string where)
    {
        RequireNonNegative(group, where, "lr");
        RequireNonNegative(group, where, "momentum");
        RequireNonNegative(group, where, "dampening");
        RequireNonNegative(group, where, "weight_decay");
        if (group.Nesterov && (group.Momentum <= 0 || group.Dampening != 0))
            throw new AutoKlException(Name, $"{where}: nesterov momentum requires momentum > 0 and dampening = 0 (got momentum = {group.Momentum}, dampening = {group.Dampening})");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state)
    {
        double momentum = group.Momentum;
        bool firstStep = momentum != 0 && !state.Has("momentum_buffer");
        var buffer = momentum != 0 ? state.GetOrCreate("momentum_buffer", parameter) : parameter; // unused when momentum == 0
        state.Step++;
        DTypeDispatch.Run(parameter.DType, new StepBody(parameter, gradient, buffer, firstStep, group));
    }

    private readonly struct StepBody(Tensor p, Tensor grad, Tensor buf, bool firstStep, ParamGroup group) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Apply(p.Span<T>(), grad.Span<T>(), buf.Span<T>(), firstStep, group);
    }

    private static void Apply<T>(Span<T> p, ReadOnlySpan<T> grad, Span<T> buf, bool firstStep, ParamGroup group)
        where T : IFloatingPointIeee754<T>
    {
        double momentumValue = group.Momentum, weightDecayValue = group.WeightDecay;
        bool nesterov = group.Nesterov, maximize = group.Maximize;
        T momentum = As<T>(momentumValue), keep = As<T>(1 - group.Dampening);
        T weightDecay = As<T>(weightDecayValue), negLr = As<T>(-group.Lr);
        for (int i = 0; i < p.Length; i++)
        {
            T d = maximize ? -grad[i] : grad[i];
            if (weightDecayValue != 0) d += weightDecay * p[i];
            if (momentumValue != 0)
            {
                buf[i] = firstStep ? d : buf[i] * momentum + keep * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            p[i] += negLr * d;
        }
    }
}
