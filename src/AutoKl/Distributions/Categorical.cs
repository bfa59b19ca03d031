namespace AutoKl.Distributions;

/// <summary>
/// The categorical distribution over K classes along the last axis, built from probabilities
/// (<see cref="FromProbs"/>, normalised by their sum, which is part of the gradient) or from
/// unnormalised log-probabilities (<see cref="FromLogits"/>, normalised by logsumexp).
/// Values are int64 class indices.
/// </summary>
public sealed class Categorical : Distribution
{
    private Categorical(Tensor probs, Tensor logits, bool fromLogits) : base(probs.ShapeRef[..^1])
    {
        Probs = probs;
        Logits = logits;
        IsLogitParametrised = fromLogits;
        NumCategories = probs.ShapeRef[^1];
    }

    /// <summary>From probabilities along the last axis (non-negative, each row summing to 1 within 1e-6 when checked).</summary>
    /// <param name="probs">Shape [..., K].</param>
    /// <param name="validateArgs">Check the rows (also subject to <see cref="Validation.Enabled"/>).</param>
    public static Categorical FromProbs(Tensor probs, bool validateArgs = true)
    {
        const string op = "categorical";
        CheckRank(probs, "probs");
        if (Validation.Active(validateArgs))
        {
            ArgumentChecks.InUnitInterval(op, "probs", probs);
            var sums = Tensor.Sum(probs.Detach(), -1).ToDoubleArray();
            for (int i = 0; i < sums.Length; i++)
                if (Math.Abs(sums[i] - 1) > 1e-6)
                    throw new AutoKlException(op, $"probs must sum to 1 along the last axis (within 1e-6); row {i} sums to {sums[i]}");
        }
        var normalised = probs / Tensor.Sum(probs, -1, keepDim: true);
        // Clamped before the log, as PyTorch does: a class of probability 0 gets a finite log-probability
        // and a zero gradient instead of log's 0/0, which would spread NaN to every probability.
        double eps = Epsilon(probs.DType);
        return new Categorical(normalised, Tensor.Log(Tensor.Clamp(normalised, eps, 1 - eps)), fromLogits: false);
    }

    /// <summary>From unnormalised log-probabilities along the last axis (any real values; -inf excludes a class).</summary>
    /// <param name="logits">Shape [..., K].</param>
    public static Categorical FromLogits(Tensor logits)
    {
        CheckRank(logits, "logits");
        var normalised = Tensor.LogSoftmax(logits, -1);
        return new Categorical(Tensor.Exp(normalised), normalised, fromLogits: true);
    }

    private static void CheckRank(Tensor t, string name)
    {
        RequireFloat("categorical", name, t);
        if (t.Rank == 0 || t.ShapeRef[^1] == 0)
            throw new AutoKlException("categorical", $"{name} must have a non-empty last axis of categories, got shape {Shapes.Format(t.ShapeRef)}");
    }

    /// <summary>The name used in error messages: <c>categorical</c>.</summary>
    public override string Name => "categorical";

    /// <summary>Normalised probabilities, shape BatchShape ++ [K].</summary>
    public Tensor Probs { get; }

    /// <summary>Normalised log-probabilities, shape BatchShape ++ [K].</summary>
    public Tensor Logits { get; }

    /// <summary>Whether the distribution was built from logits.</summary>
    public bool IsLogitParametrised { get; }

    /// <summary>K, the number of classes.</summary>
    public int NumCategories { get; }

    /// <summary>
    /// log p(value) for int64 class indices; value broadcasts against the batch shape (a value of
    /// shape sampleShape ++ BatchShape gives one log-probability per sample).
    /// </summary>
    public override Tensor LogProb(Tensor value)
    {
        const string op = "categorical.log_prob";
        if (value.DType != DType.Int64)
            throw new AutoKlException(op, $"value must hold int64 class indices, got {value.DType.Name()}");
        var shape = Shapes.Broadcast(op, value.ShapeRef, BatchShapeRef);
        var indices = Tensor.Expanded(value, shape).Data<long>();
        for (int i = 0; i < indices.Length; i++)
            if (indices[i] < 0 || indices[i] >= NumCategories)
                throw new AutoKlException(op, $"value {indices[i]} at flat position {i} is out of range for {NumCategories} categories (valid: 0 to {NumCategories - 1})");
        var logits = Tensor.Expand(Logits, [.. shape, NumCategories]);
        return Tensor.Gather(logits, -1, Tensor.FromArray(indices, [.. shape, 1])).Reshape(shape);
    }

    /// <summary>-sum p log p over the classes (a class with p = 0 contributes 0).</summary>
    public override Tensor Entropy() => -Tensor.Sum(Tensor.Xlogy(Probs, Probs), -1);

    /// <summary>Categories are unordered: there is no mean.</summary>
    public override Tensor Mean => throw new AutoKlException("categorical.mean", "a categorical distribution has no mean (its classes are unordered); use Probs");

    /// <summary>Categories are unordered: there is no variance.</summary>
    public override Tensor Variance => throw new AutoKlException("categorical.variance", "a categorical distribution has no variance (its classes are unordered); use Probs");

    /// <summary>int64 class indices of shape shape ++ BatchShape, by inverting the cumulative probabilities.</summary>
    public override Tensor Sample(int[] shape, Generator generator)
    {
        var full = ExtendedShape(shape);
        var probs = Probs.ToDoubleArray();
        int k = NumCategories, batch = probs.Length / k;
        var result = new long[Shapes.Numel(full)];
        for (int i = 0; i < result.Length; i++)
        {
            int row = (i % batch) * k;
            double u = generator.NextUniform(), acc = 0;
            int pick = k - 1;
            for (int c = 0; c < k; c++)
            {
                acc += probs[row + c];
                if (u < acc) { pick = c; break; }
            }
            result[i] = pick;
        }
        return Tensor.FromArray(result, [result.Length]).Reshape(full);
    }
}
