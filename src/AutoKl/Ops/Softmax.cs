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
        return Record(y, "softmax", [x], g => [SoftmaxBackward(g, y, axes)]);
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
        });
    }

    /// <summary>
    /// log(softmax(x)) along <paramref name="axis"/>, computed as (x - max) - log(sum(exp(x - max))):
    /// exact for very negative log-probabilities where log(softmax) would give -inf, and for rows
    /// near 1e300, where x - logsumexp(x) would lose every digit to the rounding of logsumexp.
    /// </summary>
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
        var y = RowWise(x, null, axes, new LogSoftmaxRow());
        Record(y, "log_softmax", [x], g => [LogSoftmaxBackward(g, y, axes)]);
        // the losses that take log-probabilities recognise it (Losses/Fused.cs)
        if (y.GradFn is { } node) node.Info = axes;
        return y;
    }

    /// <summary>
    /// The gradient of log_softmax, g - exp(y) * sum(g), as an op: its own derivatives are
    /// h - sum(h * exp(y)) for g and -h * exp(y) * sum(g) for y.
    /// </summary>
    private static Tensor LogSoftmaxBackward(Tensor g, Tensor y, int[] axes)
    {
        g = g.DType == y.DType ? g : g.ToType(y.DType);
        var dx = RowWise(y, g, axes, new LogSoftmaxBackwardRow());
        return Record(dx, "log_softmax_backward", [g, y], h =>
        {
            var p = Exp(y);
            return [For(g, () => h - Sum(h * p, axes, keepDim: true)), For(y, () => -(h * p * Sum(g, axes, keepDim: true)))];
        });
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
