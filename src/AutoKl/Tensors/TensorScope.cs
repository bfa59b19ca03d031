namespace AutoKl;

/// <summary>
/// Frees the storage of the tensors made inside it when it is disposed, so that a training loop
/// reuses the same arrays step after step instead of handing the garbage collector megabytes per
/// step (TorchSharp's <c>DisposeScope</c>). Open one with <see cref="Tensor.Scope"/> around code
/// whose results are not needed afterwards: a training step, an evaluation, a loss computed only
/// for its value. <see cref="Optim.Minimize"/> opens one around each step by itself.
/// <para>While a scope is open on a thread, every tensor whose storage AutoKl makes on that thread
/// (the result of an op, <see cref="Tensor.Zeros"/>, <see cref="Tensor.FromArray(double[])"/>, ...)
/// belongs to the innermost open scope. When the scope is disposed, each tensor it owns gives its
/// storage back to AutoKl's pool, where the next step's tensors of the same size find it, and is
/// <em>released</em>: reading its values (directly, or by an op or a backward pass that uses it)
/// throws <see cref="AutoKlException"/> naming the op that made it, its shape and the fix; its
/// <see cref="Tensor.Shape"/> and <see cref="Tensor.DType"/> still answer. Views over the same storage
/// (<see cref="Tensor.Detach"/>, <c>Reshape</c>, ...) are released with it.
/// Call <see cref="Tensor.Keep"/> on a tensor inside the scope to hand it to the enclosing scope
/// (or, outside every scope, to the garbage collector as usual); keeping a view keeps its storage,
/// and so the tensor it views.</para>
/// <para>Never released: tensors made before the scope was opened (parameters, data), gradients
/// (<see cref="Tensor.Grad"/>), optimizer state (even when created by the first
/// <see cref="Optim.Optimizer.Step"/> inside a scope), saved optimizer states and checkpoints.</para>
/// <para>Scopes nest. Disposing twice does nothing. A scope belongs to the thread that opened it:
/// tensors made on other threads are not its own, and disposing it on another thread is an error.
/// Disposing an outer scope before an inner one releases the outer scope's tensors only; the inner
/// one stays open and keeps to the next open scope out.</para>
/// </summary>
/// <example>
/// <code lang="csharp">
/// var gen = new Generator(0);
/// var logits = Tensor.RandN(new[] { 256, 4096 }, gen).RequiresGrad_();
/// var target = Tensor.Softmax(Tensor.RandN(new[] { 256, 4096 }, gen), 1);
/// var adam = new Adam(new[] { logits }, lr: 1e-3);
/// Tensor lastLoss = null;
/// for (var step = 0; step &lt; 100; step++)
/// {
///     using var scope = Tensor.Scope();
///     adam.ZeroGrad();
///     var logp = Tensor.LogSoftmax(logits, 1);      // released when the scope ends (written only if read)
///     var loss = Losses.KlDiv(logp, target, Reduction.BatchMean);
///     loss.Backward();
///     adam.Step();                                   // logits, logits.Grad and Adam's moments are never released
///     lastLoss = loss.Keep();                        // survives the scope
/// }
/// Console.WriteLine(lastLoss.ToScalar());
/// </code>
/// </example>
public sealed class TensorScope : IDisposable
{
    /// <summary>The innermost scope opened on this thread and not yet disposed.</summary>
    [ThreadStatic] private static TensorScope? _innermost;

    /// <summary>Above 0 while tensors made on this thread must belong to no scope: a backward pass
    /// whose temporaries the pool takes back itself, or library state (see <see cref="Outside"/>).</summary>
    [ThreadStatic] private static int _masked;

    /// <summary>An emptied list of a disposed scope, for the next scope on this thread.</summary>
    [ThreadStatic] private static List<Tensor>? _spareList;

    private readonly TensorScope? _outer;
    private readonly int _thread = Environment.CurrentManagedThreadId;
    private List<Tensor>? _owned;
    private bool _disposed;

    private TensorScope(TensorScope? outer) => _outer = outer;

