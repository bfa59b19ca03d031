using AutoKl.Distributions;
using AutoKl.Optim;

namespace AutoKl.Benchmarks;

/// <summary>
/// The reference experiment: fit Q = Normal(mu, sigma) to the sum of the N(-5, 1) and N(10, 1)
/// densities on 1000 points of [-15, 15] by minimising kl_div(log q(x), p(x)) with PyTorch's
/// default reduction ('mean' over the 1000 points), Adam with lr 1e-3 and default betas/eps.
/// One <see cref="Step"/> is what one iteration of the PyTorch loop does: zero the gradients,
/// compute the loss, backward, Adam update.
/// </summary>
public sealed class GaussianFit
{
    private readonly Tensor _x;
    private readonly Tensor _p;
    private readonly Tensor _mu, _sigma;
    private readonly Adam _adam;

    public GaussianFit(DType dtype, double mu0 = 0.0, double sigma0 = 1.0)
    {
        _x = Tensor.Linspace(-15, 15, 1000, dtype);
        _p = Tensor.Exp(new Normal(-5, 1, dtype).LogProb(_x)) + Tensor.Exp(new Normal(10, 1, dtype).LogProb(_x));
        _mu = Tensor.Scalar(mu0, dtype).RequiresGrad_();
        _sigma = Tensor.Scalar(sigma0, dtype).RequiresGrad_();
        _adam = new Adam([_mu, _sigma], lr: 1e-3);
    }

    public double Mu => _mu.ToScalar();
    public double Sigma => _sigma.ToScalar();

    /// <summary>kl_div(log q(x), p, reduction='mean') with log q the Normal log-density.</summary>
    public Tensor Loss() => Losses.KlDiv(new Normal(_mu, _sigma).LogProb(_x), _p, Reduction.Mean);

    /// <summary>zero_grad, loss, backward, Adam step; returns the loss before the update.</summary>
    public double Step()
    {
        _adam.ZeroGrad();
        var loss = Loss();
        loss.Backward();
        _adam.Step();
        return loss.ToScalar();
    }

    /// <summary><see cref="Step"/> inside a <see cref="TensorScope"/>: the log-density goes back to the pool.</summary>
    public double ScopedStep()
    {
        using var scope = Tensor.Scope();
        return Step();
    }

    /// <summary>Runs <paramref name="steps"/> steps with <see cref="Minimize.Run(IReadOnlyList{Tensor}, Func{Tensor}, Optimizer, int)"/>.</summary>
    public void Run(int steps) => Minimize.Run([_mu, _sigma], Loss, _adam, steps);
}

/// <summary>
/// A training step of log_softmax + kl_div(batchmean) with Adam on the logits (zero the gradient,
/// loss, backward, Adam step): <see cref="LogSoftmaxKl"/> as the inner loop of a real fit.
/// </summary>
public sealed class LogSoftmaxKlAdam
{
    private readonly LogSoftmaxKl _kl;
    private readonly Adam _adam;

    public LogSoftmaxKlAdam(int batch = 256, int classes = 4096, DType dtype = DType.Float32)
    {
        _kl = new LogSoftmaxKl(batch, classes, dtype);
        _adam = new Adam([_kl.Logits], lr: 1e-3);
    }

    /// <summary>zero_grad, loss, backward, Adam step, inside a <see cref="TensorScope"/>; returns the loss.</summary>
    public double ScopedStep()
    {
        using var scope = Tensor.Scope();
        _adam.ZeroGrad();
        var loss = _kl.Loss();
        loss.Backward();
        _adam.Step();
        return loss.ToScalar();
    }

    /// <summary>Runs <paramref name="steps"/> steps with Minimize.Run (a scope per step).</summary>
    public void Run(int steps) => Minimize.Run([_kl.Logits], _kl.Loss, _adam, steps);
}

/// <summary>
/// Forward and backward of log_softmax followed by kl_div(reduction='batchmean') on a batch of
/// logits: the inner loop of distillation and of most classifiers trained with a KL loss. With
/// <c>logTarget</c> the target is given as log-probabilities (kl_div's log_target=True).
/// </summary>
public sealed class LogSoftmaxKl
{
    private readonly Tensor _logits;
    private readonly Tensor _target;
    private readonly bool _logTarget;

    public LogSoftmaxKl(int batch = 256, int classes = 4096, DType dtype = DType.Float32, int seed = 0, bool logTarget = false)
    {
        var gen = new Generator(seed);
        _logits = Tensor.RandN([batch, classes], gen, dtype).RequiresGrad_();
        var scores = Tensor.RandN([batch, classes], gen, dtype);
        _target = logTarget ? Tensor.LogSoftmax(scores, 1) : Tensor.Softmax(scores, 1);
        _logTarget = logTarget;
    }

    public Tensor Logits => _logits;

    /// <summary>kl_div(log_softmax(logits), target, 'batchmean'): sum(target * (log target - input)) / batch.</summary>
    public Tensor Loss() => Losses.KlDiv(Tensor.LogSoftmax(_logits, 1), _target, Reduction.BatchMean, _logTarget);

    /// <summary>Forward and backward; returns the loss.</summary>
    public double ForwardBackward()
    {
        _logits.ZeroGrad();
        var loss = Loss();
        loss.Backward();
        return loss.ToScalar();
    }
}

/// <summary>
/// Forward and backward of cross_entropy (reduction 'mean') from a batch of logits, against class
/// indices or against soft targets (class probabilities).
/// </summary>
public sealed class CrossEntropyBatch
{
    private readonly Tensor _logits;
    private readonly Tensor _target;

    public CrossEntropyBatch(int batch = 256, int classes = 4096, bool soft = false, DType dtype = DType.Float32, int seed = 0)
    {
        var gen = new Generator(seed);
        _logits = Tensor.RandN([batch, classes], gen, dtype).RequiresGrad_();
        _target = soft
            ? Tensor.Softmax(Tensor.RandN([batch, classes], gen, dtype), 1)
            : Tensor.FromArray(Enumerable.Range(0, batch).Select(_ => (long)gen.NextInt(classes)).ToArray());
    }

    /// <summary>Forward and backward; returns the loss.</summary>
    public double ForwardBackward()
    {
        _logits.ZeroGrad();
        var loss = Losses.CrossEntropy(_logits, _target);
        loss.Backward();
        return loss.ToScalar();
    }
}
