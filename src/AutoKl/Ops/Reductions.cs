using AutoKl.Kernels;

namespace AutoKl;

// Reductions over all elements or over any set of axes, with keepDim as in PyTorch.
public sealed partial class Tensor
{
    private static Tensor ReduceRaw<K>(string op, Tensor x, int[] axes, bool keepDim, K kernel) where K : struct, IReduceKernel
    {
        x.RequireFloat(op);
        var shape = Shapes.Reduced(x.ShapeRef, axes, keepDim);
        Array data = DTypeDispatch.Run<ReduceBody<K>, Array>(x.DType, new ReduceBody<K>(x, axes, kernel));
        return new Tensor(data, shape);
    }

    private readonly struct ReduceBody<K>(Tensor x, int[] axes, K kernel) : IFloatFunc<Array> where K : struct, IReduceKernel
    {
        public Array Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => AxisReduction.Run(x.Data<T>(), x.ShapeRef, axes, kernel);
    }

    /// <summary>The gradient of a reduced tensor, reshaped with the reduced axes kept and stretched back to the input's shape.</summary>
    private static Tensor Unreduce(Tensor g, int[] inputShape, int[] axes) =>
        g.Reshape(Shapes.Reduced(inputShape, axes, keepDim: true)).Expand(inputShape);

    /// <summary>Sum of all elements (a scalar).</summary>
    public static Tensor Sum(Tensor x) => Sum(x, Array.Empty<int>());

