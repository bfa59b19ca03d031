using System.Numerics;
using System.Runtime.InteropServices;

namespace AutoKl;

/// <summary>
/// An n-dimensional array of float32, float64 or int64 values, stored contiguously in row-major
/// order, that can record the operations applied to it so that gradients flow back to it.
/// Tensors are immutable from the public API except through explicit in-place methods used by
/// optimizers under <see cref="Autograd.NoGrad"/>.
/// </summary>
/// <namespacedoc>
///   <summary>The engine: <see cref="Tensor"/> and its operations, the gradient tape
///   (<see cref="Autograd"/>; F#: the <c>Differentiation</c> module), the losses in every library's
///   convention (<see cref="Losses"/>, <see cref="Reduction"/>, <see cref="MXNetAveraging"/>) and the
///   divergences between discrete distributions (<see cref="Divergences"/>). The F# modules of the
///   same names (<c>Tensor.log</c>, <c>grad</c>, <c>Losses.klDiv</c>, ...) live here too.</summary>
/// </namespacedoc>
/// <example>
/// <code lang="csharp">
/// var x = Tensor.FromArray(new[] { 0.2, 0.5, 0.3 }).RequiresGrad_();
/// var loss = (Tensor.Log(x) * x).Sum();
/// loss.Backward();
/// Console.WriteLine(x.Grad);   // log x + 1
/// </code>
/// </example>
public sealed partial class Tensor
{
    /// <summary>
    /// The values: float[], double[] or long[] with exactly <see cref="Numel"/> elements. Every read
    /// goes through here, so a tensor released by its <see cref="TensorScope"/> (its storage handed
    /// back to the pool) throws instead of reading values that now belong to another tensor.
    /// </summary>
    internal Array Storage => _base._array ?? WriteDeferred();

    /// <summary>On the tensor that made the storage (<see cref="_base"/> of itself): the array, null once a scope released it
    /// (or while its values are deferred, see <see cref="_deferred"/>).</summary>
    private Array? _array;

    /// <summary>The tensor whose storage this one uses: itself, or the one it is a view of (Detach, reshape, ...).
    /// Release and ownership are per storage, so they live on the base, and every view sees them.</summary>
    private readonly Tensor _base;

    /// <summary>On a base: the open scope that owns the storage, or null (never released).</summary>
    internal TensorScope? OwnerScope;

    /// <summary>The op whose result this is (set by Record), for the message when a released tensor is read.</summary>
    private string? _madeBy;

    /// <summary>
    /// Names the op that made this tensor when the op keeps it for its backward pass rather than
    /// returning it (the released-tensor error then says whose it is).
    /// </summary>
    internal Tensor KeptBy(string op)
    {
        _madeBy = op;
        _keptForBackward = true;
        return this;
    }

    private bool _keptForBackward;

    private readonly int _numel;
    private readonly int[] _shape;
    private bool _requiresGrad;
    private bool _retainsGrad;
    private bool _isNumber;
    private Tensor? _grad;

    /// <summary>The operation that produced this tensor, when it was recorded on the tape.</summary>
    internal Node? GradFn;

    /// <summary>Forward-mode tangents, one per nesting level (see <see cref="ForwardMode"/>); null almost always.</summary>
    internal TangentLink? Tangents
    {
        get => _rare?.Tangents;
        set
        {
            if (value is null && _rare is null) return;
            (_rare ??= new Rare()).Tangents = value;
        }
    }

    /// <summary>What few tensors need, kept apart so that the common tensor stays small.</summary>
    private sealed class Rare
    {
        public TangentLink? Tangents;

        /// <summary>On a base: the tensors whose values are deferred on this one's (see DeferredValues.cs).</summary>
        public List<WeakReference<Tensor>>? DeferredReaders;
    }

    private Rare? _rare;

    /// <summary>Shared by every tensor over the same storage (PyTorch's version counter); made on first need.</summary>
    private VersionCounter? _versionCounter;

