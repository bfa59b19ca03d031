/// The fused losses (kl_div to a scalar, kl_div of a log_softmax, cross_entropy over rows) against
/// the composed formulas they replace, in float64: values, gradients from the fused kernels (a
/// backward pass that records nothing), gradients through the reference path (target gradients,
/// create_graph), and Hessian-vector products; finite differences; the same bits for any thread
/// count. And the storage pool: reused arrays never carry values from one tensor into another
/// (checked with poisoned arrays), a held .Grad keeps its values, and a warm training step
/// allocates almost nothing.
module AutoKl.Tests.Engine.FusedLossTests

open System
open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Distributions
open AutoKl.Tests.Support.Settings

let private close (what: string) (expected: Tensor) (actual: Tensor) =
    Expect.sequenceEqual actual.Shape expected.Shape (what + ": shape")
    let e = expected.ToDoubleArray()
    let a = actual.ToDoubleArray()
    for i in 0 .. e.Length - 1 do
        let tol = 1e-13 + 1e-11 * abs e.[i]
        let same = abs (a.[i] - e.[i]) <= tol || (Double.IsNaN e.[i] && Double.IsNaN a.[i])
        if not same then
            failtestf "%s: element %d is %.17g, the composed formula gives %.17g" what i a.[i] e.[i]

let private bits (t: Tensor) = t.ToDoubleArray() |> Array.map BitConverter.DoubleToInt64Bits

/// Value; gradients of a backward pass that records nothing (both through Autograd.Gradients and
/// accumulated by Backward into .Grad); gradients recorded for a second derivative; and the
/// Hessian-vector product of every differentiable input.
let private evaluate (f: Tensor[] -> Tensor) (inputs: Tensor[]) (differentiable: bool[]) =
    let leaves () = Array.map2 (fun (x: Tensor) d -> if d then x.Detach().RequiresGrad_() else x) inputs differentiable
    let pick (xs: Tensor[]) = Array.zip xs differentiable |> Array.filter snd |> Array.map fst
    let xs = leaves ()
    let value = f xs
    let plain = Autograd.Gradients(value, pick xs)
    let ys = leaves ()
    (f ys).Backward()
    let accumulated = pick ys |> Array.map (fun y -> y.Grad)
    let zs = leaves ()
    let dz = pick zs
    let recorded = Autograd.Gradients(f zs, dz, createGraph = true)
    let directions = dz |> Array.mapi (fun k z -> Tensor.RandN(z.Shape, Generator(k + 11), DType.Float64))
    let dot = Array.map2 (fun (g: Tensor) (v: Tensor) -> Tensor.Sum(g * v)) recorded directions |> Array.reduce (+)
    let hv = Autograd.Gradients(dot, dz)
    // an output gradient other than 1, in a pass that frees the graph and in one that keeps it
    let ws = leaves ()
    let scaled = Autograd.Gradients(f ws, pick ws, Tensor.Scalar(-2.5, value.DType))
    let us = leaves ()
    let scaledKept = Autograd.Gradients(f us, pick us, Tensor.Scalar(0.375, value.DType), retainGraph = true)
    value, plain, accumulated, recorded, Array.concat [ hv; scaled; scaledKept ]

let private agree (name: string) (f: Tensor[] -> Tensor) (inputs: Tensor[]) (differentiable: bool[]) =
    let v1, g1, a1, r1, h1 = withFusion true (fun () -> evaluate f inputs differentiable)
    let v0, g0, a0, r0, h0 = withFusion false (fun () -> evaluate f inputs differentiable)
    close (name + ": value") v0 v1
    Array.iteri2 (fun k e a -> close (sprintf "%s: gradient %d" name k) e a) g0 g1
    Array.iteri2 (fun k e a -> close (sprintf "%s: .Grad %d" name k) e a) a0 a1
    Array.iteri2 (fun k e a -> close (sprintf "%s: recorded gradient %d" name k) e a) r0 r1
    Array.iteri2 (fun k e a -> close (sprintf "%s: Hessian-vector product or scaled gradient %d" name k) e a) h0 h1

let private logits (seed: int) (shape: int[]) = Tensor.RandN(shape, Generator(seed), DType.Float64)

