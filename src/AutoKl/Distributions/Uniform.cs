namespace AutoKl.Distributions;

/// <summary>The continuous uniform distribution on [low, high).</summary>
public sealed class Uniform : Distribution
{
    /// <summary>A batch of uniforms; low and high broadcast and low &lt; high.</summary>
    /// <param name="low">Lower bounds.</param>
    /// <param name="high">Upper bounds, greater than low.</param>
    /// <param name="validateArgs">Check low &lt; high (also subject to <see cref="Validation.Enabled"/>).</param>
    public Uniform(Tensor low, Tensor high, bool validateArgs = true) : this(Init(low, high, validateArgs)) { }

    /// <summary>A single uniform with constant bounds.</summary>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <param name="dtype">Element type of the parameters.</param>
    public Uniform(double low, double high, DType dtype = DType.Float64) : this(Tensor.Scalar(low, dtype), Tensor.Scalar(high, dtype)) { }

    private Uniform((Tensor low, Tensor high, int[] shape) p) : base(p.shape)
    {
        Low = p.low;
        High = p.high;
    }

    private static (Tensor, Tensor, int[]) Init(Tensor low, Tensor high, bool validateArgs)
    {
        RequireFloat("uniform", "low", low);
        RequireFloat("uniform", "high", high);
        var (l, h, shape) = Broadcast("uniform", low, high);
        if (Validation.Active(validateArgs))
        {
            var width = Tensor.Expanded(h, shape).ToDoubleArray();
            var lows = Tensor.Expanded(l, shape).ToDoubleArray();
            for (int i = 0; i < width.Length; i++)
                if (!(width[i] > lows[i]))
                    throw new AutoKlException("uniform", $"high must be greater than low; element {i} has low {lows[i]} and high {width[i]}");
        }
        return (l, h, shape);
    }

    /// <summary>The name used in error messages: <c>uniform</c>.</summary>
    public override string Name => "uniform";

    /// <summary>The lower bound as given.</summary>
    public Tensor Low { get; }

    /// <summary>The upper bound as given.</summary>
    public Tensor High { get; }

    /// <summary>-log(high - low) inside [low, high), -inf outside. x takes no gradient (as PyTorch).</summary>
    public override Tensor LogProb(Tensor x)
    {
        var xs = x.Detach();
        var inside = Tensor.Ge(xs, Low) * Tensor.Lt(xs, High);
        return Tensor.Where(inside, -Tensor.Log(High - Low), Tensor.Scalar(double.NegativeInfinity, Low.DType));
    }

    /// <summary>(x - low) / (high - low), clamped into [0, 1].</summary>
    public override Tensor Cdf(Tensor x) => Tensor.Clamp((x - Low) / (High - Low), 0, 1);

    /// <summary>log(high - low).</summary>
    public override Tensor Entropy() => Tensor.Expand(Tensor.Log(High - Low), BatchShapeRef);

    /// <summary>(low + high) / 2, broadcast to the batch shape.</summary>
    public override Tensor Mean => Tensor.Expand((Low + High) * 0.5, BatchShapeRef);

    /// <summary>(high - low)^2 / 12, broadcast to the batch shape.</summary>
    public override Tensor Variance => Tensor.Expand((High - Low) * (High - Low) / 12.0, BatchShapeRef);

    /// <summary>True: <see cref="RSample"/> draws low + (high - low) * u, differentiable in low and high.</summary>
    public override bool HasRSample => true;

    /// <summary>low + (high - low) u with u uniform on [0, 1): differentiable in low and high.</summary>
    public override Tensor RSample(int[] shape, Generator generator)
        => Low + (High - Low) * Tensor.Rand(ExtendedShape(shape), generator, Low.DType);

    /// <summary>Samples of shape <c>shape ++ BatchShape</c>, uniform in [low, high), without gradient.</summary>
    public override Tensor Sample(int[] shape, Generator generator)
    {
        using (Autograd.NoGrad()) return RSample(shape, generator).Detach();
    }
}
