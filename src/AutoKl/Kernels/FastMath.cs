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
            float sum = ExpOfDifferenceAndSum(MemoryMarshal.Cast<T, float>(x), Unsafe.As<T, float>(ref shift), MemoryMarshal.Cast<T, float>(y));
            return Unsafe.As<float, T>(ref sum);
        }
        ExpOfDifference(x, shift, y);
        return TensorPrimitives.Sum<T>(y[..x.Length]);
    }

    /// <summary>
    /// sum(exp(t) * (t - q)), and sum(exp(t)), with exp(t) written into <paramref name="expT"/>
    /// (not t itself) in the same pass: kl_div's pointwise sum against log-probability targets.
    /// </summary>
    public static (T Sum, T ExpSum) ExpTimesDifferenceSum<T>(ReadOnlySpan<T> t, ReadOnlySpan<T> q, Span<T> expT) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vectorized)
        {
            var sink = new ExpTimesDifference(MemoryMarshal.Cast<T, float>(q), MemoryMarshal.Cast<T, float>(t), MemoryMarshal.Cast<T, float>(expT));
            Run(MemoryMarshal.Cast<T, float>(t), 0f, ref sink);
            float sum = sink.Sum, expSum = sink.ExpSum;
            return (Unsafe.As<float, T>(ref sum), Unsafe.As<float, T>(ref expSum));
        }
        Exp(t, expT);
        var e = (ReadOnlySpan<T>)expT[..t.Length];
        T total = T.Zero;
        int i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var acc = Vector<T>.Zero;
            for (; i <= t.Length - Vector<T>.Count; i += Vector<T>.Count)
                acc += new Vector<T>(e[i..]) * (new Vector<T>(t[i..]) - new Vector<T>(q[i..]));
            total = Vector.Sum(acc);
        }
        for (; i < t.Length; i++) total += e[i] * (t[i] - q[i]);
        return (total, TensorPrimitives.Sum(e));
    }

    /// <summary>
    /// dx = (exp(q) * factor - w) * scale, each product rounded (no fused multiply-add), in one
    /// pass; dx may be w. The gradient of kl_div through log_softmax, q the log_softmax output.
    /// </summary>
    public static void ExpTimesMinus<T>(ReadOnlySpan<T> q, T factor, ReadOnlySpan<T> w, T scale, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vectorized)
        {
            var sink = new TimesMinus(Unsafe.As<T, float>(ref factor), MemoryMarshal.Cast<T, float>(w), Unsafe.As<T, float>(ref scale), MemoryMarshal.Cast<T, float>(dx));
            Run(MemoryMarshal.Cast<T, float>(q), 0f, ref sink);
            return;
        }
        // a piece at a time through a stack buffer; dx may be w: each w is read before its place is written
        Span<T> p = stackalloc T[256];
        for (int start = 0; start < q.Length; start += p.Length)
        {
            int m = Math.Min(p.Length, q.Length - start);
            TensorPrimitives.Exp(q.Slice(start, m), p[..m]);
            TensorPrimitives.Multiply(p[..m], factor, p[..m]);
            TensorPrimitives.Subtract(p[..m], w.Slice(start, m), p[..m]);
            TensorPrimitives.Multiply(p[..m], scale, dx.Slice(start, m));
        }
    }

    private static float SumOfExpOfDifference(ReadOnlySpan<float> x, float shift)
    {
        var sink = new Summed();
        Run(x, shift, ref sink);
        return sink.Sum;
    }

    /// <summary>y = exp(x - shift) in one pass (x - 0 is x, so <see cref="Exp{T}"/> runs through here too).</summary>
    private static void ExpOfDifference(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        var sink = new Stored(y, x.Length);
        Run(x, shift, ref sink);
    }

    private static float ExpOfDifferenceAndSum(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        var sink = new StoredAndSummed(y, x.Length);
        Run(x, shift, ref sink);
        return sink.Sum;
    }

    /// <summary>
    /// The one float32 exp loop: exp(x - shift) for every element, handed to <paramref name="sink"/>
    /// a vector at a time with the index of its first element (a block of four vectors at once,
    /// then single vectors, then the tail padded to a vector), so each use of the exps is done
    /// while they are in registers. A sink may write over x: each block is loaded before it is handed over.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Run<TSink>(ReadOnlySpan<float> x, float shift, ref TSink sink) where TSink : struct, IExpSink, allows ref struct
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        var c = Vector256.Create(shift);
        int n = x.Length, i = 0;
        for (; i <= n - Block; i += Block)
        {
            var (y0, y1, y2, y3) = ExpOp.Block(ref xs, i, c);
            sink.TakeBlock(i, y0, y1, y2, y3);
        }
        for (; i <= n - 8; i += 8)
            sink.Take(i, ExpOp.Apply(Vector256.LoadUnsafe(ref xs, (nuint)i) - c), 8);
        if (i < n) sink.Take(i, ExpOp.Apply(PaddedTail(x[i..], shift) - c), n - i);
    }

    /// <summary>What a use of the exps does with them (see <see cref="Run{TSink}"/>).</summary>
    private interface IExpSink
    {
        /// <summary>The exps of the 32 elements from <paramref name="i"/>.</summary>
        void TakeBlock(int i, Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3);

        /// <summary>The exps of the <paramref name="count"/> (1 to 8) elements from <paramref name="i"/>; lanes past count are padding.</summary>
        void Take(int i, Vector256<float> y, int count);
    }

    /// <summary>Lanes below <paramref name="count"/>, as a mask.</summary>
    private static Vector256<float> Used(int count) =>
        Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(count)).AsSingle();

    /// <summary>The 8 elements from i, or the count left padded with zeros.</summary>
    private static Vector256<float> Load(ReadOnlySpan<float> s, int i, int count) =>
        count == 8 ? Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i) : PaddedTail(s.Slice(i, count), 0f);

    private static void Store(Vector256<float> v, Span<float> s, int i, int count)
    {
        if (count == 8) { v.StoreUnsafe(ref MemoryMarshal.GetReference(s), (nuint)i); return; }
        Span<float> lanes = stackalloc float[8];
        v.CopyTo(lanes);
        lanes[..count].CopyTo(s[i..]);
    }

    private ref struct Stored : IExpSink
    {
        private readonly Span<float> _y;

        public Stored(Span<float> y, int n)
        {
            if (y.Length < n) throw new InvalidOperationException("internal error: destination shorter than source");
            _y = y;
        }

        public void TakeBlock(int i, Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3)
        {
            ref float ys = ref MemoryMarshal.GetReference(_y);
            y0.StoreUnsafe(ref ys, (nuint)i);
            y1.StoreUnsafe(ref ys, (nuint)(i + 8));
            y2.StoreUnsafe(ref ys, (nuint)(i + 16));
            y3.StoreUnsafe(ref ys, (nuint)(i + 24));
        }

        public void Take(int i, Vector256<float> y, int count) => Store(y, _y, i, count);
    }

    /// <summary>The sum in two accumulators (one chain of dependent adds would wait on the adder).</summary>
    private struct Summed : IExpSink
    {
        private Vector256<float> _acc0, _acc1;

        public readonly float Sum => Vector256.Sum(_acc0 + _acc1);

        public void TakeBlock(int i, Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3)
        {
            _acc0 += y0 + y1;
            _acc1 += y2 + y3;
        }

        // the padding lanes hold exp(0) = 1: leave them out
        public void Take(int i, Vector256<float> y, int count) => _acc0 += count == 8 ? y : y & Used(count);
    }

    private ref struct StoredAndSummed(Span<float> y, int n) : IExpSink
    {
        private Stored _stored = new(y, n);
        private Summed _summed;

        public readonly float Sum => _summed.Sum;

        public void TakeBlock(int i, Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3)
        {
            _stored.TakeBlock(i, y0, y1, y2, y3);
            _summed.TakeBlock(i, y0, y1, y2, y3);
        }

        public void Take(int i, Vector256<float> y, int count)
        {
            _stored.Take(i, y, count);
            _summed.Take(i, y, count);
        }
    }

    /// <summary>exp(t) stored and summed, and sum(exp(t) * (t - q)).</summary>
    private ref struct ExpTimesDifference(ReadOnlySpan<float> q, ReadOnlySpan<float> t, Span<float> expT) : IExpSink
    {
        private StoredAndSummed _exps = new(expT, t.Length);
        private readonly ReadOnlySpan<float> _q = q, _t = t;
        private Vector256<float> _acc0, _acc1;

        public readonly float Sum => Vector256.Sum(_acc0 + _acc1);
        public readonly float ExpSum => _exps.Sum;

        public void TakeBlock(int i, Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3)
        {
            ref float ts = ref MemoryMarshal.GetReference(_t);
            ref float qs = ref MemoryMarshal.GetReference(_q);
            var d0 = Vector256.LoadUnsafe(ref ts, (nuint)i) - Vector256.LoadUnsafe(ref qs, (nuint)i);
            var d1 = Vector256.LoadUnsafe(ref ts, (nuint)(i + 8)) - Vector256.LoadUnsafe(ref qs, (nuint)(i + 8));
            var d2 = Vector256.LoadUnsafe(ref ts, (nuint)(i + 16)) - Vector256.LoadUnsafe(ref qs, (nuint)(i + 16));
            var d3 = Vector256.LoadUnsafe(ref ts, (nuint)(i + 24)) - Vector256.LoadUnsafe(ref qs, (nuint)(i + 24));
            _exps.TakeBlock(i, y0, y1, y2, y3);
            _acc0 += y0 * d0 + y1 * d1;
            _acc1 += y2 * d2 + y3 * d3;
        }

        public void Take(int i, Vector256<float> y, int count)
        {
            // padding lanes: t - q is 0 there, and so is their product
            var d = Load(_t, i, count) - Load(_q, i, count);
            _exps.Take(i, y, count);
            _acc0 += y * d;
        }
    }

    /// <summary>dx = (exp(q) * factor - w) * scale; dx may be w (each w is loaded before its place is stored).</summary>
    private ref struct TimesMinus(float factor, ReadOnlySpan<float> w, float scale, Span<float> dx) : IExpSink
    {
        private readonly Vector256<float> _factor = Vector256.Create(factor), _scale = Vector256.Create(scale);
        private readonly ReadOnlySpan<float> _w = w;
        private readonly Span<float> _dx = dx;

        public void TakeBlock(int i, Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3)
        {
            ref float ws = ref MemoryMarshal.GetReference(_w);
            ref float ds = ref MemoryMarshal.GetReference(_dx);
            ((y0 * _factor - Vector256.LoadUnsafe(ref ws, (nuint)i)) * _scale).StoreUnsafe(ref ds, (nuint)i);
            ((y1 * _factor - Vector256.LoadUnsafe(ref ws, (nuint)(i + 8))) * _scale).StoreUnsafe(ref ds, (nuint)(i + 8));
            ((y2 * _factor - Vector256.LoadUnsafe(ref ws, (nuint)(i + 16))) * _scale).StoreUnsafe(ref ds, (nuint)(i + 16));
            ((y3 * _factor - Vector256.LoadUnsafe(ref ws, (nuint)(i + 24))) * _scale).StoreUnsafe(ref ds, (nuint)(i + 24));
        }

        public void Take(int i, Vector256<float> y, int count) => Store((y * _factor - Load(_w, i, count)) * _scale, _dx, i, count);
    }

    /// <summary>Elements per block: four vectors, whose range is tested once.</summary>
    private const int Block = 32;

    /// <summary>
    /// The last, shorter-than-a-vector piece of a span as a full vector, padded with
    /// <paramref name="pad"/>: for the exp loop's own tail the shift, so the padding lanes compute
    /// exp(0), inside every range, and the tail runs through the same vector code as the rest (its
    /// bits are the same too); for the sinks' other operands 0.
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
