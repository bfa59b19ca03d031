using System.Numerics;

namespace AutoKl;

// Cumulative sums along an axis. The adjoint of a running sum is the running sum taken from
// the other end, so the forward and reverse scans are each other's backward rule.
public sealed partial class Tensor
{
    /// <summary>
    /// Running sum along <paramref name="axis"/> (torch.cumsum); with <paramref name="reverse"/>,
    /// from the last element backwards: result[i] = sum of x[j] for j &gt;= i.
    /// </summary>
    public static Tensor CumSum(Tensor x, int axis, bool reverse = false)
    {
        x.RequireFloat("cumsum");
        if (x.Rank == 0) return Identity(x);
        int a = Shapes.NormalizeAxis("cumsum", axis, x.Rank);
        int outer = 1, n = x.ShapeRef[a], inner = 1;
        for (int d = 0; d < a; d++) outer *= x.ShapeRef[d];
        for (int d = a + 1; d < x.Rank; d++) inner *= x.ShapeRef[d];
        var y = Empty(x.DType, x.ShapeRef);
        DTypeDispatch.Run(x.DType, new ScanBody(x, y, outer, n, inner, reverse));
        return Record(y, "cumsum", [x], g => [CumSum(g, a, !reverse)], readsValues: false, jvp: Fwd ? t => CumSum(t[0]!, a, reverse) : null);
    }

    // The running sum is kept in double for float32 too, as PyTorch does on the CPU: in float32
    // the rounding of a long sum drifts, so two CDFs that must agree differ by 1e-8 and flip the
    // sign of abs's gradient at their difference (Wasserstein-1).
    private static void Scan<T>(T[] x, T[] y, int outer, int n, int inner, bool reverse) where T : IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double acc = 0;
                for (int k = 0; k < n; k++)
                {
                    int at = (o * n + (reverse ? n - 1 - k : k)) * inner + i;
                    acc += double.CreateTruncating(x[at]);
                    y[at] = T.CreateTruncating(acc);
                }
            }
    }

    private readonly struct ScanBody(Tensor x, Tensor y, int outer, int n, int inner, bool reverse) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, IFloatingPointIeee754<T> => Scan(x.Data<T>(), y.Data<T>(), outer, n, inner, reverse);
    }

    /// <summary>Running sum along an axis (see <see cref="CumSum(Tensor, int, bool)"/>).</summary>
    public Tensor CumSum(int axis, bool reverse = false) => CumSum(this, axis, reverse);
}
