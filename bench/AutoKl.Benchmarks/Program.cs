using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;

namespace AutoKl.Benchmarks;

/// <summary>
/// BenchmarkDotNet's switcher (all its options: --filter, --job short, --list flat, ...); with
/// --timing [rounds] [threads] [--large] a plain Stopwatch run that bench/compare.sh sets beside bench/pytorch_bench.py; with
/// --alloc the bytes each warm training step allocates; with
/// --profile a per-op breakdown of the log_softmax + KL workload; with --profile-transforms [threads]
/// the passes the transforms (Hessian, Jacobians, JVP) run, each timed; with --floors this CPU's
/// FMA and exp throughput, memory bandwidth and matmul rate.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--timing")
        {
            int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
            // the same thread count as the PyTorch side (torch.set_num_threads)
            if (args.Length > 2) Parallelism.MaxThreads = int.Parse(args[2], CultureInfo.InvariantCulture);
            Timing.Run(rounds, large: args.Contains("--large"));
            return 0;
        }
        if (args.Length > 0 && args[0] == "--alloc")
        {
            Allocation.Run();
            return 0;
        }
        if (args.Length > 0 && args[0] == "--profile")
        {
            if (args.Length > 1) Parallelism.MaxThreads = int.Parse(args[1], CultureInfo.InvariantCulture);
            Profile.Run();
            return 0;
        }
        if (args.Length > 0 && args[0] == "--profile-transforms")
        {
            if (args.Length > 1) Parallelism.MaxThreads = int.Parse(args[1], CultureInfo.InvariantCulture);
            TransformProfile.Run();
            return 0;
        }
        if (args.Length > 0 && args[0] == "--floors")
        {
            Parallelism.MaxThreads = 1;
            TransformProfile.Floors();
            return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}

