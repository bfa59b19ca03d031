(**
---
title: Fitting a Gaussian to a mixture
category: Guides
categoryindex: 1
index: 6
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
  points), minimised by Adam with learning rate $10^{-3}$ for 10,000 steps.
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

`Optim.minimizeWith` runs the PyTorch loop — zero the gradients, compute the loss, backward,
Adam step — and calls back after every step. `fit` keeps every step's loss, μ and σ (for the
plots), and prints the loss, μ and σ every 1000 steps, as the original write-up printed them:
*)
type Row = { Step: int; Loss: float; Mu: float; Sigma: float }

let fitWith (placement: EpsilonPlacement) (loss: Normal -> Tensor) (mu0: float) =
    let mu = Tensor.scalar mu0 |> Tensor.requiresGrad
    let sigma = Tensor.scalar 1.0 |> Tensor.requiresGrad
    let adam = Adam([ mu; sigma ], lr = 1e-3, epsilonPlacement = placement)
    let rows = ResizeArray()
    Optim.minimizeWith
        (fun r -> rows.Add { Step = r.Step; Loss = r.Loss; Mu = float mu; Sigma = float sigma })
        [ mu; sigma ] adam 10000
        (fun () -> loss (Normal(mu, sigma)))
    List.ofSeq rows

let fit = fitWith EpsilonPlacement.PyTorch

/// The rows the write-up printed: step 1, then every 1000th step.
let printed (rows: Row list) = rows |> List.filter (fun r -> r.Step = 1 || r.Step % 1000 = 0)

let printTable (rows: Row list) =
    printfn "%6s  %12s  %10s  %10s" "step" "loss" "mu" "sigma"
    for r in printed rows do
        printfn "%6d  %12.6f  %10.5f  %10.5f" r.Step r.Loss r.Mu r.Sigma

(**
### KL divergence, from μ = 0
*)
let klRun = fit klLoss 0.0
printTable klRun
(*** include-output ***)

(**
Q drifts to μ ≈ 2.5 and widens to σ ≈ 5.2: it covers both modes, with its mean between
them. That is the character of KL(P‖Q) — it is infinite wherever Q is 0 and P is not, so
Q must put mass everywhere P has any ("mean-seeking", or "zero-avoiding").

<figure class="autokl-figure"><img src="img/fit/kl/loss.png" alt="The KL loss falling over 10,000 Adam steps"><figcaption>The loss before each step (<code>autokl fit --out</code>).</figcaption></figure>
<figure class="autokl-figure"><img src="img/fit/kl/trajectory.png" alt="mu rising to 2.5 and sigma to 5.2"><figcaption>μ and σ along the way.</figcaption></figure>
<figure class="autokl-figure"><img src="img/fit/kl/animation.gif" alt="Q = N(mu, sigma) spreading over both modes of the target"><figcaption>Q approaching the target, frame by frame.</figcaption></figure>

### Mean squared error, from μ = 0 and from μ = 5
*)
let mseRun0 = fit mseLoss 0.0
printTable mseRun0
(*** include-output ***)
let mseRun5 = fit mseLoss 5.0
printTable mseRun5
(*** include-output ***)

(**
<figure class="autokl-figure"><img src="img/fit/mse-mu0/trajectory.png" alt="mu falling to -5, sigma staying near 1"><figcaption>MSE from μ = 0: μ and σ.</figcaption></figure>
<figure class="autokl-figure"><img src="img/fit/mse-mu5/trajectory.png" alt="mu rising to 10, sigma staying near 1"><figcaption>MSE from μ = 5: μ and σ.</figcaption></figure>
<figure class="autokl-figure"><img src="img/fit/mse-mu5/animation.gif" alt="Q sliding onto the right-hand mode"><figcaption>MSE from μ = 5: Q slides onto the nearer mode.</figcaption></figure>

### Negative cosine similarity, from μ = 5
*)
let cosineRun5 = fit negativeCosine 5.0
printTable cosineRun5
(*** include-output ***)

(**
<figure class="autokl-figure"><img src="img/fit/cosine-mu5/loss.png" alt="The negative cosine similarity falling to -0.7"><figcaption>Negative cosine from μ = 5: the loss.</figcaption></figure>
<figure class="autokl-figure"><img src="img/fit/cosine-mu5/trajectory.png" alt="mu rising to 10, sigma to 1"><figcaption>Negative cosine from μ = 5: μ and σ.</figcaption></figure>

## Where each loss ends
*)
let last (rows: Row list) = List.last rows

