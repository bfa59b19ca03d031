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
}