/// Probabilities along the last axis, with one exact zero (xlogy's special case).
let private probs (seed: int) (shape: int[]) =
    let p = Tensor.Softmax(logits seed shape, -1).ToDoubleArray()
    p.[1] <- 0.0
    Tensor.FromArray(p, shape)

let private reductions = [ Reduction.Sum; Reduction.Mean; Reduction.BatchMean ]

/// Whether the loss was recorded as one fused op on the logits (and not as the composition).
let private fusedOnLogits (loss: Tensor) = loss.GradFnName

[<Tests>]
let fusedTests =
    testList "Engine.FusedLosses" [
        for reduction in reductions do
            for logTarget in [ false; true ] do
                let target shape = if logTarget then Tensor.LogSoftmax(logits 2 shape, -1) else probs 2 shape
                testCase (sprintf "kl_div(log_softmax(x), t, %A, logTarget=%b) = composed, rows of [3, 5]" reduction logTarget) <| fun () ->
                    let f (xs: Tensor[]) = Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), xs.[1], reduction, logTarget)
                    agree "target constant" f [| logits 1 [| 3; 5 |]; target [| 3; 5 |] |] [| true; false |]
                    agree "target differentiable" f [| logits 1 [| 3; 5 |]; target [| 3; 5 |] |] [| true; true |]
                testCase (sprintf "kl_div(input, t, %A, logTarget=%b) = composed, input not from log_softmax" reduction logTarget) <| fun () ->
                    let f (xs: Tensor[]) = Losses.KlDiv(xs.[0] * 0.5 - 1.0, xs.[1], reduction, logTarget)
                    agree "plain input" f [| logits 3 [| 4; 3 |]; target [| 4; 3 |] |] [| true; false |]
                    agree "plain input, target differentiable" f [| logits 3 [| 4; 3 |]; target [| 4; 3 |] |] [| true; true |]
        testCase "kl_div of log_softmax over a middle axis with a trailing axis of 1, and of a vector" <| fun () ->
            let f axis (xs: Tensor[]) = Losses.KlDiv(Tensor.LogSoftmax(xs.[0], axis), xs.[1], Reduction.BatchMean)
            let t = Tensor.Softmax(logits 4 [| 2; 5; 1 |], 1)
            agree "[2, 5, 1] axis 1" (f 1) [| logits 5 [| 2; 5; 1 |]; t |] [| true; false |]
            agree "[2, 5, 1] axis 0 (strided rows: composed)" (f 0) [| logits 5 [| 2; 5; 1 |]; t |] [| true; false |]
            agree "[6] axis 0" (f 0) [| logits 6 [| 6 |]; probs 7 [| 6 |] |] [| true; false |]
        testCase "kl_div of log_softmax is one op on the logits; a retained log_softmax keeps the composition" <| fun () ->
            let x = (logits 1 [| 3; 5 |]).RequiresGrad_()
            let loss = Losses.KlDiv(Tensor.LogSoftmax(x, 1), probs 2 [| 3; 5 |], Reduction.BatchMean)
            Expect.equal loss.GradFnName "kl_div" "fused op"
            let y = Tensor.LogSoftmax(x, 1).RetainGrad()
            let composed = Losses.KlDiv(y, probs 2 [| 3; 5 |], Reduction.BatchMean)
            composed.Backward()
            Expect.isTrue y.HasGrad "the retained log_softmax output gets its gradient"
            close "retained path value" loss composed

        testCase "the fused pair answers for the log_softmax output too: its gradient asked for, or retained after the loss is built" <| fun () ->
            // issue 24, item 1: the gradient with respect to y was zeros when kl_div was fused after it
            let t = probs 2 [| 3; 5 |]
            let x = (logits 1 [| 3; 5 |]).RequiresGrad_()
            let y = Tensor.LogSoftmax(x, 1)
            let loss = Losses.KlDiv(y, t, Reduction.BatchMean)
            let gy = Autograd.Gradients(loss, [| y |]).[0]
            close "d loss / d y = -t / batch" (-t / 3.0) gy
            let x2 = (logits 1 [| 3; 5 |]).RequiresGrad_()
            let y2 = Tensor.LogSoftmax(x2, 1)
            let loss2 = Losses.KlDiv(y2, t, Reduction.BatchMean)
            y2.RetainGrad() |> ignore
            loss2.Backward()
            close "retained after the loss was built" (-t / 3.0) y2.Grad
            let both = Autograd.Gradients(Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean), [| x |]).[0]
            close "and the logits' gradient is the pair's" (withFusion false (fun () ->
                Autograd.Gradients(Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean), [| x |]).[0])) both

        testCase "a log_softmax output changed in place before a fused kl_div: backward refuses, as composed" <| fun () ->
            // issue 24, item 3: the loss came from the new values and the gradient from the old logits
            for fused in [ true; false ] do
                withFusion fused (fun () ->
                    let x = (logits 1 [| 3; 5 |]).RequiresGrad_()
                    let y = Tensor.LogSoftmax(x, 1)
                    (use _ = Autograd.NoGrad()
                     y.Sub_(Tensor.fullLike 0.25 y) |> ignore)
                    let loss = Losses.KlDiv(y, probs 2 [| 3; 5 |], Reduction.BatchMean)
                    let e = Expect.throwsC (fun () -> loss.Backward()) id
                    Expect.stringContains e.Message "modified by an in-place operation" (sprintf "fused=%b: the version error" fused))
        for reduction in [ Reduction.Sum; Reduction.Mean ] do
            testCase (sprintf "cross_entropy with class indices (one ignored) = composed, %A" reduction) <| fun () ->
                let target = Tensor.FromArray([| 2L; -100L; 0L; 4L |])
                let f (xs: Tensor[]) = Losses.CrossEntropy(xs.[0], target, reduction)
                agree "indices" f [| logits 8 [| 4; 5 |] |] [| true |]
                let g (xs: Tensor[]) = Losses.CrossEntropy(xs.[0], Tensor.FromArray([| 3L |]).Reshape([||]), reduction)
                agree "one sample, rank 1" g [| logits 9 [| 5 |] |] [| true |]
                let h (xs: Tensor[]) = Losses.CrossEntropy(xs.[0], Tensor.FromArray([| 2L; 4L; 0L; 4L |]), reduction, ignoreIndex = 4L)
                agree "another ignore index" h [| logits 8 [| 4; 5 |] |] [| true |]
            testCase (sprintf "cross_entropy with soft targets = composed, %A" reduction) <| fun () ->
                let f (xs: Tensor[]) = Losses.CrossEntropy(xs.[0], xs.[1], reduction)
                agree "soft" f [| logits 10 [| 4; 5 |]; probs 11 [| 4; 5 |] |] [| true; false |]
                agree "soft, target differentiable" f [| logits 10 [| 4; 5 |]; probs 11 [| 4; 5 |] |] [| true; true |]
                agree "soft, large logits" f [| (logits 10 [| 4; 5 |]) * 1e4; probs 11 [| 4; 5 |] |] [| true; false |]
                // rows of 37: the kernels' vector loops and their tails
                agree "soft, rows of 37" f [| logits 12 [| 3; 37 |]; probs 13 [| 3; 37 |] |] [| true; false |]
                agree "indices, rows of 37" (fun xs -> Losses.CrossEntropy(xs.[0], Tensor.FromArray([| 36L; 0L; 17L |]), reduction)) [| logits 14 [| 3; 37 |] |] [| true |]
        testCase "kl_div(log_softmax(x), t) = composed, rows of 37 (vector loops and tails)" <| fun () ->
            for logTarget in [ false; true ] do
                let t = if logTarget then Tensor.LogSoftmax(logits 16 [| 3; 37 |], -1) else probs 16 [| 3; 37 |]
                let f (xs: Tensor[]) = Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), xs.[1], Reduction.BatchMean, logTarget)
                agree (sprintf "logTarget=%b" logTarget) f [| logits 15 [| 3; 37 |]; t |] [| true; false |]
        testCase "a log_softmax output shared by a fused kl_div and other ops: gradients = composed" <| fun () ->
            // the first fused kl_div takes the exps log_softmax kept; the other users of its output
            // (log_softmax's own backward rule, a second kl_div) compute exp(y) instead
            let weights = Tensor.Linspace(-1.0, 1.0, 37, DType.Float64)
            for logTarget in [ false; true ] do
                let t = if logTarget then Tensor.LogSoftmax(logits 20 [| 3; 37 |], -1) else probs 20 [| 3; 37 |]
                let t2 = if logTarget then Tensor.LogSoftmax(logits 21 [| 3; 37 |], -1) else probs 21 [| 3; 37 |]
                let shared (xs: Tensor[]) =
                    let y = Tensor.LogSoftmax(xs.[0], 1)
                    Losses.KlDiv(y, xs.[1], Reduction.BatchMean, logTarget) + Tensor.Sum(y * weights)
                agree (sprintf "kl_div and a weighted sum, logTarget=%b" logTarget) shared [| logits 19 [| 3; 37 |]; t |] [| true; false |]
                let sumFirst (xs: Tensor[]) =
                    let y = Tensor.LogSoftmax(xs.[0], 1)
                    Tensor.Sum(y * weights) + Losses.KlDiv(y, xs.[1], Reduction.Sum, logTarget)
                agree (sprintf "the sum first, logTarget=%b" logTarget) sumFirst [| logits 19 [| 3; 37 |]; t |] [| true; false |]
                let twice (xs: Tensor[]) =
                    let y = Tensor.LogSoftmax(xs.[0], 1)
                    Losses.KlDiv(y, xs.[1], Reduction.BatchMean, logTarget) + Losses.KlDiv(y, t2, Reduction.Mean, logTarget)
                agree (sprintf "two kl_div on one log_softmax, logTarget=%b" logTarget) twice [| logits 19 [| 3; 37 |]; t |] [| true; false |]
        testCase "float32 fused losses stay within float32 rounding of the float64 composition" <| fun () ->
            // the float32 kernels (eight lanes, their own exp) against float64 without fusion, on rows of 77
            // one logit far above the rest, in the second vector of a pair: a max that missed it would overflow exp
            let x64 = logits 17 [| 5; 77 |] + Tensor.FromArray(Array.init 385 (fun i -> if i = 2 * 77 + 12 then 100.0 else 0.0), [| 5; 77 |])
            let t64 = probs 18 [| 5; 77 |]
            let idx = Tensor.FromArray([| 0L; 76L; 40L; 8L; 63L |])
            let cases : (string * (Tensor -> Tensor -> Tensor)) list =
                [ "kl_div", (fun x t -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean))
                  "kl_div log_target", (fun x t -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), Tensor.Log(t), Reduction.BatchMean, true))
                  "cross_entropy indices", (fun x _ -> Losses.CrossEntropy(x, idx))
                  "cross_entropy soft", (fun x t -> Losses.CrossEntropy(x, t)) ]
            for name, loss in cases do
                let run (dtype: DType) fusion =
                    withFusion fusion (fun () ->
                        let x = x64.ToType(dtype).Detach().RequiresGrad_()
                        let value = loss x (t64.ToType dtype)
                        value.Backward()
                        value.ToScalar(), x.Grad.ToDoubleArray())
                let v32, g32 = run DType.Float32 true
                let v64, g64 = run DType.Float64 false
                Expect.isLessThan (abs (v32 - v64)) (1e-5 * (1.0 + abs v64)) (sprintf "%s: value %g against %g" name v32 v64)
                let scale = g64 |> Array.map abs |> Array.max
                for i in 0 .. g64.Length - 1 do
                    Expect.isLessThan (abs (g32.[i] - g64.[i])) (1e-5 * scale) (sprintf "%s: gradient element %d: %g against %g" name i g32.[i] g64.[i])
        testCase "float32 rows holding NaN or +inf inside the vector loop are NaN throughout; the other rows are untouched" <| fun () ->
            // the row max is taken with the hardware max, which may pass over a NaN: the row must still come out NaN
            let values = Array.init (3 * 77) (fun i -> float32 (sin (float i)))
            values.[40] <- nanf
            values.[77 + 50] <- infinityf
            let x = Tensor.FromArray(values, [| 3; 77 |])
            let clean = Tensor.FromArray(values.[2 * 77 ..], [| 1; 77 |])
            let rowOf (t: Tensor) r = t.ToSingleArray().[r * 77 .. r * 77 + 76]
            for name, f in [ "softmax", (fun (t: Tensor) -> Tensor.Softmax(t, 1)); "log_softmax", (fun t -> Tensor.LogSoftmax(t, 1)) ] do
                let y = f x
                for r in 0 .. 1 do
                    Expect.isTrue (rowOf y r |> Array.forall Single.IsNaN) (sprintf "%s: row %d is NaN throughout" name r)
                Expect.sequenceEqual (rowOf y 2) ((f clean).ToSingleArray()) (sprintf "%s: the finite row is as computed alone" name)
            // cross_entropy of each row, fused and composed, with class indices and with soft targets
            let soft = Tensor.Softmax(Tensor.FromArray(Array.init 77 (fun i -> float32 (cos (float i))), [| 1; 77 |]), 1)
            for r in 0 .. 2 do
                let row = Tensor.Narrow(x, 0, r, 1).Detach().RequiresGrad_()
                for kind, loss in [ "indices", (fun (t: Tensor) -> Losses.CrossEntropy(t, Tensor.FromArray([| 3L |]))); "soft", (fun t -> Losses.CrossEntropy(t, soft)) ] do
                    let fused = withFusion true (fun () -> loss row)
                    let composed = withFusion false (fun () -> loss row)
                    Expect.equal (Double.IsNaN(fused.ToScalar())) (r < 2) (sprintf "cross_entropy (%s) of row %d: NaN exactly for the rows holding NaN or inf" kind r)
                    Expect.equal (Double.IsNaN(composed.ToScalar())) (r < 2) (sprintf "the composed cross_entropy (%s) of row %d agrees" kind r)
                    fused.Backward()
                    Expect.equal (row.Grad.ToSingleArray() |> Array.forall Single.IsNaN) (r < 2) (sprintf "cross_entropy (%s) gradient of row %d: NaN throughout exactly for those rows" kind r)
                    row.ZeroGrad()
        testCase "cross_entropy with every target ignored is NaN, as composed" <| fun () ->
            let target = Tensor.FromArray([| -100L; -100L |])
            let x = logits 1 [| 2; 3 |]
            let fused = withFusion true (fun () -> Losses.CrossEntropy(x, target))
            let composed = withFusion false (fun () -> Losses.CrossEntropy(x, target))
            Expect.isTrue (Double.IsNaN(fused.ToScalar()) && Double.IsNaN(composed.ToScalar())) "0 / 0"
        testCase "cross_entropy refuses a class index out of range, naming it" <| fun () ->
            let message =
                try Losses.CrossEntropy(logits 1 [| 2; 3 |], Tensor.FromArray([| 0L; 3L |])) |> ignore; ""
                with :? AutoKlException as e -> e.Message
            Expect.stringContains message "class index 3" "the error names the index"
            Expect.stringContains message "cross_entropy" "the error names the op"
        testCase "Normal.LogProb with one loc and scale: the composition's bits, its gradients and second derivatives" <| fun () ->
            let weights = Tensor.Linspace(-1.0, 2.0, 9, DType.Float64)
            let f (xs: Tensor[]) = Tensor.Sum(Normal(xs.[1], xs.[2]).LogProb(xs.[0]) * weights)
            let inputs = [| Tensor.Linspace(-3.0, 4.0, 9, DType.Float64); Tensor.Scalar(0.3); Tensor.Scalar(1.7) |]
            agree "all differentiable" f inputs [| true; true; true |]
            agree "parameters only" f inputs [| false; true; true |]
            agree "through kl_div" (fun xs -> Losses.KlDiv(Normal(xs.[1], xs.[2]).LogProb(xs.[0]), Tensor.Softmax(inputs.[0], 0), Reduction.Mean)) inputs [| false; true; true |]
            for dtype in [ DType.Float32; DType.Float64 ] do
                let x = Tensor.Linspace(-15.0, 15.0, 1000, dtype)
                let d = Normal(Tensor.Scalar(0.7, dtype), Tensor.Scalar(1.3, dtype))
                let fused = withFusion true (fun () -> d.LogProb(x))
                let composed = withFusion false (fun () -> d.LogProb(x))
                Expect.sequenceEqual (bits fused) (bits composed) (sprintf "%A: the same bits as the composition" dtype)
        testCase "fused losses against finite differences" <| fun () ->
            let t = probs 2 [| 3; 4 |]
            AutoKl.Tests.Support.GradCheck.check (fun xs -> Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), t, Reduction.BatchMean)) [| logits 1 [| 3; 4 |] |]
            AutoKl.Tests.Support.GradCheck.check (fun xs -> Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), xs.[1], Reduction.Mean, true)) [| logits 1 [| 3; 4 |]; logits 3 [| 3; 4 |] |]
            AutoKl.Tests.Support.GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], Tensor.FromArray([| 1L; 0L; 3L |]))) [| logits 4 [| 3; 4 |] |]
            AutoKl.Tests.Support.GradCheck.check (fun xs -> Tensor.Sum(Normal(xs.[1], xs.[2]).LogProb(xs.[0]) * xs.[0])) [| logits 6 [| 7 |]; Tensor.Scalar(0.2); Tensor.Scalar(1.4) |]
            let soft = probs 5 [| 3; 4 |]
            AutoKl.Tests.Support.GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], soft, Reduction.Sum)) [| logits 4 [| 3; 4 |] |]
            // soft targets may be perturbed below 0 by the finite differences: checks off
            use _ = Validation.Disabled()
            AutoKl.Tests.Support.GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], xs.[1] + 0.1, Reduction.Sum)) [| logits 4 [| 3; 4 |]; soft |]
    ]

