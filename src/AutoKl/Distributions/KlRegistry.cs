using System.Collections.Concurrent;

namespace AutoKl.Distributions;

/// <summary>
/// Closed-form KL(P||Q) between distributions, looked up by the pair of types (PyTorch's
/// <c>torch.distributions.kl_divergence</c>). Built in: Normal-Normal, Categorical-Categorical,
/// Bernoulli-Bernoulli, Uniform-Uniform, Uniform-Normal, and Normal-Uniform (+inf: the normal's
/// support is unbounded). Every rule is made of differentiable ops, so the KL has gradients in
/// every parameter. Add rules with <see cref="Register{P, Q}"/>; a pair with no rule raises an
/// <see cref="AutoKlException"/> pointing to <see cref="MonteCarloKL"/>.
/// </summary>
public static class KL
{
    private static readonly ConcurrentDictionary<(Type, Type), Func<Distribution, Distribution, Tensor>> Rules = new();

    static KL()
    {
        Register<Normal, Normal>(NormalNormal);
        Register<Categorical, Categorical>(CategoricalCategorical);
        Register<Bernoulli, Bernoulli>(BernoulliBernoulli);
        Register<Uniform, Uniform>(UniformUniform);
        Register<Uniform, Normal>(UniformNormal);
        Register<Normal, Uniform>((p, q) =>
        {
            var (loc, _, shape) = Distribution.Broadcast("kl_divergence", p.Mean, q.Mean);
            return Tensor.Full(shape, double.PositiveInfinity, loc.DType);
        });
    }

    /// <summary>
    /// Registers (or replaces) the closed form of KL(P||Q) for distributions of exactly types
    /// <typeparamref name="P"/> and <typeparamref name="Q"/> (or types derived from them, when no
    /// more specific rule exists).
    /// </summary>
    /// <param name="rule">KL(p||q), one value per distribution of the broadcast batch.</param>
    public static void Register<P, Q>(Func<P, Q, Tensor> rule) where P : Distribution where Q : Distribution
        => Rules[(typeof(P), typeof(Q))] = (p, q) => rule((P)p, (Q)q);

    /// <summary>True when a closed form is registered for this pair.</summary>
    public static bool HasClosedForm(Distribution p, Distribution q) => Find(p.GetType(), q.GetType()) is not null;

    /// <summary>KL(P||Q) = E_P[log p(X) - log q(X)] in closed form, per distribution of the batch.</summary>
    /// <param name="p">The reference distribution P (the expectation is under P).</param>
    /// <param name="q">The approximating distribution Q.</param>
    public static Tensor Divergence(Distribution p, Distribution q)
    {
        var rule = Find(p.GetType(), q.GetType())
            ?? throw new AutoKlException("kl_divergence",
                $"no closed form is registered for KL({p.GetType().Name} || {q.GetType().Name}); estimate it from samples with MonteCarloKL.K3, or add one with KL.Register<{p.GetType().Name}, {q.GetType().Name}>(...)");
        return rule(p, q);
    }

    private static Func<Distribution, Distribution, Tensor>? Find(Type p, Type q)
    {
        for (var tp = p; tp is not null && tp != typeof(object); tp = tp.BaseType)
            for (var tq = q; tq is not null && tq != typeof(object); tq = tq.BaseType)
                if (Rules.TryGetValue((tp, tq), out var rule)) return rule;
        return null;
    }

    /// <summary>0.5 (r + t - 1 - log r) with r = (sp/sq)^2 and t = ((mp - mq)/sq)^2 (PyTorch's form).</summary>
    private static Tensor NormalNormal(Normal p, Normal q)
    {
        var ratio = p.Scale / q.Scale;
        var varRatio = ratio * ratio;
        var t = (p.Loc - q.Loc) / q.Scale;
        return (varRatio + t * t - 1.0 - Tensor.Log(varRatio)) * 0.5;
    }

    /// <summary>sum p (log p - log q); 0 where p = 0, +inf where q = 0 &lt; p.</summary>
    private static Tensor CategoricalCategorical(Categorical p, Categorical q)
    {
        if (p.NumCategories != q.NumCategories)
            throw new AutoKlException("kl_divergence", $"the categoricals have {p.NumCategories} and {q.NumCategories} categories");
        return Divergences.KlCore(p.Probs, q.Probs, -1);
    }

    /// <summary>p log(p/q) + (1-p) log((1-p)/(1-q)), with the zero conventions of xlogy.</summary>
    private static Tensor BernoulliBernoulli(Bernoulli p, Bernoulli q)
    {
        var pp = p.Probs;
        var qp = q.Probs;
        var notP = 1.0 - pp;
        return Tensor.Xlogy(pp, pp) - Tensor.Xlogy(pp, qp) + Tensor.Xlogy(notP, notP) - Tensor.Xlogy(notP, 1.0 - qp);
    }

    /// <summary>log((qh - ql) / (ph - pl)) when Q's support contains P's, else +inf.</summary>
    private static Tensor UniformUniform(Uniform p, Uniform q)
    {
        var value = Tensor.Log((q.High - q.Low) / (p.High - p.Low));
        var outside = Tensor.Gt(q.Low.Detach(), p.Low.Detach()) + Tensor.Lt(q.High.Detach(), p.High.Detach());
        return Tensor.Where(Tensor.Gt(outside, 0.0), Tensor.Scalar(double.PositiveInfinity, value.DType), value);
    }

    /// <summary>log(sq sqrt(2 pi) / w) + (w^2/12 + ((ph + pl - 2 mq)/2)^2) / (2 sq^2), w = ph - pl.</summary>
    private static Tensor UniformNormal(Uniform p, Normal q)
    {
        var width = p.High - p.Low;
        var t1 = Tensor.Log(q.Scale * Math.Sqrt(2 * Math.PI) / width);
        var t2 = width * width / 12.0;
        var centre = (p.High + p.Low - q.Loc * 2.0) / 2.0;
        var t4 = (t2 + centre * centre) * 0.5 / (q.Scale * q.Scale);
        return t1 + t4;
    }
}
