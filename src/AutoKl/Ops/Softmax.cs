using AutoKl.Kernels;

namespace AutoKl;

// The softmax family along one axis (or a block of axes), shifted by the maximum of each row (not
// the global maximum), so rows of very different magnitude in one tensor are all exact. Forward
// and backward are fused row kernels (Kernels/Rows.cs): one pass writes the output, where the
// same formula composed of elementwise ops would write four temporaries the size of the input.
// The backward rules are ops of their own whose derivatives are composed of differentiable ops,
// so second derivatives work.
public sealed partial class Tensor
{
    /// <summary>
    /// exp(x) / sum(exp(x)) along <paramref name="axis"/>. Backward: y * (g - sum(g * y)).
    /// </summary>
    public static Tensor Softmax(Tensor x, int axis)
    {
        var axes = SoftmaxAxes("softmax", x, axis);
        var y = RowWise(x, null, axes, new SoftmaxRow());
        // softmax's Jacobian, diag(y) - y y^T, is symmetric: its JVP is its VJP
        return Record(y, "softmax", [x], g => [SoftmaxBackward(g, y, axes)], jvp: Fwd ? t => SoftmaxBackward(t[0]!, y, axes) : null);
    }

    /// <summary>
    /// The gradient of softmax, y * (g - sum(g * y)), as an op: its own derivatives are
    /// y * (h - sum(h * y)) for g and h * (g - sum(g * y)) - g * sum(h * y) for y.
    /// </summary>
    private static Tensor SoftmaxBackward(Tensor g, Tensor y, int[] axes)
    {
        g = g.DType == y.DType ? g : g.ToType(y.DType);
        var dx = RowWise(y, g, axes, new SoftmaxBackwardRow());
        return Record(dx, "softmax_backward", [g, y], h =>
        {
            var hy = Sum(h * y, axes, keepDim: true);
            return [For(g, () => y * (h - hy)), For(y, () => h * (g - Sum(g * y, axes, keepDim: true)) - g * hy)];
        }, jvp: Fwd ? t => SumTerms(
            Lin(t[0], tg => SoftmaxBackward(tg, y, axes)),
            Lin(t[1], ty => ty * (g - Sum(g * y, axes, keepDim: true)) - y * Sum(g * ty, axes, keepDim: true))) : null);
    }

    /// <summary>
    /// log(softmax(x)) along <paramref name="axis"/>, computed as (x - max) - log(sum(exp(x - max))):
    /// exact for very negative log-probabilities where log(softmax) would give -inf, and for rows
    /// near 1e300, where x - logsumexp(x) would lose every digit to the rounding of logsumexp.
    /// </summary>
    /// <remarks>
    /// When a gradient is to come over contiguous rows, the output's values are written the first
    /// time anything reads them (a fused <see cref="Losses.KlDiv"/> after it does not), or before
    /// <paramref name="x"/> is changed in place: always the values of x when log_softmax was called.
    /// </remarks>
    public static Tensor LogSoftmax(Tensor x, int axis) => LogSoftmaxOver(x, SoftmaxAxes("log_softmax", x, axis));

    /// <summary>The axis as a list, empty for a scalar (whose softmax is 1).</summary>
    private static int[] SoftmaxAxes(string op, Tensor x, int axis)
    {
        x.RequireFloat(op);
        int a = Shapes.NormalizeAxis(op, axis, x.Rank);
        return x.Rank == 0 ? [] : [a];
    }