    private sealed class VersionCounter { public int Value; }

    /// <summary>A tensor over a storage array made just for it; while a <see cref="TensorScope"/> is open on this thread, the scope owns it.</summary>
    internal Tensor(Array storage, int[] shape)
    {
        _array = storage;
        _base = this;
        _numel = storage.Length;
        _shape = shape;
        DType = DTypeDispatch.Of(storage);
        if (storage.Length != Shapes.Numel(shape))
            throw new AutoKlException("tensor", $"{storage.Length} values do not fill shape {Shapes.Format(shape)} ({Shapes.Numel(shape)} elements)");
        TensorScope.Current?.Own(this);
    }

    /// <summary>
    /// A tensor whose values are written only when something reads them (see <see cref="DeferredValues"/>);
    /// while a <see cref="TensorScope"/> is open on this thread, the scope owns it, as any op result.
    /// </summary>
    internal Tensor(DType dtype, int[] shape, DeferredValues deferred)
    {
        _base = this;
        _numel = Shapes.Numel(shape);
        _shape = shape;
        DType = dtype;
        _deferred = deferred;
        deferred.Source._base.AddDeferredReader(this);
        TensorScope.Current?.Own(this);
    }

    /// <summary>A tensor over <paramref name="source"/>'s storage (a view): released with it, kept with it.</summary>
    private Tensor(Tensor source, int[] shape)
    {
        _base = source._base;
        _numel = source._numel;
        _shape = shape;
        DType = source.DType;
        if (_numel != Shapes.Numel(shape))
            throw new AutoKlException("tensor", $"{_numel} values do not fill shape {Shapes.Format(shape)} ({Shapes.Numel(shape)} elements)");
    }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The size of each dimension (a copy); empty for a scalar.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>The shape without copying, for the library's own use.</summary>
    internal int[] ShapeRef => _shape;

    /// <summary>Number of dimensions; 0 for a scalar.</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel => _numel;

    /// <summary>Size of dimension <paramref name="axis"/> (negative counts from the end).</summary>
    public int Size(int axis) => _shape[Shapes.NormalizeAxis("size", axis, Rank)];

    /// <summary>
    /// Whether gradients are computed for this tensor. Settable on leaves only (tensors not
    /// produced by a recorded operation), as in PyTorch.
    /// </summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (!IsLeaf)
                throw new AutoKlException("requires_grad",
                    $"only leaf tensors can change RequiresGrad; this one was produced by '{GradFn!.Op}'. Use Detach() to get a leaf.");
            if (value && !DType.IsFloatingPoint())
                throw new AutoKlException("requires_grad", $"only floating-point tensors can require gradients, not {DType.Name()}");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor, for chaining.</summary>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    /// <summary>True when the tensor was not produced by a recorded operation (user-created, or detached).</summary>
    public bool IsLeaf => GradFn is null;

    /// <summary>Name of the recorded operation that produced this tensor, or the empty string for a leaf.</summary>
    public string GradFnName => GradFn?.Op ?? "";

    /// <summary>True when <see cref="Grad"/> holds a gradient.</summary>
    public bool HasGrad => _grad is not null;

    /// <summary>
    /// The gradient accumulated by <see cref="Backward(bool, bool)"/>: for leaves that require gradients,
    /// and for non-leaves after <see cref="RetainGrad"/>. Reading it before any backward pass
    /// (or after <see cref="ZeroGrad"/>) is an error; check <see cref="HasGrad"/> first.
    /// </summary>
    public Tensor Grad
    {
        get => GradExposed() ?? throw new AutoKlException("grad",
            $"this {Shapes.Format(_shape)} tensor has no gradient: " +
            (RequiresGrad ? "backward has not reached it since it was created or last zeroed"
                          : "it does not require gradients (set RequiresGrad = true before computing)"));
        set
        {
            if (!Shapes.Equal(value._shape, _shape))
                throw new AutoKlException("grad", $"gradient of shape {Shapes.Format(value._shape)} does not match tensor shape {Shapes.Format(_shape)}");
            // a gradient lives as long as its tensor: no scope may release it
            value.Unscope();
            _grad = value;
            _gradOwned = false;
        }
    }

