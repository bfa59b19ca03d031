/// Loss branches and argument checks, each with an input where that branch alone decides the
/// value or the error (see MUTATIONS.md). Expected values are computed here from the formulas.
module AutoKl.Tests.Mutation.LossRuleTests

open System
open Expecto
open AutoKl
open AutoKl.Tests.Mutation.MutationSupport

let private logSoftmaxRow (row: float[]) =
    let m = Array.max row
    let lse = m + log (row |> Array.sumBy (fun v -> exp (v - m)))
    row |> Array.map (fun v -> v - lse)

/// Gluon's KLDivLoss per sample, rows along the last axis, averaged (or summed) over it.
let private gluonRef (pred: float[][]) (label: float[][]) fromLogits (sumOver: bool) (weight: float) =
    [ for i in 0 .. pred.Length - 1 ->
          let logq = if fromLogits then pred.[i] else logSoftmaxRow pred.[i]
          let terms = Array.map2 (fun l q -> weight * l * (log (l + 1e-12) - q)) label.[i] logq
          if sumOver then Array.sum terms else Array.average terms ]

let private scores = [| [| 1.0; 2.0; 3.0 |]; [| 0.0; 0.0; 5.0 |] |]
let private probs = [| [| 0.2; 0.3; 0.5 |]; [| 0.6; 0.1; 0.3 |] |]
let private m23 (rows: float[][]) = T.FromArray(Array.concat rows, [| rows.Length; rows.[0].Length |])

let private gluonTests =
    testList "GluonKlDivLoss" [
        testCase "from_logits = false applies log_softmax to unnormalised scores" <| fun () ->
            let loss = Losses.GluonKlDivLoss(m23 scores, m23 probs, fromLogits = false)
            near "loss" (gluonRef scores probs false false 1.0) loss

        testCase "from_logits = true takes the scores as log-probabilities unchanged" <| fun () ->
            let loss = Losses.GluonKlDivLoss(m23 scores, m23 probs, fromLogits = true)
            near "loss" (gluonRef scores probs true false 1.0) loss

        testCase "log_softmax along the given axis (0), keeping batch axis 1" <| fun () ->
            // the transpose of the case above: categories on axis 0, samples on axis 1
            let predT = T.Transpose(m23 scores)
            let labelT = T.Transpose(m23 probs)
            let loss = Losses.GluonKlDivLoss(predT, labelT, fromLogits = false, axis = 0, batchAxis = 1)
            near "loss" (gluonRef scores probs false false 1.0) loss

        testCase "Sum averaging and a weight other than 1" <| fun () ->
            let loss = Losses.GluonKlDivLoss(m23 scores, m23 probs, fromLogits = false, weight = 2.5, averaging = MXNetAveraging.Sum)
            near "loss" (gluonRef scores probs false true 2.5) loss

        testCase "sample weights of shape [batch, 1] scale each sample" <| fun () ->
            let sw = f64 [ 2; 1 ] [ 2.0; 0.5 ]
            let loss = Losses.GluonKlDivLoss(m23 scores, m23 probs, sw, fromLogits = false)
            let plain = gluonRef scores probs false false 1.0
            near "loss" [ 2.0 * plain.[0]; 0.5 * plain.[1] ] loss

        testCase "a 1-D pred is its own batch: one loss per element, nothing averaged" <| fun () ->
            let loss = Losses.GluonKlDivLoss(vec [ -1.0; -2.0 ], vec [ 0.5; 0.25 ])
            near "loss" [ 0.5 * (log (0.5 + 1e-12) + 1.0); 0.25 * (log (0.25 + 1e-12) + 2.0) ] loss

        testCase "the gradient with from_logits = false is that of log_softmax" <| fun () ->
            let g = gradOf (fun p -> T.Sum(Losses.GluonKlDivLoss(p, m23 probs, fromLogits = false))) (m23 scores)
            // d/dpred of mean_j l_j (log l_j - logsoftmax_j) = (softmax * sum(l) - l) / 3
            let expected =
                [ for i in 0 .. 1 do
                      let p = logSoftmaxRow scores.[i] |> Array.map exp
                      let s = Array.sum probs.[i]
                      for j in 0 .. 2 -> (p.[j] * s - probs.[i].[j]) / 3.0 ]
            near "gradient" expected g

        testCase "every argument check names the op and the argument" <| fun () ->
            let op = "gluon_kl_div_loss"
            let pred, label = m23 scores, m23 probs
            let ints = T.FromArray([| 1L; 2L; 3L; 4L; 5L; 6L |], [| 2; 3 |])
            throwsFrom op [ "pred"; "int64" ] (fun () -> Losses.GluonKlDivLoss(ints, label))
            throwsFrom op [ "label"; "int64" ] (fun () -> Losses.GluonKlDivLoss(pred, ints))
            throwsFrom op [ "label shape [2, 1]"; "pred shape [2, 3]" ] (fun () -> Losses.GluonKlDivLoss(pred, f64 [ 2; 1 ] [ 0.5; 0.5 ]))
            throwsFrom op [ "scalar" ] (fun () -> Losses.GluonKlDivLoss(T.Scalar -1.0, T.Scalar 0.5))
            throwsFrom op [ "[2]"; "[2, 3]" ] (fun () -> Losses.GluonKlDivLoss(pred, label, vec [ 1.0; 2.0 ]))
            throwsFrom op [ "sampleWeight shape [2, 1, 3]"; "must broadcast to pred shape [2, 3]" ] (fun () ->
                Losses.GluonKlDivLoss(pred, label, T.Ones([| 2; 1; 3 |], DType.Float64)))
            throwsFrom op [ "sampleWeight"; "int64" ] (fun () -> Losses.GluonKlDivLoss(pred, label, T.FromArray([| 1L; 1L |], [| 2; 1 |])))
            throwsFrom op [ "label"; "non-negative" ] (fun () -> Losses.GluonKlDivLoss(pred, f64 [ 2; 3 ] [ 0.5; -0.5; 1.0; 0.2; 0.3; 0.5 ]))
            throwsFrom op [] (fun () -> Losses.GluonKlDivLoss(pred, label, batchAxis = 2))
    ]

