using AutoKl.Kernels;

namespace AutoKl;

// Elementwise functions of one tensor: the forward kernel and the derivative side by side.
// Choices at kinks follow PyTorch: abs'(0) = 0, relu'(0) = 0, clamp passes the gradient at its bounds.
public sealed partial class Tensor
{
    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x) { var y = Map("exp", x, new ExpK()); return Record(y, "exp", [x], g => [g * y], jvp: Fwd ? t => t[0]! * y : null); }

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x) { var y = Map("log", x, new LogK()); return Record(y, "log", [x], g => [g / x], jvp: Fwd ? t => t[0]! / x : null); }

    /// <summary>log(1 + x), accurate for small x.</summary>
    public static Tensor Log1p(Tensor x) { var y = Map("log1p", x, new Log1pK()); return Record(y, "log1p", [x], g => [g / (x + 1.0)], jvp: Fwd ? t => t[0]! / (x + 1.0) : null); }

    /// <summary>e^x - 1, accurate for small x.</summary>
    public static Tensor Expm1(Tensor x) { var y = Map("expm1", x, new Expm1K()); return Record(y, "expm1", [x], g => [g * (y + 1.0)], jvp: Fwd ? t => t[0]! * (y + 1.0) : null); }

    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x) { var y = Map("sqrt", x, new SqrtK()); return Record(y, "sqrt", [x], g => [g / (2.0 * y)], jvp: Fwd ? t => t[0]! / (2.0 * y) : null); }

    /// <summary>|x|; the gradient at 0 is 0.</summary>
    public static Tensor Abs(Tensor x) { var y = Map("abs", x, new AbsK()); return Record(y, "abs", [x], g => [g * Sign(x)], jvp: Fwd ? t => t[0]! * Sign(x) : null); }

    /// <summary>1 / (1 + e^-x).</summary>
    public static Tensor Sigmoid(Tensor x) { var y = Map("sigmoid", x, new SigmoidK()); return Record(y, "sigmoid", [x], g => [g * y * (1.0 - y)], jvp: Fwd ? t => t[0]! * y * (1.0 - y) : null); }

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x) { var y = Map("tanh", x, new TanhK()); return Record(y, "tanh", [x], g => [g * (1.0 - y * y)], jvp: Fwd ? t => t[0]! * (1.0 - y * y) : null); }

    /// <summary>Sine.</summary>
    public static Tensor Sin(Tensor x) { var y = Map("sin", x, new SinK()); return Record(y, "sin", [x], g => [g * Cos(x)], jvp: Fwd ? t => t[0]! * Cos(x) : null); }

    /// <summary>Cosine.</summary>
    public static Tensor Cos(Tensor x) { var y = Map("cos", x, new CosK()); return Record(y, "cos", [x], g => [-g * Sin(x)], jvp: Fwd ? t => -t[0]! * Sin(x) : null); }

    /// <summary>Tangent.</summary>
    public static Tensor Tan(Tensor x) { var y = Map("tan", x, new TanK()); return Record(y, "tan", [x], g => [g * (1.0 + y * y)], jvp: Fwd ? t => t[0]! * (1.0 + y * y) : null); }

    /// <summary>Hyperbolic cosine (F#: <c>cosh x</c>).</summary>
    public static Tensor Cosh(Tensor x) { var y = Map("cosh", x, new CoshK()); return Record(y, "cosh", [x], g => [g * Sinh(x)], jvp: Fwd ? t => t[0]! * Sinh(x) : null); }

    /// <summary>Hyperbolic sine (F#: <c>sinh x</c>).</summary>
    public static Tensor Sinh(Tensor x) { var y = Map("sinh", x, new SinhK()); return Record(y, "sinh", [x], g => [g * Cosh(x)], jvp: Fwd ? t => t[0]! * Cosh(x) : null); }

    /// <summary>Base-10 logarithm (F#: <c>log10 x</c>); d/dx = 1 / (x ln 10).</summary>
    public static Tensor Log10(Tensor x) { var y = Map("log10", x, new Log10K()); return Record(y, "log10", [x], g => [g / (x * Math.Log(10.0))], jvp: Fwd ? t => t[0]! / (x * Math.Log(10.0)) : null); }

    /// <summary>Base-2 logarithm; d/dx = 1 / (x ln 2).</summary>
    public static Tensor Log2(Tensor x) { var y = Map("log2", x, new Log2K()); return Record(y, "log2", [x], g => [g / (x * Math.Log(2.0))], jvp: Fwd ? t => t[0]! / (x * Math.Log(2.0)) : null); }

    /// <summary>Arcsine (F#: <c>asin x</c>); d/dx = 1 / sqrt(1 - x^2), infinite at |x| = 1.</summary>
    public static Tensor Asin(Tensor x) { var y = Map("asin", x, new AsinK()); return Record(y, "asin", [x], g => [g / Sqrt(1.0 - x * x)], jvp: Fwd ? t => t[0]! / Sqrt(1.0 - x * x) : null); }

    /// <summary>Arccosine (F#: <c>acos x</c>); d/dx = -1 / sqrt(1 - x^2), infinite at |x| = 1.</summary>
    public static Tensor Acos(Tensor x) { var y = Map("acos", x, new AcosK()); return Record(y, "acos", [x], g => [-g / Sqrt(1.0 - x * x)], jvp: Fwd ? t => -t[0]! / Sqrt(1.0 - x * x) : null); }

    /// <summary>Arctangent (F#: <c>atan x</c>); d/dx = 1 / (1 + x^2).</summary>
    public static Tensor Atan(Tensor x) { var y = Map("atan", x, new AtanK()); return Record(y, "atan", [x], g => [g / (1.0 + x * x)], jvp: Fwd ? t => t[0]! / (1.0 + x * x) : null); }

    /// <summary>max(x, 0); the gradient at 0 is 0.</summary>
    public static Tensor Relu(Tensor x) { var y = Map("relu", x, new ClampK(0, double.PositiveInfinity)); return Record(y, "relu", [x], g => [g * Gt(x, 0.0)], jvp: Fwd ? t => t[0]! * Gt(x, 0.0) : null); }

    /// <summary>
    /// log(1 + e^(beta x)) / beta, computed without overflow, and x itself where beta x exceeds
    /// <paramref name="threshold"/> (PyTorch's softplus).
    /// </summary>
    public static Tensor Softplus(Tensor x, double beta = 1.0, double threshold = 20.0)
    {
        if (!(beta > 0)) throw new AutoKlException("softplus", $"beta must be positive, got {beta}");
        var y = Map("softplus", x, new SoftplusK(beta, threshold));
        return Record(y, "softplus", [x], g => [g * Where(Gt(x * beta, threshold), x.Const(1), Sigmoid(x * beta))], jvp: Fwd ? t => t[0]! * Where(Gt(x * beta, threshold), x.Const(1), Sigmoid(x * beta)) : null);
    }

    /// <summary>Clamps into [min, max]; the gradient passes where min &lt;= x &lt;= max.</summary>
    public static Tensor Clamp(Tensor x, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        if (min > max) throw new AutoKlException("clamp", $"min {min} is greater than max {max}");
        var y = Map("clamp", x, new ClampK(min, max));
        return Record(y, "clamp", [x], g => [g * (Ge(x, min) * Le(x, max))], jvp: Fwd ? t => t[0]! * (Ge(x, min) * Le(x, max)) : null);
    }

    /// <summary>The error function; d/dx = 2/sqrt(pi) e^(-x^2).</summary>
    public static Tensor Erf(Tensor x) { var y = Map("erf", x, new ErfK()); return Record(y, "erf", [x], g => [g * (2.0 / Math.Sqrt(Math.PI)) * Exp(-(x * x))], jvp: Fwd ? t => t[0]! * (2.0 / Math.Sqrt(Math.PI)) * Exp(-(x * x)) : null); }

    /// <summary>log |Gamma(x)|; d/dx = digamma(x), whose derivative is trigamma (second derivatives are exact).</summary>
    public static Tensor Lgamma(Tensor x) { var y = Map("lgamma", x, new LgammaK()); return Record(y, "lgamma", [x], g => [g * Digamma(x)], jvp: Fwd ? t => t[0]! * Digamma(x) : null); }

    /// <summary>digamma(x) = d/dx lgamma(x). Derivative: trigamma(x), so lgamma has exact second derivatives.</summary>
    public static Tensor Digamma(Tensor x) { var y = Map("digamma", x, new DigammaK()); return Record(y, "digamma", [x], g => [g * Trigamma(x)], jvp: Fwd ? t => t[0]! * Trigamma(x) : null); }

    /// <summary>
    /// trigamma(x) = d/dx digamma(x). Its own derivative (the third of lgamma) is not implemented:
    /// differentiating it is an error rather than a silent 0.
    /// </summary>
    internal static Tensor Trigamma(Tensor x)
    {
        var y = Map("trigamma", x, new TrigammaK());
        return Record(y, "trigamma", [x], _ => throw new AutoKlException("trigamma",
            $"the derivative of trigamma (the third derivative of lgamma, of a tensor of shape {Shapes.Format(x.ShapeRef)}) is not implemented"));
    }

    /// <summary>Largest integer not greater than x; gradient 0.</summary>
    public static Tensor Floor(Tensor x) => Record(Map("floor", x, new FloorK()), "floor", [x], g => [ZerosLike(g)], readsValues: false, jvp: Fwd ? _ => null : null);

    /// <summary>Smallest integer not less than x; gradient 0.</summary>
    public static Tensor Ceiling(Tensor x) => Record(Map("ceil", x, new CeilK()), "ceil", [x], g => [ZerosLike(g)], readsValues: false, jvp: Fwd ? _ => null : null);

    /// <summary>The integer part, rounding toward zero (F#: <c>truncate x</c>); gradient 0.</summary>
    public static Tensor Truncate(Tensor x) => Record(Map("trunc", x, new TruncateK()), "trunc", [x], g => [ZerosLike(g)], jvp: Fwd ? _ => null : null);

    /// <summary>Nearest integer, halves to even (as PyTorch); gradient 0.</summary>
    public static Tensor Round(Tensor x) => Record(Map("round", x, new RoundK()), "round", [x], g => [ZerosLike(g)], readsValues: false, jvp: Fwd ? _ => null : null);

    /// <summary>-1, 0 or 1 by the sign of x, as a tensor; gradient 0.</summary>
    public static Tensor Sign(Tensor x) => Record(Map("sign", x, new SignK()), "sign", [x], g => [ZerosLike(g)], readsValues: false, jvp: Fwd ? _ => null : null);

    /// <summary>x * x.</summary>
    public static Tensor Square(Tensor x) => x * x;

    /// <summary>1 / x.</summary>
    public static Tensor Reciprocal(Tensor x) => 1.0 / x;
}
