using System.Numerics;
using AutoKl.Kernels;

namespace AutoKl;

// Fused forms of the hot loss compositions, chosen inside the public losses (the user calls
// nothing new): kl_div to a scalar, the pair log_softmax then kl_div, and cross_entropy (class
// indices, or soft targets) over contiguous rows. Each is one op on the tape whose value is the
// composed formula's, computed in one or two passes without temporaries the size of the batch,
// and declared through FusedOps (Autograd/FusedOps.cs): its reference composition (the backward of
// createGraph, forward mode and the tests), its residuals (owned by its node) and its kernels.
public static partial class Losses
{
    /// <summary>The divisor of a scalar reduction over <paramref name="shape"/>; null for None.</summary>
    private static double? Divisor(Reduction reduction, int[] shape, int numel) => reduction switch
    {
        Reduction.Sum => 1,
        Reduction.Mean => numel,
        Reduction.BatchMean => shape.Length == 0 ? 1 : shape[0],
        _ => null,
    };

    /// <summary>
    /// kl_div reduced to a scalar in one pass, recorded on its input and target. When the input is
    /// a log_softmax output unchanged since (the fused pair log_softmax then kl_div), the value is
    /// computed from the logits (the output need not be written), and the node carries the pair's
    /// backward, (softmax * sum(w) - w) * scale in one pass with w the target weights, which the
    /// tape runs in place of both rules when the log_softmax output's own gradient is not needed.
    /// Null when the composed form must be used.
    /// </summary>
    private static Tensor? FusedKlDiv(Tensor input, Tensor target, Reduction reduction, bool logTarget)
    {
        // kl_div is linear in its input: with no tangent on the target, its forward rule is one sum
        if (!FusedOps.Enabled || ForwardMode.AnyTangent(target) || input.DType != target.DType || input.Numel == 0) return null;
        if (Divisor(reduction, input.ShapeRef, input.Numel) is not { } divisor) return null;
        Node? producer = null;
        LogSoftmaxSaved? producerSaved = null;
        int n = 0;
        if (FusedOps.ProducedBy(input, Primitive.LogSoftmax) is { Residuals: LogSoftmaxSaved { Axes.Length: 1 } saved } node
            && RowLayout.Of(input.ShapeRef, saved.Axes) is { Inner: 1 } rows)
        {
            producer = node;
            producerSaved = saved;
            n = rows.N;
        }
        var logits = producer?.Inputs[0];
        // With log-probability targets and a gradient to come, exp(t) is kept for the backward pass,
        // and through log_softmax its row sums too (taken in the same pass).
        bool gradToCome = GradMode.Enabled && input.RequiresGrad;
        Tensor? expT = logTarget && gradToCome ? Tensor.Uninitialized(input.DType, input.ShapeRef).KeptBy("kl_div") : null;
        Tensor? expTRowSums = expT is not null && logits is not null && n > 0 ? Tensor.Uninitialized(input.DType, [input.Numel / n]).KeptBy("kl_div") : null;
        // A log_softmax output not written yet stays so: its rows are computed from the logits.
        var unwritten = logits is not null ? input.Deferred : null;
        var q = unwritten is null ? input : logits!;
        var value = DTypeDispatch.Run<KlSum, Tensor>(input.DType, new(q, target, logTarget, expT, n, expTRowSums, unwritten, divisor));
        // A NaN sum may come from a target of 0 against log q = -inf (0 * -inf), which the composed
        // form counts as 0; checking the one sum costs nothing, so the rare case takes that path.
        if (double.IsNaN(value.ToScalar())) return null;
        var op = new KlDivOp(input, target, reduction, logTarget, divisor, expT, expTRowSums, logits, n, producerSaved);
        var result = FusedOps.Record(value, "kl_div", [input, target], op, jvp: ForwardMode.Active ? op.Jvp : null);
        if (producer is not null && result.GradFn is { } consumer)
            consumer.Shortcut = new PairShortcut(producer, input, [logits!, target], op);
        return result;
    }

    /// <summary>
    /// kl_div's value, the sum over <paramref name="q"/> (log q, or with <paramref name="n"/> &gt; 0 the
    /// logits of log_softmax over rows of n, <paramref name="unwritten"/> its output when not written)
    /// divided by <paramref name="divisor"/>; exp(t) and its row sums written into
    /// <paramref name="expT"/> and <paramref name="expTRowSums"/> when given.
    /// </summary>
    private readonly struct KlSum(Tensor q, Tensor target, bool logTarget, Tensor? expT, int n, Tensor? expTRowSums, DeferredValues? unwritten, double divisor) : IFloatFunc<Tensor>
    {
        public Tensor Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            => Scalar(Fused.KlSum(q.Data<T>(), target.Data<T>(), logTarget, expT?.Data<T>() ?? [], n, expTRowSums?.Data<T>(), (unwritten as DeferredLogSoftmax<T>)?.Shifts) / T.CreateChecked(divisor));
    }

