namespace AutoKl;

// Classification losses: cross-entropy from logits (class indices or soft targets), NLL from
// log-probabilities, binary cross-entropy from probabilities and from logits. PyTorch's
// conventions: the class axis is 1 (0 for a single unbatched sample), 'mean' over class-index
// targets divides by the total weight of the non-ignored targets.
public static partial class Losses
{
    /// <summary>
    /// Cross-entropy from unnormalised scores (PyTorch's <c>F.cross_entropy</c>). Two target kinds:
    /// <list type="bullet">
    /// <item>class indices: an int64 tensor shaped like input without its class axis
    /// (input [N, C] with target [N], input [N, C, d...] with target [N, d...], input [C] with a
    /// rank-0 target); targets equal to <paramref name="ignoreIndex"/> contribute nothing;</item>
    /// <item>soft targets: a floating tensor shaped like input holding class probabilities along
    /// the class axis; 'mean' then divides by the number of samples.</item>
    /// </list>
    /// <paramref name="labelSmoothing"/> mixes the target with the uniform distribution over the C
    /// classes (weight ls), as PyTorch 1.13 does.
    /// </summary>
    /// <param name="input">Scores (logits), class axis 1 (or 0 for rank 1).</param>
    /// <param name="target">Class indices (int64) or class probabilities (floating, input's shape).</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    /// <param name="ignoreIndex">Class-index target value that is skipped (default -100).</param>
    /// <param name="labelSmoothing">In [0, 1].</param>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, long ignoreIndex = -100, double labelSmoothing = 0.0)
        => CrossEntropyCore("cross_entropy", input, target, null, reduction, ignoreIndex, labelSmoothing);

    /// <summary>Cross-entropy with a rescaling <paramref name="weight"/> per class (shape [C]); see the overload without weights.</summary>
    /// <param name="input">Scores (logits), class axis 1 (or 0 for rank 1).</param>
    /// <param name="target">Class indices (int64) or class probabilities (floating, input's shape).</param>
    /// <param name="weight">Weight of each class, shape [C].</param>
    /// <param name="reduction">None, Sum or Mean (default; with class indices it divides by the summed weights of the targets).</param>
    /// <param name="ignoreIndex">Class-index target value that is skipped (default -100).</param>
    /// <param name="labelSmoothing">In [0, 1].</param>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor weight, Reduction reduction = Reduction.Mean, long ignoreIndex = -100, double labelSmoothing = 0.0)
        => CrossEntropyCore("cross_entropy", input, target, weight, reduction, ignoreIndex, labelSmoothing);