let private klTests =
    testList "kl_div and the reductions" [
        testCase "log_target: exp(t) * (t - input), and its gradient for the target too" <| fun () ->
            let input = vec [ log 0.25; log 0.75 ]
            let target = vec [ log 0.5; log 0.5 ]
            let expected = [ 0.5 * (log 0.5 - log 0.25); 0.5 * (log 0.5 - log 0.75) ]
            near "None" expected (Losses.KlDiv(input, target, Reduction.None, logTarget = true))
            let g = gradsOf (fun t -> Losses.KlDiv(t.[0], t.[1], Reduction.Sum, logTarget = true)) [| input; target |]
            near "d/dinput" [ -0.5; -0.5 ] g.[0]
            // d/dt of e^t (t - x) = e^t (t - x + 1)
            near "d/dtarget" [ 0.5 * (log 0.5 - log 0.25 + 1.0); 0.5 * (log 0.5 - log 0.75 + 1.0) ] g.[1]

        testCase "a target of 0 contributes 0 and a finite gradient; a negative target is refused unless log_target" <| fun () ->
            let input = vec [ log 0.5; log 0.5 ]
            let target = vec [ 0.0; 1.0 ]
            near "None" [ 0.0; -log 0.5 ] (Losses.KlDiv(input, target, Reduction.None))
            let g = gradsOf (fun t -> Losses.KlDiv(t.[0], t.[1], Reduction.Sum)) [| input; target |]
            near "d/dtarget" [ -log 0.5; 1.0 - log 0.5 ] g.[1]
            throwsFrom "kl_div" [ "target"; "non-negative" ] (fun () -> Losses.KlDiv(input, vec [ -0.1; 1.1 ]))
            noThrow "a negative log-target" (fun () -> Losses.KlDiv(input, vec [ -0.1; -2.0 ], logTarget = true)) |> ignore

        testCase "Sum, Mean, BatchMean and None on a [2, 2] batch; BatchMean of a scalar is the sum" <| fun () ->
            let input = f64 [ 2; 2 ] [ log 0.5; log 0.5; log 0.25; log 0.75 ]
            let target = f64 [ 2; 2 ] [ 0.25; 0.75; 0.5; 0.5 ]
            let pw = [ 0.25 * (log 0.25 - log 0.5); 0.75 * (log 0.75 - log 0.5); 0.5 * (log 0.5 - log 0.25); 0.5 * (log 0.5 - log 0.75) ]
            let total = List.sum pw
            near "None" pw (Losses.KlDiv(input, target, Reduction.None))
            near "Sum" [ total ] (Losses.KlDiv(input, target, Reduction.Sum))
            near "Mean" [ total / 4.0 ] (Losses.KlDiv(input, target, Reduction.Mean))
            near "BatchMean" [ total / 2.0 ] (Losses.KlDiv(input, target, Reduction.BatchMean))
            let s = Losses.KlDiv(T.Scalar(log 0.5), T.Scalar 0.25, Reduction.BatchMean)
            near "BatchMean of a scalar" [ 0.25 * (log 0.25 - log 0.5) ] s
            throwsFrom "kl_div" [ "unknown reduction" ] (fun () -> Losses.KlDiv(input, target, enum<Reduction> 17))

        testCase "kl_div's own checks: dtype and shape" <| fun () ->
            throwsFrom "kl_div" [ "input"; "int64" ] (fun () -> Losses.KlDiv(T.FromArray([| 1L |]), vec [ 1.0 ]))
            throwsFrom "kl_div" [ "target"; "int64" ] (fun () -> Losses.KlDiv(vec [ 1.0 ], T.FromArray([| 1L |])))
            throwsFrom "kl_div" [ "target shape [3]"; "input shape [2]" ] (fun () -> Losses.KlDiv(vec [ 1.0; 2.0 ], vec [ 1.0; 2.0; 3.0 ]))

        testCase "BatchMean is refused by the losses that are not kl_div" <| fun () ->
            throwsFrom "mse_loss" [ "BatchMean" ] (fun () -> Losses.MseLoss(vec [ 1.0 ], vec [ 2.0 ], Reduction.BatchMean))
            throwsFrom "cross_entropy" [ "BatchMean" ] (fun () -> Losses.CrossEntropy(f64 [ 1; 2 ] [ 1.0; 2.0 ], T.FromArray([| 0L |]), Reduction.BatchMean))
            throwsFrom "cross_entropy" [ "BatchMean" ] (fun () -> Losses.CrossEntropy(f64 [ 1; 2 ] [ 1.0; 2.0 ], f64 [ 1; 2 ] [ 0.5; 0.5 ], Reduction.BatchMean))
    ]