    /// <summary>
    /// kl_div's declaration: its composition, its kernels (the gradient of its input, -w * scale, and
    /// through log_softmax the pair's gradient of the logits, (softmax * sum(w) - w) * scale, softmax
    /// read from the exps log_softmax kept when it kept them), its forward rule, and its residuals:
    /// exp(t) for log-probability targets (the weights w) and, through log_softmax, their row sums.
    /// </summary>
    private sealed class KlDivOp(Tensor input, Tensor target, Reduction reduction, bool logTarget, double divisor,
                                 Tensor? expT, Tensor? expTRowSums, Tensor? logits, int n, LogSoftmaxSaved? producerSaved) : FusedOp, IFusedPair
    {
        private Tensor? _expT = expT, _rowSums = expTRowSums;

        public override Tensor Reference(Tensor[] p) => ComposedKlDiv(p[0], p[1], reduction, logTarget);

        public override bool FreshGradients => true;

        public override Tensor?[]? Backward(BackwardContext context, Tensor g) =>
            target.RequiresGrad ? null : [Gradient(context, g.ToScalar() / divisor, throughLogSoftmax: false), null];

        bool IFusedPair.Applies() => !target.RequiresGrad;

        Tensor?[] IFusedPair.Backward(BackwardContext context, Tensor g) => [Gradient(context, g.ToScalar() / divisor, throughLogSoftmax: true), null];

        /// <summary>Linear in its input: -sum(w * t) / divisor.</summary>
        public Tensor? Jvp(Tensor?[] t) => Tensor.Sum((logTarget ? Tensor.Exp(target) : target) * t[0]!) * (-1.0 / divisor);

        private Tensor Gradient(BackwardContext context, double scale, bool throughLogSoftmax)
        {
            // w is exp(t): kept, or taken here; on the last use, the gradient is written over it
            var w = _expT ?? target;
            bool expW = _expT is null && logTarget;
            var rowSums = _rowSums;
            var dx = TakeForGradient(ref _expT, context) ?? Tensor.Uninitialized(input.DType, input.ShapeRef);
            var softmaxExps = throughLogSoftmax ? producerSaved?.Exps : null;
            var softmaxSums = throughLogSoftmax ? producerSaved?.RowSums : null;
            // with the kept exps, the log_softmax output is not read (the logits stand in for its length)
            var q = throughLogSoftmax && softmaxExps is not null ? logits! : input;
            DTypeDispatch.Run(input.DType, new KlBackward(q, w, expW, throughLogSoftmax, n, scale, dx, throughLogSoftmax ? rowSums : null, softmaxExps, softmaxSums));
            // the row sums go back with exp(t) once the gradient was written over it
            if (_expT is null) HandBack(ref _rowSums);
            return dx;
        }

        public override void HandBack()
        {
            HandBack(ref _expT);
            HandBack(ref _rowSums);
        }
    }

    /// <summary>dx for kl_div's input (or, through log_softmax, its logits), with target weights w = t, or exp(t) when <paramref name="expW"/>.</summary>
    private readonly struct KlBackward(Tensor q, Tensor t, bool expW, bool throughLogSoftmax, int n, double scale, Tensor dx, Tensor? rowSums, Tensor? softmaxExps, Tensor? softmaxSums) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
            => Apply(q.Data<T>(), t.Data<T>(), T.CreateChecked(scale), dx.Data<T>(), rowSums?.Data<T>(), softmaxExps?.Data<T>(), softmaxSums?.Data<T>());

