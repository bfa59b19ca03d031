namespace AutoKl;

/// <summary>
/// Storage arrays that can be used again. A training step makes the same temporaries every
/// time; the gradients computed inside <see cref="Tensor.Backward(bool, bool)"/> are the ones whose end
/// is known for sure: nothing outside the backward pass can hold them (the pass records nothing,
/// its result dictionary is dropped, and a leaf's <see cref="Tensor.Grad"/> gets a copy or an
/// in-place sum, never the array itself). Every array handed out while such a pass runs is noted
/// on the pass's <see cref="Arena"/>, and put back here when the pass ends; the next step's
/// tensors of the same length and type take them instead of fresh arrays.
/// <para>An array put back belongs to no tensor any more: a tensor that takes it later is a new
/// storage (its own identity), and gets every element written (or zeroed) before anyone reads
/// it. With <see cref="Poison"/> on, arrays are filled with NaN when put back, so a value that
/// leaked from one tensor into another would show as NaN (the test suite runs with it on:
/// <c>AUTOKL_POISON_POOL=1</c>).</para>
/// Per thread: the pass and the pool belong to the thread that runs the step.
/// </summary>
internal static class StoragePool
{
    /// <summary>Fill arrays with NaN (and int64 arrays with long.MinValue) when they come back.</summary>
    internal static bool Poison => EngineSwitches.PoisonPool;

    /// <summary>Arrays kept per (type, length); more are left to the garbage collector.</summary>
    private const int MaxPerLength = 16;

    /// <summary>Below this many elements an array is cheaper to allocate than to look up.</summary>
    private const int MinLength = 16;

    /// <summary>The most bytes kept per thread: the temporaries of a few steps, not of every size ever seen.</summary>
    private const long MaxBytes = 512L << 20;

    [ThreadStatic] private static Dictionary<(Type, int), Stack<Array>>? _free;
    [ThreadStatic] private static long _bytes;
    [ThreadStatic] private static Arena? _arena;
    [ThreadStatic] private static long _fresh;

    /// <summary>
    /// How many arrays of a poolable length (16 elements or more) <see cref="Rent{T}"/> has had to
    /// allocate on this thread because none was free: a warm training step that reuses all of its
    /// storage leaves it unchanged (tests, benchmarks). Smaller arrays are always allocated, and not counted.
    /// </summary>
    internal static long FreshArrays => _fresh;

    /// <summary>
    /// An array of <paramref name="n"/> elements: one put back earlier when there is one, else a
    /// new one. <paramref name="zeroed"/>: every element 0; otherwise the caller writes every element.
    /// </summary>
    public static T[] Rent<T>(int n, bool zeroed) where T : unmanaged
    {
        T[] array;
        if (n >= MinLength && _free is { } free && free.TryGetValue((typeof(T), n), out var stack) && stack.Count > 0)
        {
            array = (T[])stack.Pop();
            _bytes -= Bytes(array);
            if (zeroed) Array.Clear(array);
        }
        else
        {
            array = zeroed ? new T[n] : GC.AllocateUninitializedArray<T>(n);
            if (n >= MinLength) _fresh++;
        }
        if (n >= MinLength) _arena?.Taken.Add(array);
        return array;
    }

    /// <summary>Starts noting the arrays handed out on this thread; <see cref="Arena.Dispose"/> puts them back.</summary>
    public static Arena Begin()
    {
        var arena = new Arena(_arena, TensorScope.Outside());
        _arena = arena;
        return arena;
    }

    /// <summary>Whether a backward pass is noting the arrays handed out on this thread (they go back to the pool when it ends).</summary>
    public static bool InPass => _arena is not null;

    /// <summary>
    /// Takes <paramref name="array"/> off the running pass's list, so it outlives the pass (it is
    /// becoming a .Grad); false when no pass runs or the pass did not hand it out.
    /// </summary>
    public static bool Keep(Array array) => _arena is { } arena && arena.Taken.Remove(array);

    /// <summary>Puts an array that nothing holds any more on the running pass's list (it goes back to the pool with the pass's own).</summary>
    public static void Adopt(Array array) => _arena?.Taken.Add(array);

    /// <summary>
    /// Stops noting arrays until the returned scope ends (for arrays that outlive the pass, such as
    /// a new .Grad); the tensors made meanwhile belong to no <see cref="TensorScope"/> either.
    /// </summary>
    public static Suspension Suspend()
    {
        var previous = _arena;
        _arena = null;
        return new Suspension(previous, TensorScope.Outside());
    }

    /// <summary>Restores the arena that <see cref="Suspend"/> set aside.</summary>
    internal readonly struct Suspension(Arena? previous, TensorScope.Unowned unowned) : IDisposable
    {
        public void Dispose()
        {
            _arena = previous;
            unowned.Dispose();
        }
    }

    /// <summary>
    /// The arrays handed out during one backward pass. The tensors made meanwhile belong to no
    /// <see cref="TensorScope"/>: the pass hands their arrays back itself (a scope must not do it twice).
    /// </summary>
    internal sealed class Arena(Arena? outer, TensorScope.Unowned unowned) : IDisposable
    {
        internal readonly List<Array> Taken = new();
        private bool _done;

        /// <summary>The pass failed part-way: forget the arrays (the garbage collector takes them).</summary>
        public void Abandon()
        {
            Taken.Clear();
        }

        /// <summary>Puts every noted array back and restores the enclosing arena.</summary>
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _arena = outer;
            unowned.Dispose();
            foreach (var array in Taken) Return(array);
            Taken.Clear();
        }
    }

    /// <summary>Puts back an array that no tensor holds any more (a finished pass's temporary, or the storage a <see cref="TensorScope"/> released).</summary>
    internal static void Return(Array array)
    {
        if (array.Length < MinLength) return;
        var free = _free ??= new Dictionary<(Type, int), Stack<Array>>();
        var key = (array.GetType().GetElementType()!, array.Length);
        if (!free.TryGetValue(key, out var stack)) free[key] = stack = new Stack<Array>();
        if (stack.Count >= MaxPerLength || _bytes + Bytes(array) > MaxBytes) return;
        if (Poison)
        {
            // in the poisoned (test) build, also catch an array handed back twice: two tensors would then share it
            foreach (var kept in stack)
                if (ReferenceEquals(kept, array))
                    throw new InvalidOperationException($"internal error: a storage array of {array.Length} elements was handed back to the pool twice");
            Fill(array);
        }
        stack.Push(array);
        _bytes += Bytes(array);
    }

    private static long Bytes(Array array) => (long)array.Length * (array is float[] ? 4 : 8);

    private static void Fill(Array array)
    {
        switch (array)
        {
            case float[] f: Array.Fill(f, float.NaN); break;
            case double[] d: Array.Fill(d, double.NaN); break;
            case long[] l: Array.Fill(l, long.MinValue); break;
        }
    }

    /// <summary>Drops every array kept on this thread (tests).</summary>
    internal static void Clear()
    {
        _free?.Clear();
        _bytes = 0;
    }

    /// <summary>How many arrays are kept on this thread (tests).</summary>
    internal static int Count => _free?.Values.Sum(s => s.Count) ?? 0;
}