    /// <summary>The scope that takes the tensors made now on this thread, or null.</summary>
    internal static TensorScope? Current => _innermost is { } scope && _masked == 0 ? scope : null;

    /// <summary>Opens a scope on this thread (see <see cref="Tensor.Scope"/>).</summary>
    internal static TensorScope Open()
    {
        var scope = new TensorScope(_innermost);
        _innermost = scope;
        return scope;
    }

    /// <summary>Until the returned value is disposed, tensors made on this thread belong to no scope
    /// (state the library keeps across calls: optimizer moments, saved states, checkpoints).</summary>
    internal static Unowned Outside()
    {
        _masked++;
        return default;
    }

    /// <summary>Ends <see cref="Outside"/>.</summary>
    internal readonly struct Unowned : IDisposable
    {
        public void Dispose() => _masked--;
    }

    /// <summary>Makes this scope the owner of <paramref name="storageOwner"/>'s storage (a tensor that made its own).</summary>
    internal void Own(Tensor storageOwner)
    {
        (_owned ??= TakeSpareList()).Add(storageOwner);
        storageOwner.OwnerScope = this;
    }

    private static List<Tensor> TakeSpareList()
    {
        var list = _spareList ?? new List<Tensor>();
        _spareList = null;
        return list;
    }

    /// <summary>Hands a storage this scope owns to the nearest enclosing scope still open, or to none.</summary>
    internal void Pass(Tensor storageOwner)
    {
        var outer = _outer;
        while (outer is { _disposed: true }) outer = outer._outer;
        if (outer is null) storageOwner.OwnerScope = null;
        else outer.Own(storageOwner);
    }

    /// <summary>
    /// Ends the scope: every tensor it owns that was not kept (<see cref="Tensor.Keep"/>) gives its
    /// storage back to the pool (filled with NaN when <c>AUTOKL_POISON_POOL=1</c>) and is released,
    /// with every view of it. Disposing twice does nothing.
    /// </summary>
    /// <exception cref="AutoKlException">Disposed on a different thread than the one that opened it.</exception>
    /// <example>
    /// <code lang="csharp">
    /// var x = Tensor.FromArray(new[] { 0.5, 1.5 });
    /// var scope = Tensor.Scope();
    /// var y = Tensor.Exp(x);
    /// scope.Dispose();
    /// y.ToScalar();   // AutoKlException: released ... keep it with y.Keep() inside the scope
    /// </code>
    /// </example>
    public void Dispose()
    {
        if (_disposed) return;
        if (Environment.CurrentManagedThreadId != _thread)
            throw new AutoKlException("tensor scope",
                "a scope was disposed on a different thread than the one that opened it; a scope owns the tensors made on its own thread, so dispose it where it was created");
        _disposed = true;
        if (ReferenceEquals(_innermost, this))
        {
            var open = _outer;
            while (open is { _disposed: true }) open = open._outer;
            _innermost = open;
        }
        if (_owned is not { } owned) return;
        foreach (var t in owned)
            if (ReferenceEquals(t.OwnerScope, this) && t.Release() is { } storage)
                StoragePool.Return(storage);
        owned.Clear();
        _owned = null;
        _spareList = owned;
    }
}

// The tensor's side of scopes: opening one, keeping a tensor beyond it, and what a released tensor says.
public sealed partial class Tensor
{
    /// <summary>
    /// Opens a <see cref="TensorScope"/> on this thread: until it is disposed, the tensors AutoKl
    /// makes on this thread belong to it, and disposing it hands their storage back for reuse and
    /// releases them (reading a released tensor throws). Use it around each step of a training
    /// loop, or any computation whose intermediate results are not needed afterwards; keep what
    /// you need with <see cref="Keep"/>. Parameters, gradients and optimizer state are never released.
    /// </summary>
    /// <example>
    /// <code lang="csharp">
    /// double total = 0;
    /// for (var step = 0; step &lt; 1000; step++)
    /// {
    ///     using (Tensor.Scope())
    ///     {
    ///         adam.ZeroGrad();
    ///         var loss = Losses.KlDiv(new Normal(mu, sigma).LogProb(x), p, Reduction.Mean);
    ///         loss.Backward();
    ///         adam.Step();
    ///         total += loss.ToScalar();   // read inside the scope: fine
    ///     }
    /// }
    /// </code>
    /// F#: <c>use _ = Tensor.scope ()</c>.
    /// </example>
    public static TensorScope Scope() => TensorScope.Open();

