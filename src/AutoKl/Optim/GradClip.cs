using System.Numerics;

namespace AutoKl.Optim;

/// <summary>
/// Gradient clipping, as PyTorch 1.13's <c>torch.nn.utils.clip_grad_norm_</c> and
/// <c>clip_grad_value_</c>. Parameters without a gradient are ignored. The clipped gradient
/// replaces <see cref="Tensor.Grad"/> (a new tensor: gradients may share storage).
/// </summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so that their joint norm is at most <paramref name="maxNorm"/>:
    /// total = norm of the per-tensor norms; every gradient is multiplied by
    /// min(1, maxNorm / (total + 1e-6)) (PyTorch's 1e-6, so clipped norms end slightly below maxNorm).
    /// </summary>
    /// <param name="parameters">Tensors whose gradients are clipped.</param>
    /// <param name="maxNorm">Largest allowed norm, >= 0.</param>
    /// <param name="normType">p of the p-norm, > 0; <see cref="double.PositiveInfinity"/> for the largest absolute value.</param>
    /// <returns>The total norm before clipping (0 when no parameter has a gradient).</returns>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm >= 0))
            throw new AutoKlException("clip_grad_norm", $"maxNorm must be >= 0, got {maxNorm}");
        if (!(normType > 0))
            throw new AutoKlException("clip_grad_norm", $"normType must be > 0 (or infinity), got {normType}");
        var withGrad = parameters.Where(p => p.HasGrad).ToArray();
        if (withGrad.Length == 0) return 0;
        var norms = withGrad.Select(p => DTypeDispatch.Run<NormBody, double>(p.DType, new NormBody(p.Grad, normType))).ToArray();
        double total = Norm<double>(norms, normType);
        double coefficient = Math.Min(maxNorm / (total + 1e-6), 1.0);
        // Scaling by exactly 1 changes nothing; a NaN coefficient still spreads, as in PyTorch.
        if (!(coefficient >= 1))
            foreach (var p in withGrad) p.Grad = Map(p.Grad, coefficient, clamp: false);
        return total;
    }

    /// <summary>Clamps every gradient element into [-clipValue, clipValue].</summary>
    /// <param name="parameters">Tensors whose gradients are clipped.</param>
    /// <param name="clipValue">Largest allowed absolute value, >= 0.</param>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue >= 0))
            throw new AutoKlException("clip_grad_value", $"clipValue must be >= 0, got {clipValue}");
        foreach (var p in parameters.Where(p => p.HasGrad))
            p.Grad = Map(p.Grad, clipValue, clamp: true);
    }

    /// <summary>The p-norm, accumulated in double; the infinity norm is NaN when any value is.</summary>
    private static double Norm<T>(ReadOnlySpan<T> values, double p) where T : IFloatingPointIeee754<T>
    {
        double acc = 0;
        foreach (var value in values)
        {
            double a = Math.Abs(double.CreateChecked(value));
            if (double.IsPositiveInfinity(p)) acc = double.IsNaN(a) || a > acc ? a : acc;
            else acc += p == 2 ? a * a : p == 1 ? a : Math.Pow(a, p);
            if (double.IsNaN(acc)) return acc;
        }
        return double.IsPositiveInfinity(p) || p == 1 ? acc : p == 2 ? Math.Sqrt(acc) : Math.Pow(acc, 1 / p);
    }

    /// <summary>A copy of the gradient scaled by (or clamped to) the constant, computed in the gradient's own dtype.</summary>
    private static Tensor Map(Tensor grad, double constant, bool clamp)
    {
        var result = grad.CopyValues();
        DTypeDispatch.Run(result.DType, new MapBody(result, constant, clamp));
        return result;
    }

    private readonly struct NormBody(Tensor values, double p) : IFloatFunc<double>
    {
        public double Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Norm<T>(values.Span<T>(), p);
    }

    private readonly struct MapBody(Tensor values, double constant, bool clamp) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Apply(values.Span<T>(), T.CreateChecked(constant), clamp);
    }

    // The constant is rounded to T first, as PyTorch does with its 0-dim coefficient tensor.
    private static void Apply<T>(Span<T> values, T c, bool clamp) where T : IFloatingPointIeee754<T>
    {
        if (clamp)
            for (int i = 0; i < values.Length; i++) values[i] = values[i] < -c ? -c : values[i] > c ? c : values[i];
        else
            for (int i = 0; i < values.Length; i++) values[i] *= c;
    }
}
