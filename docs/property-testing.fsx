(**
---
title: Property-based gradient tests
category: Guides
categoryindex: 1
index: 8
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#I "../src/AutoKl.Testing/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
#r "FsCheck.dll"
#r "Expecto.dll"
#r "Expecto.FsCheck3.dll"
#r "AutoKl.Testing.dll"
(**
# Property-based gradient tests

A gradient that is wrong rarely announces itself: the optimizer still moves, just not downhill.
The package `AutoKl.Testing` is the kit this project checks its own gradients with, for your
losses and ops:

- `gradcheck` and `gradgradcheck`, in the spirit of PyTorch's: the tape's derivatives against
  central finite differences in float64, with PyTorch's tolerances (eps 1e-6, atol 1e-5,
  rtol 1e-3) that you can change, full Jacobians for small inputs and random projections
  (PyTorch's `fast_mode`) for large ones, and a report of the worst entry when a check fails;
- FsCheck 3 arbitraries for shapes, broadcasting pairs, tensors in a range, probability
  vectors, logits with class targets and points kept away from kinks, which all shrink;
- Expecto helpers that turn a function and an arbitrary into a test in one call.

From C# the same checks are `GradCheck.Run(f, x)` (a result) and `GradCheck.Assert(f, x)`
(throws), and the arbitraries are the static methods of `Arbitraries`.
*)
open AutoKl
open AutoKl.Testing

(**
## Checking a custom loss

A symmetric KL per row, averaged. `gradcheck` takes a function of an array of tensors and the
point; it checks every input that requires a gradient (or every float input when none is
marked) and throws with a report when one is wrong. `gradcheckResult` returns the result
instead:
*)
let symmetricKl (xs: Tensor[]) =
    let p, q = xs.[0], xs.[1]
    Divergences.kl p q + Divergences.reverseKl p q |> Tensor.mean

let p = Tensor.FromArray([| 0.2; 0.5; 0.3; 0.6; 0.3; 0.1 |], 2, 3)
let q = Tensor.FromArray([| 0.3; 0.4; 0.3; 0.2; 0.2; 0.6 |], 2, 3)
let lossCheck = gradcheckResult (GradCheckOptions()) symmetricKl [| p; q |]
(*** include-value: lossCheck ***)

(**
Both inputs were checked through their whole 1 x 6 Jacobians. Float32 inputs are refused
(finite differences in float32 are too coarse to check anything) and the error says how to
convert them; so are a function that is not finite or not deterministic at the point, and an
input the output does not depend on:
*)
let float32Refused =
    try gradcheck symmetricKl [| p.ToType(DType.Float32); q |]; "passed"
    with e -> e.Message
(*** include-value: float32Refused ***)

(**
## An op with a hand-written gradient

`log(1 + exp x)` overflows for large x when written as it reads. The stable form is
`relu x + log(1 + exp(-|x|))`, and its derivative is simply the sigmoid. `Custom.unary`
(C#: `CustomFunction.Unary`) makes it an op with that derivative: one node on the tape named
`softplus`, whatever the forward computes inside.
*)
let softplus =
    Custom.unary "softplus"
        (fun x -> Tensor.relu x + log (1.0 + exp (-(abs x))))
        (fun x _y g -> g * Tensor.sigmoid x)

let sp = softplus (Tensor.ofList [ -1000.0; 0.0; 1000.0 ] |> Tensor.requiresGrad)
(*** include-value: sp ***)

(**
Its derivative is written with tensor ops, so the second derivative exists too, and
`gradgradcheck` checks it (the Hessian-vector products `hvp` computes):
*)
let x0 = Tensor.ofList [ -3.0; -0.5; 0.7; 4.0 ]
gradcheck (fun xs -> softplus xs.[0]) [| x0 |]
let second = gradgradcheckResult (GradCheckOptions()) (fun xs -> softplus xs.[0] |> Tensor.sum) [| x0 |]
(*** include-value: second ***)

(**
A derivative computed on raw arrays (`ToDoubleArray`) works for first derivatives; asking for a
second one through it is an error naming the op, never a silent zero. A rule returning the
wrong number of gradients or a wrong shape is an error naming the op and the input.

## A property over generated inputs

One point proves little. `testGradcheck` runs gradcheck on every input an arbitrary generates;
here over tensors of rank 0 to 3 with values between -20 and 20:

```fsharp
open Expecto

[<Tests>]
let tests =
    testList "my ops" [
        testGradcheck "softplus" (Arbitraries.Tensors(-20.0, 20.0)) (fun s -> [| s.Tensor |]) (fun xs -> softplus xs.[0])
        testGradcheck "symmetric KL" (Arbitraries.Probabilities())
            (fun s -> let k = float s.Shape.[s.Shape.Length - 1] in [| s.Tensor; (s.Tensor + 1.0) / (1.0 + k) |])
            symmetricKl
    ]
```

The same properties can run anywhere FsCheck runs. Below, one over generated probability
vectors and batches (rows on the last axis summing to 1, every entry positive), checking the
symmetric KL of each against a smoothed copy of itself:
*)
open FsCheck
open FsCheck.FSharp

let klProperty =
    gradProperty (GradCheckOptions()) (Arbitraries.Probabilities()) (fun s ->
        let pt = s.Tensor
        let k = float s.Shape.[s.Shape.Length - 1]
        [| pt; (pt + 1.0) / (1.0 + k) |]) symmetricKl

let klOutcome =
    try Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), klProperty); "40 generated cases passed"
    with e -> e.Message
