using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

/// <summary>A one-input elementwise kernel, for float and double alike.</summary>
internal interface IUnaryKernel
{
    void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A unary kernel over a slice of a whole array; see <see cref="Chunked"/>.</summary>
internal readonly struct UnaryChunk<T, K>(T[] x, T[] y, K kernel) : IChunkBody
    where T : unmanaged, IFloatingPointIeee754<T> where K : struct, IUnaryKernel
{
    public void Run(int start, int end) => kernel.Run<T>(x.AsSpan(start, end - start), y.AsSpan(start, end - start));
}

internal readonly struct NegK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Negate(x, y); }
internal readonly struct ExpK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => FastMath.Exp(x, y); }
internal readonly struct LogK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log(x, y); }
internal readonly struct SqrtK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, y); }
internal readonly struct AbsK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, y); }
internal readonly struct SigmoidK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sigmoid(x, y); }
internal readonly struct TanhK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Tanh(x, y); }
internal readonly struct SinK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sin(x, y); }
internal readonly struct CosK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Cos(x, y); }
internal readonly struct TanK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Tan(x, y); }
internal readonly struct FloorK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Floor(x, y); }
internal readonly struct CeilK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Ceiling(x, y); }

/// <summary>
/// log(1 + x) and e^x - 1 that keep the digits of a small x. TensorPrimitives.LogP1/ExpM1 (and
/// double.LogP1) compute log(1 + x) and exp(x) - 1 as written, so log1p(1e-10) comes out 8e-8 off.
/// </summary>
internal static class Accurate
{
    /// <summary>log(1 + x), from MathNet.Numerics.</summary>
    public static double Log1p(double x) => MathNet.Numerics.SpecialFunctions.Log1p(x);

    /// <summary>
    /// e^x - 1 by Kahan's identity (e^x - 1) * x / log(e^x), exact to a few ulps: the rounding
    /// errors of e^x in numerator and denominator cancel. (MathNet's Expm1 is off by up to 5e-8
    /// relative near x = 0.05.)
    /// </summary>
    public static double Expm1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0 || double.IsPositiveInfinity(u)) return um1;
        return um1 * x / Math.Log(u);
    }
}

internal readonly struct Log1pK : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = T.CreateChecked(Accurate.Log1p(double.CreateChecked(x[i])));
    }
}

internal readonly struct Expm1K : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = T.CreateChecked(Accurate.Expm1(double.CreateChecked(x[i])));
    }
}

/// <summary>Round half to even, as PyTorch's round does.</summary>
internal readonly struct RoundK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Round(x, y); }

/// <summary>-1, 0 or +1 (NaN stays NaN).</summary>
internal readonly struct SignK : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = T.IsNaN(x[i]) ? x[i] : x[i] > T.Zero ? T.One : x[i] < T.Zero ? -T.One : T.Zero;
    }
}

/// <summary>Clamps into [Min, Max]; NaN passes through, as in PyTorch.</summary>
internal readonly struct ClampK(double min, double max) : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lo = T.CreateChecked(min), hi = T.CreateChecked(max);
        for (int i = 0; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = v < lo ? lo : v > hi ? hi : v;
        }
    }
}

/// <summary>log(1 + exp(beta x)) / beta, linear above the threshold (PyTorch's softplus).</summary>
internal readonly struct SoftplusK(double beta, double threshold) : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T b = T.CreateChecked(beta), th = T.CreateChecked(threshold);
        for (int i = 0; i < x.Length; i++)
        {
            var bx = b * x[i];
            // log1p(exp(bx)) = max(bx, 0) + log1p(exp(-|bx|)) never overflows.
            y[i] = bx > th ? x[i] : (T.Max(bx, T.Zero) + T.CreateChecked(Accurate.Log1p(double.CreateChecked(T.Exp(-T.Abs(bx)))))) / b;
        }
    }
}

/// <summary>The error function, from MathNet.Numerics.</summary>
internal readonly struct ErfK : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = T.CreateChecked(MathNet.Numerics.SpecialFunctions.Erf(double.CreateChecked(x[i])));
    }
}

/// <summary>log-gamma, from MathNet.Numerics.</summary>
internal readonly struct LgammaK : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = T.CreateChecked(MathNet.Numerics.SpecialFunctions.GammaLn(double.CreateChecked(x[i])));
    }
}

/// <summary>
/// trigamma, the derivative of digamma (MathNet.Numerics has none): the recurrence
/// trigamma(x) = trigamma(x + 1) + 1/x^2 up to x >= 10, then the asymptotic series
/// 1/x + 1/(2x^2) + sum B_2k / x^(2k+1), whose first omitted term is below 3e-14 relative there;
/// reflection trigamma(1 - x) + trigamma(x) = pi^2 / sin^2(pi x) for x &lt; 0.5; +inf at the poles
/// 0, -1, -2, ...
/// </summary>
internal readonly struct TrigammaK : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = T.CreateChecked(Trigamma(double.CreateChecked(x[i])));
    }

    public static double Trigamma(double x)
    {
        if (double.IsNaN(x) || double.IsNegativeInfinity(x)) return double.NaN;
        if (x <= 0 && x == Math.Floor(x)) return double.PositiveInfinity;
        if (x < 0.5)
        {
            double s = Math.Sin(Math.PI * x);
            return Math.PI * Math.PI / (s * s) - Trigamma(1 - x);
        }
        double acc = 0;
        while (x < 10)
        {
            acc += 1 / (x * x);
            x += 1;
        }
        double r = 1 / x, r2 = r * r;
        // B2 = 1/6, B4 = -1/30, B6 = 1/42, B8 = -1/30, B10 = 5/66, B12 = -691/2730
        double series = r + r2 / 2 + r * r2 * (1.0 / 6 + r2 * (-1.0 / 30 + r2 * (1.0 / 42 + r2 * (-1.0 / 30 + r2 * (5.0 / 66 + r2 * (-691.0 / 2730))))));
        return acc + series;
    }
}

/// <summary>digamma, from MathNet.Numerics.</summary>
internal readonly struct DigammaK : IUnaryKernel
{
    public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = T.CreateChecked(MathNet.Numerics.SpecialFunctions.DiGamma(double.CreateChecked(x[i])));
    }
}

// The rest of the elementwise functions F# users reach for (cosh x, log10 x, truncate x, asin x, ...).
internal readonly struct CoshK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Cosh(x, y); }
internal readonly struct SinhK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sinh(x, y); }
internal readonly struct Log10K : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log10(x, y); }
internal readonly struct Log2K : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log2(x, y); }
internal readonly struct TruncateK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Truncate(x, y); }
internal readonly struct AsinK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Asin(x, y); }
internal readonly struct AcosK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Acos(x, y); }
internal readonly struct AtanK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Atan(x, y); }