    /// <summary>Clears the accumulated gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void ZeroGrad()
    {
        // A gradient array that only this tensor ever held is kept for the next backward pass,
        // which copies into it instead of allocating (see AccumulateGrad).
        if (_grad is not null && _gradOwned && !_gradExposed) _spareGrad = _grad.Storage;
        _grad = null;
        _gradOwned = _gradExposed = false;
    }

    /// <summary>The gradient without marking it as seen by the user (for the optimizers, which only read it).</summary>
    internal Tensor? GradRef => _grad;

    // _gradOwned: _grad's array was made by AccumulateGrad and is held by nothing else, so later
    // gradients may be added into it and ZeroGrad may keep it. _gradExposed: the user has read
    // .Grad, so the tensor they hold must keep its values (no in-place sum, no reuse).
    private bool _gradOwned, _gradExposed;
    private Array? _spareGrad;

    /// <summary>
    /// Set by a backward kernel on a gradient it has just made and returns for one input only:
    /// the array may become that input's .Grad instead of being copied.
    /// </summary>
    internal bool SoleGradient;

    private Tensor? GradExposed()
    {
        _gradExposed = true;
        return _grad;
    }

    /// <summary>Keeps the gradient of this non-leaf tensor in <see cref="Grad"/> during backward.</summary>
    public Tensor RetainGrad()
    {
        if (!RequiresGrad)
            throw new AutoKlException("retain_grad", "cannot retain the gradient of a tensor that does not require gradients");
        _retainsGrad = true;
        return this;
    }

    internal bool RetainsGrad => _retainsGrad;

    /// <summary>
    /// Adds a gradient into <see cref="Grad"/>. The first one is stored as a private copy: the
    /// backward pass hands the same tensor (or one sharing storage) to several inputs, and a
    /// user's in-place change to one leaf's <see cref="Grad"/> (<c>Mul_</c>, a span) must not
    /// reach another's. (Optimizers only read Grad; gradient clipping replaces it.)
    /// </summary>
    internal void AccumulateGrad(Tensor g, bool copy)
    {
        if (copy && _grad is not null && _gradOwned && !_gradExposed && g.DType == _grad.DType)
        {
            // the sum written into the gradient's own array (PyTorch's in-place accumulation)
            Kernels.Fused.AddInto(_grad.Storage, g.Storage);
            return;
        }
        if (copy && _grad is null && g.SoleGradient && StoragePool.Keep(g.Storage))
        {
            // a fused backward kernel's own result, held by nothing else: it becomes .Grad without
            // a copy, and the array kept by ZeroGrad goes back to the pool in its place
            g.SoleGradient = false;
            if (_spareGrad is not null) StoragePool.Adopt(_spareGrad);
            _spareGrad = null;
            _grad = new Tensor(g, _shape);
            _grad.Unscope();
            _gradOwned = true;
            _gradExposed = false;
            return;
        }
        // this array outlives the backward pass: not one of the pass's temporaries
        using var keep = StoragePool.Suspend();
        if (_grad is not null)
        {
            _grad = _grad + g;
            _gradOwned = copy;
        }
        else if (copy)
        {
            var spare = _spareGrad;
            _spareGrad = null;
            if (spare is not null && spare.Length == g.Numel && spare.GetType() == g.Storage.GetType())
            {
                Array.Copy(g.Storage, spare, spare.Length);
                _grad = new Tensor(spare, _shape);
            }
            else _grad = g.CopyValues();
            _gradOwned = true;
        }
        else
        {
            // recorded (create_graph) gradients: a recorded copy becomes .Grad, out of every scope, so
            // that two leaves, the cotangent passed in, or a custom rule's input never share one
            // tensor as .Grad (PyTorch clones too), and the gradient stays differentiable
            _grad = g.Clone();
            _grad.Unscope();
            _gradOwned = false;
        }
        _gradExposed = false;
    }