let runs =
    [ "KL, from mu = 0", klRun
      "MSE, from mu = 0", mseRun0
      "MSE, from mu = 5", mseRun5
      "-cosine, from mu = 5", cosineRun5 ]

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
    let yMax = 1.1 * (curves |> List.map (fun (_, _, ys) -> Array.max ys) |> List.max)
    let sx v = pad + (v + 15.0) / 30.0 * (width - 2.0 * pad)
    let sy v = height - pad - v / yMax * (height - 2.0 * pad)
    let path (ys: float[]) =
        Array.map2 (fun a b -> sprintf "%.1f,%.1f" (sx a) (sy b)) xs ys |> String.concat " "
    let lines =
        curves
        |> List.mapi (fun i (name, colour, ys) ->
            // The target is a wide pale band; the fits are drawn over it with distinct dashes.
            let strokeWidth, dash = if i = 0 then 7, "" else 2, [| ""; "10 4"; "3 3"; "12 3 2 3" |][(i - 1) % 4]
            sprintf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" stroke-dasharray=\"%s\" points=\"%s\"/>\n<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"%d\" stroke-dasharray=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" fill=\"currentColor\" font-size=\"13\">%s</text>"
                colour strokeWidth dash (path ys)
                (pad + 8.0) (pad + 18.0 * float i - 4.0) (pad + 38.0) (pad + 18.0 * float i - 4.0) colour strokeWidth dash
                (pad + 46.0) (pad + 18.0 * float i) name)
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
    ("target p(x)", "#cbd5e0", p.ToDoubleArray())
    :: List.map2 (fun (name, rows) colour -> name, colour, qOf (last rows)) runs colours
)
(*** include-it-raw ***)

(**
## Matching PyTorch, and Adam's epsilon

AutoKl's tests run this experiment against PyTorch 1.13 (float64, the runs recorded in
`tests/AutoKl.Tests/fixtures/pytorch/reference_experiment.json`). Side by side, every 1000th
step of the KL run — PyTorch's numbers as it printed them, then the difference:
*)
open System.Text.Json

let reference =
    let path = System.IO.Path.Combine(__SOURCE_DIRECTORY__, "..", "tests", "AutoKl.Tests", "fixtures", "pytorch", "reference_experiment.json")
    use doc = JsonDocument.Parse(System.IO.File.ReadAllText path)
    let run name =
        doc.RootElement.GetProperty("runs").EnumerateArray()
        |> Seq.find (fun r -> r.GetProperty("name").GetString() = name)
    [ for name in [ "a_kl_float64"; "b_mse_mu0_float64"; "c_mse_mu5_float64"; "d_negcos_mu5_float64" ] ->
        name,
        [ for row in (run name).GetProperty("rows").EnumerateArray() ->
            { Step = row.GetProperty("step").GetInt32(); Loss = row.GetProperty("loss").GetDouble()
              Mu = row.GetProperty("mu").GetDouble(); Sigma = row.GetProperty("sigma").GetDouble() } ] ]
    |> Map.ofList

let compare (ours: Row list) (theirs: Row list) =
    printfn "%6s  %14s %14s   %14s %14s   %9s" "step" "PyTorch mu" "PyTorch sigma" "AutoKl mu" "AutoKl sigma" "max |diff|"
    for t in theirs do
        let o = ours |> List.find (fun r -> r.Step = t.Step)
        let diff = List.max [ abs (o.Mu - t.Mu); abs (o.Sigma - t.Sigma); abs (o.Loss - t.Loss) ]
        printfn "%6d  %14.10f %14.10f   %14.10f %14.10f   %9.1e" t.Step t.Mu t.Sigma o.Mu o.Sigma diff

compare klRun reference.["a_kl_float64"]
(*** include-output ***)

(**
The same holds for the other three runs (largest difference over their printed rows):
*)
for name, rows in [ "b_mse_mu0_float64", mseRun0; "c_mse_mu5_float64", mseRun5; "d_negcos_mu5_float64", cosineRun5 ] do
    let worst =
        reference.[name]
        |> List.map (fun t ->
            let o = rows |> List.find (fun r -> r.Step = t.Step)
            List.max [ abs (o.Mu - t.Mu); abs (o.Sigma - t.Sigma); abs (o.Loss - t.Loss) ])
        |> List.max
    printfn "%-22s  max |AutoKl - PyTorch| over the printed rows: %.1e" name worst
(*** include-output ***)

