using System.Numerics;
using AutoKl.Kernels;

namespace AutoKl;

// Fused forms of the hot loss compositions, chosen inside the public losses (the user calls
// nothing new): kl_div to a scalar, kl_div of a log_softmax output (recognised on the tape), and
// cross_entropy (class indices, or soft targets) over contiguous rows. Each is one op on the tape
// whose value is the composed formula's, computed in one or two passes without temporaries the
// size of the batch. Its backward is a fused kernel when the backward pass records nothing;
// when it records (create_graph, for second derivatives) or the target needs a gradient, the
// backward is the composed reference's own backward, run on stand-ins of the same inputs, so
// every higher derivative is exactly the composed one's.
public static partial class Losses
{
    [ThreadStatic] private static bool _fusionOff;

    /// <summary>Whether the fused forms are used on this thread (tests compare against the composed ones).</summary>
    internal static bool FusionEnabled
    {
        get => !_fusionOff;
        set => _fusionOff = !value;
    }

    /// <summary>The divisor of a scalar reduction over <paramref name="shape"/>; null for None.</summary>
    private static double? Divisor(Reduction reduction, int[] shape, int numel) => reduction switch
    {
        Reduction.Sum => 1,
        Reduction.Mean => numel,
        Reduction.BatchMean => shape.Length == 0 ? 1 : shape[0],
        _ => null,
    };

    /// <summary>
    /// kl_div reduced to a scalar in one pass; when <paramref name="input"/> is the output of a
    /// recorded log_softmax over contiguous rows, the op is recorded on the logits directly and
    /// its backward is (softmax * sum(w) - w) * scale in one pass (w the target weights).
    /// Null when the composed form must be used.
    /// </summary>
    private static Tensor? FusedKlDiv(Tensor input, Tensor target, Reduction reduction, bool logTarget)
    {
        // forward mode takes the composition, whose every op has its forward rule
        if (_fusionOff || input.DType != target.DType || input.Numel == 0 || ForwardMode.AnyTangent(input, target)) return null;
        if (Divisor(reduction, input.ShapeRef, input.Numel) is not { } divisor) return null;
        Tensor? logits = null;
        int n = 0, axis = 0;
        LogSoftmaxSaved? saved = null;
        if (input.GradFn is { Op: "log_softmax", Info: LogSoftmaxSaved { Axes: var axes } producerSaved } producer && !input.RetainsGrad && axes.Length == 1
            && RowLayout.Of(input.ShapeRef, axes) is { Inner: 1 } rows)
        {
            saved = producerSaved;
            logits = producer.Inputs[0];
            n = rows.N;
            axis = axes[0];
        }
        // With log-probability targets and a gradient to come, exp(t) is kept for the backward pass.
        Tensor[] inputs = logits is null ? [input, target] : [logits, target];
        // Through log_softmax, the row sums of exp(t) are kept too (taken in the same pass).
        Tensor? expT = logTarget && GradMode.Enabled && inputs[0].RequiresGrad ? Tensor.Uninitialized(input.DType, input.ShapeRef).KeptBy("kl_div") : null;
        Tensor? expTRowSums = expT is not null && logits is not null && n > 0 ? Tensor.Uninitialized(input.DType, [input.Numel / n]).KeptBy("kl_div") : null;
        // A log_softmax output not written yet stays so: its rows are computed from the logits.
        var unwritten = logits is not null ? input.Deferred : null;
        var q = unwritten is null ? input : logits!;
        var value = input.DType == DType.Float32
            ? Scalar<float>(Fused.KlSum(q.Data<float>(), target.Data<float>(), logTarget, expT?.Data<float>() ?? [], n, expTRowSums?.Data<float>(), (unwritten as DeferredLogSoftmax<float>)?.Shifts) / (float)divisor)
            : Scalar<double>(Fused.KlSum(q.Data<double>(), target.Data<double>(), logTarget, expT?.Data<double>() ?? [], n, expTRowSums?.Data<double>(), (unwritten as DeferredLogSoftmax<double>)?.Shifts) / divisor);
        // A NaN sum may come from a target of 0 against log q = -inf (0 * -inf), which the composed
        // form counts as 0; checking the one sum costs nothing, so the rare case takes that path.
        if (double.IsNaN(value.ToScalar())) return null;
        // The softmax numerators log_softmax kept for its backward pass are taken here (this op
        // goes past log_softmax's): with them the backward pass needs no exp of its own.
        var kept = saved is not null && GradMode.Enabled && inputs[0].RequiresGrad ? saved.Take() : null;
        return Tensor.Record(value, "kl_div", inputs, g =>
        {
            if (GradMode.Enabled || target.RequiresGrad || ForwardMode.AnyTangent(g))
                return ReferenceBackward(p => logits is null
                    ? ComposedKlDiv(p[0], p[1], reduction, logTarget)
                    : ComposedKlDiv(Tensor.LogSoftmax(p[0], axis), p[1], reduction, logTarget), inputs, g);
            // The kept exp(t) are the target weights w; they become the gradient in place when this
            // pass frees the graph, and go back to the pool with the pass's temporaries.
            bool consume = expT is not null && Backprop.FreesGraph;
            var dx = consume ? expT! : Tensor.Uninitialized(input.DType, input.ShapeRef);
            dx.SoleGradient = true;
            double scale = g.ToScalar() / divisor;
            // w is exp(t): kept, or taken here
            var w = expT ?? target;
            bool expW = expT is null && logTarget;
            // with the kept exps, the log_softmax output is not read (the logits stand in for its length)
            var qOrLogits = kept is not null ? logits! : input;
            if (input.DType == DType.Float32)
                KlBackward(qOrLogits.Data<float>(), w.Data<float>(), expW, logits is not null, n, (float)scale, dx.Data<float>(), expTRowSums?.Data<float>(), kept?.Exps.Data<float>(), kept?.RowSums.Data<float>());
            else
                KlBackward(qOrLogits.Data<double>(), w.Data<double>(), expW, logits is not null, n, scale, dx.Data<double>(), expTRowSums?.Data<double>(), kept?.Exps.Data<double>(), kept?.RowSums.Data<double>());
            if (Backprop.FreesGraph && kept is { } taken)
            {
                taken.Exps.HandBackToPass();
                taken.RowSums.HandBackToPass();
                kept = null;
            }
            if (consume)
            {
                dx.HandBackToPass();
                expT = null;
                expTRowSums?.HandBackToPass();
                expTRowSums = null;
            }
            return [dx, null];
        });
    }

