namespace AutoKl;

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
    /// <summary>Whether value checks run on this thread (true unless switched off on this thread).</summary>
    public static bool Enabled
    {
        get => !EngineSwitches.Thread.ValidationOff;
        set => EngineSwitches.Thread.ValidationOff = !value;
    }

    /// <summary>
    /// Switches value checks off on this thread until the returned scope is disposed, then puts back
    /// the setting it found. Disposing twice is harmless; scopes disposed out of order still leave
    /// the setting as it was before the first was opened; disposing on another thread is an error.
    /// </summary>
    public static IDisposable Disabled()
    {
        var s = EngineSwitches.Thread;
        return (s.ValidationScopes ??= new SwitchScopes("validation", v => s.ValidationOff = !v)).Open(!s.ValidationOff, false);
    }

    /// <summary>True when values should be checked: enabled on this thread and not switched off by the caller.</summary>
    internal static bool Active(bool validateArgs) => validateArgs && Enabled;
}

/// <summary>
/// Argument checks of losses and distributions; each failure is an <see cref="AutoKlException"/>
/// naming the operation, the argument, its shape and the first element at fault.
/// </summary>
internal static class ArgumentChecks
{
    /// <summary>Both tensors have the same shape.</summary>
    public static void SameShape(string op, string nameA, Tensor a, string nameB, Tensor b)
    {
        if (!Shapes.Equal(a.ShapeRef, b.ShapeRef))
            throw new AutoKlException(op, $"{nameB} shape {Shapes.Format(b.ShapeRef)} does not match {nameA} shape {Shapes.Format(a.ShapeRef)}");
    }

    /// <summary>A floating-point tensor.</summary>
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
        // int64 tensors (class indices) are checked by their own rules, not here.
        if (x.DType.IsFloatingPoint()) DTypeDispatch.Run(x.DType, new InRangeBody(op, name, x, lo, openLow, hi, requirement));
    }

    private readonly struct InRangeBody(string op, string name, Tensor x, double lo, bool openLow, double hi, string requirement) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => InRange(op, name, x, x.Data<T>(), lo, openLow, hi, requirement);
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
}