let private ceRef (row: float[]) (cls: int) = -(logSoftmaxRow row).[cls]

let private crossEntropyTests =
    testList "cross_entropy and nll_loss" [
        testCase "class indices with an ignored target: Mean divides by the targets kept" <| fun () ->
            let input = m23 scores
            let target = T.FromArray([| 2L; -100L |])
            near "Mean" [ ceRef scores.[0] 2 ] (Losses.CrossEntropy(input, target))
            near "Sum" [ ceRef scores.[0] 2 ] (Losses.CrossEntropy(input, target, Reduction.Sum))
            near "None" [ ceRef scores.[0] 2; 0.0 ] (Losses.CrossEntropy(input, target, Reduction.None))
            near "a custom ignore index" [ ceRef scores.[1] 0 ] (Losses.CrossEntropy(input, T.FromArray([| 1L; 0L |]), ignoreIndex = 1L))

        testCase "class weights: Mean divides by the total weight of the targets" <| fun () ->
            let input = m23 scores
            let target = T.FromArray([| 2L; 0L |])
            let w = vec [ 3.0; 1.0; 0.5 ]
            let a, b = 0.5 * ceRef scores.[0] 2, 3.0 * ceRef scores.[1] 0
            near "Mean" [ (a + b) / 3.5 ] (Losses.CrossEntropy(input, target, w))
            near "Sum" [ a + b ] (Losses.CrossEntropy(input, target, w, Reduction.Sum))
            near "None" [ a; b ] (Losses.CrossEntropy(input, target, w, Reduction.None))

        testCase "label smoothing with class indices, with and without weights" <| fun () ->
            let input = m23 scores
            let target = T.FromArray([| 2L; 0L |])
            let eps = 0.3
            let smooth (row: float[]) = -(Array.sum (logSoftmaxRow row))
            let one i c = (1.0 - eps) * ceRef scores.[i] c + eps / 3.0 * smooth scores.[i]
            near "Mean" [ (one 0 2 + one 1 0) / 2.0 ] (Losses.CrossEntropy(input, target, labelSmoothing = eps))
            let w = [| 3.0; 1.0; 0.5 |]
            let smoothW (row: float[]) = -(Array.map2 (*) (logSoftmaxRow row) w |> Array.sum)
            let oneW i c = (1.0 - eps) * w.[c] * ceRef scores.[i] c + eps / 3.0 * smoothW scores.[i]
            near "weighted Sum" [ oneW 0 2 + oneW 1 0 ] (Losses.CrossEntropy(input, target, vec (List.ofArray w), Reduction.Sum, labelSmoothing = eps))
            near "weighted Mean" [ (oneW 0 2 + oneW 1 0) / 3.5 ] (Losses.CrossEntropy(input, target, vec (List.ofArray w), labelSmoothing = eps))
            throwsFrom "cross_entropy" [ "labelSmoothing"; "1.5" ] (fun () -> Losses.CrossEntropy(input, target, labelSmoothing = 1.5))
            throwsFrom "cross_entropy" [ "labelSmoothing" ] (fun () -> Losses.CrossEntropy(input, target, labelSmoothing = -0.1))
            noThrow "labelSmoothing = 1" (fun () -> Losses.CrossEntropy(input, target, labelSmoothing = 1.0)) |> ignore

        testCase "soft targets, with smoothing and class weights; Mean divides by the number of samples" <| fun () ->
            let input = m23 scores
            let target = m23 probs
            let eps = 0.2
            let w = [| 3.0; 1.0; 0.5 |]
            let row i (smoothing: float) (weights: float[]) =
                let t = probs.[i] |> Array.map (fun p -> p * (1.0 - smoothing) + smoothing / 3.0)
                -(Array.map3 (fun l p c -> l * p * c) (logSoftmaxRow scores.[i]) t weights |> Array.sum)
            let ones = [| 1.0; 1.0; 1.0 |]
            near "None" [ row 0 0.0 ones; row 1 0.0 ones ] (Losses.CrossEntropy(input, target, Reduction.None))
            near "Mean with smoothing" [ (row 0 eps ones + row 1 eps ones) / 2.0 ] (Losses.CrossEntropy(input, target, labelSmoothing = eps))
            near "Sum with weights" [ row 0 0.0 w + row 1 0.0 w ] (Losses.CrossEntropy(input, target, vec (List.ofArray w), Reduction.Sum))

        testCase "a 1-D input is one sample whose class axis is 0" <| fun () ->
            near "indices" [ ceRef scores.[0] 1 ] (Losses.CrossEntropy(vec (List.ofArray scores.[0]), T.FromArray([| 1L |]).Reshape([||])))

        testCase "nll_loss takes log-probabilities as given (no log_softmax)" <| fun () ->
            let input = m23 scores
            near "Mean" [ -(3.0 + 0.0) / 2.0 ] (Losses.NllLoss(input, T.FromArray([| 2L; 0L |])))
            near "weighted Mean" [ -(0.5 * 3.0 + 3.0 * 0.0) / 3.5 ] (Losses.NllLoss(input, T.FromArray([| 2L; 0L |]), vec [ 3.0; 1.0; 0.5 ]))

        testCase "argument checks name the op and the fault" <| fun () ->
            let input = m23 scores
            throwsFrom "cross_entropy" [ "out of range"; "3" ] (fun () -> Losses.CrossEntropy(input, T.FromArray([| 3L; 0L |])))
            throwsFrom "cross_entropy" [ "out of range"; "-1" ] (fun () -> Losses.CrossEntropy(input, T.FromArray([| -1L; 0L |])))
            throwsFrom "nll_loss" [ "int64" ] (fun () -> Losses.NllLoss(input, vec [ 1.0; 0.0 ]))
            throwsFrom "cross_entropy" [ "target shape [3]" ] (fun () -> Losses.CrossEntropy(input, T.FromArray([| 1L; 0L; 0L |])))
            throwsFrom "cross_entropy" [ "weight"; "[3]"; "[2]" ] (fun () -> Losses.CrossEntropy(input, T.FromArray([| 1L; 0L |]), vec [ 1.0; 1.0 ]))
            throwsFrom "cross_entropy" [ "weight"; "[3]" ] (fun () -> Losses.CrossEntropy(input, m23 probs, f64 [ 1; 3 ] [ 1.0; 1.0; 1.0 ]))
            // one weight per class, but as a column: the rank is wrong even though the length fits
            throwsFrom "cross_entropy" [ "weight"; "[3, 1]" ] (fun () -> Losses.CrossEntropy(input, T.FromArray([| 1L; 0L |]), f64 [ 3; 1 ] [ 1.0; 1.0; 1.0 ]))
            throwsFrom "nll_loss" [ "weight"; "[3, 1]" ] (fun () -> Losses.NllLoss(input, T.FromArray([| 1L; 0L |]), f64 [ 3; 1 ] [ 1.0; 1.0; 1.0 ]))
            throwsFrom "cross_entropy" [ "scalar" ] (fun () -> Losses.CrossEntropy(T.Scalar 1.0, T.FromArray([| 0L |]).Reshape([||])))
            throwsFrom "cross_entropy" [ "soft"; "[2, 2]" ] (fun () -> Losses.CrossEntropy(input, f64 [ 2; 2 ] [ 0.5; 0.5; 0.5; 0.5 ]))
            throwsFrom "cross_entropy" [ "target"; "non-negative" ] (fun () -> Losses.CrossEntropy(input, f64 [ 2; 3 ] [ 0.5; -0.5; 1.0; 0.2; 0.3; 0.5 ]))
            // float32 rows long enough for the vector loop: a negative target in any lane, or in the tail, is found
            for at in [ 0; 5; 13; 16; 37 ] do
                let wide = T.FromArray(Array.init 80 (fun i -> float32 (i % 7) * 0.1f), [| 2; 40 |])
                let target = Array.init 80 (fun i -> if i = 40 + at then -0.01f else 1.0f / 40.0f)
                throwsFrom "cross_entropy" [ "target"; "non-negative" ] (fun () -> Losses.CrossEntropy(wide, T.FromArray(target, [| 2; 40 |])))
    ]

