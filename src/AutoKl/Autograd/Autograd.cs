namespace AutoKl;

/// <summary>
/// Gradients as functions: the gradient of a scalar function at a point, value and gradient
/// together, vector-Jacobian and Hessian-vector products, and the no-gradient scope.
/// These never touch <see cref="Tensor.Grad"/>. They nest: a gradient computed while an outer
/// computation records can itself be differentiated.
/// </summary>
public static class Autograd
{
    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsGradEnabled => GradMode.Enabled;

    /// <summary>
    /// Stops recording on this thread until the returned scope is disposed (C#:
    /// <c>using (Autograd.NoGrad())</c>, F#: <c>use _ = Autograd.NoGrad()</c>), then puts back the
    /// mode it found. Disposing twice is harmless; scopes disposed out of order still leave the
    /// mode as it was before the first was opened; disposing on another thread is an error.
    /// </summary>
    public static IDisposable NoGrad() => GradMode.Set(false);

    /// <summary>Turns recording back on (on this thread) inside a <see cref="NoGrad"/> scope until disposed; restores like <see cref="NoGrad"/>.</summary>
    public static IDisposable EnableGrad() => GradMode.Set(true);

    /// <summary>True inside a <see cref="DetectAnomaly"/> scope on this thread.</summary>
    public static bool IsAnomalyEnabled => AnomalyMode.Enabled;

    /// <summary>
    /// Anomaly detection on this thread until the returned scope is disposed (PyTorch's
    /// <c>torch.autograd.detect_anomaly</c>): every recorded op remembers where the calling code
    /// created it, and the first op whose forward result or backward gradient holds a NaN or an
    /// infinity throws an <see cref="AutoKlException"/> naming the op, the pass, the input shapes and
    /// that line. It slows every op down (a stack trace each, a scan of each result): use it to
    /// find a NaN, not in production. Off, it costs one flag test per recorded op.
    /// </summary>
    public static IDisposable DetectAnomaly() => AnomalyMode.Set(true);

    /// <summary>
    /// Gradients of the scalar <paramref name="output"/> with respect to each of
    /// <paramref name="inputs"/> (PyTorch's <c>torch.autograd.grad</c>). An input the output does
    /// not depend on gets zeros.
    /// </summary>
    /// <param name="output">A one-element tensor.</param>
    /// <param name="inputs">Tensors that require gradients and took part in computing <paramref name="output"/>.</param>
    /// <param name="createGraph">Record the backward pass so the result can be differentiated again (implies <paramref name="retainGraph"/>).</param>
    /// <param name="retainGraph">Keep the graph behind <paramref name="output"/> for another backward pass; by default it is freed, as in PyTorch.</param>
    public static Tensor[] Gradients(Tensor output, IReadOnlyList<Tensor> inputs, bool createGraph = false, bool retainGraph = false)
        => Gradients(output, inputs, ScalarSeed("grad", output), createGraph, retainGraph);

    /// <summary>
    /// Vector-Jacobian products: d(sum(output * cotangent))/d(input) for each input.
    /// </summary>
    /// <param name="output">The tensor to differentiate.</param>
    /// <param name="inputs">Tensors that require gradients and took part in computing <paramref name="output"/>.</param>
    /// <param name="cotangent">Shaped like <paramref name="output"/>.</param>
    /// <param name="createGraph">Record the backward pass so the result can be differentiated again (implies <paramref name="retainGraph"/>).</param>
    /// <param name="retainGraph">Keep the graph behind <paramref name="output"/> for another backward pass; by default it is freed, as in PyTorch.</param>
    public static Tensor[] Gradients(Tensor output, IReadOnlyList<Tensor> inputs, Tensor cotangent, bool createGraph = false, bool retainGraph = false)
    {
        cotangent = CheckRoot("grad", output, cotangent);
        foreach (var x in inputs)
            if (!x.RequiresGrad)
                throw new AutoKlException("grad", $"an input of shape {Shapes.Format(x.ShapeRef)} does not require gradients, so none can be computed for it");
        var grads = Backprop.Run(output, cotangent, createGraph, accumulate: false, retainGraph, "grad");
        return inputs.Select(x => grads.TryGetValue(x, out var g) ? g : Tensor.ZerosLike(x)).ToArray();
    }

    /// <summary>The gradient of a scalar function at <paramref name="x"/>.</summary>
    /// <example>From C# (F# has <c>grad f x</c>):
    /// <code lang="csharp">
    /// var g = Autograd.Grad(t => (t * t).Sum(), Tensor.FromArray(new[] { 1.0, 2.0 }));   // [2, 4]
    /// </code></example>
    public static Tensor Grad(Func<Tensor, Tensor> f, Tensor x) => ValueAndGrad(f, x).Item2;

    /// <summary>The gradients of a scalar function of several tensors, one per argument.</summary>
    public static Tensor[] Grad(Func<Tensor[], Tensor> f, params Tensor[] xs) => ValueAndGrad(f, xs).Item2;