    /// <summary>dx for kl_div's input (or, through log_softmax, its logits), with target weights w = t, or exp(t) when <paramref name="expW"/>.</summary>
    private static void KlBackward<T>(T[] q, T[] t, bool expW, bool throughLogSoftmax, int n, T scale, T[] dx, T[]? rowSums, T[]? softmaxExps, T[]? softmaxSums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (throughLogSoftmax) Fused.SoftmaxMinusTarget(q, t, expW, n, scale, dx, rowSums, softmaxExps, softmaxSums);
        else Fused.KlInputGrad(t, expW, scale, dx);
    }

    /// <summary>
    /// cross_entropy from logits over contiguous rows (rank 1 or 2, no class weights, no label
    /// smoothing), reduced to a scalar; null when the composed form must be used. With class
    /// indices, 'mean' divides by the number of targets that are not ignored (NaN when none is).
    /// </summary>
    private static Tensor? FusedCrossEntropy(string op, Tensor input, Tensor target, Tensor? weight, Reduction reduction, long ignoreIndex, double labelSmoothing)
    {
        ArgumentChecks.Float(op, "input", input);
        if (_fusionOff || weight is not null || labelSmoothing != 0 || input.Rank is 0 or > 2 || input.Numel == 0 || ForwardMode.AnyTangent(input, target)) return null;
        if (reduction is not (Reduction.Sum or Reduction.Mean)) return null;
        bool indices = target.DType == DType.Int64;
        int n = input.ShapeRef[^1], rowCount = input.Numel / n;
        double divisor;
        if (indices)
        {
            if (target.Rank != input.Rank - 1 || (input.Rank == 2 && target.ShapeRef[0] != rowCount)) return null;
            var raw = target.Data<long>();
            int kept = 0;
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] == ignoreIndex) continue;
                if (raw[i] < 0 || raw[i] >= n)
                    throw new AutoKlException(op, $"target class index {raw[i]} at flat position {i} is out of range for {n} classes (valid: 0 to {n - 1}, or ignoreIndex {ignoreIndex})");
                kept++;
            }
            divisor = reduction == Reduction.Sum ? 1 : kept;
        }
        else
        {
            if (target.DType != input.DType || !Shapes.Equal(target.ShapeRef, input.ShapeRef)) return null;
            // the non-negative check runs inside the row kernel (a NaN total says to look)
            divisor = reduction == Reduction.Sum ? 1 : rowCount;
        }
        // The logsumexp of each row; and when a gradient is to come, the gradient for an output
        // gradient of 1, (softmax - target) / divisor, written while each row is in cache, so the
        // backward pass only scales it by the output gradient (or, for 1, takes it as it is).
        var lse = Tensor.Uninitialized(input.DType, [rowCount]).KeptBy(op);
        bool keep = GradMode.Enabled && input.RequiresGrad;
        Tensor? unitGrad = keep ? Tensor.Uninitialized(input.DType, input.ShapeRef).KeptBy(op) : null;
        bool checkTarget = !indices && Validation.Enabled;
        long[] rowIndex = indices ? target.Data<long>() : [];
        var value = input.DType == DType.Float32
            ? Scalar<float>(CrossEntropyTotal(input.Data<float>(), indices ? [] : target.Data<float>(), rowIndex, ignoreIndex, n, lse.Data<float>(), unitGrad?.Data<float>() ?? [], (float)(1.0 / divisor), checkTarget) / (float)divisor)
            : Scalar<double>(CrossEntropyTotal(input.Data<double>(), indices ? [] : target.Data<double>(), rowIndex, ignoreIndex, n, lse.Data<double>(), unitGrad?.Data<double>() ?? [], 1.0 / divisor, checkTarget) / divisor);
        // a row with a negative or NaN target probability made the total NaN: name the element
        if (checkTarget && double.IsNaN(value.ToScalar())) ArgumentChecks.NonNegative(op, "target", target);
        Tensor[] inputs = [input, target];
        return Tensor.Record(value, op, inputs, g =>
        {
            if (GradMode.Enabled || target.RequiresGrad || unitGrad is null || ForwardMode.AnyTangent(g))
                return ReferenceBackward(p => CrossEntropyComposed(op, p[0], p[1], null, reduction, ignoreIndex, 0.0), inputs, g);
            // The unit gradient becomes the gradient in place when this pass frees the graph (no
            // later pass can need it); it and the logsumexps then go back to the pool with the
            // pass's temporaries.
            bool consume = Backprop.FreesGraph;
            var dx = consume ? unitGrad : Tensor.Uninitialized(input.DType, input.ShapeRef);
            dx.SoleGradient = true;
            double outGrad = g.ToScalar();
            if (!consume || outGrad != 1)
            {
                if (input.DType == DType.Float32) Fused.Scale(unitGrad.Data<float>(), (float)outGrad, dx.Data<float>());
                else Fused.Scale(unitGrad.Data<double>(), outGrad, dx.Data<double>());
            }
            if (consume)
            {
                dx.HandBackToPass();
                lse.HandBackToPass();
                unitGrad = null;
            }
            return [dx, null];
        });
    }

    private static T CrossEntropyTotal<T>(T[] x, T[] t, long[] index, long ignore, int n, T[] lse, T[] unitGrad, T gradScale, bool checkTarget)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rowLoss = System.Buffers.ArrayPool<T>.Shared.Rent(lse.Length);
        try
        {
            Fused.CrossEntropyRows(x, t, index, ignore, n, lse, rowLoss, unitGrad, gradScale, checkTarget);
            T total = T.Zero;
            for (int r = 0; r < lse.Length; r++) total += rowLoss[r];
            return total;
        }
        finally { System.Buffers.ArrayPool<T>.Shared.Return(rowLoss); }
    }

    private static Tensor Scalar<T>(T value) where T : unmanaged, IFloatingPointIeee754<T>
        => value is float f ? new Tensor(new[] { f }, []) : new Tensor(new[] { double.CreateChecked(value) }, []);

    /// <summary>
    /// The gradients of a composed reference with respect to <paramref name="inputs"/>, for the
    /// output gradient <paramref name="g"/>: the reference is evaluated on stand-ins (connected to
    /// the inputs when the backward pass records, so its result can be differentiated again;
    /// fresh leaves otherwise) with fusion off, and differentiated by the tape.
    /// </summary>
    internal static Tensor?[] ReferenceBackward(Func<Tensor[], Tensor> reference, Tensor[] inputs, Tensor g)
    {
        bool record = GradMode.Enabled;
        var points = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            points[i] = !inputs[i].RequiresGrad ? inputs[i] : record ? Tensor.Identity(inputs[i]) : inputs[i].DetachKeepingTangents().RequiresGrad_();
        Tensor value;
        bool wasOff = _fusionOff;
        _fusionOff = true;
        try
        {
            using (GradMode.Set(true)) value = reference(points);
        }
        finally { _fusionOff = wasOff; }
        var result = new Tensor?[inputs.Length];
        if (!value.RequiresGrad) return result;
        var grads = Backprop.Run(value, g.DType == value.DType ? g : g.ToType(value.DType), createGraph: record, accumulate: false);
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].RequiresGrad && grads.TryGetValue(points[i], out var gi)) result[i] = gi;
        return result;
    }
}
