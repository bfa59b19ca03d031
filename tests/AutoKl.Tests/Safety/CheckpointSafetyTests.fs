/// Issue 10, section 5: a checkpoint's schedule settings and counters are checked, and save
/// failures are AutoKlExceptions naming the destination.
module AutoKl.Tests.Safety.CheckpointSafetyTests

open System
open System.IO
open System.Collections.Generic
open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Safety.SafetySupport

let folder () =
    let dir = Path.Combine(Path.GetTempPath(), "autokl-safety-ckpt", Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    dir

let setup () =
    let w = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
    let sgd = SGD([ w ], lr = 0.1)
    w, sgd

/// A state like `state` with one value replaced.
let withValue (state: SchedulerState) (key: string) (value: float) =
    let values = Dictionary<string, float>(state.Values)
    values[key] <- value
    SchedulerState(state.Kind, values, state.BaseLrs, state.LastLrs, state.Children)

[<Tests>]
let tests =
    testList "Safety.Checkpoints" [
        testCase "a StepLR(10, 0.7) checkpoint does not load into a StepLR(5, 0.5)" <| fun () ->
            let dir = folder ()
            try
                let w, sgd = setup ()
                let path = Path.Combine(dir, "a.ckpt")
                Checkpoint.Save(path, [| w |], sgd, StepLR(sgd, 10, 0.7))
                let w2, sgd2 = setup ()
                let before = w2.ToDoubleArray()
                throwsAutoKl [ "checkpoint.load"; "StepLR"; "StepSize = 10"; "this one has 5" ] (fun () ->
                    Checkpoint.Load(path, [| w2 |], sgd2, StepLR(sgd2, 5, 0.7))) |> ignore
                throwsAutoKl [ "checkpoint.load"; "StepLR" ] (fun () -> Checkpoint.Load(path, [| w2 |], sgd2, StepLR(sgd2, 5, 0.5))) |> ignore
                throwsAutoKl [ "Gamma = 0.7"; "0.5" ] (fun () -> Checkpoint.Load(path, [| w2 |], sgd2, StepLR(sgd2, 10, 0.5))) |> ignore
                Expect.equal (w2.ToDoubleArray()) before "nothing changed"
                Checkpoint.Load(path, [| w2 |], sgd2, StepLR(sgd2, 10, 0.7))
            finally Directory.Delete(dir, true)

        testCase "MultiStepLR milestones are settings too" <| fun () ->
            let _, sgd = setup ()
            let state = MultiStepLR(sgd, [ 3; 7 ], 0.5).SaveState()
            let _, sgd2 = setup ()
            throwsAutoKl [ "Milestones" ] (fun () -> MultiStepLR(sgd2, [ 3; 8 ], 0.5).LoadState state) |> ignore
            throwsAutoKl [ "Milestones" ] (fun () -> MultiStepLR(sgd2, [ 3 ], 0.5).LoadState state) |> ignore
            MultiStepLR(sgd2, [ 3; 7 ], 0.5).LoadState state

        testCase "counters that are NaN, huge, fractional or negative are refused" <| fun () ->
            let _, sgd = setup ()
            let schedule = StepLR(sgd, 10, 0.7)
            schedule.Step()
            let state = schedule.SaveState()
            for key, value in [ "last_epoch", nan; "last_epoch", 1e300; "last_epoch", 2.5; "last_epoch", -2.0; "step_count", -7.0; "step_count", infinity ] do
                let _, sgd2 = setup ()
                let target = StepLR(sgd2, 10, 0.7)
                throwsAutoKl [ key; "whole number" ] (fun () -> target.LoadState(withValue state key value)) |> ignore
                Expect.equal target.LastEpoch 0 "nothing changed"

        testCase "save failures are AutoKlExceptions naming the destination" <| fun () ->
            let w, sgd = setup ()
            let dir = folder ()
            try
                let missing = Path.Combine(dir, "no-such-folder", "x.ckpt")
                throwsAutoKl [ "checkpoint.save"; missing ] (fun () -> Checkpoint.Save(missing, [| w |], sgd)) |> ignore
                throwsAutoKl [ "checkpoint.save"; dir; "folder" ] (fun () -> Checkpoint.Save(dir, [| w |], sgd)) |> ignore
                throwsAutoKl [ "checkpoint.save"; "not a valid" ] (fun () -> Checkpoint.Save("", [| w |], sgd)) |> ignore
                Expect.isEmpty (Directory.GetFiles dir) "no temporary file left"
            finally Directory.Delete(dir, true)

        testCase "stale temporary files of the same checkpoint are removed on the next save" <| fun () ->
            let w, sgd = setup ()
            let dir = folder ()
            try
                let path = Path.Combine(dir, "m.ckpt")
                let stale = Path.Combine(dir, sprintf ".m.ckpt.%s.tmp" (Guid.NewGuid().ToString("N")))
                let other = Path.Combine(dir, sprintf ".other.ckpt.%s.tmp" (Guid.NewGuid().ToString("N")))
                File.WriteAllText(stale, "killed mid-write")
                File.WriteAllText(other, "another target")
                Checkpoint.Save(path, [| w |], sgd)
                Expect.isFalse (File.Exists stale) "the stale file of m.ckpt is gone"
                Expect.isTrue (File.Exists other) "another checkpoint's temporary file stays"
            finally Directory.Delete(dir, true)
    ]
