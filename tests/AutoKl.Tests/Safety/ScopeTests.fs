/// Issue 10, section 3: scopes put back what they found, whatever the order they are disposed in.
module AutoKl.Tests.Safety.ScopeTests

open System.Threading
open Expecto
open AutoKl
open AutoKl.Tests.Safety.SafetySupport

/// Negative target probabilities: refused while validation is on.
let validates () =
    try
        Losses.KlDiv(Tensor.ofList [ -1.0; -1.0 ], Tensor.ofList [ -0.5; 1.5 ], Reduction.Sum) |> ignore
        false
    with :? AutoKlException -> true

[<Tests>]
let tests =
    testList "Safety.Scopes" [
        testCase "Validation.Disabled twice, disposed a, b, b: validation is back on" <| fun () ->
            let a = Validation.Disabled()
            let b = Validation.Disabled()
            a.Dispose()
            Expect.isFalse Validation.Enabled "b is still open"
            b.Dispose()
            b.Dispose()
            Expect.isTrue Validation.Enabled "all disposed"
            Expect.isTrue (validates ()) "negative targets are refused again"

        testCase "Validation.Disabled twice, disposed a before b: validation is back on" <| fun () ->
            let a = Validation.Disabled()
            let b = Validation.Disabled()
            a.Dispose()
            b.Dispose()
            Expect.isTrue Validation.Enabled "all disposed"
            Expect.isTrue (validates ()) "negative targets are refused again"

        testCase "NoGrad then EnableGrad disposed out of order: recording is back on" <| fun () ->
            let a = Autograd.NoGrad()
            let b = Autograd.EnableGrad()
            Expect.isTrue Autograd.IsGradEnabled "inside EnableGrad"
            a.Dispose()
            Expect.isTrue Autograd.IsGradEnabled "the innermost open scope (EnableGrad) still decides"
            b.Dispose()
            Expect.isTrue Autograd.IsGradEnabled "all disposed: as before"
            let x = Tensor.ofList [ 1.0 ] |> Tensor.requiresGrad
            Expect.isFalse (Tensor.exp x).IsLeaf "ops record again"

        testCase "EnableGrad inside NoGrad, disposed out of order, inside an outer NoGrad: recording stays off" <| fun () ->
            use outer = Autograd.NoGrad()
            let a = Autograd.EnableGrad()
            let b = Autograd.NoGrad()
            a.Dispose()
            Expect.isFalse Autograd.IsGradEnabled "b is open"
            b.Dispose()
            Expect.isFalse Autograd.IsGradEnabled "back to the outer NoGrad"
            outer.Dispose()
            Expect.isTrue Autograd.IsGradEnabled "back to the start"

        testCase "disposing any scope twice is harmless" <| fun () ->
            let n = Autograd.NoGrad()
            n.Dispose()
            let inner = Autograd.NoGrad()
            n.Dispose()
            Expect.isFalse Autograd.IsGradEnabled "the second dispose of n did not end the later scope"
            inner.Dispose()
            Expect.isTrue Autograd.IsGradEnabled "restored"
            let d = Autograd.DetectAnomaly()
            d.Dispose()
            d.Dispose()
            Expect.isFalse Autograd.IsAnomalyEnabled "anomaly detection off"

        testProperty "any open/dispose order (with repeats) ends where it started" <| fun (ops: (bool * byte) list) ->
            // true: open a scope of kind (byte % 3); false: dispose the open scope at (byte % count)
            let opened = ResizeArray<System.IDisposable>()
            let before = Autograd.IsGradEnabled, Validation.Enabled, Autograd.IsAnomalyEnabled
            for (openIt, k) in ops do
                if openIt || opened.Count = 0 then
                    opened.Add(
                        match int k % 4 with
                        | 0 -> Autograd.NoGrad()
                        | 1 -> Autograd.EnableGrad()
                        | 2 -> Validation.Disabled()
                        | _ -> Autograd.DetectAnomaly())
                else
                    opened[int k % opened.Count].Dispose()
            for s in opened do s.Dispose()
            Expect.equal (Autograd.IsGradEnabled, Validation.Enabled, Autograd.IsAnomalyEnabled) before "switches after all disposed"

        testCase "disposing on another thread is a clear error and leaves this thread's switch alone" <| fun () ->
            let s = Autograd.NoGrad()
            let mutable message = ""
            let t = Thread(fun () ->
                try s.Dispose() with :? AutoKlException as e -> message <- e.Message)
            t.Start()
            t.Join()
            Expect.stringContains message "different thread" "the error"
            Expect.isFalse Autograd.IsGradEnabled "still inside NoGrad here"
            s.Dispose()
            Expect.isTrue Autograd.IsGradEnabled "disposed here: restored"

        testCase "the switches are per thread" <| fun () ->
            use _ = Validation.Disabled()
            let mutable other = false
            let t = Thread(fun () -> other <- Validation.Enabled)
            t.Start()
            t.Join()
            Expect.isTrue other "another thread still validates"
            Expect.isFalse Validation.Enabled "this one does not"
    ]
