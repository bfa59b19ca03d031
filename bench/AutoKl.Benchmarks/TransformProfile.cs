using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AutoKl.Benchmarks;

/// <summary>
/// `--profile-transforms [threads]`: where the time of the transform workloads goes. Each
/// transform is taken apart into the passes it runs (one column of the Hessian is one
/// Hessian-vector product; one column of a forward Jacobian one JVP; one row of a reverse
/// Jacobian one backward pass over a kept graph), each pass timed on its own with the bytes it
/// allocates, beside the bare forward pass of the same function and the fixed cost of one op.
/// `--floors`: this CPU's own limits (FMA throughput, exp throughput, memory bandwidth, the
/// matmul kernel's rate) that the hardware floors in bench/RESULTS.md are computed from.
/// </summary>
public static class TransformProfile
{
    public static void Run()
    {
        Console.WriteLine("# per call: fastest and median of 15 batches; bytes allocated per call on this thread");
        var scalar = Tensor.Scalar(1.5);
        var scalar2 = Tensor.Scalar(2.5);
        var leaf = Tensor.Scalar(1.5).RequiresGrad_();
        var e1 = Tensor.Scalar(1.0);
        Section("fixed cost of one op (float64 scalars)");
        using (Autograd.NoGrad()) Time("add, no tape", () => scalar + scalar2);
        Time("add, recorded (one input requires grad)", () => leaf + scalar2);
        Time("add inside a jvp (primal + tangent add)", () => Autograd.Jvp(t => t + scalar2, scalar, e1));
        Time("jvp of the identity (the transform's own cost)", () => Autograd.Jvp(t => t, scalar, e1));
        Time("grad of t*t (forward, tape, backward)", () => Autograd.Grad(t => t * t, scalar));
        Time("hvp of t*t", () => Autograd.Hvp(t => t * t, scalar, e1));

        var h = new LseQuadHessian();
        int n = LseQuadHessian.N;
        var x = h.Point;
        var e = Tensor.Zeros([n], DType.Float64);
        e.SetFlat(3, 1.0);
        Section($"hessian of logsumexp(A @ x) + 0.5 x Q x, n = {n} (one column = one hvp)");
        using (Autograd.NoGrad()) Time("f(x), no tape", () => h.F(x));
        var a = TransformData.Matrix(LseQuadHessian.M, n, (i, j) => 0.1 * Math.Sin(0.37 * (i * n + j) + 0.5));
        var q = TransformData.Matrix(n, n, (i, j) => 0.01 * Math.Cos(0.3 * (i + j)) + (i == j ? 1.0 : 0.0));
        using (Autograd.NoGrad())
        {
            var ax = Tensor.MatMul(a, x);
            var xq = Tensor.MatMul(x, q);
            var xqx = Tensor.MatMul(xq, x);
            var lse = Tensor.LogSumExp(ax, 0);
            Time("  A @ x  ([50,100] @ [100])", () => Tensor.MatMul(a, x));
            Time("  x @ Q  ([100] @ [100,100])", () => Tensor.MatMul(x, q));
            Time("  (x @ Q) @ x  ([100] @ [100])", () => Tensor.MatMul(xq, x));
            var xColumn = x.Reshape(n, 1);
            var xRow = x.Reshape(1, n);
            Time("  A @ x as [50,100] @ [100,1]", () => Tensor.MatMul(a, xColumn));
            Time("  x @ Q as [1,100] @ [100,100]", () => Tensor.MatMul(xRow, q));
            Time("  unsqueeze [100] -> [100,1]", () => Tensor.Unsqueeze(x, 1));
            var av = a.ToDoubleArray(); var xv = x.ToDoubleArray(); var yv = new double[LseQuadHessian.M];
            Time("  the kernel alone: 50 dots of 100", () => AutoKl.Kernels.MatMulKernel.Run<double>(av, xv, yv, LseQuadHessian.M, n, 1));
            Time("  logsumexp over 50", () => Tensor.LogSumExp(ax, 0));
            Time("  0.5 * scalar", () => 0.5 * xqx);
            Time("  scalar + scalar", () => lse + xqx);
            Time("  transpose [100,100]", () => Tensor.Transpose(q));
            Time("  [100] * [100]", () => x * x);
            Time("  zeros [100] + SetFlat (a basis vector)", () => { var d = Tensor.Zeros([n], DType.Float64); d.SetFlat(3, 1.0); return d; });
        }
        Time("grad f (forward with tape + backward)", () => Autograd.Grad(h.F, x));
        Time("jvp f along e_3", () => Autograd.Jvp(h.F, x, e));
        Time("hvp along e_3 (one Hessian column)", () => Autograd.Hvp(h.F, x, e));
        Time("Hessian (all columns)", () => h.Hessian(), perColumn: n);
        // what the same numbers cost without a transform: H = Q + A^T (diag(s) - s s^T) A, s = softmax(A x)
        using (Autograd.NoGrad())
        {
            Tensor Closed()
            {
                var s = Tensor.Softmax(Tensor.MatMul(a, x), 0);
                var at = Tensor.Transpose(a);
                var ats = Tensor.MatMul(at, s);
                return q + Tensor.MatMul(at * s, a) - Tensor.MatMul(ats.Reshape(n, 1), ats.Reshape(1, n));
            }
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# closed form against Autograd.Hessian: max |difference| {Tensor.Max(Tensor.Abs(Closed() - h.Hessian())).ToScalar():E2}"));
            Time("closed form with AutoKl ops (7 ops, no tape)", Closed);
        }

        var g = new TanhGateJacobian();
        int m = TanhGateJacobian.N;
        var gx = g.Point;
        var ge = Tensor.Zeros([m], DType.Float64);
        ge.SetFlat(3, 1.0);
        Section($"jacobian of tanh(W @ x + b) * x, {m} -> {m}");
        using (Autograd.NoGrad()) Time("g(x), no tape", () => g.G(gx));
        Time("g(x), recorded", () => g.G(gx.Detach().RequiresGrad_()));
        Time("jvp g along e_3 (one forward column)", () => Autograd.Jvp(g.G, gx, ge));
        Time("vjp g with e_3 (forward with tape + one backward)", () => Autograd.Vjp(g.G, gx, ge));
        Time("Jacobian, forward (all columns)", () => g.Jacobian(JacobianMode.Forward), perColumn: m);
        Time("Jacobian, reverse (all rows)", () => g.Jacobian(JacobianMode.Reverse), perColumn: m);
        Time("Jacobian, auto", () => g.Jacobian(JacobianMode.Auto), perColumn: m);

        Section("jvp of kl_div(log_softmax(logits), target, 'batchmean'), [256, 4096] float32");
        var gen = new Generator(0);
        var logits = Tensor.RandN([256, 4096], gen, DType.Float32);
        var target = Tensor.Softmax(Tensor.RandN([256, 4096], gen, DType.Float32), 1);
        var tangent = Tensor.RandN([256, 4096], gen, DType.Float32);
        var logitsGrad = logits.Detach().RequiresGrad_();
        Tensor Loss(Tensor l) => Losses.KlDiv(Tensor.LogSoftmax(l, 1), target, Reduction.BatchMean);
        Scoped("forward, no tape (what jvp is measured against)", () => Loss(logits));
        Scoped("forward, recorded (fused kl_div over log_softmax)", () => Loss(logitsGrad));
        Scoped("forward + backward (the training step)", () => { logitsGrad.ZeroGrad(); Loss(logitsGrad).Backward(); });
        Scoped("jvp", () => Autograd.Jvp(Loss, logits, tangent));
        Scoped("the composition jvp takes, no tape (fusion off)", () =>
        {
            FusedOps.Enabled = false;
            try { return Loss(logits); } finally { FusedOps.Enabled = true; }
        });
        using (Autograd.NoGrad())
        {
            var y = Tensor.LogSoftmax(logits, 1);
            Scoped("  log_softmax (row kernel)", () => Tensor.LogSoftmax(logits, 1));
            Scoped("  exp", () => Tensor.Exp(y));
            Scoped("  mul (same shape)", () => y * tangent);
            Scoped("  sum (axis 1, keepdim)", () => Tensor.Sum(y, [1], keepDim: true));
            Scoped("  sub (row broadcast)", () => tangent - Tensor.Sum(y, [1], keepDim: true));
            Scoped("  xlogy", () => Tensor.Xlogy(target, target));
            Scoped("  sum (all)", () => Tensor.Sum(y));
            Scoped("  neg", () => -y);
        }
    }

