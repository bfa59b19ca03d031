(**
---
title: Derivatives of derivatives
category: Guides
categoryindex: 1
index: 3
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
#I "../src/AutoKl.Plots/bin/Release/net10.0"
#r "AutoKl.Plots.dll"

/// A picture drawn while the page is evaluated, inline as a data URI (as in the KL guide).
let picture (alt: string) (caption: string) (bytes: byte[]) =
    sprintf "<figure class=\"autokl-figure\"><img src=\"data:image/png;base64,%s\" alt=\"%s\"/><figcaption>%s</figcaption></figure>"
        (System.Convert.ToBase64String bytes) alt caption
(**
# Derivatives of derivatives

AutoKl has two modes of differentiation, and every transform of one nests inside every
transform of the other:

- **reverse mode** — `grad`, `valueAndGrad`, `vjp`, `jacobianRev` — records the computation
  on the tape and walks it back from the output: one backward pass gives the derivative of one
  output with respect to every input;
- **forward mode** — `diff`, `jvp`, `gradv`, `jacobianv`, `jacobianFwd` — carries a tangent
  beside each value while the function runs: one forward pass gives the derivative of every
  output along one input direction, and nothing is recorded on the tape for it unless an outer
  reverse pass needs it.

`hessian` and `hessianv` are forward over reverse, `diff2` and `diffn` forward over forward.
This page shows nesting through closed-over variables, a gradient penalty, Jacobians and
Hessians in both modes, a directional-derivative sweep, what an op without a forward rule
says, and custom ops in forward mode.
*)
open System
open AutoKl
open AutoKl.Plots

(**
## Nesting with a closed-over variable

The inner function below closes over `x`. As a function of `x`, the inner gradient
$\nabla_y \sum_i x_i y_i$ is `x` itself, so the outer function is $\sum_i x_i^2$ and its
gradient is $2x$:
*)
let x0 = Tensor.ofList [ 1.0; 2.0 ]
let y0 = Tensor.ofList [ 5.0; 6.0 ]

let outer (x: Tensor) =
    let inner = grad (fun y -> Tensor.sum (x * y)) y0
    Tensor.sum (x * inner)

let nested = grad outer x0
(*** include-value: nested ***)

(**
That works because the inner `grad` stays connected to the variables its function closes over.
When the value it differentiates depends on a tensor that an outer transform is differentiating
(passed in or closed over), the inner backward pass is itself recorded, so its result is a
function of `x` on the outer tape. A transform that handed back a finished, constant result
would make the outer derivative see $\sum_i x_i c_i$ and return $c$ — here `x0` instead of
`2 * x0`. `Detach` does exactly that by hand:
*)
let cutOff =
    grad (fun (x: Tensor) ->
        let inner = grad (fun y -> Tensor.sum (x.Detach() * y)) y0
        Tensor.sum (x * inner)) x0
(*** include-value: cutOff ***)

(**
### Perturbation confusion

Siskind and Pearlmutter's example is

$$$
\frac{d}{dx}\Bigl[\, x \cdot \frac{d}{dy}(x + y)\Big|_{y=1} \Bigr]_{x=1} = 1,

since the inner derivative is 1 whatever $x$ is. An implementation that cannot tell the
perturbation of $x$ from that of $y$ counts $x$'s in the inner derivative and returns 2. Each
transform in AutoKl has its own perturbation: a forward-mode level of its own (levels never
mix), or leaves of its own in reverse mode. The answer is 1 for every pairing of the two modes
(the outer transform first):
*)
let one = Tensor.scalar 1.0

let pairs =
    [ "forward over forward (diff of diff)", diff (fun x -> x * diff (fun y -> x + y) one) one
      "forward over reverse (diff of grad)", diff (fun x -> x * grad (fun y -> x + y) one) one
      "reverse over forward (grad of diff)", grad (fun x -> x * diff (fun y -> x + y) one) one
      "reverse over reverse (grad of grad)", grad (fun x -> x * grad (fun y -> x + y) one) one ]

for name, value in pairs do
    printfn "%-38s %g" name (float value)
(*** include-output ***)

(**
## A gradient penalty

WGAN-GP keeps a critic $D$ close to 1-Lipschitz by penalising the norm of its gradient with
respect to its input, at points $\hat x$ between real and generated samples:

$$$
\mathrm{gp} = \lambda \,\operatorname{mean}_i \bigl(\lVert \nabla_{\hat x} D(\hat x_i) \rVert_2 - 1\bigr)^2 .

Training the critic needs the gradient of the penalty with respect to the critic's
parameters — a gradient of a norm of a gradient. The critic here is a two-layer network,
$D(x) = \tanh(x W_1^\top + b_1)\, w_2 + b_2$, with small deterministic parameters and batches
(the inputs of the test suite's `wgan_gp` case, which is checked against PyTorch):
*)
/// values[k] = d + a * fn(b * k + c) over the flat index k.
let wave (shape: int list) (fn: float -> float) a b c d =
    Tensor.ofArrayShape shape (Array.init (List.fold (*) 1 shape) (fun k -> d + a * fn (b * float k + c)))

let W1 = wave [ 5; 3 ] sin 0.8 0.7 0.3 0.0
let b1 = wave [ 5 ] cos 0.3 1.1 0.5 0.0
let w2 = wave [ 5 ] sin 0.9 1.7 1.0 0.0
let b2 = Tensor.scalar 0.25
let real = wave [ 4; 3 ] sin 1.0 0.9 0.1 0.0
let fake = wave [ 4; 3 ] cos 1.2 0.6 0.4 -0.2
let mix = wave [ 4; 1 ] sin 0.4 1.3 0.2 0.5
let xhat = mix * real + (1.0 - mix) * fake

let critic (ps: Tensor[]) (x: Tensor) =
    Tensor.matmul (Tensor.tanh (Tensor.matmul x (Tensor.transpose ps[0]) + ps[1])) ps[2] + ps[3]

let penalty (ps: Tensor[]) =
    // one row per sample: row i is the gradient of D(xhat_i) with respect to xhat_i
    let g = grad (fun x -> critic ps x |> Tensor.sum) xhat
    let norms = g * g |> Tensor.sumDim 1 |> Tensor.sqrt
    10.0 * Tensor.mean ((norms - 1.0) ** 2.0)

let gp, dgp = valueAndGradN penalty [| W1; b1; w2; b2 |]
(*** include-value: gp ***)

(**
The penalty's gradient with respect to $W_1$, and with respect to $b_2$, which is exactly
zero: $b_2$ shifts $D$ but does not reach its gradient.
*)
let dgpW1 = dgp[0]
let dgpB2 = dgp[3]
(*** include-value: dgpW1 ***)
(*** include-value: dgpB2 ***)

(**
The parameters are closed over by the inner `grad`, which is what connects the penalty to
them. The PyTorch way gives the same numbers: the inner gradient with
`Autograd.Gradients(..., createGraph = true)`, then `Backward()` on the penalty:
*)
let parameters = [| W1; b1; w2; b2 |] |> Array.map (fun p -> p.Detach() |> Tensor.requiresGrad)
let point = xhat.Detach() |> Tensor.requiresGrad
let inputGrad = Autograd.Gradients(critic parameters point |> Tensor.sum, [| point |], createGraph = true)[0]
let gpTorchStyle = 10.0 * Tensor.mean (((inputGrad * inputGrad |> Tensor.sumDim 1 |> Tensor.sqrt) - 1.0) ** 2.0)
gpTorchStyle.Backward()

printfn "penalty: %g; largest difference of dgp/dW1 from the functional route: %g"
    (float gpTorchStyle) (float (Tensor.max (abs (parameters[0].Grad - dgpW1))))
(*** include-output ***)

(**
## Jacobians in both modes

`jacobian f x` has shape output ++ input: entry `[i..., j...]` is
$\partial f(x)_{i\ldots} / \partial x_{j\ldots}$. For $f(x) = \tanh(Wx)$ from
$\mathbb{R}^3$ to $\mathbb{R}^2$ it is $\operatorname{diag}(1 - \tanh^2(Wx))\,W$, of shape
`[2; 3]`. `jacobianFwd` builds it column by column, one forward pass per input element;
`jacobianRev` row by row, one backward pass per output element:
*)
let W = Tensor.ofList2D [ [ 1.0; -2.0; 0.5 ]; [ 0.3; 0.8; -1.0 ] ]
let squash (x: Tensor) = Tensor.tanh (Tensor.matmul W x)
let at = Tensor.ofList [ 0.2; -0.1; 0.4 ]

let jFwd = jacobianFwd squash at
let jRev = jacobianRev squash at
let jByHand = Tensor.unsqueeze 1 (1.0 - squash at ** 2.0) * W
(*** include-value: jFwd ***)

printfn "shape %A; reverse - forward: %g; by hand - forward: %g"
    jFwd.Shape (float (Tensor.max (abs (jRev - jFwd)))) (float (Tensor.max (abs (jByHand - jFwd))))
(*** include-output ***)

(**
The cost is in the number of passes. An op that counts how often its rules run shows it: the
identity below, with a forward rule (`jvp`) and a backward rule (`vjp`) that each count their
calls, placed on the input of a function from $\mathbb{R}^n$ to $\mathbb{R}^m$.
*)
let mutable forwardRuns = 0
let mutable backwardRuns = 0

let tapOp =
    CustomFunction.Unary(
        "tap",
        Func<Tensor, Tensor>(fun x -> x * 1.0),
        Func<Tensor, Tensor, Tensor, Tensor>(fun _ _ g -> backwardRuns <- backwardRuns + 1; g),
        jvp = Func<Tensor, Tensor, Tensor, Tensor>(fun _ _ t -> forwardRuns <- forwardRuns + 1; t))

let tap (x: Tensor) = tapOp.Apply x

let countPasses name (jac: (Tensor -> Tensor) -> Tensor -> Tensor) n m =
    let A = Tensor.linspace DType.Float64 -1.0 1.0 (m * n) |> Tensor.reshape [ m; n ]
    forwardRuns <- 0
    backwardRuns <- 0
    let j = jac (fun x -> Tensor.sin (Tensor.matmul A (tap x))) (Tensor.ones DType.Float64 [ n ])
    printfn "%-12s R^%d -> R^%d: Jacobian %A, %d forward-rule runs, %d backward-rule runs"
        name n m j.Shape forwardRuns backwardRuns

for n, m in [ 8, 2; 2, 8 ] do
    countPasses "jacobianFwd" jacobianFwd n m
    countPasses "jacobianRev" jacobianRev n m
    countPasses "jacobian" jacobian n m
(*** include-output ***)

(**
So prefer reverse mode when there are fewer outputs than inputs — a loss has one output and
millions of inputs, and its gradient costs one backward pass — and forward mode when there are
fewer inputs than outputs, or for one direction at a time (`jvp`, `gradv`), where it also
records nothing on the tape. `jacobian` (C#: `JacobianMode.Auto`) evaluates the function once
to learn the output's size and picks reverse mode unless the output has more elements than the
input.

## Hessians

`hessian f x` is forward over reverse — the forward-mode Jacobian of the reverse-mode gradient,
one Hessian-vector product per element of `x` — with shape input ++ input. For logsumexp it is
$\operatorname{diag}(s) - s s^\top$ with $s = \operatorname{softmax}(x)$:
*)
let z = Tensor.ofList [ 1.0; 2.0; 3.0 ]
let h = hessian Tensor.logsumexp z
let s = Tensor.softmax 0 z
let hByHand = Tensor.eye DType.Float64 3 * s - Tensor.unsqueeze 1 s * Tensor.unsqueeze 0 s
(*** include-value: h ***)

printfn "by hand - hessian: %g" (float (Tensor.max (abs (hByHand - h))))
(*** include-output ***)

(**
For one product with a vector, `hessianv f x v` (or `hvp`) costs one forward and one backward
pass without forming the Hessian; `laplacian f x` is the Hessian's trace. A function of a matrix has a
Hessian of rank 4:
*)
let hv = hessianv Tensor.logsumexp z (Tensor.ofList [ 1.0; 0.0; -1.0 ])
let lap = laplacian Tensor.logsumexp z
let matrixHessian = hessian (fun m -> Tensor.sum (Tensor.matmul m m)) (Tensor.ofList2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])
printfn "H v = %O\nlaplacian = %O\nHessian of sum(M M) for a 2 x 2 M: shape %A" hv lap matrixHessian.Shape
(*** include-output ***)

(**
## A directional-derivative sweep

Along a line $w_0 + t\,d$ through parameter space, a loss becomes a function of one number,
$\varphi(t) = f(w_0 + t\,d)$, whose derivative is the directional derivative
$\varphi'(t) = \nabla f(w_0 + t\,d) \cdot d$. `valueAndGradv f w d` gives $\varphi$ and
$\varphi'$ in one forward pass, without forming the gradient; `diff2` of $\varphi$ gives
$\varphi''(t) = d^\top H d$ (forward over forward). Here $f$ is a Rosenbrock function,
$f(a, b) = (1 - a)^2 + 10\,(b - a^2)^2$, from its customary starting point $w_0 = (-1.2, 1)$ along
the steepest-descent direction there:
*)
let rosenbrock (w: Tensor) =
    let a = Tensor.narrow 0 0 1 w
    let b = Tensor.narrow 0 1 1 w
    (1.0 - a) ** 2.0 + 10.0 * (b - a * a) ** 2.0 |> Tensor.sum

let w0 = Tensor.ofList [ -1.2; 1.0 ]
let steepest = -(grad rosenbrock w0)
let d = steepest / Tensor.sqrt (Tensor.sum (steepest * steepest))
(*** include-value: d ***)

let ts = Array.init 61 (fun i -> 0.05 * float i)
let phi = ts |> Array.map (fun t -> valueAndGradv rosenbrock (w0 + t * d) d)
let curvature = ts |> Array.map (fun t -> diff2 (fun t -> rosenbrock (w0 + t * d)) (Tensor.scalar t))

printfn "    t      phi(t)     phi'(t)    phi''(t)"
for i in 0..10..60 do
    let value, slope = phi[i]
    printfn "%5.2f %11.4f %11.4f %11.4f" ts[i] (float value) (float slope) (float curvature[i])
(*** include-output ***)

(*** hide ***)
Lines
    { Chart.lines "A Rosenbrock function along the steepest-descent direction" "t" "" with
        Curves =
            [ Chart.curve "φ(t) = f(w₀ + t d)" Chart.palette[0] ts (phi |> Array.map (fst >> float))
              Chart.curve "φ′(t) = gradv f (w₀ + t d) d" Chart.palette[1] ts (phi |> Array.map (snd >> float))
              { Chart.curve "" Chart.palette[6] [| ts[0]; ts[ts.Length - 1] |] [| 0.0; 0.0 |] with Dashed = true; Width = 1.0 } ] }
|> Chart.png (640, 400)
|> picture "The loss along a line and its directional derivative" "φ and φ′ along the line; φ has a minimum where φ′ crosses zero from below."
(*** include-it-raw ***)

(**
Every point is one forward pass. `gradv` is the gradient dotted with the direction, which the
largest difference over the sweep confirms:
*)
let largestGap =
    ts |> Array.map (fun t ->
        let w = w0 + t * d
        abs (float (snd (valueAndGradv rosenbrock w d)) - float (Tensor.sum (grad rosenbrock w * d))))
    |> Array.max
(*** include-value: largestGap ***)

(**
## An op without a forward rule

Every built-in op has a forward rule except one that is never called directly: `trigamma`, the
derivative of `digamma`, which has neither a forward rule nor a derivative of its own. `lgamma` therefore has exact first and
second derivatives — its Hessian is $\operatorname{diag}(\mathrm{trigamma}(x))$ — but `digamma`
has no second derivative. Forward mode names the op it stopped at:
*)
let gammaAt = Tensor.ofList [ 1.0; 2.0 ]
let lgammaHessian = hessian (fun x -> Tensor.sum (Tensor.lgamma x)) gammaAt
(*** include-value: lgammaHessian ***)

let message (f: unit -> Tensor) =
    try
        f () |> sprintf "no error: %O"
    with :? AutoKlException as e -> e.Message

printfn "%s" (message (fun () -> hessian (fun x -> Tensor.sum (Tensor.digamma x)) gammaAt))
(*** include-output ***)

(**
Reverse over reverse gets no further: there the derivative of trigamma is needed as a backward
rule, and it is missing too.
*)
printfn "%s" (message (fun () -> grad (fun x -> grad (fun y -> Tensor.sum (Tensor.digamma y)) x |> Tensor.sum) gammaAt))
(*** include-output ***)

(**
A custom op declared once-differentiable (`Custom.unaryOnce`, C#
`differentiableVjp: false`, PyTorch's `once_differentiable`) says that its backward rule
computes off the tape. Reverse mode is fine; forward mode needs a rule it does not have, and
cannot derive one:
*)
let cubeOnce = Custom.unaryOnce "cube_once" (fun x -> x * x * x) (fun x _ g -> g * 3.0 * x * x)
let cubeAt = Tensor.ofList [ 1.0; 2.0 ]
let reverseOk = jacobianRev cubeOnce cubeAt
(*** include-value: reverseOk ***)

printfn "%s" (message (fun () -> jacobianFwd cubeOnce cubeAt))
(*** include-output ***)

(**
## Custom ops in forward mode

A `CustomFunction` may carry its own forward rule: given the input, the output and the input's
tangent, it returns the output's tangent $J v$. The F# `Custom` module does not take one, so
the op is declared through `CustomFunction.Unary` with the rule as the `jvp` argument. Here
softplus, $\log(1 + e^x)$, whose derivative is $\sigma(x)$:
*)
let softplusOp =
    CustomFunction.Unary(
        "softplus_with_jvp",
        Func<Tensor, Tensor>(Tensor.softplus),
        Func<Tensor, Tensor, Tensor, Tensor>(fun x _ g -> g * Tensor.sigmoid x),
        jvp = Func<Tensor, Tensor, Tensor, Tensor>(fun x _ t -> t * Tensor.sigmoid x))

let softplusWithJvp (x: Tensor) = softplusOp.Apply x

(**
Without one, AutoKl derives the forward rule from the backward rule, provided that rule is
written with tensor ops: a vector-Jacobian product is linear in the output's gradient $u$, so
differentiating $\langle \mathrm{vjp}(u), t \rangle$ with respect to $u$ gives $J t$. So this
op, declared with `Custom.unary` and a backward rule only, works in forward mode too:
*)
let softplusDerived = Custom.unary "softplus_derived" Tensor.softplus (fun x _ g -> g * Tensor.sigmoid x)

let points = Tensor.ofList [ -1.0; 0.0; 2.0 ]
let withJvp = jacobianFwd softplusWithJvp points
let derived = jacobianFwd softplusDerived points
(*** include-value: withJvp ***)
(*** include-value: derived ***)

(**
Both rules are written with tensor ops, so they nest like a built-in op's: the second
derivative forward over forward (`diff2`), forward over reverse (`hessian`) and reverse over
reverse agree with $\sigma(x)(1 - \sigma(x))$:
*)
let half = Tensor.scalar 0.5
let sigmoidHalf = Tensor.sigmoid half

for name, op in [ "softplus_with_jvp", softplusWithJvp; "softplus_derived", softplusDerived ] do
    printfn "%-18s diff2 %.12f  hessian %.12f  grad of grad %.12f"
        name
        (float (diff2 op half))
        (float (hessian (op >> Tensor.sum) (Tensor.ofList [ 0.5 ])))
        (float (grad (grad op) half))
printfn "%-18s       %.12f" "sigma (1 - sigma)" (float (sigmoidHalf * (1.0 - sigmoidHalf)))
(*** include-output ***)

(**
Next: [Writing your own loss](custom-losses.html).
*)
