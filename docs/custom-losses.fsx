(**
---
title: Writing your own loss
category: Guides
categoryindex: 1
index: 4
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
(**
# Writing your own loss

In AutoKl a loss is an ordinary function from tensors to a one-element tensor. Nothing has to
be registered and no derivative has to be written: every operation inside records itself on
the tape, so the gradient of a new loss is exact as soon as the function exists. This page
builds two losses people often need and cannot find ready-made — a symmetric KL and the
temperature-scaled KL of knowledge distillation — and checks their gradients.
*)
open AutoKl

(**
## A symmetric KL

KL(P‖Q) and KL(Q‖P) differ; their sum (Jeffreys' divergence) is symmetric. With the textbook
divergences of `Divergences`, each taking the probabilities along the last axis and returning
one value per row:
*)
let symmetricKl (p: Tensor) (q: Tensor) =
    Divergences.kl p q + Divergences.reverseKl p q |> Tensor.mean

let p = Tensor.ofList2D [ [ 0.2; 0.5; 0.2; 0.1 ]; [ 0.7; 0.1; 0.1; 0.1 ] ]
let q = Tensor.ofList2D [ [ 0.3; 0.4; 0.1; 0.2 ]; [ 0.25; 0.25; 0.25; 0.25 ] ]

let forward = symmetricKl p q
let backward = symmetricKl q p
(*** include-value: forward ***)
(*** include-value: backward ***)

(**
Its gradient with respect to Q, by `grad`, and the same derivative written out by hand,
averaged over the two rows:

$$$
\frac{\partial}{\partial q_i} \sum_j \Bigl(p_j \log\frac{p_j}{q_j} + q_j \log\frac{q_j}{p_j}\Bigr)
= -\frac{p_i}{q_i} + \log\frac{q_i}{p_i} + 1

*)
let dq = grad (fun q -> symmetricKl p q) q
let byHand = (-p / q + log (q / p) + 1.0) / 2.0
(*** include-value: dq ***)
(*** include-value: byHand ***)

(**
In practice Q usually comes from a model's scores, so the loss takes logits and goes through
`log_softmax`, which is exact even for very unequal scores:
*)
let symmetricKlFromLogits (pLogits: Tensor) (qLogits: Tensor) =
    let logP = pLogits |> Tensor.logSoftmax -1
    let logQ = qLogits |> Tensor.logSoftmax -1
    Divergences.klFromLogProbs logP logQ + Divergences.klFromLogProbs logQ logP |> Tensor.mean

(**
## Distillation: KL with a temperature

Knowledge distillation (Hinton et al., 2015) trains a student to match a teacher's softened
output: both sets of logits are divided by a temperature T > 1, and the KL between the
softened distributions is multiplied by $T^2$ so its gradients keep their size as T changes.
The KL is the textbook one per sample, so the reduction is `BatchMean` — PyTorch's default
`mean` would divide it again by the number of classes (see [KL conventions](kl-conventions.html)).
*)
let distillationKl (temperature: float) (teacherLogits: Tensor) (studentLogits: Tensor) =
    let target = teacherLogits / temperature |> Tensor.softmax -1
    let logQ = studentLogits / temperature |> Tensor.logSoftmax -1
    temperature * temperature * (logQ |> Losses.klDiv Reduction.BatchMean target)

let teacher = Tensor.randn (Generator 7) DType.Float64 [ 4; 10 ] * 3.0
let student = Tensor.randn (Generator 8) DType.Float64 [ 4; 10 ]

let atT1 = distillationKl 1.0 teacher student
let atT4 = distillationKl 4.0 teacher student
(*** include-value: atT1 ***)
(*** include-value: atT4 ***)

(**
It pipes like any other function, so the training loss is a composition — here with the
usual cross-entropy on the true labels:
*)
let labels = Tensor.ofInts [ 3; 1; 4; 1 ]
let trainingLoss (studentLogits: Tensor) =
    0.5 * Losses.CrossEntropy(studentLogits, labels) + 0.5 * distillationKl 4.0 teacher studentLogits

let lossValue, studentGrad = valueAndGrad trainingLoss student
(*** include-value: lossValue ***)

(**
## Checking a gradient

A hand-written loss deserves a gradient check, and one is three lines: compare the
directional derivative from the tape, $\nabla f \cdot v$, with central finite differences in float64
along a random direction.
*)
let gradientCheck (f: Tensor -> Tensor) (x: Tensor) =
    let v = Tensor.randn (Generator 1) DType.Float64 (List.ofArray x.Shape)
    let h = 1e-6
    let fromTape = grad f x * v |> Tensor.sum |> float
    let finiteDifference = (float (f (x + h * v)) - float (f (x - h * v))) / (2.0 * h)
    fromTape, finiteDifference

let tapeValue, finiteDifferenceValue = gradientCheck trainingLoss student
printfn "tape %.10f   finite differences %.10f" tapeValue finiteDifferenceValue
(*** include-output ***)

(**
## The same in C#

The C# surface is the same set of functions as static methods, with lambdas where F# takes
functions:

```csharp
using AutoKl;

static Tensor DistillationKl(double temperature, Tensor teacherLogits, Tensor studentLogits)
{
    var target = Tensor.Softmax(teacherLogits / temperature, -1);
    var logQ = Tensor.LogSoftmax(studentLogits / temperature, -1);
    return temperature * temperature * Losses.KlDiv(logQ, target, Reduction.BatchMean);
}

var student = Tensor.RandN(new[] { 4, 10 }, new Generator(8), DType.Float64).RequiresGrad_();
var loss = DistillationKl(4.0, teacher, student);
loss.Backward();                       // student.Grad now holds the exact gradient
var g = Autograd.Grad(s => DistillationKl(4.0, teacher, s), student);   // or functionally
```

Next: [KL conventions](kl-conventions.html).
*)
