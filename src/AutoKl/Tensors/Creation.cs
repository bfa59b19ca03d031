using System.Numerics;

namespace AutoKl;

// Creating tensors: from arrays, filled, ranges, identity, random. The dtype defaults to
// float32 (as PyTorch) except where the data's own type says otherwise.
public sealed partial class Tensor
{
    // The one-argument overloads make 1-D tensors; the shaped ones take the shape exactly, so an
    // empty shape (as in `FromArray(data, y.Shape)` for a rank-0 y) makes a rank-0 tensor.

    /// <summary>A 1-D float64 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(double[] data) => FromArray(data, [data.Length]);

    /// <summary>A float64 tensor of exactly <paramref name="shape"/> (empty: rank 0) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(double[] data, params int[] shape) => new((double[])data.Clone(), ShapeFor("from_array", data.Length, shape));

    /// <summary>A 1-D float32 tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(float[] data) => FromArray(data, [data.Length]);

    /// <summary>A float32 tensor of exactly <paramref name="shape"/> (empty: rank 0) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => new((float[])data.Clone(), ShapeFor("from_array", data.Length, shape));

    /// <summary>A 1-D int64 tensor (indices, class labels) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(long[] data) => FromArray(data, [data.Length]);

    /// <summary>An int64 tensor (indices, class labels) of exactly <paramref name="shape"/> holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray(long[] data, params int[] shape) => new((long[])data.Clone(), ShapeFor("from_array", data.Length, shape));

    /// <summary>A 1-D int64 tensor (indices, class labels) from int values.</summary>
    public static Tensor FromArray(int[] data) => FromArray(data, [data.Length]);

    /// <summary>An int64 tensor (indices, class labels) of exactly <paramref name="shape"/> from int values.</summary>
    public static Tensor FromArray(int[] data, params int[] shape) => new(Array.ConvertAll(data, v => (long)v), ShapeFor("from_array", data.Length, shape));

    /// <summary>A 2-D float64 tensor from a rectangular array.</summary>
    public static Tensor FromArray(double[,] data)
    {
        var flat = new double[data.Length];
        Buffer.BlockCopy(data, 0, flat, 0, data.Length * sizeof(double));
        return new Tensor(flat, [data.GetLength(0), data.GetLength(1)]);
    }

    /// <summary>A 2-D float32 tensor from a rectangular array.</summary>
    public static Tensor FromArray(float[,] data)
    {
        var flat = new float[data.Length];
        Buffer.BlockCopy(data, 0, flat, 0, data.Length * sizeof(float));
        return new Tensor(flat, [data.GetLength(0), data.GetLength(1)]);
    }

    /// <summary>A tensor of <paramref name="dtype"/> from double values (converted), in the given shape.</summary>
    public static Tensor FromArray(double[] data, int[] shape, DType dtype) => ToType(FromArray(data, shape), dtype);

    /// <summary>A 2-D tensor from equal-length rows.</summary>
    public static Tensor FromRows(IEnumerable<IEnumerable<double>> rows, DType dtype = DType.Float64)
    {
        var list = rows.Select(r => r.ToArray()).ToArray();
        int width = list.Length == 0 ? 0 : list[0].Length;
        for (int i = 0; i < list.Length; i++)
            if (list[i].Length != width)
                throw new AutoKlException("from_rows", $"row {i} has {list[i].Length} values, row 0 has {width}");
        return FromArray(list.SelectMany(r => r).ToArray(), [list.Length, width], dtype);
    }

    private static int[] ShapeFor(string op, int length, int[] shape)
    {
        if (shape.Any(d => d < 0) || Shapes.Numel(shape) != length)
            throw new AutoKlException(op, $"{length} values do not fill shape {Shapes.Format(shape)}");
        return (int[])shape.Clone();
    }

    /// <summary>A rank-0 tensor.</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float64) => DTypeDispatch.RunAny<ScalarBody, Tensor>(dtype, new(value));

    private readonly struct ScalarBody(double value) : IElementFunc<Tensor>
    {
        public Tensor Run<T>() where T : unmanaged, INumber<T> => new(new[] { T.CreateTruncating(value) }, Shapes.Scalar);
    }

    /// <summary>Every element equal to <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32)
    {
        CheckShape("full", shape);
        var t = Empty(dtype, (int[])shape.Clone());
        DTypeDispatch.RunAny(dtype, new FillBody(t, value));
        return t;
    }

    private readonly struct FillBody(Tensor t, double value) : IElementBody
    {
        public void Run<T>() where T : unmanaged, INumber<T> => Array.Fill(t.Data<T>(), T.CreateTruncating(value));
    }

    private static void CheckShape(string op, int[] shape)
    {
        if (shape.Any(d => d < 0)) throw new AutoKlException(op, $"shape {Shapes.Format(shape)} has a negative dimension");
    }

