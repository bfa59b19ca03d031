/// Bad input to the optimizers: a clear AutoKlException naming the optimizer and the argument.
module AutoKl.Tests.Optim.BadInputTests

open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support

let private param () = Tensor.zeros DType.Float64 [ 2 ] |> Tensor.requiresGrad

[<Tests>]
let tests =
    testList "Optim.BadInput" [
        testCase "a negative learning rate is refused" <| fun () ->
            Check.throwsAutoKl [ "SGD"; "lr = -0.1" ] (fun () -> SGD([ param () ], lr = -0.1)) |> ignore
            Check.throwsAutoKl [ "Adam"; "lr = -1" ] (fun () -> Adam([ param () ], lr = -1.0)) |> ignore
            Check.throwsAutoKl [ "AdamW"; "lr" ] (fun () -> AdamW([ param () ], lr = -1e-3)) |> ignore
            Check.throwsAutoKl [ "RMSprop"; "lr" ] (fun () -> RMSprop([ param () ], lr = -1e-3)) |> ignore
            Check.throwsAutoKl [ "Adagrad"; "lr" ] (fun () -> Adagrad([ param () ], lr = -1e-3)) |> ignore
            // per group, and when a group's lr is set later
            Check.throwsAutoKl [ "lr"; "non-negative" ] (fun () -> ParamGroup([ param () ], Lr = -0.5)) |> ignore
            let o = SGD([ param () ], lr = 0.1)
            Check.throwsAutoKl [ "lr" ] (fun () -> o.ParamGroups.[0].Lr <- -0.1) |> ignore
            Check.throwsAutoKl [ "lr" ] (fun () -> o.ParamGroups.[0].Lr <- nan) |> ignore

        testCase "betas outside 0 to 1 are refused" <| fun () ->
            Check.throwsAutoKl [ "Adam"; "beta1 = 1"; "[0, 1)" ] (fun () -> Adam([ param () ], beta1 = 1.0)) |> ignore
            Check.throwsAutoKl [ "Adam"; "beta2 = 1.5" ] (fun () -> Adam([ param () ], beta2 = 1.5)) |> ignore
            Check.throwsAutoKl [ "Adam"; "beta1 = -0.1" ] (fun () -> Adam([ param () ], beta1 = -0.1)) |> ignore
            Check.throwsAutoKl [ "AdamW"; "beta2 = 1" ] (fun () -> AdamW([ param () ], beta2 = 1.0)) |> ignore
            Check.throwsAutoKl [ "Adam"; "param group 1"; "beta1 = 1" ] (fun () ->
                Adam([ ParamGroup([ param () ]); ParamGroup([ param () ], Beta1 = 1.0) ])) |> ignore

        testCase "nesterov without momentum or with dampening is refused" <| fun () ->
            Check.throwsAutoKl [ "SGD"; "nesterov"; "momentum = 0" ] (fun () -> SGD([ param () ], lr = 0.1, nesterov = true)) |> ignore
            Check.throwsAutoKl [ "SGD"; "nesterov"; "dampening = 0.5" ] (fun () ->
                SGD([ param () ], lr = 0.1, momentum = 0.9, dampening = 0.5, nesterov = true)) |> ignore

        testCase "a parameter that does not require gradients is refused" <| fun () ->
            let frozen = Tensor.zeros DType.Float64 [ 3 ]
            Check.throwsAutoKl [ "SGD"; "parameters[1]"; "does not require gradients" ] (fun () -> SGD([ param (); frozen ], lr = 0.1)) |> ignore
            Check.throwsAutoKl [ "Adam"; "parameters[0]"; "[3]" ] (fun () -> Adam([ frozen ])) |> ignore

        testCase "other bad parameters and hyper-parameters are refused" <| fun () ->
            let p = param ()
            Check.throwsAutoKl [ "SGD"; "empty parameter list" ] (fun () -> SGD(([]: Tensor list), lr = 0.1)) |> ignore
            Check.throwsAutoKl [ "SGD"; "more than once" ] (fun () -> SGD([ p; p ], lr = 0.1)) |> ignore
            Check.throwsAutoKl [ "SGD"; "not a leaf" ] (fun () -> SGD([ p * 2.0 ], lr = 0.1)) |> ignore
            Check.throwsAutoKl [ "SGD"; "momentum = -0.5" ] (fun () -> SGD([ param () ], lr = 0.1, momentum = -0.5)) |> ignore
            Check.throwsAutoKl [ "Adam"; "eps = -1" ] (fun () -> Adam([ param () ], eps = -1.0)) |> ignore
            Check.throwsAutoKl [ "RMSprop"; "alpha = -0.5" ] (fun () -> RMSprop([ param () ], alpha = -0.5)) |> ignore
            Check.throwsAutoKl [ "Adagrad"; "lr_decay = -1" ] (fun () -> Adagrad([ param () ], lrDecay = -1.0)) |> ignore
            Check.throwsAutoKl [ "SGD"; "sets 'beta1'"; "does not use" ] (fun () -> SGD([ ParamGroup([ param () ], Beta1 = 0.5) ], lr = 0.1)) |> ignore
            let o = SGD([ p ], lr = 0.1)
            Check.throwsAutoKl [ "SGD"; "more than once" ] (fun () -> o.AddParamGroup([ p ])) |> ignore
            Check.throwsAutoKl [ "param_group"; "'beta1'" ] (fun () -> o.ParamGroups.[0].Beta1) |> ignore
            Check.throwsAutoKl [ "clip_grad_norm"; "maxNorm" ] (fun () -> GradClip.ClipGradNorm([ p ], -1.0)) |> ignore
            Check.throwsAutoKl [ "clip_grad_norm"; "normType" ] (fun () -> GradClip.ClipGradNorm([ p ], 1.0, 0.0)) |> ignore
            Check.throwsAutoKl [ "clip_grad_value"; "clipValue" ] (fun () -> GradClip.ClipGradValue([ p ], -1.0)) |> ignore

        testCase "minimize refuses a loss that is not a scalar and parameters outside the optimizer" <| fun () ->
            let p = param ()
            let o = SGD([ p ], lr = 0.1)
            Check.throwsAutoKl [ "minimize"; "[2]" ] (fun () -> Optim.minimize [ p ] o 1 (fun () -> p * p)) |> ignore
            Check.throwsAutoKl [ "minimize"; "not one of the optimizer's parameters" ] (fun () ->
                Optim.minimize [ p; param () ] o 1 (fun () -> Tensor.sum (p * p))) |> ignore
            Check.throwsAutoKl [ "minimize"; "steps" ] (fun () -> Optim.minimize [ p ] o -1 (fun () -> Tensor.sum (p * p))) |> ignore

        testCase "a refused param group is handed back as it came, and can be fixed and added" <| fun () ->
            let o = SGD([ param () ], lr = 0.1)
            let g = ParamGroup([ param () ], Nesterov = true)
            Check.throwsAutoKl [ "SGD"; "param group 1"; "nesterov" ] (fun () -> o.AddParamGroup g) |> ignore
            Expect.isTrue (Seq.toList g.HyperParameters.Keys = [ "nesterov" ]) "no defaults were filled in"
            Expect.equal o.ParamGroups.Count 1 "o.ParamGroups.Count"
            g.Momentum <- 0.9
            o.AddParamGroup g
            Expect.equal o.ParamGroups.Count 2 "o.ParamGroups.Count"
            Expect.equal g.Lr 0.1 "the defaults fill the accepted group"
    ]
