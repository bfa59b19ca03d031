namespace AutoKl;

/// <summary>
/// How many cores AutoKl's kernels may use (PyTorch's <c>torch.set_num_threads</c>). Only
/// large tensors are split (tens of thousands of elements and up); results are the same for
/// every setting, bit for bit, since each output element is computed by one thread in a fixed
/// order. (Across a run, TensorPrimitives' float64 sin and cos can round the last bit
/// differently before and after the JIT optimises them; that does not depend on this setting.)
/// </summary>
public static class Parallelism
{
    private static int _maxThreads = Environment.ProcessorCount;

    /// <summary>The most threads one kernel uses; defaults to the number of cores. Set 1 to stay on the calling thread.</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value < 1) throw new AutoKlException("parallelism", $"MaxThreads must be at least 1, got {value}");
            _maxThreads = value;
        }
    }
}
