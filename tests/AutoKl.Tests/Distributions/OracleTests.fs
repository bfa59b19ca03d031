/// Every distribution case of the PyTorch fixtures (log_prob, cdf, entropy, kl_divergence) and the
/// DiffSharp Normal log-density, value and gradients at 1e-10 relative.
module AutoKl.Tests.Distributions.OracleTests

open Expecto
open System.Text.Json
open AutoKl
open AutoKl.Distributions
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner

let private build (kind: string) (prefix: string) (parametrization: string) (i: Map<string, Tensor>) : Distribution =
    let get name = i.[prefix + name]
    match kind with
    | "Normal" -> Normal(get "loc", get "scale")
    | "Uniform" -> Uniform(get "low", get "high")
    | "Categorical" -> if parametrization = "logits" then Categorical.FromLogits(get "logits") else Categorical.FromProbs(get "probs")
    | "Bernoulli" -> if parametrization = "logits" then Bernoulli.FromLogits(get "logits") else Bernoulli.FromProbs(get "probs")
    | other -> failwithf "unknown distribution %s" other

let compute (case: JsonElement) (i: Map<string, Tensor>) : Tensor =
    let par = Oracle.paramString case "parametrization" "probs"
    match Oracle.op case with
    | "normal_log_prob" when i.ContainsKey "mu" -> Normal(i.["mu"], i.["sigma"]).LogProb(i.["x"])
    | "normal_log_prob" -> Normal(i.["loc"], i.["scale"]).LogProb(i.["x"])
    | "normal_cdf" -> Normal(i.["loc"], i.["scale"]).Cdf(i.["x"])
    | "normal_entropy" -> Normal(i.["loc"], i.["scale"]).Entropy()
    | "categorical_log_prob" -> (build "Categorical" "" par i).LogProb(i.["value"])
    | "categorical_entropy" -> (build "Categorical" "" par i).Entropy()
    | "bernoulli_log_prob" -> (build "Bernoulli" "" par i).LogProb(i.["value"])
    | "bernoulli_entropy" -> (build "Bernoulli" "" par i).Entropy()
    | "uniform_log_prob" -> Uniform(i.["low"], i.["high"]).LogProb(i.["x"])
    | "uniform_entropy" -> Uniform(i.["low"], i.["high"]).Entropy()
    | "kl_divergence" ->
        let p = build (Oracle.paramString case "p" "") "p_" par i
        let q = build (Oracle.paramString case "q" "") "q_" par i
        KL.Divergence(p, q)
    | other -> failwithf "no distribution function for op %s" other

let private ops =
    [ "normal_log_prob"; "normal_entropy"; "normal_cdf"; "categorical_log_prob"; "categorical_entropy"
      "bernoulli_log_prob"; "bernoulli_entropy"; "uniform_log_prob"; "uniform_entropy"; "kl_divergence" ]

let pytorchDistributionCases = caseNames pytorch ops
let diffsharpDistributionCases = caseNames diffsharp [ "normal_log_prob" ]

[<Tests>]
let tests =
    testList "Distributions.Oracle" [
        testList "distribution matches PyTorch" [
            for name in pytorchDistributionCases ->
                testCase name <| fun () ->
                    let case = caseNamed pytorch name
                    run (compute case) case
        ]

        testList "Normal log-density matches DiffSharp" [
            for name in diffsharpDistributionCases ->
                testCase name <| fun () ->
                    let case = caseNamed diffsharp name
                    run (compute case) case
        ]
    ]