    private static void Section(string title) => Console.WriteLine($"\n## {title}");

    private static void Scoped(string name, Func<object> op) => Time(name, () => { using (Tensor.Scope()) op(); });

    private static void Scoped(string name, Action op) => Time(name, () => { using (Tensor.Scope()) op(); });

    private static void Time(string name, Func<object> op, int perColumn = 0) => Time(name, () => { op(); }, perColumn);

    private static void Time(string name, Action op, int perColumn = 0) => Time(name, () => { op(); return -1; }, perColumn);

    /// <summary>
    /// Batches of calls sized to about 2 ms each after a 0.3 s warm-up; the fastest and the median of
    /// 15 batches per call (a self-timed op returns its own seconds), and the bytes one call allocates.
    /// </summary>
    private static void Time(string name, Func<double> op, int perColumn)
    {
        var warm = Stopwatch.StartNew();
        int calls = 0;
        while (warm.Elapsed.TotalSeconds < 0.3) { op(); calls++; }
        int batch = Math.Max(1, (int)(calls * 0.002 / warm.Elapsed.TotalSeconds));
        var times = new double[15];
        for (int r = 0; r < times.Length; r++)
        {
            var sw = Stopwatch.StartNew();
            double own = 0;
            for (int i = 0; i < batch; i++) own += op();
            times[r] = own > 0 ? own / batch : sw.Elapsed.TotalSeconds / batch;
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        op();
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Array.Sort(times);
        string column = perColumn > 0 ? string.Create(CultureInfo.InvariantCulture, $"   ({times[0] / perColumn * 1e6:F2} us per column)") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-56} min {Us(times[0]),10} median {Us(times[times.Length / 2]),10} {bytes / 1024.0,9:F1} KB{column}"));
    }

