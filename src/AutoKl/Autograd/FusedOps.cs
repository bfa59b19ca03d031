namespace AutoKl;

/// <summary>
/// The machinery of fused ops: one op on the tape computed by its own kernels, declared with its
/// reference composition (what createGraph, forward mode and the tests fall back to), the tensors
/// it keeps for its backward kernel (<see cref="Residuals"/>, owned by its node and handed back by
/// the tape), and, for a pair, a backward kernel the tape may run in place of both nodes
/// (<see cref="PairShortcut"/>). The fused ops themselves: kl_div and cross_entropy
/// (<c>Losses/Fused.cs</c>), normal_log_prob (<c>Distributions/Normal.cs</c>); the one fused pair,
/// log_softmax then kl_div, is declared in <c>Losses/Fused.cs</c> and listed in docs/rules.md.
/// </summary>
internal static class FusedOps
{
    /// <summary>Whether the fused forms are used on this thread (tests compare against the composed ones).</summary>
    public static bool Enabled
    {
        get => !EngineSwitches.Thread.FusionOff;
        set => EngineSwitches.Thread.FusionOff = !value;
    }

    /// <summary>
    /// Whether a fused form may compute an op of these inputs: fusion is on, and no input carries
    /// a forward-mode tangent (forward mode takes the composition, whose every op has a forward rule).
    /// </summary>
    public static bool Allowed(Tensor a, Tensor b) => Enabled && !ForwardMode.AnyTangent(a, b);

    /// <inheritdoc cref="Allowed(Tensor, Tensor)"/>
    public static bool Allowed(Tensor a, Tensor b, Tensor c) => Enabled && !ForwardMode.AnyTangent(a, b, c);

    /// <summary>
    /// The node of <paramref name="primitive"/> that made <paramref name="x"/>, while x still has the
    /// values it made (no in-place change since); null otherwise. How a fused pair finds its producer.
    /// </summary>
    public static Node? ProducedBy(Tensor x, Primitive primitive) =>
        x.GradFn is { Released: false } node && ReferenceEquals(node.Primitive, primitive) && node.OutputUnchanged(x) ? node : null;

    /// <summary>
    /// Records a fused op from its <paramref name="declaration"/>: its backward is the declared kernel
    /// when the pass records nothing and no tangent rides on the gradient or the inputs, and the
    /// reference composition's own backward otherwise (or when the kernel returns null: an input it
    /// does not cover needs a gradient), so every higher derivative is exactly the composition's. The
    /// node owns the declaration's residuals. <paramref name="jvp"/> is the op's own forward rule, for
    /// the tangents it was recorded with (a fused op without one is computed by its composition under
    /// forward mode: see <see cref="Allowed"/>).
    /// </summary>
    public static Tensor Record(Tensor value, string op, Tensor[] inputs, FusedOp declaration, Func<Tensor?[], Tensor?>? jvp = null) =>
        Tensor.RecordNode(value, op, inputs, declaration, jvp: jvp, residuals: declaration);

    /// <summary>A fused op's backward (its node runs this with its declaration).</summary>
    public static Tensor?[] Backward(FusedOp op, Tensor[] inputs, Tensor g)
    {
        // a kernel reads raw values: under a tangent (forward over reverse) the composition's rules carry it
        if (GradMode.Enabled || ForwardMode.AnyTangent(g) || ForwardMode.AnyTangent(inputs)) return ReferenceBackward(op.Reference, inputs, g);
        var grads = op.Backward(new BackwardContext(Backprop.FreesGraph), g);
        if (grads is null) return ReferenceBackward(op.Reference, inputs, g);
        if (op.FreshGradients) MarkFresh(grads);
        return grads;
    }

    /// <summary>Marks a kernel's gradients as its own new arrays (<see cref="Tensor.SoleGradient"/>).</summary>
    public static void MarkFresh(Tensor?[] grads)
    {
        foreach (var g in grads)
            if (g is not null) g.SoleGradient = true;
    }

    /// <summary>
    /// The gradients of a composed reference with respect to <paramref name="inputs"/>, for the
    /// output gradient <paramref name="g"/>: the reference is evaluated on stand-ins (connected to
    /// the inputs when the backward pass records, so its result can be differentiated again;
    /// fresh leaves keeping the inputs' tangents otherwise) with fusion off, and differentiated by the tape.
    /// </summary>
    public static Tensor?[] ReferenceBackward(Func<Tensor[], Tensor> reference, Tensor[] inputs, Tensor g)
    {
        bool record = GradMode.Enabled;
        var points = new Tensor[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            points[i] = !inputs[i].RequiresGrad ? inputs[i] : record ? Tensor.Identity(inputs[i]) : inputs[i].DetachKeepingTangents().RequiresGrad_();
        Tensor value;
        var switches = EngineSwitches.Thread;
        bool wasOff = switches.FusionOff;
        switches.FusionOff = true;
        try
        {
            using (GradMode.Set(true)) value = reference(points);
        }
        finally { switches.FusionOff = wasOff; }
        var result = new Tensor?[inputs.Length];
        if (!value.RequiresGrad) return result;
        var grads = Backprop.Run(value, g.DType == value.DType ? g : g.ToType(value.DType), createGraph: record, accumulate: false, wanted: points);
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i].RequiresGrad && grads.TryGetValue(points[i], out var gi)) result[i] = gi;
        return result;
    }
}

