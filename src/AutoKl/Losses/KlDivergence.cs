namespace AutoKl;

/// <summary>
/// Loss functions with the conventions of PyTorch's <c>torch.nn.functional</c> (and MXNet
/// Gluon's <c>KLDivLoss</c>), built from differentiable tensor ops so every gradient comes from
/// the tape. One file per family: KL divergence here; regression, classification, likelihood and
/// similarity losses beside it. For the textbook divergences between probability vectors see
/// <see cref="Divergences"/>; for distributions see <c>AutoKl.Distributions</c>.
/// </summary>
public static partial class Losses
{
    /// <summary>
    /// PyTorch's <c>F.kl_div(input, target)</c>: <paramref name="input"/> holds log-probabilities
    /// of the prediction Q, <paramref name="target"/> the probabilities of the reference P (or
    /// their logarithms when <paramref name="logTarget"/> is true). The elementwise value is
    /// <c>target * (log target - input)</c>, computed with <see cref="Tensor.Xlogy"/> so that a
    /// target of exactly 0 contributes 0 and every gradient stays finite, the target's included
    /// (PyTorch's target gradient is NaN there). With <c>logTarget</c> it is
    /// <c>exp(target) * (target - input)</c>.
    /// <para>Reductions: <see cref="Reduction.BatchMean"/> divides the sum by
    /// <c>input.Shape[0]</c> and is the textbook KL(P||Q) per sample, averaged over the batch;
    /// <see cref="Reduction.Mean"/> (PyTorch's default, kept for parity) divides by every element,
    /// which is the textbook value divided by the number of categories;
    /// <see cref="Reduction.Sum"/> and <see cref="Reduction.None"/> as named. As in PyTorch,
    /// BatchMean of a rank-0 input is the plain sum, and of a 1-D input equals Mean.</para>
    /// <para>TorchSharp's <c>KLDivLoss</c> defaults to <c>log_target = true</c> and has no
    /// batchmean: call with <c>logTarget: true</c> and the reduction you want.</para>
    /// <para>Unnormalised non-negative targets (a density sampled on a grid) are allowed. With
    /// value checks on (<see cref="Validation"/>), a negative target probability is an error.</para>
    /// </summary>
    /// <param name="input">Log-probabilities of the prediction Q.</param>
    /// <param name="target">Probabilities of the reference P (log-probabilities with <paramref name="logTarget"/>); same shape as input.</param>
    /// <param name="reduction">See above; PyTorch's default is Mean.</param>
    /// <param name="logTarget">Target given as log-probabilities.</param>
    public static Tensor KlDiv(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        const string op = "kl_div";
        LossSupport.CheckPair(op, input, target);
        // The fused sum doubles as the value check: a negative or NaN target makes t * log t, and
        // so the sum, NaN, and a NaN sum sends the call down the checked composed path.
        if (FusedKlDiv(input, target, reduction, logTarget) is { } fused) return fused;
        if (!logTarget && Validation.Enabled) ArgumentChecks.NonNegative(op, "target", target);
        return ComposedKlDiv(input, target, reduction, logTarget);
    }

    /// <summary>kl_div as a composition of ops (the reference for the fused form, and reduction None).</summary>
    private static Tensor ComposedKlDiv(Tensor input, Tensor target, Reduction reduction, bool logTarget)
    {
        const string op = "kl_div";
        var pointwise = logTarget
            ? LogTargetTerms(input, target)
            : Tensor.Xlogy(target, target) - target * InputWhereTargetIsPositive(input, target);
        return LossSupport.Reduce(op, pointwise, reduction);
    }

    /// <summary>
    /// exp(t) * (t - input) for log-probability targets t, exactly 0 where t = -inf (a target
    /// probability of 0), even where the input is -inf too. As for the plain target, the masking
    /// ops are recorded only when such an element exists, and the masked places get safe
    /// arguments (0) so that second derivatives stay finite there too.
    /// </summary>
    private static Tensor LogTargetTerms(Tensor input, Tensor target)
    {
        bool any = DTypeDispatch.Run<HasNegativeInfinity, bool>(target.DType, new(target));
        if (!any) return Tensor.Exp(target) * (target - input);
        var zero = Tensor.Eq(target, double.NegativeInfinity);
        var t = Tensor.Where(zero, target.Const(0), target);
        var q = Tensor.Where(zero, input.Const(0), input);
        return Tensor.Where(zero, target.Const(0), Tensor.Exp(t) * (t - q));
    }

    private readonly struct HasNegativeInfinity(Tensor x) : IFloatFunc<bool>
    {
        public bool Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => Array.IndexOf(x.Data<T>(), T.NegativeInfinity) >= 0;
    }

    /// <summary>
    /// The input, with 0 where the target is 0 and the input is not finite: a target of exactly 0
    /// contributes 0 even where log q = -inf (0 * -inf would be NaN). The mask is recorded only
    /// when such an element exists, so the usual case costs one scan and no extra ops; there the
    /// target's gradient is 0 at the masked places instead of the infinite -input.
    /// </summary>
    private static Tensor InputWhereTargetIsPositive(Tensor input, Tensor target)
    {
        bool any = input.DType != target.DType || DTypeDispatch.Run<AnyZeroTargetNonFinite, bool>(input.DType, new(target, input));
        if (!any) return input;
        var mask = Tensor.Eq(target, 0.0) * (1.0 - Tensor.IsFinite(input));
        return Tensor.Where(mask, input.Const(0), input);
    }

