namespace AutoKl;

/// <summary>
/// Divergences between probability vectors in their textbook form: the probabilities lie along
/// <c>axis</c>, the result has one value per distribution (that axis removed), and there is no
/// reduction over the batch. KL(P||Q) = sum p log(p/q), with P the target (reference) and Q the
/// prediction; <see cref="ReverseKL(Tensor, Tensor, int)"/> swaps them.
/// <para>Zero support: a term with p = 0 contributes 0 (xlogy). Where q = 0 but p &gt; 0 the KL is
/// +infinity, as in the mathematics (its gradient there is not finite either); use the overloads
/// taking an <c>epsilon</c>, which mix Q with the uniform distribution, to keep it finite.</para>
/// <para>Inputs need not be normalised (a density sampled on a grid works); with value checks on
/// (<see cref="Validation"/>) negative entries are an error.</para>
/// </summary>
public static class Divergences
{
    /// <summary>KL(P||Q) = sum_i p_i log(p_i / q_i) along <paramref name="axis"/>; P is the
    /// reference (target), Q the prediction. +inf where q = 0 &lt; p.</summary>
    /// <param name="p">Probabilities of the reference distribution P.</param>
    /// <param name="q">Probabilities of the prediction Q, same shape.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor KL(Tensor p, Tensor q, int axis = -1)
    {
        Check("kl", p, q);
        return KlCore(p, q, axis);
    }

    /// <summary>sum p log(p/q) along the axis, unchecked: 0 where p = 0, +inf where q = 0 &lt; p.</summary>
    internal static Tensor KlCore(Tensor p, Tensor q, int axis) => Tensor.Sum(Tensor.Xlogy(p, p) - Tensor.Xlogy(p, q), axis);

    /// <summary>
    /// KL(P||Q_eps) with Q smoothed towards the uniform distribution, Q_eps = (1 - eps) q + eps / K
    /// (K categories along <paramref name="axis"/>): finite even where q = 0, and at most
    /// log(K / eps) for normalised inputs.
    /// </summary>
    /// <param name="p">Probabilities of the reference distribution P.</param>
    /// <param name="q">Probabilities of the prediction Q, same shape.</param>
    /// <param name="epsilon">Smoothing weight in (0, 1].</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor KL(Tensor p, Tensor q, double epsilon, int axis = -1) => KL(p, Smooth("kl", q, epsilon, axis), axis);

    /// <summary>The reverse direction KL(Q||P) = sum_i q_i log(q_i / p_i) (mode-seeking when
    /// fitting Q); arguments in the same order as <see cref="KL(Tensor, Tensor, int)"/>.</summary>
    /// <param name="p">Probabilities of the reference distribution P.</param>
    /// <param name="q">Probabilities of the prediction Q, same shape.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor ReverseKL(Tensor p, Tensor q, int axis = -1) => KL(q, p, axis);

    /// <summary>KL(Q||P_eps) with P smoothed towards uniform as in <see cref="KL(Tensor, Tensor, double, int)"/>.</summary>
    /// <param name="p">Probabilities of the reference distribution P.</param>
    /// <param name="q">Probabilities of the prediction Q, same shape.</param>
    /// <param name="epsilon">Smoothing weight in (0, 1].</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor ReverseKL(Tensor p, Tensor q, double epsilon, int axis = -1) => KL(q, Smooth("reverse_kl", p, epsilon, axis), axis);

    /// <summary>KL(P||Q) from log-probabilities: sum exp(logP) (logP - logQ).</summary>
    /// <param name="logP">Log-probabilities of the reference P.</param>
    /// <param name="logQ">Log-probabilities of the prediction Q.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor KLFromLogProbs(Tensor logP, Tensor logQ, int axis = -1)
    {
        ArgumentChecks.SameShape("kl_from_log_probs", "logP", logP, "logQ", logQ);
        return Tensor.Sum(Tensor.Exp(logP) * (logP - logQ), axis);
    }

    /// <summary>KL(P||Q) between softmax(pLogits) and softmax(qLogits) along <paramref name="axis"/>,
    /// through log_softmax (exact for very unequal logits).</summary>
    /// <param name="pLogits">Unnormalised scores of the reference P.</param>
    /// <param name="qLogits">Unnormalised scores of the prediction Q.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor KLFromLogits(Tensor pLogits, Tensor qLogits, int axis = -1)
    {
        ArgumentChecks.SameShape("kl_from_logits", "pLogits", pLogits, "qLogits", qLogits);
        return KLFromLogProbs(Tensor.LogSoftmax(pLogits, axis), Tensor.LogSoftmax(qLogits, axis), axis);
    }

