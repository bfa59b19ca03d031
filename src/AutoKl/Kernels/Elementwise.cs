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
internal readonly struct ExpK : IUnaryKernel { public void Run<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, y); }
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
