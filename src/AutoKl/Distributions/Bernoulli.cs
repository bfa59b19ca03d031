namespace AutoKl.Distributions;

/// <summary>
/// The Bernoulli distribution over {0, 1} (values are floating 0/1 tensors), from a probability
/// of 1 (<see cref="FromProbs"/>) or from its logit (<see cref="FromLogits"/>). log p(v) is
/// -BCEWithLogits(logit, v), as in PyTorch, so it is exact for large logits and also
/// differentiable in v.
/// </summary>
public sealed class Bernoulli : Distribution
{
    private Bernoulli(Tensor probs, Tensor logits, bool fromLogits) : base(probs.ShapeRef)
    {
        Probs = probs;
        Logits = logits;
        IsLogitParametrised = fromLogits;
    }

    /// <summary>From the probability of 1, in [0, 1].</summary>
    /// <param name="probs">Probabilities of the value 1.</param>
    /// <param name="validateArgs">Check 0 &lt;= p &lt;= 1 (also subject to <see cref="Validation.Enabled"/>).</param>
    public static Bernoulli FromProbs(Tensor probs, bool validateArgs = true)
    {
        RequireFloat("bernoulli", "probs", probs);
        if (Validation.Active(validateArgs)) ArgumentChecks.InUnitInterval("bernoulli", "probs", probs);
        // As PyTorch: clamp to [eps, 1 - eps] before taking the logit, so p = 0 or 1 stays finite.
        double eps = Epsilon(probs.DType);
        var clamped = Tensor.Clamp(probs, eps, 1 - eps);
        return new Bernoulli(probs, Tensor.Log(clamped) - Tensor.Log1p(-clamped), fromLogits: false);
    }

    /// <summary>From the log-odds of 1.</summary>
    /// <param name="logits">Logits (any real values).</param>
    public static Bernoulli FromLogits(Tensor logits)
    {
        RequireFloat("bernoulli", "logits", logits);
        return new Bernoulli(Tensor.Sigmoid(logits), logits, fromLogits: true);
    }

    /// <summary>The name used in error messages: <c>bernoulli</c>.</summary>
    public override string Name => "bernoulli";

    /// <summary>Probability of 1.</summary>
    public Tensor Probs { get; }

    /// <summary>Log-odds of 1.</summary>
    public Tensor Logits { get; }

    /// <summary>Whether the distribution was built from logits.</summary>
    public bool IsLogitParametrised { get; }

    /// <summary>v logit - log(1 + e^logit), i.e. -BCEWithLogits(logit, v); v is a floating 0/1 tensor.</summary>
    public override Tensor LogProb(Tensor value)
    {
        RequireFloat("bernoulli.log_prob", "value", value);
        return -((1.0 - value) * Logits + Tensor.Softplus(-Logits, threshold: double.PositiveInfinity));
    }

    /// <summary>BCEWithLogits(logit, p): -p log p - (1 - p) log(1 - p).</summary>
    public override Tensor Entropy() => (1.0 - Probs) * Logits + Tensor.Softplus(-Logits, threshold: double.PositiveInfinity);

    /// <summary>The probability of a 1: <see cref="Probs"/>.</summary>
    public override Tensor Mean => Probs;

    /// <summary>p (1 - p) for p = <see cref="Probs"/>.</summary>
    public override Tensor Variance => Probs * (1.0 - Probs);

    /// <summary>Floating 0/1 values of shape shape ++ BatchShape.</summary>
    public override Tensor Sample(int[] shape, Generator generator)
    {
        var full = ExtendedShape(shape);
        var p = Probs.ToDoubleArray();
        var result = new double[Shapes.Numel(full)];
        for (int i = 0; i < result.Length; i++) result[i] = generator.NextUniform() < p[i % p.Length] ? 1 : 0;
        return Tensor.FromArray(result, [result.Length], Probs.DType).Reshape(full);
    }
}
