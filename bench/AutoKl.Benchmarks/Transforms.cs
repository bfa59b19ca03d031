namespace AutoKl.Benchmarks;

/// <summary>
/// The transforms' workloads (Hessian, Jacobians, JVP), the same functions and the same data as
/// bench/pytorch_bench.py builds for functorch. The small problems' data come from closed-form
/// formulas rather than a generator, so both sides hold the same numbers and their results can be
/// checked against each other (<see cref="Checksum"/>).
/// </summary>
internal static class TransformData
{
    /// <summary>A [rows, cols] float64 matrix with entry [i, j] = f(i, j).</summary>
    public static Tensor Matrix(int rows, int cols, Func<int, int, double> f)
    {
        var data = new double[rows * cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                data[i * cols + j] = f(i, j);
        return Tensor.FromArray(data, rows, cols);
    }

    /// <summary>A float64 vector with entry [i] = f(i).</summary>
    public static Tensor Vector(int n, Func<int, double> f) => Tensor.FromArray(Enumerable.Range(0, n).Select(f).ToArray());

    /// <summary>The sum of all entries (printed by both sides: the results must agree).</summary>
    public static double Checksum(Tensor t) => Tensor.Sum(t.ToType(DType.Float64)).ToScalar();
}

/// <summary>
/// The Hessian of f(x) = logsumexp(A @ x) + 0.5 * x @ Q @ x at a point x of 100 elements, float64,
/// A [50, 100], Q [100, 100] symmetric: <see cref="Autograd.Hessian"/>.
/// </summary>
public sealed class LseQuadHessian
{
    public const int N = 100, M = 50;
    private readonly Tensor _a, _q, _x;

    public LseQuadHessian()
    {
        _a = TransformData.Matrix(M, N, (i, j) => 0.1 * Math.Sin(0.37 * (i * N + j) + 0.5));
        _q = TransformData.Matrix(N, N, (i, j) => 0.01 * Math.Cos(0.3 * (i + j)) + (i == j ? 1.0 : 0.0));
        _x = TransformData.Vector(N, j => 0.5 * Math.Sin(0.7 * j + 0.1));
    }

    public Tensor F(Tensor x) => Tensor.LogSumExp(Tensor.MatMul(_a, x), 0) + 0.5 * Tensor.MatMul(Tensor.MatMul(x, _q), x);

    public Tensor Hessian() => Autograd.Hessian(F, _x);

    public Tensor Point => _x;
}

/// <summary>
/// The Jacobian of g(x) = tanh(W @ x + b) * x, 64 -> 64, float64: <see cref="Autograd.Jacobian"/>
/// in a given mode.
/// </summary>
public sealed class TanhGateJacobian
{
    public const int N = 64;
    private readonly Tensor _w, _b, _x;

    public TanhGateJacobian()
    {
        _w = TransformData.Matrix(N, N, (i, j) => 0.2 * Math.Sin(0.13 * (i * N + j) + 0.3));
        _b = TransformData.Vector(N, i => 0.1 * Math.Cos(0.5 * i));
        _x = TransformData.Vector(N, j => Math.Sin(0.9 * j));
    }

    public Tensor G(Tensor x) => Tensor.Tanh(Tensor.MatMul(_w, x) + _b) * x;

    public Tensor Jacobian(JacobianMode mode) => Autograd.Jacobian(G, _x, mode);

    public Tensor Point => _x;
}

/// <summary>
/// The Jacobian-vector product of kl_div(log_softmax(logits), target, 'batchmean') at logits
/// [batch, classes] along a random tangent (<see cref="Autograd.Jvp(Func{Tensor, Tensor}, Tensor, Tensor)"/>),
/// and the same loss's plain forward pass (no tape) that it is measured against. The logits do not
/// require gradients: nothing is recorded on either side.
/// </summary>
public sealed class LogSoftmaxKlJvp
{
    private readonly Tensor _logits, _target, _tangent;

    public LogSoftmaxKlJvp(int batch = 256, int classes = 4096, DType dtype = DType.Float32, int seed = 0)
    {
        var gen = new Generator(seed);
        _logits = Tensor.RandN([batch, classes], gen, dtype);
        _target = Tensor.Softmax(Tensor.RandN([batch, classes], gen, dtype), 1);
        _tangent = Tensor.RandN([batch, classes], gen, dtype);
    }

    public Tensor Loss(Tensor logits) => Losses.KlDiv(Tensor.LogSoftmax(logits, 1), _target, Reduction.BatchMean);

    /// <summary>The loss alone; returns it.</summary>
    public double Forward() => Loss(_logits).ToScalar();

    /// <summary>The loss and its directional derivative; returns the derivative.</summary>
    public double Jvp() => Autograd.Jvp(Loss, _logits, _tangent).Item2.ToScalar();
}
