using System.Numerics;

namespace AutoKl.Optim;

/// <summary>
/// RMSprop (<c>torch.optim.RMSprop</c>), per element:
/// <code>
/// g = maximize ? -grad : grad;   g += weight_decay * p
/// sq = alpha*sq + (1-alpha)*g*g
/// centered: ga = alpha*ga + (1-alpha)*g;  avg = sqrt(sq - ga*ga) + eps;  otherwise avg = sqrt(sq) + eps
/// momentum > 0: buf = momentum*buf + g/avg;  p -= lr*buf;   otherwise p -= lr*g/avg
/// </code>
/// (eps is added outside the square root, as in PyTorch; TensorFlow adds it inside.)
/// </summary>
public sealed class RMSprop : Optimizer
{
    private static readonly string[] Buffers = ["square_avg", "momentum_buffer", "grad_avg"];

    /// <summary>RMSprop over one group of parameters.</summary>
    /// <param name="parameters">Floating-point leaf tensors that require gradients.</param>
    /// <param name="lr">Learning rate, >= 0.</param>
    /// <param name="alpha">Smoothing constant of the squared-gradient average, >= 0.</param>
    /// <param name="eps">Added to the denominator, >= 0.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient, >= 0.</param>
    /// <param name="momentum">Momentum factor, >= 0.</param>
    /// <param name="centered">Divide by an estimate of the gradient's standard deviation instead of its RMS.</param>
    /// <param name="maximize">Maximise the objective.</param>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
                   double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : this([new ParamGroup(parameters)], lr, alpha, eps, weightDecay, momentum, centered, maximize) { }

    /// <summary>RMSprop over several groups; each group's unset hyper-parameters default to these arguments.</summary>
    public RMSprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
                   double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : base("RMSprop", groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["alpha"] = alpha, ["eps"] = eps, ["weight_decay"] = weightDecay, ["momentum"] = momentum,
            ["centered"] = centered ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        }) { }

    /// <summary>The state buffers this optimizer keeps per parameter (see the class summary); a restored state may hold only these.</summary>
    protected override IReadOnlyCollection<string> BufferNames => Buffers;

    /// <inheritdoc/>
    protected override void Validate(ParamGroup group, string where)
    {
        foreach (var name in new[] { "lr", "alpha", "eps", "weight_decay", "momentum" })
            RequireNonNegative(group, where, name);
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor parameter, Tensor gradient, ParameterState state)
    {
        var squareAvg = state.GetOrCreate("square_avg", parameter);
        var buffer = group.Momentum > 0 ? state.GetOrCreate("momentum_buffer", parameter) : squareAvg;
        var gradAvg = group.Centered ? state.GetOrCreate("grad_avg", parameter) : squareAvg;
        state.Step++;
        DTypeDispatch.Run(parameter.DType, new StepBody(parameter, gradient, squareAvg, buffer, gradAvg, group));
    }

    private readonly struct StepBody(Tensor p, Tensor grad, Tensor sq, Tensor buf, Tensor ga, ParamGroup group) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Apply(p.Span<T>(), grad.Span<T>(), sq.Span<T>(), buf.Span<T>(), ga.Span<T>(), group);
    }

    private static void Apply<T>(Span<T> p, ReadOnlySpan<T> grad, Span<T> sq, Span<T> buf, Span<T> ga, ParamGroup group)
        where T : IFloatingPointIeee754<T>
    {
        double weightDecayValue = group.WeightDecay, momentumValue = group.Momentum;
        bool centered = group.Centered, maximize = group.Maximize, decay = weightDecayValue != 0, useMomentum = momentumValue > 0;
        T alpha = As<T>(group.Alpha), oneMinusAlpha = As<T>(1 - group.Alpha), eps = As<T>(group.Eps);
        T weightDecay = As<T>(weightDecayValue), momentum = As<T>(momentumValue), negLr = As<T>(-group.Lr);
        for (int i = 0; i < p.Length; i++)
        {
            T g = maximize ? -grad[i] : grad[i];
            if (decay) g += weightDecay * p[i];
            sq[i] = sq[i] * alpha + oneMinusAlpha * g * g;
            T avg;
            if (centered)
            {
                ga[i] = ga[i] * alpha + oneMinusAlpha * g;
                avg = T.Sqrt(sq[i] - ga[i] * ga[i]) + eps;
            }
            else avg = T.Sqrt(sq[i]) + eps;
            if (useMomentum)
            {
                buf[i] = buf[i] * momentum + g / avg;
                p[i] += negLr * buf[i];
            }
            else p[i] += negLr * g / avg;
        }
    }
}
