namespace AutoKl;

/// <summary>
/// How to write the values of a tensor that an op returned without writing them, because the op
/// that usually follows does not read them (log_softmax's output, when a fused kl_div takes the
/// logits and the kept exps instead): computed from <see cref="Source"/>'s values, which must
/// still be the ones the op saw. The tensor writes them the first time anything reads it, and
/// before anything changes <see cref="Source"/> in place (<see cref="Tensor.WillOverwrite"/>), so
/// a reader sees exactly what an eager op would have written.
/// </summary>
internal abstract class DeferredValues(Tensor source)
{
    /// <summary>The tensor the values are computed from.</summary>
    public Tensor Source { get; } = source;

    /// <summary>Writes every value into <paramref name="storage"/> (a fresh array of the tensor's length and type).</summary>
    public abstract void WriteInto(Array storage);
}

// The tensor's side of deferred values: writing them on first read, and before the tensor they
// are computed from changes in place.
public sealed partial class Tensor
{
    /// <summary>On a base whose values are not written yet: how to write them; null otherwise (and once released).</summary>
    private DeferredValues? _deferred;

    /// <summary>On a base: the tensors whose deferred values are computed from this storage (weakly: an
    /// output nobody holds any more needs no values).</summary>

    /// <summary>Whether this tensor's values are still to be written (nothing has read it yet).</summary>
    internal bool IsDeferred => Deferred is not null;

    /// <summary>How this tensor's values will be written, while they are not yet; null otherwise.</summary>
    internal DeferredValues? Deferred => _base._array is null ? _base._deferred : null;

    /// <summary>The scope that owns this tensor's storage (its base's), or null.</summary>
    internal TensorScope? OwnerScopeOfStorage => _base.OwnerScope;

    /// <summary>
    /// Called by <see cref="Storage"/> when the base has no array: writes deferred values into a
    /// new array (out of any running backward pass's reach: the array is the tensor's for good,
    /// or its scope's), or throws the released-tensor error (naming this tensor, view or not).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private Array WriteDeferred()
    {
        var owner = _base;
        // (another thread may have written them since this one found no array)
        if (owner._deferred is not { } deferred) return owner._array ?? throw Released();
        Array storage;
        using (StoragePool.Suspend())
            storage = NewStorage(DType, _numel, zeroed: false);
        deferred.WriteInto(storage);
        // only once the values are there (a failure, the source released, leaves the tensor as it
        // was); two threads reading it first both wrote the same values, and one array wins
        var written = Interlocked.CompareExchange(ref owner._array, storage, null) ?? storage;
        owner._deferred = null;
        return written;
    }

    /// <summary>Notes that <paramref name="reader"/>'s deferred values are computed from this base's values.</summary>
    private void AddDeferredReader(Tensor reader)
    {
        var readers = (_rare ??= new Rare()).DeferredReaders ??= new List<WeakReference<Tensor>>();
        // a loop that never reads its outputs adds one per step: drop those written, released or
        // collected whenever the list has doubled since the last sweep
        if (readers.Count >= 16 && (readers.Count & (readers.Count - 1)) == 0)
            readers.RemoveAll(r => !r.TryGetTarget(out var t) || !t.IsDeferred);
        readers.Add(new WeakReference<Tensor>(reader));
    }

    /// <summary>
    /// Called by <see cref="MutateInPlace"/> before this tensor's values change in place: writes the values of every
    /// tensor still deferred on them (from the values as they are now).
    /// </summary>
    private void WillOverwrite()
    {
        if (_base._rare?.DeferredReaders is not { } readers) return;
        _base._rare.DeferredReaders = null;
        foreach (var r in readers)
            if (r.TryGetTarget(out var reader) && reader.IsDeferred)
                _ = reader.Storage;
    }
}