    /// <summary>
    /// Jensen-Shannon divergence 0.5 KL(P||M) + 0.5 KL(Q||M) with M = (P + Q)/2: symmetric, always
    /// finite, and at most log 2 for normalised inputs.
    /// </summary>
    /// <param name="p">Probabilities of P.</param>
    /// <param name="q">Probabilities of Q, same shape.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor JensenShannon(Tensor p, Tensor q, int axis = -1)
    {
        Check("jensen_shannon", p, q);
        var m = (p + q) * 0.5;
        return (KlCore(p, m, axis) + KlCore(q, m, axis)) * 0.5;
    }

    /// <summary>
    /// Renyi divergence of order alpha: log(sum p^alpha q^(1-alpha)) / (alpha - 1). Alpha = 1 is
    /// KL(P||Q) (the limit), alpha = 0.5 gives -2 log of the Bhattacharyya coefficient.
    /// </summary>
    /// <param name="p">Probabilities of the reference P.</param>
    /// <param name="q">Probabilities of the prediction Q, same shape.</param>
    /// <param name="alpha">Order, positive.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor Renyi(Tensor p, Tensor q, double alpha, int axis = -1)
    {
        const string op = "renyi";
        if (!(alpha > 0) || double.IsPositiveInfinity(alpha))
            throw new AutoKlException(op, $"alpha must be positive and finite, got {alpha}");
        Check(op, p, q);
        if (alpha == 1) return KlCore(p, q, axis);
        var terms = Tensor.Pow(p, alpha) * Tensor.Pow(q, 1 - alpha);
        return Tensor.Log(Tensor.Sum(terms, axis)) / (alpha - 1);
    }

    /// <summary>
    /// The f-divergence sum_i q_i f(p_i / q_i) for a convex generator f with f(1) = 0, applied
    /// elementwise to the ratio tensor: f(t) = t log t gives KL(P||Q), f(t) = -log t gives KL(Q||P),
    /// f(t) = |t - 1| / 2 total variation, f(t) = (sqrt t - 1)^2 twice the squared Hellinger
    /// distance. q must be positive wherever p is.
    /// </summary>
    /// <param name="p">Probabilities of the reference P.</param>
    /// <param name="q">Probabilities of the prediction Q, same shape.</param>
    /// <param name="f">The generator, a differentiable function of the ratio tensor.</param>
    /// <param name="axis">The axis holding the categories.</param>
    public static Tensor FDivergence(Tensor p, Tensor q, Func<Tensor, Tensor> f, int axis = -1)
    {
        Check("f_divergence", p, q);
        return Tensor.Sum(q * f(p / q), axis);
    }

    /// <summary>
    /// Wasserstein-1 (earth mover's) distance between two distributions given as non-negative
    /// masses on the same sorted 1-D <paramref name="grid"/> (or densities sampled on a uniform
    /// grid): sum_i |F_p(x_i) - F_q(x_i)| (x_(i+1) - x_i), with F the cumulative sums after
    /// normalising each to total 1. p and q have shape [..., n], grid shape [n].
    /// </summary>
    /// <param name="p">Masses of P on the grid, shape [..., n].</param>
    /// <param name="q">Masses of Q on the grid, same shape.</param>
    /// <param name="grid">The grid points, strictly increasing, shape [n].</param>
    public static Tensor Wasserstein1(Tensor p, Tensor q, Tensor grid)
    {
        const string op = "wasserstein1";
        Check(op, p, q);
        if (grid.Rank != 1 || p.Rank == 0 || grid.ShapeRef[0] != p.ShapeRef[^1])
            throw new AutoKlException(op, $"grid must be 1-D with as many points as the last axis of p ({Shapes.Format(p.ShapeRef)}); got grid shape {Shapes.Format(grid.ShapeRef)}");
        int n = grid.ShapeRef[0];
        var xs = grid.ToDoubleArray();
        for (int i = 1; i < n; i++)
            if (!(xs[i] > xs[i - 1]))
                throw new AutoKlException(op, $"grid must be strictly increasing; grid[{i}] = {xs[i]} follows grid[{i - 1}] = {xs[i - 1]}");
        if (n < 2) return Tensor.Sum(p * 0.0, -1);
        var pn = p / Tensor.Sum(p, -1, keepDim: true);
        var qn = q / Tensor.Sum(q, -1, keepDim: true);
        // F_p - F_q at the first n - 1 points; the last is 0 after normalising.
        var cdfGap = Tensor.Narrow(Tensor.CumSum(pn - qn, -1), -1, 0, n - 1);
        var widths = Tensor.Narrow(grid, 0, 1, n - 1) - Tensor.Narrow(grid, 0, 0, n - 1);
        return Tensor.Sum(Tensor.Abs(cdfGap) * widths.ToType(pn.DType), -1);
    }

