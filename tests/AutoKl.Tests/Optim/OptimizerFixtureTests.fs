/// Every optimizer and option against PyTorch 1.13 (fixtures/pytorch/optimizers.json): 25 steps
/// over two parameter tensors in two groups with different settings, losses and parameters equal
/// to 1e-12 relative in float64. Also gradient clipping against torch.nn.utils.
module AutoKl.Tests.Optim.OptimizerFixtureTests

open Expecto
open System.Text.Json
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support
open AutoKl.Tests.Optim.OptimSupport

let private caseNamed (name: string) =
    Oracle.cases optimizersFixture.Value |> List.find (fun c -> Oracle.name c = name)

let private rtol = 1e-12

/// One optimizer case of the fixture: loss and both parameters after every one of its steps.
let private trajectory (name: string) =
    let case = caseNamed name
    let initial = case.GetProperty("initial")
    let w1 = (Oracle.tensorOf (initial.GetProperty "w1")).RequiresGrad_()
    let w2 = (Oracle.tensorOf (initial.GetProperty "w2")).RequiresGrad_()
    let groupsJson = [ for g in case.GetProperty("groups").EnumerateArray() -> g ]
    Expect.equal groupsJson.Length 2 "number of groupsJson"
    let groups = [ paramGroupOf [ w1 ] groupsJson.[0]; paramGroupOf [ w2 ] groupsJson.[1] ]
    let epsilonHat = case.GetProperty("eps_placement").GetString() = "epsilon_hat"
    let optimizer = optimizerOf (case.GetProperty("optimizer").GetString()) epsilonHat groups
    let expectedLosses = floats (case.GetProperty "losses")
    let trajectory = [| for t in case.GetProperty("trajectory").EnumerateArray() -> t |]
    let steps = case.GetProperty("steps").GetInt32()
    Expect.isGreaterThanOrEqual steps 20 "steps"
    let mutable seen = 0
    let onStep (r: StepReport) =
        let k = r.Step - 1
        Check.arraysClose (sprintf "%s loss before step %d" name r.Step) rtol 0.0 [| expectedLosses.[k] |] [| r.Loss |]
        Check.arraysClose (sprintf "%s w1 after step %d" name r.Step) rtol 1e-15 (floats (trajectory.[k].GetProperty "w1")) (w1.ToDoubleArray())
        Check.arraysClose (sprintf "%s w2 after step %d" name r.Step) rtol 1e-15 (floats (trajectory.[k].GetProperty "w2")) (w2.ToDoubleArray())
        seen <- seen + 1
    Optim.minimizeWith onStep [ w1; w2 ] optimizer steps (fun () -> objective w1 w2)
    Expect.equal seen steps "seen"

/// One clipping case of the fixture: the gradients clipped as torch.nn.utils clips them.
let private clipping (name: string) =
    let case =
        optimizersFixture.Value.GetProperty("clipping").EnumerateArray()
        |> Seq.find (fun c -> c.GetProperty("name").GetString() = name)
    let grads = case.GetProperty("grads_in")
    let a = Tensor.zeros DType.Float64 [ 3 ] |> Tensor.requiresGrad
    let b = Tensor.zeros DType.Float64 [ 2; 2 ] |> Tensor.requiresGrad
    a.Grad <- Oracle.tensorOf (grads.GetProperty "g1")
    b.Grad <- Oracle.tensorOf (grads.GetProperty "g2")
    let parameters = case.GetProperty("params")
    match case.GetProperty("function").GetString() with
    | "torch.nn.utils.clip_grad_norm_" ->
        let normType =
            match parameters.GetProperty("norm_type") with
            | v when v.ValueKind = JsonValueKind.String && v.GetString() = "inf" -> infinity
            | v -> v.GetDouble()
        let total = GradClip.ClipGradNorm([ a; b ], parameters.GetProperty("max_norm").GetDouble(), normType)
        Check.arraysClose "total norm" 1e-12 0.0 [| case.GetProperty("total_norm").GetDouble() |] [| total |]
    | "torch.nn.utils.clip_grad_value_" ->
        [ a; b ] |> Optim.clipGradValue (parameters.GetProperty("clip_value").GetDouble())
    | other -> failwithf "unknown clipping function %s" other
    let out = case.GetProperty("grads_out")
    Check.tensorClose "g1 clipped" 1e-12 1e-15 (Oracle.tensorOf (out.GetProperty "g1")) a.Grad
    Check.tensorClose "g2 clipped" 1e-12 1e-15 (Oracle.tensorOf (out.GetProperty "g2")) b.Grad

[<Tests>]
let tests =
    testList "Optim.PyTorchFixtures" [
        testList "optimizer matches PyTorch" [
            for name in [ for c in Oracle.cases optimizersFixture.Value -> Oracle.name c ] ->
                testCase name <| fun () -> trajectory name
        ]

        testList "gradient clipping matches PyTorch" [
            for name in [ for c in optimizersFixture.Value.GetProperty("clipping").EnumerateArray() -> c.GetProperty("name").GetString() ] ->
                testCase name <| fun () -> clipping name
        ]

        testCase "the optimizer fixture has 33 trajectory cases and 5 clipping cases" <| fun () ->
            Expect.equal (Oracle.cases optimizersFixture.Value |> List.length) 33 "Oracle.cases optimizersFixture.Value |> List.length"
            Expect.equal (optimizersFixture.Value.GetProperty("clipping").GetArrayLength()) 5 "number of clipping"

        testCase "the objective and its gradient match the fixture's first loss and gradient" <| fun () ->
            let case = caseNamed "sgd_plain"
            let initial = case.GetProperty("initial")
            let w1 = (Oracle.tensorOf (initial.GetProperty "w1")).RequiresGrad_()
            let w2 = (Oracle.tensorOf (initial.GetProperty "w2")).RequiresGrad_()
            let loss = objective w1 w2
            loss.Backward()
            Check.arraysClose "loss" 1e-13 0.0 [| (floats (case.GetProperty "losses")).[0] |] [| loss.ToScalar() |]
            let g = case.GetProperty("grads").[0]
            Check.arraysClose "dw1" 1e-13 1e-15 (floats (g.GetProperty "w1")) (w1.Grad.ToDoubleArray())
            Check.arraysClose "dw2" 1e-13 1e-15 (floats (g.GetProperty "w2")) (w2.Grad.ToDoubleArray())

        testCase "the objective's gradient agrees with finite differences" <| fun () ->
            let w2 = Tensor.ofList2D [ [ 0.8; -0.3 ]; [ 1.2; -1.5 ] ]
            // reshaped to [1]: GradCheck.cotangentFor builds a rank-0 output's cotangent as shape [1]
            GradCheck.check (fun (xs: Tensor[]) -> objective xs.[0] xs.[1] |> Tensor.reshape [ 1 ]) [| Tensor.ofList [ 1.5; 0.5; -1.0 ]; w2 |]
    ]
