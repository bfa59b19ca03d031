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
        var grads = Backprop.Run(output, cotangent, createGraph, accumulate: false, retainGraph, "grad", wanted: inputs);
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

    /// <summary>
    /// The Hessian of a scalar function at <paramref name="x"/> times <paramref name="v"/>,
    /// forward over reverse: the directional derivative of the gradient along v, in one forward
    /// pass carrying v and one backward pass (no second tape over the backward pass).
    /// </summary>
    public static Tensor Hvp(Func<Tensor, Tensor> f, Tensor x, Tensor v)
    {
        CheckTangent("hvp", x, v, "direction");
        // Both passes report errors (a non-scalar f, say) under the name the user called.
        return Jvp(ps => Gradients(f, ps[0], "hvp"), [x], [v], "hvp").Tangent;
    }

    /// <summary>
    /// The value of <paramref name="f"/> at <paramref name="x"/> and its Jacobian-vector product
    /// with <paramref name="v"/> (the directional derivative along v), in one forward pass that
    /// carries v beside x (forward mode; torch.func's <c>jvp</c>). Nothing is recorded on the tape
    /// for it unless an outer reverse pass needs it. Nests with every other transform.
    /// </summary>
    /// <example><code lang="csharp">
    /// var (y, dy) = Autograd.Jvp(t => t.Exp().Sum(), x, v);   // dy = sum(exp(x) * v)
    /// </code></example>
    public static Tuple<Tensor, Tensor> Jvp(Func<Tensor, Tensor> f, Tensor x, Tensor v)
    {
        var (value, tangent) = Jvp(xs => f(xs[0]), [x], [v], "jvp");
        return Tuple.Create(value, tangent);
    }

    /// <summary>The value of a function of several tensors and its Jacobian-vector product with one tangent per argument.</summary>
    public static Tuple<Tensor, Tensor> Jvp(Func<Tensor[], Tensor> f, Tensor[] xs, Tensor[] vs)
    {
        var (value, tangent) = Jvp(f, xs, vs, "jvp");
        return Tuple.Create(value, tangent);
    }

    internal static (Tensor Value, Tensor Tangent) Jvp(Func<Tensor[], Tensor> f, Tensor[] xs, Tensor[] vs, string op)
    {
        if (xs.Length != vs.Length)
            throw new AutoKlException(op, $"{vs.Length} tangents given for {xs.Length} inputs; pass one tangent per input");
        for (int i = 0; i < xs.Length; i++) CheckTangent(op, xs[i], vs[i], xs.Length == 1 ? "tangent" : $"tangent {i}");
        Tensor value;
        Tensor? tangent;
        using (var level = ForwardMode.Enter())
        {
            var duals = new Tensor[xs.Length];
            for (int i = 0; i < xs.Length; i++) duals[i] = ForwardMode.Dual(xs[i], vs[i], level.Id);
            value = f(duals) ?? throw new AutoKlException(op, "the function returned null");
            // The level is this transform's alone: its tangent leaves the value here.
            tangent = ForwardMode.Take(value, level.Id);
        }
        return (value, tangent ?? Tensor.ZerosLike(value));
    }

    /// <summary>The tangent must be a floating tensor of the point's shape and dtype.</summary>
    private static void CheckTangent(string op, Tensor x, Tensor v, string what)
    {
        x.RequireFloat(op);
        if (v.DType != x.DType || !Shapes.Equal(x.ShapeRef, v.ShapeRef))
            throw new AutoKlException(op,
                $"{what} of shape {Shapes.Format(v.ShapeRef)} and dtype {v.DType.Name()} does not match the point's shape {Shapes.Format(x.ShapeRef)} and dtype {x.DType.Name()}");
    }

    /// <summary>
    /// The Jacobian of <paramref name="f"/> at <paramref name="x"/>, of shape output ++ input
    /// (torch.func's <c>jacrev</c>/<c>jacfwd</c>): entry [i..., j...] is d f(x)[i...] / d x[j...].
    /// Reverse mode runs one forward pass and one backward pass per output element; forward mode
    /// one forward pass per input element; <see cref="JacobianMode.Auto"/> picks the fewer passes.
    /// </summary>
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x, JacobianMode mode = JacobianMode.Auto)
    {
        x.RequireFloat("jacobian");
        if (mode == JacobianMode.Auto)
        {
            // The output's size is known only by evaluating f once; forward mode reuses nothing of
            // that pass, so it is taken only when the output is larger than the input.
            Tensor probe;
            using (NoGrad()) probe = f(x.DetachKeepingTangents());
            mode = probe.Numel > x.Numel ? JacobianMode.Forward : JacobianMode.Reverse;
        }
        return mode == JacobianMode.Forward ? JacobianForward(f, x) : JacobianReverse(f, x);
    }

    private static Tensor JacobianReverse(Func<Tensor, Tensor> f, Tensor x)
    {
        bool recording = GradMode.Enabled;
        Tensor point, value;
        using (GradMode.Set(true))
        {
            point = x.RequiresGrad && recording ? Tensor.Identity(x) : x.DetachKeepingTangents().RequiresGrad_();
            value = f(point) ?? throw new AutoKlException("jacobian", "the function returned null");
        }
        value.RequireFloat("jacobian");
        if (value.DType != x.DType) value = value.ToType(x.DType);
        int rows = value.Numel;
        if (!value.RequiresGrad || rows == 0) return Tensor.Zeros([.. value.ShapeRef, .. x.ShapeRef], x.DType);
        bool nested = recording && (!point.IsLeaf || Backprop.ReachesOtherLeaf(value, [point]));
        var flat = value.Reshape([rows]);
        var result = new Tensor[rows];
        for (int i = 0; i < rows; i++)
        {
            var seed = Tensor.Zeros([rows], value.DType);
            seed.SetFlat(i, 1.0);
            // every pass but the last keeps the graph for the next one
            var grads = Backprop.Run(flat, seed, createGraph: nested, accumulate: false, retainGraph: i < rows - 1, "jacobian", wanted: [point]);
            result[i] = grads.TryGetValue(point, out var g) ? g : Tensor.ZerosLike(x);
        }
        RetirePoints([point]);
        return Tensor.Stack(result).Reshape([.. value.ShapeRef, .. x.ShapeRef]);
    }

    private static Tensor JacobianForward(Func<Tensor, Tensor> f, Tensor x)
    {
        int n = x.Numel;
        int[]? outShape = null;
        var columns = new Tensor[n];
        for (int j = 0; j < n; j++)
        {
            var direction = Tensor.Zeros(x.ShapeRef, x.DType);
            direction.SetFlat(j, 1.0);
            var (value, tangent) = Jvp(xs => f(xs[0]), [x], [direction], "jacobian");
            value.RequireFloat("jacobian");
            outShape ??= value.ShapeRef;
            columns[j] = tangent.Reshape([-1]);
        }
        if (n == 0)
        {
            Tensor probe;
            using (NoGrad()) probe = f(x);
            return Tensor.Zeros([.. probe.ShapeRef, .. x.ShapeRef], x.DType);
        }
        return Tensor.Stack(columns, axis: 1).Reshape([.. outShape!, .. x.ShapeRef]);
    }

    /// <summary>
    /// The Hessian of a scalar function at <paramref name="x"/>, of shape input ++ input: forward
    /// over reverse (torch.func's <c>hessian</c>, jacfwd of jacrev), one Hessian-vector product per
    /// input element.
    /// </summary>
    public static Tensor Hessian(Func<Tensor, Tensor> f, Tensor x)
    {
        x.RequireFloat("hessian");
        int n = x.Numel;
        if (n == 0) return Tensor.Zeros([.. x.ShapeRef, .. x.ShapeRef], x.DType);
        var columns = new Tensor[n];
        for (int j = 0; j < n; j++)
        {
            var direction = Tensor.Zeros(x.ShapeRef, x.DType);
            direction.SetFlat(j, 1.0);
            columns[j] = Jvp(ps => Gradients(f, ps[0], "hessian"), [x], [direction], "hessian").Tangent.Reshape([-1]);
        }
        return Tensor.Stack(columns, axis: 1).Reshape([.. x.ShapeRef, .. x.ShapeRef]);
    }

    private static (Tensor Value, Tensor[] Grads) Vjp(Func<Tensor[], Tensor> f, Tensor[] xs, Tensor? cotangent, string op)
    {
        foreach (var x in xs) x.RequireFloat(op);
        // Inside an outer recording, an argument that requires gradients stays connected to it
        // (so grad of grad works); otherwise the pass differentiates leaves of its own, which keep
        // the argument's forward-mode tangents (so a jvp over this pass sees through it).
        bool recording = GradMode.Enabled;
        Tensor[] points;
        Tensor value;
        using (GradMode.Set(true))
        {
            points = xs.Select(x => x.RequiresGrad && recording ? Tensor.Identity(x) : x.DetachKeepingTangents().RequiresGrad_()).ToArray();
            value = f(points) ?? throw new AutoKlException(op, "the function returned null");
        }
        var seed = cotangent ?? ScalarSeed(op, value);
        seed = CheckRoot(op, value, seed);
        if (!value.RequiresGrad)
            return (value, points.Select(Tensor.ZerosLike).ToArray());
        // The backward pass is recorded when its result can be differentiated further: when
        // recording is on and the value depends on a tensor that requires gradients other than
        // this pass's own leaves (an outer variable, passed in or closed over). Otherwise f built
        // this graph for this pass alone, and it is freed.
        bool nested = recording && (points.Any(p => !p.IsLeaf) || Backprop.ReachesOtherLeaf(value, points));
        var grads = Backprop.Run(value, seed, createGraph: nested, accumulate: false, retainGraph: false, op, wanted: points);
        var result = points.Select(p => grads.TryGetValue(p, out var g) ? g : Tensor.ZerosLike(p)).ToArray();
        RetirePoints(points);
        return (nested ? value : value.DetachKeepingTangents(), result);
    }

    /// <summary>
    /// A finished transform's own leaves stop being variables: nothing outside it can ask for a
    /// gradient with respect to them, so an outer transform over its result sees constants there
    /// (and records nothing for them).
    /// </summary>
    private static void RetirePoints(Tensor[] points)
    {
        foreach (var p in points)
            if (p.IsLeaf) p.RequiresGrad = false;
    }

    /// <summary>The gradient of a scalar function at <paramref name="x"/> for the engine's own use, reporting errors under <paramref name="op"/>.</summary>
    internal static Tensor Gradients(Func<Tensor, Tensor> f, Tensor x, string op) => Vjp(xs => f(xs[0]), [x], cotangent: null, op).Grads[0];

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

/// <summary>How <see cref="Autograd.Jacobian"/> computes: a backward pass per output element, a forward pass per input element, or whichever needs fewer.</summary>
public enum JacobianMode
{
    /// <summary>Forward mode when the output has more elements than the input, else reverse mode.</summary>
    Auto,
    /// <summary>One backward pass per output element (torch.func's <c>jacrev</c>).</summary>
    Reverse,
    /// <summary>One forward pass per input element (torch.func's <c>jacfwd</c>).</summary>
    Forward,
}
