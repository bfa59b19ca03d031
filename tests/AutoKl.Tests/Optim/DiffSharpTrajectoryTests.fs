/// Optimizer trajectories of the DiffSharp oracle (fixtures/diffsharp/diffsharp-oracle.json):
/// Adam on a quadratic and on the Gaussian fit, SGD with momentum and with Nesterov (PyTorch's
/// rules). The case `dsharp_sgd_class_momentum_quadratic_20` follows DiffSharp's own SGD, which
/// is NOT PyTorch's: it is tested to differ from ours in exactly the documented way.
module AutoKl.Tests.Optim.DiffSharpTrajectoryTests

open Expecto
open System.Text.Json
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support
open AutoKl.Tests.Optim.OptimSupport

let private oracle = lazy (Oracle.load [ "diffsharp"; "diffsharp-oracle.json" ])
let private caseNamed name = Oracle.cases oracle.Value |> List.find (fun c -> Oracle.name c = name)
let private paramFloats case key = Oracle.param case key |> Option.map floats |> Option.get

/// sum(c * (p - t)^2), the oracle's quadratic.
let private quadratic (case: JsonElement) (p: Tensor) =
    let c = Tensor.ofArray (paramFloats case "c")
    let t = Tensor.ofArray (paramFloats case "t")
    c * (p - t |> Tensor.pow 2.0) |> Tensor.sum

/// The oracle's Gaussian-fit KL: mean(px*log px - px*Normal(mu, sigma).log_prob(x)), p = [mu, sigma].
let private gaussFitKl (p: Tensor) =
    let inputs = Oracle.inputs (caseNamed "gauss_fit_kl_1000_mu0_sigma1")
    let x, px = inputs.["x"], inputs.["px"]
    let logq = ReferenceExperimentTests.normalLogProb (Tensor.select 0 0 p) (Tensor.select 0 1 p) x
    Tensor.xlogy px px - px * logq |> Tensor.mean

/// Runs `optimizer` on `loss` from the case's p0 and checks the losses (before each step) and the
/// parameters (after each step) against the oracle.
let private checkTrajectory (case: JsonElement) (p: Tensor) (optimizer: Optimizer) (loss: unit -> Tensor) =
    let expected = Oracle.value case
    let steps = expected.Shape.[0]
    Expect.equal steps 20 "steps"
    let width = expected.Shape.[1]
    let expectedLosses = floats (case.GetProperty("losses").GetProperty "data")
    let name = Oracle.name case
    Optim.minimizeWith
        (fun r ->
            Check.arraysClose (sprintf "%s loss before step %d" name r.Step) 1e-12 0.0 [| expectedLosses.[r.Step - 1] |] [| r.Loss |]
            Check.arraysClose (sprintf "%s parameters after step %d" name r.Step) 1e-12 1e-15
                (Array.sub (expected.ToDoubleArray()) ((r.Step - 1) * width) width) (p.ToDoubleArray()))
        [ p ] optimizer steps loss

let private start (case: JsonElement) = (Oracle.inputs case).["p0"].Detach() |> Tensor.requiresGrad

/// DiffSharp 1.0.7's SGD update (DiffSharp.Optim.SGD), written out only to document how it
/// differs: its momentum buffer starts at the gradient and is then immediately updated,
/// buf = momentum*buf + g, so the first step moves by lr*(1+momentum)*g (PyTorch: lr*g).
let private diffSharpSgd (lr: float) (momentum: float) (grad: float[] -> float[]) (p0: float[]) steps =
    let mutable p = Array.copy p0
    let mutable buf: float[] = [||]
    [ for _ in 1 .. steps do
        let g = grad p
        if buf.Length = 0 then buf <- Array.copy g
        buf <- Array.map2 (fun b gi -> momentum * b + gi) buf g
        p <- Array.map2 (fun pi bi -> pi - lr * bi) p buf
        yield! p ]

