using AutoKl.Kernels;

namespace AutoKl;

// Binary arithmetic with broadcasting. A rule returns each gradient in the output's shape; the
// tape sums it back over the dimensions the input was broadcast along.
public sealed partial class Tensor
{
    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        (a, b) = Promote("add", a, b);
        var y = Zip("add", a, b, new AddK());
        return Record(y, "add", [a, b], g => [For(a, () => g), For(b, () => g)], readsValues: false,
            jvp: Fwd ? t => SumTerms(t[0], t[1]) : null);
    }

    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        (a, b) = Promote("sub", a, b);
        var y = Zip("sub", a, b, new SubK());
        return Record(y, "sub", [a, b], g => [For(a, () => g), For(b, () => -g)], readsValues: false,
            jvp: Fwd ? t => SumTerms(t[0], Lin(t[1], tb => -tb)) : null);
    }

    /// <summary>a * b elementwise with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        (a, b) = Promote("mul", a, b);
        var y = Zip("mul", a, b, new MulK());
        return Record(y, "mul", [a, b], g => [For(a, () => g * b), For(b, () => g * a)],
            jvp: Fwd ? t => SumTerms(Lin(t[0], ta => ta * b), Lin(t[1], tb => a * tb)) : null);
    }

    /// <summary>a / b elementwise with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        (a, b) = Promote("div", a, b);
        var y = Zip("div", a, b, new DivK());
        return Record(y, "div", [a, b], g => [For(a, () => g / b), For(b, () => -g * y / b)],
            jvp: Fwd ? t => SumTerms(Lin(t[0], ta => ta / b), Lin(t[1], tb => -tb * y / b)) : null);
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var y = Map("neg", x, new NegK());
        return Record(y, "neg", [x], g => [-g], readsValues: false, jvp: Fwd ? t => -t[0]! : null);
    }

    /// <summary>
    /// a raised to b elementwise. d/da = b a^(b-1), taken as 0 where b == 0 (a^0 is constant, even
    /// at a = 0, as PyTorch); d/db = a^b log a, taken as 0 where a == 0 and b >= 0 (as PyTorch).
    /// </summary>
    public static Tensor Pow(Tensor a, Tensor b)
    {
        (a, b) = Promote("pow", a, b);
        var y = Zip("pow", a, b, new PowK());
        return Record(y, "pow", [a, b], g =>
        [
            // The masked places also get safe arguments (exponent 2, log of 1), not only a masked
            // result: the unchosen branch's own rule still runs under createGraph (Comparison.cs),
            // and 0 * a^-1 or 1/a at a = 0 would make second derivatives NaN there.
            For(a, () =>
            {
                var bIsZero = Eq(b, 0.0);
                return g * Where(bIsZero, a.Const(0), b * Pow(a, Where(bIsZero, b.Const(2), b) - 1.0));
            }),
            For(b, () =>
            {
                var logIsZero = Eq(a, 0.0) * Ge(b, 0.0);
                return g * Where(logIsZero, a.Const(0), y * Log(Where(logIsZero, a.Const(1), a)));
            }),
        ], jvp: Fwd ? t => SumTerms(
            Lin(t[0], ta =>
            {
                var bIsZero = Eq(b, 0.0);
                return ta * Where(bIsZero, a.Const(0), b * Pow(a, Where(bIsZero, b.Const(2), b) - 1.0));
            }),
            Lin(t[1], tb =>
            {
                var logIsZero = Eq(a, 0.0) * Ge(b, 0.0);
                return tb * Where(logIsZero, a.Const(0), y * Log(Where(logIsZero, a.Const(1), a)));
            })) : null);
    }

    /// <summary>x raised to a constant exponent. d/dx = c x^(c-1) (0 for c = 0).</summary>
    public static Tensor Pow(Tensor x, double exponent)
    {
        x.RequireFloat("pow");
        // Squares and square roots are most of the powers losses take: use the exact, faster kernels.
        var y = exponent switch
        {
            2 => Zip("pow", x, x, new MulK()),
            0.5 => Map("pow", x, new SqrtK()),
            _ => Zip("pow", x, x.Const(exponent), new PowK()),
        };
        return Record(y, "pow", [x], g =>
        [
            exponent == 0 ? ZerosLike(x) : exponent == 1 ? g : exponent == 2 ? g * 2.0 * x : g * exponent * Pow(x, exponent - 1),
        ], jvp: Fwd ? t => (exponent == 0 ? null : exponent == 1 ? t[0] : exponent == 2 ? t[0]! * 2.0 * x : t[0]! * exponent * Pow(x, exponent - 1)) : null);
    }

    /// <summary>A constant base raised to x elementwise. d/dx = base^x log(base).</summary>
    public static Tensor Pow(double @base, Tensor x)
    {
        x.RequireFloat("pow");
        var y = Zip("pow", x.Const(@base), x, new PowK());
        return Record(y, "pow", [x], g => [g * y * Math.Log(@base)], jvp: Fwd ? t => t[0]! * y * Math.Log(@base) : null);
    }

    /// <summary>
    /// The angle of the point (x, y) elementwise, in (-pi, pi], with broadcasting (F#: <c>atan2 y x</c>).
    /// d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2); at the origin both are 0/0 = NaN, as in PyTorch.
    /// </summary>
    public static Tensor Atan2(Tensor y, Tensor x)
    {
        (y, x) = Promote("atan2", y, x);
        var angle = Zip("atan2", y, x, new Atan2K());
        return Record(angle, "atan2", [y, x], g =>
        {
            var r2 = x * x + y * y;
            return [For(y, () => g * x / r2), For(x, () => -g * y / r2)];
        }, jvp: Fwd ? t => SumTerms(Lin(t[0], ty => ty * x), Lin(t[1], tx => -tx * y)) is { } numerator ? numerator / (x * x + y * y) : null : null);
    }

    /// <summary>Elementwise maximum with broadcasting; on ties the gradient is split equally (as PyTorch).</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        (a, b) = Promote("maximum", a, b);
        var y = Zip("maximum", a, b, new MaxK());
        return Record(y, "maximum", [a, b], g =>
        {
            var share = Gt(a, b) + Eq(a, b) * 0.5;
            return [For(a, () => g * share), For(b, () => g * (1.0 - share))];
        }, jvp: Fwd ? t =>
        {
            var share = Gt(a, b) + Eq(a, b) * 0.5;
            return SumTerms(Lin(t[0], ta => ta * share), Lin(t[1], tb => tb * (1.0 - share)));
        } : null);
    }

    /// <summary>Elementwise minimum with broadcasting; on ties the gradient is split equally (as PyTorch).</summary>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        (a, b) = Promote("minimum", a, b);
        var y = Zip("minimum", a, b, new MinK());
        return Record(y, "minimum", [a, b], g =>
        {
            var share = Lt(a, b) + Eq(a, b) * 0.5;
            return [For(a, () => g * share), For(b, () => g * (1.0 - share))];
        }, jvp: Fwd ? t =>
        {
            var share = Lt(a, b) + Eq(a, b) * 0.5;
            return SumTerms(Lin(t[0], ta => ta * share), Lin(t[1], tb => tb * (1.0 - share)));
        } : null);
    }

    /// <summary>Elementwise maximum with a number (F#: <c>Tensor.maximum x 0.0</c>); see <see cref="Maximum(Tensor, Tensor)"/>.</summary>
    public static Tensor Maximum(Tensor a, double b) => Maximum(a, a.Const(b));
    /// <summary>Elementwise maximum with a number (F#: <c>Tensor.maximum 0.0 x</c>); see <see cref="Maximum(Tensor, Tensor)"/>.</summary>
    public static Tensor Maximum(double a, Tensor b) => Maximum(b.Const(a), b);
    /// <summary>Elementwise minimum with a number; see <see cref="Minimum(Tensor, Tensor)"/>.</summary>
    public static Tensor Minimum(Tensor a, double b) => Minimum(a, a.Const(b));
    /// <summary>Elementwise minimum with a number; see <see cref="Minimum(Tensor, Tensor)"/>.</summary>
    public static Tensor Minimum(double a, Tensor b) => Minimum(b.Const(a), b);

    /// <summary>
    /// x * log(y), exactly 0 wherever x == 0 (even where y == 0): the building block of KL and
    /// entropy. Both gradients are finite there: d/dx is taken as 0 and d/dy as 0 where x == 0.
    /// </summary>
    public static Tensor Xlogy(Tensor x, Tensor y)
    {
        (x, y) = Promote("xlogy", x, y);
        var result = Zip("xlogy", x, y, new XlogyK());
        return Record(result, "xlogy", [x, y], g =>
        {
            var zero = x.Const(0);
            var xIsZero = Eq(x, 0.0);
            // y is replaced by 1 where x == 0 before log and the division, not only masked after:
            // the unchosen branch's rule still runs under createGraph, and log's 1/y or the
            // quotient's -x/y^2 at y = 0 would make second derivatives NaN (see Where).
            var ySafe = Where(xIsZero, y.Const(1), y);
            return
            [
                For(x, () => g * Where(xIsZero, zero, Log(ySafe))),
                For(y, () => g * Where(xIsZero, zero, x / ySafe)),
            ];
        }, jvp: Fwd ? t =>
        {
            var zero = x.Const(0);
            var xIsZero = Eq(x, 0.0);
            var ySafe = Where(xIsZero, y.Const(1), y);
            return SumTerms(Lin(t[0], tx => tx * Where(xIsZero, zero, Log(ySafe))), Lin(t[1], ty => ty * Where(xIsZero, zero, x / ySafe)));
        } : null);
    }
}
