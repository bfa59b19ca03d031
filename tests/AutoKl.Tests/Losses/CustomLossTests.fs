/// A loss is an ordinary function of tensors: composing new ones (a symmetric KL, a distillation
/// KL with temperature) gives exact gradients with no extra code, from F# functions and from
/// C#-style calls (Func, instance methods, Autograd.Grad).
module AutoKl.Tests.Losses.CustomLossTests

open Expecto
open System
open AutoKl
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner

/// KL(P||Q) + KL(Q||P) per row, averaged over the batch.
let symmetricKl (p: Tensor) (q: Tensor) = Divergences.kl p q + Divergences.reverseKl p q |> Tensor.mean

/// Hinton et al.'s distillation loss: T^2 KL(softmax(teacher/T) || softmax(student/T)), per sample
/// averaged over the batch (PyTorch's kl_div with batchmean).
let distillation (temperature: float) (teacherLogits: Tensor) (studentLogits: Tensor) =
    let teacher = teacherLogits / temperature |> Tensor.softmax 1
    let student = studentLogits / temperature |> Tensor.logSoftmax 1
    (student |> Losses.klDiv Reduction.BatchMean teacher) * (temperature * temperature)

[<Tests>]
let tests =
    testList "Losses.CustomLosses" [
        testCase "a symmetric KL written in F# has exact gradients" <| fun () ->
            let p = probs 1 [| 3; 4 |]
            let q = probs 2 [| 3; 4 |]
            let value, g = valueAndGrad (symmetricKl p) q
            // d/dq [sum p log(p/q) + q log(q/p)] = -p/q + log(q/p) + 1, divided by the 3 rows of the mean
            let expected = (-(p / q) + Tensor.Log(q / p) + 1.0) / 3.0
            Check.tensorClose "analytic gradient" 1e-12 1e-14 expected g
            let manual = (Divergences.KL(p, q) + Divergences.KL(q, p)).Mean().ToScalar()
            Check.arraysClose "value" 1e-15 0.0 [| manual |] [| value.ToScalar() |]
            GradCheck.check (fun xs -> symmetricKl xs.[0] xs.[1]) [| gentleProbs 3 [| 3; 4 |]; gentleProbs 4 [| 3; 4 |] |]

        testCase "a distillation KL with temperature written in F# has exact gradients" <| fun () ->
            let teacher = Tensor.RandN([| 4; 5 |], Generator(7), DType.Float64) * 3.0
            let student = Tensor.RandN([| 4; 5 |], Generator(8), DType.Float64) * 3.0
            for t in [ 1.0; 2.0; 5.0 ] do
                let g = grad (distillation t teacher) student
                // d/ds T^2 KL / N = T (softmax(s/T) - softmax(teacher/T)) / N
                let expected = (Tensor.Softmax(student / t, 1) - Tensor.Softmax(teacher / t, 1)) * (t / 4.0)
                Check.tensorClose (sprintf "T = %g" t) 1e-12 1e-14 expected g
                GradCheck.check (fun xs -> distillation t xs.[0] xs.[1]) [| teacher; student |]
                // second order works too (the backward rules are differentiable)
                GradCheck.checkHvp 1e-5 1e-8 (distillation t teacher) student 3

        testCase "the same losses from C#-style calls: Func values, instance methods and Autograd.Grad" <| fun () ->
            let teacher = Tensor.RandN([| 4; 5 |], Generator(9), DType.Float64)
            let student = Tensor.RandN([| 4; 5 |], Generator(10), DType.Float64)
            let temperature = 2.0
            // As a C# user writes it: a Func<Tensor, Tensor, Tensor> built from method calls.
            let distill =
                Func<Tensor, Tensor, Tensor>(fun s tch ->
                    Losses.KlDiv((s / temperature).LogSoftmax(1), (tch / temperature).Softmax(1), Reduction.BatchMean) * (temperature * temperature))
            let symmetric =
                Func<Tensor, Tensor, Tensor>(fun p q -> (Divergences.KL(p, q) + Divergences.ReverseKL(p, q)).Mean())
            let g = Autograd.Grad(Func<Tensor, Tensor>(fun s -> distill.Invoke(s, teacher)), student)
            Check.tensorClose "distillation" 1e-13 1e-15 (grad (distillation temperature teacher) student) g
            let p = Tensor.Softmax(teacher, 1)
            let q = Tensor.Softmax(student, 1)
            let gs = Autograd.Grad(Func<Tensor[], Tensor>(fun xs -> symmetric.Invoke(xs.[0], xs.[1])), p, q)
            Check.tensorClose "symmetric wrt q" 1e-13 1e-15 (grad (symmetricKl p) q) gs.[1]
            Check.tensorClose "symmetric wrt p" 1e-13 1e-15 (grad (fun p -> symmetricKl p q) p) gs.[0]
            // and backward() on the tape, the PyTorch way
            let s = student.Detach().RequiresGrad_()
            distill.Invoke(s, teacher).Backward()
            Check.tensorClose "Backward" 1e-13 1e-15 g s.Grad
    ]
