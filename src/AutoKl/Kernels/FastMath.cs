using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace AutoKl.Kernels;

/// <summary>
/// exp over spans, for every kernel that takes it. float32 is evaluated in float32, eight lanes
/// at a time, with a range reduction by ln 2 and a degree-6 minimax polynomial (within 1 ulp over
/// the whole range, as the Sleef function PyTorch calls): TensorPrimitives' float32 exp evaluates
/// in double on half as many lanes, and took 2-4 times as long; it was the largest single cost of
/// the softmax-family losses. (Its float32 log is as fast as a float32 polynomial here, so log
/// stays with TensorPrimitives.) float64, and machines without AVX2 and FMA, use TensorPrimitives.
/// Each result depends on its own input only: a lane outside the polynomial's range (NaN, inf,
/// near overflow or underflow) is computed by MathF on its own, and a tail shorter than a vector
/// goes through the same vector code, so the bits do not depend on how a tensor is split into
/// chunks or threads. The loops take four vectors at a time and test their range once for the
/// four (a block with a lane out of range is computed again lane by lane): the test per vector,
/// and the dependency chain of one vector at a time, cost as much as the polynomial.
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

    /// <summary>
    /// y = exp(x - shift) and its sum, in one pass (the sum in the order <see cref="SumOfExpOfDifference{T}"/>
    /// takes, so the two give the same bits).
    /// </summary>
    public static T ExpOfDifferenceAndSum<T>(ReadOnlySpan<T> x, T shift, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vectorized)
        {
            float sum = ExpOfDifference(MemoryMarshal.Cast<T, float>(x), Unsafe.As<T, float>(ref shift), MemoryMarshal.Cast<T, float>(y), true);
            return Unsafe.As<float, T>(ref sum);
        }
        ExpOfDifference(x, shift, y);
        return TensorPrimitives.Sum<T>(y[..x.Length]);
    }

    private static float SumOfExpOfDifference(ReadOnlySpan<float> x, float shift) => ExpOfDifference(x, shift, Span<float>.Empty, true);

    /// <summary>y = exp(x - shift) in one pass (x - 0 is x, so <see cref="Exp{T}"/> runs through here too).</summary>
    private static void ExpOfDifference(ReadOnlySpan<float> x, float shift, Span<float> y) => ExpOfDifference(x, shift, y, false);

    /// <summary>
    /// The one float32 loop: exp(x - shift) stored into <paramref name="y"/> unless it is empty,
    /// and summed when <paramref name="sum"/> (a constant at each call site, so the JIT drops the
    /// unused half). y may be x: each block is loaded before it is stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ExpOfDifference(ReadOnlySpan<float> x, float shift, Span<float> y, bool sum)
    {
        bool store = !y.IsEmpty;
        if (store && y.Length < x.Length) throw new InvalidOperationException("internal error: destination shorter than source");
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        var c = Vector256.Create(shift);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
        int n = x.Length, i = 0;
        for (; i <= n - Block; i += Block)
        {
            var (y0, y1, y2, y3) = ExpOp.Block(ref xs, i, c);
            if (store)
            {
                y0.StoreUnsafe(ref ys, (nuint)i);
                y1.StoreUnsafe(ref ys, (nuint)(i + 8));
                y2.StoreUnsafe(ref ys, (nuint)(i + 16));
                y3.StoreUnsafe(ref ys, (nuint)(i + 24));
            }
            if (sum)
            {
                acc0 += y0 + y1;
                acc1 += y2 + y3;
            }
        }
        for (; i <= n - 8; i += 8)
        {
            var yv = ExpOp.Apply(Vector256.LoadUnsafe(ref xs, (nuint)i) - c);
            if (store) yv.StoreUnsafe(ref ys, (nuint)i);
            if (sum) acc0 += yv;
        }
        if (i < n)
        {
            var tail = ExpOp.Apply(PaddedTail(x[i..], shift) - c);
            if (store)
            {
                Span<float> lanes = stackalloc float[8];
                tail.CopyTo(lanes);
                lanes[..(n - i)].CopyTo(y[i..]);
            }
            // the padding lanes hold exp(0) = 1: leave them out of the sum
            var used = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n - i));
            if (sum) acc1 += tail & used.AsSingle();
        }
        return sum ? Vector256.Sum(acc0 + acc1) : 0f;
    }

    /// <summary>Elements per block: four vectors, whose range is tested once.</summary>
    private const int Block = 32;

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
    /// exp(r) = 1 + r + r^2 P(r), P of degree 4 fitted (minimax, relative error of exp(r) under
    /// 4e-9, a sixteenth of an ulp) for this project. k comes from adding 1.5 * 2^23 to x / ln 2,
    /// which leaves k in the low bits of the sum; those bits shifted into the exponent field scale
    /// exp(r) by 2^k with an integer add. That is exact while -125 &lt;= k &lt;= 127 (the result
    /// and 2^k are normal numbers); other lanes (NaN and inf included, whose sums fall outside too)
    /// are 0 below -104 and MathF.Exp elsewhere.
    /// </summary>
    private static class ExpOp
    {
        private const float RoundingShift = 12582912f; // 1.5 * 2^23
        private const int RoundingShiftBits = 0x4B400000;
        private const int LowestK = -125, HighestK = 127;

        /// <summary>The polynomial path, its k (as the bits of the rounding sum) folded into the running bounds.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Polynomial(Vector256<float> x, ref Vector256<int> low, ref Vector256<int> high)
        {
            var sum = Fma.MultiplyAdd(x, Vector256.Create(1.44269504088896341f), Vector256.Create(RoundingShift));
            var k = sum - Vector256.Create(RoundingShift);
            var r = Fma.MultiplyAddNegated(k, Vector256.Create(0.693359375f), x);
            r = Fma.MultiplyAddNegated(k, Vector256.Create(-2.12194440e-4f), r);
            var p = Fma.MultiplyAdd(Vector256.Create(1.3814540579915047e-3f), r, Vector256.Create(8.3687454462051392e-3f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(4.1668388992547989e-2f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(1.6666521131992340e-1f));
            p = Fma.MultiplyAdd(p, r, Vector256.Create(4.9999994039535522e-1f));
            p = Fma.MultiplyAdd(p, r * r, r + Vector256<float>.One);
            var kBits = sum.AsInt32();
            low = Avx2.Min(low, kBits);
            high = Avx2.Max(high, kBits);
            // the rounding shift's own bits all leave the word in the shift
            return (p.AsInt32() + (kBits << 23)).AsSingle();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool InRange(Vector256<int> low, Vector256<int> high) =>
            Avx.TestZ(Avx2.CompareGreaterThan(Vector256.Create(RoundingShiftBits + LowestK), low)
                      | Avx2.CompareGreaterThan(high, Vector256.Create(RoundingShiftBits + HighestK)), Vector256<int>.AllBitsSet);

        /// <summary>exp(x - c) of the four vectors at <paramref name="i"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Block(ref float xs, int i, Vector256<float> c)
        {
            var low = Vector256.Create(int.MaxValue);
            var high = Vector256.Create(int.MinValue);
            var y0 = Polynomial(Vector256.LoadUnsafe(ref xs, (nuint)i) - c, ref low, ref high);
            var y1 = Polynomial(Vector256.LoadUnsafe(ref xs, (nuint)(i + 8)) - c, ref low, ref high);
            var y2 = Polynomial(Vector256.LoadUnsafe(ref xs, (nuint)(i + 16)) - c, ref low, ref high);
            var y3 = Polynomial(Vector256.LoadUnsafe(ref xs, (nuint)(i + 24)) - c, ref low, ref high);
            if (InRange(low, high)) return (y0, y1, y2, y3);
            return (Apply(Vector256.LoadUnsafe(ref xs, (nuint)i) - c), Apply(Vector256.LoadUnsafe(ref xs, (nuint)(i + 8)) - c),
                    Apply(Vector256.LoadUnsafe(ref xs, (nuint)(i + 16)) - c), Apply(Vector256.LoadUnsafe(ref xs, (nuint)(i + 24)) - c));
        }

        /// <summary>exp of one vector, each lane out of the polynomial's range computed on its own.</summary>
        public static Vector256<float> Apply(Vector256<float> x)
        {
            var low = Vector256.Create(int.MaxValue);
            var high = Vector256.Create(int.MinValue);
            var y = Polynomial(x, ref low, ref high);
            if (InRange(low, high)) return y;
            var kBits = (Fma.MultiplyAdd(x, Vector256.Create(1.44269504088896341f), Vector256.Create(RoundingShift))).AsInt32();
            var inRange = Vector256.GreaterThanOrEqual(kBits, Vector256.Create(RoundingShiftBits + LowestK))
                          & Vector256.LessThanOrEqual(kBits, Vector256.Create(RoundingShiftBits + HighestK));
            var zero = Vector256.LessThan(x, Vector256.Create(-104f));
            y = Vector256.ConditionalSelect(zero, Vector256<float>.Zero, y);
            return PerLane(x, y, inRange.AsSingle() | zero, MathF.Exp);
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
