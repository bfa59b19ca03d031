/// Every branch of each optimizer's update and of gradient clipping, checked against the update
/// written out here from PyTorch's formulas, over four steps with gradients chosen so that each
/// option changes the trajectory (see MUTATIONS.md).
module AutoKl.Tests.Mutation.OptimRuleTests

open System
open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Mutation.MutationSupport

/// Large, then small gradients (so amsgrad's maximum differs from the running average), of both signs.
let private grads = [ [| 3.0; -1.0 |]; [| 0.1; 2.0 |]; [| -0.5; 0.05 |]; [| 0.2; 0.2 |] ]
let private start = [| 1.0; -2.0 |]

/// Runs the optimizer made by `make` for the four steps, the gradient set by hand each step.
let private trajectory (make: T -> Optimizer) =
    let p = T.FromArray(Array.copy start).RequiresGrad_()
    let opt = make p
    [ for g in grads do
          p.Grad <- T.FromArray(Array.copy g)
          opt.Step()
          yield p.ToDoubleArray() ]

/// The same four steps of a per-element update written in F#: `step t p g state` returns the new p.
let private reference (step: int -> float -> float -> float[] -> float) (stateSize: int) =
    let p = Array.copy start
    let states = Array.init p.Length (fun _ -> Array.zeroCreate<float> stateSize)
    [ for t, g in List.indexed grads do
          for i in 0 .. p.Length - 1 do
              p.[i] <- step (t + 1) p.[i] g.[i] states.[i]
          yield Array.copy p ]

let private agree what (expected: float[] list) (actual: float[] list) =
    List.zip expected actual |> List.iteri (fun k (e, a) ->
        for i in 0 .. e.Length - 1 do
            if not (abs (a.[i] - e.[i]) <= 1e-12 * max 1.0 (abs e.[i])) then
                failtestf "%s: step %d, element %d is %.17g, expected %.17g" what (k + 1) i a.[i] e.[i])

let private sgdRef lr momentum dampening nesterov wd maximize =
    reference (fun t p g s ->
        let mutable d = if maximize then -g else g
        if wd <> 0.0 then d <- d + wd * p
        if momentum <> 0.0 then
            s.[0] <- if t = 1 then d else s.[0] * momentum + (1.0 - dampening) * d
            d <- if nesterov then d + momentum * s.[0] else s.[0]
        p - lr * d) 1

let private adamRef lr b1 b2 eps wd amsgrad maximize kingmaBa decoupled =
    reference (fun t p g s ->
        let p = if decoupled then p * (1.0 - lr * wd) else p
        let mutable g = if maximize then -g else g
        if not decoupled && wd <> 0.0 then g <- g + wd * p
        s.[0] <- s.[0] * b1 + (1.0 - b1) * g
        s.[1] <- s.[1] * b2 + (1.0 - b2) * g * g
        let second = if amsgrad then (s.[2] <- max s.[2] s.[1]; s.[2]) else s.[1]
        let bc1 = 1.0 - b1 ** float t
        let bc2 = sqrt (1.0 - b2 ** float t)
        if kingmaBa then p - (lr * bc2 / bc1) * s.[0] / (sqrt second + eps)
        else p - (lr / bc1) * s.[0] / (sqrt second / bc2 + eps)) 3

let private rmsRef lr alpha eps wd momentum centered maximize =
    reference (fun _ p g s ->
        let mutable g = if maximize then -g else g
        if wd <> 0.0 then g <- g + wd * p
        s.[0] <- s.[0] * alpha + (1.0 - alpha) * g * g
        let avg =
            if centered then
                s.[1] <- s.[1] * alpha + (1.0 - alpha) * g
                sqrt (s.[0] - s.[1] * s.[1]) + eps
            else sqrt s.[0] + eps
        if momentum > 0.0 then
            s.[2] <- s.[2] * momentum + g / avg
            p - lr * s.[2]
        else p - lr * g / avg) 3

