#!/usr/bin/python3
"""Times in PyTorch the same workloads as AutoKl.Benchmarks --timing, printing the same lines.

Run:  /usr/bin/python3 bench/pytorch_bench.py [rounds] [threads] [--large]
(Debian's python3-torch 1.13). Prints "name fastest median" lines, seconds per call (the fastest
of `rounds` batches over two sweeps, and the median batch of the second sweep); bench/compare.sh
reads them and gives AutoKl the same thread count. Threads default to 1. --large adds the
[1024, 32768] batch (about 1 GB).

Workloads (each identical to bench/AutoKl.Benchmarks/Workloads.cs):
  gaussian_step_{float32,float64}  one step of the reference fit: zero_grad, loss, backward, Adam step
  logsoftmax_kl_256x4096_float32   forward + backward of kl_div(log_softmax(logits), target, 'batchmean')
  logsoftmax_kl_logtarget_...      the same with log_target=True (target given as log-probabilities)
  cross_entropy_{index,soft}_...   forward + backward of cross_entropy(logits, target) ('mean'), class
                                   indices or class probabilities
  logsoftmax_kl_1024x32768_float32 the first at a large size (--large)
  gaussian_fit_10000_float32       the whole 10000-step reference fit
  hessian_lse_quad_100_float64     functorch.hessian of logsumexp(A @ x) + 0.5 * x @ Q @ x, 100 elements;
                                   "+autograd_functional": torch.autograd.functional.hessian(vectorize=True)
  jacfwd_tanh_64_float64, jacrev_  functorch.jacfwd / jacrev of tanh(W @ x + b) * x, 64 -> 64
  forward_logsoftmax_kl_...        the [256, 4096] kl_div(log_softmax(logits), target, 'batchmean') alone (no graph)
  jvp_logsoftmax_kl_...            functorch.jvp of it along a random tangent; "+forward_ad": torch.autograd.forward_ad

A name "base+variant" is a PyTorch-only way to compute the workload "base": compare.sh sets it against
AutoKl's "base" in a row of its own.

AUTOKL_BENCH_ONLY (environment): comma-separated patterns; a workload runs when its name contains
one of them, or starts with one written ^prefix.
"""
import os
import sys
import time
import warnings

import torch
import torch.nn.functional as F
from torch import distributions as D

# kl_div(reduction='mean') warns that it is not the textbook KL; the reference experiment uses it on purpose.
warnings.filterwarnings("ignore", message="reduction: 'mean'")


def gaussian_fit(dtype):
    """The reference experiment; returns (step, params)."""
    x = torch.linspace(-15, 15, 1000, dtype=dtype)
    t = lambda v: torch.tensor(v, dtype=dtype)
    p = D.Normal(t(-5.0), t(1.0)).log_prob(x).exp() + D.Normal(t(10.0), t(1.0)).log_prob(x).exp()
    mu = torch.tensor(0.0, dtype=dtype, requires_grad=True)
    sigma = torch.tensor(1.0, dtype=dtype, requires_grad=True)
    opt = torch.optim.Adam([mu, sigma], lr=1e-3)

    def step():
        opt.zero_grad()
        loss = F.kl_div(D.Normal(mu, sigma).log_prob(x), p, reduction="mean")
        loss.backward()
        opt.step()
        return loss.item()

    return step, (mu, sigma)


def logsoftmax_kl(batch=256, classes=4096, dtype=torch.float32, log_target=False):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, classes, generator=g, dtype=dtype, requires_grad=True)
    scores = torch.randn(batch, classes, generator=g, dtype=dtype)
    target = torch.log_softmax(scores, 1) if log_target else torch.softmax(scores, 1)

    def step():
        logits.grad = None
        loss = F.kl_div(F.log_softmax(logits, 1), target, reduction="batchmean", log_target=log_target)
        loss.backward()
        return loss.item()

    return step


def cross_entropy(batch=256, classes=4096, soft=False, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, classes, generator=g, dtype=dtype, requires_grad=True)
    if soft:
        target = torch.softmax(torch.randn(batch, classes, generator=g, dtype=dtype), 1)
    else:
        target = torch.randint(0, classes, (batch,), generator=g)

    def step():
        logits.grad = None
        loss = F.cross_entropy(logits, target)
        loss.backward()
        return loss.item()

    return step


def lse_quad_hessian():
    """The Hessian workloads: f(x) = logsumexp(A @ x) + 0.5 * x @ Q @ x, float64, A [50, 100],
    Q [100, 100] symmetric, from the closed-form entries Transforms.cs uses. Returns (functorch,
    autograd.functional) calls."""
    import functorch
    dt = torch.float64
    i, j = torch.arange(100, dtype=dt)[:, None], torch.arange(100, dtype=dt)[None, :]
    a = 0.1 * torch.sin(0.37 * (i[:50] * 100 + j) + 0.5)
    q = 0.01 * torch.cos(0.3 * (i + j)) + torch.eye(100, dtype=dt)
    x = 0.5 * torch.sin(0.7 * torch.arange(100, dtype=dt) + 0.1)

    def f(x):
        return torch.logsumexp(a @ x, 0) + 0.5 * (x @ q @ x)

    h = functorch.hessian(f)
    return (lambda: h(x)), (lambda: torch.autograd.functional.hessian(f, x, vectorize=True))


