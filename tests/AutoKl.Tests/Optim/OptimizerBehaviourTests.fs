/// Behaviour beyond the fixtures: float32 stays float32, parameters without gradients are
/// skipped, lr lives outside the momentum buffer, the F# functions, properties over seeds.
module AutoKl.Tests.Optim.OptimizerBehaviourTests

open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support
open AutoKl.Tests.Optim.OptimSupport
open FsCheck

let private caseNamed (name: string) =
    Oracle.cases optimizersFixture.Value |> List.find (fun c -> Oracle.name c = name)

/// The same 25 steps with float32 parameters: the update is computed in float32 (the
/// parameters and every state buffer stay float32) and lands within float32 noise of float64.
let private float32Run (name: string) =
    let case = caseNamed name
    let initial = case.GetProperty("initial")
    let w1 = (Oracle.tensorOf (initial.GetProperty "w1")).ToType(DType.Float32).RequiresGrad_()
    let w2 = (Oracle.tensorOf (initial.GetProperty "w2")).ToType(DType.Float32).RequiresGrad_()
    let groupsJson = [ for g in case.GetProperty("groups").EnumerateArray() -> g ]
    let groups = [ paramGroupOf [ w1 ] groupsJson.[0]; paramGroupOf [ w2 ] groupsJson.[1] ]
    let optimizer = optimizerOf (case.GetProperty("optimizer").GetString()) (case.GetProperty("eps_placement").GetString() = "epsilon_hat") groups
    // the objective's constants are float64: compute it in float64 from float32 parameters, as a mixed model would
    Optim.minimize [ w1; w2 ] optimizer 25 (fun () -> objective (w1.ToType DType.Float64) (w2.ToType DType.Float64)) |> ignore
    Expect.equal w1.DType DType.Float32 "dtype of w1"
    for p in [ w1; w2 ] do
        for KeyValue(buffer, t) in optimizer.State(p).Buffers do
            Expect.equal t.DType DType.Float32 buffer
    let last = case.GetProperty("trajectory").[24]
    Check.arraysClose (name + " w1 (float32)") 2e-4 2e-5 (floats (last.GetProperty "w1")) (w1.ToDoubleArray())
    Check.arraysClose (name + " w2 (float32)") 2e-4 2e-5 (floats (last.GetProperty "w2")) (w2.ToDoubleArray())

