namespace AutoKl;

/// <summary>
/// Forward mode: a tangent carried beside a value, one per nesting level (DiffSharp's tags,
/// PyTorch's dual levels). Each <see cref="Autograd.Jvp(Func{Tensor, Tensor}, Tensor, Tensor)"/>
/// opens a level with a fresh id; every op recorded while a level is open computes its output's
/// tangent from its inputs' tangents with the op's Jacobian-vector product, declared beside its
/// vector-Jacobian product (<see cref="Tensor.Record"/>).
/// </summary>
/// <remarks>
/// Levels never mix. Ids only grow, so the open levels are ordered outermost first; while the
/// tangent of level L is computed, only levels below L propagate (the "ceiling"). The tangent of an
/// inner level therefore carries the outer levels' tangents (the cross derivatives live there and
/// nowhere else), and an outer level's tangent never picks up an inner perturbation: the
/// perturbation confusion of Siskind and Pearlmutter cannot happen. A level that has closed is
/// inert: tangents left on tensors that escaped it are never read again.
/// </remarks>
internal static class ForwardMode
{
    [ThreadStatic] private static List<int>? _open;
    [ThreadStatic] private static int _ceiling;
    [ThreadStatic] private static int _lastId;

    /// <summary>Levels open on any thread: a plain read that lets every op outside forward mode skip the per-thread test.</summary>
    private static int _openAnywhere;

    /// <summary>True when some level is open below the current ceiling: ops must propagate tangents.</summary>
    public static bool Active => _openAnywhere > 0 && _open is { Count: > 0 } open && (_ceiling == 0 || open[0] < _ceiling);

    /// <summary>Opens a new innermost level (disposed by the transform that opened it, innermost first).</summary>
    public static Level Enter()
    {
        var open = _open ??= new List<int>();
        int id = ++_lastId;
        open.Add(id);
        Interlocked.Increment(ref _openAnywhere);
        return new Level(id);
    }

    /// <summary>One open level; closing it out of order is an internal error.</summary>
    public sealed class Level(int id) : IDisposable
    {
        public int Id { get; } = id;
        private bool _closed;

        public void Dispose()
        {
            if (_closed) return;
            _closed = true;
            var open = _open;
            if (open is null || open.Count == 0 || open[^1] != Id)
                throw new InvalidOperationException($"internal error: forward-mode level {Id} closed out of order");
            open.RemoveAt(open.Count - 1);
            Interlocked.Decrement(ref _openAnywhere);
        }
    }

    /// <summary>Stops every open level from propagating until disposed (a custom op's raw forward).</summary>
    public static IDisposable Suspend() => new Ceiling(1);

    private sealed class Ceiling : IDisposable
    {
        private readonly int _outer = _ceiling;
        public Ceiling(int ceiling) => _ceiling = ceiling;
        public void Dispose() => _ceiling = _outer;
    }

    /// <summary>True when some input carries a tangent of a level that propagates now: a fused op then takes its reference composition.</summary>
    public static bool AnyTangent(Tensor[] tensors)
    {
        if (!Active) return false;
        foreach (var t in tensors)
            if (HasTangent(t)) return true;
        return false;
    }

    /// <summary>The same for one tensor (and two, three), without an array for the common case of no forward mode at all.</summary>
    public static bool AnyTangent(Tensor t) => Active && HasTangent(t);

    public static bool AnyTangent(Tensor a, Tensor b) => Active && (HasTangent(a) || HasTangent(b));

    public static bool AnyTangent(Tensor a, Tensor b, Tensor c) => Active && (HasTangent(a) || HasTangent(b) || HasTangent(c));

    private static bool HasTangent(Tensor t)
    {
        for (var link = t.Tangents; link is not null; link = link.Next)
            if (Propagates(link.Level)) return true;
        return false;
    }

    private static bool Propagates(int level) => (_ceiling == 0 || level < _ceiling) && _open!.Contains(level);

    /// <summary>The tangent of <paramref name="t"/> at <paramref name="level"/>, or null (a zero tangent).</summary>
    public static Tensor? TangentAt(Tensor t, int level)
    {
        for (var link = t.Tangents; link is not null; link = link.Next)
            if (link.Level == level) return link.Tangent;
        return null;
    }

