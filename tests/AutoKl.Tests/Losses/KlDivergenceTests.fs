module AutoKl.Tests.Losses.KlDivergenceTests

open Expecto
open System
open AutoKl
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner
open FsCheck

let private klOracle (case: Text.Json.JsonElement) =
    run (fun i -> Losses.KlDiv(i.["input"], i.["target"], reduction case, Oracle.paramBool case "log_target" false)) case

let pytorchKlCases = caseNames pytorch [ "kl_div" ]
let diffsharpKlCases = caseNames diffsharp [ "kl_div" ]

let private shapeOf (rows: PositiveInt) (cols: PositiveInt) = [| 1 + rows.Get % 4; 1 + cols.Get % 5 |]

[<Tests>]
let tests =
    testList "Losses.KlDivergence" [
        testList "kl_div matches PyTorch" [
            for name in pytorchKlCases ->
                testCase name <| fun () ->
                    klOracle (caseNamed pytorch name)
        ]

        testList "kl_div matches DiffSharp" [
            for name in diffsharpKlCases ->
                testCase name <| fun () ->
                    klOracle (caseNamed diffsharp name)
        ]

        testCase "the fixtures hold every kl_div case" <| fun () ->
            Expect.equal pytorchKlCases.Length 14 "number of pytorchKlCases"
            Expect.equal diffsharpKlCases.Length 5 "number of diffsharpKlCases"

        testPropertyWithConfig (Properties.runs 25) "kl_div gradients match finite differences in every reduction and log_target" <| fun (seed: int) (rows: PositiveInt) (cols: PositiveInt) ->
            let shape = shapeOf rows cols
            let logQ = Tensor.LogSoftmax(Tensor.RandN(shape, Generator(seed), DType.Float64), -1)
            let p = gentleProbs (seed + 1) shape
            for reduction in [ Reduction.None; Reduction.Sum; Reduction.Mean; Reduction.BatchMean ] do
                GradCheck.check (fun xs -> Losses.KlDiv(xs.[0], xs.[1], reduction)) [| logQ; p |]
                GradCheck.check (fun xs -> Losses.KlDiv(xs.[0], xs.[1], reduction, logTarget = true)) [| logQ; Tensor.Log p |]

        testPropertyWithConfig (Properties.runs 25) "batchmean is the sum divided by the batch size and mean divides by every element" <| fun (seed: int) (rows: PositiveInt) (cols: PositiveInt) ->
            let shape = shapeOf rows cols
            let logQ = Tensor.LogSoftmax(Tensor.RandN(shape, Generator(seed), DType.Float64), -1)
            let p = probs (seed + 1) shape
            let sum = Losses.KlDiv(logQ, p, Reduction.Sum).ToScalar()
            Check.arraysClose "batchmean" 1e-12 1e-15 [| sum / float shape.[0] |] [| Losses.KlDiv(logQ, p, Reduction.BatchMean).ToScalar() |]
            Check.arraysClose "mean" 1e-12 1e-15 [| sum / float (shape.[0] * shape.[1]) |] [| Losses.KlDiv(logQ, p, Reduction.Mean).ToScalar() |]
            // batchmean is the textbook KL(P||Q) per row, averaged.
            let textbook = Divergences.KL(p, Tensor.Exp logQ) |> Tensor.mean
            Check.arraysClose "textbook" 1e-12 1e-15 [| textbook.ToScalar() |] [| Losses.KlDiv(logQ, p, Reduction.BatchMean).ToScalar() |]

        testCase "batchmean of a 1-D input equals mean and of a scalar equals the sum, as in PyTorch" <| fun () ->
            let logQ = Tensor.Log(Tensor.FromArray [| 0.2; 0.3; 0.5 |])
            let p = Tensor.FromArray [| 0.1; 0.6; 0.3 |]
            Check.arraysClose "1-D" 1e-15 0.0 [| Losses.KlDiv(logQ, p, Reduction.Mean).ToScalar() |] [| Losses.KlDiv(logQ, p, Reduction.BatchMean).ToScalar() |]
            let s = Losses.KlDiv(Tensor.Scalar(-1.0), Tensor.Scalar(0.5), Reduction.BatchMean)
            Check.arraysClose "scalar" 1e-15 0.0 [| 0.5 * (log 0.5 + 1.0) |] [| s.ToScalar() |]

        testCase "a target of exactly zero contributes zero and all gradients stay finite" <| fun () ->
            let logQ = Tensor.Log(Tensor.FromArray([| 0.2; 0.3; 0.5; 0.25; 0.25; 0.5 |], 2, 3)).Detach().RequiresGrad_()
            let p = Tensor.FromArray([| 0.0; 0.4; 0.6; 0.5; 0.0; 0.5 |], 2, 3).RequiresGrad_()
            let loss = Losses.KlDiv(logQ, p, Reduction.None)
            Check.arraysClose "zero terms" 0.0 0.0 [| 0.0; 0.0 |] [| loss.ItemAt(0, 0); loss.ItemAt(1, 1) |]
            let gs = Autograd.Gradients(Tensor.Sum loss, [| logQ; p |])
            Check.allFinite "input gradient" gs.[0]
            Check.allFinite "target gradient" gs.[1]

        testCase "kl_div from the F# module pipes and agrees with the C# call" <| fun () ->
            let logQ = Tensor.LogSoftmax(Tensor.RandN([| 3; 4 |], Generator(5), DType.Float64), -1)
            let p = probs 6 [| 3; 4 |]
            let piped = logQ |> Losses.klDiv Reduction.BatchMean p
            Check.tensorClose "piped" 0.0 0.0 (Losses.KlDiv(logQ, p, Reduction.BatchMean)) piped
            let pipedLog = logQ |> Losses.klDivLogTarget Reduction.Sum (Tensor.Log p)
            Check.tensorClose "log target" 1e-12 1e-15 (Losses.KlDiv(logQ, p, Reduction.Sum)) pipedLog

        // ---- MXNet Gluon KLDivLoss -----------------------------------------------------------

        testPropertyWithConfig (Properties.runs 25) "Gluon mean form times the number of categories is the PyTorch sum form per sample" <| fun (seed: int) (rows: PositiveInt) (cols: PositiveInt) ->
            let shape = shapeOf rows cols
            let logQ = Tensor.LogSoftmax(Tensor.RandN(shape, Generator(seed), DType.Float64), -1)
            let p = probs (seed + 1) shape
            let gluonMean = Losses.GluonKlDivLoss(logQ, p)
            let gluonSum = Losses.GluonKlDivLoss(logQ, p, averaging = MXNetAveraging.Sum)
            let torchPerSample = Losses.KlDiv(logQ, p, Reduction.None) |> Tensor.sumDim 1
            Check.shapeIs "one loss per sample" [| shape.[0] |] gluonMean
            // MXNet's label * log(label + 1e-12) differs from label * log(label) by at most 1e-12 per term.
            let slack = 1.01e-12 * float shape.[1]
            Check.tensorClose "mean * C" 1e-12 slack torchPerSample (gluonMean * float shape.[1])
            Check.tensorClose "sum" 1e-12 slack torchPerSample gluonSum

        testCase "Gluon from_logits false applies log_softmax along the axis, and weights multiply" <| fun () ->
            let scores = Tensor.RandN([| 3; 4 |], Generator(11), DType.Float64)
            let p = probs 12 [| 3; 4 |]
            let fromScores = Losses.GluonKlDivLoss(scores, p, fromLogits = false)
            Check.tensorClose "log_softmax" 1e-14 1e-15 (Losses.GluonKlDivLoss(Tensor.LogSoftmax(scores, -1), p)) fromScores
            let sw = Tensor.FromArray([| 1.0; 2.0; 0.5 |], 3, 1)
            let weighted = Losses.GluonKlDivLoss(Tensor.LogSoftmax(scores, -1), p, sw, weight = 3.0)
            Check.tensorClose "weights" 1e-14 1e-15 (fromScores * Tensor.FromArray [| 3.0; 6.0; 1.5 |]) weighted
            // batch axis 1: one value per column
            let perColumn = Losses.GluonKlDivLoss(Tensor.LogSoftmax(scores, 0), p, axis = 0, batchAxis = 1, averaging = MXNetAveraging.Sum)
            Check.shapeIs "batch axis 1" [| 4 |] perColumn
            // pipeable forms
            Check.tensorClose "piped" 0.0 0.0 fromScores (scores |> Losses.gluonKlDivScores MXNetAveraging.Mean p)

        testPropertyWithConfig (Properties.runs 15) "Gluon KLDivLoss gradients match finite differences in each option" <| fun (seed: int) ->
            let logQ = Tensor.LogSoftmax(Tensor.RandN([| 3; 4 |], Generator(seed), DType.Float64), -1)
            let p = gentleProbs (seed + 1) [| 3; 4 |]
            let sw = uniform (seed + 2) 0.5 2.0 [| 3; 1 |]
            for averaging in [ MXNetAveraging.Mean; MXNetAveraging.Sum ] do
                for fromLogits in [ true; false ] do
                    GradCheck.check (fun xs -> Losses.GluonKlDivLoss(xs.[0], xs.[1], xs.[2], fromLogits = fromLogits, weight = 0.7, averaging = averaging)) [| logQ; p; sw |]

        // ---- bad inputs ----------------------------------------------------------------------

        testCase "kl_div refuses mismatched shapes and negative targets, naming the argument" <| fun () ->
            let logQ = Tensor.Log(Tensor.FromArray [| 0.5; 0.5 |])
            Check.throwsAutoKl [ "kl_div"; "target"; "[3]"; "[2]" ] (fun () -> Losses.KlDiv(logQ, Tensor.FromArray [| 0.2; 0.3; 0.5 |])) |> ignore
            Check.throwsAutoKl [ "kl_div"; "target"; "non-negative"; "-0.1" ] (fun () -> Losses.KlDiv(logQ, Tensor.FromArray [| -0.1; 1.1 |])) |> ignore
            Check.throwsAutoKl [ "gluon_kl_div_loss"; "label" ] (fun () -> Losses.GluonKlDivLoss(logQ, Tensor.FromArray [| -0.1; 1.1 |])) |> ignore

        testCase "value checks can be switched off for hot loops, and unnormalised targets are allowed" <| fun () ->
            let logQ = Tensor.Log(Tensor.FromArray [| 0.5; 0.5 |])
            // unnormalised non-negative target (a density on a grid): accepted
            Losses.KlDiv(logQ, Tensor.FromArray [| 2.0; 3.0 |]) |> ignore
            using (Validation.Disabled()) (fun _ ->
                let v = Losses.KlDiv(logQ, Tensor.FromArray [| -0.1; 1.1 |], Reduction.Sum)
                Expect.isTrue (Double.IsNaN(v.ToScalar())) "with checks off the negative target gives NaN instead of an error")
            Expect.isTrue Validation.Enabled "checks are back on after the scope"
    ]