    /// <summary>
    /// Keeps this tensor (and every tensor sharing its storage: views, <see cref="Detach"/>) beyond
    /// the <see cref="TensorScope"/> that owns it: it moves to the next enclosing open scope, or,
    /// when there is none, to no scope (the garbage collector frees it as usual). Does nothing to a
    /// tensor no scope owns. Returns this tensor, for chaining.
    /// </summary>
    /// <exception cref="AutoKlException">The tensor was already released (keep it before its scope ends).</exception>
    /// <example>
    /// <code lang="csharp">
    /// Tensor probs;
    /// using (Tensor.Scope())
    /// {
    ///     var logits = model(x);               // released at the end of the scope
    ///     probs = Tensor.Softmax(logits, 1).Keep();
    /// }
    /// Console.WriteLine(probs);                // fine
    /// </code>
    /// F#: <c>Tensor.keep t</c>.
    /// </example>
    public Tensor Keep()
    {
        if (IsReleased) throw Released();
        var owner = _base;
        // deferred values are written now, while what they are computed from is certainly alive
        if (owner.OwnerScope is not null) _ = owner.Storage;
        owner.OwnerScope?.Pass(owner);
        return this;
    }

    /// <summary>True once a <see cref="TensorScope"/> that owned this tensor's storage was disposed without it being kept:
    /// its values can no longer be read (its shape and dtype can).</summary>
    /// <example>
    /// <code lang="csharp">
    /// var x = Tensor.FromArray(new[] { 0.5, 1.5 });
    /// Tensor y;
    /// using (Tensor.Scope()) y = Tensor.Exp(x);
    /// Console.WriteLine(y.IsReleased);   // True
    /// </code>
    /// </example>
    public bool IsReleased => _base._array is null && _base._deferred is null;

    /// <summary>Takes this tensor's storage out of every scope for good (it became a gradient or other state the library keeps).</summary>
    internal void Unscope()
    {
        if (IsReleased) throw Released();
        _base.OwnerScope = null;
    }

    /// <summary>
    /// Gives this tensor's storage to the running backward pass, which puts it back in the pool
    /// when it ends: for what an op kept for its backward rule once that rule, in a pass that
    /// frees the graph, is done with it. Out of every scope first, so no scope returns it again.
    /// The caller must drop every reference to the tensor.
    /// </summary>
    internal void HandBackToPass()
    {
        Unscope();
        StoragePool.Adopt(Storage);
    }

    /// <summary>Called by the owning scope on a storage-owning tensor: forgets the array and returns it (to go back to the
    /// pool); null when its values were never written.</summary>
    internal Array? Release()
    {
        var array = _array;
        _array = null;
        _deferred = null;
        OwnerScope = null;
        return array;
    }

    /// <summary>The error for reading a released tensor; a separate method so that <see cref="Storage"/> stays small enough to inline.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private AutoKlException Released()
    {
        string made = _madeBy is { } op ? (_keptForBackward ? $"kept by '{op}' for its backward pass" : $"the result of '{op}'")
            : _base._madeBy is { } baseOp ? $"a view of the result of '{baseOp}'" : "a tensor";
        // a tensor an op kept for its backward pass is not the user's to keep: the pass must run in the scope
        string remedy = _keptForBackward
            ? "Run the backward pass inside the scope that computed the loss, or compute the loss outside the scope"
            : "Keep it with t.Keep() (F#: Tensor.keep t) inside the scope to use it after the scope ends, or compute it outside the scope";
        return new AutoKlException("released tensor",
            $"this {Shapes.Format(_shape)} {DType.Name()} tensor ({made}) was made inside a TensorScope that has been disposed, " +
            $"so its storage was handed back for reuse and its values are gone. {remedy}");
    }
}
