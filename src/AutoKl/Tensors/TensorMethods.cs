namespace AutoKl;

// Instance forms of the ops for fluent C# (x.Exp().Sum()); each just calls the static rule.
public sealed partial class Tensor
{
    /// <summary>See <see cref="Exp(Tensor)"/>.</summary>
    public Tensor Exp() => Exp(this);
    /// <summary>See <see cref="Log(Tensor)"/>.</summary>
    public Tensor Log() => Log(this);
    /// <summary>See <see cref="Log1p(Tensor)"/>.</summary>
    public Tensor Log1p() => Log1p(this);
    /// <summary>See <see cref="Expm1(Tensor)"/>.</summary>
    public Tensor Expm1() => Expm1(this);
    /// <summary>See <see cref="Sqrt(Tensor)"/>.</summary>
    public Tensor Sqrt() => Sqrt(this);
    /// <summary>See <see cref="Abs(Tensor)"/>.</summary>
    public Tensor Abs() => Abs(this);
    /// <summary>See <see cref="Sigmoid(Tensor)"/>.</summary>
    public Tensor Sigmoid() => Sigmoid(this);
    /// <summary>See <see cref="Tanh(Tensor)"/>.</summary>
    public Tensor Tanh() => Tanh(this);
    /// <summary>See <see cref="Cosh(Tensor)"/>.</summary>
    public Tensor Cosh() => Cosh(this);
    /// <summary>See <see cref="Sinh(Tensor)"/>.</summary>
    public Tensor Sinh() => Sinh(this);
    /// <summary>See <see cref="Log10(Tensor)"/>.</summary>
    public Tensor Log10() => Log10(this);
    /// <summary>See <see cref="Log2(Tensor)"/>.</summary>
    public Tensor Log2() => Log2(this);
    /// <summary>See <see cref="Asin(Tensor)"/>.</summary>
    public Tensor Asin() => Asin(this);
    /// <summary>See <see cref="Acos(Tensor)"/>.</summary>
    public Tensor Acos() => Acos(this);
    /// <summary>See <see cref="Atan(Tensor)"/>.</summary>
    public Tensor Atan() => Atan(this);
    /// <summary>See <see cref="Truncate(Tensor)"/>.</summary>
    public Tensor Truncate() => Truncate(this);
    /// <summary>See <see cref="Relu(Tensor)"/>.</summary>
    public Tensor Relu() => Relu(this);
    /// <summary>See <see cref="Softplus(Tensor, double, double)"/>.</summary>
    public Tensor Softplus(double beta = 1.0, double threshold = 20.0) => Softplus(this, beta, threshold);
    /// <summary>See <see cref="Clamp(Tensor, double, double)"/>.</summary>
    public Tensor Clamp(double min = double.NegativeInfinity, double max = double.PositiveInfinity) => Clamp(this, min, max);
    /// <summary>See <see cref="Pow(Tensor, double)"/>.</summary>
    public Tensor Pow(double exponent) => Pow(this, exponent);
    /// <summary>See <see cref="Pow(Tensor, Tensor)"/>.</summary>
    public Tensor Pow(Tensor exponent) => Pow(this, exponent);

    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => Sum(this);
    /// <summary>Sum over one axis.</summary>
    public Tensor Sum(int axis, bool keepDim = false) => Sum(this, [axis], keepDim);
    /// <summary>Sum over axes.</summary>
    public Tensor Sum(int[] axes, bool keepDim = false) => Sum(this, axes, keepDim);
    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Mean(this);
    /// <summary>Mean over one axis.</summary>
    public Tensor Mean(int axis, bool keepDim = false) => Mean(this, [axis], keepDim);
    /// <summary>Mean over axes.</summary>
    public Tensor Mean(int[] axes, bool keepDim = false) => Mean(this, axes, keepDim);
    /// <summary>Largest element.</summary>
    public Tensor Max() => Max(this);
    /// <summary>Largest values along an axis.</summary>
    public Tensor Max(int axis, bool keepDim = false) => Max(this, [axis], keepDim);
    /// <summary>Smallest element.</summary>
    public Tensor Min() => Min(this);
    /// <summary>Smallest values along an axis.</summary>
    public Tensor Min(int axis, bool keepDim = false) => Min(this, [axis], keepDim);
    /// <summary>logsumexp along an axis.</summary>
    public Tensor LogSumExp(int axis, bool keepDim = false) => LogSumExp(this, [axis], keepDim);
    /// <summary>Softmax along an axis.</summary>
    public Tensor Softmax(int axis) => Softmax(this, axis);
    /// <summary>Log-softmax along an axis.</summary>
    public Tensor LogSoftmax(int axis) => LogSoftmax(this, axis);

