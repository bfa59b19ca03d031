(**
---
title: Fitting a Gaussian to a mixture
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

/// A picture drawn while the page is built, inline as a data URI (the page needs no file beside it).
let picture (alt: string) (mime: string) (bytes: byte[]) =
    sprintf "<p><img src=\"data:%s;base64,%s\" alt=\"%s\" style=\"max-width:100%%;height:auto\"/></p>"
        mime (System.Convert.ToBase64String bytes) alt
(**
# Fitting a Gaussian to a mixture: the reference experiment

One Gaussian cannot fit two. Ask gradient descent to make it as close as possible to a
mixture of two anyway, and the answer depends entirely on what "close" means: the KL
divergence spreads the Gaussian over both modes, while the mean squared error and the
cosine similarity lock onto one of them. This experiment — the one AutoKl's tests check
against PyTorch at every 1000th step — shows it in a few lines.

## The setup

- the target P: the **sum** of the densities of N(−5, 1) and N(10, 1), sampled at 1000
  evenly spaced points x on [−15, 15] (so it is not normalised: it integrates to 2);
- the model Q = Normal(μ, σ) with learnable μ and σ, starting from μ = 0, σ = 1;
- the loss `kl_div(log q(x), p(x))` with PyTorch's default reduction (`mean` over the 1000
  points), minimised by Adam with learning rate 10⁻³ for 10,000 steps.
*)
open AutoKl
open AutoKl.Distributions
open AutoKl.Optim

let x = Tensor.linspace DType.Float64 -15.0 15.0 1000
let density (mean: float) = Normal(mean, 1.0).LogProb(x) |> Tensor.exp
let p = density -5.0 + density 10.0

(**
A loss is a function of the model's density on the grid. The three compared here:
*)
let klLoss (q: Normal) = Losses.KlDiv(q.LogProb x, p, Reduction.Mean)
let mseLoss (q: Normal) = Losses.MseLoss(q.LogProb x |> Tensor.exp, p)
let negativeCosine (q: Normal) = -Losses.CosineSimilarity(q.LogProb x |> Tensor.exp, p, 0)

(**
## The fit

`Optim.minimize` runs the PyTorch loop — zero the gradients, compute the loss, backward,
Adam step — and returns the loss before each step. `fit` records the loss, μ and σ at every
step (the pictures below need them all); the table shows every 1000th, as the original
write-up printed them:
*)
type Row = { Step: int; Loss: float; Mu: float; Sigma: float }

let fit (loss: Normal -> Tensor) (mu0: float) =
    let mu = Tensor.scalar mu0 |> Tensor.requiresGrad
    let sigma = Tensor.scalar 1.0 |> Tensor.requiresGrad
    let adam = Adam([ mu; sigma ], lr = 1e-3)
    let rows = ResizeArray()
    Optim.minimizeWith
        (fun r -> rows.Add { Step = r.Step; Loss = r.Loss; Mu = float mu; Sigma = float sigma })
        [ mu; sigma ] adam 10000
        (fun () -> loss (Normal(mu, sigma)))
    List.ofSeq rows

let klRun = fit klLoss 0.0

for r in klRun do
    if r.Step = 1 || r.Step % 1000 = 0 then
        printfn "step %5d   loss %.6f   mu %8.5f   sigma %8.5f" r.Step r.Loss r.Mu r.Sigma
(*** include-output ***)

(**
Drawn from the recorded steps by the chart code behind `autokl fit --out` (src/AutoKl.Plots):
*)
(*** hide ***)
open AutoKl.Plots

/// The run as the pictures take it: the loss before each step, mu and sigma from the start on.
let pictureRun (name: string) (loss: Normal -> Tensor) (mu0: float) (rows: Row list) : FitRun =
    let last = List.last rows
    { Loss = name
      Grid = x.ToDoubleArray()
      Target = p.ToDoubleArray()
      Losses = rows |> List.map (fun r -> r.Loss) |> Array.ofList
      Mus = Array.ofList (mu0 :: (rows |> List.map (fun r -> r.Mu)))
      Sigmas = Array.ofList (1.0 :: (rows |> List.map (fun r -> r.Sigma)))
      FinalLoss = loss (Normal(last.Mu, last.Sigma)) |> float }

