namespace AutoKl.Distributions;

/// <summary>
/// A mixture of K components of one family: mixing weights from a <see cref="Categorical"/>
/// over the last batch axis of <see cref="Components"/> (PyTorch's <c>MixtureSameFamily</c>).
/// log p(x) = logsumexp_k(log w_k + log p_k(x)). The two-Gaussian mixture of the reference
/// experiment is <c>MixtureSameFamily.OfNormals(weights [0.5, 0.5], locs [-5, 10], scales [1, 1])</c>.
/// Its entropy and its KL divergences have no closed form: use <see cref="MonteCarloKL"/>.
/// </summary>
public sealed class MixtureSameFamily : Distribution
{
    /// <summary>Mixes <paramref name="components"/> (batch shape [..., K]) with <paramref name="mixture"/> (batch shape [...], K classes).</summary>
    /// <param name="mixture">The mixing weights.</param>
    /// <param name="components">The components; their last batch axis indexes the K components.</param>
    public MixtureSameFamily(Categorical mixture, Distribution components) : base(CheckShapes(mixture, components))
    {
        Mixture = mixture;
        Components = components;
    }

    /// <summary>A mixture of normals: weights (probabilities, [..., K]), locs and scales ([..., K]).</summary>
    /// <param name="weights">Mixing probabilities along the last axis.</param>
    /// <param name="locs">Means of the components.</param>
    /// <param name="scales">Standard deviations of the components.</param>
    /// <param name="validateArgs">Check the weights and scales.</param>
    public static MixtureSameFamily OfNormals(Tensor weights, Tensor locs, Tensor scales, bool validateArgs = true)
        => new(Categorical.FromProbs(weights, validateArgs), new Normal(locs, scales, validateArgs));

    private static int[] CheckShapes(Categorical mixture, Distribution components)
    {
        var c = components.BatchShapeRef;
        if (c.Length == 0 || c[^1] != mixture.NumCategories || !Shapes.Equal(c[..^1], mixture.BatchShapeRef))
            throw new AutoKlException("mixture_same_family",
                $"components batch shape {Shapes.Format(c)} must be the mixture's batch shape {Shapes.Format(mixture.BatchShapeRef)} followed by its {mixture.NumCategories} components");
        return c[..^1];
    }

    /// <summary>The name used in error messages: <c>mixture_same_family</c>.</summary>
    public override string Name => "mixture_same_family";

    /// <summary>The mixing distribution.</summary>
    public Categorical Mixture { get; }

    /// <summary>The components (last batch axis = component).</summary>
    public Distribution Components { get; }

    /// <summary>log sum_k w_k p_k(x), computed with logsumexp over the components (no underflow far from every component).</summary>
    public override Tensor LogProb(Tensor x)
        => Tensor.LogSumExp(Components.LogProb(Tensor.Unsqueeze(x, -1)) + Mixture.Logits, -1);

    /// <summary>sum_k w_k F_k(x): the components' CDFs weighted by the mixture probabilities.</summary>
    public override Tensor Cdf(Tensor x) => Tensor.Sum(Components.Cdf(Tensor.Unsqueeze(x, -1)) * Mixture.Probs, -1);

    /// <summary>No closed form: estimate -E[log p(X)] from samples instead.</summary>
    public override Tensor Entropy() => throw new AutoKlException("mixture_same_family.entropy", "a mixture's entropy has no closed form; estimate -mean(LogProb(Sample(...)))");

    /// <summary>sum_k w_k mean_k: the components' means weighted by the mixture probabilities.</summary>
    public override Tensor Mean => Tensor.Sum(Components.Mean * Mixture.Probs, -1);

    /// <summary>Law of total variance: sum w (var_k + mean_k^2) - mean^2.</summary>
    public override Tensor Variance
    {
        get
        {
            var m = Components.Mean;
            var mean = Mean;
            return Tensor.Sum((Components.Variance + m * m) * Mixture.Probs, -1) - mean * mean;
        }
    }

    /// <summary>Picks a component per sample from the mixture, then a value from that component.</summary>
    public override Tensor Sample(int[] shape, Generator generator)
    {
        var full = ExtendedShape(shape);
        var which = Mixture.Sample(shape, generator);                        // shape ++ batch
        var all = Components.Sample(shape, generator);                       // shape ++ batch ++ [K]
        var index = which.Reshape([.. full, 1]);
        return Tensor.Gather(all, -1, index).Reshape(full).Detach();
    }
}