/// <summary>
/// Wall time per operation of each workload (the fastest and the median of several batches), printed as
/// "name fastest median" lines (seconds per call), the same names and the same repetition counts as
/// bench/pytorch_bench.py.
/// </summary>
public static class Timing
{
    /// <summary>
    /// Runs every workload twice over and prints each one's fastest batch (over both sweeps) and
    /// median batch (of the second sweep): the first sweep also serves to let the JIT promote all
    /// the shared code (kernels, tape, optimizer) to optimised code, which on a busy machine takes
    /// seconds. With <paramref name="large"/> the [1024, 32768] batch runs as well (about 1 GB).
    /// </summary>
    public static void Run(int rounds, bool large)
    {
        var best = new Dictionary<string, (double Fastest, double Median)>();
        var order = new List<string>();
        double mu = 0, sigma = 0;
        for (int sweep = 0; sweep < 2; sweep++)
        {
            void Report(string name, int perRound, Action op, int warmSteps = 0)
            {
                if (!Selected(name)) return;
                var (fastest, median) = Measure(rounds, perRound, op, warmSteps);
                if (!best.TryGetValue(name, out var previous)) { order.Add(name); best[name] = (fastest, median); }
                else best[name] = (Math.Min(previous.Fastest, fastest), median);
            }

            foreach (var dtype in new[] { DType.Float32, DType.Float64 })
            {
                var fit = new GaussianFit(dtype);
                Report($"gaussian_step_{Name(dtype)}", 1000, () => fit.Step());
            }
            // Each batch step inside a TensorScope, as a hot loop should run it (the storage its
            // tensors took goes back to the pool for the next step, as PyTorch's caching allocator
            // does by reference counting); "_noscope" runs the same step without one.
            var batch = new LogSoftmaxKl(256, 4096, DType.Float32);
            foreach (var (name, op) in BatchWorkloads.Make(batch))
            {
                Report(name, 10, () => { using (Tensor.Scope()) op(); });
                Report(name + "_noscope", 10, op);
            }
            Report("gaussian_fit_10000_float32", 1, () =>
            {
                var fit = new GaussianFit(DType.Float32);
                fit.Run(10000);
                (mu, sigma) = (fit.Mu, fit.Sigma);
            });
            if (large)
            {
                var big = new LogSoftmaxKl(1024, 32768, DType.Float32);
                Report("logsoftmax_kl_1024x32768_float32", 1, () => { using (Tensor.Scope()) big.ForwardBackward(); });
                // Without a scope each step's 128 MB log_softmax output is garbage for the collector,
                // which settles only after a dozen such steps and then runs a full collection every
                // few steps: batches of 6 steps so that each holds one, after 12 steps of warm-up.
                Report("logsoftmax_kl_1024x32768_float32_noscope", 6, () => big.ForwardBackward(), warmSteps: 12);
            }

            // The transforms (functorch's hessian, jacfwd, jacrev and jvp on the PyTorch side).
            var hessian = new LseQuadHessian();
            Report("hessian_lse_quad_100_float64", 10, () => { using (Tensor.Scope()) hessian.Hessian(); });
            var jacobian = new TanhGateJacobian();
            Report("jacfwd_tanh_64_float64", 10, () => { using (Tensor.Scope()) jacobian.Jacobian(JacobianMode.Forward); });
            Report("jacrev_tanh_64_float64", 10, () => { using (Tensor.Scope()) jacobian.Jacobian(JacobianMode.Reverse); });
            // Auto (the default) picks reverse mode here (as many outputs as inputs), after a probe pass.
            Report("jacrev_tanh_64_float64_auto", 10, () => { using (Tensor.Scope()) jacobian.Jacobian(JacobianMode.Auto); });
            // jvp of the [256, 4096] loss against the same loss's forward pass without a tape
            // (compare.sh prints jvp / forward for each side).
            var jvp = new LogSoftmaxKlJvp(256, 4096, DType.Float32);
            Report("forward_logsoftmax_kl_256x4096_float32", 10, () => { using (Tensor.Scope()) jvp.Forward(); });
            Report("jvp_logsoftmax_kl_256x4096_float32", 10, () => { using (Tensor.Scope()) jvp.Jvp(); });
            // both sides print these sums: the results must agree (to rounding)
            if (sweep == 0 && Selected("hessian_lse_quad_100_float64"))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# hessian sum {TransformData.Checksum(hessian.Hessian()):R}"));
            if (sweep == 0 && (Selected("jacfwd_tanh_64_float64") || Selected("jacrev_tanh_64_float64")))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"# jacobian sum fwd {TransformData.Checksum(jacobian.Jacobian(JacobianMode.Forward)):R} rev {TransformData.Checksum(jacobian.Jacobian(JacobianMode.Reverse)):R}"));

            // The same with AutoKl's argument checks switched off (Validation.Disabled), as a hot
            // loop whose data was validated once may do; PyTorch runs no such checks.
            using (Validation.Disabled())
            {
                var fit = new GaussianFit(DType.Float32);
                Report("gaussian_step_float32_nochecks", 1000, () => fit.Step());
                Report("logsoftmax_kl_256x4096_float32_nochecks", 10, () => { using (Tensor.Scope()) batch.ForwardBackward(); });
            }
        }
        foreach (var name in order)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {best[name].Fastest:E6} {best[name].Median:E6}"));
        Console.Error.WriteLine($"# final mu {mu:F4} sigma {sigma:F4} (float32, 10000 steps)");
    }

    /// <summary>
    /// AUTOKL_BENCH_ONLY (short alternating runs): a comma-separated list of patterns; a workload
    /// runs when its name contains one of them, or, for a pattern written ^prefix, starts with it.
    /// Unset or empty: every workload.
    /// </summary>
    internal static bool Selected(string name)
    {
        if (Environment.GetEnvironmentVariable("AUTOKL_BENCH_ONLY") is not { Length: > 0 } only) return true;
        foreach (var pattern in only.Split(',', StringSplitOptions.RemoveEmptyEntries))
            if (pattern[0] == '^' ? name.StartsWith(pattern[1..], StringComparison.Ordinal) : name.Contains(pattern, StringComparison.Ordinal))
                return true;
        return false;
    }

    private static string Name(DType dtype) => dtype == DType.Float32 ? "float32" : "float64";

    /// <summary>Warms up (at least <paramref name="warmSteps"/> calls and half a second), then times <paramref name="rounds"/> batches of <paramref name="perRound"/> calls; returns the fastest and the median batch's seconds per call.</summary>
    private static (double Fastest, double Median) Measure(int rounds, int perRound, Action op, int warmSteps = 0)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < Math.Max(Math.Max(1, perRound / 2), warmSteps) || warm.Elapsed.TotalSeconds < 0.5; i++) op();
        var perCall = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < perRound; i++) op();
            perCall[r] = sw.Elapsed.TotalSeconds / perRound;
        }
        Array.Sort(perCall);
        // The fastest batch: on a shared machine, other work only ever adds time; the median shows the typical one.
        return (perCall[0], perCall[rounds / 2]);
    }
}

