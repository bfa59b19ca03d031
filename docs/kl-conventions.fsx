(**
---
title: KL conventions
category: Guides
categoryindex: 1
index: 5
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
#I "../src/AutoKl.Plots/bin/Release/net10.0"
#r "AutoKl.Plots.dll"

/// A picture drawn while the page is evaluated (with the chart code behind `autokl kl --out`),
/// inline as a data URI: the page needs no file beside it, and the downloaded script draws the same.
let picture (alt: string) (caption: string) (bytes: byte[]) =
    sprintf "<figure class=\"autokl-figure\"><img src=\"data:image/png;base64,%s\" alt=\"%s\"/><figcaption>%s</figcaption></figure>"
        (System.Convert.ToBase64String bytes) alt caption
(**
# KL conventions: why "the same" KL gives different numbers

The Kullback-Leibler divergence of a distribution Q from a reference P is

$$$
\mathrm{KL}(P \,\|\, Q) = \sum_i p_i \log \frac{p_i}{q_i}.

Every library computes that sum, but each divides it by something different, takes its
arguments in a different form, and some changed their choice between versions. A number
copied from a paper, a tutorial or another framework is only comparable if the convention is
the same. AutoKl offers each convention as an explicit option, so the value you get is the
value you asked for. This page puts them side by side on one example.
*)
open AutoKl
open AutoKl.Distributions

(**
The example is the one from a well-known write-up on KL divergence: P, and two candidate
approximations Q₁ and Q₂, over four categories. As a batch of one row each, shape `[1, 4]`:
*)
let p = Tensor.ofList2D [ [ 0.2; 0.5; 0.2; 0.1 ] ]
let q1 = Tensor.ofList2D [ [ 0.3; 0.4; 0.1; 0.2 ] ]
let q2 = Tensor.ofList2D [ [ 0.1; 0.1; 0.1; 0.7 ] ]

(*** hide ***)
let values (t: Tensor) = t.ToDoubleArray()

AutoKl.Plots.KlPictures.distributions (values p) [ "Q₁", values q1; "Q₂", values q2 ]
|> AutoKl.Plots.Chart.png AutoKl.Plots.Chart.size
|> picture "Bar chart of P, Q1 and Q2 over four categories" "P against Q₁ and Q₂ (the Gluon tutorial's dist_1, dist_2 and dist_3)."
(*** include-it-raw ***)

(**
## The textbook value

`Divergences.KL(p, q)` (F#: `Divergences.kl p q`) is the sum above along the last axis, one
value per row — **P first, the reference; Q second, the approximation**:
*)
let textbook1 = Divergences.kl p q1
let textbook2 = Divergences.kl p q2
(*** include-value: textbook1 ***)
(*** include-value: textbook2 ***)

(**
Q₁ is the better approximation. KL is not symmetric: the reverse direction KL(Q‖P) is a
different number, and it is its own call so that the direction is never a matter of argument
order:
*)
let reverse1 = Divergences.reverseKl p q1
(*** include-value: reverse1 ***)

(**
## PyTorch: `kl_div(input, target, reduction)`

`torch.nn.functional.kl_div(input, target)` — `Losses.KlDiv(input, target, reduction)` in
AutoKl, `Losses.klDiv reduction target input` in F# — takes the **log-probabilities of Q as
`input`** and the **probabilities of P as `target`**, and computes KL(P‖Q) elementwise as
`target * (log target - input)`. The reduction decides what it is divided by:

- `Reduction.Mean` — **PyTorch's default** — divides the sum by **every element**, categories
  included: the result is the textbook KL divided by the number of categories (here 4). This is
  the most common source of "my KL is too small" (PyTorch issues 2259 and 6622; PyTorch itself
  warns about it and calls `batchmean` the one that "aligns with the KL div math definition").
- `Reduction.BatchMean` divides by the batch size only: **the textbook KL per sample**,
  averaged over the batch. Use this one unless you need parity with code that used `mean`.
- `Reduction.Sum` sums everything (the textbook KL summed over the batch); `Reduction.None`
  returns the elementwise terms.
*)
let logQ1 = log q1
let pytorchMean = Losses.KlDiv(logQ1, p, Reduction.Mean)
let pytorchBatchMean = Losses.KlDiv(logQ1, p, Reduction.BatchMean)
let pytorchSum = Losses.KlDiv(logQ1, p, Reduction.Sum)
let pytorchNone = Losses.KlDiv(logQ1, p, Reduction.None)
(*** include-value: pytorchMean ***)
(*** include-value: pytorchBatchMean ***)
(*** include-value: pytorchSum ***)
(*** include-value: pytorchNone ***)

(**
A target of exactly 0 contributes exactly 0 (the term is computed with `xlogy`), and every
gradient stays finite there — the target's too, unlike PyTorch, whose gradient with respect
to the target is NaN at 0 (PyTorch issue 89558).

Two classic mistakes, and what they give:
*)
let probabilitiesAsInput = Losses.KlDiv(q1, p, Reduction.BatchMean)      // forgot the log
let swapped = Losses.KlDiv(log p, q1, Reduction.BatchMean)               // KL(Q1 || P), the reverse
(*** include-value: probabilitiesAsInput ***)
(*** include-value: swapped ***)

(**
## TorchSharp: `log_target = true` by default, no `batchmean`

TorchSharp's `KLDivLoss` takes the target as **log-probabilities** by default and offers no
`batchmean`. Giving it probabilities, as PyTorch code does, silently computes something else.
In AutoKl the TorchSharp convention is `logTarget = true` (F#: `Losses.klDivLogTarget`), with
`Sum` divided by the batch size standing in for `batchmean`:
*)
let torchSharpStyle = Losses.KlDiv(logQ1, log p, Reduction.Sum, logTarget = true)
let torchSharpWithProbabilities = Losses.KlDiv(logQ1, p, Reduction.Sum, logTarget = true)
(*** include-value: torchSharpStyle ***)
(*** include-value: torchSharpWithProbabilities ***)

(**
## MXNet Gluon: `KLDivLoss`, and a change between versions

Gluon's `KLDivLoss(from_logits=True, axis=-1)` returns **one value per sample**:
`label * (log(label + 1e-12) - pred)` — note the `1e-12` inside the log — reduced over every
axis but the batch axis. Its `from_logits=True` default means `pred` *already holds
log-probabilities*; with `False`, `log_softmax` is applied to `pred` first. How it reduces
over the categories changed between releases:

| MXNet version | reduction over the non-batch axes | result here |
|---|---|---|
| 1.x up to 1.8 | mean | textbook / number of categories |
| 1.9 | sum | textbook |
| 2.x | mean | textbook / number of categories |

`Losses.GluonKlDivLoss(pred, label, averaging = ...)` reproduces both:
*)
let gluonMean = Losses.GluonKlDivLoss(logQ1, p, averaging = MXNetAveraging.Mean)
let gluonSum = Losses.GluonKlDivLoss(logQ1, p, averaging = MXNetAveraging.Sum)
let gluonFromScores = Losses.GluonKlDivLoss(Tensor.ofList2D [ [ 1.0; 2.0; 0.5; -1.0 ] ], p, fromLogits = false)
(*** include-value: gluonMean ***)
(*** include-value: gluonSum ***)
(*** include-value: gluonFromScores ***)

(**
## The Gluon `KLDivLoss` tutorial, in full

MXNet's tutorial on the KL divergence compares four distributions over four categories:
dist_1 is P above, dist_2 is Q₁, dist_3 is Q₂, and dist_4 = [0, 0.9, 0, 0.1] puts no mass at
all on two of the categories.
*)
let dist1 = p
let dist2 = q1
let dist3 = q2
let dist4 = Tensor.ofList2D [ [ 0.0; 0.9; 0.0; 0.1 ] ]

(**
The tutorial's first bar chart, dist_1 against dist_2 and dist_3, is the one at the top of this
page; what each library returns for them is charted in [The whole picture](#The-whole-picture)
below. dist_2 looks closer to dist_1 than dist_3 does; `KLDivLoss` should agree.

### `from_logits = true`, the default: pass log-probabilities

With Gluon's default the prediction must already be **log**-probabilities and the label plain
probabilities — the prediction second in KL(label‖prediction):
*)
let gluon12 = Losses.GluonKlDivLoss(log dist2, dist1)
let gluon13 = Losses.GluonKlDivLoss(log dist3, dist1)
(*** include-value: gluon12 ***)
(*** include-value: gluon13 ***)

(**
dist_2 is indeed the closer one. Neither number is the KL divergence, though.

### Aggregation: a mean over the categories, then a sum, then a mean again

`KLDivLoss` returns one value per sample, reduced over every other axis — and the reduction
over the category axis is where MXNet versions differ (see the table above). With the mean
(MXNet up to 1.8, and 2.x), the value is the textbook KL divided by the number of categories;
multiply by 4 to get it back. MXNet 1.9 sums, and returns the textbook value directly:

$$$
\text{Gluon}_{\text{mean}} = \frac{1}{K}\sum_{k=1}^{K} \ell_k, \qquad
\text{Gluon}_{\text{sum}} = \sum_{k=1}^{K} \ell_k = \mathrm{KL}(P\,\|\,Q), \qquad
\ell_k = p_k\,\bigl(\log(p_k + 10^{-12}) - \log q_k\bigr)
*)
let timesCategories = gluon12 * 4.0
let textbook12 = Divergences.kl dist1 dist2
let mxnet19 = Losses.GluonKlDivLoss(log dist2, dist1, averaging = MXNetAveraging.Sum)
(*** include-value: timesCategories ***)
(*** include-value: textbook12 ***)
(*** include-value: mxnet19 ***)

(**
A KL value taken from MXNet code is only comparable once you know which version produced it.

### `from_logits = false`: pass scores, not probabilities

With `from_logits = false` Gluon applies `log_softmax` to the prediction first, so it expects
unnormalised scores (a dense layer's outputs). Log-probabilities are such scores —
log_softmax(log q) = log q — and give the same value as above. Probabilities are not: their
softmax is a different, much flatter distribution, and the loss compares dist_1 with that:
*)
let fromScores = Losses.GluonKlDivLoss(log dist2, dist1, fromLogits = false)
let probabilitiesAsScores = Losses.GluonKlDivLoss(dist2, dist1, fromLogits = false)
let whatWasCompared = dist2 |> Tensor.softmax -1
(*** include-value: fromScores ***)
(*** include-value: probabilitiesAsScores ***)
(*** include-value: whatWasCompared ***)

(**
### A prediction with zeros: dist_4

KL(P‖Q) sums $p \log(p/q)$: wherever P has mass and Q has none, the term is infinite. As the
prediction, dist_4 has zeros where dist_1 has 0.2, so the divergence is infinite — not a bug,
and AutoKl does not hide it:
*)
let predictionWithZeros = Losses.GluonKlDivLoss(log dist4, dist1)
let textbookWithZeros = Divergences.kl dist1 dist4
(*** include-value: predictionWithZeros ***)
(*** include-value: textbookWithZeros ***)

(**
As the label, zeros are harmless: a category the label gives no mass contributes
$0 \cdot (\log(0 + 10^{-12}) - \mathrm{pred}) = 0$, which is what the `1e-12` inside Gluon's log is for:
*)
let labelWithZeros = Losses.GluonKlDivLoss(log dist1, dist4)
(*** include-value: labelWithZeros ***)

(*** hide ***)
AutoKl.Plots.KlPictures.distributions (values dist1) [ "dist_4", values dist4 ]
|> AutoKl.Plots.Chart.png AutoKl.Plots.Chart.size
|> picture "Bar chart of dist_1 and dist_4, which has zeros in categories 1 and 3" "dist_1 against dist_4, which puts no mass on categories 1 and 3."
(*** include-it-raw ***)

(**
The tutorial's way out is to give both distributions a **common support**: add a small ε to
every probability of the prediction and renormalise, so that no category has exactly 0. The
result is finite, but it is a statement about ε as much as about the distributions — it grows
like $\log(1/\varepsilon)$:
*)
let withCommonSupport (epsilon: float) =
    let lifted = dist4 + epsilon
    let q = lifted / Tensor.sum lifted
    Losses.GluonKlDivLoss(log q, dist1) |> Tensor.sum |> float

for epsilon in [ 1e-2; 1e-4; 1e-6; 1e-9 ] do
    printfn "epsilon %-6g  KLDivLoss (mean over categories) %9.4f   x 4 = KL %9.4f"
        epsilon (withCommonSupport epsilon) (4.0 * withCommonSupport epsilon)
(*** include-output ***)

(**
AutoKl's smoothed overloads do the same with the uniform distribution, $(1-\varepsilon)\,q + \varepsilon/K$, so
that ε has one meaning in every call (see [below](#When-Q-has-zeros-where-P-does-not)):
*)
let smoothedKl = Divergences.klSmoothed 1e-3 dist1 dist4
(*** include-value: smoothedKl ***)

(**
## The whole picture

The same P and Q₁ through every convention (one sample, four categories):
*)
let conventionsFor (q: Tensor) =
    let logQ = log q
    [ "textbook KL(P||Q)", Divergences.kl p q
      "PyTorch kl_div, reduction='mean' (default)", Losses.KlDiv(logQ, p, Reduction.Mean)
      "PyTorch kl_div, reduction='batchmean'", Losses.KlDiv(logQ, p, Reduction.BatchMean)
      "PyTorch kl_div, reduction='sum'", Losses.KlDiv(logQ, p, Reduction.Sum)
      "TorchSharp KLDivLoss (log target), sum", Losses.KlDiv(logQ, log p, Reduction.Sum, logTarget = true)
      "MXNet Gluon KLDivLoss, 1.x <= 1.8 and 2.x (mean)", Losses.GluonKlDivLoss(logQ, p, averaging = MXNetAveraging.Mean)
      "MXNet Gluon KLDivLoss, 1.9 (sum)", Losses.GluonKlDivLoss(logQ, p, averaging = MXNetAveraging.Sum)
      "reverse KL(Q||P)", Divergences.reverseKl p q ]

for name, value in conventionsFor q1 do
    printfn "%-50s %.6f" name (value |> Tensor.sum |> float)
(*** include-output ***)

(**
The same for Q₁ and Q₂ as the tutorial's bar charts (drawn by the chart code behind
`autokl kl --out`): the value each convention returns, and the per-category terms
$p_i(\log p_i - \log q_i)$ that every one of them sums:
*)
(*** hide ***)
let total (t: Tensor) = t |> Tensor.sum |> float
let rows = conventionsFor q1 |> List.map fst |> Array.ofList

AutoKl.Plots.KlPictures.conventions rows
    [ for name, q in [ "Q₁", q1; "Q₂", q2 ] -> name, conventionsFor q |> List.map (snd >> total) |> Array.ofList ]
|> fun chart -> AutoKl.Plots.Chart.png (AutoKl.Plots.Chart.sizeOf chart) chart
|> picture "Bar chart of what each convention returns for Q1 and Q2" "What each convention returns for Q₁ and Q₂."
(*** include-it-raw ***)
(*** hide ***)
AutoKl.Plots.KlPictures.terms 4
    [ for name, q in [ "Q₁", q1; "Q₂", q2 ] -> name, Losses.KlDiv(log q, p, Reduction.None) |> values ]
|> AutoKl.Plots.Chart.png AutoKl.Plots.Chart.size
|> picture "Bar chart of the per-category terms p log(p/q) for Q1 and Q2" "The per-category terms that every convention sums, for Q₁ and Q₂."
(*** include-it-raw ***)

(**
## When Q has zeros where P does not

If some q is 0 where p is positive, KL(P‖Q) is infinite — that is the mathematics, and
AutoKl returns `+∞` rather than hiding it. When a finite value is needed (a model that can
output an exact 0), the overloads with an epsilon mix Q with the uniform distribution first,
$(1-\varepsilon)\,q + \varepsilon/K$:
*)
let qWithZero = Tensor.ofList2D [ [ 0.5; 0.5; 0.0; 0.0 ] ]
let infinite = Divergences.kl p qWithZero
let smoothed = Divergences.klSmoothed 1e-3 p qWithZero
(*** include-value: infinite ***)
(*** include-value: smoothed ***)

(**
The Jensen-Shannon divergence compares both distributions with their average M, so it is
symmetric and always finite (at most $\log 2$):

$$$
\mathrm{JS}(P, Q) = \tfrac12\,\mathrm{KL}(P \,\|\, M) + \tfrac12\,\mathrm{KL}(Q \,\|\, M), \qquad M = \tfrac12 (P + Q)
*)
let js = Divergences.jensenShannon p qWithZero
(*** include-value: js ***)

(**
The Rényi divergence of order α (`Divergences.Renyi(p, q, alpha)`, F#: `Divergences.renyi alpha p q`)
is a family through KL, which is its limit as α goes to 1:

$$$
D_\alpha(P \,\|\, Q) = \frac{1}{\alpha - 1} \log \sum_i p_i^{\alpha}\, q_i^{1-\alpha}, \qquad
\lim_{\alpha \to 1} D_\alpha(P \,\|\, Q) = \mathrm{KL}(P \,\|\, Q)

For P and Q₁, against the textbook KL(P‖Q₁) computed the usual way:
*)
for alpha in [ 0.5; 0.9; 0.99; 0.999; 2.0 ] do
    printfn "alpha %-6g  Renyi %.6f" alpha (Divergences.renyi alpha p q1 |> Tensor.sum |> float)
printfn "KL(P||Q1)     %.6f" (textbook1 |> Tensor.sum |> float)
(*** include-output ***)

(**
## Between distributions: analytic KL

For distribution objects, `KL.Divergence(p, q)` uses the closed form when there is one
(Normal-Normal, Categorical-Categorical, Bernoulli-Bernoulli, Uniform-Uniform,
Uniform-Normal) and is differentiable in every parameter. For N(0, 1) and N(1, 2) the closed
form is

$$$
\mathrm{KL}\bigl(\mathcal N(\mu_1, \sigma_1^2) \,\|\, \mathcal N(\mu_2, \sigma_2^2)\bigr)
= \log\frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2 + (\mu_1 - \mu_2)^2}{2\sigma_2^2} - \frac12

*)
let normalKl = KL.Divergence(Normal(0.0, 1.0), Normal(1.0, 2.0))
let closedForm = log 2.0 + (1.0 + 1.0) / 8.0 - 0.5
(*** include-value: normalKl ***)
(*** include-value: closedForm ***)

(**
For a pair without a closed form, the Monte Carlo estimators in `AutoKl.Distributions` take
over. Next: [Fitting a Gaussian to a mixture](gaussian-fit.html), where the choice of loss
decides the answer.
*)