    /// <summary>
    /// log_softmax over normalised <paramref name="axes"/>. Backward: g - exp(y) * sum(g), with y
    /// the output. Also the exact gradient weights of logsumexp (exp(x - logsumexp(x)) would use
    /// a rounded logsumexp).
    /// </summary>
    internal static Tensor LogSoftmaxOver(Tensor x, int[] axes)
    {
        // With a backward pass to come, rows that are contiguous keep exp(x - max) and their sums
        // beside the output (written in the pass that sums them), so no backward rule has to
        // compute exp(y) again.
        var saved = new LogSoftmaxSaved(axes);
        Tensor y;
        if (GradMode.Enabled && x.RequiresGrad && x.Numel > 0 && axes.Length == 1 && RowLayout.Of(x.ShapeRef, axes) is { Inner: 1, N: > 0 } rows)
        {
            var exps = Uninitialized(x.DType, x.ShapeRef).KeptBy("log_softmax");
            var sums = Uninitialized(x.DType, [rows.Count]).KeptBy("log_softmax");
            // The output is written when something reads it: a fused kl_div after it reads the
            // logits and the exps instead, so a training step need not write it, nor allocate it
            // where no scope hands arrays back. Not inside a backward pass (whose temporaries go
            // back to the pool when it ends), nor where no scope would release the output with
            // the logits it is computed from.
            bool defer = !StoragePool.InPass && (TensorScope.Current is not null || x.OwnerScopeOfStorage is null);
            y = DTypeDispatch.Run<LogSoftmaxKeptForward, Tensor>(x.DType, new(x, rows.N, exps, sums, defer));
            saved.Keep(exps, sums);
        }
        else y = RowWise(x, null, axes, new LogSoftmaxRow());
        // a kl_div after it recognises it as the producer of their fused pair (Losses/Fused.cs)
        return Record(y, "log_softmax", [x], g => [LogSoftmaxBackward(g, y, axes, saved)], jvp: Fwd ? t => LogSoftmaxJvp(t[0]!, y, axes) : null,
                      residuals: saved);
    }

    /// <summary>log_softmax over contiguous rows of <paramref name="n"/> keeping exps and row sums; the output deferred or written.</summary>
    private readonly struct LogSoftmaxKeptForward(Tensor x, int n, Tensor exps, Tensor sums, bool defer) : IFloatFunc<Tensor>
    {
        public Tensor Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            if (!defer)
            {
                var y = Uninitialized(x.DType, x.ShapeRef);
                LogSoftmaxKept.Forward(x.Data<T>(), n, y.Data<T>(), exps.Data<T>(), sums.Data<T>(), []);
                return y;
            }
            // a row's max and log-sum: a few bytes per row, the output's own for as long as it lives
            var shifts = new T[2 * sums.Numel];
            LogSoftmaxKept.Forward(x.Data<T>(), n, [], exps.Data<T>(), sums.Data<T>(), shifts);
            return new Tensor(x.DType, x.ShapeRef, new DeferredLogSoftmax<T>(x, n, shifts));
        }
    }

    /// <summary>
    /// The gradient of log_softmax, g - exp(y) * sum(g), as an op: its own derivatives are
    /// h - sum(h * exp(y)) for g and -h * exp(y) * sum(g) for y. With the exps the forward pass
    /// kept, softmax is read as exps / sum.
    /// </summary>
    private static Tensor LogSoftmaxBackward(Tensor g, Tensor y, int[] axes, LogSoftmaxSaved saved)
    {
        g = g.DType == y.DType ? g : g.ToType(y.DType);
        Tensor dx;
        if (saved.Exps is { } exps && saved.RowSums is { } sums)
        {
            dx = Uninitialized(y.DType, y.ShapeRef);
            DTypeDispatch.Run(y.DType, new LogSoftmaxKeptBackward(exps, sums, g, saved.RowLength, dx));
        }
        else dx = RowWise(y, g, axes, new LogSoftmaxBackwardRow());
        return Record(dx, "log_softmax_backward", [g, y], h =>
        {
            var p = Exp(y);
            return [For(g, () => h - Sum(h * p, axes, keepDim: true)), For(y, () => -(h * p * Sum(g, axes, keepDim: true)))];
        }, jvp: Fwd ? t =>
        {
            var p = Exp(y);
            return SumTerms(Lin(t[0], tg => tg - p * Sum(tg, axes, keepDim: true)), Lin(t[1], ty => -(p * ty * Sum(g, axes, keepDim: true))));
        } : null);
    }

    /// <summary>
    /// The forward rule of log_softmax, t - sum(exp(y) * t) along the axes, as an op (one row kernel,
    /// no temporaries): its own derivatives are h - exp(y) * sum(h) for t (log_softmax's backward)
    /// and -exp(y) * t * sum(h) for y, so it nests in either mode.
    /// </summary>
    private static Tensor LogSoftmaxJvp(Tensor t, Tensor y, int[] axes)
    {
        t = t.DType == y.DType ? t : t.ToType(y.DType);
        var dy = RowWise(y, t, axes, new LogSoftmaxJvpRow());
        return Record(dy, "log_softmax_jvp", [t, y], h =>
        [
            For(t, () => LogSoftmaxBackward(h, y, axes, new LogSoftmaxSaved(axes))),
            For(y, () => -(Exp(y) * t * Sum(h, axes, keepDim: true))),
        ], jvp: Fwd ? tangents =>
        {
            var p = Exp(y);
            return SumTerms(Lin(tangents[0], tt => LogSoftmaxJvp(tt, y, axes)), Lin(tangents[1], ty => -Sum(p * ty * t, axes, keepDim: true)));
        } : null);
    }

    /// <summary>log_softmax's gradient over contiguous rows of <paramref name="n"/>, softmax read from the kept exps and row sums.</summary>
    private readonly struct LogSoftmaxKeptBackward(Tensor exps, Tensor sums, Tensor g, int n, Tensor dx) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => LogSoftmaxKept.Backward(exps.Data<T>(), sums.Data<T>(), g.Data<T>(), n, dx.Data<T>());
    }

    /// <summary>
    /// Runs a row kernel over the rows of <paramref name="x"/> along <paramref name="axes"/> (with
    /// the matching rows of <paramref name="other"/>, of the same shape and dtype). Not recorded:
    /// the callers record. The result has x's shape, or the reduced shape when the kernel reduces.
    /// </summary>
    private static Tensor RowWise<K>(Tensor x, Tensor? other, int[] axes, K kernel) where K : struct, IRowKernel
    {
        if (other is not null && (other.DType != x.DType || !Shapes.Equal(other.ShapeRef, x.ShapeRef)))
            throw new InvalidOperationException($"internal error: row kernel operands differ: {x.DType.Name()} {Shapes.Format(x.ShapeRef)} and {other.DType.Name()} {Shapes.Format(other.ShapeRef)}");
        var shape = kernel.Reduces ? Shapes.Reduced(x.ShapeRef, axes, keepDim: false) : x.ShapeRef;
        Array data = DTypeDispatch.Run<RowBody<K>, Array>(x.DType, new RowBody<K>(x, other, axes, kernel));
        return new Tensor(data, shape);
    }

    private readonly struct RowBody<K>(Tensor x, Tensor? other, int[] axes, K kernel) : IFloatFunc<Array> where K : struct, IRowKernel
    {
        public Array Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => Rows.Apply(x.Data<T>(), other?.Data<T>() ?? [], x.ShapeRef, axes, kernel);
    }
}