let private bceTests =
    testList "binary cross-entropy" [
        testCase "probabilities of exactly 0 and 1: log clamped at -100, gradient 0 there" <| fun () ->
            let input = vec [ 0.0; 1.0; 0.25 ]
            let target = vec [ 1.0; 0.0; 1.0 ]
            near "None" [ 100.0; 100.0; -log 0.25 ] (Losses.BinaryCrossEntropy(input, target, Reduction.None))
            let g = gradOf (fun x -> Losses.BinaryCrossEntropy(x, target, Reduction.Sum)) input
            near "gradient" [ 0.0; 0.0; -4.0 ] g
            let t0 = vec [ 0.0; 1.0; 0.0 ]
            near "the other side" [ 0.0; 0.0; -log 0.75 ] (Losses.BinaryCrossEntropy(input, t0, Reduction.None))
            near "the other side's gradient" [ 1.0; -1.0; 1.0 / 0.75 ] (gradOf (fun x -> Losses.BinaryCrossEntropy(x, t0, Reduction.Sum)) input)

        testCase "a tiny probability: the log is clamped at -100, not at the input" <| fun () ->
            near "None" [ 100.0; 100.0 ] (Losses.BinaryCrossEntropy(vec [ 1e-60; 1.0 - 1e-17 ], vec [ 1.0; 0.0 ], Reduction.None))

        testCase "weights broadcast; a weight that does not fit is refused; inputs outside [0, 1] are refused" <| fun () ->
            let input = vec [ 0.5; 0.25 ]
            let target = vec [ 1.0; 1.0 ]
            near "weighted" [ -2.0 * log 0.5; -0.5 * log 0.25 ] (Losses.BinaryCrossEntropy(input, target, vec [ 2.0; 0.5 ], Reduction.None))
            throwsFrom "binary_cross_entropy" [ "weight shape [2, 2]" ] (fun () -> Losses.BinaryCrossEntropy(input, target, T.Ones([| 2; 2 |], DType.Float64)))
            throwsFrom "binary_cross_entropy" [ "input"; "[0, 1]" ] (fun () -> Losses.BinaryCrossEntropy(vec [ 1.5 ], vec [ 1.0 ]))

        testCase "with logits: pos_weight multiplies the positive term only" <| fun () ->
            let x = vec [ 0.5; -1.0 ]
            let t = vec [ 1.0; 0.25 ]
            let sp v = log (1.0 + exp v)
            let plain = [ sp -0.5; 0.75 * -1.0 + sp 1.0 ]
            near "no pos_weight" plain (Losses.BinaryCrossEntropyWithLogits(x, t, Reduction.None))
            let pw = 3.0
            let lw = [ (pw - 1.0) * 1.0 + 1.0; (pw - 1.0) * 0.25 + 1.0 ]
            let expected = [ lw.[0] * sp -0.5; 0.75 * -1.0 + lw.[1] * sp 1.0 ]
            near "pos_weight 3" expected (Losses.BinaryCrossEntropyWithLogits(x, t, vec [ 1.0; 1.0 ], vec [ pw; pw ], Reduction.None))
            near "weight 2" (plain |> List.map ((*) 2.0)) (Losses.BinaryCrossEntropyWithLogits(x, t, vec [ 2.0; 2.0 ], Reduction.None))
            throwsFrom "binary_cross_entropy_with_logits" [ "posWeight shape [2, 2]" ] (fun () ->
                Losses.BinaryCrossEntropyWithLogits(x, t, vec [ 1.0; 1.0 ], T.Ones([| 2; 2 |], DType.Float64)))

        testCase "with logits: large inputs stay exact (no threshold on the softplus)" <| fun () ->
            // softplus(-x) for x = -30 is 30 + log(1 + e^-30); a threshold of 20 would drop the tail
            let v = Losses.BinaryCrossEntropyWithLogits(vec [ -30.0 ], vec [ 1.0 ], Reduction.Sum)
            near "value" [ 30.0 + log (1.0 + exp -30.0) ] v
            let g = gradOf (fun x -> Losses.BinaryCrossEntropyWithLogits(x, vec [ 0.0 ], Reduction.Sum)) (vec [ -30.0 ])
            // 1 - sigmoid(30) loses most digits to cancellation; a threshold would give exactly 0
            relClose 0.01 "gradient: sigmoid(-30)" [ 1.0 / (1.0 + exp 30.0) ] g
    ]