        private void Apply<T>(T[] q, T[] t, T scale, T[] dx, T[]? rowSums, T[]? softmaxExps, T[]? softmaxSums) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (throughLogSoftmax) Fused.SoftmaxMinusTarget(q, t, expW, n, scale, dx, rowSums, softmaxExps, softmaxSums);
            else Fused.KlInputGrad(t, expW, scale, dx);
        }
    }

    /// <summary>
    /// cross_entropy from logits over contiguous rows (rank 1 or 2, no class weights, no label
    /// smoothing), reduced to a scalar; null when the composed form must be used. With class
    /// indices, 'mean' divides by the number of targets that are not ignored (NaN when none is).
    /// </summary>
    private static Tensor? FusedCrossEntropy(string op, Tensor input, Tensor target, Tensor? weight, Reduction reduction, long ignoreIndex, double labelSmoothing)
    {
        ArgumentChecks.Float(op, "input", input);
        if (!FusedOps.Allowed(input, target) || weight is not null || labelSmoothing != 0 || input.Rank is 0 or > 2 || input.Numel == 0) return null;
        if (reduction is not (Reduction.Sum or Reduction.Mean)) return null;
        bool indices = target.DType == DType.Int64;
        int n = input.ShapeRef[^1], rowCount = input.Numel / n;
        double divisor;
        if (indices)
        {
            if (target.Rank != input.Rank - 1 || (input.Rank == 2 && target.ShapeRef[0] != rowCount)) return null;
            var raw = target.Data<long>();
            int counted = 0;
            for (int i = 0; i < raw.Length; i++)
            {
                if (raw[i] == ignoreIndex) continue;
                if (raw[i] < 0 || raw[i] >= n)
                    throw new AutoKlException(op, $"target class index {raw[i]} at flat position {i} is out of range for {n} classes (valid: 0 to {n - 1}, or ignoreIndex {ignoreIndex})");
                counted++;
            }
            divisor = reduction == Reduction.Sum ? 1 : counted;
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
        Tensor? unitGrad = GradMode.Enabled && input.RequiresGrad ? Tensor.Uninitialized(input.DType, input.ShapeRef).KeptBy(op) : null;
        bool checkTarget = !indices && Validation.Enabled;
        long[] rowIndex = indices ? target.Data<long>() : [];
        var value = DTypeDispatch.Run<CrossEntropyTotal, Tensor>(input.DType, new(input, indices ? null : target, rowIndex, ignoreIndex, n, lse, unitGrad, divisor, checkTarget));
        // a row with a negative or NaN target probability made the total NaN: name the element
        if (checkTarget && double.IsNaN(value.ToScalar())) ArgumentChecks.NonNegative(op, "target", target);
        return FusedOps.Record(value, op, [input, target], new CrossEntropyOp(op, input, target, reduction, ignoreIndex, lse, unitGrad));
    }

    /// <summary>
    /// cross_entropy's declaration: its composition, its kernel (the unit gradient scaled by the
    /// output gradient), and its residuals: each row's logsumexp, and the gradient for an output
    /// gradient of 1, written in the forward pass.
    /// </summary>
    private sealed class CrossEntropyOp(string op, Tensor input, Tensor target, Reduction reduction, long ignoreIndex, Tensor lse, Tensor? unitGrad) : FusedOp
    {
        private Tensor? _lse = lse, _unitGrad = unitGrad;

        public override Tensor Reference(Tensor[] p) => CrossEntropyComposed(op, p[0], p[1], null, reduction, ignoreIndex, 0.0);

        public override bool FreshGradients => true;

        public override Tensor?[]? Backward(BackwardContext context, Tensor g)
        {
            if (target.RequiresGrad || _unitGrad is not { } unit) return null;
            // The unit gradient becomes the gradient in place on the last use (no later pass can need it).
            double outGrad = g.ToScalar();
            var dx = TakeForGradient(ref _unitGrad, context);
            if (dx is null || outGrad != 1)
            {
                dx ??= Tensor.Uninitialized(input.DType, input.ShapeRef);
                DTypeDispatch.Run(input.DType, new ScaleBody(unit, outGrad, dx));
            }
            return [dx, null];
        }

        public override void HandBack()
        {
            HandBack(ref _lse);
            HandBack(ref _unitGrad);
        }
    }

    /// <summary>
    /// cross_entropy's value over rows of <paramref name="n"/> logits, against class indices
    /// (<paramref name="index"/>) or probabilities (<paramref name="target"/>), divided by
    /// <paramref name="divisor"/>; each row's logsumexp written into <paramref name="lse"/>, and the
    /// gradient for an output gradient of 1 into <paramref name="unitGrad"/> when given.
    /// </summary>
    private readonly struct CrossEntropyTotal(Tensor x, Tensor? target, long[] index, long ignore, int n, Tensor lse, Tensor? unitGrad, double divisor, bool checkTarget) : IFloatFunc<Tensor>
    {
        public Tensor Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            var rows = lse.Data<T>();
            var rowLoss = System.Buffers.ArrayPool<T>.Shared.Rent(rows.Length);
            try
            {
                Fused.CrossEntropyRows(x.Data<T>(), target?.Data<T>() ?? [], index, ignore, n, rows, rowLoss, unitGrad?.Data<T>() ?? [], T.CreateChecked(1.0 / divisor), checkTarget);
                T total = T.Zero;
                for (int r = 0; r < rows.Length; r++) total += rowLoss[r];
                return Scalar(total / T.CreateChecked(divisor));
            }
            finally { System.Buffers.ArrayPool<T>.Shared.Return(rowLoss); }
        }
    }

    /// <summary>dx = unit * scale, elementwise.</summary>
    private readonly struct ScaleBody(Tensor unit, double scale, Tensor dx) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Fused.Scale(unit.Data<T>(), T.CreateChecked(scale), dx.Data<T>());
    }

    private static Tensor Scalar<T>(T value) where T : unmanaged, IFloatingPointIeee754<T> => new(new[] { value }, []);
}