let private adagradRef lr lrDecay wd init eps maximize =
    reference (fun t p g s ->
        if t = 1 then s.[0] <- init
        let mutable g = if maximize then -g else g
        if wd <> 0.0 then g <- g + wd * p
        let clr = lr / (1.0 + float (t - 1) * lrDecay)
        s.[0] <- s.[0] + g * g
        p - clr * g / (sqrt s.[0] + eps)) 1

let private optimizerTests =
    testList "optimizer updates" [
        testCase "SGD: plain, momentum with dampening, nesterov, weight decay, maximize" <| fun () ->
            for lr, mom, damp, nest, wd, maxi in [ (0.1, 0.0, 0.0, false, 0.0, false); (0.1, 0.9, 0.3, false, 0.0, false); (0.1, 0.9, 0.0, true, 0.0, false); (0.1, 0.5, 0.0, false, 0.2, false); (0.1, 0.5, 0.0, true, 0.2, true) ] do
                let what = sprintf "SGD lr %g momentum %g dampening %g nesterov %b wd %g maximize %b" lr mom damp nest wd maxi
                agree what (sgdRef lr mom damp nest wd maxi)
                          (trajectory (fun p -> SGD([ p ], lr, momentum = mom, dampening = damp, nesterov = nest, weightDecay = wd, maximize = maxi)))

        testCase "Adam and AdamW: amsgrad, both epsilon placements, L2 and decoupled decay, maximize" <| fun () ->
            // eps = 0.1 is large so that where it is added decides the value
            for ams, kb, wd, maxi in [ (false, false, 0.0, false); (true, false, 0.0, false); (false, true, 0.0, false); (true, true, 0.3, false); (false, false, 0.3, true) ] do
                let what = sprintf "Adam amsgrad %b kingmaBa %b wd %g maximize %b" ams kb wd maxi
                let placement = if kb then EpsilonPlacement.KingmaBa else EpsilonPlacement.PyTorch
                agree what (adamRef 0.05 0.8 0.9 0.1 wd ams maxi kb false)
                          (trajectory (fun p -> Adam([ p ], lr = 0.05, beta1 = 0.8, beta2 = 0.9, eps = 0.1, weightDecay = wd, amsgrad = ams, maximize = maxi, epsilonPlacement = placement)))
                agree ("AdamW: " + what) (adamRef 0.05 0.8 0.9 0.1 wd ams maxi kb true)
                          (trajectory (fun p -> AdamW([ p ], lr = 0.05, beta1 = 0.8, beta2 = 0.9, eps = 0.1, weightDecay = wd, amsgrad = ams, maximize = maxi, epsilonPlacement = placement)))

        testCase "RMSprop: plain, centered, momentum, weight decay, maximize" <| fun () ->
            for centered, mom, wd, maxi in [ (false, 0.0, 0.0, false); (true, 0.0, 0.0, false); (false, 0.7, 0.0, false); (true, 0.7, 0.3, false); (false, 0.0, 0.3, true) ] do
                let what = sprintf "RMSprop centered %b momentum %g wd %g maximize %b" centered mom wd maxi
                agree what (rmsRef 0.01 0.9 0.1 wd mom centered maxi)
                          (trajectory (fun p -> RMSprop([ p ], lr = 0.01, alpha = 0.9, eps = 0.1, weightDecay = wd, momentum = mom, centered = centered, maximize = maxi)))

        testCase "Adagrad: lr decay, weight decay, initial accumulator, maximize" <| fun () ->
            for decay, wd, init, maxi in [ (0.0, 0.0, 0.0, false); (0.5, 0.0, 0.0, false); (0.0, 0.3, 0.0, false); (0.0, 0.0, 2.0, false); (0.5, 0.3, 2.0, true) ] do
                let what = sprintf "Adagrad lrDecay %g wd %g init %g maximize %b" decay wd init maxi
                agree what (adagradRef 0.1 decay wd init 0.1 maxi)
                          (trajectory (fun p -> Adagrad([ p ], lr = 0.1, lrDecay = decay, weightDecay = wd, initialAccumulatorValue = init, eps = 0.1, maximize = maxi)))

        testCase "float32 parameters follow the same updates" <| fun () ->
            let p = T.FromArray([| 1.0f; -2.0f |]).RequiresGrad_()
            let opt = Adam([ p ], lr = 0.05, beta1 = 0.8, beta2 = 0.9, eps = 0.1, amsgrad = true)
            for g in grads do
                p.Grad <- T.FromArray(g |> Array.map float32)
                opt.Step()
            let expected = adamRef 0.05 0.8 0.9 0.1 0.0 true false false false |> List.last
            closeTo 1e-5 "float32 Adam" (List.ofArray expected) p

        testCase "hyper-parameters out of range are refused, naming the optimizer and the value" <| fun () ->
            let p () = T.FromArray([| 1.0 |]).RequiresGrad_()
            throwsFrom "SGD" [ "nesterov" ] (fun () -> SGD([ p () ], 0.1, momentum = 0.0, nesterov = true))
            throwsFrom "SGD" [ "nesterov"; "dampening = 0.1" ] (fun () -> SGD([ p () ], 0.1, momentum = 0.9, dampening = 0.1, nesterov = true))
            noThrow "nesterov with momentum and no dampening" (fun () -> SGD([ p () ], 0.1, momentum = 0.9, nesterov = true)) |> ignore
            throwsFrom "SGD" [ "lr = -0.1" ] (fun () -> SGD([ p () ], -0.1))
            throwsFrom "SGD" [ "momentum" ] (fun () -> SGD([ p () ], 0.1, momentum = -0.5))
            throwsFrom "SGD" [ "dampening" ] (fun () -> SGD([ p () ], 0.1, dampening = -0.5))
            throwsFrom "SGD" [ "weight_decay" ] (fun () -> SGD([ p () ], 0.1, weightDecay = -1.0))
            throwsFrom "SGD" [ "lr = Infinity" ] (fun () -> SGD([ p () ], infinity))
            throwsFrom "Adam" [ "beta1 = 1" ] (fun () -> Adam([ p () ], beta1 = 1.0))
            throwsFrom "Adam" [ "beta2 = -0.1" ] (fun () -> Adam([ p () ], beta2 = -0.1))
            noThrow "beta1 = 0" (fun () -> Adam([ p () ], beta1 = 0.0)) |> ignore
            throwsFrom "Adam" [ "eps" ] (fun () -> Adam([ p () ], eps = -1e-8))
            throwsFrom "Adam" [ "epsilon_placement" ] (fun () -> Adam([ p () ], epsilonPlacement = enum<EpsilonPlacement> 5))
            throwsFrom "AdamW" [ "weight_decay" ] (fun () -> AdamW([ p () ], weightDecay = -1.0))
            for name in [ "lr"; "alpha"; "eps"; "weight_decay"; "momentum" ] do
                let make () =
                    match name with
                    | "lr" -> RMSprop([ p () ], lr = -1.0)
                    | "alpha" -> RMSprop([ p () ], alpha = -1.0)
                    | "eps" -> RMSprop([ p () ], eps = -1.0)
                    | "weight_decay" -> RMSprop([ p () ], weightDecay = -1.0)
                    | _ -> RMSprop([ p () ], momentum = -1.0)
                throwsFrom "RMSprop" [ name ] make
            for name in [ "lr"; "lr_decay"; "weight_decay"; "initial_accumulator_value"; "eps" ] do
                let make () =
                    match name with
                    | "lr" -> Adagrad([ p () ], lr = -1.0)
                    | "lr_decay" -> Adagrad([ p () ], lrDecay = -1.0)
                    | "weight_decay" -> Adagrad([ p () ], weightDecay = -1.0)
                    | "initial_accumulator_value" -> Adagrad([ p () ], initialAccumulatorValue = -1.0)
                    | _ -> Adagrad([ p () ], eps = -1.0)
                throwsFrom "Adagrad" [ name ] make
    ]