    /// <summary>A copy with its own storage; the gradient flows through unchanged (torch.clone).</summary>
    public Tensor Clone() => Record(CopyValues(), "clone", [this], g => [g], readsValues: false, jvp: Fwd ? t => t[0] : null);

    /// <summary>A new leaf with its own copy of the values: records nothing (for optimizer state, checkpoints, gradients).</summary>
    internal Tensor CopyValues() => new((Array)Storage.Clone(), _shape);

    /// <summary>
    /// Marks a fresh scalar as standing for a plain number: in mixed-dtype arithmetic it takes the
    /// other operand's dtype, as Python numbers do in PyTorch (see <see cref="One"/>, <see cref="Zero"/>).
    /// </summary>
    internal Tensor AsNumber()
    {
        _isNumber = true;
        return this;
    }

    /// <summary>True for the scalars made by <see cref="AsNumber"/>.</summary>
    internal bool IsNumber => _isNumber;

    /// <summary>
    /// A new leaf that shares this tensor's values and records nothing. It also shares the
    /// <see cref="Version"/>: an in-place change through either is seen by a graph that saved the other.
    /// It stops derivatives in both modes (JAX's <c>stop_gradient</c>): no tape behind it, and no
    /// forward-mode tangent on it.
    /// </summary>
    public Tensor Detach() => View(_shape);

    /// <summary>Like <see cref="Detach"/>, but keeping the forward-mode tangents (a transform's own leaf over a dual input).</summary>
    internal Tensor DetachKeepingTangents()
    {
        var leaf = View(_shape);
        leaf.Tangents = Tangents;
        return leaf;
    }

    /// <summary>A tensor over the same storage under <paramref name="shape"/>, sharing the version counter.</summary>
    internal Tensor View(int[] shape) => new(this, shape) { _versionCounter = _versionCounter ??= new VersionCounter() };

    /// <summary>A tensor over the same storage under <paramref name="shape"/>, with a version counter of its own
    /// (for a new op result that passes the values through: identity, a reduction's kept dimensions).</summary>
    internal Tensor SharingStorage(int[] shape) => new(this, shape);

    /// <summary>
    /// How many times the values were changed in place (<c>Sub_</c>, <c>Add_</c>, <c>Copy_</c>, an
    /// optimizer step, a checkpoint restore), counted over every tensor sharing this one's storage
    /// (<see cref="Detach"/>, reshape). The tape remembers the version of each tensor an op saved, and
    /// backward refuses one that changed since (PyTorch's <c>_version</c>).
    /// </summary>
    public int Version => _versionCounter?.Value ?? 0;

    /// <summary>Records that the values were just changed in place.</summary>
    private void BumpVersion() => (_versionCounter ??= new VersionCounter()).Value++;

    // ---- raw access for kernels -------------------------------------------------------------

    internal T[] Data<T>() => (T[])Storage;
    internal Span<T> Span<T>() => ((T[])Storage).AsSpan();

    /// <summary>The values as a new double array (converting from float32 or int64).</summary>
    public double[] ToDoubleArray() => ValuesAs<double>();

    /// <summary>The values as a new float array (converting from float64 or int64).</summary>
    public float[] ToSingleArray() => ValuesAs<float>();

    /// <summary>The values as a new long array (floating values are truncated toward zero).</summary>
    public long[] ToInt64Array() => ValuesAs<long>();

    /// <summary>The values as a new array of <typeparamref name="U"/>, each converted as a C# cast does.</summary>
    internal U[] ValuesAs<U>() where U : unmanaged, INumber<U> => DTypeDispatch.RunAny<ValuesAsBody<U>, U[]>(DType, new(this));

