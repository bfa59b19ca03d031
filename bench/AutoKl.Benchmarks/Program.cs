using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Running;

namespace AutoKl.Benchmarks;

/// <summary>
/// BenchmarkDotNet's switcher (all its options: --filter, --job short, --list flat, ...); with
/// --timing a plain Stopwatch run that bench/compare.sh sets beside bench/pytorch_bench.py; with
/// --profile a per-op breakdown of the log_softmax + KL workload.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--timing")
        {
            int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
            Timing.Run(rounds);
            return 0;
        }
        if (args.Length > 0 && args[0] == "--profile")
        {
            Profile.Run();
            return 0;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}

/// <summary>
/// Wall time per operation of each workload (the fastest of several batches), printed as "name seconds" lines, the same
/// names and the same repetition counts as bench/pytorch_bench.py.
/// </summary>
public static class Timing
{
    public static void Run(int rounds)
    {
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var fit = new GaussianFit(dtype);
            Report($"gaussian_step_{Name(dtype)}", rounds, 1000, () => fit.Step());
        }
        var batch = new LogSoftmaxKl(256, 4096, DType.Float32);
        Report("logsoftmax_kl_256x4096_float32", rounds, 10, () => batch.ForwardBackward());
        double mu = 0, sigma = 0;
        Report("gaussian_fit_10000_float32", rounds, 1, () =>
        {
            var fit = new GaussianFit(DType.Float32);
            fit.Run(10000);
            (mu, sigma) = (fit.Mu, fit.Sigma);
        });
        Console.Error.WriteLine($"# final mu {mu:F4} sigma {sigma:F4} (float32, 10000 steps)");

        // The same with AutoKl's argument checks switched off (Validation.Disabled), as a hot
        // loop whose data was validated once may do; PyTorch runs no such checks.
        using (Validation.Disabled())
        {
            var fit = new GaussianFit(DType.Float32);
            Report("gaussian_step_float32_nochecks", rounds, 1000, () => fit.Step());
            Report("logsoftmax_kl_256x4096_float32_nochecks", rounds, 10, () => batch.ForwardBackward());
        }
    }

    private static string Name(DType dtype) => dtype == DType.Float32 ? "float32" : "float64";

    /// <summary>Warm up, then time <paramref name="rounds"/> batches of <paramref name="perRound"/> calls; print the fastest batch's time per call.</summary>
    private static void Report(string name, int rounds, int perRound, Action op)
    {
        // Warm up for at least half a second so the JIT has promoted the hot code to its final tier.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < Math.Max(1, perRound / 2) || warm.Elapsed.TotalSeconds < 0.5; i++) op();
        var perCall = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < perRound; i++) op();
            perCall[r] = sw.Elapsed.TotalSeconds / perRound;
        }
        // The fastest batch: on a shared machine, other work only ever adds time.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {perCall.Min():E6}"));
    }
}