let klPictures = pictureRun "kl" klLoss 0.0 klRun

// 40 frames at 560 x 350 keep the page light; `autokl fit --out` writes 100 at 640 x 400.
Animation.gif (560, 350) (FitPictures.animation klPictures 40)
|> picture "Q = N(mu, sigma) moving from N(0, 1) towards the two-mode target, step by step" "image/gif"
(*** include-it-raw ***)
(*** hide ***)
Chart.png Chart.size (FitPictures.trajectory klPictures)
|> picture "mu and sigma at each step of the KL fit" "image/png"
(*** include-it-raw ***)

(**
Q drifts to μ ≈ 2.5 and widens to σ ≈ 5.2: it covers both modes, with its mean between
them. That is the character of KL(P‖Q) — it is infinite wherever Q is 0 and P is not, so
Q must put mass everywhere P has any ("mean-seeking", or "zero-avoiding"). The same run in
PyTorch 1.13 ends at μ = 2.4993847615, σ = 5.2311046673 in float64; AutoKl's tests hold it
to that at every 1000th step to 10⁻⁹ relative.

## The other losses

The mean squared error between the densities, from μ = 0 and from μ = 5, and the negative
cosine similarity from μ = 5:
*)
let last (rows: Row list) = List.last rows

let runs =
    [ "KL, from mu = 0", klRun
      "MSE, from mu = 0", fit mseLoss 0.0
      "MSE, from mu = 5", fit mseLoss 5.0
      "-cosine, from mu = 5", fit negativeCosine 5.0 ]

for name, rows in runs do
    let r = last rows
    printfn "%-22s  mu %8.4f   sigma %7.4f" name r.Mu r.Sigma
(*** include-output ***)

(**
MSE and cosine similarity each pick **one** mode — whichever is nearer the start — and fit
it exactly (μ = −5 or 10, σ = 1). They compare the two curves point by point and are
happiest matching half of P perfectly; KL is not allowed to ignore half of P.

The final Q of each run over the target:
*)
(*** hide ***)
let pictureRuns =
    [ pictureRun "KL, from mu = 0" klLoss 0.0 klRun
      pictureRun "MSE, from mu = 0" mseLoss 0.0 (snd runs[1])
      pictureRun "MSE, from mu = 5" mseLoss 5.0 (snd runs[2])
      pictureRun "-cosine, from mu = 5" negativeCosine 5.0 (snd runs[3]) ]

Chart.png Chart.size (FitPictures.compare pictureRuns)
|> picture "the final Q of each run over the target" "image/png"
(*** include-it-raw ***)

(**
## The same in C#

```csharp
using AutoKl;
using AutoKl.Distributions;
using AutoKl.Optim;

var x = Tensor.Linspace(-15, 15, 1000, DType.Float64);
var p = new Normal(-5.0, 1.0).LogProb(x).Exp() + new Normal(10.0, 1.0).LogProb(x).Exp();
var mu = Tensor.Scalar(0.0).RequiresGrad_();
var sigma = Tensor.Scalar(1.0).RequiresGrad_();
var adam = new Adam(new[] { mu, sigma }, lr: 1e-3);

Minimize.Run(new[] { mu, sigma }, () => Losses.KlDiv(new Normal(mu, sigma).LogProb(x), p), adam, 10000,
    r => { if (r.Step % 1000 == 0) Console.WriteLine($"{r.Step} {r.Loss:F6} {mu.ToScalar():F5} {sigma.ToScalar():F5}"); });
```

The `autokl fit` command runs this experiment (and its variants) from the command line,
with a progress bar, a table, JSON output and pictures.

Next: [Optimizers](optimizers.html).
*)
