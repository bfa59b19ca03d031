namespace AutoKl.Distributions;

/// <summary>Which Monte Carlo estimator of KL(P||Q) to use (J. Schulman, "Approximating KL divergence").</summary>
public enum MonteCarloEstimator
{
    /// <summary>log r with r = p(x)/q(x): unbiased, high variance, can be negative.</summary>
    K1,
    /// <summary>(log r)^2 / 2: biased, low variance, non-negative.</summary>
    K2,
    /// <summary>log r + 1/r - 1: unbiased, low variance, non-negative (E_P[1/r] = 1).</summary>
    K3,
}

/// <summary>A Monte Carlo estimate with its standard error (standard deviation of the terms / sqrt(n)).</summary>
public sealed class MonteCarloEstimate
{
    internal MonteCarloEstimate(Tensor value, Tensor standardError, int samples)
    {
        Value = value;
        StandardError = standardError;
        Samples = samples;
    }

    /// <summary>The estimate (differentiable when the inputs were).</summary>
    public Tensor Value { get; }

    /// <summary>Standard error of the estimate (no gradient).</summary>
    public Tensor StandardError { get; }

    /// <summary>Number of samples used.</summary>
    public int Samples { get; }
}

/// <summary>
/// Monte Carlo estimators of KL(P||Q) from samples x_1..x_n of P and the log-densities of both
/// at those samples (samples on axis 0): with log r = log p(x) - log q(x),
/// k1 = log r, k2 = (log r)^2 / 2, k3 = log r + 1/r - 1 = (r' - 1) - log r' with r' = q(x)/p(x).
/// k1 is unbiased; k3 is unbiased when E_P[q/p] = 1, i.e. when Q puts no mass outside P's
/// support (false for a uniform P and a normal Q: use k1 there), has low variance when q/p stays
/// bounded, and is never negative. Use them where
/// <see cref="KL.Divergence"/> has no closed form (mixtures). Differentiable: with
/// reparameterised samples (<see cref="Distribution.RSample(int[], Generator)"/>) the gradient
/// of the estimate is an unbiased estimate of the gradient of the KL.
/// </summary>
public static class MonteCarloKL
{
    /// <summary>The per-sample k1 terms log p - log q.</summary>
    public static Tensor K1Terms(Tensor logP, Tensor logQ) => LogRatio("k1", logP, logQ);

    /// <summary>The per-sample k2 terms (log p - log q)^2 / 2.</summary>
    public static Tensor K2Terms(Tensor logP, Tensor logQ)
    {
        var lr = LogRatio("k2", logP, logQ);
        return lr * lr * 0.5;
    }

    /// <summary>The per-sample k3 terms (r' - 1) - log r' with log r' = log q - log p.</summary>
    public static Tensor K3Terms(Tensor logP, Tensor logQ)
    {
        var logInverse = -LogRatio("k3", logP, logQ);
        return Tensor.Expm1(logInverse) - logInverse;
    }

    /// <summary>k1 estimate: mean over the samples (axis 0) of log p - log q.</summary>
    /// <param name="logP">log p at samples of P, samples on axis 0.</param>
    /// <param name="logQ">log q at the same samples.</param>
    public static Tensor K1(Tensor logP, Tensor logQ) => Tensor.Mean(K1Terms(logP, logQ), 0);

    /// <summary>k2 estimate: mean over the samples of (log p - log q)^2 / 2.</summary>
    /// <param name="logP">log p at samples of P, samples on axis 0.</param>
    /// <param name="logQ">log q at the same samples.</param>
    public static Tensor K2(Tensor logP, Tensor logQ) => Tensor.Mean(K2Terms(logP, logQ), 0);

    /// <summary>k3 estimate: mean over the samples of log r + 1/r - 1.</summary>
    /// <param name="logP">log p at samples of P, samples on axis 0.</param>
    /// <param name="logQ">log q at the same samples.</param>
    public static Tensor K3(Tensor logP, Tensor logQ) => Tensor.Mean(K3Terms(logP, logQ), 0);

    /// <summary>
    /// Draws <paramref name="samples"/> samples of <paramref name="p"/> (reparameterised when it
    /// can, so the estimate has gradients in P's parameters as well as Q's) and estimates
    /// KL(P||Q) with the chosen estimator, with its standard error.
    /// </summary>
    /// <param name="p">The distribution sampled from (the reference P).</param>
    /// <param name="q">The other distribution.</param>
    /// <param name="samples">Number of samples, at least 2.</param>
    /// <param name="generator">Source of randomness.</param>
    /// <param name="estimator">K3 by default.</param>
    public static MonteCarloEstimate Estimate(Distribution p, Distribution q, int samples, Generator generator, MonteCarloEstimator estimator = MonteCarloEstimator.K3)
    {
        if (samples < 2) throw new AutoKlException("monte_carlo_kl", $"samples must be at least 2, got {samples}");
        var x = p.HasRSample ? p.RSample([samples], generator) : p.Sample([samples], generator);
        var logP = p.LogProb(x);
        var logQ = q.LogProb(x);
        var terms = estimator switch
        {
            MonteCarloEstimator.K1 => K1Terms(logP, logQ),
            MonteCarloEstimator.K2 => K2Terms(logP, logQ),
            _ => K3Terms(logP, logQ),
        };
        Tensor stderr;
        using (Autograd.NoGrad()) stderr = (Tensor.Std(terms.Detach(), [0]) / Math.Sqrt(samples)).Detach();
        return new MonteCarloEstimate(Tensor.Mean(terms, 0), stderr, samples);
    }

    private static Tensor LogRatio(string op, Tensor logP, Tensor logQ)
    {
        ArgumentChecks.Float(op, "logP", logP);
        ArgumentChecks.Float(op, "logQ", logQ);
        ArgumentChecks.SameShape(op, "logP", logP, "logQ", logQ);
        return logP - logQ;
    }
}
