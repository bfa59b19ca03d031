namespace AutoKl;

/// <summary>
/// How a loss turns its elementwise values into its result (PyTorch's <c>reduction</c>).
/// </summary>
public enum Reduction
{
    /// <summary>No reduction: one value per element (per sample for losses that sum over classes).</summary>
    None,
    /// <summary>
    /// Sum divided by the number of elements. For <see cref="Losses.KlDiv"/> this divides by every
    /// element, categories included, so the result is the textbook KL divided by the number of
    /// categories (PyTorch's <c>reduction='mean'</c>, kept for parity; see <see cref="BatchMean"/>).
    /// </summary>
    Mean,
    /// <summary>Sum of all elements.</summary>
    Sum,
    /// <summary>
    /// Sum divided by the size of the first (batch) dimension: for <see cref="Losses.KlDiv"/> the
    /// textbook KL per sample, averaged over the batch (PyTorch's <c>reduction='batchmean'</c>).
    /// </summary>
    BatchMean,
}

/// <summary>
/// How MXNet Gluon's <c>KLDivLoss</c> reduces the non-batch axes to one value per sample; the
/// choice changed between MXNet versions.
/// </summary>
public enum MXNetAveraging
{
    /// <summary>Mean over the non-batch axes: MXNet 1.x up to 1.8, and 2.x.</summary>
    Mean,
    /// <summary>Sum over the non-batch axes: MXNet 1.9 (the textbook KL per sample).</summary>
    Sum,
}

/// <summary>
/// The switch for argument checks in losses and distributions (non-negative target
/// probabilities, scale &gt; 0, probabilities summing to 1, class indices in range). Checks are
/// on by default; they read every element, so hot loops that have validated their data once can
/// switch them off. The switch is per thread (like <see cref="Autograd.NoGrad"/>): set it with
/// <see cref="Enabled"/>, or for a scope with <see cref="Disabled"/>; other threads keep theirs.
/// Shape checks always run.
/// </summary>
public static class Validation
{
    [ThreadStatic] private static bool _disabled;
    [ThreadStatic] private static SwitchScopes? _scopes;

    /// <summary>Whether value checks run on this thread (true unless switched off on this thread).</summary>
    public static bool Enabled
    {
        get => !_disabled;
        set => _disabled = !value;
    }

    /// <summary>
    /// Switches value checks off on this thread until the returned scope is disposed, then puts back
    /// the setting it found. Disposing twice is harmless; scopes disposed out of order still leave
    /// the setting as it was before the first was opened; disposing on another thread is an error.
    /// </summary>
    public static IDisposable Disabled()
        => (_scopes ??= new SwitchScopes("validation", v => _disabled = !v)).Open(!_disabled, false);

    /// <summary>True when values should be checked: enabled on this thread and not switched off by the caller.</summary>
    internal static bool Active(bool validateArgs) => validateArgs && Enabled;
}

/// <summary>Shared checks and reductions of the loss functions.</summary>
internal static class LossSupport
{
    /// <summary>Applies <paramref name="reduction"/> to elementwise losses.</summary>
    public static Tensor Reduce(string op, Tensor pointwise, Reduction reduction) => reduction switch
    {
        Reduction.None => pointwise,
        Reduction.Sum => Tensor.Sum(pointwise),
        Reduction.Mean => Tensor.Mean(pointwise),
        Reduction.BatchMean => pointwise.Rank == 0
            ? Tensor.Sum(pointwise)
            : Tensor.Sum(pointwise) / (double)pointwise.ShapeRef[0],
        _ => throw new AutoKlException(op, $"unknown reduction {reduction}"),
    };

    /// <summary>Reductions other than BatchMean (which only KL defines).</summary>
    public static Tensor ReduceNoBatchMean(string op, Tensor pointwise, Reduction reduction)
    {
        if (reduction == Reduction.BatchMean)
            throw new AutoKlException(op, "reduction BatchMean is only defined for kl_div; use Mean, Sum or None");
        return Reduce(op, pointwise, reduction);
    }

