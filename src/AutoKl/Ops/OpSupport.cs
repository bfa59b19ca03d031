using AutoKl.Kernels;

namespace AutoKl;

// The plumbing every op uses: dtype dispatch of kernels, recording on the tape, dtype promotion
// and the one place where broadcasting is undone in the backward pass (SumTo).
public sealed partial class Tensor
{
    /// <summary>
    /// Attaches <paramref name="backward"/> to <paramref name="result"/> when recording is on and
    /// some input requires gradients. The rule maps the output's gradient to one gradient per
    /// input (null where not needed) and is itself written with differentiable ops, so running it
    /// while recording gives second derivatives. <paramref name="alsoSaved"/> lists tensors the rule
    /// reads that are not inputs (a mask, say), whose versions backward checks as it does the inputs'.
    /// <paramref name="readsValues"/> is false for rules that use only shapes (add, sum, reshape...):
    /// an in-place change of their inputs or output cannot make their gradient wrong, so none is refused.
    /// </summary>
    internal static Tensor Record(Tensor result, string op, Tensor[] inputs, Func<Tensor, Tensor?[]> backward,
                                  Tensor[]? alsoSaved = null, bool readsValues = true)
    {
        if (!GradMode.Enabled) return result;
        foreach (var input in inputs)
        {
            if (!input.RequiresGrad) continue;
            result._requiresGrad = true;
            result.GradFn = new Node(op, inputs, backward, readsValues ? result : null, alsoSaved);
            if (AnomalyMode.Enabled) AnomalyMode.CheckForward(result.GradFn, result);
            break;
        }
        return result;
    }

    /// <summary>Computes an input's gradient only when that input requires one.</summary>
    internal static Tensor? For(Tensor input, Func<Tensor> gradient) => input.RequiresGrad ? gradient() : null;

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
        var summed = axes.Count == 0 ? g : Sum(g, axes.ToArray(), keepDim: true);
        return Shapes.Equal(summed.ShapeRef, shape) ? summed : summed.Reshape(shape);
    }

    internal static Tensor Map<K>(string op, Tensor x, K kernel) where K : struct, IUnaryKernel
    {
        x.RequireFloat(op);
        var y = Uninitialized(x.DType, x.ShapeRef);
        if (x.DType == DType.Float32) Chunked.Run(y.Numel, 1, new UnaryChunk<float, K>(x.Data<float>(), y.Data<float>(), kernel));
        else Chunked.Run(y.Numel, 1, new UnaryChunk<double, K>(x.Data<double>(), y.Data<double>(), kernel));
        return y;
    }

    /// <summary>Runs a binary kernel with broadcasting; the operands already share a dtype.</summary>
    internal static Tensor Zip<K>(string op, Tensor a, Tensor b, K kernel) where K : struct, IBinaryKernel
    {
        var shape = Shapes.Broadcast(op, a.ShapeRef, b.ShapeRef);
        var y = Uninitialized(a.DType, shape);
        if (a.DType == DType.Float32)
            Broadcast.Run(a.Data<float>(), a.ShapeRef, b.Data<float>(), b.ShapeRef, y.Data<float>(), shape, kernel);
        else
            Broadcast.Run(a.Data<double>(), a.ShapeRef, b.Data<double>(), b.ShapeRef, y.Data<double>(), shape, kernel);
        return y;
    }

    /// <summary>
    /// PyTorch's promotion for floating operands: a number (<see cref="One"/>, <see cref="Zero"/>)
    /// or a rank-0 tensor takes the other operand's dtype (so <c>x * 2.0</c> stays float32),
    /// otherwise mixed float32/float64 computes in float64.
    /// </summary>
    internal static (Tensor, Tensor) Promote(string op, Tensor a, Tensor b)
    {
        a.RequireFloat(op);
        b.RequireFloat(op);
        if (a.DType == b.DType) return (a, b);
        if (a.IsNumber != b.IsNumber) return a.IsNumber ? (a.ToType(b.DType), b) : (a, b.ToType(a.DType));
        if (a.Rank == 0 && b.Rank > 0) return (a.ToType(b.DType), b);
        if (b.Rank == 0 && a.Rank > 0) return (a, b.ToType(a.DType));
        return (a.ToType(DType.Float64), b.ToType(DType.Float64));
    }

    /// <summary>A constant scalar of this tensor's dtype (for arithmetic with numbers).</summary>
    internal Tensor Const(double value) => Scalar(value, DType.IsFloatingPoint() ? DType : DType.Float32);
}
