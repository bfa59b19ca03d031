(**
---
title: Optimizers
category: Guides
categoryindex: 1
index: 7
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
(**
# Optimizers

`AutoKl.Optim` has SGD, Adam, AdamW, RMSprop and Adagrad with PyTorch's update rules and
defaults, parameter groups with their own hyper-parameters, learning-rate schedules,
gradient clipping, and checkpoints of the optimizer state. The tests hold every optimizer and
option to PyTorch 1.13's trajectories at 10⁻¹² relative in float64.
*)
open AutoKl
open AutoKl.Optim

(**
## The training loop

Written out, it is PyTorch's loop: clear the gradients, compute the loss, backward, step.
Here SGD with momentum minimises the Rosenbrock function from (−1, 1):
*)
let xy = Tensor.ofList [ -1.0; 1.0 ] |> Tensor.requiresGrad
let rosenbrock (v: Tensor) =
    let a, b = v.[0..0], v.[1..1]
    (1.0 - a) ** 2.0 + 100.0 * (b - a ** 2.0) ** 2.0 |> Tensor.sum

let sgd = SGD([ xy ], lr = 1e-3, momentum = 0.9)
for step in 1..5000 do
    sgd.ZeroGrad()
    let loss = rosenbrock xy
    loss.Backward()
    sgd.Step()
(*** include-value: xy ***)

(**
The minimum is at (1, 1). `Optim.minimize` (C#: `Minimize.Run`) is the same loop as one
call; it returns the loss before each step, and `Optim.minimizeWith` calls a function after
each step instead:
*)
let start = Tensor.ofList [ -1.0; 1.0 ] |> Tensor.requiresGrad
let losses = Optim.minimize [ start ] (Adam([ start ], lr = 1e-2)) 3000 (fun () -> rosenbrock start)
printfn "loss %.3g -> %.3g, at %O" losses[0] (Array.last losses) start
(*** include-output ***)

(**
## Parameter groups and schedules

Each group can override the optimizer's hyper-parameters (PyTorch's names: `"lr"`,
`"momentum"`, `"weight_decay"`, ...). A schedule changes the learning rate as the steps go
by; `minimizeScheduled` advances it after each optimizer step.
*)
let weights = Tensor.ofList [ 0.5; -0.5 ] |> Tensor.requiresGrad
let bias = Tensor.ofList [ 0.0 ] |> Tensor.requiresGrad
let adamW =
    AdamW([ Optim.group [] [ weights ]; Optim.group [ "lr", 1e-2; "weight_decay", 0.0 ] [ bias ] ],
          lr = 1e-3, weightDecay = 1e-2)
let cosine = CosineAnnealingLR(adamW, tMax = 100)
let lrs = [ for _ in 1..4 do
              cosine.Step()
              yield cosine.CurrentLr ]
(*** include-value: lrs ***)

(**
## Adam's two epsilon placements

Adam divides the first moment estimate by the square root of the second, plus a small ε.
Where ε goes is not the same everywhere, and the difference is visible:

- **PyTorch** (1.3 and later, `EpsilonPlacement.PyTorch`, the default) adds ε *after*
  bias-correcting v:

$$$
p \leftarrow p - \frac{\mathrm{lr}}{1-\beta_1^t}\cdot\frac{m}{\sqrt{v}\,/\sqrt{1-\beta_2^t} + \varepsilon}

- **Kingma & Ba** (`EpsilonPlacement.KingmaBa`) — the paper's "ε-hat" form, also used by
  TensorFlow/Keras, MXNet and PyTorch before 1.3 — adds it *before*:

$$$
p \leftarrow p - \mathrm{lr}\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}\cdot\frac{m}{\sqrt{v} + \varepsilon}

Early in training $\sqrt{1-\beta_2^t}$ is small (0.0316 at step 1 with $\beta_2 = 0.999$), so in the second
form ε acts about 30 times larger. When gradients are tiny — a loss scaled down, a
parameter with little signal — that changes the step. One Adam step from 0 on
$f(w) = 10^{-6}\, w$, whose gradient is $10^{-6}$ everywhere:
*)
let firstStep (placement: EpsilonPlacement) =
    let w = Tensor.ofList [ 0.0 ] |> Tensor.requiresGrad
    let adam = Adam([ w ], lr = 1.0, epsilonPlacement = placement)
    (1e-6 * w |> Tensor.sum).Backward()
    adam.Step()
    float (Tensor.sum w)

let pytorchStep = firstStep EpsilonPlacement.PyTorch
let kingmaBaStep = firstStep EpsilonPlacement.KingmaBa
(*** include-value: pytorchStep ***)
(*** include-value: kingmaBaStep ***)

