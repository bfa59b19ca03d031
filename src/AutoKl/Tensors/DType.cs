namespace AutoKl;

/// <summary>The element type of a tensor.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (C# <c>float</c>, F# <c>float32</c>): the default, as in PyTorch.</summary>
    Float32,
    /// <summary>64-bit IEEE float (C# <c>double</c>, F# <c>float</c>): use it for gradient checks.</summary>
    Float64,
    /// <summary>64-bit integers: class indices and gather/index arguments. Not differentiable; arithmetic refuses it.</summary>
    Int64,
}

/// <summary>Helpers on <see cref="DType"/>.</summary>
public static class DTypeExtensions
{
    /// <summary>True for Float32 and Float64.</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype != DType.Int64;

    /// <summary>PyTorch-style name: float32, float64, int64.</summary>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        _ => "int64",
    };
}
