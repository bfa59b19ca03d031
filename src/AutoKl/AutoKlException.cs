namespace AutoKl;

/// <summary>
/// The error AutoKl raises for bad input: a shape mismatch, a bad axis, an index out of range,
/// a backward pass that cannot run. The message always starts with the name of the operation at
/// fault and names the shapes or values involved.
/// </summary>
public sealed class AutoKlException : Exception
{
    /// <summary>The operation that refused its input, e.g. <c>add</c> or <c>kl_div</c>.</summary>
    public string Operation { get; }

    /// <summary>Creates the exception; <paramref name="message"/> is prefixed with the operation name.</summary>
    public AutoKlException(string operation, string message)
        : base($"{operation}: {message}")
    {
        Operation = operation;
    }

    /// <summary>Creates the exception for a failure inside <paramref name="operation"/> caused by
    /// <paramref name="inner"/> (e.g. user code run by a custom op).</summary>
    public AutoKlException(string operation, string message, Exception inner)
        : base($"{operation}: {message}", inner)
    {
        Operation = operation;
    }
}
