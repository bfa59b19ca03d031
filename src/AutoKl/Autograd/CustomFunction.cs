namespace AutoKl;

/// <summary>
/// A differentiable operation defined by the user: a forward computation and its
/// vector-Jacobian product (PyTorch's <c>torch.autograd.Function</c>, JAX's <c>custom_vjp</c>,
/// DiffSharp's <c>UnaryOp</c>). Applying it records one node on the tape, named
/// <see cref="Name"/>, exactly as a built-in op does: the output's <see cref="Tensor.GradFnName"/>
/// and printed <c>grad_fn</c> show the name, and errors about its gradients name it.
/// </summary>
/// <remarks>
/// <para>The forward computation runs without recording, so whatever it does inside (tensor ops,
/// or loops over raw arrays) is replaced on the tape by the single custom node.</para>
/// <para>The vector-Jacobian product receives the inputs, the output and the gradient of the
/// output, and returns one gradient per input, shaped like that input (null for an input that gets
/// no gradient, i.e. zero). When it is written with tensor ops, it is recorded while a gradient is
/// itself being recorded (<c>createGraph</c>, <see cref="Autograd.Hvp"/>), so second derivatives
/// through the op work. When it is not (it computes on raw arrays, or detaches), the gradients it
/// returns carry a node that raises an <see cref="AutoKlException"/> naming the op if anything
/// differentiates through them: a second derivative is never silently zero.</para>
/// </remarks>
public sealed class CustomFunction
{
    private readonly Func<Tensor[], Tensor> _forward;
    private readonly Func<Tensor[], Tensor, Tensor, Tensor?[]> _vjp;
    private readonly Func<Tensor[], Tensor, Tensor?[], Tensor?>? _jvp;

    /// <summary>
    /// Defines an op of any number of inputs.
    /// </summary>
    /// <param name="name">The op's name on the tape and in error messages, e.g. <c>softplus</c>.</param>
    /// <param name="forward">Computes the output from the inputs (runs without recording).</param>
    /// <param name="vjp">
    /// Given the inputs, the output and the output's gradient <c>g</c>, returns the gradient of each
    /// input: <c>g</c> times the Jacobian of the output with respect to that input. One entry per
    /// input, shaped like it; null for an input whose gradient is zero or not wanted.
    /// </param>
    /// <param name="differentiableVjp">
    /// True (the default) when <paramref name="vjp"/> is written with tensor ops so it can be
    /// differentiated again. False declares that it cannot (PyTorch's <c>once_differentiable</c>):
    /// it then always runs without recording and any attempt to differentiate its result twice
    /// fails with an error naming the op.
    /// </param>
    /// <param name="jvp">
    /// The forward-mode rule (JAX's <c>defjvp</c>): given the inputs, the output and each input's
    /// tangent (null for a zero tangent), returns the output's tangent, J v (null for zero). Written
    /// with tensor ops, it nests like any rule. Without it, a forward rule is derived from
    /// <paramref name="vjp"/> by transposition when that is written with tensor ops (one reverse pass
    /// per forward-mode use); with <paramref name="differentiableVjp"/> false, or a vjp computed off
    /// the tape, a forward-mode transform through the op (jvp, hessian, hvp, jacobian in forward
    /// mode) is an error naming it.
    /// </param>
    public CustomFunction(string name, Func<Tensor[], Tensor> forward, Func<Tensor[], Tensor, Tensor, Tensor?[]> vjp, bool differentiableVjp = true,
        Func<Tensor[], Tensor, Tensor?[], Tensor?>? jvp = null)
    {
        _jvp = jvp;
        if (string.IsNullOrWhiteSpace(name))
            throw new AutoKlException("custom_function", "a custom op needs a name (it is shown on the tape and in error messages)");
        Name = name;
        _forward = forward ?? throw new AutoKlException(name, "the forward function is missing");
        _vjp = vjp ?? throw new AutoKlException(name, "the vector-Jacobian product is missing");
        DifferentiableVjp = differentiableVjp;
    }

