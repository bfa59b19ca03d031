using AutoKl.Kernels;

namespace AutoKl;

// Comparisons give masks (1 where true, 0 elsewhere) in the operands' dtype; they record nothing.
// Where selects between two tensors by such a mask and routes the gradient the same way.
public sealed partial class Tensor
{
    private static Tensor Compare(string op, Relation relation, Tensor a, Tensor b)
    {
        (a, b) = Promote(op, a, b);
        return Zip(op, a, b, new CompareK(relation));
    }

    /// <summary>Mask of a &lt; b.</summary>
    public static Tensor Lt(Tensor a, Tensor b) => Compare("lt", Relation.Lt, a, b);
    /// <summary>Mask of a &lt;= b.</summary>
    public static Tensor Le(Tensor a, Tensor b) => Compare("le", Relation.Le, a, b);
    /// <summary>Mask of a &gt; b.</summary>
    public static Tensor Gt(Tensor a, Tensor b) => Compare("gt", Relation.Gt, a, b);
    /// <summary>Mask of a &gt;= b.</summary>
    public static Tensor Ge(Tensor a, Tensor b) => Compare("ge", Relation.Ge, a, b);
    /// <summary>Mask of a == b.</summary>
    public static Tensor Eq(Tensor a, Tensor b) => Compare("eq", Relation.Eq, a, b);
    /// <summary>Mask of a != b.</summary>
    public static Tensor Ne(Tensor a, Tensor b) => Compare("ne", Relation.Ne, a, b);
    /// <summary>Mask of a &lt; b.</summary>
    public static Tensor Lt(Tensor a, double b) => Lt(a, a.Const(b));
    /// <summary>Mask of a &lt;= b.</summary>
    public static Tensor Le(Tensor a, double b) => Le(a, a.Const(b));
    /// <summary>Mask of a &gt; b.</summary>
    public static Tensor Gt(Tensor a, double b) => Gt(a, a.Const(b));
    /// <summary>Mask of a &gt;= b.</summary>
    public static Tensor Ge(Tensor a, double b) => Ge(a, a.Const(b));
    /// <summary>Mask of a == b.</summary>
    public static Tensor Eq(Tensor a, double b) => Eq(a, a.Const(b));
    /// <summary>Mask of a != b.</summary>
    public static Tensor Ne(Tensor a, double b) => Ne(a, a.Const(b));

    /// <summary>Mask of a &lt; b.</summary>
    public static Tensor Lt(double a, Tensor b) => Lt(b.Const(a), b);
    /// <summary>Mask of a &lt;= b.</summary>
    public static Tensor Le(double a, Tensor b) => Le(b.Const(a), b);
    /// <summary>Mask of a &gt; b.</summary>
    public static Tensor Gt(double a, Tensor b) => Gt(b.Const(a), b);
    /// <summary>Mask of a &gt;= b.</summary>
    public static Tensor Ge(double a, Tensor b) => Ge(b.Const(a), b);
    /// <summary>Mask of a == b.</summary>
    public static Tensor Eq(double a, Tensor b) => Eq(b.Const(a), b);
    /// <summary>Mask of a != b.</summary>
    public static Tensor Ne(double a, Tensor b) => Ne(b.Const(a), b);

    /// <summary><paramref name="a"/> where <paramref name="condition"/> is non-zero, else the number <paramref name="b"/>; see <see cref="Where(Tensor, Tensor, Tensor)"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, double b) => Where(condition, a, a.Const(b));
    /// <summary>The number <paramref name="a"/> where <paramref name="condition"/> is non-zero, else <paramref name="b"/>; see <see cref="Where(Tensor, Tensor, Tensor)"/>.</summary>
    public static Tensor Where(Tensor condition, double a, Tensor b) => Where(condition, b.Const(a), b);

    /// <summary>
    /// Elementwise choice with broadcasting: <paramref name="a"/> where <paramref name="condition"/>
    /// is non-zero, else <paramref name="b"/>. Unlike a blend a*c + b*(1-c), an infinite or NaN
    /// value on the side not chosen never reaches the result, and Where's own rule sends that side
    /// a zero gradient. As in PyTorch, the op that computed the unchosen value still runs its rule:
    /// <c>Where(x > 0, Log(x), 0)</c> has a NaN gradient at x = 0 (log's 0/0), so guard the
    /// argument too: <c>Where(x > 0, Log(Where(x > 0, x, 1)), 0)</c>.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        (a, b) = Promote("where", a, b);
        var shape = Shapes.Broadcast("where", Shapes.Broadcast("where", condition.ShapeRef, a.ShapeRef), b.ShapeRef);
        var c = Expanded(condition.DType == a.DType ? condition : condition.Detach().ToType(a.DType), shape);
        var y = Empty(a.DType, shape);
        DTypeDispatch.Run(a.DType, new SelectBody(c, Expanded(a, shape), Expanded(b, shape), y));
        return Record(y, "where", [a, b], g =>
        [
            For(a, () => Where(c, g, g.Const(0))),
            For(b, () => Where(c, g.Const(0), g)),
        ], alsoSaved: [c], jvp: Fwd ? t => Where(c, t[0] ?? a.Const(0), t[1] ?? b.Const(0)) : null);
    }

    private readonly struct SelectBody(Tensor c, Tensor a, Tensor b, Tensor y) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            T[] cs = c.Data<T>(), xs = a.Data<T>(), ys = b.Data<T>(), result = y.Data<T>();
            for (int i = 0; i < result.Length; i++) result[i] = cs[i] != T.Zero ? xs[i] : ys[i];
        }
    }

    /// <summary>True where the value is neither infinite nor NaN (as a mask).</summary>
    public static Tensor IsFinite(Tensor x)
    {
        x.RequireFloat("isfinite");
        var y = Empty(x.DType, x.ShapeRef);
        DTypeDispatch.Run(x.DType, new FiniteBody(x, y));
        return y;
    }

    private readonly struct FiniteBody(Tensor x, Tensor y) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            T[] xs = x.Data<T>(), result = y.Data<T>();
            for (int i = 0; i < xs.Length; i++) result[i] = T.IsFinite(xs[i]) ? T.One : T.Zero;
        }
    }
}