    private readonly struct ValuesAsBody<U>(Tensor x) : IElementFunc<U[]> where U : unmanaged, INumber<U>
    {
        public U[] Run<T>() where T : unmanaged, INumber<T>
        {
            var values = x.Data<T>();
            if (typeof(T) == typeof(U)) return (U[])values.Clone();
            var result = new U[values.Length];
            for (int i = 0; i < values.Length; i++) result[i] = U.CreateTruncating(values[i]);
            return result;
        }
    }

    /// <summary>The single value of a one-element tensor, as a double.</summary>
    public double ToScalar()
    {
        if (Numel != 1)
            throw new AutoKlException("item", $"only a one-element tensor converts to a number; this one has shape {Shapes.Format(_shape)}");
        return GetFlat(0);
    }

    /// <summary>The element at the given index (one index per dimension), as a double.</summary>
    public double ItemAt(params int[] index)
    {
        if (index.Length != Rank)
            throw new AutoKlException("item", $"{index.Length} indices given for a tensor of rank {Rank} (shape {Shapes.Format(_shape)})");
        int flat = 0;
        for (int i = 0; i < index.Length; i++)
        {
            int k = index[i] < 0 ? index[i] + _shape[i] : index[i];
            if (k < 0 || k >= _shape[i])
                throw new AutoKlException("item", $"index {index[i]} is out of range for dimension {i} of size {_shape[i]} (shape {Shapes.Format(_shape)})");
            flat = flat * _shape[i] + k;
        }
        return GetFlat(flat);
    }

    internal double GetFlat(int i) => DTypeDispatch.RunAny<GetFlatBody, double>(DType, new(this, i));

    private readonly struct GetFlatBody(Tensor x, int i) : IElementFunc<double>
    {
        public double Run<T>() where T : unmanaged, INumber<T> => double.CreateTruncating(x.Data<T>()[i]);
    }

    /// <summary>A storage array of <paramref name="n"/> elements from the pool; <paramref name="zeroed"/>: every element 0, otherwise the caller writes every element.</summary>
    internal static Array NewStorage(DType dtype, int n, bool zeroed = true) => DTypeDispatch.RunAny<RentBody, Array>(dtype, new(n, zeroed));

    private readonly struct RentBody(int n, bool zeroed) : IElementFunc<Array>
    {
        public Array Run<T>() where T : unmanaged, INumber<T> => StoragePool.Rent<T>(n, zeroed);
    }

    internal static Tensor Empty(DType dtype, int[] shape) => new(NewStorage(dtype, Shapes.Numel(shape)), shape);

    /// <summary>
    /// Like <see cref="Empty"/> but without zeroing the memory: only for kernels that write every
    /// element (on large tensors the zeroing is a whole extra pass over memory).
    /// </summary>
    internal static Tensor Uninitialized(DType dtype, int[] shape) => new(NewStorage(dtype, Shapes.Numel(shape), zeroed: false), shape);

    internal void RequireFloat(string op)
    {
        if (DType == DType.Int64)
            throw new AutoKlException(op, $"needs a floating-point tensor, got int64 of shape {Shapes.Format(_shape)} (convert with ToType(DType.Float32) or ToType(DType.Float64))");
    }

    /// <summary>True when the two tensors have the same shape and their values are within
    /// <c>atol + rtol * |other|</c> elementwise (NaNs equal only when <paramref name="equalNan"/>).</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false)
    {
        if (!Shapes.Equal(_shape, other._shape)) return false;
        for (int i = 0; i < Numel; i++)
        {
            double a = GetFlat(i), b = other.GetFlat(i);
            if (double.IsNaN(a) || double.IsNaN(b)) { if (!(equalNan && double.IsNaN(a) && double.IsNaN(b))) return false; continue; }
            if (a == b) continue;
            if (Math.Abs(a - b) > atol + rtol * Math.Abs(b)) return false;
        }
        return true;
    }
}