    private readonly struct AnyZeroTargetNonFinite(Tensor target, Tensor input) : IFloatFunc<bool>
    {
        public bool Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            T[] t = target.Data<T>(), x = input.Data<T>();
            // Vectorised first: an input whose min and max are finite has no -inf, +inf or NaN.
            if (x.Length == 0) return false;
            if (T.IsFinite(System.Numerics.Tensors.TensorPrimitives.Min<T>(x)) && T.IsFinite(System.Numerics.Tensors.TensorPrimitives.Max<T>(x)))
                return false;
            for (int i = 0; i < x.Length; i++)
                if (t[i] == T.Zero && !T.IsFinite(x[i])) return true;
            return false;
        }
    }

    /// <summary>
    /// MXNet Gluon's <c>KLDivLoss</c>, one loss per sample: <c>label * (log(label + 1e-12) - pred)</c>,
    /// after <c>log_softmax(pred, axis)</c> when <paramref name="fromLogits"/> is false, times
    /// <paramref name="weight"/>, then averaged (<see cref="MXNetAveraging.Mean"/>, MXNet up to 1.8
    /// and 2.x) or summed (<see cref="MXNetAveraging.Sum"/>, MXNet 1.9) over every axis but
    /// <paramref name="batchAxis"/>. Note Gluon's <c>from_logits = true</c> means pred already
    /// holds log-probabilities. The Mean form times the number of categories is the Sum form.
    /// </summary>
    /// <param name="pred">Log-probabilities (fromLogits) or unnormalised scores.</param>
    /// <param name="label">Target probabilities, same shape as pred.</param>
    /// <param name="fromLogits">True (Gluon's default): pred is already log-probabilities; false: log_softmax is applied along axis.</param>
    /// <param name="axis">Axis of the categories for the log_softmax.</param>
    /// <param name="batchAxis">The axis kept in the result.</param>
    /// <param name="weight">Global scalar weight of the loss (Gluon's <c>weight</c>).</param>
    /// <param name="averaging">Mean (MXNet 1.x up to 1.8 and 2.x) or Sum (MXNet 1.9) over the non-batch axes.</param>
    public static Tensor GluonKlDivLoss(Tensor pred, Tensor label, bool fromLogits = true, int axis = -1, int batchAxis = 0,
                                       double weight = 1.0, MXNetAveraging averaging = MXNetAveraging.Mean)
        => GluonKl(pred, label, null, fromLogits, axis, batchAxis, weight, averaging);

    /// <summary>
    /// Gluon's <c>KLDivLoss</c> with a <paramref name="sampleWeight"/> that multiplies the
    /// elementwise loss (broadcast against it, e.g. shape [batch, 1]) before the reduction. See the
    /// overload without sample weights for the other arguments.
    /// </summary>
    /// <param name="pred">Log-probabilities (fromLogits) or unnormalised scores.</param>
    /// <param name="label">Target probabilities, same shape as pred.</param>
    /// <param name="sampleWeight">Per-sample (or per-element) weights, broadcastable to pred.</param>
    /// <param name="fromLogits">True: pred is already log-probabilities; false: log_softmax is applied along axis.</param>
    /// <param name="axis">Axis of the categories for the log_softmax.</param>
    /// <param name="batchAxis">The axis kept in the result.</param>
    /// <param name="weight">Global scalar weight of the loss.</param>
    /// <param name="averaging">Mean (MXNet 1.x up to 1.8 and 2.x) or Sum (MXNet 1.9) over the non-batch axes.</param>
    public static Tensor GluonKlDivLoss(Tensor pred, Tensor label, Tensor sampleWeight, bool fromLogits = true, int axis = -1,
                                       int batchAxis = 0, double weight = 1.0, MXNetAveraging averaging = MXNetAveraging.Mean)
        => GluonKl(pred, label, sampleWeight, fromLogits, axis, batchAxis, weight, averaging);

    private static Tensor GluonKl(Tensor pred, Tensor label, Tensor? sampleWeight, bool fromLogits, int axis, int batchAxis,
                                  double weight, MXNetAveraging averaging)
    {
        const string op = "gluon_kl_div_loss";
        ArgumentChecks.Float(op, "pred", pred);
        ArgumentChecks.Float(op, "label", label);
        ArgumentChecks.SameShape(op, "pred", pred, "label", label);
        if (pred.Rank == 0) throw new AutoKlException(op, "pred must have a batch axis; got a scalar");
        int batch = Shapes.NormalizeAxis(op, batchAxis, pred.Rank);
        if (Validation.Enabled) ArgumentChecks.NonNegative(op, "label", label);
        var logQ = fromLogits ? pred : Tensor.LogSoftmax(pred, axis);
        // MXNet adds 1e-12 inside the log rather than using xlogy; kept for parity.
        var loss = label * (Tensor.Log(label + 1e-12) - logQ);
        if (sampleWeight is not null)
        {
            ArgumentChecks.Float(op, "sampleWeight", sampleWeight);
            Shapes.Broadcast(op, loss.ShapeRef, sampleWeight.ShapeRef);
            loss = loss * sampleWeight;
            if (!Shapes.Equal(loss.ShapeRef, pred.ShapeRef))
                throw new AutoKlException(op, $"sampleWeight shape {Shapes.Format(sampleWeight.ShapeRef)} must broadcast to pred shape {Shapes.Format(pred.ShapeRef)}");
        }
        if (weight != 1.0) loss = loss * weight;
        var others = Enumerable.Range(0, pred.Rank).Where(d => d != batch).ToArray();
        if (others.Length == 0) return loss;
        return averaging == MXNetAveraging.Mean ? Tensor.Mean(loss, others) : Tensor.Sum(loss, others);
    }
}
