/// Gradient checks (float64 finite differences along random directions, FsCheck-generated shapes
/// and seeds) for every loss in each of its options, plus numerics and bad-input tests.
module AutoKl.Tests.Losses.LossPropertyTests

open Expecto
open System
open AutoKl
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner
open FsCheck

let private reductions = [ Reduction.None; Reduction.Sum; Reduction.Mean ]
let private dims (a: PositiveInt) (b: PositiveInt) = [| 1 + a.Get % 4; 1 + b.Get % 5 |]
let private randn (seed: int) (shape: int[]) = Tensor.RandN(shape, Generator(seed), DType.Float64)

/// Differences kept at least 0.05 away from 0, 0.5 and 1 (the kinks of L1, Huber and SmoothL1
/// with delta/beta 0.5 and 1), so finite differences never straddle a kink.
let private awayFromKinks (seed: int) (shape: int[]) =
    let g = Generator(seed)
    let n = Array.fold (*) 1 shape
    let bands = [| 0.05, 0.45; 0.55, 0.95; 1.05, 2.5 |]
    Array.init n (fun _ ->
        let lo, hi = bands.[g.NextInt 3]
        let v = lo + (hi - lo) * g.NextUniform()
        if g.NextUniform() < 0.5 then -v else v)
    |> fun d -> Tensor.FromArray(d, shape)

