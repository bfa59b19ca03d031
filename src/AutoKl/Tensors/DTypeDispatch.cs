using System.Numerics;

namespace AutoKl;

/// <summary>Code written once for both floating element types; <see cref="DTypeDispatch"/> runs it for a dtype.</summary>
internal interface IFloatBody
{
    void Run<T>() where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>Like <see cref="IFloatBody"/>, with a result.</summary>
internal interface IFloatFunc<out R>
{
    R Run<T>() where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>
/// Code written once for every element type, int64 included: moving, filling, reading, writing or
/// converting values, never arithmetic a float op would do. <see cref="DTypeDispatch.RunAny{B}"/> runs it for a dtype.
/// </summary>
internal interface IElementBody
{
    void Run<T>() where T : unmanaged, INumber<T>;
}

/// <summary>Like <see cref="IElementBody"/>, with a result.</summary>
internal interface IElementFunc<out R>
{
    R Run<T>() where T : unmanaged, INumber<T>;
}

/// <summary>
/// The one place a dtype becomes an element type: float32 runs the body with <c>float</c>,
/// float64 with <c>double</c>, and (<see cref="RunAny{B}"/> only) int64 with <c>long</c>. Ops,
/// losses, creation, optimizers and checks write their loops once, generic in T, in a struct body
/// (no allocation, specialised by the JIT for each type), and call this instead of branching on
/// the dtype or on the storage array's type themselves.
/// </summary>
/// <example>
/// <code>
/// DTypeDispatch.Run(x.DType, new ScaleBody(x, y, factor));                       // no result
/// var total = DTypeDispatch.Run&lt;TotalBody, double&gt;(x.DType, new(x));          // a result
/// DTypeDispatch.RunAny(x.DType, new PermuteBody(x, perm, y));                   // int64 too
/// </code>
/// </example>
internal static class DTypeDispatch
{
    /// <summary>Runs <paramref name="body"/> with the floating element type of <paramref name="dtype"/>.</summary>
    public static void Run<B>(DType dtype, B body) where B : struct, IFloatBody
    {
        switch (dtype)
        {
            case DType.Float32: body.Run<float>(); break;
            case DType.Float64: body.Run<double>(); break;
            default: throw NotFloat(dtype);
        }
    }

    /// <summary>Runs <paramref name="body"/> with the floating element type of <paramref name="dtype"/>; its result.</summary>
    public static R Run<B, R>(DType dtype, B body) where B : struct, IFloatFunc<R> => dtype switch
    {
        DType.Float32 => body.Run<float>(),
        DType.Float64 => body.Run<double>(),
        _ => throw NotFloat(dtype),
    };

    /// <summary>Runs <paramref name="body"/> with the element type of <paramref name="dtype"/>, int64 included.</summary>
    public static void RunAny<B>(DType dtype, B body) where B : struct, IElementBody
    {
        switch (dtype)
        {
            case DType.Float32: body.Run<float>(); break;
            case DType.Float64: body.Run<double>(); break;
            default: body.Run<long>(); break; // int64 (creation has always taken any other value for int64 too)
        }
    }

    /// <summary>Runs <paramref name="body"/> with the element type of <paramref name="dtype"/>, int64 included; its result.</summary>
    public static R RunAny<B, R>(DType dtype, B body) where B : struct, IElementFunc<R> => dtype switch
    {
        DType.Float32 => body.Run<float>(),
        DType.Float64 => body.Run<double>(),
        _ => body.Run<long>(), // int64 (creation has always taken any other value for int64 too)
    };

    /// <summary>The dtype of a storage array: the other way round.</summary>
    public static DType Of(Array storage) => storage switch
    {
        float[] => DType.Float32,
        double[] => DType.Float64,
        long[] => DType.Int64,
        _ => throw new ArgumentException($"unsupported storage {storage.GetType()}"),
    };

    // Callers check RequireFloat first; reaching this is a bug in the library.
    private static InvalidOperationException NotFloat(DType dtype) => new($"internal error: no floating element type for {dtype}");
}