let private regressionTests =
    testList "regression and likelihood losses" [
        testCase "huber: quadratic inside delta, linear outside, with delta 2" <| fun () ->
            let input = vec [ 0.5; 3.0; -5.0 ]
            let target = vec [ 0.0; 0.0; 0.0 ]
            near "None" [ 0.125; 2.0 * (3.0 - 1.0); 2.0 * (5.0 - 1.0) ] (Losses.HuberLoss(input, target, Reduction.None, 2.0))
            near "gradient" [ 0.5; 2.0; -2.0 ] (gradOf (fun x -> Losses.HuberLoss(x, target, Reduction.Sum, 2.0)) input)
            throwsFrom "huber_loss" [ "delta"; "0" ] (fun () -> Losses.HuberLoss(input, target, Reduction.Mean, 0.0))

        testCase "smooth_l1: quadratic / beta inside beta, |d| - beta/2 outside; beta 0 is L1 with a finite gradient" <| fun () ->
            let input = vec [ 0.5; 3.0; -5.0; 0.0 ]
            let target = vec [ 0.0; 0.0; 0.0; 0.0 ]
            near "beta 2" [ 0.0625; 2.0; 4.0; 0.0 ] (Losses.SmoothL1Loss(input, target, Reduction.None, 2.0))
            near "beta 2 gradient" [ 0.25; 1.0; -1.0; 0.0 ] (gradOf (fun x -> Losses.SmoothL1Loss(x, target, Reduction.Sum, 2.0)) input)
            near "beta 0" [ 0.5; 3.0; 5.0; 0.0 ] (Losses.SmoothL1Loss(input, target, Reduction.None, 0.0))
            near "beta 0 gradient" [ 1.0; 1.0; -1.0; 0.0 ] (gradOf (fun x -> Losses.SmoothL1Loss(x, target, Reduction.Sum, 0.0)) input)
            throwsFrom "smooth_l1_loss" [ "beta" ] (fun () -> Losses.SmoothL1Loss(input, target, Reduction.Mean, -1.0))

        testCase "mse and l1 with Mean over every element" <| fun () ->
            let input = f64 [ 2; 2 ] [ 1.0; 2.0; 3.0; 4.0 ]
            let target = f64 [ 2; 2 ] [ 0.0; 0.0; 0.0; 6.0 ]
            near "mse" [ (1.0 + 4.0 + 9.0 + 4.0) / 4.0 ] (Losses.MseLoss(input, target))
            near "l1" [ (1.0 + 2.0 + 3.0 + 2.0) / 4.0 ] (Losses.L1Loss(input, target))

        testCase "poisson: log input or rate, and Stirling's term only where the target exceeds 1" <| fun () ->
            let input = vec [ 0.5; 2.0; 1.0 ]
            let target = vec [ 0.0; 1.0; 3.0 ]
            let logIn = [ exp 0.5; exp 2.0 - 2.0; exp 1.0 - 3.0 ]
            near "log input" logIn (Losses.PoissonNllLoss(input, target, reduction = Reduction.None))
            let eps = 1e-8
            near "rate input" [ 0.5; 2.0 - log (2.0 + eps); 1.0 - 3.0 * log (1.0 + eps) ] (Losses.PoissonNllLoss(input, target, logInput = false, reduction = Reduction.None))
            let stirling t = t * log t - t + 0.5 * log (2.0 * Math.PI * t)
            near "full" [ logIn.[0]; logIn.[1]; logIn.[2] + stirling 3.0 ] (Losses.PoissonNllLoss(input, target, full = true, reduction = Reduction.None))
            let g = gradsOf (fun t -> Losses.PoissonNllLoss(t.[0], t.[1], full = true, reduction = Reduction.Sum)) [| input; target |]
            // d/dt: -input, plus Stirling's log t + 1/(2t) where t > 1
            near "d/dtarget" [ -0.5; -2.0; -1.0 + log 3.0 + 1.0 / 6.0 ] g.[1]

        testCase "gaussian nll: var of the input's shape, with its last dimension 1 or dropped; eps clamps; full adds log(2 pi)/2" <| fun () ->
            let input = f64 [ 2; 2 ] [ 1.0; 2.0; 3.0; 4.0 ]
            let target = f64 [ 2; 2 ] [ 0.0; 0.0; 0.0; 0.0 ]
            let row v (xs: float list) = xs |> List.map (fun d -> 0.5 * (log v + d * d / v))
            let expected = row 2.0 [ 1.0; 2.0 ] @ row 0.5 [ 3.0; 4.0 ]
            near "var [2, 1]" expected (Losses.GaussianNllLoss(input, target, f64 [ 2; 1 ] [ 2.0; 0.5 ], reduction = Reduction.None))
            near "var [2]" expected (Losses.GaussianNllLoss(input, target, vec [ 2.0; 0.5 ], reduction = Reduction.None))
            near "full" (expected |> List.map (fun v -> v + 0.5 * log (2.0 * Math.PI))) (Losses.GaussianNllLoss(input, target, vec [ 2.0; 0.5 ], full = true, reduction = Reduction.None))
            near "var 0 clamped to eps" (row 0.01 [ 1.0; 2.0 ]) (Losses.GaussianNllLoss(vec [ 1.0; 2.0 ], vec [ 0.0; 0.0 ], vec [ 0.0; 0.0 ], eps = 0.01, reduction = Reduction.None))
            // the clamp passes the gradient straight through: d/dvar of the clamped formula, at var = 0
            let gv = gradsOf (fun t -> Losses.GaussianNllLoss(t.[0], t.[1], t.[2], eps = 0.01, reduction = Reduction.Sum)) [| vec [ 1.0 ]; vec [ 0.0 ]; vec [ 0.0 ] |]
            near "d/dvar through the clamp" [ 0.5 * (1.0 / 0.01 - 1.0 / (0.01 * 0.01)) ] gv.[2]
            throwsFrom "gaussian_nll_loss" [ "var shape [3]" ] (fun () -> Losses.GaussianNllLoss(input, target, vec [ 1.0; 1.0; 1.0 ]))
            throwsFrom "gaussian_nll_loss" [ "var"; "non-negative" ] (fun () -> Losses.GaussianNllLoss(input, target, vec [ 1.0; -1.0 ]))
    ]

