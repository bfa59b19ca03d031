using System.Numerics;

namespace AutoKl.Optim;

/// <summary>
/// Adagrad (<c>torch.optim.Adagrad</c>), per element at step t = 1, 2, ...:
/// <code>
/// g = maximize ? -grad : grad;   g += weight_decay * p
/// clr = lr / (1 + (t-1)*lr_decay)
/// sum += g*g;   p -= clr * g / (sqrt(sum) + eps)
/// </code>
/// The accumulator starts at the group's <c>initial_accumulator_value</c>. (PyTorch 1.13 uses
/// the constructor's value for every group and ignores a per-group one; here a group's own value
/// is honoured, which is the same when it is set only in the constructor.)
/// </summary>
public sealed class Adagrad : Optimizer
{
    private static readonly string[] Buffers = ["sum"];

    /// <summary>Adagrad over one group of parameters.</summary>
    /// <param name="parameters">Floating-point leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate, >= 0.</param>
    /// <param name="lrDecay">Learning-rate decay, >= 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="initialAccumulatorValue">Starting value of the squared-gradient sum, >= 0.</param>
    /// <param name="eps">Added to the denominator, >= 0.</param>
    /// <param name="maximize">Maximise the objective.</param>
    public Adagrad(IEnumerable<Tensor> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
                   double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize) { }

    /// <summary>Adagrad over several groups; each group's unset hyper-parameters default to these arguments.</summary>
    public Adagrad(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
                   double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base("Adagrad", groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["lr_decay"] = lrDecay, ["weight_decay"] = weightDecay,
            ["initial_accumulator_value"] = initialAccumulatorValue, ["eps"] = eps, ["maximize"] = maximize ? 1 : 0,
        }) { }

    /// <summary>The state buffers this optimizer keeps per parameter (see the class summary); a restored state may hold only these.</summary>
    protected override IReadOnlyCollection<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override void Validate(ParamGroup group, string where)
    {
        foreach (var name in new[] { "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps" })
            RequireNonNegative(group, where, name);
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state)
    {
        var sum = state.GetOrCreate("sum", parameter, group.InitialAccumulatorValue);
        state.Step++;
        double clr = group.Lr / (1 + (state.Step - 1) * group.LrDecay);
        DTypeDispatch.Run(parameter.DType, new StepBody(parameter, gradient, sum, clr, group));
    }

    private readonly struct StepBody(Tensor p, Tensor grad, Tensor sum, double clr, ParamGroup group) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Apply(p.Span<T>(), grad.Span<T>(), sum.Span<T>(), clr, group);
    }

    private static void Apply<T>(Span<T> p, ReadOnlySpan<T> grad, Span<T> sum, double clr, ParamGroup group)
        where T : IFloatingPointIeee754<T>
    {
        double weightDecayValue = group.WeightDecay;
        bool maximize = group.Maximize, decay = weightDecayValue != 0;
        T weightDecay = As<T>(weightDecayValue), eps = As<T>(group.Eps), negClr = As<T>(-clr);
        for (int i = 0; i < p.Length; i++)
        {
            T g = maximize ? -grad[i] : grad[i];
            if (decay) g += weightDecay * p[i];
            sum[i] += g * g;
            p[i] += negClr * g / (T.Sqrt(sum[i]) + eps);
        }
    }
}
