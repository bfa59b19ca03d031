namespace AutoKl;

// The softmax family along one axis, shifted by the maximum along that axis (not the global
// maximum), so rows of very different magnitude in one tensor are all exact.
public sealed partial class Tensor
{
    /// <summary>
    /// exp(x) / sum(exp(x)) along <paramref name="axis"/>. Fused: the backward rule is
    /// y * (g - sum(g * y)), written with differentiable ops.
    /// </summary>
    public static Tensor Softmax(Tensor x, int axis)
    {
        x.RequireFloat("softmax");
        int a = Shapes.NormalizeAxis("softmax", axis, x.Rank);
        Tensor y;
        using (Autograd.NoGrad())
        {
            var e = Exp(x - FiniteMax(x, [a]));
            y = e / Sum(e, [a], keepDim: true);
        }
        return Record(y, "softmax", [x], g => [y * (g - Sum(g * y, [a], keepDim: true))]);
    }

    /// <summary>
    /// log(softmax(x)) along <paramref name="axis"/>, computed as (x - max) - log(sum(exp(x - max))):
    /// exact for very negative log-probabilities where log(softmax) would give -inf, and for rows
    /// near 1e300, where x - logsumexp(x) would lose every digit to the rounding of logsumexp.
    /// </summary>
    public static Tensor LogSoftmax(Tensor x, int axis)
    {
        x.RequireFloat("log_softmax");
        int a = Shapes.NormalizeAxis("log_softmax", axis, x.Rank);
        return LogSoftmaxOver(x, x.Rank == 0 ? [] : [a]);
    }

    /// <summary>
    /// log_softmax over normalised <paramref name="axes"/>, fused. Backward: g - exp(y) * sum(g),
    /// with y the recorded output, so it differentiates again. Also the exact gradient weights of
    /// logsumexp (exp(x - logsumexp(x)) would use a rounded logsumexp).
    /// </summary>
    internal static Tensor LogSoftmaxOver(Tensor x, int[] axes)
    {
        Tensor y;
        using (Autograd.NoGrad())
        {
            var shifted = x - FiniteMax(x, axes);
            y = shifted - Log(Sum(Exp(shifted), axes, keepDim: true));
        }
        return Record(y, "log_softmax", [x], g => [g - Exp(y) * Sum(g, axes, keepDim: true)]);
    }

    /// <summary>
    /// The maximum over <paramref name="axes"/> (kept), or 0 where it is not finite: a row that is
    /// all -inf (or holds +inf) would otherwise give inf - inf.
    /// </summary>
    private static Tensor FiniteMax(Tensor x, int[] axes)
    {
        var shift = Max(x, axes, keepDim: true);
        return Where(IsFinite(shift), shift, shift.Const(0));
    }
}