(**
Those numbers come from Adam as PyTorch has written it since version 1.3, which adds ε after
the bias correction of the second moment:

$$$
\theta_t = \theta_{t-1} - \frac{\alpha}{1-\beta_1^t}\cdot\frac{m_t}{\sqrt{v_t}\,/\sqrt{1-\beta_2^t} + \varepsilon}

Kingma and Ba's paper, TensorFlow/Keras, MXNet and PyTorch before 1.3 use the "ε-hat" form,
which adds ε before it — in effect an ε that is $1/\sqrt{1-\beta_2^t}$ times larger
(about 32 times at the first step, shrinking to 1 as t grows):

$$$
\theta_t = \theta_{t-1} - \alpha\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\cdot\frac{m_t}{\sqrt{v_t} + \hat\varepsilon}

A run printed by such code is reproduced with `EpsilonPlacement.KingmaBa`. How far the two
placements part on this experiment, at the printed steps:
*)
let klKingmaBa = fitWith EpsilonPlacement.KingmaBa klLoss 0.0

printfn "%6s  %18s %18s   %10s" "step" "mu (PyTorch eps)" "mu (eps-hat)" "difference"
for a, b in List.zip (printed klRun) (printed klKingmaBa) do
    printfn "%6d  %18.12f %18.12f   %10.1e" a.Step a.Mu b.Mu (b.Mu - a.Mu)
(*** include-output ***)