    /// <summary>
    /// Negative log-likelihood of class indices (PyTorch's <c>F.nll_loss</c>): <paramref name="input"/>
    /// holds log-probabilities (class axis 1, or 0 for rank 1), <paramref name="target"/> int64 class indices.
    /// </summary>
    /// <param name="input">Log-probabilities.</param>
    /// <param name="target">Class indices (int64), input's shape without the class axis.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    /// <param name="ignoreIndex">Target value that is skipped (default -100).</param>
    public static Tensor NllLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, long ignoreIndex = -100)
        => ClassIndexLoss("nll_loss", input, target, null, reduction, ignoreIndex, 0.0, fromLogits: false);

    /// <summary>NLL with a weight per class (shape [C]); 'mean' divides by the summed weights of the non-ignored targets.</summary>
    /// <param name="input">Log-probabilities.</param>
    /// <param name="target">Class indices (int64), input's shape without the class axis.</param>
    /// <param name="weight">Weight of each class, shape [C].</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    /// <param name="ignoreIndex">Target value that is skipped (default -100).</param>
    public static Tensor NllLoss(Tensor input, Tensor target, Tensor weight, Reduction reduction = Reduction.Mean, long ignoreIndex = -100)
        => ClassIndexLoss("nll_loss", input, target, weight, reduction, ignoreIndex, 0.0, fromLogits: false);

    private static Tensor CrossEntropyCore(string op, Tensor input, Tensor target, Tensor? weight, Reduction reduction, long ignoreIndex, double labelSmoothing)
    {
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new AutoKlException(op, $"labelSmoothing must be in [0, 1], got {labelSmoothing}");
        return FusedCrossEntropy(op, input, target, weight, reduction, ignoreIndex, labelSmoothing)
            ?? CrossEntropyComposed(op, input, target, weight, reduction, ignoreIndex, labelSmoothing);
    }

    /// <summary>cross_entropy as a composition of ops (the reference for the fused form, and the general case).</summary>
    private static Tensor CrossEntropyComposed(string op, Tensor input, Tensor target, Tensor? weight, Reduction reduction, long ignoreIndex, double labelSmoothing)
    {
        return target.DType == DType.Int64
            ? ClassIndexLoss(op, input, target, weight, reduction, ignoreIndex, labelSmoothing, fromLogits: true)
            : SoftTargetLoss(op, input, target, weight, reduction, labelSmoothing);
    }

    private static int ClassAxis(string op, Tensor input)
    {
        ArgumentChecks.Float(op, "input", input);
        if (input.Rank == 0) throw new AutoKlException(op, "input must have a class axis; got a scalar");
        return input.Rank == 1 ? 0 : 1;
    }

    private static void CheckWeight(string op, Tensor weight, int classes)
    {
        ArgumentChecks.Float(op, "weight", weight);
        if (weight.Rank != 1 || weight.ShapeRef[0] != classes)
            throw new AutoKlException(op, $"weight must have shape [{classes}] (one per class), got {Shapes.Format(weight.ShapeRef)}");
    }

    /// <summary>The input with its class axis moved last (a view for rank &lt;= 2).</summary>
    /// <summary>Per-class weights [C] shaped [1, C, 1, ...] to broadcast along the class axis of a rank-<paramref name="rank"/> tensor.</summary>
    private static Tensor ClassView(Tensor weight, int rank, int classAxis)
    {
        var shape = Enumerable.Repeat(1, rank).ToArray();
        shape[classAxis] = weight.ShapeRef[0];
        return weight.Reshape(shape);
    }

    private static Tensor ClassIndexLoss(string op, Tensor input, Tensor target, Tensor? weight, Reduction reduction, long ignoreIndex, double labelSmoothing, bool fromLogits)
    {
        int classAxis = ClassAxis(op, input);
        int classes = input.ShapeRef[classAxis];
        if (target.DType != DType.Int64)
            throw new AutoKlException(op, $"target must hold int64 class indices, got {target.DType.Name()} of shape {Shapes.Format(target.ShapeRef)}");
        var expected = input.ShapeRef.Where((_, d) => d != classAxis).ToArray();
        if (!Shapes.Equal(target.ShapeRef, expected))
            throw new AutoKlException(op, $"target shape {Shapes.Format(target.ShapeRef)} does not match input shape {Shapes.Format(input.ShapeRef)} without its class axis {classAxis} ({Shapes.Format(expected)})");
        if (weight is not null) CheckWeight(op, weight, classes);
        if (reduction == Reduction.BatchMean)
            throw new AutoKlException(op, "reduction BatchMean is only defined for kl_div; use Mean, Sum or None");

        // Indices with ignored entries replaced by class 0 (masked out below), and the mask.
        var raw = target.Data<long>();
        var safe = new long[raw.Length];
        var keep = new double[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == ignoreIndex) continue;
            if (raw[i] < 0 || raw[i] >= classes)
                throw new AutoKlException(op, $"target class index {raw[i]} at flat position {i} is out of range for {classes} classes (valid: 0 to {classes - 1}, or ignoreIndex {ignoreIndex})");
            safe[i] = raw[i];
            keep[i] = 1;
        }
        var logp = fromLogits ? Tensor.LogSoftmax(input, classAxis) : input;
        // The index has the input's shape with the class axis of size 1, in the target's element order.
        var indexShape = input.Shape;
        indexShape[classAxis] = 1;
        var picked = Tensor.Gather(logp, classAxis, Tensor.FromArray(safe, indexShape)).Reshape(expected);
        var mask = Tensor.FromArray(keep, [keep.Length], logp.DType).Reshape(expected);
        var classWeight = weight?.ToType(logp.DType);
        var targetWeight = classWeight is null ? mask : Tensor.Gather(classWeight, 0, Tensor.FromArray(safe)).Reshape(expected) * mask;
        var nll = -picked * targetWeight;
        var loss = ReduceWeighted(nll, targetWeight, reduction);
        if (labelSmoothing == 0) return loss;
        // Label smoothing adds the cross-entropy with the uniform target, weighted by class weights.
        var perClass = classWeight is null ? logp : logp * ClassView(classWeight, input.Rank, classAxis);
        var smooth = -Tensor.Sum(perClass, classAxis) * mask;
        return loss * (1 - labelSmoothing) + ReduceWeighted(smooth, targetWeight, reduction) * (labelSmoothing / classes);
    }

    private static Tensor ReduceWeighted(Tensor pointwise, Tensor weights, Reduction reduction) => reduction switch
    {
        Reduction.None => pointwise,
        Reduction.Sum => Tensor.Sum(pointwise),
        _ => Tensor.Sum(pointwise) / Tensor.Sum(weights),
    };

    private static Tensor SoftTargetLoss(string op, Tensor input, Tensor target, Tensor? weight, Reduction reduction, double labelSmoothing)
    {
        int classAxis = ClassAxis(op, input);
        int classes = input.ShapeRef[classAxis];
        ArgumentChecks.Float(op, "target", target);
        if (!Shapes.Equal(target.ShapeRef, input.ShapeRef))
            throw new AutoKlException(op, $"soft (probability) target shape {Shapes.Format(target.ShapeRef)} does not match input shape {Shapes.Format(input.ShapeRef)}; class-index targets must be int64");
        if (weight is not null) CheckWeight(op, weight, classes);
        if (Validation.Enabled) ArgumentChecks.NonNegative(op, "target", target);
        if (labelSmoothing > 0) target = target * (1 - labelSmoothing) + labelSmoothing / classes;
        var terms = Tensor.LogSoftmax(input, classAxis) * target;
        if (weight is not null) terms = terms * ClassView(weight, input.Rank, classAxis);
        return reduction switch
        {
            Reduction.None => -Tensor.Sum(terms, classAxis),
            Reduction.Sum => -Tensor.Sum(terms),
            Reduction.Mean => -Tensor.Sum(terms) / (double)(input.Numel / classes),
            _ => throw new AutoKlException(op, "reduction BatchMean is only defined for kl_div; use Mean, Sum or None"),
        };
    }

    /// <summary>
    /// Binary cross-entropy of probabilities (PyTorch's <c>F.binary_cross_entropy</c>):
    /// -(t log x + (1 - t) log(1 - x)), each log clamped at -100 as PyTorch does. Prefer
    /// <see cref="BinaryCrossEntropyWithLogits(Tensor, Tensor, Reduction)"/> for scores.
    /// </summary>
    /// <param name="input">Probabilities in [0, 1].</param>
    /// <param name="target">Targets in [0, 1], same shape.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
        => LossSupport.ReduceNoBatchMean("binary_cross_entropy", BcePointwise(input, target), reduction);

    /// <summary>Binary cross-entropy with an elementwise <paramref name="weight"/> (broadcast to input's shape).</summary>
    /// <param name="input">Probabilities in [0, 1].</param>
    /// <param name="target">Targets in [0, 1], same shape.</param>
    /// <param name="weight">Rescaling weight, broadcastable to input.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Tensor weight, Reduction reduction = Reduction.Mean)
        => LossSupport.ReduceNoBatchMean("binary_cross_entropy", Weighted("binary_cross_entropy", BcePointwise(input, target), weight), reduction);

    private static Tensor BcePointwise(Tensor input, Tensor target)
    {
        const string op = "binary_cross_entropy";
        LossSupport.CheckPair(op, input, target);
        if (Validation.Enabled) ArgumentChecks.InUnitInterval(op, "input", input);
        // PyTorch clamps each log at -100. At input exactly 0 (or 1) the log is fed a harmless 0.5
        // and replaced by -100, so the gradient there is 0 (PyTorch's (x - t) / max(x(1 - x), 1e-12)
        // is finite too) instead of 0 / 0.
        var half = input.Const(0.5);
        var floor = input.Const(-100);
        var atZero = Tensor.Le(input, 0.0);
        var atOne = Tensor.Ge(input, 1.0);
        var logX = Tensor.Where(atZero, floor, Tensor.Clamp(Tensor.Log(Tensor.Where(atZero, half, input)), min: -100));
        var log1mX = Tensor.Where(atOne, floor, Tensor.Clamp(Tensor.Log1p(-Tensor.Where(atOne, half, input)), min: -100));
        return -(target * logX + (1.0 - target) * log1mX);
    }

    private static Tensor Weighted(string op, Tensor pointwise, Tensor weight)
    {
        ArgumentChecks.Float(op, "weight", weight);
        var weighted = pointwise * weight;
        if (!Shapes.Equal(weighted.ShapeRef, pointwise.ShapeRef))
            throw new AutoKlException(op, $"weight shape {Shapes.Format(weight.ShapeRef)} must broadcast to input shape {Shapes.Format(pointwise.ShapeRef)}");
        return weighted;
    }

    /// <summary>
    /// Binary cross-entropy from logits (PyTorch's <c>F.binary_cross_entropy_with_logits</c>):
    /// (1 - t) x + log(1 + e^-x), with log(1 + e^-x) computed without overflow, so logits of
    /// magnitude 100 and more give exact values and gradients.
    /// </summary>
    /// <param name="input">Logits.</param>
    /// <param name="target">Targets in [0, 1], same shape.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
        => LossSupport.ReduceNoBatchMean("binary_cross_entropy_with_logits", BceLogitsPointwise(input, target, null), reduction);

    /// <summary>BCE from logits with an elementwise <paramref name="weight"/> (broadcast to input's shape).</summary>
    /// <param name="input">Logits.</param>
    /// <param name="target">Targets in [0, 1], same shape.</param>
    /// <param name="weight">Rescaling weight, broadcastable to input.</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Reduction reduction = Reduction.Mean)
        => LossSupport.ReduceNoBatchMean("binary_cross_entropy_with_logits",
            Weighted("binary_cross_entropy_with_logits", BceLogitsPointwise(input, target, null), weight), reduction);

    /// <summary>
    /// BCE from logits with a <paramref name="weight"/> and a <paramref name="posWeight"/> that
    /// multiplies the positive term: (1 - t) x + (1 + (posWeight - 1) t) log(1 + e^-x). For
    /// posWeight alone pass <c>Tensor.Scalar(1.0)</c> as weight.
    /// </summary>
    /// <param name="input">Logits.</param>
    /// <param name="target">Targets in [0, 1], same shape.</param>
    /// <param name="weight">Rescaling weight, broadcastable to input.</param>
    /// <param name="posWeight">Weight of positive examples, broadcastable to input (typically one per class, shape [C]).</param>
    /// <param name="reduction">None, Sum or Mean (default).</param>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Reduction reduction = Reduction.Mean)
        => LossSupport.ReduceNoBatchMean("binary_cross_entropy_with_logits",
            Weighted("binary_cross_entropy_with_logits", BceLogitsPointwise(input, target, posWeight), weight), reduction);

    private static Tensor BceLogitsPointwise(Tensor input, Tensor target, Tensor? posWeight)
    {
        const string op = "binary_cross_entropy_with_logits";
        LossSupport.CheckPair(op, input, target);
        var softplusNeg = Tensor.Softplus(-input, threshold: double.PositiveInfinity);
        if (posWeight is null) return (1.0 - target) * input + softplusNeg;
        ArgumentChecks.Float(op, "posWeight", posWeight);
        var logWeight = (posWeight - 1.0) * target + 1.0;
        var pointwise = (1.0 - target) * input + logWeight * softplusNeg;
        if (!Shapes.Equal(pointwise.ShapeRef, input.ShapeRef))
            throw new AutoKlException(op, $"posWeight shape {Shapes.Format(posWeight.ShapeRef)} must broadcast to input shape {Shapes.Format(input.ShapeRef)}");
        return pointwise;
    }
}