let private similarityTests =
    testList "cosine similarity and embedding loss" [
        testCase "cosine similarity along axis 1, and eps for a tiny vector" <| fun () ->
            let a = f64 [ 2; 2 ] [ 3.0; 4.0; 0.0; 0.0 ]
            let b = f64 [ 2; 2 ] [ 4.0; 3.0; 1.0; 0.0 ]
            near "value" [ 24.0 / 25.0; 0.0 ] (Losses.CosineSimilarity(a, b))
            near "a broadcast row" [ 24.0 / 25.0; 0.0 ] (Losses.CosineSimilarity(a, f64 [ 1; 2 ] [ 4.0; 3.0 ]))
            let g = gradOf (fun x -> T.Sum(Losses.CosineSimilarity(x, f64 [ 1; 2 ] [ 1.0; 0.0 ]))) (f64 [ 1; 2 ] [ 1e-9; 0.0 ])
            // |x| = 1e-9 is below eps: the norm's value is eps (cos = 0.1), its gradient that of |x|
            near "value below eps" [ 0.1 ] (Losses.CosineSimilarity(f64 [ 1; 2 ] [ 1e-9; 0.0 ], f64 [ 1; 2 ] [ 1.0; 0.0 ]))
            closeTo 1e-9 "gradient below eps: 1/eps - x/eps^2" [ 9e7; 0.0 ] g

        testCase "cosine embedding: 1 - cos for target 1, max(0, cos - margin) for target -1" <| fun () ->
            let a = f64 [ 3; 2 ] [ 3.0; 4.0; 1.0; 0.0; 1.0; 0.0 ]
            let b = f64 [ 3; 2 ] [ 4.0; 3.0; 1.0; 1.0; -1.0; 1.0 ]
            let t = vec [ 1.0; -1.0; -1.0 ]
            let c2 = 1.0 / sqrt 2.0
            closeTo 1e-9 "None, margin 0.5" [ 1.0 - 24.0 / 25.0; c2 - 0.5; 0.0 ] (Losses.CosineEmbeddingLoss(a, b, t, 0.5, Reduction.None))
            closeTo 1e-9 "None, margin 0.9" [ 1.0 - 24.0 / 25.0; 0.0; 0.0 ] (Losses.CosineEmbeddingLoss(a, b, t, 0.9, Reduction.None))
            throwsFrom "cosine_embedding_loss" [ "1 or -1" ] (fun () -> Losses.CosineEmbeddingLoss(a, b, vec [ 1.0; 0.0; 1.0 ]))
            throwsFrom "cosine_embedding_loss" [ "target must have shape [3]" ] (fun () -> Losses.CosineEmbeddingLoss(a, b, vec [ 1.0; 1.0 ]))
            throwsFrom "cosine_embedding_loss" [ "1-D or 2-D" ] (fun () -> Losses.CosineEmbeddingLoss(T.Ones([| 1; 1; 2 |], DType.Float64), T.Ones([| 1; 1; 2 |], DType.Float64), vec [ 1.0 ]))
    ]

