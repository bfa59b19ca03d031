namespace AutoKl;

/// <summary>
/// One recorded operation on the tape: its inputs and the vector-Jacobian product that maps
/// the gradient of its output to the gradients of its inputs (null for an input that needs none).
/// A backward pass that does not retain the graph releases the rule, and with it the tensors
/// the rule saved, as PyTorch frees a graph's buffers unless <c>retain_graph=True</c>.
/// </summary>
internal sealed class Node
{
    /// <param name="op">The op's name, as errors show it.</param>
    /// <param name="inputs">The op's inputs, in the order of the rule's results.</param>
    /// <param name="backward">The vector-Jacobian product: a delegate, or a fused op's declaration (<see cref="FusedOp"/>), which is then also the node's residuals.</param>
    /// <param name="output">The op's result when the rule may read its values (and its inputs'), else null.</param>
    /// <param name="alsoSaved">Tensors the rule reads besides the inputs and the output.</param>
    public Node(string op, Tensor[] inputs, object backward, Tensor? output, Tensor[]? alsoSaved)
    {
        Op = op;
        Inputs = inputs;
        _backward = backward;
        if (alsoSaved is not null) (_rare ??= new Rare()).AlsoSaved = alsoSaved;
        if (AnomalyMode.Enabled) (_rare ??= new Rare()).CreatedAt = AnomalyMode.Capture();
        // The rule may read any input, the output and the extra tensors it captured: remember the
        // version of each (PyTorch's saved-tensor check). The first two are kept in fields, the
        // rest in an array made only when one of them is not at version 0, so recording a binary
        // op allocates nothing more even when its inputs are parameters an optimizer updated.
        // A rule that reads only shapes (output null) checks nothing but the extra tensors.
        _outputVersion = output?.Version ?? -1;
        int n = SavedCount;
        for (int i = output is null ? inputs.Length : 0; i < n; i++)
        {
            int v = SavedAt(i).Version;
            if (v == 0) continue;
            if (i == 0) _version0 = v;
            else if (i == 1) _version1 = v;
            else ((_rare ??= new Rare()).Versions ??= new int[n])[i] = v;
        }
    }

    public string Op { get; }
    public Tensor[] Inputs { get; }
    private object? _backward;

    /// <summary>True once a backward pass that did not retain the graph has run this rule.</summary>
    public bool Released => _backward is null;

    public Tensor?[] Backward(Tensor g) => _backward switch
    {
        Func<Tensor, Tensor?[]> rule => rule(g),
        FusedOp fused => FusedOps.Backward(fused, Inputs, g),
        _ => throw new InvalidOperationException($"internal error: the rule of '{Op}' was released"),
    };

    /// <summary>
    /// Releases the rule. In a pass that frees the graph, what the op kept for its backward rule
    /// (its <see cref="Residuals"/>) goes back to the pool with the pass's temporaries: the node owns
    /// them, so no rule decides when they die.
    /// </summary>
    public void Release(bool handBackResiduals)
    {
        _backward = null;
        if (handBackResiduals) Residuals?.HandBack();
        Residuals = null;
        Shortcut = null;
    }

    /// <summary>The declared primitive this node records, when it is one that fusion recognises (<see cref="FusedOps.ProducedBy"/>); null otherwise.</summary>
    public Primitive? Primitive => Residuals?.Primitive;

    /// <summary>What the op kept for its backward rule alone (exps, row sums, a unit gradient), owned by this node.</summary>
    public Residuals? Residuals { get; set; }

    /// <summary>
    /// A backward kernel for this node together with the node that made one of its inputs (a
    /// fused pair, <see cref="PairShortcut"/>), which the tape runs in place of both when nothing
    /// else needs the gradient of that input.
    /// </summary>
    public PairShortcut? Shortcut
    {
        get => _rare?.Shortcut;
        set { if (value is not null || _rare is not null) (_rare ??= new Rare()).Shortcut = value; }
    }

    /// <summary>True while <paramref name="output"/> (this node's result) has the values the node saw (no in-place change since).</summary>
    public bool OutputUnchanged(Tensor output) => _outputVersion < 0 || output.Version == _outputVersion;

    /// <summary>Where the user's code recorded this op; set only while anomaly detection is on.</summary>
    public string? CreatedAt => _rare?.CreatedAt;

    /// <summary>What few nodes need, kept apart so that the common node stays small.</summary>
    private sealed class Rare
    {
        public Tensor[]? AlsoSaved;
        public string? CreatedAt;
        public int[]? Versions;
        public PairShortcut? Shortcut;
    }

    private Rare? _rare;
    private readonly int _outputVersion, _version0, _version1;

    private int SavedCount => Inputs.Length + (_rare?.AlsoSaved?.Length ?? 0);
    private Tensor SavedAt(int i) => i < Inputs.Length ? Inputs[i] : _rare!.AlsoSaved![i - Inputs.Length];
    private int SavedVersion(int i) => i == 0 ? _version0 : i == 1 ? _version1 : _rare?.Versions?[i] ?? 0;

    /// <summary>
    /// Refuses to run the rule when a tensor it may read changed in place since it was recorded:
    /// the gradient would be computed from values the forward pass never saw.
    /// </summary>
    public void CheckVersions(Tensor output)
    {
        bool readsValues = _outputVersion >= 0;
        if (readsValues && output.Version != _outputVersion) throw Changed(output, "its output", _outputVersion);
        int n = SavedCount;
        for (int i = readsValues ? 0 : Inputs.Length; i < n; i++)
        {
            var t = SavedAt(i);
            int saved = SavedVersion(i);
            if (t.Version != saved)
                throw Changed(t, i < Inputs.Length ? $"its input {i}" : "a tensor it saved", saved);
        }
    }

    private AutoKlException Changed(Tensor t, string which, int saved) => new("backward",
        $"one of the tensors needed for gradient computation was modified by an in-place operation: " +
        $"{which}, of shape {Shapes.Format(t.ShapeRef)}, saved by '{Op}' at version {saved}, is now at version {t.Version}. " +
        "Run the forward pass again after changing it, or change a Clone() instead" +
        (CreatedAt is null ? "" : $"; '{Op}' was recorded {CreatedAt}"));
}
