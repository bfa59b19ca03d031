/// Issue 10, section 1: a tensor changed in place after the tape saved it is never used silently.
module AutoKl.Tests.Safety.VersionCounterTests

open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Safety.SafetySupport

let leaf values = Tensor.ofList values |> Tensor.requiresGrad

[<Tests>]
let tests =
    testList "Safety.VersionCounters" [
        testCase "a fresh tensor is at version 0 and each in-place method bumps it" <| fun () ->
            let t = Tensor.ofList [ 1.0; 2.0 ]
            Expect.equal t.Version 0 "fresh"
            t.Sub_(Tensor.ofList [ 0.5; 0.5 ]) |> ignore
            Expect.equal t.Version 1 "after sub_"
            t.Add_(Tensor.scalar 1.0) |> ignore
            Expect.equal t.Version 2 "after add_"
            t.Copy_(Tensor.ofList [ 3.0; 4.0 ]) |> ignore
            Expect.equal t.Version 3 "after copy_"

        testCase "a detached view and a reshape share the version with the original" <| fun () ->
            let t = Tensor.ofList [ 1.0; 2.0; 3.0; 4.0 ]
            let d = t.Detach()
            let r = t.Reshape([| 2; 2 |])
            d.Add_(Tensor.scalar 1.0) |> ignore
            Expect.equal t.Version 1 "the original sees the change made through Detach"
            Expect.equal r.Version 1 "so does a reshape of it"
            r.Sub_(Tensor.scalar 1.0) |> ignore
            Expect.equal d.Version 2 "and the detached view sees a change made through the reshape"
            Expect.equal (t.ToDoubleArray()) [| 1.0; 2.0; 3.0; 4.0 |] "values"

        testCase "Sub_ under NoGrad after the forward pass: backward refuses (was [1, 3], right is [2, 4])" <| fun () ->
            let w = leaf [ 1.0; 2.0 ]
            let y = w * w |> Tensor.sum
            noGrad (fun () -> w.Sub_(Tensor.ofList [ 0.5; 0.5 ]) |> ignore)
            throwsAutoKl [ "backward"; "in-place"; "'mul'"; "[2]"; "version 0"; "version 1" ] (fun () -> y.Backward())
            |> ignore
            Expect.isFalse w.HasGrad "no gradient was written"

        testCase "Add_ through a detached view needs no NoGrad and is refused too (was [0.5, 0.333])" <| fun () ->
            let w = leaf [ 1.0; 2.0 ]
            let y = w |> Tensor.log |> Tensor.sum
            w.Detach().Add_(Tensor.ofList [ 1.0; 1.0 ]) |> ignore
            throwsAutoKl [ "'log'"; "version 0"; "version 1" ] (fun () -> y.Backward()) |> ignore

        testCase "an optimizer step between forward and backward is refused (was [0, 0])" <| fun () ->
            let w = leaf [ 1.0; 2.0 ]
            let sgd = SGD([ w ], lr = 0.1)
            (w * w |> Tensor.sum).Backward()
            let y = w * w |> Tensor.sum
            sgd.Step()
            Expect.equal w.Version 1 "the step bumps the version"
            throwsAutoKl [ "'mul'"; "version 0"; "version 1" ] (fun () -> y.Backward()) |> ignore

        testCase "a checkpoint restore bumps the version" <| fun () ->
            let w = leaf [ 1.0; 2.0 ]
            let adam = Adam([ w ], lr = 0.1)
            let path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), sprintf "autokl-vc-%s.ckpt" (System.Guid.NewGuid().ToString("N")))
            try
                Checkpoint.Save(path, [| w |], adam)
                let before = w.Version
                Checkpoint.Load(path, [| w |], adam)
                Expect.isGreaterThan w.Version before "restore counts as an in-place change"
            finally
                System.IO.File.Delete path

        testCase "a target changed in place after kl_div was recorded is refused" <| fun () ->
            let logQ = Tensor.ofList [ -1.0; -0.5 ] |> Tensor.requiresGrad
            let p = Tensor.ofList [ 0.3; 0.7 ]
            let loss = Losses.KlDiv(logQ, p, Reduction.Sum)
            p.Copy_(Tensor.ofList [ 0.5; 0.5 ]) |> ignore
            throwsAutoKl [ "in-place"; "version 1" ] (fun () -> loss.Backward()) |> ignore

        testCase "an output changed in place (exp saves its result) is refused" <| fun () ->
            let x = leaf [ 0.0; 1.0 ]
            let y = Tensor.exp x
            let loss = Tensor.sum y
            y.Detach().Add_(Tensor.scalar 1.0) |> ignore
            throwsAutoKl [ "'exp'"; "its output" ] (fun () -> loss.Backward()) |> ignore

        testCase "the ordinary loop (forward, backward, step) is untouched and the gradient is right" <| fun () ->
            let w = leaf [ 1.0; 2.0 ]
            let sgd = SGD([ w ], lr = 0.5)
            for _ in 1..3 do
                sgd.ZeroGrad()
                let y = w * w |> Tensor.sum
                y.Backward()
                sgd.Step()
            // w <- w - 0.5 * 2w = 0 after the first step, and stays there
            values "w" [ 0.0; 0.0 ] w
            sgd.ZeroGrad()
            (w * w |> Tensor.sum).Backward()
            values "grad" [ 0.0; 0.0 ] w.Grad

        testCase "a forward pass recorded after the change uses the new values" <| fun () ->
            let w = leaf [ 1.0; 2.0 ]
            noGrad (fun () -> w.Sub_(Tensor.ofList [ 0.5; 0.5 ]) |> ignore)
            let y = w * w |> Tensor.sum
            y.Backward()
            values "grad" [ 1.0; 3.0 ] w.Grad

        testCase "second derivatives see the check too" <| fun () ->
            let x = leaf [ 1.0; 2.0 ]
            let g = Autograd.Gradients(x * x * x |> Tensor.sum, [| x |], createGraph = true)[0]
            noGrad (fun () -> x.Add_(Tensor.scalar 1.0) |> ignore)
            throwsAutoKl [ "in-place" ] (fun () -> Autograd.Gradients(Tensor.sum g, [| x |])) |> ignore

        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 50 } "any in-place change of a saved leaf is refused, none leaves backward working" <| fun (change: bool) (k: int) ->
            let w = leaf [ 1.0; 2.0; 3.0 ]
            let y = w * w |> Tensor.sum
            if change then
                let op = abs k % 3
                let v = Tensor.ofList [ 0.1; 0.2; 0.3 ]
                noGrad (fun () ->
                    match op with
                    | 0 -> w.Sub_(v) |> ignore
                    | 1 -> w.Add_(v) |> ignore
                    | _ -> w.Copy_(v) |> ignore)
                throwsAutoKl [ "in-place" ] (fun () -> y.Backward()) |> ignore
            else
                y.Backward()
                values "grad" [ 2.0; 4.0; 6.0 ] w.Grad
    ]