/// A small model trained for a few steps: its losses and final parameters, as bits.
let private training (steps: int) =
    let w = Tensor.RandN([| 8; 16 |], Generator(3), DType.Float32).RequiresGrad_()
    let mu = Tensor.Scalar(0.0, DType.Float32).RequiresGrad_()
    let sigma = Tensor.Scalar(1.0, DType.Float32).RequiresGrad_()
    let x = Tensor.Linspace(-3.0, 3.0, 64, DType.Float32)
    let t = Tensor.Softmax(Tensor.RandN([| 8; 16 |], Generator(4), DType.Float32), 1)
    let idx = Tensor.FromArray(Array.init 8 (fun i -> int64 (i % 16)))
    let p = Tensor.Exp(Normal(1.0, 1.0, DType.Float32).LogProb(x))
    let opt = Adam([ w; mu; sigma ], lr = 0.05)
    let losses = ResizeArray<float>()
    for _ in 1 .. steps do
        opt.ZeroGrad()
        let loss =
            Losses.KlDiv(Tensor.LogSoftmax(w, 1), t, Reduction.BatchMean)
            + Losses.CrossEntropy(w, idx)
            + Losses.KlDiv(Normal(mu, sigma).LogProb(x), p, Reduction.Mean)
            + Losses.MseLoss(Tensor.Tanh(w), t)
        loss.Backward()
        opt.Step()
        losses.Add(loss.ToScalar())
    Array.append (losses.ToArray()) (Array.concat [ w.ToDoubleArray(); mu.ToDoubleArray(); sigma.ToDoubleArray() ])
    |> Array.map BitConverter.DoubleToInt64Bits