    /// <summary>The value of a scalar function at <paramref name="x"/> and its gradient there.</summary>
    /// <example>From C# (F# has <c>valueAndGrad f x</c>):
    /// <code lang="csharp">
    /// var (value, grad) = Autograd.ValueAndGrad(t => t.Exp().Sum(), Tensor.FromArray(new[] { 0.0, 1.0 }));
    /// </code></example>
    public static Tuple<Tensor, Tensor> ValueAndGrad(Func<Tensor, Tensor> f, Tensor x)
    {
        var (value, grads) = ValueAndGrad((Tensor[] xs) => f(xs[0]), x);
        return Tuple.Create(value, grads[0]);
    }

    /// <summary>The value of a scalar function of several tensors and its gradient for each argument.</summary>
    public static Tuple<Tensor, Tensor[]> ValueAndGrad(Func<Tensor[], Tensor> f, params Tensor[] xs)
    {
        var (value, grads) = Vjp(f, xs, cotangent: null, op: "grad");
        return Tuple.Create(value, grads);
    }

    /// <summary>
    /// The value of <paramref name="f"/> at <paramref name="x"/> and the vector-Jacobian
    /// product of <paramref name="cotangent"/> (shaped like the value) with it.
    /// </summary>
    public static Tuple<Tensor, Tensor> Vjp(Func<Tensor, Tensor> f, Tensor x, Tensor cotangent)
    {
        var (value, grads) = Vjp((Tensor[] xs) => f(xs[0]), new[] { x }, cotangent, "vjp");
        return Tuple.Create(value, grads[0]);
    }

    /// <summary>The Hessian of a scalar function at <paramref name="x"/> times <paramref name="v"/>: the gradient of (grad f . v).</summary>
    public static Tensor Hvp(Func<Tensor, Tensor> f, Tensor x, Tensor v)
    {
        if (!Shapes.Equal(x.ShapeRef, v.ShapeRef))
            throw new AutoKlException("hvp", $"direction of shape {Shapes.Format(v.ShapeRef)} does not match the point's shape {Shapes.Format(x.ShapeRef)}");
        // Both passes report errors (a non-scalar f, say) under the name the user called.
        Tensor GradOf(Tensor p) => Vjp(ps => f(ps[0]), [p], cotangent: null, "hvp").Grads[0];
        return Vjp(ps => Tensor.Sum(GradOf(ps[0]) * v), [x], cotangent: null, "hvp").Grads[0];
    }

    private static (Tensor Value, Tensor[] Grads) Vjp(Func<Tensor[], Tensor> f, Tensor[] xs, Tensor? cotangent, string op)
    {
        foreach (var x in xs) x.RequireFloat(op);
        // Inside an outer recording, stay connected to it (so grad of grad works) and record the
        // backward pass; otherwise differentiate fresh leaves and record nothing extra.
        bool nested = GradMode.Enabled && xs.Any(x => x.RequiresGrad);
        Tensor[] points;
        Tensor value;
        using (GradMode.Set(true))
        {
            points = xs.Select(x => x.RequiresGrad && GradMode.Enabled ? Tensor.Identity(x) : x.Detach().RequiresGrad_()).ToArray();
            value = f(points);
        }
        var seed = cotangent ?? ScalarSeed(op, value);
        seed = CheckRoot(op, value, seed);
        if (!value.RequiresGrad)
            return (value, points.Select(Tensor.ZerosLike).ToArray());
        // f built this graph for this pass alone: free it unless the pass itself is recorded.
        var grads = Backprop.Run(value, seed, createGraph: nested, accumulate: false, retainGraph: false, op);
        var result = points.Select(p => grads.TryGetValue(p, out var g) ? g : Tensor.ZerosLike(p)).ToArray();
        return (nested ? value : value.Detach(), result);
    }

    internal static Tensor ScalarSeed(string op, Tensor output)
    {
        if (output.Numel != 1)
            throw new AutoKlException(op,
                $"the output has shape {Shapes.Format(output.ShapeRef)}; a gradient without a cotangent needs a one-element output (pass a cotangent of the output's shape for a vector-Jacobian product)");
        return Tensor.OnesLike(output);
    }

    /// <summary>Checks the cotangent against the output and returns it in the output's dtype, so
    /// gradients come back in their inputs' dtypes.</summary>
    internal static Tensor CheckRoot(string op, Tensor output, Tensor cotangent)
    {
        output.RequireFloat(op);
        if (!Shapes.Equal(output.ShapeRef, cotangent.ShapeRef))
            throw new AutoKlException(op, $"cotangent of shape {Shapes.Format(cotangent.ShapeRef)} does not match the output's shape {Shapes.Format(output.ShapeRef)}");
        return cotangent.DType == output.DType ? cotangent : cotangent.ToType(output.DType);
    }
}
