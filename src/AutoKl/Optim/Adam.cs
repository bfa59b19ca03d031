using System.Numerics;

namespace AutoKl.Optim;

/// <summary>Where Adam adds epsilon to the denominator.</summary>
public enum EpsilonPlacement
{
    /// <summary>
    /// PyTorch (since 1.3): after bias-correcting v,
    /// <c>p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)</c>.
    /// </summary>
    PyTorch = 0,

    /// <summary>
    /// Kingma &amp; Ba's "epsilon-hat" form (Algorithm 1's efficient version), also TensorFlow/Keras,
    /// MXNet and PyTorch before 1.3: <c>lr_t = lr*sqrt(1-b2^t)/(1-b1^t); p -= lr_t * m / (sqrt(v) + eps)</c>.
    /// Results published with older code reproduce only with this one.
    /// </summary>
    KingmaBa = 1,
}

/// <summary>
/// Adam (<c>torch.optim.Adam</c>), per element at step t = 1, 2, ...:
/// <code>
/// g = maximize ? -grad : grad;   g += weight_decay * p          (L2 added to the gradient)
/// m = b1*m + (1-b1)*g;   v = b2*v + (1-b2)*g*g;   vmax = max(vmax, v) when amsgrad
/// PyTorch:  p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
/// KingmaBa: p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
/// </code>
/// </summary>
public sealed class Adam : Optimizer
{
    private static readonly string[] Buffers = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    /// <summary>Adam over one group of parameters.</summary>
    /// <param name="parameters">Floating-point leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate, >= 0.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="eps">Added to the denominator, >= 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="amsgrad">Use the running maximum of v (AMSGrad).</param>
    /// <param name="maximize">Maximise the objective.</param>
    /// <param name="epsilonPlacement">Where eps enters (PyTorch's default or Kingma &amp; Ba's epsilon-hat).</param>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false,
                EpsilonPlacement epsilonPlacement = EpsilonPlacement.PyTorch)
        : this([new ParamGroup(parameters)], lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, epsilonPlacement) { }

    /// <summary>Adam over several groups; each group's unset hyper-parameters default to these arguments.</summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false,
                EpsilonPlacement epsilonPlacement = EpsilonPlacement.PyTorch)
        : base("Adam", groups, AdamDefaults(lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, epsilonPlacement)) { }

    internal static Dictionary<string, double> AdamDefaults(double lr, double beta1, double beta2, double eps, double weightDecay,
                                                       bool amsgrad, bool maximize, EpsilonPlacement epsilonPlacement) => new()
    {
        ["lr"] = lr, ["beta1"] = beta1, ["beta2"] = beta2, ["eps"] = eps, ["weight_decay"] = weightDecay,
        ["amsgrad"] = amsgrad ? 1 : 0, ["maximize"] = maximize ? 1 : 0, ["epsilon_placement"] = (int)epsilonPlacement,
    };

    /// <summary>The state buffers this optimizer keeps per parameter (see the class summary); a restored state may hold only these.</summary>
    protected override IReadOnlyCollection<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override void Validate(ParamGroup group, string where) => ValidateAdam(this, group, where);

    internal static void ValidateAdam(Optimizer optimizer, ParamGroup group, string where)
    {
        foreach (var name in new[] { "lr", "eps", "weight_decay" }) optimizer.RequireNonNegative(group, where, name);
        optimizer.RequireInUnitInterval(group, where, "beta1");
        optimizer.RequireInUnitInterval(group, where, "beta2");
        double placement = group["epsilon_placement"];
        if (placement != (int)EpsilonPlacement.PyTorch && placement != (int)EpsilonPlacement.KingmaBa)
            throw new AutoKlException(optimizer.Name, $"{where}: invalid epsilon_placement = {placement}");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state)
        => AdamStep(group, parameter, gradient, state, decoupledDecay: false);

    /// <summary>
    /// One Adam step. The group's weight decay is either added to the gradient as an L2 term
    /// (Adam) or, when <paramref name="decoupledDecay"/>, applied to the parameter itself,
    /// <c>p *= 1 - lr * weight_decay</c>, just before its update (AdamW).
    /// </summary>
    internal static void AdamStep(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state, bool decoupledDecay)
    {
        var m = state.GetOrCreate("exp_avg", parameter);
        var v = state.GetOrCreate("exp_avg_sq", parameter);
        var vmax = group.Amsgrad ? state.GetOrCreate("max_exp_avg_sq", parameter) : v;
        state.Step++;
        var h = new Hyper(group, state.Step, decoupledDecay);
        DTypeDispatch.Run(parameter.DType, new StepBody(parameter, gradient, m, v, vmax, h));
    }

    private readonly struct StepBody(Tensor p, Tensor grad, Tensor m, Tensor v, Tensor vmax, Hyper h) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Apply(p.Span<T>(), grad.Span<T>(), m.Span<T>(), v.Span<T>(), vmax.Span<T>(), h);
    }

    /// <summary>The step's scalars, computed in double as PyTorch does in Python.</summary>
    private readonly struct Hyper(ParamGroup group, long step, bool decoupledDecay)
    {
        public readonly double Beta1 = group.Beta1, Beta2 = group.Beta2, Eps = group.Eps;
        public readonly double L2 = decoupledDecay ? 0 : group.WeightDecay;
        public readonly double Shrink = decoupledDecay ? 1 - group.Lr * group.WeightDecay : 1;
        public readonly bool Amsgrad = group.Amsgrad, Maximize = group.Maximize;
        public readonly bool KingmaBa = group.EpsilonPlacement == EpsilonPlacement.KingmaBa;
        public readonly double BiasCorrection1 = 1 - Math.Pow(group.Beta1, step);
        public readonly double BiasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(group.Beta2, step));
        public readonly double Lr = group.Lr;
    }

    private static void Apply<T>(Span<T> p, ReadOnlySpan<T> grad, Span<T> m, Span<T> v, Span<T> vmax, in Hyper h)
        where T : IFloatingPointIeee754<T>
    {
        T b1 = As<T>(h.Beta1), oneMinusB1 = As<T>(1 - h.Beta1);
        T b2 = As<T>(h.Beta2), oneMinusB2 = As<T>(1 - h.Beta2);
        T eps = As<T>(h.Eps), l2 = As<T>(h.L2), shrink = As<T>(h.Shrink), bc2Sqrt = As<T>(h.BiasCorrection2Sqrt);
        // PyTorch: step_size = lr / bc1 and denom = sqrt(v)/sqrt(bc2) + eps;
        // Kingma & Ba: step_size = lr * sqrt(bc2) / bc1 and denom = sqrt(v) + eps.
        T negStepSize = As<T>(h.KingmaBa ? -(h.Lr * h.BiasCorrection2Sqrt / h.BiasCorrection1) : -(h.Lr / h.BiasCorrection1));
        bool amsgrad = h.Amsgrad, maximize = h.Maximize, kingmaBa = h.KingmaBa, decay = h.L2 != 0, shrinks = h.Shrink != 1;
        for (int i = 0; i < p.Length; i++)
        {
            // AdamW's decoupled decay, p.mul_(1 - lr*wd) in PyTorch: each element is shrunk just
            // before its own update, which rounds exactly as a separate pass over p would
            if (shrinks) p[i] *= shrink;
            T g = maximize ? -grad[i] : grad[i];
            if (decay) g += l2 * p[i];
            m[i] = m[i] * b1 + oneMinusB1 * g;
            v[i] = v[i] * b2 + oneMinusB2 * g * g;
            T second = v[i];
            if (amsgrad) second = vmax[i] = T.Max(vmax[i], v[i]);
            T denom = kingmaBa ? T.Sqrt(second) + eps : T.Sqrt(second) / bc2Sqrt + eps;
            p[i] += negStepSize * m[i] / denom;
        }
    }
}
