namespace AutoKl;

/// <summary>
/// The reverse pass: orders the recorded graph behind a root topologically, then runs each
/// node's vector-Jacobian product from the root back, summing the gradients of tensors used
/// more than once, and summing a broadcast input's gradient back to the input's shape (so no
/// rule has to).
/// </summary>
internal static class Backprop
{
    /// <param name="root">The tensor whose gradient is seeded.</param>
    /// <param name="seed">d(result)/d(root): ones for a scalar loss, or the user's cotangent.</param>
    /// <param name="createGraph">Record the backward computation itself, for higher derivatives.</param>
    /// <param name="accumulate">Add into <see cref="Tensor.Grad"/> of leaves (and retained non-leaves).</param>
    /// <param name="retainGraph">Keep the rules (and the tensors they saved) for another pass; otherwise
    /// release them, so a second pass through this graph is refused as in PyTorch. Recording the
    /// backward pass (<paramref name="createGraph"/>) always retains: the recorded gradient still needs them.</param>
    /// <param name="op">The name the user called, for the error when the graph was already released.</param>
    /// <param name="wanted">In a pass that does not accumulate, the tensors whose gradients the caller reads
    /// (a fused pair may then skip the gradient of its intermediate tensor when it is not among them).</param>
    /// <returns>The gradient of every tensor reached, keyed by reference; empty after a pass that
    /// only accumulates (<paramref name="accumulate"/> without <paramref name="createGraph"/>),
    /// whose gradient arrays go back to the <see cref="StoragePool"/> when it ends.</returns>
    public static Dictionary<Tensor, Tensor> Run(Tensor root, Tensor seed, bool createGraph, bool accumulate, bool retainGraph = true, string op = "backward",
                                                 IReadOnlyList<Tensor>? wanted = null)
    {
        if (!accumulate || createGraph) return Pass(root, seed, createGraph, accumulate, retainGraph, op, wanted);
        // Nothing outside this pass can hold its temporaries: it records nothing, and the leaves'
        // .Grad get copies or in-place sums. So they are handed back when it ends.
        var arena = StoragePool.Begin();
        try
        {
            Pass(root, seed, createGraph, accumulate, retainGraph, op, wanted);
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

    [ThreadStatic] private static bool _freesGraph;

    /// <summary>
    /// True while a rule runs in a pass that frees the graph after it (no retainGraph, no
    /// createGraph): the rule runs once, so it may consume what its forward pass kept for it
    /// (a rule may still run again after a pass that failed part-way, so it must note what it consumed).
    /// </summary>
    internal static bool FreesGraph => _freesGraph;

    private static Dictionary<Tensor, Tensor> Pass(Tensor root, Tensor seed, bool createGraph, bool accumulate, bool retainGraph, string op, IReadOnlyList<Tensor>? wanted)
    {
        var order = TopologicalOrder(root);
        // From the root back, so the error names the op nearest the tensor the user called backward on.
        for (int k = order.Count - 1; k >= 0; k--)
            if (order[k].GradFn is { Released: true } used)
                throw new AutoKlException(op,
                    $"the graph was already used by a backward pass that freed it (reached '{used.Op}' again); " +
                    "pass retainGraph = true to the first backward to go through the same graph twice, or compute the forward pass again");
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = seed };
        using var mode = GradMode.Set(createGraph);
        bool outerFrees = _freesGraph;
        _freesGraph = !retainGraph && !createGraph;
        try
        {
            for (int k = order.Count - 1; k >= 0; k--)
            {
                var t = order[k];
                if (!grads.TryGetValue(t, out var g)) continue;
                if (accumulate && (t.IsLeaf || t.RetainsGrad)) t.AccumulateGrad(g, copy: !createGraph);
                var node = t.GradFn;
                if (node is null) continue;
                node.CheckVersions(t);
                Tensor?[] inputGrads;
                Tensor[] inputs;
                if (node.Shortcut is { } pair && Fusible(pair, order, k, accumulate, wanted, g))
                {
                    // The pair's kernel gives the gradients of the producer's inputs at once; the
                    // intermediate tensor gets none, so the producer's own rule does not run.
                    pair.Producer.CheckVersions(pair.Intermediate);
                    inputGrads = pair.Backward(new BackwardContext(_freesGraph), g);
                    inputs = pair.Inputs;
                }
                else
                {
                    inputGrads = node.Backward(g);
                    inputs = node.Inputs;
                    if (AnomalyMode.Enabled) AnomalyMode.CheckBackward(node, inputGrads);
                }
                for (int i = 0; i < inputs.Length; i++)
                {
                    var input = inputs[i];
                    var gi = inputGrads[i];
                    if (gi is null || !input.RequiresGrad) continue;
                    // An op that broadcast this input hands back a gradient of its output's shape:
                    // summing it back to the input's shape here is the one place broadcasting is undone.
                    if (!Shapes.Equal(gi.ShapeRef, input.ShapeRef))
                    {
                        if (!BroadcastsTo(input.ShapeRef, gi.ShapeRef))
                            throw new InvalidOperationException(
                                $"internal error: the backward rule of '{node.Op}' returned a gradient of shape {Shapes.Format(gi.ShapeRef)} for input {i} of shape {Shapes.Format(input.ShapeRef)}");
                        gi = SumTo(gi, input.ShapeRef);
                    }
                    grads[input] = grads.TryGetValue(input, out var acc) ? acc + gi : gi;
                }
            }
        }
        finally
        {
            _freesGraph = outerFrees;
        }
        if (!retainGraph && !createGraph)
            foreach (var t in order) t.GradFn?.Release(handBackResiduals: true);
        return grads;
    }

    /// <summary>
    /// Whether a fused pair may run in place of its two nodes: only when the result is exactly the
    /// two rules' (nothing records, no tangent rides on the gradient, the producer still made the
    /// intermediate tensor) and nobody needs the intermediate's own gradient: it is not retained
    /// or asked for, and this node is its only consumer in the graph.
    /// </summary>
    private static bool Fusible(PairShortcut pair, List<Tensor> order, int at, bool accumulate, IReadOnlyList<Tensor>? wanted, Tensor g)
    {
        var y = pair.Intermediate;
        if (GradMode.Enabled || !ReferenceEquals(y.GradFn, pair.Producer) || pair.Producer.Released || y.RetainsGrad) return false;
        if (!pair.Applies() || ForwardMode.AnyTangent(g) || ForwardMode.AnyTangent(pair.Inputs)) return false;
        if (!accumulate)
        {
            if (wanted is null) return false;
            foreach (var w in wanted)
                if (ReferenceEquals(w, y)) return false;
        }
        int uses = 0;
        for (int k = 0; k < order.Count; k++)
            if (order[k].GradFn is { } node && k != at)
                foreach (var input in node.Inputs)
                    if (ReferenceEquals(input, y)) uses++;
        return uses == 0;
    }

    /// <summary>
    /// Sums a gradient of a broadcast result back to the shape of the input that was broadcast:
    /// over the leading dimensions it lacked and over dimensions where it had size 1.
    /// </summary>
    internal static Tensor SumTo(Tensor g, int[] shape)
    {
        if (Shapes.Equal(g.ShapeRef, shape)) return g;
        int lead = g.Rank - shape.Length;
        var axes = new List<int>();
        for (int d = 0; d < g.Rank; d++)
            if (d < lead || (shape[d - lead] == 1 && g.ShapeRef[d] != 1)) axes.Add(d);
        var summed = axes.Count == 0 ? g : Tensor.Sum(g, axes.ToArray(), keepDim: true);
        return Shapes.Equal(summed.ShapeRef, shape) ? summed : summed.Reshape(shape);
    }

    /// <summary>True when <paramref name="shape"/> broadcasts to <paramref name="target"/> (aligned at the right, each size equal or 1).</summary>
    private static bool BroadcastsTo(int[] shape, int[] target)
    {
        if (shape.Length > target.Length) return false;
        int lead = target.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++)
            if (shape[d] != 1 && shape[d] != target[lead + d]) return false;
        return true;
    }


    /// <summary>
    /// True when the graph behind <paramref name="root"/> reaches a leaf that requires gradients
    /// other than <paramref name="own"/> (not looking past those): the result then depends on a
    /// variable of an outer computation.
    /// </summary>
    internal static bool ReachesOtherLeaf(Tensor root, Tensor[] own)
    {
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var p in own) visited.Add(p);
        var stack = new Stack<Tensor>();
        if (visited.Add(root)) stack.Push(root);
        while (stack.Count > 0)
        {
            var t = stack.Pop();
            if (t.GradFn is not { } node) return true;
            foreach (var input in node.Inputs)
                if (input.RequiresGrad && visited.Add(input)) stack.Push(input);
        }
        return false;
    }

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