(**
PyTorch's step is $-\mathrm{lr}\cdot g / (|g| + \varepsilon) \approx -0.990$; Kingma & Ba's is
$-\mathrm{lr}\cdot g / (|g| + \varepsilon/0.0316) \approx -0.760$. Results published with TensorFlow, Keras, MXNet or PyTorch before 1.3 can only be
reproduced with `KingmaBa`; with ordinary gradients and $\varepsilon = 10^{-8}$ the two agree closely,
as on the [reference experiment](gaussian-fit.html):
*)
let referenceFit (placement: EpsilonPlacement) =
    let x = Tensor.linspace DType.Float64 -15.0 15.0 1000
    let p = (Distributions.Normal(-5.0, 1.0).LogProb x |> Tensor.exp) + (Distributions.Normal(10.0, 1.0).LogProb x |> Tensor.exp)
    let mu = Tensor.scalar 0.0 |> Tensor.requiresGrad
    let sigma = Tensor.scalar 1.0 |> Tensor.requiresGrad
    let adam = Adam([ mu; sigma ], lr = 1e-3, epsilonPlacement = placement)
    Optim.minimize [ mu; sigma ] adam 10000 (fun () -> Losses.KlDiv(Distributions.Normal(mu, sigma).LogProb x, p)) |> ignore
    float mu, float sigma

let fitPyTorch = referenceFit EpsilonPlacement.PyTorch
let fitKingmaBa = referenceFit EpsilonPlacement.KingmaBa
(*** include-value: fitPyTorch ***)
(*** include-value: fitKingmaBa ***)

(**
## SGD is PyTorch's SGD

`SGD` follows PyTorch exactly: the first momentum buffer is the gradient itself (no
dampening on the first step), the learning rate stays outside the buffer, and Nesterov needs
momentum and no dampening. DiffSharp's SGD differs on each of these points, so trajectories
from it are not comparable step for step.

## Checkpoints

`Checkpoint.Save(path, parameters, optimizer)` writes the parameter values with the
optimizer's state — each group's hyper-parameters, each parameter's moments and step count,
and a schedule's position when one is given — to a versioned binary file, atomically (a
temporary file renamed over the old one, so a crash leaves the previous checkpoint intact).
`Checkpoint.Load` checks everything before changing anything, and the resumed run continues
the very same trajectory as one that was never interrupted:
*)
let trainFor steps (mu: Tensor) (sigma: Tensor) (adam: Adam) =
    let x = Tensor.linspace DType.Float64 -15.0 15.0 1000
    let p = (Distributions.Normal(-5.0, 1.0).LogProb x |> Tensor.exp) + (Distributions.Normal(10.0, 1.0).LogProb x |> Tensor.exp)
    Optim.minimize [ mu; sigma ] adam steps (fun () -> Losses.KlDiv(Distributions.Normal(mu, sigma).LogProb x, p)) |> ignore

let path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "autokl-docs-checkpoint.bin")

// 500 steps, save, 500 more ...
let mu1, sigma1 = Tensor.scalar 0.0 |> Tensor.requiresGrad, Tensor.scalar 1.0 |> Tensor.requiresGrad
let adam1 = Adam([ mu1; sigma1 ], lr = 1e-3)
trainFor 500 mu1 sigma1 adam1
Checkpoint.Save(path, [| mu1; sigma1 |], adam1)
trainFor 500 mu1 sigma1 adam1

// ... against a fresh process that loads the checkpoint and runs the last 500.
let mu2, sigma2 = Tensor.scalar 0.0 |> Tensor.requiresGrad, Tensor.scalar 1.0 |> Tensor.requiresGrad
let adam2 = Adam([ mu2; sigma2 ], lr = 1e-3)
Checkpoint.Load(path, [| mu2; sigma2 |], adam2)
trainFor 500 mu2 sigma2 adam2
System.IO.File.Delete path

printfn "uninterrupted: mu %.17g sigma %.17g" (float mu1) (float sigma1)
printfn "resumed:       mu %.17g sigma %.17g" (float mu2) (float sigma2)
(*** include-output ***)

(**
## Steps that allocate no storage: scopes

A backward pass hands its temporaries back to a pool, and `.Grad` and the optimizer's state
keep their arrays from step to step. What the forward pass makes — a matmul's logits, a
log-density — is yours to keep, so the engine cannot reuse its storage until it knows you are
done with it, and .NET has no reference counts to tell it. (A `log_softmax` output that only a
fused `kl_div` reads is never written at all; read it, and it gets an array of its own.) `Tensor.scope ()` says so: every
tensor made while the scope is open, and not kept with `Tensor.keep`, gives its storage back
when the scope ends. `Optim.minimize` opens one around each step by itself; in a loop of your
own, open it at the top of the step:
*)
let logits = Tensor.randn (Generator 1) DType.Float32 [ 64; 1000 ] |> Tensor.requiresGrad
let target = Tensor.randn (Generator 2) DType.Float32 [ 64; 1000 ] |> Tensor.softmax 1
let stepper = SGD([ logits ], lr = 0.5)
let mutable lastLoss = Tensor.scalar32 0.0f
for step in 1 .. 100 do
    use _ = Tensor.scope ()
    stepper.ZeroGrad()
    let loss = Losses.KlDiv(Tensor.logSoftmax 1 logits, target, Reduction.BatchMean)
    loss.Backward()
    stepper.Step()
    if step = 100 then lastLoss <- Tensor.keep loss   // kept: readable after its scope

printfn "loss after 100 steps: %.6f" (float lastLoss)
(*** include-output ***)

(**
A tensor that leaves its scope without being kept cannot be read any more, and says why, rather
than showing values that now belong to another tensor:
*)
let escaped =
    use _ = Tensor.scope ()
    Tensor.logSoftmax 1 logits

try printfn "%f" (float (Tensor.sum escaped)) with :? AutoKlException as e -> printfn "%s" e.Message
(*** include-output ***)