/// <summary>
/// `--alloc`: the bytes one warm training step allocates on the calling thread (all of them: storage
/// and bookkeeping), and how many storage arrays the pool had to allocate fresh per step, per
/// workload, in a hand-written loop (with and without a TensorScope per step) and in Minimize.Run
/// (a scope per step); one thread, so every allocation is on the thread measured.
/// </summary>
public static class Allocation
{
    public static void Run()
    {
        Parallelism.MaxThreads = 1;
        Console.WriteLine($"{"workload",-70} {"per step",15} {"fresh arrays",13}");
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            string name = $"gaussian_step_{(dtype == DType.Float32 ? "float32" : "float64")}";
            var fit = new GaussianFit(dtype);
            Report($"{name} (hand-written loop)", 200, () => fit.Step());
            var scoped = new GaussianFit(dtype);
            Report($"{name} (hand-written loop, a TensorScope per step)", 200, () => scoped.ScopedStep());
            var run = new GaussianFit(dtype);
            Report($"{name} (Minimize.Run, 1000 steps / 1000)", 1, () => run.Run(1000), perCall: 1000);
        }
        foreach (var (name, op) in BatchWorkloads.Make(new LogSoftmaxKl(256, 4096, DType.Float32))) Report(name, 10, op);
        var adam = new LogSoftmaxKlAdam(256, 4096, DType.Float32);
        Report("logsoftmax_kl_256x4096_float32 + Adam (hand-written loop, a TensorScope per step)", 20, () => adam.ScopedStep());
        var adamRun = new LogSoftmaxKlAdam(256, 4096, DType.Float32);
        Report("logsoftmax_kl_256x4096_float32 + Adam (Minimize.Run, 20 steps / 20)", 1, () => adamRun.Run(20), perCall: 20);
    }

    private static void Report(string name, int calls, Action op, int perCall = 1)
    {
        for (int i = 0; i < 3; i++) op();
        long fresh = StoragePool.FreshArrays;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) op();
        double bytes = (double)(GC.GetAllocatedBytesForCurrentThread() - before) / calls / perCall;
        double arrays = (double)(StoragePool.FreshArrays - fresh) / calls / perCall;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-70} {bytes / 1024,12:F1} KB {arrays,13:F2}"));
    }
}

/// <summary>The [256, 4096] float32 workloads that --timing and --alloc both run, under the names compare.sh pairs with PyTorch's.</summary>
internal static class BatchWorkloads
{
    /// <param name="kl">The plain log_softmax + kl_div workload (kept by the caller for its no-checks run).</param>
    public static (string Name, Action Op)[] Make(LogSoftmaxKl kl)
    {
        var logTarget = new LogSoftmaxKl(256, 4096, DType.Float32, logTarget: true);
        var ceIndex = new CrossEntropyBatch(256, 4096, soft: false);
        var ceSoft = new CrossEntropyBatch(256, 4096, soft: true);
        return
        [
            ("logsoftmax_kl_256x4096_float32", () => kl.ForwardBackward()),
            ("logsoftmax_kl_logtarget_256x4096_float32", () => logTarget.ForwardBackward()),
            ("cross_entropy_index_256x4096_float32", () => ceIndex.ForwardBackward()),
            ("cross_entropy_soft_256x4096_float32", () => ceSoft.ForwardBackward()),
        ];
    }
}
