using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

/// <summary>
/// log_softmax over contiguous rows when its backward pass is to come (Ops/Softmax.cs): the
/// forward pass writes exp(x - max) beside the output (in the pass that sums them, so it costs a
/// store, not an exp) and keeps each row's sum, and the backward rules read softmax as
/// exps / sum instead of computing exp(y) again.
/// </summary>
internal static class LogSoftmaxKept
{
    /// <summary>
    /// Per row of <paramref name="n"/>: y = (x - max) - log(s), exps = exp(x - max), sums = s
    /// (s = sum(exps)); a row whose s is not finite (it held +inf or NaN) is NaN in y, as
    /// <see cref="LogSoftmaxRow"/> makes it. With <paramref name="y"/> empty the output is not
    /// written, and <paramref name="shifts"/> gets each row's max and log(s) (NaN when s is not
    /// finite), from which <see cref="WriteShifted"/> writes it later, to the same bits.
    /// </summary>
    public static void Forward<T>(T[] x, int n, T[] y, T[] exps, T[] sums, T[] shifts) where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(sums.Length, 2 * n, new ForwardChunk<T>(x, n, y, exps, sums, shifts));

    private readonly record struct ForwardChunk<T>(T[] X, int N, T[] Y, T[] Exps, T[] Sums, T[] Shifts) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                var x = X.AsSpan(r * N, N);
                T max = Rows.FiniteMax<T>(x);
                T sum = FastMath.ExpOfDifferenceAndSum<T>(x, max, Exps.AsSpan(r * N, N));
                Sums[r] = sum;
                T logSum = T.IsFinite(sum) ? T.Log(sum) : T.NaN;
                if (Shifts.Length > 0) (Shifts[2 * r], Shifts[2 * r + 1]) = (max, logSum);
                // a NaN logSum makes the row NaN, as WriteShifted makes it later
                if (Y.Length > 0) LogSoftmaxRow.ShiftedLess<T>(x, max, logSum, Y.AsSpan(r * N, N));
            }
        }
    }

    /// <summary>y = (x - max) - logSum per row of <paramref name="n"/>, from the row shifts <see cref="Forward"/> kept (a NaN logSum makes the row NaN).</summary>
    public static void WriteShifted<T>(T[] x, int n, T[] shifts, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(shifts.Length / 2, n, new ShiftedChunk<T>(x, n, shifts, y));

    private readonly record struct ShiftedChunk<T>(T[] X, int N, T[] Shifts, T[] Y) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            for (int r = start; r < end; r++)
                LogSoftmaxRow.ShiftedLess<T>(X.AsSpan(r * N, N), Shifts[2 * r], Shifts[2 * r + 1], Y.AsSpan(r * N, N));
        }
    }

    /// <summary>Per row: dx = g - softmax * sum(g), softmax = exps / s, as (exps * (sum(g) / s) - g) * -1.</summary>
    public static void Backward<T>(T[] exps, T[] sums, T[] g, int n, T[] dx) where T : unmanaged, IFloatingPointIeee754<T>
        => Chunked.Run(sums.Length, 2 * n, new BackwardChunk<T>(exps, sums, g, n, dx));

    private readonly record struct BackwardChunk<T>(T[] Exps, T[] Sums, T[] G, int N, T[] Dx) : IChunkBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Run(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                var g = G.AsSpan(r * N, N);
                Fused.TimesMinus<T>(Exps.AsSpan(r * N, N), TensorPrimitives.Sum<T>(g) / Sums[r], g, -T.One, Dx.AsSpan(r * N, N));
            }
        }
    }
}
