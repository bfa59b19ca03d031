using System.Numerics;
using System.Numerics.Tensors;

namespace AutoKl.Kernels;

internal static class MatMulKernel
{
    /// <summary>
    /// c[m,n] = a[m,k] b[k,n] for contiguous row-major blocks. Each output row is built as a sum
    /// of scaled rows of b, so the inner loop is a vectorised multiply-add over contiguous memory.
    /// </summary>
    public static void Run<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int k, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 1)
        {
            for (int i = 0; i < m; i++) c[i] = TensorPrimitives.Dot(a.Slice(i * k, k), b);
            return;
        }
        c.Clear();
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * n, n);
            for (int p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), a[i * k + p], row, row);
        }
    }
}
