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
Adam step — and returns the loss before each step. `fit` records the loss, μ and σ every
1000 steps, as the original write-up printed them:
*)
type Row = { Step: int; Loss: float; Mu: float; Sigma: float }

let fit (loss: Normal -> Tensor) (mu0: float) =
    let mu = Tensor.scalar mu0 |> Tensor.requiresGrad
    let sigma = Tensor.scalar 1.0 |> Tensor.requiresGrad
    let adam = Adam([ mu; sigma ], lr = 1e-3)
    let rows = ResizeArray()
    Optim.minimizeWith
        (fun r ->
            if r.Step = 1 || r.Step % 1000 = 0 then
                rows.Add { Step = r.Step; Loss = r.Loss; Mu = float mu; Sigma = float sigma })
        [ mu; sigma ] adam 10000
        (fun () -> loss (Normal(mu, sigma)))
    List.ofSeq rows

let klRun = fit klLoss 0.0

for r in klRun do
    printfn "step %5d   loss %.6f   mu %8.5f   sigma %8.5f" r.Step r.Loss r.Mu r.Sigma
(*** include-output ***)

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
/// A small SVG line chart of curves sampled on the grid (no plotting package needed).
let svgChart (curves: (string * string * float[]) list) =
    let xs = x.ToDoubleArray()
    let width, height, pad = 720.0, 300.0, 36.0
    let yMax = curves |> List.map (fun (_, _, ys) -> Array.max ys) |> List.max
    let sx v = pad + (v + 15.0) / 30.0 * (width - 2.0 * pad)
    let sy v = height - pad - v / yMax * (height - 2.0 * pad)
    let path (ys: float[]) =
        Array.map2 (fun a b -> sprintf "%.1f,%.1f" (sx a) (sy b)) xs ys |> String.concat " "
    let lines =
        curves
        |> List.mapi (fun i (name, colour, ys) ->
            let dash = if i = 0 then "" else " stroke-dasharray=\"6 3\""
            sprintf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"%s\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\" font-size=\"13\">%s</text>"
                colour dash (path ys) (width - 250.0) (pad + 18.0 * float i) colour name)
        |> String.concat "\n"
    let ticks =
        [ -15.0; -10.0; -5.0; 0.0; 5.0; 10.0; 15.0 ]
        |> List.map (fun t -> sprintf "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\" fill=\"currentColor\">%g</text>" (sx t) (height - 14.0) t)
        |> String.concat ""
    sprintf "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" style=\"max-width:100%%;height:auto\" role=\"img\" aria-label=\"final Q of each loss over the target\">\n<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"gray\"/>\n%s\n%s\n</svg>"
        width height pad (height - pad) (width - pad) (height - pad) ticks lines

let qOf (r: Row) = Normal(r.Mu, r.Sigma).LogProb(x) |> Tensor.exp |> Tensor.toArray

let colours = [ "#2b6cb0"; "#c05621"; "#2f855a"; "#6b46c1" ]

svgChart (
    ("target p(x)", "#1a202c", p.ToDoubleArray())
    :: List.map2 (fun (name, rows) colour -> name, colour, qOf (last rows)) runs colours
)
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
