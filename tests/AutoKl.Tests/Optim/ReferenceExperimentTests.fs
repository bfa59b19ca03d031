/// The reference experiment (fixtures/pytorch/reference_experiment.json, README there): fit
/// Q = Normal(mu, sigma) to the unnormalised sum of N(-5,1) and N(10,1) densities on 1000
/// points of [-15, 15] with Adam(lr 1e-3) for 10000 steps. float64 matches PyTorch 1.13 at
/// steps 1..20 and every 1000th step to 1e-9 relative; float32 to float32 noise (1e-4).
module AutoKl.Tests.Optim.ReferenceExperimentTests

open Expecto
open System
open System.Diagnostics
open System.Text.Json
open AutoKl
open AutoKl.Optim
open AutoKl.Distributions
open AutoKl.Tests.Support

let private fixture = lazy (Oracle.load [ "pytorch"; "reference_experiment.json" ])

let private scalar (dtype: DType) (v: float) = Tensor.Scalar(v, dtype)

/// Q.log_prob(x) for Q = Normal(mu, sigma) (the library's Distributions.Normal).
let normalLogProb (loc: Tensor) (scale: Tensor) (x: Tensor) = Normal(loc, scale).LogProb(x)

/// The experiment's setup in a dtype: the grid x and the target p (sum of the two densities, not normalised).
let setup (dtype: DType) =
    let x = Tensor.linspace dtype -15.0 15.0 1000
    let density (m: float) = Normal(m, 1.0, dtype).LogProb(x) |> Tensor.exp
    x, density -5.0 + density 10.0

/// The loss of a variant as a function of mu and sigma, with the library's losses (PyTorch's
/// defaults: kl_div and mse_loss with reduction 'mean', cosine_similarity with eps 1e-8).
let lossOf (variant: string) (x: Tensor) (p: Tensor) (mu: Tensor) (sigma: Tensor) : unit -> Tensor =
    match variant with
    | "a_kl" -> fun () -> Losses.KlDiv(normalLogProb mu sigma x, p)
    | "b_mse_mu0" | "c_mse_mu5" -> fun () -> Losses.MseLoss(normalLogProb mu sigma x |> Tensor.exp, p)
    | "d_negcos_mu5" -> fun () -> -Losses.CosineSimilarity(normalLogProb mu sigma x |> Tensor.exp, p, axis = 0)
    | other -> failwithf "unknown variant %s" other

type private Row = { Step: int; Loss: float; Mu: float; Sigma: float; GradMu: float; GradSigma: float }

let private rowOf (e: JsonElement) =
    { Step = e.GetProperty("step").GetInt32(); Loss = e.GetProperty("loss").GetDouble()
      Mu = e.GetProperty("mu").GetDouble(); Sigma = e.GetProperty("sigma").GetDouble()
      GradMu = e.GetProperty("grad_mu").GetDouble(); GradSigma = e.GetProperty("grad_sigma").GetDouble() }

/// One run of the experiment: 10000 Adam steps, compared at the fixture's steps, timed over steps 1001..10000.
let private referenceRun (name: string) =
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
    // Gradients shrink towards 0 near the optimum, where float32 sums of 1000 terms keep an
    // absolute noise: compare them to rtol relative to the largest gradient of the run.
    let gradScale = expected |> Seq.collect (fun (KeyValue(_, r)) -> [ abs r.GradMu; abs r.GradSigma ]) |> Seq.max
    let mutable compared = 0
    let mutable worst = 0.0 // largest relative deviation of loss, mu, sigma seen (reported, asserted above per value)
    let relative (e: float) (a: float) = if e = 0.0 then abs a else abs (a - e) / abs e
    let watch = Stopwatch() // timed over steps 1001..10000, after the JIT has warmed up
    let onStep (r: StepReport) =
        if r.Step = 1000 then watch.Start()
        match expected.TryFind r.Step with
        | Some e ->
            let what field = sprintf "%s step %d %s" name r.Step field
            Check.arraysClose (what "loss") rtol 0.0 [| e.Loss |] [| r.Loss |]
            Check.arraysClose (what "mu") rtol 0.0 [| e.Mu |] [| Tensor.toFloat mu |]
            Check.arraysClose (what "sigma") rtol 0.0 [| e.Sigma |] [| Tensor.toFloat sigma |]
            Check.arraysClose (what "grad mu") rtol (rtol * gradScale) [| e.GradMu |] [| Tensor.toFloat mu.Grad |]
            Check.arraysClose (what "grad sigma") rtol (rtol * gradScale) [| e.GradSigma |] [| Tensor.toFloat sigma.Grad |]
            worst <- List.max [ worst; relative e.Loss r.Loss; relative e.Mu (Tensor.toFloat mu); relative e.Sigma (Tensor.toFloat sigma) ]
            compared <- compared + 1
        | None -> ()
    Optim.minimizeWith onStep [ mu; sigma ] optimizer 10000 (lossOf (run.GetProperty("variant").GetString()) x p mu sigma)
    watch.Stop()
    printfn "%s: %.1f us per step; largest relative deviation from PyTorch %.2g" name (watch.Elapsed.TotalMilliseconds * 1000.0 / 9000.0) worst
    Expect.equal compared 30 "compared" // steps 1..20 and 1000, 2000, ..., 10000
    let final = run.GetProperty("final")
    Check.arraysClose (name + " final") rtol 0.0 [| final.GetProperty("mu").GetDouble(); final.GetProperty("sigma").GetDouble() |]
                      [| Tensor.toFloat mu; Tensor.toFloat sigma |]

[<Tests>]
let tests =
    testList "Optim.ReferenceExperiment" [
        testSequenced <| testList "reference experiment matches PyTorch" [
            for name in [ for r in fixture.Value.GetProperty("runs").EnumerateArray() -> r.GetProperty("name").GetString() ] ->
                testCase name <| fun () -> referenceRun name
        ]

        testCase "the composed losses have gradients that agree with finite differences" <| fun () ->
            let x, p = setup DType.Float64
            for variant in [ "a_kl"; "b_mse_mu0"; "d_negcos_mu5" ] do
                GradCheck.check
                    (fun (xs: Tensor[]) -> lossOf variant x p xs.[0] xs.[1] () |> Tensor.reshape [ 1 ])
                    [| Tensor.ofList [ 1.3 ] |> Tensor.reshape []; Tensor.ofList [ 1.7 ] |> Tensor.reshape [] |]
    ]
