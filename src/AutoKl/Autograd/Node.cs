namespace AutoKl;

/// <summary>
/// One recorded operation on the tape: its inputs and the vector-Jacobian product that maps
/// the gradient of its output to the gradients of its inputs (null for an input that needs none).
/// A backward pass that does not retain the graph releases the rule, and with it the tensors
/// the rule saved, as PyTorch frees a graph's buffers unless <c>retain_graph=True</c>.
/// </summary>
internal sealed class Node(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
{
    private Func<Tensor, Tensor?[]>? _backward = backward;

    public string Op { get; } = op;
    public Tensor[] Inputs { get; } = inputs;

    /// <summary>True once a backward pass that did not retain the graph has run this rule.</summary>
    public bool Released => _backward is null;

    public Tensor?[] Backward(Tensor g) =>
        (_backward ?? throw new InvalidOperationException($"internal error: the rule of '{Op}' was released"))(g);

    public void Release() => _backward = null;
}