(**
Where the gradients are tiny next to ε the placement changes the steps themselves; the
[optimizers guide](optimizers.html#Adam-s-two-epsilon-placements) shows such a case, and
`autokl fit --eps-placement kingma-ba` runs this experiment with the ε-hat form.

## The original post's numbers

The experiment comes from a blog post, "Understanding KL Divergence", which ran it in PyTorch
and printed a line every 1000 epochs. Its runs differ from the ones above in three ways:
everything is **float32** (`torch.tensor([0.0])`), its Adam is the PyTorch of the time, which
added ε **before** the bias correction (the ε-hat form, `EpsilonPlacement.KingmaBa`), and its
"epoch i" line is printed inside the loop after the update, so it shows the loss of step
i + 1 and the μ and σ after it (the last line, "epoch 9999", is step 10,000). Here are its
printed numbers, as it printed them, beside AutoKl's float32 run with the ε-hat form:
*)
/// The post's printed lines: epoch, loss, mu, sigma.
let post =
    [ "KL, from mu = 0", "kl", 0.0,
      [ 0, 2.081249, 0.0009999981, 1.001
        1000, 0.73041373, 0.7143856, 1.6610031
        2000, 0.46422037, 1.192532, 2.093055
        3000, 0.3443205, 1.5722023, 2.4694302
        4000, 0.27543005, 1.8818176, 2.8316045
        5000, 0.23109896, 2.1264663, 3.1971986
        6000, 0.20085065, 2.304474, 3.5747757
        7000, 0.1796072, 2.4167948, 3.96797
        8000, 0.16454782, 2.4736757, 4.3770604
        9000, 0.1539281, 2.4945483, 4.7997484
        9999, 0.14657249, 2.4993849, 5.2310653 ]
      "MSE, from mu = 0", "mse", 0.0,
      [ 0, 0.028145002, -0.0009965245, 1.0009999
        1000, 0.02025735, -1.6213993, 1.8781341
        2000, 0.015503045, -2.833147, 2.377313
        3000, 0.01360773, -3.7208798, 2.34772
        4000, 0.010932032, -4.580743, 1.6036143
        5000, 0.009393812, -4.997196, 1.0015959
        6000, 0.009393757, -4.9999804, 1.0000038
        7000, 0.009393757, -4.999988, 1.0000023
        8000, 0.009393757, -4.999993, 1.0000013
        9000, 0.009393757, -4.9999957, 1.0000008
        9999, 0.009393757, -4.9999976, 1.0000005 ]
      "MSE, from mu = 5", "mse", 5.0,
      [ 0, 0.028145002, 5.0009966, 1.0009999
        1000, 0.020257374, 6.62139, 1.8781343
        2000, 0.015503, 7.833145, 2.3773263
        3000, 0.013607591, 8.720935, 2.3480563
        4000, 0.010933896, 9.580524, 1.6043035
        5000, 0.009393813, 9.997191, 1.0016034
        6000, 0.009393757, 9.999961, 1.0000038
        7000, 0.009393757, 9.999976, 1.0000023
        8000, 0.009393757, 9.999986, 1.0000013
        9000, 0.009393757, 9.999991, 1.0000008
        9999, 0.009393757, 9.999995, 1.0000005 ]
      "-cosine, from mu = 5", "cosine", 5.0,
      [ 0, -0.0013650372, 5.001, 1.0009999
        1000, -0.25994527, 6.6144133, 2.4433875
        2000, -0.41905487, 7.6862497, 2.9858646
        3000, -0.501517, 8.562716, 2.7770298
        4000, -0.64180696, 9.502895, 1.6784625
        5000, -0.7070867, 9.990341, 1.0044081
        6000, -0.7071068, 9.999949, 1.0000043
        7000, -0.7071068, 9.9999695, 1.0000027
        8000, -0.7071068, 9.999982, 1.0000017
        9000, -0.7071069, 9.9999895, 1.0000011
        9999, -0.7071068, 9.999993, 1.0000005 ] ]

/// The post's run: float32 throughout; rows keyed by the post's epoch (step - 1).
let fitAsThePost (placement: EpsilonPlacement) (loss: string) (mu0: float) (steps: int) =
    let x32 = Tensor.linspace DType.Float32 -15.0 15.0 1000
    let density32 (mean: float) = Normal(Tensor.scalar32 (float32 mean), Tensor.scalar32 1.0f).LogProb(x32) |> Tensor.exp
    let p32 = density32 -5.0 + density32 10.0
    let mu = Tensor.scalar32 (float32 mu0) |> Tensor.requiresGrad
    let sigma = Tensor.scalar32 1.0f |> Tensor.requiresGrad
    let adam = Adam([ mu; sigma ], lr = 1e-3, epsilonPlacement = placement)
    let value () =
        let q = Normal(mu, sigma)
        match loss with
        | "kl" -> Losses.KlDiv(q.LogProb x32, p32, Reduction.Mean)
        | "mse" -> Losses.MseLoss(q.LogProb x32 |> Tensor.exp, p32)
        | _ -> -Losses.CosineSimilarity(q.LogProb x32 |> Tensor.exp, p32, 0)
    let rows = System.Collections.Generic.Dictionary()
    Optim.minimizeWith (fun r -> rows.[r.Step - 1] <- (r.Loss, float mu, float sigma)) [ mu; sigma ] adam steps value
    rows

let relative (a: float) (b: float) = abs (a - b) / max (abs b) 1e-30

for name, loss, mu0, lines in post do
    let ours = fitAsThePost EpsilonPlacement.KingmaBa loss mu0 10000
    printfn "%s: the post, then AutoKl (float32, eps-hat)" name
    printfn "%5s  %12s %12s  %12s %12s  %12s %12s" "epoch" "post loss" "AutoKl" "post mu" "AutoKl" "post sigma" "AutoKl"
    let mutable worst = 0.0
    for epoch, l, m, sg in lines do
        let ol, om, osg = ours.[epoch]
        worst <- List.max [ worst; relative ol l; relative om m; relative osg sg ]
        printfn "%5d  %12.8g %12.8g  %12.8g %12.8g  %12.8g %12.8g" epoch l ol m om sg osg
    printfn "largest relative difference: %.1e\n" worst
(*** include-output ***)

(**
The two agree to about seven significant digits everywhere (the largest relative difference,
printed under each table, stays below $10^{-6}$): that is float32's precision, whose spacing is
about $6 \times 10^{-8}$ of the value, and the post printed numpy's shortest form of each float32. What is left comes from rounding in a different order:
PyTorch sums the 1000 grid points with vectorised partial sums, AutoKl in its own order, and
over 10,000 steps those last-bit differences wander, without growing.

The very first line tells which Adam the post ran. After one step, Adam moves each parameter
by almost exactly the learning rate, $\mathrm{lr}\cdot g/(|g| + \varepsilon')$, where the
effective $\varepsilon'$ is ε itself in PyTorch's current form and $\varepsilon/\sqrt{1-\beta_2}
\approx 31.6\,\varepsilon$ in the ε-hat form. With $|g| \approx 0.1665$ for μ, the current form
shortens the first step by $6 \times 10^{-8}$ of itself (below float32's rounding: μ ≈ 0.0009999998),
the ε-hat form by $1.9 \times 10^{-6}$ (μ ≈ 0.0009999981), which is what the post printed:
*)
let firstMu (placement: EpsilonPlacement) = let _, m, _ = (fitAsThePost placement "kl" 0.0 1).[0] in m
printfn "mu after step 1 (float32)   post %.10g   eps-hat %.10g   PyTorch >= 1.3 %.10g"
    0.0009999981 (firstMu EpsilonPlacement.KingmaBa) (firstMu EpsilonPlacement.PyTorch)
(*** include-output ***)

(**
Over the whole run the placement matters less than float32 does here: the gradients are far
larger than ε, so both forms end within a few float32 units of each other and of the post.

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
