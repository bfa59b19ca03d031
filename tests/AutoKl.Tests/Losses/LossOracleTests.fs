/// Every loss case of the PyTorch fixtures (losses.json) and of the DiffSharp oracle, value and
/// gradients at 1e-10 relative; each case is a named test.
module AutoKl.Tests.Losses.LossOracleTests

open Expecto
open System.Text.Json
open AutoKl
open AutoKl.Distributions
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner

/// Class-index targets: the DiffSharp file stores them as floats.
let private classIndices (input: Tensor) (target: Tensor) =
    if target.DType = DType.Int64 || target.Shape = input.Shape then target else target.ToType(DType.Int64)

let compute (case: JsonElement) (i: Map<string, Tensor>) : Tensor =
    let r = reduction case
    let input () = i.["input"]
    let target () = i.["target"]
    let ignore = int64 (Oracle.paramInt case "ignore_index" -100)
    match Oracle.op case with
    | "mse_loss" -> Losses.MseLoss(input (), target (), r)
    | "l1_loss" -> Losses.L1Loss(input (), target (), r)
    | "huber_loss" -> Losses.HuberLoss(input (), target (), r, Oracle.paramFloat case "delta" 1.0)
    | "smooth_l1_loss" -> Losses.SmoothL1Loss(input (), target (), r, Oracle.paramFloat case "beta" 1.0)
    | "cosine_similarity" -> Losses.CosineSimilarity(i.["x1"], i.["x2"], Oracle.paramInt case "dim" 1, Oracle.paramFloat case "eps" 1e-8)
    | "cosine_embedding_loss" -> Losses.CosineEmbeddingLoss(i.["input1"], i.["input2"], target (), Oracle.paramFloat case "margin" 0.0, r)
    | "cross_entropy" ->
        let t = classIndices (input ()) (target ())
        let ls = Oracle.paramFloat case "label_smoothing" 0.0
        match i.TryFind "weight" with
        | Some w -> Losses.CrossEntropy(input (), t, w, r, ignore, ls)
        | None -> Losses.CrossEntropy(input (), t, r, ignore, ls)
    | "nll_loss" ->
        let t = classIndices (input ()) (target ())
        match i.TryFind "weight" with
        | Some w -> Losses.NllLoss(input (), t, w, r, ignore)
        | None -> Losses.NllLoss(input (), t, r, ignore)
    | "binary_cross_entropy" ->
        match i.TryFind "weight" with
        | Some w -> Losses.BinaryCrossEntropy(input (), target (), w, r)
        | None -> Losses.BinaryCrossEntropy(input (), target (), r)
    | "binary_cross_entropy_with_logits" ->
        match i.TryFind "weight", i.TryFind "pos_weight" with
        | None, None -> Losses.BinaryCrossEntropyWithLogits(input (), target (), r)
        | Some w, None -> Losses.BinaryCrossEntropyWithLogits(input (), target (), w, r)
        | w, Some pw -> Losses.BinaryCrossEntropyWithLogits(input (), target (), defaultArg w (Tensor.Scalar 1.0), pw, r)
    | "poisson_nll_loss" ->
        Losses.PoissonNllLoss(input (), target (), Oracle.paramBool case "log_input" true, Oracle.paramBool case "full" false,
                              Oracle.paramFloat case "eps" 1e-8, r)
    | "gaussian_nll_loss" ->
        Losses.GaussianNllLoss(input (), target (), i.["var"], Oracle.paramBool case "full" false, Oracle.paramFloat case "eps" 1e-6, r)
    | "gauss_fit_kl_mean" -> Losses.KlDiv(Normal(i.["mu"], i.["sigma"]).LogProb(i.["x"]), i.["px"], Reduction.Mean)
    | "gauss_fit_mse" -> Losses.MseLoss(Normal(i.["mu"], i.["sigma"]).Prob(i.["x"]), i.["px"])
    | "gauss_fit_negcos" -> -Losses.CosineSimilarity(Normal(i.["mu"], i.["sigma"]).Prob(i.["x"]), i.["px"], 0)
    | other -> failwithf "no loss for op %s" other

let private lossOps =
    [ "mse_loss"; "l1_loss"; "huber_loss"; "smooth_l1_loss"; "cosine_similarity"; "cosine_embedding_loss"; "cross_entropy"
      "nll_loss"; "binary_cross_entropy"; "binary_cross_entropy_with_logits"; "poisson_nll_loss"; "gaussian_nll_loss" ]

let pytorchLossCases = caseNames pytorch lossOps
let diffsharpLossCases = caseNames diffsharp (lossOps @ [ "gauss_fit_kl_mean"; "gauss_fit_mse"; "gauss_fit_negcos" ])

[<Tests>]
let tests =
    testList "Losses.Oracle" [
        testList "loss matches PyTorch" [
            for name in pytorchLossCases ->
                testCase name <| fun () ->
                    let case = caseNamed pytorch name
                    run (compute case) case
        ]

        testList "loss matches DiffSharp" [
            for name in diffsharpLossCases ->
                testCase name <| fun () ->
                    let case = caseNamed diffsharp name
                    run (compute case) case
        ]

        testCase "every case of both oracle files is covered by this project" <| fun () ->
            // losses.json: 146 cases = kl_div (14) + losses here + distributions (Distributions/OracleTests).
            let distributionOps =
                [ "normal_log_prob"; "normal_entropy"; "normal_cdf"; "categorical_log_prob"; "categorical_entropy"
                  "bernoulli_log_prob"; "bernoulli_entropy"; "uniform_log_prob"; "uniform_entropy"; "kl_divergence" ]
            let covered = caseNames pytorch ("kl_div" :: lossOps @ distributionOps)
            Expect.equal covered.Length 146 "number of covered"
            Expect.equal (diffsharpLossCases.Length + (caseNames diffsharp [ "kl_div"; "normal_log_prob" ]).Length) 22 "diffsharpLossCases.Length + (caseNames diffsharp [ \"kl_div\"; \"normal_log_prob\" ]).Length"
    ]
