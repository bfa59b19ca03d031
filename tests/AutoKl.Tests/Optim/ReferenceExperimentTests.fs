/// The reference experiment (fixtures/pytorch/reference_experiment.json, README there): fit
/// Q = Normal(mu, sigma) to the unnormalised sum of N(-5,1) and N(10,1) densities on 1000
/// points of [-15, 15] with Adam(lr 1e-3) for 10000 steps. float64 matches PyTorch 1.13 at
/// steps 1..20 and every 1000th step to 1e-9 relative; float32 to float32 noise (1e-4).
module AutoKl.Tests.Optim.ReferenceExperimentTests

open System
open System.Diagnostics
open System.Text.Json
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support
open NUnit.Framework

let private fixture = lazy (Oracle.load [ "pytorch"; "reference_experiment.json" ])

let private scalar (dtype: DType) (v: float) = Tensor.Scalar(v, dtype)

/// Normal(loc, scale).log_prob(x) = -(x-mu)^2/(2 sigma^2) - log sigma - log sqrt(2 pi), from engine ops.
let normalLogProb (loc: Tensor) (scale: Tensor) (x: Tensor) =
    let variance = scale |> Tensor.pow 2.0
    -((x - loc) |> Tensor.pow 2.0) / (2.0 * variance) - Tensor.log scale - log (sqrt (2.0 * Math.PI))

/// PyTorch's F.kl_div(input, target, reduction='mean') with log_target=False: mean(xlogy(p, p) - p * input).
let klDivMean (logq: Tensor) (p: Tensor) = Tensor.xlogy p p - p * logq |> Tensor.mean

/// F.mse_loss(input, target): mean((input - target)^2).
let mse (q: Tensor) (p: Tensor) = q - p |> Tensor.pow 2.0 |> Tensor.mean

/// F.cosine_similarity(a, b, dim=0, eps=1e-8) for vectors whose norms are far above eps:
/// sum(a*b) / sqrt(sum(a^2) * sum(b^2)).
let cosineSimilarity (a: Tensor) (b: Tensor) =
    Tensor.sum (a * b) / Tensor.sqrt (Tensor.sum (a * a) * Tensor.sum (b * b))

/// The experiment's setup in a dtype: the grid x and the target p.
let setup (dtype: DType) =
    let x = Tensor.linspace dtype -15.0 15.0 1000
    let density (m: float) = normalLogProb (scalar dtype m) (scalar dtype 1.0) x |> Tensor.exp
    x, density -5.0 + density 10.0

/// The loss of a variant as a function of mu and sigma.
let lossOf (variant: string) (x: Tensor) (p: Tensor) (mu: Tensor) (sigma: Tensor) : unit -> Tensor =
    match variant with
    | "a_kl" -> fun () -> klDivMean (normalLogProb mu sigma x) p
    | "b_mse_mu0" | "c_mse_mu5" -> fun () -> mse (normalLogProb mu sigma x |> Tensor.exp) p
    | "d_negcos_mu5" -> fun () -> -(cosineSimilarity (normalLogProb mu sigma x |> Tensor.exp) p)
    | other -> failwithf "unknown variant %s" other

type private Row = { Step: int; Loss: float; Mu: float; Sigma: float; GradMu: float; GradSigma: float }

let private rowOf (e: JsonElement) =
    { Step = e.GetProperty("step").GetInt32(); Loss = e.GetProperty("loss").GetDouble()
      Mu = e.GetProperty("mu").GetDouble(); Sigma = e.GetProperty("sigma").GetDouble()
      GradMu = e.GetProperty("grad_mu").GetDouble(); GradSigma = e.GetProperty("grad_sigma").GetDouble() }

type ReferenceExperiment() =
    static member Cases =
        [ for r in fixture.Value.GetProperty("runs").EnumerateArray() ->
            let name = r.GetProperty("name").GetString()
            TestCaseData(name).SetName(sprintf "reference experiment matches PyTorch: %s" name) ]

    [<TestCaseSource(nameof ReferenceExperiment.Cases)>]
    member _.Run(name: string) =
        let run = fixture.Value.GetProperty("runs").EnumerateArray() |> Seq.find (fun r -> r.GetProperty("name").GetString() = name)
        let dtype = if run.GetProperty("dtype").GetString() = "float32" then DType.Float32 else DType.Float64
        let rtol = if dtype = DType.Float64 then 1e-9 else 1e-4
        let x, p = setup dtype
        Check.arraysClose "sum of p" (if dtype = DType.Float64 then 1e-12 else 1e-5) 0.0 [| run.GetProperty("p_sum").GetDouble() |] [| Tensor.sum p |> Tensor.toFloat |]
        let initial = run.GetProperty("initial")
        let mu = scalar dtype (initial.GetProperty("mu").GetDouble()) |> Tensor.requiresGrad
        let sigma = scalar dtype (initial.GetProperty("sigma").GetDouble()) |> Tensor.requiresGrad
        let expected =
            Seq.append (run.GetProperty("first_steps").EnumerateArray()) (run.GetProperty("rows").EnumerateArray())
            |> Seq.map rowOf |> Seq.map (fun r -> r.Step, r) |> Map.ofSeq
        let optimizer = Adam([ mu; sigma ], lr = 1e-3)
        let mutable compared = 0
        let onStep (r: StepReport) =
            match expected.TryFind r.Step with
            | Some e ->
                let what field = sprintf "%s step %d %s" name r.Step field
                // gradients near a stationary point are tiny: compare them relative to their scale over the run
                Check.arraysClose (what "loss") rtol 0.0 [| e.Loss |] [| r.Loss |]
                Check.arraysClose (what "mu") rtol 0.0 [| e.Mu |] [| Tensor.toFloat mu |]
                Check.arraysClose (what "sigma") rtol 0.0 [| e.Sigma |] [| Tensor.toFloat sigma |]
                Check.arraysClose (what "grad mu") rtol (rtol * 1e-3) [| e.GradMu |] [| Tensor.toFloat mu.Grad |]
                Check.arraysClose (what "grad sigma") rtol (rtol * 1e-3) [| e.GradSigma |] [| Tensor.toFloat sigma.Grad |]
                compared <- compared + 1
            | None -> ()
        let watch = Stopwatch.StartNew()
        Optim.minimizeWith onStep [ mu; sigma ] optimizer 10000 (lossOf (run.GetProperty("variant").GetString()) x p mu sigma)
        watch.Stop()
        TestContext.Out.WriteLine(sprintf "%s: %.1f us per step" name (watch.Elapsed.TotalMilliseconds * 1000.0 / 10000.0))
        Assert.That(compared, Is.EqualTo 30) // steps 1..20 and 1000, 2000, ..., 10000
        let final = run.GetProperty("final")
        Check.arraysClose (name + " final") rtol 0.0 [| final.GetProperty("mu").GetDouble(); final.GetProperty("sigma").GetDouble() |]
                          [| Tensor.toFloat mu; Tensor.toFloat sigma |]

[<Test>]
let ``the composed losses have gradients that agree with finite differences`` () =
    let x, p = setup DType.Float64
    for variant in [ "a_kl"; "b_mse_mu0"; "d_negcos_mu5" ] do
        GradCheck.check
            (fun (xs: Tensor[]) -> lossOf variant x p xs.[0] xs.[1] () |> Tensor.reshape [ 1 ])
            [| Tensor.ofList [ 1.3 ] |> Tensor.reshape []; Tensor.ofList [ 1.7 ] |> Tensor.reshape [] |]
