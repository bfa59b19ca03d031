(**
---
title: Gradients
category: Guides
categoryindex: 1
index: 2
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
(**
# Gradients

AutoKl differentiates in reverse mode: while you compute, every operation on a tensor that
requires gradients is recorded on a tape, and a backward pass walks the tape from the result
back to the inputs. There are two ways to use it, and they give the same numbers:

- **the PyTorch way** — mark leaf tensors with `requiresGrad`, compute a scalar, call
  `Backward()`, read `.Grad`; gradients accumulate until zeroed, so the usual training loop
  (zero, loss, backward, step) works as written;
- **the functional way** — `grad f x`, `valueAndGrad f x`, `vjp f x v`, `hvp f x v` take a
  function and return gradients without touching any `.Grad`.
*)
open AutoKl

(**
## Backward and `.Grad`

For `loss = sum(x log x)` the gradient is `log x + 1`:
*)
let x = Tensor.ofList [ 0.2; 0.5; 0.3 ] |> Tensor.requiresGrad
let loss = x * log x |> Tensor.sum
loss.Backward()
(*** include-value: loss ***)
(*** include-value: x.Grad ***)

let expected = log (Tensor.ofList [ 0.2; 0.5; 0.3 ]) + 1.0
(*** include-value: expected ***)

(**
The result carries the name of the operation that produced it (`grad_fn`), as in PyTorch.
A second backward pass adds to `.Grad` — that is how gradients of several losses, or of
several mini-batches, are summed. `ZeroGrad()` clears it:
*)
(x * log x |> Tensor.sum).Backward()
let doubled = x.Grad
x.ZeroGrad()
printfn "after two passes: %O; after ZeroGrad, HasGrad = %b" doubled x.HasGrad
(*** include-output ***)

(**
Each of those passes ran through a graph computed afresh. A backward pass frees the graph it
ran through (the tensors its rules saved), as PyTorch does, so running backward through the
*same* graph again — the same `loss`, or a new loss built on an intermediate result of an
old one — is an error. Pass `retainGraph = true` to the first backward to keep the graph;
the second pass then adds its gradients again. (`createGraph = true`, for gradients of
gradients, keeps it too.)
*)
let twice =
    try
        loss.Backward()
        "no error"
    with :? AutoKlException as e -> e.Message
(*** include-value: twice ***)

let pair = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
let squares = pair * pair |> Tensor.sum
squares.Backward(retainGraph = true)
squares.Backward()
(*** include-value: pair.Grad ***)

(**
Only leaves (tensors you created) keep `.Grad`; intermediate results pass their gradient on.
`RetainGrad()` keeps it on an intermediate tensor too. `Backward()` needs a one-element
result; for anything else, pass the cotangent (`y.Backward(v)` computes the
vector-Jacobian product `vᵀJ`). Forgetting it is a clear error:
*)
let notScalar =
    try
        (x * 2.0).Backward()
        "no error"
    with :? AutoKlException as e -> e.Message
(*** include-value: notScalar ***)

(**
## Gradients as functions

`grad` takes an F# function from a tensor to a one-element tensor and returns the gradient
at a point; `valueAndGrad` returns both. The point does not need `requiresGrad`, and nothing
is left in any `.Grad`.
*)
let logSumExp (t: Tensor) = t |> Tensor.logsumexp

let point = Tensor.ofList [ 1.0; 2.0; 3.0 ]
let value, g = valueAndGrad logSumExp point
(*** include-value: value ***)
(*** include-value: g ***)

(**
The gradient of logsumexp is softmax, so the two agree:
*)
let softmaxOfPoint = point |> Tensor.softmax 0
(*** include-value: softmaxOfPoint ***)

(**
For functions of several tensors — most losses take a prediction and a target — `gradN` and
`valueAndGradN` take and return arrays. From C#, the same functions are
`Autograd.Grad(f, x)`, `Autograd.ValueAndGrad(f, x)` (both also for arrays of inputs),
`Autograd.Vjp(f, x, v)` and `Autograd.Hvp(f, x, v)` with lambdas.
*)
let gs = gradN (fun ts -> Tensor.sum (ts[0] * ts[1] ** 2.0)) [| Tensor.ofList [ 1.0; 2.0 ]; Tensor.ofList [ 3.0; 4.0 ] |]
(*** include-value: gs ***)

let lossValue, grads =
    valueAndGradN (fun ts -> Tensor.sum (ts[0] * log (ts[0] / ts[1])))
                  [| Tensor.ofList [ 0.2; 0.8 ]; Tensor.ofList [ 0.5; 0.5 ] |]
(*** include-value: lossValue ***)
(*** include-value: grads ***)

(**
## Vector-Jacobian products

For a function with a tensor result, `vjp f x v` returns the value and $v^\top J$: here
$f(x) = x^2$ elementwise, whose Jacobian is $\operatorname{diag}(2x)$:
*)
let fx, vJ = vjp (fun t -> t ** 2.0) (Tensor.ofList [ 1.0; 2.0; 3.0 ]) (Tensor.ofList [ 1.0; 10.0; 100.0 ])
(*** include-value: vJ ***)

(**
## Gradients of gradients: Hessian-vector products

Every backward rule in AutoKl is written with the same differentiable operations as the
forward pass, so a backward pass can itself be recorded and differentiated. `hvp f x v` is
the Hessian of `f` at `x` times `v`, computed as the gradient of $\nabla f \cdot v$ — without
forming the Hessian. For $f(x) = \sum_i x_i^3$ the Hessian is $\operatorname{diag}(6x)$:
*)
let cube (t: Tensor) = t ** 3.0 |> Tensor.sum
let at = Tensor.ofList [ 1.0; 2.0; 3.0 ]
let direction = Tensor.ofList [ 1.0; 1.0; 0.5 ]
let hv = hvp cube at direction
(*** include-value: hv ***)

(**
The same number from finite differences of the gradient:

$$$
H v \approx \frac{\nabla f(x + \varepsilon v) - \nabla f(x - \varepsilon v)}{2\varepsilon}

*)
let eps = 1e-5
let finiteDifference = (grad cube (at + eps * direction) - grad cube (at - eps * direction)) / (2.0 * eps)
(*** include-value: finiteDifference ***)

(**
In the PyTorch style the same thing is `Backward(createGraph = true)`, or
`Autograd.Gradients(output, inputs, createGraph = true)`, which returns gradients that are
themselves on the tape:
*)
let y = Tensor.ofList [ 0.5; -1.0 ] |> Tensor.requiresGrad
let dy = Autograd.Gradients(Tensor.sum (Tensor.tanh y), [| y |], createGraph = true)[0]
let d2y = Autograd.Gradients(Tensor.sum dy, [| y |])[0]
printfn "d/dy tanh = %O\nd²/dy² tanh = %O" dy d2y
(*** include-output ***)

(**
## Not recording: `noGrad` and `Detach`

Inside `noGrad` (C#: `using (Autograd.NoGrad()) { ... }`) nothing is recorded — the place for
parameter updates and for evaluation. `Detach()` returns a tensor with the same values that
is cut off from the tape: gradients do not flow through it (PyTorch's `.detach()`, the
"stop-gradient" of other libraries).
*)
let w = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
let updated = noGrad (fun () -> w - 0.1 * w)
printfn "recorded inside noGrad: %b" updated.RequiresGrad

let stopped = (w * w.Detach()) |> Tensor.sum   // d/dw = w.Detach(), not 2w
stopped.Backward()
printfn "gradient through a detached factor: %O" w.Grad
(*** include-output ***)

(**
`noGrad`, `Autograd.EnableGrad()`, `Autograd.DetectAnomaly()` and `Validation.Disabled()` are
switches of the current thread: another thread keeps its own. Each scope puts back what it found
when disposed, disposing twice does nothing, and scopes disposed out of order still leave the
switch as it was before the first one opened.

## Changing values in place: version counters

`Sub_`, `Add_`, `Copy_`, an optimizer's `Step()` and `Checkpoint.Load` overwrite a tensor's
values. The tape does not copy the values an op needs for its gradient; it keeps the tensors.
So every tensor carries a `Version`, bumped by each in-place change and shared with the tensors
over the same storage (`Detach()`, `reshape`), and each recorded op remembers the versions of the
tensors its rule reads. If one changed before `Backward()`, backward refuses with an error naming
the op, the tensor's shape and both versions, instead of computing a gradient from values the
forward pass never saw (PyTorch's "one of the variables needed for gradient computation has been
modified by an inplace operation"):
*)
let v = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
let vLoss = v * v |> Tensor.sum
noGrad (fun () -> v.Sub_(Tensor.ofList [ 0.5; 0.5 ]) |> ignore)   // say, an optimizer step too early
let refused =
    try vLoss.Backward(); "no error" with :? AutoKlException as e -> e.Message
printfn "version of v: %d\n%s" v.Version refused
(*** include-output ***)

(**
The fix is the order of the training loop — forward, `Backward()`, then the update — or a forward
pass recorded again after the change. Ops whose rule reads only shapes (`+`, `-`, `sum`,
`reshape`, ...) do not mind: a tensor that only they used may change freely.

## Finding the first NaN: anomaly detection

Inside `detectAnomaly` (C#: `using (Autograd.DetectAnomaly()) { ... }`, PyTorch's
`torch.autograd.detect_anomaly`) each recorded op remembers the line of your code that created it,
and the first op whose forward result or backward gradient holds a NaN or an infinity throws,
naming the op, the pass, the input shapes and that line. It costs a stack trace per op, so switch
it on to hunt a NaN, not for training; off, it costs nothing measurable.
*)
let z = Tensor.ofList [ 0.0; 4.0 ] |> Tensor.requiresGrad
let anomaly =
    try
        detectAnomaly (fun () -> (Tensor.sqrt z |> Tensor.sum).Backward())
        "no error"
    with :? AutoKlException as e -> e.Message
printfn "%s" anomaly
(*** include-output ***)

(**
Next: [Derivatives of derivatives](derivatives.html).
*)