def tanh_gate_jacobian():
    """The Jacobian workloads: g(x) = tanh(W @ x + b) * x, 64 -> 64, float64. Returns (jacfwd, jacrev) calls."""
    import functorch
    dt = torch.float64
    k = torch.arange(64, dtype=dt)
    w = 0.2 * torch.sin(0.13 * (k[:, None] * 64 + k[None, :]) + 0.3)
    b = 0.1 * torch.cos(0.5 * k)
    x = torch.sin(0.9 * k)

    def g(x):
        return torch.tanh(w @ x + b) * x

    fwd, rev = functorch.jacfwd(g), functorch.jacrev(g)
    return (lambda: fwd(x)), (lambda: rev(x))


def logsoftmax_kl_jvp(batch=256, classes=4096, dtype=torch.float32):
    """kl_div(log_softmax(logits), target, 'batchmean') alone, and its jvp along a random tangent
    (functorch.jvp, torch.autograd.forward_ad). Returns (forward, functorch, forward_ad) calls."""
    import functorch
    import torch.autograd.forward_ad as fwad
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(batch, classes, generator=g, dtype=dtype)
    target = torch.softmax(torch.randn(batch, classes, generator=g, dtype=dtype), 1)
    tangent = torch.randn(batch, classes, generator=g, dtype=dtype)

    def loss(l):
        return F.kl_div(F.log_softmax(l, 1), target, reduction="batchmean")

    def forward_ad():
        with fwad.dual_level():
            return fwad.unpack_dual(loss(fwad.make_dual(logits, tangent))).tangent.item()

    return (lambda: loss(logits).item()), (lambda: functorch.jvp(loss, (logits,), (tangent,))[1].item()), forward_ad


def measure(rounds, per_round, op):
    """Warms up, then times `rounds` batches of `per_round` calls; returns the fastest and the
    median batch's seconds per call (on a shared machine, other work only ever adds time)."""
    warm, i = time.perf_counter(), 0
    while i < max(1, per_round // 2) or time.perf_counter() - warm < 0.5:
        op()
        i += 1
    per_call = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(per_round):
            op()
        per_call.append((time.perf_counter() - start) / per_round)
    per_call.sort()
    return per_call[0], per_call[rounds // 2]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    large = "--large" in sys.argv
    rounds = int(args[0]) if len(args) > 0 else 5
    threads = int(args[1]) if len(args) > 1 else 1
    torch.set_num_threads(threads)
    best, order, final = {}, [], {}

    only = [p for p in os.environ.get("AUTOKL_BENCH_ONLY", "").split(",") if p]

    def selected(name):
        # AUTOKL_BENCH_ONLY: time only the matching workloads (short alternating runs)
        return not only or any(name.startswith(p[1:]) if p[0] == "^" else p in name for p in only)

    def report(name, per_round, op):
        if not selected(name):
            return
        fastest, median = measure(rounds, per_round, op)
        if name not in best:
            order.append(name)
            best[name] = (fastest, median)
        else:
            best[name] = (min(fastest, best[name][0]), median)

    final["mu"] = final["sigma"] = float("nan")

    def full_fit():
        step, (mu, sigma) = gaussian_fit(torch.float32)
        for _ in range(10000):
            step()
        final["mu"], final["sigma"] = mu.item(), sigma.item()

    # Two sweeps, keeping each workload's fastest and the second sweep's median, as the .NET side does.
    checked = False
    for _ in range(2):
        for dtype, name in [(torch.float32, "float32"), (torch.float64, "float64")]:
            step, _ = gaussian_fit(dtype)
            report("gaussian_step_" + name, 1000, step)
        report("logsoftmax_kl_256x4096_float32", 10, logsoftmax_kl())
        report("logsoftmax_kl_logtarget_256x4096_float32", 10, logsoftmax_kl(log_target=True))
        report("cross_entropy_index_256x4096_float32", 10, cross_entropy(soft=False))
        report("cross_entropy_soft_256x4096_float32", 10, cross_entropy(soft=True))
        report("gaussian_fit_10000_float32", 1, full_fit)
        if large:
            report("logsoftmax_kl_1024x32768_float32", 1, logsoftmax_kl(1024, 32768))
        # the transforms (AutoKl's Hessian, Jacobian and Jvp on the other side)
        hessian, hessian_af = lse_quad_hessian()
        report("hessian_lse_quad_100_float64", 10, hessian)
        report("hessian_lse_quad_100_float64+autograd_functional", 10, hessian_af)
        jacfwd, jacrev = tanh_gate_jacobian()
        report("jacfwd_tanh_64_float64", 10, jacfwd)
        report("jacrev_tanh_64_float64", 10, jacrev)
        forward, jvp, jvp_forward_ad = logsoftmax_kl_jvp()
        report("forward_logsoftmax_kl_256x4096_float32", 10, forward)
        report("jvp_logsoftmax_kl_256x4096_float32", 10, jvp)
        report("jvp_logsoftmax_kl_256x4096_float32+forward_ad", 10, jvp_forward_ad)
        if not checked and selected("hessian_lse_quad_100_float64"):
            # both sides print these sums: the results must agree (to rounding)
            print("# hessian sum %r" % hessian().sum().item(), file=sys.stderr)
        if not checked and (selected("jacfwd_tanh_64_float64") or selected("jacrev_tanh_64_float64")):
            print("# jacobian sum fwd %r rev %r" % (jacfwd().sum().item(), jacrev().sum().item()), file=sys.stderr)
        checked = True
    for name in order:
        print("%s %.6E %.6E" % (name, best[name][0], best[name][1]), flush=True)
    print("# final mu %.4f sigma %.4f (float32, 10000 steps)" % (final["mu"], final["sigma"]), file=sys.stderr)


if __name__ == "__main__":
    main()
