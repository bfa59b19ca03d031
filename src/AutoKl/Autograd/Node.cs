namespace AutoKl;

/// <summary>
/// One recorded operation on the tape: its inputs and the vector-Jacobian product that maps
/// the gradient of its output to the gradients of its inputs (null for an input that needs none).
/// </summary>
internal sealed class Node(string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
{
    public string Op { get; } = op;
    public Tensor[] Inputs { get; } = inputs;
    public Func<Tensor, Tensor?[]> Backward { get; } = backward;

    /// <summary>What a later op may need to know about this one to fuse with it (log_softmax: its axes).</summary>
    public object? Info { get; set; }
}