    /// <summary>
    /// Defines an op of one input: <paramref name="vjp"/> gets the input <c>x</c>, the output
    /// <c>y</c> and the output's gradient <c>g</c> and returns the input's gradient.
    /// </summary>
    /// <remarks><paramref name="jvp"/>, when given, gets <c>x</c>, <c>y</c> and the tangent of <c>x</c> and returns the tangent of <c>y</c>.</remarks>
    public static CustomFunction Unary(string name, Func<Tensor, Tensor> forward, Func<Tensor, Tensor, Tensor, Tensor> vjp, bool differentiableVjp = true,
        Func<Tensor, Tensor, Tensor, Tensor>? jvp = null)
    {
        if (forward is null) throw new AutoKlException(name, "the forward function is missing");
        if (vjp is null) throw new AutoKlException(name, "the vector-Jacobian product is missing");
        return new CustomFunction(name, xs => forward(xs[0]), (xs, y, g) => [vjp(xs[0], y, g)], differentiableVjp,
            jvp is null ? null : (xs, y, ts) => jvp(xs[0], y, ts[0]!)) { _arity = 1 };
    }

    /// <summary>
    /// Defines an op of two inputs: <paramref name="vjp"/> gets the inputs <c>a</c>, <c>b</c>, the
    /// output <c>y</c> and the output's gradient <c>g</c> and returns the gradients of <c>a</c> and
    /// <c>b</c> (either may be null for no gradient). Broadcasting is the forward's business: each
    /// gradient must come back in its input's own shape.
    /// </summary>
    /// <remarks><paramref name="jvp"/>, when given, gets <c>a</c>, <c>b</c>, <c>y</c> and the tangents of
    /// <c>a</c> and <c>b</c> (null where an input has none) and returns the tangent of <c>y</c>.</remarks>
    public static CustomFunction Binary(string name, Func<Tensor, Tensor, Tensor> forward,
        Func<Tensor, Tensor, Tensor, Tensor, (Tensor? GradA, Tensor? GradB)> vjp, bool differentiableVjp = true,
        Func<Tensor, Tensor, Tensor, Tensor?, Tensor?, Tensor?>? jvp = null)
    {
        if (forward is null) throw new AutoKlException(name, "the forward function is missing");
        if (vjp is null) throw new AutoKlException(name, "the vector-Jacobian product is missing");
        return new CustomFunction(name, xs => forward(xs[0], xs[1]),
            (xs, y, g) => { var (ga, gb) = vjp(xs[0], xs[1], y, g); return [ga, gb]; }, differentiableVjp,
            jvp is null ? null : (xs, y, ts) => jvp(xs[0], xs[1], y, ts[0], ts[1])) { _arity = 2 };
    }

    private int _arity = -1;

    /// <summary>
    /// Sums a gradient of a broadcast output back to the shape of an input that was broadcast
    /// (over the leading axes it lacked and the axes where it had size 1): the last step of a
    /// vector-Jacobian product for a broadcasting op. Recorded, so it can be differentiated again.
    /// </summary>
    public static Tensor SumToShape(Tensor gradient, int[] shape)
    {
        if (gradient is null) throw new AutoKlException("sum_to_shape", "the gradient is null");
        if (shape is null) throw new AutoKlException("sum_to_shape", "the shape is null");
        var target = Shapes.Broadcast("sum_to_shape", gradient.ShapeRef, shape);
        if (!Shapes.Equal(target, gradient.ShapeRef))
            throw new AutoKlException("sum_to_shape", $"a gradient of shape {Shapes.Format(gradient.ShapeRef)} cannot come from broadcasting shape {Shapes.Format(shape)}");
        return Backprop.SumTo(gradient, (int[])shape.Clone());
    }

    /// <summary>The op's name, as recorded on the tape.</summary>
    public string Name { get; }

    /// <summary>Whether the vector-Jacobian product may be differentiated again (see the constructor).</summary>
    public bool DifferentiableVjp { get; }

    /// <summary>Applies the op to one input.</summary>
    public Tensor Apply(Tensor x) => Apply(new[] { x });

    /// <summary>Applies the op to two inputs.</summary>
    public Tensor Apply(Tensor a, Tensor b) => Apply(new[] { a, b });

