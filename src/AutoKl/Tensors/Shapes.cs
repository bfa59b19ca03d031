namespace AutoKl;

/// <summary>Shape arithmetic shared by every op: element counts, strides, broadcasting, axis checks.</summary>
internal static class Shapes
{
    public static readonly int[] Scalar = Array.Empty<int>();

    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        bool empty = false;
        foreach (var d in shape)
        {
            if (d < 0) throw new AutoKlException("tensor", $"shape {Format(shape)} has a negative dimension {d}");
            empty |= d == 0;
            // Capped at every dimension: the product of many large ones would overflow a long too.
            n = Math.Min(n * d, (long)Array.MaxLength + 1);
        }
        if (empty) return 0;
        if (n > Array.MaxLength) throw TooLarge(shape);
        return (int)n;
    }

    private static AutoKlException TooLarge(ReadOnlySpan<int> shape)
    {
        double n = 1;
        foreach (var d in shape) n *= d;
        return new AutoKlException("tensor", $"shape {Format(shape)} has {n:G6} elements, more than the {Array.MaxLength} one tensor can hold");
    }

    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>NumPy/PyTorch broadcasting: align on the right, a dimension of 1 stretches.</summary>
    public static int[] Broadcast(string op, int[] a, int[] b)
    {
        if (Equal(a, b)) return a;
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new AutoKlException(op,
                    $"shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i} of the result: {da} vs {db})");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Strides of <paramref name="shape"/> seen as broadcast to <paramref name="target"/> (0 where stretched).</summary>
    public static int[] BroadcastStrides(int[] shape, int[] target)
    {
        var own = Strides(shape);
        var s = new int[target.Length];
        int offset = target.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
            s[i + offset] = shape[i] == 1 && target[i + offset] != 1 ? 0 : own[i];
        return s;
    }

    public static int NormalizeAxis(string op, int axis, int rank)
    {
        int r = Math.Max(rank, 1);
        if (axis < -r || axis >= r)
            throw new AutoKlException(op, $"axis {axis} is out of range for a tensor of rank {rank} (valid: {-r} to {r - 1})");
        return axis < 0 ? axis + r : axis;
    }

    /// <summary>Sorted, distinct, non-negative axes; every axis when <paramref name="axes"/> is empty.</summary>
    public static int[] NormalizeAxes(string op, int[]? axes, int rank)
    {
        if (axes is null || axes.Length == 0) return Enumerable.Range(0, rank).ToArray();
        var result = axes.Select(a => NormalizeAxis(op, a, rank)).Distinct().OrderBy(a => a).ToArray();
        if (result.Length != axes.Length)
            throw new AutoKlException(op, $"axes [{string.Join(", ", axes)}] name the same dimension twice");
        return rank == 0 ? Array.Empty<int>() : result;
    }

    public static int[] Reduced(int[] shape, int[] axes, bool keepDim)
    {
        var list = new List<int>();
        for (int i = 0; i < shape.Length; i++)
        {
            if (Array.IndexOf(axes, i) >= 0) { if (keepDim) list.Add(1); }
            else list.Add(shape[i]);
        }
        return list.ToArray();
    }
}
