using BenchmarkDotNet.Attributes;

namespace AutoKl.Benchmarks;

/// <summary>(a) One step of the reference Gaussian fit: forward, backward, Adam update.</summary>
[MemoryDiagnoser]
public class GaussianFitStep
{
    [Params(DType.Float32, DType.Float64)]
    public DType DType { get; set; }

    private GaussianFit _fit = null!;

    [GlobalSetup]
    public void Setup() => _fit = new GaussianFit(DType);

    [Benchmark(Description = "gaussian fit: one Adam step")]
    public double Step() => _fit.Step();

    [Benchmark(Description = "gaussian fit: one Adam step in a TensorScope")]
    public double ScopedStep() => _fit.ScopedStep();
}

/// <summary>A training step of the [256, 4096] workload: zero_grad, log_softmax + kl_div, backward, Adam.</summary>
[MemoryDiagnoser]
public class LogSoftmaxKlTrainingStep
{
    private LogSoftmaxKlAdam _work = null!;

    [GlobalSetup]
    public void Setup() => _work = new LogSoftmaxKlAdam(256, 4096, DType.Float32);

    [Benchmark(Description = "log_softmax + kl_div + Adam [256,4096] f32, in a TensorScope")]
    public double ScopedStep() => _work.ScopedStep();

    [Benchmark(Description = "the same through Minimize.Run (10 steps per call)")]
    public void Minimize() => _work.Run(10);
}

/// <summary>(b) Forward and backward of log_softmax + kl_div(batchmean) on a [256, 4096] float32 batch.</summary>
[MemoryDiagnoser]
public class LogSoftmaxKlBatch
{
    /// <summary>AutoKl's argument checks (Validation): on by default; PyTorch has none.</summary>
    [Params(true, false)]
    public bool Checks { get; set; }

    private LogSoftmaxKl _work = null!;
    private IDisposable? _checksOff;

    [GlobalSetup]
    public void Setup()
    {
        _work = new LogSoftmaxKl(256, 4096, DType.Float32);
        if (!Checks) _checksOff = Validation.Disabled();
    }

    [GlobalCleanup]
    public void Cleanup() => _checksOff?.Dispose();

    [Benchmark(Description = "log_softmax + kl_div batchmean, fwd+bwd [256,4096] f32")]
    public double ForwardBackward() => _work.ForwardBackward();
}

/// <summary>(c) The whole reference fit: 10000 Adam steps in float32 from mu = 0, sigma = 1.</summary>
[MemoryDiagnoser]
public class GaussianFitFull
{
    [Benchmark(Description = "gaussian fit: 10000 steps f32")]
    public double Run()
    {
        var fit = new GaussianFit(DType.Float32);
        fit.Run(10000);
        return fit.Mu;
    }
}