let private divergenceTests =
    testList "divergences" [
        testCase "renyi: alpha 1 is KL, alpha 2 the closed form; bad alpha refused" <| fun () ->
            let p = vec [ 0.25; 0.75 ]
            let q = vec [ 0.5; 0.5 ]
            let kl = 0.25 * log 0.5 + 0.75 * log 1.5
            near "alpha 1" [ kl ] (Divergences.Renyi(p, q, 1.0))
            near "alpha 2" [ log (0.0625 / 0.5 + 0.5625 / 0.5) ] (Divergences.Renyi(p, q, 2.0))
            near "alpha 0.5: divided by alpha - 1 = -0.5" [ -2.0 * log (sqrt 0.125 + sqrt 0.375) ] (Divergences.Renyi(p, q, 0.5))
            throwsFrom "renyi" [ "alpha" ] (fun () -> Divergences.Renyi(p, q, 0.0))
            throwsFrom "renyi" [ "alpha" ] (fun () -> Divergences.Renyi(p, q, infinity))

        testCase "smoothed KL mixes q with the uniform distribution over the axis" <| fun () ->
            let p = vec [ 0.25; 0.75 ]
            let q = vec [ 0.0; 1.0 ]
            let qs = [ 0.1 * 0.5; 0.9 + 0.1 * 0.5 ]
            near "KL eps 0.1" [ 0.25 * log (0.25 / qs.[0]) + 0.75 * log (0.75 / qs.[1]) ] (Divergences.KL(p, q, 0.1))
            near "ReverseKL eps 0.1: KL(q || smoothed p)" [ log (1.0 / (0.9 * 0.75 + 0.05)) ] (Divergences.ReverseKL(p, q, 0.1))
            throwsFrom "kl" [ "epsilon" ] (fun () -> Divergences.KL(p, q, 0.0))
            throwsFrom "kl" [ "epsilon" ] (fun () -> Divergences.KL(p, q, 1.5))

        testCase "wasserstein1 on a grid and between sample sets" <| fun () ->
            let grid = vec [ 0.0; 1.0; 3.0 ]
            // all mass at 0 vs all at 3: distance 3
            near "grid" [ 3.0 ] (Divergences.Wasserstein1(vec [ 1.0; 0.0; 0.0 ], vec [ 0.0; 0.0; 2.0 ], grid))
            near "one point" [ 0.0 ] (Divergences.Wasserstein1(vec [ 1.0 ], vec [ 1.0 ], vec [ 5.0 ]))
            near "no points: 0, not an error" [ 0.0 ] (Divergences.Wasserstein1(vec [], vec [], vec []))
            near "a batch of two rows" [ 3.0; 1.0 ] (Divergences.Wasserstein1(f64 [ 2; 3 ] [ 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 ], f64 [ 2; 3 ] [ 0.0; 0.0; 2.0; 1.0; 0.0; 0.0 ], grid))
            throwsFrom "wasserstein1" [ "strictly increasing" ] (fun () -> Divergences.Wasserstein1(vec [ 1.0; 1.0 ], vec [ 1.0; 1.0 ], vec [ 1.0; 1.0 ]))
            near "samples" [ 1.5 ] (Divergences.Wasserstein1Samples(vec [ 0.0; 1.0 ], vec [ 2.0; 2.0; 2.0 ]))
    ]