    /// <summary>See <see cref="Reshape(Tensor, int[])"/>.</summary>
    public Tensor Reshape(params int[] shape) => Reshape(this, shape);
    /// <summary>See <see cref="Permute(Tensor, int[])"/>.</summary>
    public Tensor Permute(params int[] dims) => Permute(this, dims);
    /// <summary>See <see cref="Transpose(Tensor, int, int)"/>.</summary>
    public Tensor Transpose(int dim0 = -2, int dim1 = -1) => Transpose(this, dim0, dim1);
    /// <summary>See <see cref="Expand(Tensor, int[])"/>.</summary>
    public Tensor Expand(params int[] shape) => Expand(this, shape);
    /// <summary>See <see cref="Squeeze(Tensor, int)"/>.</summary>
    public Tensor Squeeze(int axis) => Squeeze(this, axis);
    /// <summary>See <see cref="Squeeze(Tensor)"/>.</summary>
    public Tensor Squeeze() => Squeeze(this);
    /// <summary>See <see cref="Unsqueeze(Tensor, int)"/>.</summary>
    public Tensor Unsqueeze(int axis) => Unsqueeze(this, axis);
    /// <summary>See <see cref="Flatten(Tensor, int, int)"/>.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1) => Flatten(this, startDim, endDim);
    /// <summary>See <see cref="Slice(Tensor, int, int, int, int)"/>.</summary>
    public Tensor Slice(int axis, int start, int end = int.MaxValue, int step = 1) => Slice(this, axis, start, end, step);
    /// <summary>See <see cref="Gather(Tensor, int, Tensor)"/>.</summary>
    public Tensor Gather(int axis, Tensor index) => Gather(this, axis, index);
    /// <summary>See <see cref="ToType(Tensor, DType)"/>.</summary>
    public Tensor ToType(DType dtype) => ToType(this, dtype);

    /// <summary>
    /// Indexes the leading dimensions: <c>x[1]</c> is row 1, <c>x[1, 2]</c> the element at (1, 2)
    /// as a rank-0 tensor. Negative indices count from the end.
    /// </summary>
    public Tensor this[params int[] indices]
    {
        get
        {
            if (indices.Length > Rank)
                throw new AutoKlException("index", $"{indices.Length} indices given for a tensor of rank {Rank} (shape {Shapes.Format(_shape)})");
            var t = this;
            foreach (var i in indices) t = Select(t, 0, i);
            return t;
        }
    }

    /// <summary>
    /// Computes the gradient of this one-element tensor with respect to every leaf that requires
    /// gradients and adds it into their <see cref="Grad"/>. As in PyTorch, the pass frees the
    /// graph behind this tensor: a second backward through any part of it is an error unless the
    /// first one passed <paramref name="retainGraph"/> (then the second adds its gradients again).
    /// </summary>
    /// <param name="createGraph">Record the backward pass, so the gradients can be differentiated again (implies <paramref name="retainGraph"/>).</param>
    /// <param name="retainGraph">Keep the graph for another backward pass (PyTorch's <c>retain_graph</c>).</param>
    public void Backward(bool createGraph = false, bool retainGraph = false)
    {
        CheckBackward();
        Backward(Autograd.ScalarSeed("backward", this), createGraph, retainGraph);
    }

    /// <summary>
    /// Backward from a non-scalar tensor: accumulates the vector-Jacobian product of
    /// <paramref name="cotangent"/> (shaped like this tensor) into the leaves' <see cref="Grad"/>.
    /// Frees the graph unless <paramref name="retainGraph"/> or <paramref name="createGraph"/>, as <see cref="Backward(bool, bool)"/>.
    /// </summary>
    /// <param name="cotangent">d(result)/d(this tensor), shaped like this tensor.</param>
    /// <param name="createGraph">Record the backward pass, so the gradients can be differentiated again (implies <paramref name="retainGraph"/>).</param>
    /// <param name="retainGraph">Keep the graph for another backward pass (PyTorch's <c>retain_graph</c>).</param>
    public void Backward(Tensor cotangent, bool createGraph = false, bool retainGraph = false)
    {
        CheckBackward();
        Backprop.Run(this, Autograd.CheckRoot("backward", this, cotangent), createGraph, accumulate: true, retainGraph, "backward");
    }

    private void CheckBackward()
    {
        if (!RequiresGrad)
            throw new AutoKlException("backward",
                $"this {Shapes.Format(_shape)} tensor does not require gradients: none of the tensors it was computed from has RequiresGrad = true, or it was computed inside Autograd.NoGrad()");
    }
}
