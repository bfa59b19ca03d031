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
        int a = Shapes.NormalizeAxis("softmax", axis, x.Rank);
        Tensor y;
        using (Autograd.NoGrad())
        {
            var shift = Max(x, [a], keepDim: true);
            shift = Where(IsFinite(shift), shift, shift.Const(0));
            var e = Exp(x - shift);
            y = e / Sum(e, [a], keepDim: true);
        }
        return Record(y, "softmax", [x], g => [y * (g - Sum(g * y, [a], keepDim: true))]);
    }

    /// <summary>
    /// log(softmax(x)) along <paramref name="axis"/>, computed as x - logsumexp(x): exact for
    /// very negative log-probabilities where log(softmax) would give -inf.
    /// </summary>
    public static Tensor LogSoftmax(Tensor x, int axis)
    {
        int a = Shapes.NormalizeAxis("log_softmax", axis, x.Rank);
        return x - LogSumExp(x, [a], keepDim: true);
    }
}