    /// <summary>
    /// Applies the op: runs the forward computation without recording and, when recording is on and
    /// some input requires gradients, records one node named <see cref="Name"/> on the tape.
    /// </summary>
    public Tensor Apply(params Tensor[] inputs)
    {
        if (inputs is null) throw new AutoKlException(Name, "the inputs are missing");
        if (_arity >= 0 && inputs.Length != _arity)
            throw new AutoKlException(Name, $"takes {_arity} input{(_arity == 1 ? "" : "s")}, got {inputs.Length}");
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is null) throw new AutoKlException(Name, $"input {i} is null");
        inputs = (Tensor[])inputs.Clone();
        Tensor output;
        // The forward runs as a raw computation in both modes: the op's own rules differentiate it.
        using (GradMode.Set(false))
        using (ForwardMode.Suspend())
            output = Guarded("forward function", () => _forward(inputs));
        if (output is null) throw new AutoKlException(Name, "the forward function returned null");
        // The node is attached to the output object, so it must be a tensor of our own: never one
        // of the inputs, a tensor captured by the forward, or one already on a tape.
        if (!output.IsLeaf || output.RequiresGrad || Array.Exists(inputs, x => ReferenceEquals(x, output)))
            output = output.CopyValues();
        var y = output;
        return Record(y, inputs, g => Backward(inputs, y, g));
    }

    /// <summary>Runs user code so that whatever it throws names this op (the original is the inner exception).</summary>
    private T Guarded<T>(string what, Func<T> run)
    {
        try { return run(); }
        catch (AutoKlException e) when (e.Operation == Name) { throw; }
        catch (Exception e)
        {
            throw new AutoKlException(Name, $"its {what} failed: {e.Message}", e);
        }
    }

    private Tensor Record(Tensor y, Tensor[] inputs, Func<Tensor, Tensor?[]> backward) =>
        Tensor.Record(y, Name, inputs, backward,
            jvp: ForwardMode.Active ? ts => _jvp is null ? TransposedJvp(inputs, y, ts) : Guarded("jvp", () => _jvp(inputs, y, ts)) : null);

    /// <summary>
    /// The forward rule of an op declared without one, derived from its vector-Jacobian product:
    /// that product is linear in the output's gradient u, so the derivative with respect to u of
    /// sum_i &lt;vjp(u)_i, t_i&gt; is sum_i J_i t_i (JAX's linear transposition, run the other way).
    /// Needs a rule written with tensor ops: one computed off the tape is an error naming the op.
    /// </summary>
    private Tensor? TransposedJvp(Tensor[] inputs, Tensor y, Tensor?[] tangents)
    {
        if (!DifferentiableVjp)
            throw new AutoKlException(Name,
                "has no forward-mode rule and was declared with differentiableVjp: false (F#: Custom.unaryOnce), so none can be derived from its vector-Jacobian product; " +
                "declare one to use it in forward mode (jvp, hessian, hvp, jacobian in forward mode): the jvp parameter of CustomFunction (F#: Custom.unaryWithJvp), " +
                "or a vector-Jacobian product written with tensor ops");
        Tensor Pairing(Tensor u)
        {
            var grads = Guarded("vector-Jacobian product", () => _vjp(inputs, y, u))
                ?? throw new AutoKlException(Name, "the vector-Jacobian product returned null instead of an array of gradients");
            if (grads.Length != inputs.Length)
                throw new AutoKlException(Name, $"the vector-Jacobian product returned {grads.Length} gradients for {inputs.Length} inputs; it must return one per input, in order (null for none)");
            Tensor? total = null;
            for (int i = 0; i < inputs.Length; i++)
            {
                if (tangents[i] is not { } t || grads[i] is not { } gi) continue;
                if (!gi.RequiresGrad)
                    throw new AutoKlException(Name,
                        $"cannot be differentiated in forward mode through input {i}: it has no jvp, and its vector-Jacobian product computes the gradient off the tape " +
                        "(raw arrays, Detach or NoGrad), so no forward rule can be derived from it. Pass a jvp, or write the vector-Jacobian product with tensor ops");
                var term = Tensor.Sum(gi * t);
                total = total is null ? term : total + term;
            }
            return total ?? Tensor.Sum(u * 0.0);
        }
        using (GradMode.Set(true))
            return Autograd.Gradients(Pairing, Tensor.ZerosLike(y), Name);
    }

    /// <summary>Runs the user's rule, checks what it returned, and guards second derivatives.</summary>
    private Tensor?[] Backward(Tensor[] inputs, Tensor y, Tensor g)
    {
        // GradMode is on here exactly when the backward pass itself is being recorded.
        bool recording = GradMode.Enabled;
        Tensor?[] grads;
        // User code may keep what it is given or makes (a list of gradients, a cache): the gradient
        // it gets leaves the pass's temporaries, and what it makes is never one of them, so the
        // pool never hands those arrays to another tensor.
        StoragePool.Keep(g.Storage);
        using (StoragePool.Suspend())
        using (GradMode.Set(recording && DifferentiableVjp))
            grads = Guarded("vector-Jacobian product", () => _vjp(inputs, y, g));
        grads = Checked(grads, inputs);
        if (!recording) return grads;
        for (int i = 0; i < grads.Length; i++)
        {
            var gi = grads[i];
            if (gi is null || gi.RequiresGrad || !inputs[i].RequiresGrad) continue;
            // Not on the tape. Either the rule escaped it (raw arrays, Detach, NoGrad) or this
            // gradient truly does not depend on the inputs (a linear op with a constant seed).
            // Re-running the rule at a nudged point tells the two apart.
            if (!DifferentiableVjp || DependsOnInputs(inputs, g, i, gi))
                grads[i] = Unusable(gi, inputs, i);
        }
        return grads;
    }

    private Tensor?[] Checked(Tensor?[]? grads, Tensor[] inputs)
    {
        if (grads is null)
            throw new AutoKlException(Name, "the vector-Jacobian product returned null instead of an array of gradients (use null entries for inputs without a gradient)");
        if (grads.Length != inputs.Length)
            throw new AutoKlException(Name,
                $"the vector-Jacobian product returned {grads.Length} gradient{(grads.Length == 1 ? "" : "s")} for {inputs.Length} input{(inputs.Length == 1 ? "" : "s")}; it must return one per input, in order (null for none)");
        var result = (Tensor?[])grads.Clone();
        for (int i = 0; i < result.Length; i++)
        {
            var gi = result[i];
            if (gi is null || !inputs[i].RequiresGrad) { result[i] = null; continue; }
            if (!Shapes.Equal(gi.ShapeRef, inputs[i].ShapeRef))
                throw new AutoKlException(Name,
                    $"the vector-Jacobian product returned a gradient of shape {Shapes.Format(gi.ShapeRef)} for input {i} of shape {Shapes.Format(inputs[i].ShapeRef)}; each gradient must have its input's shape (sum over broadcast dimensions)");
            if (!gi.DType.IsFloatingPoint())
                throw new AutoKlException(Name, $"the vector-Jacobian product returned an {gi.DType.Name()} gradient for input {i}; gradients are floating point");
            if (gi.DType != inputs[i].DType) result[i] = gi.ToType(inputs[i].DType);
        }
        return result;
    }

    /// <summary>
    /// True when the rule gives a different gradient for input <paramref name="i"/> at a slightly
    /// moved point, i.e. the gradient depends on the inputs although it was not recorded.
    /// </summary>
    private bool DependsOnInputs(Tensor[] inputs, Tensor g, int i, Tensor gi)
    {
        using var _ = GradMode.Set(false);
        try
        {
            var moved = inputs.Select(x => x.DType.IsFloatingPoint() ? x.Detach() * (1.0 + 1e-3) + 1e-3 : x.Detach()).ToArray();
            var y = _forward(moved);
            var again = _vjp(moved, y, g.Detach());
            if (again is null || again.Length != inputs.Length || again[i] is null) return true;
            var a = gi.ToDoubleArray();
            var b = again[i]!.ToDoubleArray();
            if (a.Length != b.Length) return true;
            for (int k = 0; k < a.Length; k++)
                if (!a[k].Equals(b[k])) return true;
            return false;
        }
        catch (Exception)
        {
            // Outside the rule's domain after the nudge: assume the worst and refuse later.
            return true;
        }
    }

    /// <summary>
    /// The gradient's values on a node that refuses to be differentiated, naming the op (PyTorch's
    /// DelayedError): it is only an error if something actually differentiates through it.
    /// </summary>
    private Tensor Unusable(Tensor gi, Tensor[] inputs, int i)
    {
        var needing = inputs.Where(x => x.RequiresGrad).ToArray();
        string reason = DifferentiableVjp
            ? "it computes that gradient off the tape (raw arrays, Detach or NoGrad), so its derivative is unknown. Write the vector-Jacobian product with tensor ops to get second derivatives"
            : "it was declared with differentiableVjp: false";
        return Tensor.Record(gi.CopyValues(), Name + "_backward", needing, _ => throw new AutoKlException(Name,
            $"cannot differentiate the gradient of custom op '{Name}' for input {i} again: {reason}"));
    }
}
