using AutoKl.Kernels;

namespace AutoKl;

// The plumbing every op uses: running kernels (through DTypeDispatch), recording on the tape and dtype
// promotion. (Broadcasting is undone once, by the tape: see Autograd/Backprop.cs.)
public sealed partial class Tensor
{
    /// <summary>
    /// The declaration of an op's derivatives, on the line after its forward computation: the
    /// vector-Jacobian product <paramref name="backward"/> (reverse mode) and the Jacobian-vector
    /// product <paramref name="jvp"/> (forward mode), side by side.
    /// <para><paramref name="backward"/> maps the output's gradient to one gradient per input (null
    /// where not needed); it is attached to <paramref name="result"/> when recording is on and some
    /// input requires gradients. <paramref name="jvp"/> maps the inputs' tangents (null for a zero
    /// tangent) to the output's tangent (null for zero; a broadcasting op may return it in a shape
    /// that broadcasts to the output's); it runs at once, for each open forward-mode level where an
    /// input has a tangent. Both are written with differentiable ops, so each can be differentiated
    /// again in either mode. An op declared without <paramref name="jvp"/> is reverse-only: forward
    /// mode through it is an error naming it (a <see cref="CustomFunction"/> passes a rule derived
    /// from its vector-Jacobian product when it has none of its own).</para>
    /// <para><paramref name="alsoSaved"/> lists tensors the backward rule reads that are not inputs (a
    /// mask, say), whose versions backward checks as it does the inputs'. <paramref name="readsValues"/>
    /// is false for rules that use only shapes (add, sum, reshape...): an in-place change of their
    /// inputs or output cannot make their gradient wrong, so none is refused.</para>
    /// <para><paramref name="residuals"/> are what the op keeps for its backward rule alone: the node
    /// owns them (see <see cref="AutoKl.Residuals"/>), and they may name the primitive for the fused
    /// pairs that recognise it (<see cref="FusedOps.ProducedBy"/>).</para>
    /// </summary>
    internal static Tensor Record(Tensor result, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward,
                                  Tensor[]? alsoSaved = null, bool readsValues = true, Func<Tensor?[], Tensor?>? jvp = null,
                                  Residuals? residuals = null) =>
        RecordNode(result, op, inputs, backward, alsoSaved, readsValues, jvp, residuals);

    /// <summary><see cref="Record"/> with a rule that is a delegate or a fused op's declaration (<see cref="FusedOps.Record"/>).</summary>
    internal static Tensor RecordNode(Tensor result, string op, Tensor[] inputs, object backward,
                                      Tensor[]? alsoSaved = null, bool readsValues = true, Func<Tensor?[], Tensor?>? jvp = null,
                                      Residuals? residuals = null)
    {
        result._madeBy ??= op;
        if (GradMode.Enabled)
            foreach (var input in inputs)
            {
                if (!input.RequiresGrad) continue;
                result._requiresGrad = true;
                result.GradFn = new Node(op, inputs, backward, readsValues ? result : null, alsoSaved) { Residuals = residuals };
                if (AnomalyMode.Enabled) AnomalyMode.CheckForward(result.GradFn, result);
                break;
            }
        // After the node: a forward rule reading the output (exp's t * y) then differentiates
        // through it in an outer reverse pass.
        if (ForwardMode.Active) ForwardMode.Propagate(result, op, inputs, jvp);
        return result;
    }

    /// <summary>
    /// True while some forward-mode level propagates (see <see cref="ForwardMode"/>). Forward rules are
    /// declared as <c>jvp: Fwd ? t => ... : null</c>, so that an op outside forward mode allocates no
    /// delegate for a rule it will not run.
    /// </summary>
    private static bool Fwd => ForwardMode.Active;

    /// <summary>A linear term of a forward rule: <paramref name="term"/> of the tangent, or null (zero) when there is none.</summary>
    internal static Tensor? Lin(Tensor? tangent, Func<Tensor, Tensor> term) => tangent is null ? null : term(tangent);

    /// <summary>The sum of a forward rule's terms, skipping the zero (null) ones.</summary>
    internal static Tensor? SumTerms(Tensor? a, Tensor? b) => a is null ? b : b is null ? a : a + b;

    /// <summary>Computes an input's gradient only when that input requires one.</summary>
    internal static Tensor? For(Tensor input, Func<Tensor> gradient) => input.RequiresGrad ? gradient() : null;

    internal static Tensor Map<K>(string op, Tensor x, K kernel) where K : struct, IUnaryKernel
    {
        x.RequireFloat(op);
        var y = Uninitialized(x.DType, x.ShapeRef);
        DTypeDispatch.Run(x.DType, new MapBody<K>(x, y, kernel));
        return y;
    }

    private readonly struct MapBody<K>(Tensor x, Tensor y, K kernel) : IFloatBody where K : struct, IUnaryKernel
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => Chunked.Run(y.Numel, 1, new UnaryChunk<T, K>(x.Data<T>(), y.Data<T>(), kernel));
    }

    /// <summary>Runs a binary kernel with broadcasting; the operands already share a dtype.</summary>
    internal static Tensor Zip<K>(string op, Tensor a, Tensor b, K kernel) where K : struct, IBinaryKernel
    {
        var shape = Shapes.Broadcast(op, a.ShapeRef, b.ShapeRef);
        var y = Uninitialized(a.DType, shape);
        DTypeDispatch.Run(a.DType, new ZipBody<K>(a, b, y, kernel));
        return y;
    }

    private readonly struct ZipBody<K>(Tensor a, Tensor b, Tensor y, K kernel) : IFloatBody where K : struct, IBinaryKernel
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> =>
            Broadcast.Run(a.Data<T>(), a.ShapeRef, b.Data<T>(), b.ShapeRef, y.Data<T>(), y.ShapeRef, kernel);
    }

    /// <summary>
    /// PyTorch's promotion for floating operands: a number (<see cref="One"/>, <see cref="Zero"/>)
    /// or a rank-0 tensor takes the other operand's dtype (so <c>x * 2.0</c> stays float32),
    /// otherwise mixed float32/float64 computes in float64.
    /// </summary>
    internal static (Tensor, Tensor) Promote(string op, Tensor a, Tensor b)
    {
        a.RequireFloat(op);
        b.RequireFloat(op);
        if (a.DType == b.DType) return (a, b);
        if (a.IsNumber != b.IsNumber) return a.IsNumber ? (a.ToType(b.DType), b) : (a, b.ToType(a.DType));
        if (a.Rank == 0 && b.Rank > 0) return (a.ToType(b.DType), b);
        if (b.Rank == 0 && a.Rank > 0) return (a, b.ToType(a.DType));
        return (a.ToType(DType.Float64), b.ToType(DType.Float64));
    }

    /// <summary>A constant scalar of this tensor's dtype (for arithmetic with numbers).</summary>
    internal Tensor Const(double value) => Scalar(value, DType.IsFloatingPoint() ? DType : DType.Float32);
}