let private withGrads (gs: float[] list) =
    gs |> List.map (fun g ->
        let p = T.FromArray(Array.zeroCreate<float> g.Length).RequiresGrad_()
        p.Grad <- T.FromArray(Array.copy g)
        p)

let private clipTests =
    testList "gradient clipping" [
        testCase "clip_grad_norm for p = 2, 1, inf and 3 returns the total norm and scales by max / (norm + 1e-6)" <| fun () ->
            let gs = [ [| 3.0; -4.0 |]; [| 12.0 |] ]
            for normType, total in [ (2.0, 13.0); (1.0, 19.0); (infinity, 12.0); (3.0, (27.0 + 64.0 + 1728.0) ** (1.0 / 3.0)) ] do
                let ps = withGrads gs
                let n = GradClip.ClipGradNorm(ps, 5.0, normType)
                Expect.floatClose Accuracy.veryHigh n total (sprintf "norm for p = %g" normType)
                let c = 5.0 / (total + 1e-6)
                near (sprintf "first gradient, p = %g" normType) [ 3.0 * c; -4.0 * c ] ps.[0].Grad
                near (sprintf "second gradient, p = %g" normType) [ 12.0 * c ] ps.[1].Grad

        testCase "clip_grad_norm leaves gradients under the limit alone, and ignores parameters without one" <| fun () ->
            let ps = withGrads [ [| 3.0; -4.0 |] ]
            let bare = T.FromArray([| 1.0 |]).RequiresGrad_()
            let n = GradClip.ClipGradNorm(bare :: ps, 5.1)
            Expect.floatClose Accuracy.veryHigh n 5.0 "norm"
            near "unchanged" [ 3.0; -4.0 ] ps.[0].Grad
            Expect.isFalse bare.HasGrad "no gradient appears"
            Expect.equal (GradClip.ClipGradNorm([ bare ], 1.0)) 0.0 "no gradients: norm 0"

        testCase "clip_grad_norm of float32 gradients, and a NaN norm spreads" <| fun () ->
            let p = T.FromArray([| 3.0f; 4.0f |]).RequiresGrad_()
            p.Grad <- T.FromArray([| 3.0f; 4.0f |])
            let n = GradClip.ClipGradNorm([ p ], 1.0)
            Expect.floatClose Accuracy.high n 5.0 "norm"
            closeTo 1e-6 "scaled" [ 0.6; 0.8 ] p.Grad
            let q = withGrads [ [| nan; 1.0 |] ]
            Expect.isTrue (Double.IsNaN(GradClip.ClipGradNorm(q, 1.0))) "NaN norm"
            Expect.isTrue (Double.IsNaN(q.[0].Grad.ToDoubleArray().[1])) "NaN spreads"
            // the max norm too: a NaN after a larger value still makes the norm NaN
            let r = withGrads [ [| 5.0; nan; 1.0 |] ]
            Expect.isTrue (Double.IsNaN(GradClip.ClipGradNorm(r, 1.0, infinity))) "NaN infinity-norm"

        testCase "clip_grad_value clamps each element into [-c, c]" <| fun () ->
            let ps = withGrads [ [| -5.0; 0.5; 5.0; -1.0 |] ]
            GradClip.ClipGradValue(ps, 1.0)
            near "clamped" [ -1.0; 0.5; 1.0; -1.0 ] ps.[0].Grad

        testCase "bad arguments are refused" <| fun () ->
            let ps = withGrads [ [| 1.0 |] ]
            throwsFrom "clip_grad_norm" [ "maxNorm" ] (fun () -> GradClip.ClipGradNorm(ps, -1.0))
            throwsFrom "clip_grad_norm" [ "normType" ] (fun () -> GradClip.ClipGradNorm(ps, 1.0, 0.0))
            throwsFrom "clip_grad_value" [ "clipValue" ] (fun () -> GradClip.ClipGradValue(ps, -1.0))
            Expect.equal (GradClip.ClipGradNorm(ps, 0.0)) 1.0 "maxNorm 0 is allowed"
            near "and zeroes the gradient" [ 0.0 ] ps.[0].Grad
    ]

[<Tests>]
let tests = testList "Mutation.OptimRules" [ optimizerTests; clipTests ]