/// <summary>
/// log_softmax's output over contiguous rows, written from the logits and each row's max and
/// log-sum when first read: the same bits as writing it in the forward pass.
/// </summary>
internal sealed class DeferredLogSoftmax<T>(Tensor x, int n, T[] shifts) : DeferredValues(x) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
{
    /// <summary>Per row: its max and log(sum(exp(x - max))), NaN for a row holding +inf or NaN.</summary>
    public T[] Shifts => shifts;

    public override void WriteInto(Array storage) => LogSoftmaxKept.WriteShifted(Source.Data<T>(), n, shifts, (T[])storage);
}

/// <summary>
/// What a recorded log_softmax keeps for its backward (its node's residuals): its axes and, when
/// its rows are contiguous and a gradient was to come, exp(x - max) of every element and each
/// row's sum, read by its own backward rule and by the fused pair's kernel.
/// </summary>
internal sealed class LogSoftmaxSaved(int[] axes) : Residuals
{
    /// <summary>log_softmax: a kl_div after it recognises its producer by these.</summary>
    public override Primitive? Primitive => Primitive.LogSoftmax;

    public int[] Axes { get; } = axes;

    public Tensor? Exps { get; private set; }
    public Tensor? RowSums { get; private set; }

    /// <summary>The length of a row (the exps are laid out like the output, one sum per row).</summary>
    public int RowLength => Exps is null || RowSums is null ? 0 : Exps.Numel / RowSums.Numel;

    public void Keep(Tensor exps, Tensor rowSums)
    {
        Exps = exps;
        RowSums = rowSums;
    }

    public override void HandBack()
    {
        var exps = Exps;
        var sums = RowSums;
        HandBack(ref exps);
        HandBack(ref sums);
        Exps = RowSums = null;
    }
}
