namespace AutoKl.Distributions;

/// <summary>
/// The normal distribution N(loc, scale^2). log p(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi);
/// the CDF uses erf (MathNet.Numerics underneath <see cref="Tensor.Erf"/>).
/// </summary>
public sealed class Normal : Distribution
{
    private static readonly double LogSqrtTwoPi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>A batch of normals; loc and scale broadcast. scale must be positive.</summary>
    /// <param name="loc">Means.</param>
    /// <param name="scale">Standard deviations, positive.</param>
    /// <param name="validateArgs">Check scale &gt; 0 (also subject to <see cref="Validation.Enabled"/>).</param>
    public Normal(Tensor loc, Tensor scale, bool validateArgs = true) : this(Init(loc, scale, validateArgs)) { }

    /// <summary>A single normal with constant parameters.</summary>
    /// <param name="loc">Mean.</param>
    /// <param name="scale">Standard deviation, positive.</param>
    /// <param name="dtype">Element type of the parameters.</param>
    public Normal(double loc, double scale, DType dtype = DType.Float64) : this(Tensor.Scalar(loc, dtype), Tensor.Scalar(scale, dtype)) { }

    private Normal((Tensor loc, Tensor scale, int[] shape) p) : base(p.shape)
    {
        Loc = p.loc;
        Scale = p.scale;
    }

    private static (Tensor, Tensor, int[]) Init(Tensor loc, Tensor scale, bool validateArgs)
    {
        RequireFloat("normal", "loc", loc);
        RequireFloat("normal", "scale", scale);
        if (Validation.Active(validateArgs)) ArgumentChecks.Positive("normal", "scale", scale);
        return Broadcast("normal", loc, scale);
    }

    /// <summary>The name used in error messages: <c>normal</c>.</summary>
    public override string Name => "normal";

    /// <summary>The mean parameter as given (not broadcast).</summary>
    public Tensor Loc { get; }

    /// <summary>The standard deviation parameter as given (not broadcast).</summary>
    public Tensor Scale { get; }

    /// <summary>log p(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi), broadcast against the batch shape; differentiable in x, loc and scale.</summary>
    public override Tensor LogProb(Tensor x) => FusedLogProb(x) ?? ComposedLogProb(x);

    /// <summary>The log-density as a composition of ops (the general case, and the reference of the fused form).</summary>
    private Tensor ComposedLogProb(Tensor x)
    {
        var variance = Scale * Scale;
        var d = x - Loc;
        return -(d * d) / (variance * 2.0) - Tensor.Log(Scale) - LogSqrtTwoPi;
    }

    /// <summary>
    /// With one loc and one scale of x's dtype (a density evaluated on a grid, as in the reference
    /// fit): one op and one pass, each element rounded through the same operations as the
    /// composition (so the same bits). Its backward is one pass too when nothing records, and the
    /// composition's own backward when something does (second derivatives). Null otherwise.
    /// </summary>
    private Tensor? FusedLogProb(Tensor x)
    {
        if (!FusedOps.Allowed(x, Loc, Scale) || Loc.Numel != 1 || Scale.Numel != 1 || Loc.Rank > x.Rank || Scale.Rank > x.Rank
            || x.DType != Loc.DType || x.DType != Scale.DType || !x.DType.IsFloatingPoint() || x.Numel == 0)
            return null;
        var y = Tensor.Uninitialized(x.DType, x.ShapeRef);
        // log(scale) by the same kernel as the composition's
        double logScale;
        using (Autograd.NoGrad()) logScale = Tensor.Log(Scale).ToScalar();
        DTypeDispatch.Run(x.DType, new LogProbBody(x, Loc, Scale, logScale, y));
        return FusedOps.Record(y, "normal_log_prob", [x, Loc, Scale], new LogProbOp(x, Loc, Scale));
    }

    /// <summary>normal_log_prob's declaration: its composition, and its kernel (one pass over x, the two scalar gradients summed in double).</summary>
    private sealed class LogProbOp(Tensor x, Tensor loc, Tensor scale) : FusedOp
    {
        public override Tensor Reference(Tensor[] p) => new Normal(p[1], p[2], validateArgs: false).ComposedLogProb(p[0]);

        public override Tensor?[]? Backward(BackwardContext context, Tensor g)
        {
            g = g.DType == x.DType ? g : g.ToType(x.DType);
            var dx = x.RequiresGrad ? Tensor.Uninitialized(x.DType, x.ShapeRef) : null;
            var (dloc, dscale) = DTypeDispatch.Run<BackwardBody, (double Loc, double Scale)>(x.DType, new(x, g, loc, scale, dx));
            return
            [
                dx,
                loc.RequiresGrad ? Tensor.Full(loc.ShapeRef, dloc, loc.DType) : null,
                scale.RequiresGrad ? Tensor.Full(scale.ShapeRef, dscale, scale.DType) : null,
            ];
        }
    }

    /// <summary>y = log p(x) for one loc and one scale, <paramref name="logScale"/> = log(scale) as the composition computes it.</summary>
    private readonly struct LogProbBody(Tensor x, Tensor loc, Tensor scale, double logScale, Tensor y) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
            => Kernels.NormalKernels.LogProb(x.Data<T>(), loc.Data<T>()[0], scale.Data<T>()[0], T.CreateChecked(logScale), T.CreateChecked(LogSqrtTwoPi), y.Data<T>());
    }

    /// <summary>The gradients of log p(x) for the output gradient <paramref name="g"/>: dx written when given, those of loc and scale returned.</summary>
    private readonly struct BackwardBody(Tensor x, Tensor g, Tensor loc, Tensor scale, Tensor? dx) : IFloatFunc<(double Loc, double Scale)>
    {
        public (double Loc, double Scale) Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
            => Kernels.NormalKernels.Backward(x.Data<T>(), g.Data<T>(), loc.Data<T>()[0], scale.Data<T>()[0], dx?.Data<T>());
    }

    /// <summary>P(X &lt;= x) = (1 + erf((x - loc) / (scale sqrt 2))) / 2.</summary>
    public override Tensor Cdf(Tensor x) => (Tensor.Erf((x - Loc) / (Scale * Math.Sqrt(2))) + 1.0) * 0.5;

    /// <summary>0.5 + log(sqrt(2 pi)) + log scale, per distribution.</summary>
    public override Tensor Entropy() => Tensor.Expand(Tensor.Log(Scale) + (0.5 + LogSqrtTwoPi), BatchShapeRef);

    /// <summary>loc, broadcast to the batch shape.</summary>
    public override Tensor Mean => Tensor.Expand(Loc, BatchShapeRef);

    /// <summary>scale, broadcast to the batch shape.</summary>
    public override Tensor Stddev => Tensor.Expand(Scale, BatchShapeRef);

    /// <summary>scale^2, broadcast to the batch shape.</summary>
    public override Tensor Variance => Tensor.Expand(Scale * Scale, BatchShapeRef);

    /// <summary>True: <see cref="RSample"/> draws loc + scale * eps, differentiable in loc and scale.</summary>
    public override bool HasRSample => true;

    /// <summary>loc + scale * eps with eps standard normal: differentiable in loc and scale.</summary>
    public override Tensor RSample(int[] shape, Generator generator)
        => Loc + Scale * Tensor.RandN(ExtendedShape(shape), generator, Loc.DType);

    /// <summary>Samples of shape <c>shape ++ BatchShape</c>, without gradient (use <see cref="RSample"/> to differentiate through them).</summary>
    public override Tensor Sample(int[] shape, Generator generator)
    {
        using (Autograd.NoGrad()) return RSample(shape, generator).Detach();
    }
}