[<Tests>]
let threadTests =
    testSequenced <| testList "Engine.FusedLosses.Threads" [
        testCase "fused losses give the same bits with 1 and 2 threads (float32 and float64, [64, 4096])" <| fun () ->
            for dtype in [ DType.Float32; DType.Float64 ] do
                let x = Tensor.RandN([| 64; 4096 |], Generator(1), dtype)
                let t = Tensor.Softmax(Tensor.RandN([| 64; 4096 |], Generator(2), dtype), 1)
                let idx = Tensor.FromArray(Array.init 64 (fun i -> int64 ((i * 37) % 4096)))
                let losses : (Tensor -> Tensor) list =
                    [ (fun x -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean))
                      (fun x -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), Tensor.Log(t), Reduction.BatchMean, true))
                      (fun x -> Losses.KlDiv(x * 0.5, t, Reduction.Sum))
                      (fun x -> Losses.CrossEntropy(x, idx))
                      (fun x -> Losses.CrossEntropy(x, t)) ]
                for loss in losses do
                    let run threads =
                        withThreads threads (fun () ->
                            let leaf = x.Detach().RequiresGrad_()
                            let value = loss leaf
                            value.Backward()
                            bits value, bits leaf.Grad)
                    let v1, g1 = run 1
                    let v2, g2 = run 2
                    Expect.sequenceEqual v2 v1 "value bits"
                    Expect.sequenceEqual g2 g1 "gradient bits"
    ]

