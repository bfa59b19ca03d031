namespace AutoKl.Kernels;

/// <summary>Copies between contiguous arrays and strided views: permute, expand, slice, scatter.</summary>
internal static class Layout
{
    /// <summary>
    /// dst[i] = src[offset + index(i) . strides] for every index of <paramref name="dims"/> in
    /// row-major order. Zero strides broadcast; scaled strides slice with a step.
    /// </summary>
    public static void Gather<T>(T[] src, int offset, int[] dims, int[] strides, Span<T> dst)
    {
        if (dst.Length == 0) return;
        var (d, s) = Broadcast.Coalesce(dims, strides);
        var st = s[0];
        int r = d.Length, n = d[r - 1], last = st[r - 1];
        var index = new int[r];
        int off = offset;
        for (int start = 0; start < dst.Length; start += n)
        {
            var row = dst.Slice(start, n);
            if (last == 1) src.AsSpan(off, n).CopyTo(row);
            else if (last == 0) row.Fill(src[off]);
            else for (int j = 0, p = off; j < n; j++, p += last) row[j] = src[p];
            for (int k = r - 2; k >= 0; k--)
            {
                off += st[k];
                if (++index[k] < d[k]) break;
                off -= st[k] * d[k]; index[k] = 0;
            }
        }
    }

    /// <summary>The inverse of <see cref="Gather{T}"/> for non-overlapping views: dst[offset + index . strides] = src[i].</summary>
    public static void Scatter<T>(ReadOnlySpan<T> src, T[] dst, int offset, int[] dims, int[] strides)
    {
        if (src.Length == 0) return;
        var (d, s) = Broadcast.Coalesce(dims, strides);
        var st = s[0];
        int r = d.Length, n = d[r - 1], last = st[r - 1];
        var index = new int[r];
        int off = offset;
        for (int start = 0; start < src.Length; start += n)
        {
            var row = src.Slice(start, n);
            if (last == 1) row.CopyTo(dst.AsSpan(off, n));
            else for (int j = 0, p = off; j < n; j++, p += last) dst[p] = row[j];
            for (int k = r - 2; k >= 0; k--)
            {
                off += st[k];
                if (++index[k] < d[k]) break;
                off -= st[k] * d[k]; index[k] = 0;
            }
        }
    }

    public static void Permute<T>(T[] src, int[] shape, int[] perm, Span<T> dst)
    {
        var own = Shapes.Strides(shape);
        Gather(src, 0, perm.Select(p => shape[p]).ToArray(), perm.Select(p => own[p]).ToArray(), dst);
    }

    public static void Expand<T>(T[] src, int[] shape, int[] target, Span<T> dst)
        => Gather(src, 0, target, Shapes.BroadcastStrides(shape, target), dst);

    /// <summary>
    /// A copy of <paramref name="src"/> with the sorted <paramref name="axes"/> moved to the end
    /// (the others keep their order), so that they form one block of contiguous rows: its data
    /// and shape, the permutation used (to move a result back), and where the axes now are.
    /// </summary>
    public static (T[] Data, int[] Shape, int[] Perm, int[] Axes) AxesLast<T>(T[] src, int[] shape, int[] axes)
    {
        var perm = Enumerable.Range(0, shape.Length).Where(d => Array.IndexOf(axes, d) < 0).Concat(axes).ToArray();
        var moved = new T[src.Length];
        Permute(src, shape, perm, moved);
        return (moved, perm.Select(d => shape[d]).ToArray(), perm, Enumerable.Range(shape.Length - axes.Length, axes.Length).ToArray());
    }

    /// <summary>Undoes <see cref="AxesLast"/>: <paramref name="src"/> has the permuted <paramref name="shape"/>.</summary>
    public static T[] AxesBack<T>(T[] src, int[] shape, int[] perm)
    {
        var inverse = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        var back = new T[src.Length];
        Permute(src, shape, inverse, back);
        return back;
    }
}
