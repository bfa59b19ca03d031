namespace AutoKl;

/// <summary>
/// The reverse pass: orders the recorded graph behind a root topologically, then runs each
/// node's vector-Jacobian product from the root back, summing the gradients of tensors used
/// more than once.
/// </summary>
internal static class Backprop
{
    /// <param name="root">The tensor whose gradient is seeded.</param>
    /// <param name="seed">d(result)/d(root): ones for a scalar loss, or the user's cotangent.</param>
    /// <param name="createGraph">Record the backward computation itself, for higher derivatives.</param>
    /// <param name="accumulate">Add into <see cref="Tensor.Grad"/> of leaves (and retained non-leaves).</param>
    /// <returns>The gradient of every tensor reached, keyed by reference; empty after a pass that
    /// only accumulates (<paramref name="accumulate"/> without <paramref name="createGraph"/>),
    /// whose gradient arrays go back to the <see cref="StoragePool"/> when it ends.</returns>
    public static Dictionary<Tensor, Tensor> Run(Tensor root, Tensor seed, bool createGraph, bool accumulate)
    {
        if (!accumulate || createGraph) return Pass(root, seed, createGraph, accumulate);
        // Nothing outside this pass can hold its temporaries: it records nothing, and the leaves'
        // .Grad get copies or in-place sums. So they are handed back when it ends.
        var arena = StoragePool.Begin();
        try
        {
            Pass(root, seed, createGraph, accumulate);
        }
        catch
        {
            arena.Abandon();
            throw;
        }
        finally
        {
            arena.Dispose();
        }
        return new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
    }

    private static Dictionary<Tensor, Tensor> Pass(Tensor root, Tensor seed, bool createGraph, bool accumulate)
    {
        var order = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = seed };
        using var mode = GradMode.Set(createGraph);
        for (int k = order.Count - 1; k >= 0; k--)
        {
            var t = order[k];
            if (!grads.TryGetValue(t, out var g)) continue;
            if (accumulate && (t.IsLeaf || t.RetainsGrad)) t.AccumulateGrad(g, copy: !createGraph);
            var node = t.GradFn;
            if (node is null) continue;
            var inputGrads = node.Backward(g);
            for (int i = 0; i < node.Inputs.Length; i++)
            {
                var input = node.Inputs[i];
                var gi = inputGrads[i];
                if (gi is null || !input.RequiresGrad) continue;
                if (!Shapes.Equal(gi.ShapeRef, input.ShapeRef))
                    throw new InvalidOperationException(
                        $"internal error: the backward rule of '{node.Op}' returned a gradient of shape {Shapes.Format(gi.ShapeRef)} for input {i} of shape {Shapes.Format(input.ShapeRef)}");
                grads[input] = grads.TryGetValue(input, out var acc) ? acc + gi : gi;
            }
        }
        return grads;
    }

    /// <summary>Every tensor behind <paramref name="root"/> that requires gradients, inputs before outputs.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        // Iterative depth-first search: long chains (thousands of ops) must not overflow the stack.
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        visited.Add(root);
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn?.Inputs ?? Array.Empty<Tensor>();
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.RequiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }
        return order;
    }
}