    public static void SameShape(string op, string nameA, Tensor a, string nameB, Tensor b)
    {
        if (!Shapes.Equal(a.ShapeRef, b.ShapeRef))
            throw new AutoKlException(op, $"{nameB} shape {Shapes.Format(b.ShapeRef)} does not match {nameA} shape {Shapes.Format(a.ShapeRef)}");
    }

    /// <summary>Both floating-point and of the same shape (the usual input/target contract).</summary>
    public static void CheckPair(string op, Tensor input, Tensor target)
    {
        Float(op, "input", input);
        Float(op, "target", target);
        SameShape(op, "input", input, "target", target);
    }

    public static void Float(string op, string name, Tensor x)
    {
        if (!x.DType.IsFloatingPoint())
            throw new AutoKlException(op, $"{name} must be a floating-point tensor, got {x.DType.Name()} of shape {Shapes.Format(x.ShapeRef)}");
    }

    /// <summary>Every element satisfies <paramref name="ok"/>; otherwise names the first that does not.</summary>
    public static void Values(string op, string name, Tensor x, Func<double, bool> ok, string requirement)
    {
        for (int i = 0; i < x.Numel; i++)
        {
            double v = x.GetFlat(i);
            if (!ok(v)) Refuse(op, name, x, i, v, requirement);
        }
    }

    /// <summary>
    /// Every element lies in the interval [lo, hi] (or (lo, hi] when <paramref name="openLow"/>).
    /// These checks run on every call of a loss, so the common case is one vectorised pass for
    /// the minimum (and one for the maximum when hi is finite); NaN propagates through both and
    /// fails. Only then is the element at fault looked for, to name it.
    /// </summary>
    public static void InRange(string op, string name, Tensor x, double lo, bool openLow, double hi, string requirement)
    {
        switch (x.Storage)
        {
            case double[] d: InRange(op, name, x, d, lo, openLow, hi, requirement); break;
            case float[] f: InRange(op, name, x, f, lo, openLow, hi, requirement); break;
        }
    }

    private static void InRange<T>(string op, string name, Tensor x, T[] values, double lo, bool openLow, double hi, string requirement)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (values.Length == 0) return;
        bool Inside(double v) => (openLow ? v > lo : v >= lo) && v <= hi;
        double min = double.CreateChecked(System.Numerics.Tensors.TensorPrimitives.Min<T>(values));
        if (Inside(min) && (double.IsPositiveInfinity(hi) || Inside(double.CreateChecked(System.Numerics.Tensors.TensorPrimitives.Max<T>(values)))))
            return;
        for (int i = 0; i < values.Length; i++)
        {
            double v = double.CreateChecked(values[i]);
            if (!Inside(v)) Refuse(op, name, x, i, v, requirement);
        }
    }

    private static void Refuse(string op, string name, Tensor x, int i, double v, string requirement)
        => throw new AutoKlException(op, $"{name} must be {requirement}; element {i} (flat) of shape {Shapes.Format(x.ShapeRef)} is {v}");

    public static void NonNegative(string op, string name, Tensor x) => InRange(op, name, x, 0, false, double.PositiveInfinity, "non-negative");

    public static void Positive(string op, string name, Tensor x) => InRange(op, name, x, 0, true, double.PositiveInfinity, "positive");

    public static void InUnitInterval(string op, string name, Tensor x) => InRange(op, name, x, 0, false, 1, "in [0, 1]");

    /// <summary>A gradient-transparent replacement of the values: forward gives <paramref name="replaced"/>,
    /// backward treats the result as <paramref name="x"/> (PyTorch's in-place clamp under no_grad).</summary>
    public static Tensor StraightThrough(Tensor x, Func<Tensor, Tensor> replaced)
    {
        Tensor shift;
        using (Autograd.NoGrad()) shift = replaced(x) - x;
        return x + shift.Detach();
    }
}