let private checkTests =
    testList "value checks" [
        testCase "positive means > 0 (a Normal's scale of 0 is refused), non-negative allows 0" <| fun () ->
            throwsFrom "normal" [ "scale"; "positive" ] (fun () -> AutoKl.Distributions.Normal(0.0, 0.0))
            noThrow "a scale just above 0" (fun () -> AutoKl.Distributions.Normal(0.0, 1e-300)) |> ignore
            noThrow "a zero target" (fun () -> Losses.KlDiv(vec [ -1.0 ], vec [ 0.0 ])) |> ignore
            throwsFrom "binary_cross_entropy" [ "input"; "element 1" ] (fun () -> Losses.BinaryCrossEntropy(vec [ 1.0; 1.0000001 ], vec [ 1.0; 1.0 ]))
            throwsFrom "kl_div" [ "target"; "element 2"; "-1E-300" ] (fun () -> Losses.KlDiv(vec [ -1.0; -1.0; -1.0 ], vec [ 0.5; 0.0; -1e-300 ]))
            throwsFrom "kl_div" [ "target"; "element 1" ] (fun () -> Losses.KlDiv(vec32 [ -1.0; -1.0 ], vec32 [ 0.5; -0.5 ]))

        testCase "Validation.Disabled() turns the value checks off, and back on after" <| fun () ->
            do
                use _ = Validation.Disabled()
                noThrow "a negative target with checks off" (fun () -> Losses.KlDiv(vec [ -1.0 ], vec [ -0.5 ])) |> ignore
            throwsFrom "kl_div" [ "target" ] (fun () -> Losses.KlDiv(vec [ -1.0 ], vec [ -0.5 ]))
    ]

[<Tests>]
let tests =
    testList "Mutation.LossRules" [ gluonTests; klTests; crossEntropyTests; bceTests; regressionTests; similarityTests; divergenceTests; checkTests ]
