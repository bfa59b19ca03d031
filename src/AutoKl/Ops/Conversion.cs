namespace AutoKl;

// Ops that pass the values through, converted or not: the gradient goes back the same way
// (converted back to the input's dtype, or unchanged).
public sealed partial class Tensor
{
    /// <summary>
    /// The values converted to <paramref name="dtype"/>. Between float types the gradient is
    /// converted back; conversion to or from int64 records nothing.
    /// </summary>
    public static Tensor ToType(Tensor x, DType dtype)
    {
        if (x.DType == dtype) return x;
        var y = new Tensor(DTypeDispatch.RunAny<ConvertBody, Array>(dtype, new(x)), x.ShapeRef);
        if (!dtype.IsFloatingPoint() || !x.DType.IsFloatingPoint()) return y;
        return Record(y, "to", [x], g => [ToType(g, x.DType)], readsValues: false, jvp: Fwd ? t => ToType(t[0]!, dtype) : null);
    }

    private readonly struct ConvertBody(Tensor x) : IElementFunc<Array>
    {
        public Array Run<T>() where T : unmanaged, System.Numerics.INumber<T> => x.ValuesAs<T>();
    }

    /// <summary>
    /// The same values as a new recorded tensor (gradient passes unchanged): a transform's point
    /// over an argument an outer computation records. It shares the argument's version counter, so
    /// an in-place change of either after recording is refused by backward as for the other.
    /// </summary>
    internal static Tensor Identity(Tensor x) => Record(x.View(x.ShapeRef), "identity", [x], g => [g], readsValues: false, jvp: Fwd ? t => t[0] : null);
}
