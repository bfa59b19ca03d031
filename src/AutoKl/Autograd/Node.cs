namespace AutoKl;

/// <summary>
/// One recorded operation on the tape: its inputs and the vector-Jacobian product that maps
/// the gradient of its output to the gradients of its inputs (null for an input that needs none).
/// </summary>
internal sealed class Node
{
    /// <param name="op">The op's name, as errors show it.</param>
    /// <param name="inputs">The op's inputs, in the order of the rule's results.</param>
    /// <param name="backward">The vector-Jacobian product.</param>
    /// <param name="output">The op's result when the rule may read it, else null.</param>
    /// <param name="alsoSaved">Tensors the rule reads besides the inputs and the output.</param>
    /// <param name="readsInputs">False when the rule reads only the inputs' shapes.</param>
    public Node(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward, Tensor? output, Tensor[]? alsoSaved, bool readsInputs)
    {
        Op = op;
        Inputs = inputs;
        Backward = backward;
        AlsoSaved = alsoSaved;
        _readsInputs = readsInputs;
        // The rule may read any input, the output and the extra tensors it captured: remember the
        // version of each (PyTorch's saved-tensor check). Null when all are at version 0, the usual
        // case of a forward pass over fresh tensors, so recording allocates nothing more.
        _outputVersion = output?.Version ?? -1;
        int n = inputs.Length + (alsoSaved?.Length ?? 0);
        for (int i = readsInputs ? 0 : inputs.Length; i < n; i++)
        {
            int v = SavedAt(i).Version;
            if (v == 0) continue;
            _versions ??= new int[n];
            _versions[i] = v;
        }
        if (AnomalyMode.Enabled) CreatedAt = AnomalyMode.Capture();
    }

    public string Op { get; }
    public Tensor[] Inputs { get; }
    public Func<Tensor, Tensor?[]> Backward { get; }

    /// <summary>Tensors the rule reads that are not inputs (a mask, say), checked like the inputs.</summary>
    public Tensor[]? AlsoSaved { get; }

    /// <summary>Where the user's code recorded this op; set only while anomaly detection is on.</summary>
    public string? CreatedAt { get; }

    private readonly int _outputVersion;
    private readonly bool _readsInputs;
    private readonly int[]? _versions;

    private Tensor SavedAt(int i) => i < Inputs.Length ? Inputs[i] : AlsoSaved![i - Inputs.Length];

    /// <summary>
    /// Refuses to run the rule when a tensor it may read changed in place since it was recorded:
    /// the gradient would be computed from values the forward pass never saw.
    /// </summary>
    public void CheckVersions(Tensor output)
    {
        if (_outputVersion >= 0 && output.Version != _outputVersion) throw Changed(output, "its output", _outputVersion);
        int n = Inputs.Length + (AlsoSaved?.Length ?? 0);
        for (int i = _readsInputs ? 0 : Inputs.Length; i < n; i++)
        {
            var t = SavedAt(i);
            int saved = _versions?[i] ?? 0;
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