    /// <summary>
    /// Wasserstein-1 distance between the empirical distributions of two 1-D sample sets (sizes
    /// may differ): the integral over u in (0, 1) of |F_a^-1(u) - F_b^-1(u)|. For equal sizes this
    /// is the mean of |sort(a) - sort(b)|. Differentiable in every sample.
    /// </summary>
    /// <param name="a">Samples of the first distribution, shape [n].</param>
    /// <param name="b">Samples of the second distribution, shape [m].</param>
    public static Tensor Wasserstein1Samples(Tensor a, Tensor b)
    {
        const string op = "wasserstein1_samples";
        ArgumentChecks.Float(op, "a", a);
        ArgumentChecks.Float(op, "b", b);
        if (a.Rank != 1 || b.Rank != 1 || a.Numel == 0 || b.Numel == 0)
            throw new AutoKlException(op, $"a and b must be non-empty 1-D sample sets; got shapes {Shapes.Format(a.ShapeRef)} and {Shapes.Format(b.ShapeRef)}");
        int n = a.Numel, m = b.Numel;
        // The quantile functions are step functions with steps at i/n and j/m; on each piece between
        // consecutive breakpoints both are constant, so the integral is a weighted sum of gaps.
        var breaks = new SortedSet<(long num, long den)>(Comparer<(long num, long den)>.Create((x, y) => (x.num * y.den).CompareTo(y.num * x.den)));
        for (int i = 1; i <= n; i++) breaks.Add((i, n));
        for (int j = 1; j <= m; j++) breaks.Add((j, m));
        var ia = new List<long>(); var ib = new List<long>(); var w = new List<double>();
        double previous = 0;
        foreach (var (num, den) in breaks)
        {
            double u = (double)num / den;
            double mid = 0.5 * (previous + u);
            ia.Add(Math.Min(n - 1, (long)Math.Floor(mid * n)));
            ib.Add(Math.Min(m - 1, (long)Math.Floor(mid * m)));
            w.Add(u - previous);
            previous = u;
        }
        var sa = Tensor.Gather(a, 0, Tensor.FromArray(Argsort(a))).Gather(0, Tensor.FromArray(ia.ToArray()));
        var sb = Tensor.Gather(b, 0, Tensor.FromArray(Argsort(b))).Gather(0, Tensor.FromArray(ib.ToArray()));
        (sa, sb) = (sa.ToType(Promoted(sa, sb)), sb.ToType(Promoted(sa, sb)));
        return Tensor.Sum(Tensor.Abs(sa - sb) * Tensor.FromArray(w.ToArray(), [w.Count], sa.DType));
    }

    private static DType Promoted(Tensor a, Tensor b) => a.DType == b.DType ? a.DType : DType.Float64;

    private static long[] Argsort(Tensor x)
    {
        var values = x.ToDoubleArray();
        var order = Enumerable.Range(0, values.Length).Select(i => (long)i).ToArray();
        Array.Sort(values, order);
        return order;
    }

    private static Tensor Smooth(string op, Tensor q, double epsilon, int axis)
    {
        if (!(epsilon > 0 && epsilon <= 1))
            throw new AutoKlException(op, $"epsilon must be in (0, 1], got {epsilon}");
        int k = q.Rank == 0 ? 1 : q.ShapeRef[Shapes.NormalizeAxis(op, axis, q.Rank)];
        return q * (1 - epsilon) + epsilon / k;
    }

    private static void Check(string op, Tensor p, Tensor q)
    {
        ArgumentChecks.Float(op, "p", p);
        ArgumentChecks.Float(op, "q", q);
        ArgumentChecks.SameShape(op, "p", p, "q", q);
        if (Validation.Enabled)
        {
            ArgumentChecks.NonNegative(op, "p", p);
            ArgumentChecks.NonNegative(op, "q", q);
        }
    }
}