    /// <summary>
    /// Gives <paramref name="result"/> its tangent at every open level where an input has one,
    /// each from <paramref name="jvp"/> (the inputs' tangents at that level, null for a zero one).
    /// An op declared without a forward rule is an error here, never a zero.
    /// </summary>
    public static void Propagate(Tensor result, string op, Tensor[] inputs, Func<Tensor?[], Tensor?>? jvp)
    {
        var open = _open!;
        // Outermost first: an inner level's rule reads the output (exp's t * y), which must already
        // carry the outer levels' tangents for the cross derivatives to reach the inner tangent.
        for (int k = 0; k < open.Count; k++)
        {
            int level = open[k];
            if (_ceiling != 0 && level >= _ceiling) continue;
            Tensor?[]? tangents = null;
            for (int i = 0; i < inputs.Length; i++)
                if (TangentAt(inputs[i], level) is { } t)
                    (tangents ??= new Tensor?[inputs.Length])[i] = t;
            if (tangents is null) continue;
            if (jvp is null)
                throw new AutoKlException(op,
                    $"has no forward-mode rule (Jacobian-vector product), so it cannot be differentiated in forward mode " +
                    $"(jvp, jacobian in forward mode, hessian, hvp); its output has shape {Shapes.Format(result.ShapeRef)}. " +
                    "First derivatives in reverse mode (grad, vjp, jacobian in reverse mode) do not need it");
            int outer = _ceiling;
            _ceiling = level;
            Tensor? tangent;
            try { tangent = jvp(tangents); }
            finally { _ceiling = outer; }
            if (tangent is null) continue;
            Attach(result, level, Conform(op, tangent, result));
        }
    }

    /// <summary>A rule's tangent in its output's shape and dtype (a rule of a broadcasting op may return a smaller one).</summary>
    private static Tensor Conform(string op, Tensor tangent, Tensor result)
    {
        if (tangent.DType != result.DType) tangent = tangent.ToType(result.DType);
        if (!Shapes.Equal(tangent.ShapeRef, result.ShapeRef))
        {
            try { tangent = tangent.Expand(result.ShapeRef); }
            catch (AutoKlException)
            {
                throw new InvalidOperationException(
                    $"internal error: the forward rule of '{op}' returned a tangent of shape {Shapes.Format(tangent.ShapeRef)} for an output of shape {Shapes.Format(result.ShapeRef)}");
            }
        }
        return tangent;
    }

    /// <summary>Sets the tangent of <paramref name="t"/> at <paramref name="level"/> (replacing one there).</summary>
    public static void Attach(Tensor t, int level, Tensor tangent) => t.Tangents = new TangentLink(level, tangent, Without(t.Tangents, level));

    /// <summary>Removes and returns the tangent of <paramref name="t"/> at <paramref name="level"/> (links may be shared: the list is rebuilt, never changed).</summary>
    public static Tensor? Take(Tensor t, int level)
    {
        var tangent = TangentAt(t, level);
        if (tangent is not null) t.Tangents = Without(t.Tangents, level);
        return tangent;
    }

    private static TangentLink? Without(TangentLink? list, int level)
    {
        if (list is null) return null;
        if (list.Level == level) return list.Next;
        var rest = Without(list.Next, level);
        return ReferenceEquals(rest, list.Next) ? list : new TangentLink(list.Level, list.Tangent, rest);
    }

    /// <summary>
    /// A tensor with <paramref name="x"/>'s values and its tangents, plus <paramref name="tangent"/>
    /// at <paramref name="level"/>: connected to x on the tape when x is recorded, so an outer
    /// reverse pass differentiates through the forward one.
    /// </summary>
    public static Tensor Dual(Tensor x, Tensor tangent, int level)
    {
        var dual = x.RequiresGrad && GradMode.Enabled ? Tensor.Identity(x) : x.DetachKeepingTangents();
        Attach(dual, level, tangent);
        return dual;
    }
}

/// <summary>One tangent of a tensor: its level, its value, and the tangents of other levels (an immutable list, shared by views).</summary>
internal sealed class TangentLink(int level, Tensor tangent, TangentLink? next)
{
    public int Level { get; } = level;
    public Tensor Tangent { get; } = tangent;
    public TangentLink? Next { get; } = next;
}
