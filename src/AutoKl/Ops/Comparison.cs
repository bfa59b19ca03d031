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
        if (a.DType == DType.Float32) Select(c.Data<float>(), Expanded(a, shape).Data<float>(), Expanded(b, shape).Data<float>(), y.Data<float>());
        else Select(c.Data<double>(), Expanded(a, shape).Data<double>(), Expanded(b, shape).Data<double>(), y.Data<double>());
        return Record(y, "where", [a, b], g =>
        [
            For(a, () => SumTo(Where(c, g, g.Const(0)), a.ShapeRef)),
            For(b, () => SumTo(Where(c, g.Const(0), g), b.ShapeRef)),
        ], alsoSaved: [c]);

        static void Select<T>(T[] c, T[] a, T[] b, T[] y) where T : System.Numerics.INumber<T>
        {
            for (int i = 0; i < y.Length; i++) y[i] = c[i] != T.Zero ? a[i] : b[i];
        }
    }

    /// <summary>The raw values broadcast to <paramref name="shape"/> (no recording); the tensor itself when already that shape.</summary>
    internal static Tensor Expanded(Tensor x, int[] shape)
    {
        if (Shapes.Equal(x.ShapeRef, shape)) return x;
        var y = Uninitialized(x.DType, shape);
        switch (x.Storage)
        {
            case float[] f: Layout.Expand(f, x.ShapeRef, shape, y.Span<float>()); break;
            case double[] d: Layout.Expand(d, x.ShapeRef, shape, y.Span<double>()); break;
            case long[] l: Layout.Expand(l, x.ShapeRef, shape, y.Span<long>()); break;
        }
        return y;
    }

    /// <summary>True where the value is neither infinite nor NaN (as a mask).</summary>
    public static Tensor IsFinite(Tensor x)
    {
        x.RequireFloat("isfinite");
        var y = Empty(x.DType, x.ShapeRef);
        if (x.DType == DType.Float32) Finite(x.Data<float>(), y.Data<float>());
        else Finite(x.Data<double>(), y.Data<double>());
        return y;

        static void Finite<T>(T[] x, T[] y) where T : System.Numerics.IFloatingPointIeee754<T>
        {
            for (int i = 0; i < x.Length; i++) y[i] = T.IsFinite(x[i]) ? T.One : T.Zero;
        }
    }

    internal void SetFlat(int i, double v)
    {
        switch (Storage)
        {
            case double[] d: d[i] = v; break;
            case float[] f: f[i] = (float)v; break;
            case long[] l: l[i] = (long)v; break;
        }
    }
}