    private static string Us(double seconds) => seconds < 1e-3
        ? string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e6:F2} us")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds * 1e3:F3} ms");

    /// <summary>`--floors`: FMA and exp throughput, memory bandwidth and the matmul kernel's rate on this CPU, one thread.</summary>
    public static void Floors()
    {
        Console.WriteLine($"Vector256 accelerated: {Vector256.IsHardwareAccelerated}, Vector512: {Vector512.IsHardwareAccelerated}, Fma: {System.Runtime.Intrinsics.X86.Fma.IsSupported}");
        Best("FMA peak, float64 (GFLOP/s, 1 thread)", () => FmaRateDouble());
        Best("FMA peak, float32 (GFLOP/s, 1 thread)", () => FmaRateFloat());
        var big = new float[1 << 20];
        var outp = new float[1 << 20];
        var r = new Random(1);
        for (int i = 0; i < big.Length; i++) big[i] = (float)(r.NextDouble() * 4 - 2);
        Best("FastMath.Exp float32, 1M in L2/L3 (G exp/s)", () => Rate(() => AutoKl.Kernels.FastMath.Exp<float>(big, outp), big.Length));
        var bigD = new double[1 << 20];
        var outD = new double[1 << 20];
        for (int i = 0; i < bigD.Length; i++) bigD[i] = r.NextDouble() * 4 - 2;
        Best("FastMath.Exp float64, 1M (G exp/s)", () => Rate(() => AutoKl.Kernels.FastMath.Exp<double>(bigD, outD), bigD.Length));
        var huge = new float[1 << 25];
        for (int i = 0; i < huge.Length; i += 1024) huge[i] = 1;
        Best("read bandwidth, 128 MB sum (GB/s)", () => Rate(() => System.Numerics.Tensors.TensorPrimitives.Sum<float>(huge), huge.Length * 4.0));
        Best("read bandwidth, 4 MB sum (in L3) (GB/s)", () => Rate(() => System.Numerics.Tensors.TensorPrimitives.Sum<float>(big), big.Length * 4.0));
        Best("copy 4 MB (read + write, GB/s)", () => Rate(() => big.AsSpan().CopyTo(outp), big.Length * 8.0));
        var d100 = Enumerable.Range(0, 100).Select(i => Math.Sin(i)).ToArray();
        var e100 = Enumerable.Range(0, 100).Select(i => Math.Cos(i)).ToArray();
        var o100 = new double[100];
        Best("TensorPrimitives.Dot double[100] (M calls/s)", () => Rate(() => System.Numerics.Tensors.TensorPrimitives.Dot<double>(d100, e100), 1000));
        Best("TensorPrimitives.MultiplyAdd double[100] (M calls/s)", () => Rate(() => System.Numerics.Tensors.TensorPrimitives.MultiplyAdd<double>(d100, 0.5, e100, o100), 1000));
        Best("hand loop dot double[100] (M calls/s)", () => Rate(() => HandDot(d100, e100), 1000));
        foreach (int size in new[] { 64, 100, 256 })
        {
            var a = Tensor.RandN([size, size], new Generator(1), DType.Float64);
            var b = Tensor.RandN([size, size], new Generator(2), DType.Float64);
            using (Autograd.NoGrad())
                Best($"AutoKl MatMul [{size},{size}] float64 (GFLOP/s)", () => Rate(() => Tensor.MatMul(a, b), 2.0 * size * size * size));
        }
    }

    private static void Best(string name, Func<double> rate)
    {
        var rates = Enumerable.Range(0, 9).Select(_ => rate()).OrderByDescending(v => v).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-50} best {rates[0] / 1e9,8:F2}   median {rates[4] / 1e9,8:F2}"));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double HandDot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Units per second of <paramref name="op"/> over about 50 ms.</summary>
    private static double Rate(Action op, double units)
    {
        op();
        var sw = Stopwatch.StartNew();
        int calls = 0;
        while (sw.Elapsed.TotalSeconds < 0.05) { op(); calls++; }
        return calls * units / sw.Elapsed.TotalSeconds;
    }

    /// <summary>FLOP/s of independent vector FMA chains (12 accumulators: more than latency x ports).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double FmaRateDouble()
    {
        var m = Vector256.Create((double)(1 - 1e-7));
        var c = Vector256.Create((double)1e-7);
        Vector256<double> a0 = Vector256<double>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        const int iters = 2_000_000;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iters; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        if (Vector256.Sum(sum) == 0) Console.Write("");
        return 12.0 * Vector256<double>.Count * 2 * iters / seconds;
    }

    /// <summary>FLOP/s of independent vector FMA chains (12 accumulators: more than latency x ports).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double FmaRateFloat()
    {
        var m = Vector256.Create((float)(1 - 1e-7));
        var c = Vector256.Create((float)1e-7);
        Vector256<float> a0 = Vector256<float>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        const int iters = 2_000_000;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < iters; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        var sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
        if (Vector256.Sum(sum) == 0) Console.Write("");
        return 12.0 * Vector256<float>.Count * 2 * iters / seconds;
    }
}
