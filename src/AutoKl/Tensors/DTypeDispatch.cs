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
/// The one place a floating dtype becomes an element type: float32 runs the body with
/// <c>float</c>, float64 with <c>double</c>. Ops, optimizers and checks write their loops once,
/// generic in T, in a struct body (no allocation, specialised by the JIT for each type), and
/// call this instead of branching on the dtype themselves.
/// </summary>
internal static class DTypeDispatch
{
    public static void Run<B>(DType dtype, B body) where B : struct, IFloatBody
    {
        switch (dtype)
        {
            case DType.Float32: body.Run<float>(); break;
            case DType.Float64: body.Run<double>(); break;
            default: throw NotFloat(dtype);
        }
    }

    public static R Run<B, R>(DType dtype, B body) where B : struct, IFloatFunc<R> => dtype switch
    {
        DType.Float32 => body.Run<float>(),
        DType.Float64 => body.Run<double>(),
        _ => throw NotFloat(dtype),
    };

    // Callers check RequireFloat first; reaching this is a bug in the library.
    private static InvalidOperationException NotFloat(DType dtype) => new($"internal error: no floating element type for {dtype}");
}
