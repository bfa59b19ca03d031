namespace AutoKl;

// In-place updates for the hand-written training loop (PyTorch's `with torch.no_grad(): w -= lr * w.grad`).
// They overwrite the values and record nothing, so they are refused while a leaf that requires
// gradients would be recorded. Each bumps the tensor's version (shared with its detached views), so
// a graph that saved the old values refuses to run backward instead of using the new ones.
public sealed partial class Tensor
{
    /// <summary>Subtracts <paramref name="other"/> (broadcast to this shape) from the values in place; returns this tensor.</summary>
    public Tensor Sub_(Tensor other) => Overwrite("sub_", other, (a, b) => Sub(a, b));

    /// <summary>Adds <paramref name="other"/> (broadcast to this shape) to the values in place; returns this tensor.</summary>
    public Tensor Add_(Tensor other) => Overwrite("add_", other, (a, b) => Add(a, b));

    /// <summary>Overwrites the values with <paramref name="source"/> (broadcast to this shape); returns this tensor.</summary>
    public Tensor Copy_(Tensor source) => Overwrite("copy_", source, (_, b) => b);

    private Tensor Overwrite(string op, Tensor other, Func<Tensor, Tensor, Tensor> combine)
    {
        RequireFloat(op);
        other.RequireFloat(op);
        if (GradMode.Enabled && (RequiresGrad || other.RequiresGrad))
            throw new AutoKlException(op,
                $"an in-place update of a tensor of shape {Shapes.Format(_shape)} that requires gradients (or with one that does) would not be recorded; do it inside Autograd.NoGrad()");
        var shape = Shapes.Broadcast(op, _shape, other.ShapeRef);
        if (!Shapes.Equal(shape, _shape))
            throw new AutoKlException(op, $"a value of shape {Shapes.Format(other.ShapeRef)} does not broadcast to this tensor's shape {Shapes.Format(_shape)}");
        Tensor result;
        using (GradMode.Set(false))
            result = Expanded(ToType(combine(this, other.DType == DType ? other : other.ToType(DType)), DType), _shape);
        using (MutateInPlace(op))
            Array.Copy(result.Storage, Storage, Numel);
        return this;
    }

    /// <summary>
    /// The one way values change in place (these ops, an optimizer's step, a checkpoint restore):
    /// <c>using (t.MutateInPlace(op)) { write }</c>. Before the write, every output still deferred on
    /// these values is written from them (it keeps the values it had); after it, the version moves on,
    /// so a graph that saved the old values refuses to run backward. A tensor carrying a forward-mode
    /// tangent is refused: its tangent would describe values it no longer has.
    /// </summary>
    internal InPlaceChange MutateInPlace(string op)
    {
        if (ForwardMode.AnyTangent(this))
            throw new AutoKlException(op, $"cannot change in place a tensor of shape {Shapes.Format(_shape)} that carries a forward-mode tangent (inside jvp, hessian or hvp); compute a new tensor instead");
        WillOverwrite();
        return new InPlaceChange(this);
    }

    internal readonly struct InPlaceChange(Tensor changed) : IDisposable
    {
        public void Dispose() => changed.BumpVersion();
    }
}
