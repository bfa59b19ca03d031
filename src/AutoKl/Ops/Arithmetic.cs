using AutoKl.Kernels;

namespace AutoKl;

// Binary arithmetic with broadcasting. Each rule ends in SumTo, which undoes the broadcast.
public sealed partial class Tensor
{
    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        (a, b) = Promote("add", a, b);
        var y = Zip("add", a, b, new AddK());
        return Record(y, "add", [a, b], g => [For(a, () => SumTo(g, a.ShapeRef)), For(b, () => SumTo(g, b.ShapeRef))]);
    }

    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        (a, b) = Promote("sub", a, b);
        var y = Zip("sub", a, b, new SubK());
        return Record(y, "sub", [a, b], g => [For(a, () => SumTo(g, a.ShapeRef)), For(b, () => SumTo(-g, b.ShapeRef))]);
    }

    /// <summary>a * b elementwise with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        (a, b) = Promote("mul", a, b);
        var y = Zip("mul", a, b, new MulK());
        return Record(y, "mul", [a, b], g => [For(a, () => SumTo(g * b, a.ShapeRef)), For(b, () => SumTo(g * a, b.ShapeRef))]);
    }

    /// <summary>a / b elementwise with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        (a, b) = Promote("div", a, b);
        var y = Zip("div", a, b, new DivK());
        return Record(y, "div", [a, b], g => [For(a, () => SumTo(g / b, a.ShapeRef)), For(b, () => SumTo(-g * y / b, b.ShapeRef))]);
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x)
    {
        var y = Map("neg", x, new NegK());
        return Record(y, "neg", [x], g => [-g]);
    }

    /// <summary>
    /// a raised to b elementwise. d/da is b a^(b-1), taken as 0 where b == 0 (as PyTorch; the
    /// formula would give 0 * inf at a == 0); d/db uses log a, taken as 0 where a == 0 and b >= 0.
    /// </summary>
    public static Tensor Pow(Tensor a, Tensor b)
    {
        (a, b) = Promote("pow", a, b);
        var y = Zip("pow", a, b, new PowK());
        return Record(y, "pow", [a, b], g =>
        [
            For(a, () => SumTo(g * Where(Eq(b, 0.0), a.Const(0), b * Pow(a, b - 1.0)), a.ShapeRef)),
            For(b, () => SumTo(g * Where(Eq(a, 0.0) * Ge(b, 0.0), a.Const(0), y * Log(a)), b.ShapeRef)),
        ]);
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
        ]);
    }

    /// <summary>A constant base raised to x elementwise. d/dx = base^x log(base).</summary>
    public static Tensor Pow(double @base, Tensor x)
    {
        x.RequireFloat("pow");
        var y = Zip("pow", x.Const(@base), x, new PowK());
        return Record(y, "pow", [x], g => [g * y * Math.Log(@base)]);
    }

    /// <summary>Elementwise maximum with broadcasting; on ties the gradient is split equally (as PyTorch).</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        (a, b) = Promote("maximum", a, b);
        var y = Zip("maximum", a, b, new MaxK());
        return Record(y, "maximum", [a, b], g =>
        {
            var share = Gt(a, b) + Eq(a, b) * 0.5;
            return [For(a, () => SumTo(g * share, a.ShapeRef)), For(b, () => SumTo(g * (1.0 - share), b.ShapeRef))];
        });
    }

    /// <summary>Elementwise minimum with broadcasting; on ties the gradient is split equally (as PyTorch).</summary>
    public static Tensor Minimum(Tensor a, Tensor b)
    {
        (a, b) = Promote("minimum", a, b);
        var y = Zip("minimum", a, b, new MinK());
        return Record(y, "minimum", [a, b], g =>
        {
            var share = Lt(a, b) + Eq(a, b) * 0.5;
            return [For(a, () => SumTo(g * share, a.ShapeRef)), For(b, () => SumTo(g * (1.0 - share), b.ShapeRef))];
        });
    }

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
            return
            [
                For(x, () => SumTo(g * Where(xIsZero, zero, Log(y)), x.ShapeRef)),
                For(y, () => SumTo(g * Where(xIsZero, zero, x / y), y.ShapeRef)),
            ];
        });
    }
}