[<Tests>]
let tests =
    testList "Optim.DiffSharpTrajectories" [
        testCase "Adam on the quadratic follows DiffSharp's (PyTorch-equal) Adam" <| fun () ->
            let case = caseNamed "adam_quadratic_20"
            let p = start case
            let betas = paramFloats case "betas"
            let optimizer = Adam([ p ], lr = Oracle.paramFloat case "lr" 0.0, beta1 = betas.[0], beta2 = betas.[1], eps = Oracle.paramFloat case "eps" 0.0)
            checkTrajectory case p optimizer (fun () -> quadratic case p)

        testList "Adam on the Gaussian fit follows DiffSharp's Adam" [
            for name in
                [ "adam_gauss_fit_kl_20_lr0.001"
                  "adam_gauss_fit_kl_20_lr0.1" ] ->
                testCase name <| fun () ->
                    let case = caseNamed name
                    let p = start case
                    let optimizer = Adam([ p ], lr = Oracle.paramFloat case "lr" 0.0)
                    checkTrajectory case p optimizer (fun () -> gaussFitKl p)
        ]

        testList "SGD with momentum follows the oracle's PyTorch-rule trajectory" [
            for name in
                [ "sgd_momentum_quadratic_20"
                  "sgd_nesterov_quadratic_20" ] ->
                testCase name <| fun () ->
                    let case = caseNamed name
                    let p = start case
                    let optimizer =
                        SGD([ p ], lr = Oracle.paramFloat case "lr" 0.0, momentum = Oracle.paramFloat case "momentum" 0.0,
                            nesterov = Oracle.paramBool case "nesterov" false)
                    checkTrajectory case p optimizer (fun () -> quadratic case p)
        ]

        testCase "DiffSharp's own SGD (dsharp_sgd_class_momentum_quadratic_20) is not PyTorch's: ours differs exactly as documented" <| fun () ->
            let case = caseNamed "dsharp_sgd_class_momentum_quadratic_20"
            Expect.stringContains ((case.GetProperty "diffsharp").GetString()) "NOT torch semantics" "(case.GetProperty \"diffsharp\").GetString()"
            let lr, momentum = Oracle.paramFloat case "lr" 0.0, Oracle.paramFloat case "momentum" 0.0
            Expect.isFalse (Oracle.paramBool case "nesterov" true) "Oracle.paramBool case \"nesterov\" true"
            let dsharp = (Oracle.value case).ToDoubleArray()
            let p0 = (Oracle.inputs case).["p0"].ToDoubleArray()
            // ours, with the same settings: PyTorch's rule
            let p = start case
            let optimizer = SGD([ p ], lr = lr, momentum = momentum)
            let ours = ResizeArray<float>()
            Optim.minimizeWith (fun _ -> ours.AddRange(p.ToDoubleArray())) [ p ] optimizer 20 (fun () -> quadratic case p)
            // 1. ours is the oracle's PyTorch-rule trajectory, and differs from DiffSharp's from step 1 on
            Check.arraysClose "ours vs the PyTorch-rule oracle" 1e-12 1e-15 ((Oracle.value (caseNamed "sgd_momentum_quadratic_20")).ToDoubleArray()) (ours.ToArray())
            for i in 0 .. 2 do
                Expect.isGreaterThan (abs (ours.[i] - dsharp.[i])) 1e-3 (sprintf "step 1, element %d should differ" i)
            // 2. the documented difference: DiffSharp's first displacement is (1 + momentum) times ours
            Check.arraysClose "first step displacement ratio" 1e-12 0.0
                (Array.create 3 (1.0 + momentum)) (Array.init 3 (fun i -> (dsharp.[i] - p0.[i]) / (ours.[i] - p0.[i])))
            // 3. DiffSharp's rule, written out, reproduces the whole oracle trajectory
            let grad (x: float[]) =
                let xt = Tensor.ofArray x
                (grad (quadratic case) xt).ToDoubleArray()
            Check.arraysClose "DiffSharp's rule" 1e-12 1e-15 dsharp (diffSharpSgd lr momentum grad p0 20 |> List.toArray)
    ]