/// <summary>
/// A fused op's declaration, one object per use: the composition it fuses, its backward kernel,
/// and what it keeps for that kernel (its residuals, handed back by the tape). Its forward kernel
/// is the code that makes the object, and its forward rule, when it has one, is passed beside it
/// to <see cref="FusedOps.Record"/>, as every op's is to its Record call.
/// </summary>
internal abstract class FusedOp : Residuals
{
    /// <summary>The composition this op fuses: what createGraph, forward mode without a rule of its own, and the tests differentiate.</summary>
    public abstract Tensor Reference(Tensor[] inputs);

    /// <summary>The gradients for the output gradient <paramref name="g"/> by the op's kernel; null when an input it does not cover needs one.</summary>
    public abstract Tensor?[]? Backward(BackwardContext context, Tensor g);

    /// <summary>True when the kernel's gradients are new arrays held by nothing else, so one may become an input's .Grad without a copy.</summary>
    public virtual bool FreshGradients => false;

    /// <summary>Nothing kept, unless the op says otherwise.</summary>
    public override void HandBack() { }
}

/// <summary>The backward of a fused pair (see <see cref="PairShortcut"/>), declared by the consumer.</summary>
internal interface IFusedPair
{
    /// <summary>Whether the pair's kernel covers this pass (say, no input it does not differentiate needs a gradient).</summary>
    bool Applies();

    /// <summary>The gradients of the pair's inputs (the producer's, then the consumer's others) at once.</summary>
    Tensor?[] Backward(BackwardContext context, Tensor g);
}

/// <summary>A declared primitive that fusion recognises on the tape, compared by reference (never by name).</summary>
internal sealed class Primitive(string name)
{
    public string Name { get; } = name;

    public override string ToString() => Name;

    /// <summary>log_softmax (<c>Ops/Softmax.cs</c>): the producer of the log_softmax + kl_div pair.</summary>
    public static readonly Primitive LogSoftmax = new("log_softmax");
}

/// <summary>What a backward kernel may know of the pass running it.</summary>
internal readonly struct BackwardContext(bool lastUse)
{
    /// <summary>True when this is the rule's last run (the pass frees the graph): a residual may then be overwritten by the gradient.</summary>
    public bool LastUse => lastUse;
}

/// <summary>
/// What an op keeps for its backward kernel alone (exps, row sums, a unit gradient). Owned by the
/// op's tape node: a pass that frees the graph hands them back to the pool when it releases the
/// node (<see cref="Node.Release"/>), or a kernel turns one into the gradient on its last use.
/// </summary>
internal abstract class Residuals
{
    /// <summary>The primitive whose residuals these are, when fusion recognises it (log_softmax's say so); null otherwise.</summary>
    public virtual Primitive? Primitive => null;

    /// <summary>Hands every tensor still kept back to the running pass (each goes back to the pool when the pass ends).</summary>
    public abstract void HandBack();

    /// <summary>Hands <paramref name="kept"/> back to the running pass and forgets it.</summary>
    protected static void HandBack(ref Tensor? kept)
    {
        kept?.HandBackToPass();
        kept = null;
    }

    /// <summary>
    /// <paramref name="kept"/> as the array to write a gradient into, on the kernel's last use (it
    /// is read for the last time as the gradient is written); it leaves the residuals and becomes one
    /// of the pass's temporaries. Null otherwise: the kernel writes into a new array.
    /// </summary>
    protected static Tensor? TakeForGradient(ref Tensor? kept, BackwardContext context)
    {
        if (!context.LastUse || kept is null) return null;
        var taken = kept;
        kept = null;
        taken.HandBackToPass();
        return taken;
    }
}

/// <summary>
/// A fused pair on the tape: the consumer's node (which carries this) and the producer's node,
/// joined by the intermediate tensor the producer made and the consumer read. The tape runs the
/// pair's backward, the gradients of <see cref="Inputs"/> (the producer's inputs, then the
/// consumer's other inputs) at once, in place of both rules, when the intermediate's own gradient
/// is not needed (see <c>Backprop</c>); the two rules otherwise, with the same answers. The pair's
/// gradients are taken as new arrays held by nothing else (<see cref="FusedOps.MarkFresh"/>).
/// </summary>
internal sealed class PairShortcut(Node producer, Tensor intermediate, Tensor[] inputs, IFusedPair pair)
{
    public Node Producer { get; } = producer;
    public Tensor Intermediate { get; } = intermediate;
    public Tensor[] Inputs { get; } = inputs;

    public bool Applies() => pair.Applies();

    public Tensor?[] Backward(BackwardContext context, Tensor g)
    {
        var grads = pair.Backward(context, g);
        FusedOps.MarkFresh(grads);
        return grads;
    }
}
