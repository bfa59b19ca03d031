namespace AutoKl.Kernels;

/// <summary>
/// Splits a large kernel into contiguous chunks run on several cores. Every chunk writes its own
/// slice of the output and every row is reduced by one thread, so results do not depend on the
/// number of threads or on scheduling: a run is bit-identical with 1 thread or many.
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
    /// Whether <see cref="For"/> would split the work. Callers test this first and build the
    /// closure for <see cref="For"/> in a separate path, so small tensors allocate nothing.
    /// </summary>
    public static bool Splits(int count, int workPerItem) => Chunks(count, workPerItem) > 1;

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>) in at most
    /// <see cref="Parallelism.MaxThreads"/> chunks of at least <see cref="MinWorkPerThread"/>
    /// elements of work each, where an item costs <paramref name="workPerItem"/> elements.
    /// </summary>
    public static void For(int count, int workPerItem, Action<int, int> body)
    {
        int chunks = Chunks(count, workPerItem);
        if (chunks <= 1)
        {
            body(0, count);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks },
            c => body((int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks)));
    }

    private static int Chunks(int count, int workPerItem)
    {
        long work = (long)count * Math.Max(workPerItem, 1);
        return (int)Math.Min(Math.Min(Parallelism.MaxThreads, count), work / MinWorkPerThread);
    }
}