[<Tests>]
let tests =
    testList "Losses.Properties" [
        testPropertyWithConfig (Properties.runs 15) "regression losses have exact gradients in every reduction" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            let target = randn seed shape
            let input = target + awayFromKinks (seed + 1) shape
            for r in reductions do
                GradCheck.check (fun xs -> Losses.MseLoss(xs.[0], xs.[1], r)) [| input; target |]
                GradCheck.check (fun xs -> Losses.L1Loss(xs.[0], xs.[1], r)) [| input; target |]
                for t in [ 0.5; 1.0 ] do
                    GradCheck.check (fun xs -> Losses.HuberLoss(xs.[0], xs.[1], r, t)) [| input; target |]
                    GradCheck.check (fun xs -> Losses.SmoothL1Loss(xs.[0], xs.[1], r, t)) [| input; target |]

        testCase "Huber is delta times SmoothL1 with beta = delta, and SmoothL1 with beta 0 is L1" <| fun () ->
            let x = randn 1 [| 3; 4 |] * 2.0
            let y = randn 2 [| 3; 4 |]
            Check.tensorClose "huber" 1e-14 1e-15 (Losses.SmoothL1Loss(x, y, Reduction.None, 0.5) * 0.5) (Losses.HuberLoss(x, y, Reduction.None, 0.5))
            Check.tensorClose "beta 0" 0.0 0.0 (Losses.L1Loss(x, y, Reduction.None)) (Losses.SmoothL1Loss(x, y, Reduction.None, 0.0))
            Check.tensorClose "piped" 0.0 0.0 (Losses.HuberLoss(x, y, Reduction.Sum, 0.5)) (x |> Losses.huber Reduction.Sum 0.5 y)

        testPropertyWithConfig (Properties.runs 15) "cosine similarity and cosine embedding loss have exact gradients" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = [| 2 + a.Get % 4; 2 + b.Get % 4 |]
            // entries of magnitude 0.5..1.5: no near-zero vectors, where cosine's curvature spoils finite differences
            let signed s = uniform s 0.5 1.5 shape * Tensor.Sign(randn (s + 100) shape)
            let x1 = signed seed
            let x2 = signed (seed + 1)
            GradCheck.check (fun xs -> Losses.CosineSimilarity(xs.[0], xs.[1], 1)) [| x1; x2 |]
            GradCheck.check (fun xs -> Losses.CosineSimilarity(xs.[0], xs.[1], 0)) [| x1; x2 |]
            GradCheck.check (fun xs -> Losses.CosineSimilarity(xs.[0], xs.[1], 1)) [| x1; (signed (seed + 2)).Slice(0, 0, 1) |]
            let target = Tensor.FromArray(Array.init shape.[0] (fun i -> if i % 2 = 0 then 1.0 else -1.0))
            let cos = Losses.CosineSimilarity(x1, x2).ToDoubleArray()
            for margin in [ 0.0; 0.5 ] do
                // Stay off the hinge: skip rows whose cosine is within 0.02 of the margin.
                if cos |> Array.forall (fun c -> abs (c - margin) > 0.02) then
                    for r in reductions do
                        GradCheck.check (fun xs -> Losses.CosineEmbeddingLoss(xs.[0], xs.[1], target, margin, r)) [| x1; x2 |]

        testCase "cosine similarity stays within [-1, 1] and is 1 for parallel vectors" <| fun () ->
            let x = randn 3 [| 4; 6 |]
            let c = Losses.CosineSimilarity(x, x * 3.0)
            Check.arraysClose "parallel" 1e-15 0.0 (Array.create 4 1.0) (c.ToDoubleArray())
            let big = Losses.CosineSimilarity(x * 1e150, randn 4 [| 4; 6 |] * 1e150)
            Check.allFinite "large vectors" big
            Expect.isTrue (big.ToDoubleArray() |> Array.forall (fun v -> abs v <= 1.0)) "big.ToDoubleArray() |> Array.forall (fun v -> abs v <= 1.0)"

        testPropertyWithConfig (Properties.runs 15) "cross-entropy has exact gradients with class indices, weights, ignore index and label smoothing" <| fun (seed: int) (a: PositiveInt) ->
            let n, c = 2 + a.Get % 4, 4
            let logits = randn seed [| n; c |]
            let g = Generator(seed + 1)
            let target = Tensor.FromArray(Array.init n (fun i -> if i = 1 then -100L else int64 (g.NextInt c)))
            let weight = uniform (seed + 2) 0.5 2.0 [| c |]
            for r in reductions do
                for ls in [ 0.0; 0.2 ] do
                    GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], target, r, labelSmoothing = ls)) [| logits |]
                    GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], target, xs.[1], r, labelSmoothing = ls)) [| logits; weight |]
                GradCheck.check (fun xs -> Losses.NllLoss(Tensor.LogSoftmax(xs.[0], 1), target, xs.[1], r)) [| logits; weight |]
                let target2 = Tensor.FromArray(Array.init n (fun i -> if i = 0 then 2L else int64 (i % c)))
                GradCheck.check (fun xs -> Losses.NllLoss(xs.[0], target2, r, ignoreIndex = 2L)) [| Tensor.LogSoftmax(logits, 1) |]

        testPropertyWithConfig (Properties.runs 15) "cross-entropy with soft targets and with a spatial class axis has exact gradients" <| fun (seed: int) ->
            let logits = randn seed [| 3; 4 |]
            let soft = gentleProbs (seed + 1) [| 3; 4 |]
            let weight = uniform (seed + 2) 0.5 2.0 [| 4 |]
            for r in reductions do
                for ls in [ 0.0; 0.1 ] do
                    GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], xs.[1], xs.[2], r, labelSmoothing = ls)) [| logits; soft; weight |]
            let spatial = randn (seed + 3) [| 2; 4; 3 |]
            let g = Generator(seed + 4)
            let target = Tensor.FromArray(Array.init 6 (fun _ -> int64 (g.NextInt 4)), 2, 3)
            GradCheck.check (fun xs -> Losses.CrossEntropy(xs.[0], target, labelSmoothing = 0.1)) [| spatial |]

        testCase "soft-target cross-entropy with one-hot targets equals the class-index form" <| fun () ->
            let logits = randn 5 [| 4; 3 |]
            let target = Tensor.FromArray([| 0L; 2L; 1L; 2L |])
            let oneHot = Tensor.FromArray([| 1.0; 0.; 0.; 0.; 0.; 1.; 0.; 1.; 0.; 0.; 0.; 1. |], 4, 3)
            Check.tensorClose "one-hot" 1e-14 1e-15 (Losses.CrossEntropy(logits, target, Reduction.None)) (Losses.CrossEntropy(logits, oneHot, Reduction.None))
            Check.tensorClose "piped" 0.0 0.0 (Losses.CrossEntropy(logits, target)) (logits |> Losses.crossEntropy Reduction.Mean target)
            Check.tensorClose "nll" 1e-14 1e-15 (Losses.CrossEntropy(logits, target)) (Tensor.LogSoftmax(logits, 1) |> Losses.nll Reduction.Mean target)

        testPropertyWithConfig (Properties.runs 15) "binary cross-entropy from probabilities and from logits have exact gradients" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            // kept away from 0 and 1 so a unit finite-difference direction stays well inside (0, 1)
            let probs = uniform seed 0.25 0.75 shape
            let target = uniform (seed + 1) 0.0 1.0 shape
            let logits = randn (seed + 2) shape * 3.0
            let weight = uniform (seed + 3) 0.5 2.0 shape
            let posWeight = uniform (seed + 4) 0.5 3.0 [| shape.[1] |]
            for r in reductions do
                GradCheck.check (fun xs -> Losses.BinaryCrossEntropy(xs.[0], xs.[1], r)) [| probs; target |]
                GradCheck.check (fun xs -> Losses.BinaryCrossEntropy(xs.[0], xs.[1], xs.[2], r)) [| probs; target; weight |]
                GradCheck.check (fun xs -> Losses.BinaryCrossEntropyWithLogits(xs.[0], xs.[1], r)) [| logits; target |]
                GradCheck.check (fun xs -> Losses.BinaryCrossEntropyWithLogits(xs.[0], xs.[1], xs.[2], xs.[3], r)) [| logits; target; weight; posWeight |]

        testCase "BCE with logits is exact and finite at logits of magnitude 100 and 1000" <| fun () ->
            let logits = Tensor.FromArray([| 100.0; -100.0; 1000.0; -1000.0; 0.0 |]).RequiresGrad_()
            let target = Tensor.FromArray [| 0.0; 1.0; 1.0; 0.0; 1.0 |]
            let loss = Losses.BinaryCrossEntropyWithLogits(logits, target, Reduction.None)
            Check.arraysClose "values" 1e-15 1e-300 [| 100.0; 100.0; 0.0; 0.0; log 2.0 |] (loss.ToDoubleArray())
            let g = Autograd.Gradients(Tensor.Sum loss, [| logits |]).[0]
            // d/dx = sigmoid(x) - t
            Check.arraysClose "gradient" 1e-15 1e-300 [| 1.0; -1.0; 0.0; 0.0; -0.5 |] (g.ToDoubleArray())
            Check.tensorClose "piped" 0.0 0.0 loss (logits |> Losses.bceWithLogits Reduction.None target)

        testCase "binary cross-entropy at probabilities of exactly 0 and 1 clamps the log at -100 with finite gradients" <| fun () ->
            let probs = Tensor.FromArray([| 0.0; 1.0; 0.0; 1.0; 0.3 |]).RequiresGrad_()
            let target = Tensor.FromArray([| 0.0; 1.0; 1.0; 0.0; 1.0 |]).RequiresGrad_()
            let loss = Losses.BinaryCrossEntropy(probs, target, Reduction.None)
            Check.arraysClose "values" 1e-15 0.0 [| 0.0; 0.0; 100.0; 100.0; -(log 0.3) |] (loss.ToDoubleArray())
            let gs = Autograd.Gradients(Tensor.Sum loss, [| probs; target |])
            Check.allFinite "input gradient" gs.[0]
            Check.allFinite "target gradient" gs.[1]
            Check.arraysClose "interior gradient" 1e-15 0.0 [| -1.0 / 0.3 |] [| gs.[0].ItemAt(4) |]

        testPropertyWithConfig (Properties.runs 15) "Poisson and Gaussian NLL have exact gradients in each option" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            let g = Generator(seed)
            // counts away from 1, where the Stirling term switches on
            let counts = Tensor.FromArray(Array.init (shape.[0] * shape.[1]) (fun _ -> [| 0.0; 0.5; 2.0; 3.0; 4.5 |].[g.NextInt 5]), shape)
            let logRate = randn (seed + 1) shape
            let rate = uniform (seed + 2) 0.5 3.0 shape
            let mean = randn (seed + 3) shape
            let var = uniform (seed + 4) 0.5 2.0 shape
            let varPerRow = uniform (seed + 5) 0.5 2.0 [| shape.[0]; 1 |]
            for r in reductions do
                for full in [ false; true ] do
                    GradCheck.check (fun xs -> Losses.PoissonNllLoss(xs.[0], xs.[1], true, full, reduction = r)) [| logRate; counts |]
                    GradCheck.check (fun xs -> Losses.PoissonNllLoss(xs.[0], xs.[1], false, full, reduction = r)) [| rate; counts |]
                    GradCheck.check (fun xs -> Losses.GaussianNllLoss(xs.[0], xs.[1], xs.[2], full, reduction = r)) [| mean; counts; var |]
                    GradCheck.check (fun xs -> Losses.GaussianNllLoss(xs.[0], xs.[1], xs.[2], full, reduction = r)) [| mean; counts; varPerRow |]

        testCase "Poisson NLL with the Stirling term keeps the target gradient finite at zero counts" <| fun () ->
            let counts = Tensor.FromArray([| 0.0; 1.0; 3.0 |]).RequiresGrad_()
            let logRate = Tensor.FromArray [| 0.1; -0.3; 1.2 |]
            let loss = Losses.PoissonNllLoss(logRate, counts, full = true, reduction = Reduction.Sum)
            Check.allFinite "target gradient" (Autograd.Gradients(loss, [| counts |]).[0])
            Check.tensorClose "piped" 0.0 0.0 (Losses.PoissonNllLoss(logRate, counts)) (logRate |> Losses.poissonNll Reduction.Mean counts)

        testCase "Gaussian NLL accepts a variance per sample with the last dimension dropped" <| fun () ->
            let mean = randn 1 [| 4; 3 |]
            let target = randn 2 [| 4; 3 |]
            let v = uniform 3 0.5 2.0 [| 4 |]
            Check.tensorClose "dropped = size 1" 0.0 0.0 (Losses.GaussianNllLoss(mean, target, v.Reshape(4, 1))) (Losses.GaussianNllLoss(mean, target, v))
            Check.tensorClose "piped" 0.0 0.0 (Losses.GaussianNllLoss(mean, target, v)) (mean |> Losses.gaussianNll Reduction.Mean v target)

        // ---- bad inputs ----------------------------------------------------------------------

        testCase "losses refuse mismatched shapes naming the argument" <| fun () ->
            let a = randn 1 [| 3; 4 |]
            let b = randn 2 [| 4; 3 |]
            Check.throwsAutoKl [ "mse_loss"; "target"; "[4, 3]"; "[3, 4]" ] (fun () -> Losses.MseLoss(a, b)) |> ignore
            Check.throwsAutoKl [ "l1_loss"; "target" ] (fun () -> Losses.L1Loss(a, b)) |> ignore
            Check.throwsAutoKl [ "huber_loss"; "target" ] (fun () -> Losses.HuberLoss(a, b)) |> ignore
            Check.throwsAutoKl [ "binary_cross_entropy_with_logits"; "target" ] (fun () -> Losses.BinaryCrossEntropyWithLogits(a, b)) |> ignore
            Check.throwsAutoKl [ "gaussian_nll_loss"; "var"; "[2]" ] (fun () -> Losses.GaussianNllLoss(a, a, Tensor.Ones([| 2 |], DType.Float64))) |> ignore
            Check.throwsAutoKl [ "cross_entropy"; "target shape" ] (fun () -> Losses.CrossEntropy(a, Tensor.FromArray [| 0L; 1L |])) |> ignore
            Check.throwsAutoKl [ "cross_entropy"; "weight"; "[4]" ] (fun () -> Losses.CrossEntropy(a, Tensor.FromArray [| 0L; 1L; 2L |], Tensor.Ones([| 3 |], DType.Float64))) |> ignore
            Check.throwsAutoKl [ "cosine_similarity"; "[3, 4]"; "[4, 3]" ] (fun () -> Losses.CosineSimilarity(a, b)) |> ignore

        testCase "class indices out of range are refused, naming the target and the value" <| fun () ->
            let logits = randn 1 [| 3; 4 |]
            Check.throwsAutoKl [ "cross_entropy"; "target"; "7"; "4 classes" ] (fun () -> Losses.CrossEntropy(logits, Tensor.FromArray [| 0L; 7L; 1L |])) |> ignore
            Check.throwsAutoKl [ "nll_loss"; "target"; "-1" ] (fun () -> Losses.NllLoss(logits, Tensor.FromArray [| 0L; -1L; 1L |])) |> ignore
            Check.throwsAutoKl [ "cross_entropy"; "labelSmoothing" ] (fun () -> Losses.CrossEntropy(logits, Tensor.FromArray [| 0L; 1L; 1L |], labelSmoothing = 1.5)) |> ignore

        testCase "probabilities out of range and negative variances are refused" <| fun () ->
            let p = Tensor.FromArray [| 0.2; 1.3 |]
            Check.throwsAutoKl [ "binary_cross_entropy"; "input"; "1.3" ] (fun () -> Losses.BinaryCrossEntropy(p, Tensor.FromArray [| 0.0; 1.0 |])) |> ignore
            Check.throwsAutoKl [ "gaussian_nll_loss"; "var"; "non-negative" ] (fun () ->
                Losses.GaussianNllLoss(Tensor.FromArray [| 0.0; 1.0 |], Tensor.FromArray [| 0.0; 1.0 |], Tensor.FromArray [| 1.0; -1.0 |])) |> ignore
            Check.throwsAutoKl [ "huber_loss"; "delta" ] (fun () -> Losses.HuberLoss(p, p, delta = 0.0)) |> ignore
            Check.throwsAutoKl [ "mse_loss"; "BatchMean" ] (fun () -> Losses.MseLoss(p, p, Reduction.BatchMean)) |> ignore
    ]
