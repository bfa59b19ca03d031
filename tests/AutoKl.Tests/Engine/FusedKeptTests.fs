/// What the fused losses keep from their forward pass for their backward pass: cross_entropy's
/// exp(x - max) and row sums, which its backward turns into the gradient in place when the pass
/// frees the graph. A pass that keeps the graph must leave them intact for the next pass; and
/// kl_div's value check, which rides on the fused sum, must still refuse a bad target.
module AutoKl.Tests.Engine.FusedKeptTests

open System
open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support.Check
open AutoKl.Tests.Support.Settings

let private logits () = Tensor.RandN([| 6; 9 |], Generator(5), DType.Float64).RequiresGrad_()

let private targets soft =
    if soft then Tensor.Softmax(Tensor.RandN([| 6; 9 |], Generator(6), DType.Float64), 1)
    else Tensor.FromArray([| 0L; 3L; 8L; -100L; 2L; 2L |])

let private composedGrad soft =
    withFusion false (fun () ->
        let x = logits ()
        Losses.CrossEntropy(x, targets soft).Backward()
        x.Grad.ToDoubleArray())

[<Tests>]
let tests =
    testList "Engine.FusedKept" [
        for soft in [ false; true ] do
            let kind = if soft then "soft targets" else "class indices"
            testCase (sprintf "cross_entropy (%s): a second backward through a kept graph gives the same gradient" kind) <| fun () ->
                let x = logits ()
                let loss = Losses.CrossEntropy(x, targets soft)
                loss.Backward(retainGraph = true)
                let first = x.Grad.ToDoubleArray()
                loss.Backward()
                let twice = x.Grad.ToDoubleArray()
                let expected = composedGrad soft
                for i in 0 .. first.Length - 1 do
                    Expect.floatClose { absolute = 1e-15; relative = 1e-12 } first[i] expected[i] (sprintf "first pass, element %d, against the composed formula" i)
                    Expect.equal twice[i] (2.0 * first[i]) (sprintf "element %d: the second pass must add the same gradient again" i)

            testCase (sprintf "cross_entropy (%s): gradients through Autograd.Gradients twice agree" kind) <| fun () ->
                let x = logits ()
                let loss = Losses.CrossEntropy(x, targets soft)
                let a = (Autograd.Gradients(loss, [| x |], retainGraph = true)).[0].ToDoubleArray()
                let b = (Autograd.Gradients(loss, [| x |])).[0].ToDoubleArray()
                Expect.sequenceEqual b a "the kept exps were spent by the first call"

        for throughLogSoftmax in [ false; true ] do
            let kind = if throughLogSoftmax then "of a log_softmax" else "of a leaf"
            let loss (x: Tensor) =
                let logT = Tensor.LogSoftmax(Tensor.RandN([| 6; 9 |], Generator(8), DType.Float64), 1)
                let q = if throughLogSoftmax then Tensor.LogSoftmax(x, 1) else x
                Losses.KlDiv(q, logT, Reduction.BatchMean, logTarget = true)
            testCase (sprintf "kl_div with log_target %s: the kept exp(t) survive a pass that keeps the graph" kind) <| fun () ->
                let x = logits ()
                let l = loss x
                l.Backward(retainGraph = true)
                let first = x.Grad.ToDoubleArray()
                l.Backward()
                let twice = x.Grad.ToDoubleArray()
                let expected =
                    withFusion false (fun () ->
                        let y = logits ()
                        (loss y).Backward()
                        y.Grad.ToDoubleArray())
                for i in 0 .. first.Length - 1 do
                    Expect.floatClose { absolute = 1e-15; relative = 1e-12 } first[i] expected[i] (sprintf "first pass, element %d, against the composed formula" i)
                    Expect.equal twice[i] (2.0 * first[i]) (sprintf "element %d: the second pass must add the same gradient again" i)

        // What a loss kept for its backward pass is spent by that pass (handed back to the pool); the
        // scope around the step must not hand it back a second time (the poisoned pool throws on that)
        let losses : (string * (Tensor -> Tensor)) list =
            // rows of at least 16, so that the kept row sums are pooled arrays too
            let soft = Tensor.Softmax(Tensor.RandN([| 20; 9 |], Generator(6), DType.Float32), 1)
            let logT = Tensor.LogSoftmax(Tensor.RandN([| 20; 9 |], Generator(8), DType.Float32), 1)
            let classes = Tensor.FromArray(Array.init 20 (fun i -> int64 (i % 9)))
            [ "cross_entropy, class indices", (fun x -> Losses.CrossEntropy(x, classes))
              "cross_entropy, soft targets", (fun x -> Losses.CrossEntropy(x, soft))
              "kl_div of log_softmax", (fun x -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), soft, Reduction.BatchMean))
              "kl_div of log_softmax, log_target", (fun x -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), logT, Reduction.BatchMean, logTarget = true))
              "kl_div of a leaf, log_target", (fun x -> Losses.KlDiv(x, logT, Reduction.BatchMean, logTarget = true)) ]
        for name, loss in losses do
            testSequenced (testCase (sprintf "%s: Adam steps inside scopes, pool poisoned, give the unscoped bits" name) (fun () ->
                let run scoped =
                    let x = Tensor.RandN([| 20; 9 |], Generator(5), DType.Float32).RequiresGrad_()
                    let adam = Adam([ x ], lr = 0.01)
                    for _ in 1 .. 5 do
                        use _ = if scoped then Tensor.Scope() :> IDisposable else { new IDisposable with member _.Dispose() = () }
                        adam.ZeroGrad()
                        // twice: the second gradient is added into .Grad, the first becomes it
                        (loss x).Backward()
                        (loss x).Backward()
                        adam.Step()
                    x.ToSingleArray()
                withPoison true (fun () ->
                    let plain = run false
                    let scoped = run true
                    Expect.sequenceEqual scoped plain "the scoped steps must give the same parameters")))

        testCase "cross_entropy refuses a NaN soft target, naming it (the check runs inside the row kernel)" <| fun () ->
            let t = (targets true).ToDoubleArray()
            t[20] <- nan
            throwsAutoKl [ "cross_entropy"; "target" ] (fun () -> Losses.CrossEntropy(logits (), Tensor.FromArray(t, [| 6; 9 |]))) |> ignore

        testCase "cross_entropy with value checks off computes a negative soft target's formula, as the composed form does" <| fun () ->
            let t = (targets true).ToDoubleArray()
            t[4] <- -0.25
            let target = Tensor.FromArray(t, [| 6; 9 |])
            use _ = Validation.Disabled()
            let fused = Losses.CrossEntropy(logits (), target).ToScalar()
            let composed = withFusion false (fun () -> Losses.CrossEntropy(logits (), target).ToScalar())
            Expect.isFalse (Double.IsNaN fused) "a checked row must not turn into NaN when checks are off"
            Expect.floatClose { absolute = 1e-14; relative = 1e-12 } fused composed "fused against composed"

        for dtype in [ DType.Float32; DType.Float64 ] do
            testCase (sprintf "kl_div refuses a negative target on the fused path (%A)" dtype) <| fun () ->
                let q = Tensor.LogSoftmax(Tensor.RandN([| 4; 5 |], Generator(1), dtype).RequiresGrad_(), 1)
                let t = Tensor.Softmax(Tensor.RandN([| 4; 5 |], Generator(2), dtype), 1).ToDoubleArray()
                t[7] <- -0.25
                let target = Tensor.FromArray(t, [| 4; 5 |]).ToType dtype
                throwsAutoKl [ "kl_div"; "target"; "-0.25" ] (fun () -> Losses.KlDiv(q, target, Reduction.BatchMean)) |> ignore

            testCase (sprintf "kl_div refuses a NaN target on the fused path (%A)" dtype) <| fun () ->
                let q = Tensor.LogSoftmax(Tensor.RandN([| 4; 5 |], Generator(1), dtype), 1)
                let t = Tensor.Softmax(Tensor.RandN([| 4; 5 |], Generator(2), dtype), 1).ToDoubleArray()
                t[3] <- nan
                let target = Tensor.FromArray(t, [| 4; 5 |]).ToType dtype
                throwsAutoKl [ "kl_div"; "target" ] (fun () -> Losses.KlDiv(q, target)) |> ignore
    ]