[<Tests>]
let poolTests =
    testSequenced <| testList "Engine.StoragePool" [
        testCase "training with poisoned reused arrays gives the same bits as without reuse of poisoned values" <| fun () ->
            let clean = withPoison false (fun () -> training 12)
            let poisoned, kept = withPoison true (fun () -> let r = training 12 in r, StoragePool.Count)
            Expect.sequenceEqual poisoned clean "a NaN from a returned array would have shown up in the losses or the parameters"
            Expect.isGreaterThan kept 0 "the arrays of the backward passes were put back (or the test checks nothing)"
        testCase "gradients, accumulation and Hessian-vector products with poisoned reused arrays" <| fun () ->
            withPoison true (fun () ->
                let x = Tensor.RandN([| 4; 64 |], Generator(5), DType.Float64).RequiresGrad_()
                let t = Tensor.Softmax(Tensor.RandN([| 4; 64 |], Generator(6), DType.Float64), 1)
                let f (x: Tensor) = Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean) + Tensor.Sum(x * x * x)
                (f x).Backward()
                let first = x.Grad.ToDoubleArray()
                (f x).Backward()
                let twice = x.Grad.ToDoubleArray()
                Expect.isTrue (Array.forall2 (fun a b -> b = a + a) first twice) "the second backward adds the same gradient"
                Expect.isTrue (first |> Array.forall Double.IsFinite) "no poison in the gradient"
                let v = Tensor.OnesLike(x)
                let hv = Autograd.Hvp(Func<Tensor, Tensor>(f), x, v)
                let composed = withFusion false (fun () -> Autograd.Hvp(Func<Tensor, Tensor>(f), x, v))
                close "hvp" composed hv)
        testCase "a .Grad the user holds keeps its values through ZeroGrad and later passes" <| fun () ->
            withPoison true (fun () ->
                let x = Tensor.RandN([| 32; 32 |], Generator(7), DType.Float32).RequiresGrad_()
                let opt = SGD([ x ], lr = 0.1)
                let step () =
                    opt.ZeroGrad()
                    let loss = Tensor.Sum(Tensor.Exp(x) * x)
                    loss.Backward()
                    opt.Step()
                step ()
                let held = x.Grad
                let before = held.ToDoubleArray()
                for _ in 1 .. 3 do step ()
                Expect.sequenceEqual (held.ToDoubleArray()) before "the held gradient was overwritten by a later step"
                let held2 = x.Grad
                let before2 = held2.ToDoubleArray()
                (Tensor.Sum(x * 2.0)).Backward()
                Expect.sequenceEqual (held2.ToDoubleArray()) before2 "accumulation wrote into a gradient the user holds")
        testCase "after warm-up a [256, 4096] kl_div(log_softmax) step allocates one array (the log_softmax output) and under 16 KB besides" <| fun () ->
            withThreads 1 (fun () ->
                let x = Tensor.RandN([| 256; 4096 |], Generator(1), DType.Float32).RequiresGrad_()
                let t = Tensor.Softmax(Tensor.RandN([| 256; 4096 |], Generator(2), DType.Float32), 1)
                let step () =
                    x.ZeroGrad()
                    let loss = Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean)
                    loss.Backward()
                for _ in 1 .. 3 do step ()
                let before = GC.GetAllocatedBytesForCurrentThread()
                step ()
                let whole = GC.GetAllocatedBytesForCurrentThread() - before
                let output = 256L * 4096L * 4L
                Expect.isLessThan whole (output + 16L * 1024L) (sprintf "a step allocated %d bytes" whole))
    ]