    /// <summary>Zeros.</summary>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32) => Full(shape, 0, dtype);

    /// <summary>Ones.</summary>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32) => Full(shape, 1, dtype);

    /// <summary>Zeros with the shape and dtype of <paramref name="x"/>.</summary>
    public static Tensor ZerosLike(Tensor x) => Full(x.ShapeRef, 0, x.DType);

    /// <summary>Ones with the shape and dtype of <paramref name="x"/>.</summary>
    public static Tensor OnesLike(Tensor x) => Full(x.ShapeRef, 1, x.DType);

    /// <summary><paramref name="value"/> everywhere, with the shape and dtype of <paramref name="x"/>.</summary>
    public static Tensor FullLike(Tensor x, double value) => Full(x.ShapeRef, value, x.DType);

    /// <summary>start, start + step, ... up to but excluding <paramref name="end"/>.</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType dtype = DType.Float32)
    {
        if (step == 0 || double.IsNaN(step)) throw new AutoKlException("arange", "step must be non-zero");
        long count = (long)Math.Max(0, Math.Ceiling((end - start) / step));
        if (count > int.MaxValue) throw new AutoKlException("arange", $"{count} elements is too many");
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = start + i * step;
        return FromArray(values, [(int)count], dtype);
    }

    /// <summary>0, 1, ..., end - 1.</summary>
    public static Tensor Arange(double end, DType dtype = DType.Float32) => Arange(0, end, 1, dtype);

    /// <summary>
    /// <paramref name="steps"/> evenly spaced values from <paramref name="start"/> to <paramref name="end"/>
    /// inclusive, computed as PyTorch does (from the start for the first half, from the end for the second).
    /// </summary>
    public static Tensor Linspace(double start, double end, int steps, DType dtype = DType.Float32)
    {
        if (steps < 0) throw new AutoKlException("linspace", $"steps must be non-negative, got {steps}");
        // PyTorch computes a float32 linspace in float32 arithmetic; any other in float64, then converted.
        var arithmetic = dtype == DType.Float32 ? DType.Float32 : DType.Float64;
        return ToType(DTypeDispatch.Run<SpacedBody, Tensor>(arithmetic, new(start, end, steps)), dtype);
    }

    private readonly struct SpacedBody(double from, double to, int steps) : IFloatFunc<Tensor>
    {
        public Tensor Run<T>() where T : unmanaged, IFloatingPointIeee754<T>
        {
            T start = T.CreateChecked(from), end = T.CreateChecked(to);
            var values = new T[steps];
            if (steps == 1) values[0] = start;
            if (steps >= 2)
            {
                T step = (end - start) / T.CreateChecked(steps - 1);
                int half = steps / 2;
                for (int i = 0; i < steps; i++)
                    values[i] = i < half ? start + step * T.CreateChecked(i) : end - step * T.CreateChecked(steps - 1 - i);
            }
            return new Tensor(values, [steps]);
        }
    }

    /// <summary>The n-by-n identity matrix.</summary>
    public static Tensor Eye(int n, DType dtype = DType.Float32)
    {
        if (n < 0) throw new AutoKlException("eye", $"size must be non-negative, got {n}");
        var t = Zeros([n, n], dtype);
        for (int i = 0; i < n; i++) t.SetFlat(i * n + i, 1);
        return t;
    }

    /// <summary>Standard normal values from <paramref name="generator"/>.</summary>
    public static Tensor RandN(int[] shape, Generator generator, DType dtype = DType.Float32)
    {
        CheckShape("randn", shape);
        var values = new double[Shapes.Numel(shape)];
        for (int i = 0; i < values.Length; i++) values[i] = generator.NextNormal();
        return FromArray(values, shape, dtype);
    }

    /// <summary>Standard normal values from <see cref="Generator.Default"/>.</summary>
    public static Tensor RandN(int[] shape, DType dtype = DType.Float32) => RandN(shape, Generator.Default, dtype);

    /// <summary>Uniform values in [low, high) from <paramref name="generator"/>.</summary>
    public static Tensor Rand(int[] shape, Generator generator, DType dtype = DType.Float32, double low = 0, double high = 1)
    {
        CheckShape("rand", shape);
        if (!(high >= low)) throw new AutoKlException("rand", $"low {low} must not exceed high {high}");
        var values = new double[Shapes.Numel(shape)];
        for (int i = 0; i < values.Length; i++) values[i] = low + (high - low) * generator.NextUniform();
        return FromArray(values, shape, dtype);
    }

    /// <summary>Uniform values in [0, 1) from <see cref="Generator.Default"/>.</summary>
    public static Tensor Rand(int[] shape, DType dtype = DType.Float32) => Rand(shape, Generator.Default, dtype);
}
