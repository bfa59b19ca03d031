namespace AutoKl.Kernels;

/// <summary>A piece of kernel work over the items [start, end); a struct, so the unsplit path allocates nothing.</summary>
internal interface IChunkBody
{
    void Run(int start, int end);
}

/// <summary>
/// Splits a large kernel into contiguous chunks run on several cores. Every chunk writes its own
/// slice of the output and every output element is computed by one thread in a fixed order, so
/// results do not depend on the number of threads or on scheduling.
/// </summary>
internal static class Chunked
{
    /// <summary>
    /// Below this much work (in elements) per thread a kernel stays on the calling thread: handing
    /// work to the pool costs microseconds, which pays off only on tensors of tens of thousands
    /// of elements (PyTorch's grain size is 32768 too).
    /// </summary>
    internal const int MinWorkPerThread = 1 << 15;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in at most
    /// <see cref="Parallelism.MaxThreads"/> chunks of at least <see cref="MinWorkPerThread"/>
    /// elements of work each (an item costs <paramref name="workPerItem"/>) and at least
    /// <paramref name="minItemsPerChunk"/> items each.
    /// </summary>
    public static void Run<B>(int count, int workPerItem, B body, int minItemsPerChunk = 1) where B : struct, IChunkBody
    {
        long work = (long)count * Math.Max(workPerItem, 1);
        int chunks = (int)Math.Min(Math.Min(Parallelism.MaxThreads, count / Math.Max(minItemsPerChunk, 1)), work / MinWorkPerThread);
        if (chunks <= 1) body.Run(0, count);
        else Split(count, chunks, body);
    }

    // Separate from Run: the closure is allocated where its method starts.
    private static void Split<B>(int count, int chunks, B body) where B : struct, IChunkBody
        => Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks },
            c => body.Run((int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
}