[<Tests>]
let tests =
    testList "Optim.Behaviour" [
        testList "optimizer runs in float32 close to PyTorch's float64" [
            for name in [ for c in Oracle.cases optimizersFixture.Value -> Oracle.name c ] ->
                testCase name <| fun () -> float32Run name
        ]

        testCase "parameters without a gradient are skipped and keep no state" <| fun () ->
            let used = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let unused = Tensor.ofList [ 3.0 ] |> Tensor.requiresGrad
            let optimizer = Adam([ used; unused ], lr = 0.1)
            Optim.minimize [ used; unused ] optimizer 3 (fun () -> Tensor.sum (used * used)) |> ignore
            Check.arraysClose "unused" 0.0 0.0 [| 3.0 |] (unused.ToDoubleArray())
            Expect.isFalse (optimizer.HasState unused) "optimizer.HasState unused"
            Expect.equal (optimizer.State(used).Step) 3L "optimizer.State(used).Step"

        testCase "lr stays outside the SGD momentum buffer, so a new lr applies at once" <| fun () ->
            let p = Tensor.ofList [ 1.0 ] |> Tensor.requiresGrad
            let optimizer = SGD([ p ], lr = 0.1, momentum = 0.5)
            let stepWith (lr: float) =
                optimizer |> Optim.setLr lr
                optimizer |> Optim.zeroGrad
                (Tensor.sum (3.0 * p)).Backward() // gradient 3
                optimizer |> Optim.step
            stepWith 0.1 // buffer = 3 (the gradient itself), p = 1 - 0.3
            Check.arraysClose "after step 1" 1e-15 0.0 [| 0.7 |] (p.ToDoubleArray())
            stepWith 1.0 // buffer = 0.5*3 + 3 = 4.5, p = 0.7 - 1.0*4.5
            Check.arraysClose "after step 2" 1e-15 0.0 [| 0.7 - 4.5 |] (p.ToDoubleArray())
            Check.arraysClose "buffer" 0.0 0.0 [| 4.5 |] (optimizer.State(p).Buffers.["momentum_buffer"].ToDoubleArray())
            Expect.equal (Optim.lr optimizer) 1.0 "Optim.lr optimizer"

        testCase "Kingma-Ba's epsilon placement differs from PyTorch's only through eps" <| fun () ->
            let run placement eps =
                let p = Tensor.ofList [ 1.0; -2.0 ] |> Tensor.requiresGrad
                Optim.minimize [ p ] (Adam([ p ], lr = 0.1, eps = eps, epsilonPlacement = placement)) 10 (fun () -> Tensor.sum (p * p * p * p)) |> ignore
                p.ToDoubleArray()
            Check.arraysClose "eps = 0: the two forms agree" 1e-13 0.0 (run EpsilonPlacement.PyTorch 0.0) (run EpsilonPlacement.KingmaBa 0.0)
            let a, b = run EpsilonPlacement.PyTorch 0.5, run EpsilonPlacement.KingmaBa 0.5
            Expect.isGreaterThan (abs (a.[0] - b.[0])) 1e-3 "abs (a.[0] - b.[0])"

        // PyTorch's AdamW multiplies p by 1 - lr*weight_decay, then takes Adam's step from the gradient
        // computed before; AdamW folds the multiplication into its update loop, and this pins that the
        // fold rounds exactly as the separate pass does (float32 in float32).
        testList "AdamW equals a decay pass over p then plain Adam, bit for bit" [
            for inFloat32, amsgrad in
                [ false, false
                  false, true
                  true, false
                  true, true ] ->
                testCase (sprintf "%s, amsgrad %b" (if inFloat32 then "float32" else "float64") amsgrad) <| fun () ->
                    let dtype = if inFloat32 then DType.Float32 else DType.Float64
                    let start () =
                        let g = Generator(7)
                        Tensor.RandN([| 4 |], g, dtype).RequiresGrad_(), Tensor.RandN([| 2; 3 |], g, dtype).RequiresGrad_()
                    let (a1, a2), (b1, b2) = start (), start ()
                    let adamW = AdamW([ ParamGroup([ a1 ], Lr = 0.05, WeightDecay = 0.1); ParamGroup([ a2 ], Lr = 0.02, WeightDecay = 0.3) ], amsgrad = amsgrad)
                    let adam = Adam([ ParamGroup([ b1 ], Lr = 0.05); ParamGroup([ b2 ], Lr = 0.02) ], amsgrad = amsgrad, weightDecay = 0.0)
                    let backward (x: Tensor) (y: Tensor) = (Tensor.sum (x * x * x - x) + 0.1 * Tensor.sum (Tensor.exp y)).Backward()
                    let decay (factor: float) (p: Tensor) =
                        let shrunk =
                            if inFloat32 then Tensor.ofArray32 [| for v in p.ToDoubleArray() -> float32 v * float32 factor |]
                            else Tensor.ofArray [| for v in p.ToDoubleArray() -> v * factor |]
                        use _ = Autograd.NoGrad()
                        p.Copy_(shrunk |> Tensor.reshape (List.ofArray p.Shape)) |> ignore
                    for step in 1 .. 40 do
                        adamW.ZeroGrad()
                        backward a1 a2
                        adamW.Step()
                        adam.ZeroGrad()
                        backward b1 b2 // the gradient at the parameters before the decay, as in AdamW
                        decay (1.0 - 0.05 * 0.1) b1
                        decay (1.0 - 0.02 * 0.3) b2
                        adam.Step()
                        Expect.equal (a1.ToDoubleArray()) (b1.ToDoubleArray()) (sprintf "w1 after step %d" step)
                        Expect.equal (a2.ToDoubleArray()) (b2.ToDoubleArray()) (sprintf "w2 after step %d" step)
                    Expect.equal a1.DType dtype "dtype of a1"
        ]

        testCase "the F# helpers: minimize returns the losses, group and minimizeScheduled, clipGradNorm" <| fun () ->
            let a = Tensor.ofList [ 2.0 ] |> Tensor.requiresGrad
            let b = Tensor.ofList [ -1.0 ] |> Tensor.requiresGrad
            let optimizer = SGD([ [ a ] |> Optim.group [ "lr", 0.25 ]; [ b ] |> Optim.group [ "lr", 0.5; "momentum", 0.0 ] ], lr = 0.1)
            Expect.equal optimizer.ParamGroups.[1].Lr 0.5 "optimizer.ParamGroups.[1].Lr"
            let schedule = StepLR(optimizer, 1, 0.5)
            let losses = Optim.minimizeScheduled schedule [ a; b ] optimizer 2 (fun () -> Tensor.sum (a * a + b * b))
            // step 1: a = 2 - 0.25*4 = 1, b = -1 + 0.5*2 = 0; then lrs halve; step 2: a = 1 - 0.125*2 = 0.75
            Check.arraysClose "losses" 1e-15 0.0 [| 5.0; 1.0 |] losses
            Check.arraysClose "a" 1e-15 0.0 [| 0.75 |] (a.ToDoubleArray())
            Check.arraysClose "lrs" 1e-15 0.0 [| 0.0625; 0.125 |] (schedule.GetLastLr())
            optimizer |> Optim.zeroGrad
            (Tensor.sum (3.0 * a + 4.0 * b)).Backward()
            let norm = [ a; b ] |> Optim.clipGradNorm 1.0
            Check.arraysClose "norm" 1e-15 0.0 [| 5.0 |] [| norm |]
            Check.arraysClose "clipped" 1e-6 0.0 [| 0.6; 0.8 |] [| a.Grad.ToScalar(); b.Grad.ToScalar() |]

        testCase "groups added later take the defaults they do not set, and report their hyper-parameters" <| fun () ->
            let a = Tensor.ofList [ 1.0 ] |> Tensor.requiresGrad
            let b = Tensor.ofList [ 1.0 ] |> Tensor.requiresGrad
            let optimizer = SGD([ a ], lr = 0.1, momentum = 0.9)
            optimizer.AddParamGroup(ParamGroup([ b ], Lr = 0.5))
            let g = optimizer.ParamGroups.[1]
            Expect.isTrue (g.Has "momentum" && g.Momentum = 0.9 && g.Lr = 0.5) "g.Has \"momentum\" && g.Momentum = 0.9 && g.Lr = 0.5"
            Expect.equal g.HyperParameters.["dampening"] 0.0 "g.HyperParameters.[\"dampening\"]"
            Expect.equal optimizer.Defaults.["lr"] 0.1 "optimizer.Defaults.[\"lr\"]"
            Expect.equal optimizer.Parameters.Count 2 "optimizer.Parameters.Count"
            // plain Minimize.Run (no callback): b moves by lr * gradient on the first step
            Minimize.Run([| a; b |], (fun () -> Tensor.sum (a + 2.0 * b)), optimizer, 1)
            Check.arraysClose "b after one step" 1e-15 0.0 [| 0.0 |] (b.ToDoubleArray())
            Expect.isTrue (optimizer.State(b).Has "momentum_buffer") "optimizer.State(b).Has \"momentum_buffer\""

        testCase "a schedule's position round-trips in memory and composites save their sub-schedules" <| fun () ->
            let p = Tensor.ofList [ 1.0 ] |> Tensor.requiresGrad
            let optimizer = SGD([ p ], lr = 0.1)
            let chained = ChainedScheduler([ ExponentialLR(optimizer, 0.9) :> LRScheduler; CosineAnnealingWarmRestarts(optimizer, 3, 2) ])
            for _ in 1 .. 7 do chained.Step()
            let saved = chained.SaveState()
            let optimizerSaved = optimizer.SaveState()
            Expect.equal saved.Kind "ChainedScheduler" "saved.Kind"
            Expect.equal saved.Children.Count 2 "saved.Children.Count"
            Expect.equal saved.Children.[1].Values.["t_i"] 6.0 "saved.Children.[1].Values.[\"t_i\"]"
            let next () = [| for _ in 1 .. 5 -> chained.Step(); chained.CurrentLr |]
            let first = next ()
            chained.LoadState saved
            optimizer.LoadState optimizerSaved
            Expect.equal (next ()) first "next ()"
            Check.throwsAutoKl [ "saved by a ChainedScheduler, not a StepLR" ] (fun () -> StepLR(optimizer, 2).LoadState saved) |> ignore

        // Descent: on a convex quadratic with a small lr every optimizer lowers the loss (property over seeds).
        testPropertyWithConfig (Properties.runs 30) "every optimizer lowers a convex quadratic from a random start" <| fun (seed: PositiveInt) ->
            let g = Generator(seed.Get)
            let start = Tensor.RandN([| 4 |], g, DType.Float64)
            let target = Tensor.RandN([| 4 |], g, DType.Float64)
            let makers: (Tensor -> Optimizer) list =
                [ (fun p -> SGD([ p ], lr = 0.05, momentum = 0.5)); (fun p -> Adam([ p ], lr = 0.01))
                  (fun p -> AdamW([ p ], lr = 0.01)); (fun p -> RMSprop([ p ], lr = 0.001)); (fun p -> Adagrad([ p ], lr = 0.05)) ]
            makers |> List.forall (fun make ->
                let p = Tensor.ofArray (start.ToDoubleArray()) |> Tensor.requiresGrad
                let loss () = Tensor.sum ((p - target) |> Tensor.pow 2.0)
                let before = loss () |> Tensor.toFloat
                Optim.minimize [ p ] (make p) 5 loss |> ignore
                let after = noGrad (fun () -> loss () |> Tensor.toFloat)
                after < before || before < 1e-12)
    ]