(*** include-value: klOutcome ***)

(**
A sample of what the arbitrary produces (shapes and values are FsCheck's own data, so they
shrink too):
*)
let someProbabilities = Gen.sampleWithSize 10 3 (Arb.toGen (Arbitraries.Probabilities())) |> Array.map string
(*** include-value: someProbabilities ***)

(**
## What a failing check prints

Here is softplus with a deliberately wrong rule: the sigmoid is right for x below 1 and off by
10% above. At a single point near 0 the mistake is invisible. The property finds a failing
input, FsCheck shrinks it to the simplest one that still fails (a scalar, with a round value),
and the gradcheck report for that input says which entry is wrong and by how much:
*)
let wrongSoftplus =
    Custom.unary "wrong_softplus"
        (fun x -> Tensor.relu x + log (1.0 + exp (-(abs x))))
        (fun x _ g -> g * Tensor.sigmoid x * (1.0 + 0.1 * Tensor.gt x (Tensor.scalar 1.0)))

let failure =
    let property = gradProperty (GradCheckOptions()) (Arbitraries.Tensors(-5.0, 5.0)) (fun s -> [| s.Tensor |]) (fun xs -> wrongSoftplus xs.[0])
    // A fixed seed, so this page shows the same run every time it is built.
    let config = Config.QuickThrowOnFailure.WithMaxTest(100).WithReplay(Some { Rnd = Rnd(9UL, 13UL); Size = None })
    try Check.One(config, property); "not caught"
    with e -> e.Message
(*** include-value: failure ***)

(**
FsCheck found a failing tensor ("Original") and shrank it to a scalar ("Shrunk"). The same property
as an Expecto test (`testGradcheck`) fails with this text in its message.
The report alone, from `gradcheckResult` on a vector, shows the Jacobian around the worst
entry:
*)
let result = gradcheckResult (GradCheckOptions()) (fun xs -> wrongSoftplus xs.[0]) [| Tensor.ofList [ 0.5; 2.0; 3.0 ] |]
let report = result.Report
(*** include-value: report ***)

(**
The result's fields hold the same facts for code: `result.Passed`, and for each failure the
input, `ElementIndex`, `OutputIndex`, `Analytic`, `Numerical`, `Allowed` and the slices
`AnalyticSlice`/`NumericalSlice` with their row and column labels.
*)
let worst = result.Failures.[0].ElementIndex, result.Failures.[0].Analytic, result.Failures.[0].Numerical
(*** include-value: worst ***)

(**
## Choosing the settings

| setting | default | |
|---|---|---|
| `Eps` | 1e-6 | the step of the central differences |
| `Atol`, `Rtol` | 1e-5, 1e-3 | an entry passes when abs(analytic - numerical) <= atol + rtol * abs(numerical) |
| `Mode` | `Auto` | `Full` Jacobians, `Fast` random projections v^T J u, or by size |
| `FullJacobianLimit` | 4096 | in `Auto`, the largest Jacobian (input x output elements) checked in full |
| `Projections` | 2 | random projections per input in fast mode |
| `NondetTol` | 0 | how far two evaluations may differ before the function is called non-deterministic |
| `Seed` | 0 | of the random cotangents and directions |

Points where the function has no derivative (abs and relu at 0, clamp at its bounds, maximum at
a tie) make any finite-difference check fail: generate inputs with
`Arbitraries.AwayFromKinks([| 0.0 |], 0.01, -3.0, 3.0)` or `Arbitraries.TensorPairsApart`.
*)