    /// <summary>Sum over <paramref name="axes"/> (all when empty).</summary>
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim = false)
    {
        var ax = Shapes.NormalizeAxes("sum", axes, x.Rank);
        var y = ReduceRaw("sum", x, ax, keepDim, new SumR());
        return Record(y, "sum", [x], g => [Unreduce(g, x.ShapeRef, ax)], readsValues: false, jvp: Fwd ? t => Sum(t[0]!, ax, keepDim) : null);
    }

    /// <summary>Sum over one axis.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => Sum(x, [axis], keepDim);

    /// <summary>Mean of all elements.</summary>
    public static Tensor Mean(Tensor x) => Mean(x, Array.Empty<int>());

    /// <summary>Mean over <paramref name="axes"/> (all when empty).</summary>
    public static Tensor Mean(Tensor x, int[] axes, bool keepDim = false)
    {
        x.RequireFloat("mean");
        var ax = Shapes.NormalizeAxes("mean", axes, x.Rank);
        int count = ax.Aggregate(1, (n, a) => n * x.ShapeRef[a]);
        return Sum(x, ax, keepDim) / (double)count;
    }

    /// <summary>Mean over one axis.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => Mean(x, [axis], keepDim);

    /// <summary>Largest element (a scalar). The gradient is shared equally among ties (PyTorch's amax).</summary>
    public static Tensor Max(Tensor x) => Max(x, Array.Empty<int>());

    /// <summary>Largest values over <paramref name="axes"/>; the gradient is shared equally among ties.</summary>
    public static Tensor Max(Tensor x, int[] axes, bool keepDim = false) => Extremum("max", x, axes, keepDim, new MaxR());

    /// <summary>Largest values along one axis.</summary>
    public static Tensor Max(Tensor x, int axis, bool keepDim = false) => Max(x, [axis], keepDim);

    /// <summary>Smallest element (a scalar). The gradient is shared equally among ties (PyTorch's amin).</summary>
    public static Tensor Min(Tensor x) => Min(x, Array.Empty<int>());

    /// <summary>Smallest values over <paramref name="axes"/>; the gradient is shared equally among ties.</summary>
    public static Tensor Min(Tensor x, int[] axes, bool keepDim = false) => Extremum("min", x, axes, keepDim, new MinR());

    /// <summary>Smallest values along one axis.</summary>
    public static Tensor Min(Tensor x, int axis, bool keepDim = false) => Min(x, [axis], keepDim);

    private static Tensor Extremum<K>(string op, Tensor x, int[] axes, bool keepDim, K kernel) where K : struct, IReduceKernel
    {
        var ax = Shapes.NormalizeAxes(op, axes, x.Rank);
        // An empty reduced axis is refused by the kernel; an empty tensor reduced over non-empty
        // axes gives an empty result, as PyTorch's amax/amin.
        var y = ReduceRaw(op, x, ax, keepDim, kernel);
        return Record(y, op, [x], g =>
        {
            var keptShape = Shapes.Reduced(x.ShapeRef, ax, keepDim: true);
            var winners = Eq(x, y.Detach().Reshape(keptShape));
            var share = winners / Sum(winners, ax, keepDim: true);
            return [share * g.Reshape(keptShape)];
        }, jvp: Fwd ? t =>
        {
            var winners = Eq(x, y.Detach().Reshape(Shapes.Reduced(x.ShapeRef, ax, keepDim: true)));
            return Sum(winners / Sum(winners, ax, keepDim: true) * t[0]!, ax, keepDim);
        } : null);
    }

    /// <summary>
    /// log(sum(exp(x))) over <paramref name="axes"/>, shifted by the maximum along those axes so
    /// that rows far from zero (1e4 in float32, 1e300 in float64) neither overflow nor underflow.
    /// </summary>
    public static Tensor LogSumExp(Tensor x, int[] axes, bool keepDim = false)
    {
        x.RequireFloat("logsumexp");
        var ax = Shapes.NormalizeAxes("logsumexp", axes, x.Rank);
        var keptShape = Shapes.Reduced(x.ShapeRef, ax, keepDim: true);
        // log(sum(exp(x - max))) + max, a row at a time; -inf over an empty axis
        var y = RowWise(x, null, ax, new LogSumExpRow());
        if (keepDim) y = y.SharingStorage(keptShape);
        // The gradient is softmax(x), taken as exp(log_softmax(x)) rather than exp(x - y): at 1e300
        // y is rounded by far more than 1, and exp(x - y) would give 1 for every element of the row.
        return Record(y, "logsumexp", [x], g => [g.Reshape(keptShape) * Exp(LogSoftmaxOver(x, ax))],
            jvp: Fwd ? t => Sum(t[0]! * Exp(LogSoftmaxOver(x, ax)), ax, keepDim) : null);
    }

    /// <summary>logsumexp along one axis.</summary>
    public static Tensor LogSumExp(Tensor x, int axis, bool keepDim = false) => LogSumExp(x, [axis], keepDim);

    /// <summary>logsumexp of all elements.</summary>
    public static Tensor LogSumExp(Tensor x) => LogSumExp(x, Array.Empty<int>());

    /// <summary>Variance over <paramref name="axes"/> with Bessel's <paramref name="correction"/> (1: unbiased, as torch.var).</summary>
    public static Tensor Var(Tensor x, int[] axes, int correction = 1, bool keepDim = false)
    {
        var ax = Shapes.NormalizeAxes("var", axes, x.Rank);
        int count = ax.Aggregate(1, (n, a) => n * x.ShapeRef[a]);
        var centred = x - Mean(x, ax, keepDim: true);
        return Sum(centred * centred, ax, keepDim) / (double)Math.Max(count - correction, 0);
    }

    /// <summary>Standard deviation over <paramref name="axes"/> (sqrt of <see cref="Var"/>).</summary>
    public static Tensor Std(Tensor x, int[] axes, int correction = 1, bool keepDim = false) => Sqrt(Var(x, axes, correction, keepDim));

    /// <summary>Index of the largest value along <paramref name="axis"/> (first among ties), as int64.</summary>
    public static Tensor ArgMax(Tensor x, int axis, bool keepDim = false) => ArgExtremum("argmax", x, axis, keepDim, +1);

    /// <summary>Index of the smallest value along <paramref name="axis"/> (first among ties), as int64.</summary>
    public static Tensor ArgMin(Tensor x, int axis, bool keepDim = false) => ArgExtremum("argmin", x, axis, keepDim, -1);

    private static Tensor ArgExtremum(string op, Tensor x, int axis, bool keepDim, int direction)
    {
        x.RequireFloat(op);
        int a = Shapes.NormalizeAxis(op, axis, x.Rank);
        if (x.Rank == 0) return new Tensor(new long[1], Shapes.Scalar);
        int outer = 1, n = x.ShapeRef[a], inner = 1;
        if (n == 0) throw new AutoKlException(op, $"axis {axis} of shape {Shapes.Format(x.ShapeRef)} is empty");
        for (int d = 0; d < a; d++) outer *= x.ShapeRef[d];
        for (int d = a + 1; d < x.Rank; d++) inner *= x.ShapeRef[d];
        var result = new long[outer * inner];
        DTypeDispatch.Run(x.DType, new FirstExtremeBody(x, result, outer, n, inner, direction));
        return new Tensor(result, Shapes.Reduced(x.ShapeRef, [a], keepDim));
    }

    /// <summary>The index of the first extreme value along the middle axis; a NaN wins, as in PyTorch.</summary>
    private static void FirstExtreme<T>(T[] x, long[] result, int outer, int n, int inner, int direction) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                T bestValue = x[o * n * inner + i];
                for (int k = 1; k < n && !T.IsNaN(bestValue); k++)
                {
                    T v = x[(o * n + k) * inner + i];
                    if (T.IsNaN(v) || (direction > 0 ? v > bestValue : v < bestValue)) { best = k; bestValue = v; }
                }
                result[o * inner + i] = best;
            }
    }

    private readonly struct FirstExtremeBody(Tensor x, long[] result, int outer, int n, int inner, int direction) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => FirstExtreme(x.Data<T>(), result, outer, n, inner, direction);
    }
}
