using AutoKl.Distributions;

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
    private const double Lr = 1e-3, Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8;

    private readonly Tensor _x;
    private readonly Tensor _p;
    private Tensor _mu, _sigma;
    private Tensor _mMu, _vMu, _mSigma, _vSigma;
    private int _t;

    public GaussianFit(DType dtype, double mu0 = 0.0, double sigma0 = 1.0)
    {
        _x = Tensor.Linspace(-15, 15, 1000, dtype);
        _p = Tensor.Exp(new Normal(-5, 1, dtype).LogProb(_x)) + Tensor.Exp(new Normal(10, 1, dtype).LogProb(_x));
        _mu = Tensor.Scalar(mu0, dtype).RequiresGrad_();
        _sigma = Tensor.Scalar(sigma0, dtype).RequiresGrad_();
        _mMu = Tensor.Scalar(0, dtype); _vMu = Tensor.Scalar(0, dtype);
        _mSigma = Tensor.Scalar(0, dtype); _vSigma = Tensor.Scalar(0, dtype);
    }

    public double Mu => _mu.ToScalar();
    public double Sigma => _sigma.ToScalar();

    /// <summary>kl_div(log q(x), p, reduction='mean') with log q the Normal log-density.</summary>
    public Tensor Loss() => Losses.KlDiv(new Normal(_mu, _sigma).LogProb(_x), _p, Reduction.Mean);

    /// <summary>zero_grad, loss, backward, Adam step; returns the loss before the update.</summary>
    public double Step()
    {
        _mu.ZeroGrad();
        _sigma.ZeroGrad();
        var loss = Loss();
        loss.Backward();
        using (Autograd.NoGrad())
        {
            _t++;
            _mu = Adam(_mu, ref _mMu, ref _vMu);
            _sigma = Adam(_sigma, ref _mSigma, ref _vSigma);
        }
        return loss.ToScalar();
    }

    /// <summary>PyTorch's Adam update for one parameter (eps added after bias-correcting v).</summary>
    private Tensor Adam(Tensor param, ref Tensor m, ref Tensor v)
    {
        var g = param.Grad;
        m = Beta1 * m + (1 - Beta1) * g;
        v = Beta2 * v + (1 - Beta2) * g * g;
        double bc1 = 1 - Math.Pow(Beta1, _t), bc2 = 1 - Math.Pow(Beta2, _t);
        var denom = Tensor.Sqrt(v) / Math.Sqrt(bc2) + Eps;
        return (param - (Lr / bc1) * m / denom).RequiresGrad_();
    }

    /// <summary>Runs <paramref name="steps"/> steps and returns the final loss.</summary>
    public double Run(int steps)
    {
        double loss = double.NaN;
        for (int s = 0; s < steps; s++) loss = Step();
        return loss;
    }
}

/// <summary>
/// Forward and backward of log_softmax followed by kl_div(reduction='batchmean') on a batch of
/// logits: the inner loop of distillation and of most classifiers trained with a KL loss.
/// </summary>
public sealed class LogSoftmaxKl
{
    private readonly Tensor _logits;
    private readonly Tensor _target;

    public LogSoftmaxKl(int batch = 256, int classes = 4096, DType dtype = DType.Float32, int seed = 0)
    {
        var gen = new Generator(seed);
        _logits = Tensor.RandN([batch, classes], gen, dtype).RequiresGrad_();
        _target = Tensor.Softmax(Tensor.RandN([batch, classes], gen, dtype), 1);
    }

    public Tensor Logits => _logits;

    /// <summary>kl_div(log_softmax(logits), target, 'batchmean'): sum(target * (log target - input)) / batch.</summary>
    public Tensor Loss() => Losses.KlDiv(Tensor.LogSoftmax(_logits, 1), _target, Reduction.BatchMean);

    /// <summary>Forward and backward; returns the loss.</summary>
    public double ForwardBackward()
    {
        _logits.ZeroGrad();
        var loss = Loss();
        loss.Backward();
        return loss.ToScalar();
    }
}
