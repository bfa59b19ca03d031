using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoKl.Kernels;

/// <summary>
/// exp over spans, for every kernel that takes it. float32 is evaluated in float32, eight lanes
/// at a time, with Cephes' range reduction and minimax polynomial (within 1 ulp over the whole
/// range, as the Sleef function PyTorch calls): TensorPrimitives' float32 exp evaluates in
/// double on half as many lanes, and took twice as long; it was the largest single cost of the
/// softmax-family losses. (Its float32 log is as fast as a float32 polynomial here, so log stays
/// with TensorPrimitives.) float64, and machines without AVX2 and FMA, use TensorPrimitives.
/// Each result depends on its own input only: a lane outside the polynomial's range (NaN, inf,
/// near overflow or underflow) is computed by MathF on its own, and a tail shorter than a vector
/// goes through the same vector code, so the bits do not depend on how a tensor is split into
/// chunks or threads.
/// </summary>
internal static class FastMath
{
    private static readonly bool Vectorized = Avx2.IsSupported && Fma.IsSupported;

    /// <summary>y = exp(x); <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vectorized) ExpOfDifference(MemoryMarshal.Cast<T, float>(x), 0f, MemoryMarshal.Cast<T, float>(y));
        else TensorPrimitives.Exp(x, y);
    }

    /// <summary>y = exp(x - shift), the difference rounded first (the bits of a subtraction followed by <see cref="Exp{T}"/>).</summary>
    public static void ExpOfDifference<T>(ReadOnlySpan<T> x, T shift, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vectorized)
            ExpOfDifference(MemoryMarshal.Cast<T, float>(x), Unsafe.As<T, float>(ref shift), MemoryMarshal.Cast<T, float>(y));
        else
        {
            TensorPrimitives.Subtract(x, shift, y);
            TensorPrimitives.Exp<T>(y, y);
        }
    }

    /// <summary>
    /// sum(exp(x - shift)), each difference rounded first, without writing the exps anywhere
    /// (<paramref name="scratch"/>, of x's length, serves the paths that need it).
    /// </summary>
    public static T SumOfExpOfDifference<T>(ReadOnlySpan<T> x, T shift, Span<T> scratch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vectorized)
        {
            float sum = SumOfExpOfDifference(MemoryMarshal.Cast<T, float>(x), Unsafe.As<T, float>(ref shift));
            return Unsafe.As<float, T>(ref sum);
        }
        ExpOfDifference(x, shift, scratch);
        return TensorPrimitives.Sum<T>(scratch[..x.Length]);
    }

    private static float SumOfExpOfDifference(ReadOnlySpan<float> x, float shift)
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        var c = Vector256.Create(shift);
        var acc = Vector256<float>.Zero;
        int n = x.Length, i = 0;
        for (; i <= n - 8; i += 8)
            acc += ExpOp.Apply(Vector256.LoadUnsafe(ref xs, (nuint)i) - c);
        if (i < n)
        {
            var tail = ExpOp.Apply(PaddedTail(x[i..], shift) - c);
            // the padding lanes hold exp(0) = 1: leave them out
            var used = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n - i));
            acc += tail & used.AsSingle();
        }
        return Vector256.Sum(acc);
    }

    /// <summary>y = exp(x - shift) in one pass (x - 0 is x, so <see cref="Exp{T}"/> runs through here too).</summary>
    private static void ExpOfDifference(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        if (y.Length < x.Length) throw new InvalidOperationException("internal error: destination shorter than source");
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        var c = Vector256.Create(shift);
        int n = x.Length, i = 0;
        for (; i <= n - 8; i += 8)
            ExpOp.Apply(Vector256.LoadUnsafe(ref xs, (nuint)i) - c).StoreUnsafe(ref ys, (nuint)i);
        if (i == n) return;
        Span<float> lanes = stackalloc float[8];
        ExpOp.Apply(PaddedTail(x[i..], shift) - c).CopyTo(lanes);
        lanes[..(n - i)].CopyTo(y[i..]);
    }

    /// <summary>
    /// The last, shorter-than-a-vector piece of a span as a full vector, padded with
    /// <paramref name="pad"/> (the shift, so the padding lanes compute exp(0), inside every range):
    /// the tail runs through the same vector code as the rest, so its bits are the same too.
    /// </summary>
    private static Vector256<float> PaddedTail(ReadOnlySpan<float> rest, float pad)
    {
        Span<float> lanes = stackalloc float[8];
        lanes.Fill(pad);
        rest.CopyTo(lanes);
        return Vector256.Create<float>(lanes);
    }

    /// <summary>
    /// exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 in two parts (|r| &lt;= ln 2 / 2),
    /// exp(r) = 1 + r + r^2 P(r) with Cephes' expf coefficients. Inside [-87, 88] the result and
    /// 2^k are normal numbers; below -104 exp is 0 in float32; elsewhere MathF.Exp.
    /// </summary>
    private static class ExpOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x)
        {
            var k = Avx.RoundToNearestInteger(x * Vector256.Create(1.44269504088896341f));
            var r = Fma.MultiplyAddNegated(k, Vector256.Create(0.693359375f), x);
            r = Fma.MultiplyAddNegated(k, Vector256.Create(-2.12194440e-4f), r);
            var p = Fma.MultiplyAdd(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
            p = Fma.MultiplyAdd(p, r * r, r + Vector256<float>.One);
            var twoToK = ((Avx.ConvertToVector256Int32(k) + Vector256.Create(127)) << 23).AsSingle();
            var y = p * twoToK;
            var inRange = Vector256.GreaterThanOrEqual(x, Vector256.Create(-87f)) & Vector256.LessThanOrEqual(x, Vector256.Create(88f));
            if (Vector256.EqualsAll(inRange.AsInt32(), Vector256<int>.AllBitsSet)) return y;
            var zero = Vector256.LessThan(x, Vector256.Create(-104f));
            y = Vector256.ConditionalSelect(zero, Vector256<float>.Zero, y);
            return PerLane(x, y, inRange | zero, MathF.Exp);
        }
    }

    /// <summary>The lanes not <paramref name="done"/> computed one by one with <paramref name="scalar"/>.</summary>
    private static Vector256<float> PerLane(Vector256<float> x, Vector256<float> y, Vector256<float> done, Func<float, float> scalar)
    {
        if (Vector256.EqualsAll(done.AsInt32(), Vector256<int>.AllBitsSet)) return y;
        Span<float> lanes = stackalloc float[8];
        y.CopyTo(lanes);
        for (int j = 0; j < 8; j++)
            if (BitConverter.SingleToInt32Bits(done.GetElement(j)) == 0) lanes[j] = scalar(x.GetElement(j));
        return Vector256.Create<float>(lanes);
    }
}
