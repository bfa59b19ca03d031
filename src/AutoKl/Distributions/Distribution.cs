namespace AutoKl.Distributions;

/// <summary>
/// A probability distribution with tensor parameters (PyTorch's <c>torch.distributions</c>
/// shape rules): the parameters broadcast to <see cref="BatchShape"/>, one distribution per
/// element; <see cref="LogProb"/> broadcasts its argument against that shape; samples have
/// shape <c>sampleShape ++ BatchShape</c>. Everything is built from differentiable tensor ops,
/// so log-densities, entropies, moments, KL divergences and reparameterised samples carry
/// gradients to the parameters.
/// <para>Parameter checks (scale &gt; 0, probabilities in [0, 1] summing to 1, low &lt; high)
/// run in the constructors unless <c>validateArgs: false</c> is passed or
/// <see cref="Validation.Enabled"/> is off.</para>
/// </summary>
/// <namespacedoc>
///   <summary>Probability distributions with tensor parameters (Normal, Uniform, Bernoulli,
///   Categorical, mixtures), analytic KL divergences between them (<see cref="KL"/>) and Monte
///   Carlo estimates where there is no closed form (<see cref="MonteCarloKL"/>).</summary>
/// </namespacedoc>
/// <example>
/// <code lang="csharp">
/// var q = new Normal(Tensor.Scalar(0.0).RequiresGrad_(), Tensor.Scalar(1.0).RequiresGrad_());
/// var kl = KL.Divergence(q, new Normal(1.0, 2.0));   // closed form, differentiable in q's parameters
/// kl.Backward();
/// </code>
/// </example>
public abstract class Distribution
{
    private readonly int[] _batchShape;

    /// <summary>Sets the batch shape (the broadcast shape of the parameters).</summary>
    protected Distribution(int[] batchShape) => _batchShape = batchShape;

    /// <summary>Short name used in error messages, e.g. <c>normal</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The shape of the batch of distributions (a copy).</summary>
    public int[] BatchShape => (int[])_batchShape.Clone();

    internal int[] BatchShapeRef => _batchShape;

    /// <summary>Log of the density (or mass) at <paramref name="x"/>, broadcast against the batch shape.</summary>
    public abstract Tensor LogProb(Tensor x);

    /// <summary>The density (or mass) at <paramref name="x"/>: exp(LogProb(x)).</summary>
    public virtual Tensor Prob(Tensor x) => Tensor.Exp(LogProb(x));

    /// <summary>The cumulative distribution function at <paramref name="x"/>, where it has a closed form.</summary>
    public virtual Tensor Cdf(Tensor x) => throw new AutoKlException(Name + ".cdf", $"{GetType().Name} has no cumulative distribution function here");

    /// <summary>The entropy of each distribution in the batch (shape <see cref="BatchShape"/>).</summary>
    public abstract Tensor Entropy();

    /// <summary>The mean of each distribution.</summary>
    public abstract Tensor Mean { get; }

    /// <summary>The variance of each distribution.</summary>
    public abstract Tensor Variance { get; }

    /// <summary>The standard deviation of each distribution: sqrt(Variance).</summary>
    public virtual Tensor Stddev => Tensor.Sqrt(Variance);

    /// <summary>Draws samples of shape <c>shape ++ BatchShape</c> from <paramref name="generator"/>; they carry no gradient.</summary>
    public abstract Tensor Sample(int[] shape, Generator generator);

    /// <summary>One sample per distribution in the batch (shape <see cref="BatchShape"/>).</summary>
    public Tensor Sample(Generator generator) => Sample([], generator);

    /// <summary>True when <see cref="RSample(int[], Generator)"/> is available (continuous, reparameterisable).</summary>
    public virtual bool HasRSample => false;

    /// <summary>
    /// Reparameterised samples of shape <c>shape ++ BatchShape</c>: a differentiable function of
    /// the parameters and of parameter-free noise, so gradients flow to the parameters.
    /// </summary>
    public virtual Tensor RSample(int[] shape, Generator generator)
        => throw new AutoKlException(Name + ".rsample", $"{GetType().Name} has no reparameterised sampler; use Sample (no gradient) or a score-function estimator");

    /// <summary>One reparameterised sample per distribution in the batch.</summary>
    public Tensor RSample(Generator generator) => RSample([], generator);

    /// <summary><c>shape ++ BatchShape</c>.</summary>
    protected int[] ExtendedShape(int[] shape)
    {
        foreach (var d in shape)
            if (d < 0) throw new AutoKlException(Name + ".sample", $"sample shape {Shapes.Format(shape)} has a negative dimension");
        return [.. shape, .. _batchShape];
    }

    /// <summary>Checks shared by the constructors.</summary>
    internal static void RequireFloat(string op, string name, Tensor t) => ArgumentChecks.Float(op, name, t);

    /// <summary>The two parameters in a common floating dtype and their broadcast shape.</summary>
    internal static (Tensor, Tensor, int[]) Broadcast(string op, Tensor a, Tensor b)
    {
        var dtype = a.DType == b.DType ? a.DType : DType.Float64;
        if (a.DType != dtype) a = a.ToType(dtype);
        if (b.DType != dtype) b = b.ToType(dtype);
        return (a, b, Shapes.Broadcast(op, a.ShapeRef, b.ShapeRef));
    }

    /// <summary>The machine epsilon of a floating dtype (PyTorch's clamp_probs bound).</summary>
    internal static double Epsilon(DType dtype) => DTypeDispatch.Run<MachineEpsilon, double>(dtype, default);

    /// <summary>The gap between 1 and the next value: 2^-23 for float32, 2^-52 for float64.</summary>
    private readonly struct MachineEpsilon : IFloatFunc<double>
    {
        public double Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => double.CreateChecked(T.BitIncrement(T.One) - T.One);
    }
}
