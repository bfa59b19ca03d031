using System.Diagnostics;
using System.Globalization;

namespace AutoKl.Benchmarks;

/// <summary>
/// `--profile`: where the time of the log_softmax + KL workload goes. Times each engine op
/// it uses on a [256, 4096] float32 tensor on its own (no recording), the recorded forward,
/// the backward alone, and the bare cost of allocating a result of that size, so a slow
/// workload can be traced to a kernel, to allocation, or to the tape.
/// </summary>
public static class Profile
{
    public static void Run()
    {
        var gen = new Generator(1);
        var x = Tensor.RandN([256, 4096], gen, DType.Float32);
        var t = Tensor.Softmax(Tensor.RandN([256, 4096], gen, DType.Float32), 1);
        var row = Tensor.RandN([256, 1], gen, DType.Float32);
        var one = Tensor.Scalar(1.0, DType.Float32);
        using (Autograd.NoGrad())
        {
            Time("alloc float[1M] (new array, zeroed)", () => GC.KeepAlive(new float[256 * 4096]));
            Time("exp", () => Tensor.Exp(x));
            Time("log", () => Tensor.Log(t));
            Time("neg", () => -x);
            Time("mul (same shape)", () => x * t);
            Time("sub (same shape)", () => x - t);
            Time("sub (row broadcast [256,1])", () => x - row);
            Time("mul (by scalar tensor)", () => x * one);
            Time("xlogy (same shape)", () => Tensor.Xlogy(t, t));
            Time("sum (all)", () => Tensor.Sum(x));
            Time("sum (axis 1, keepdim)", () => Tensor.Sum(x, [1], keepDim: true));
            Time("max (axis 1, keepdim)", () => Tensor.Max(x, [1], keepDim: true));
            Time("isfinite", () => Tensor.IsFinite(x));
            Time("expand [1,1] -> [256,4096]", () => Tensor.Expand(Tensor.Scalar(1.0, DType.Float32).Reshape(1, 1), [256, 4096]));
            Time("logsumexp (axis 1)", () => Tensor.LogSumExp(x, [1], keepDim: true));
            Time("log_softmax (axis 1)", () => Tensor.LogSoftmax(x, 1));
            var raw = new float[256 * 4096]; var rawOut = new float[256 * 4096]; var xs = x.ToSingleArray(); var ts = t.ToSingleArray();
            Time("TensorPrimitives.Exp float[1M] (no alloc)", () => System.Numerics.Tensors.TensorPrimitives.Exp(xs, rawOut));
            Time("TensorPrimitives.Log float[1M] (no alloc)", () => System.Numerics.Tensors.TensorPrimitives.Log(ts, rawOut));
            Time("FastMath.Exp float[1M] (no alloc)", () => AutoKl.Kernels.FastMath.Exp<float>(xs, rawOut));
            Time("TensorPrimitives.Max float[1M] (no alloc)", () => System.Numerics.Tensors.TensorPrimitives.Max(xs));
            Time("copy float[1M] (no alloc)", () => xs.CopyTo(rawOut, 0));
        }
        using (Autograd.NoGrad())
        {
            var logQ = Tensor.LogSoftmax(x, 1);
            Time("kl_div batchmean (checks on)", () => Losses.KlDiv(logQ, t, Reduction.BatchMean));
            using (Validation.Disabled())
                Time("kl_div batchmean (checks off)", () => Losses.KlDiv(logQ, t, Reduction.BatchMean));
        }
        var logitsCe = Tensor.RandN([256, 4096], gen, DType.Float32).RequiresGrad_();
        var classes = Tensor.FromArray(Enumerable.Range(0, 256).Select(i => (long)(i * 7 % 4096)).ToArray());
        Time("cross_entropy index: forward, recorded", () => { using (Tensor.Scope()) Losses.CrossEntropy(logitsCe, classes); });
        Time("cross_entropy index: backward only", () => { using (Tensor.Scope()) { var loss = Losses.CrossEntropy(logitsCe, classes); logitsCe.ZeroGrad(); var sw = Stopwatch.StartNew(); loss.Backward(); return sw.Elapsed.TotalSeconds; } }, selfTimed: true);
        Time("cross_entropy soft: forward, recorded", () => { using (Tensor.Scope()) Losses.CrossEntropy(logitsCe, t); });
        Time("cross_entropy soft: backward only", () => { using (Tensor.Scope()) { var loss = Losses.CrossEntropy(logitsCe, t); logitsCe.ZeroGrad(); var sw = Stopwatch.StartNew(); loss.Backward(); return sw.Elapsed.TotalSeconds; } }, selfTimed: true);
        var work = new LogSoftmaxKl(256, 4096, DType.Float32);
        Time("workload: forward, recorded", () => work.Loss());
        Time("workload: backward only", () => { var loss = work.Loss(); work.Logits.ZeroGrad(); var sw = Stopwatch.StartNew(); loss.Backward(); return sw.Elapsed.TotalSeconds; }, selfTimed: true);
        Time("workload: forward + backward", () => work.ForwardBackward());
    }

    private static void Time(string name, Func<object> op) => Time(name, () => { op(); return -1; }, selfTimed: false);

    private static void Time(string name, Action op) => Time(name, () => { op(); return -1; }, selfTimed: false);

    /// <summary>
    /// Fastest and median of 15 calls after a warm-up (a self-timed op returns its own seconds).
    /// On a busy machine the fastest call is the better estimate of the op's own cost.
    /// </summary>
    private static void Time(string name, Func<double> op, bool selfTimed)
    {
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < 0.3) op();
        var times = new double[15];
        for (int i = 0; i < times.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            double own = op();
            times[i] = selfTimed ? own : sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-40} min {times[0] * 1e3,8:F3} ms   median {times[times.Length / 2] * 1e3,8:F3} ms"));
    }
}
