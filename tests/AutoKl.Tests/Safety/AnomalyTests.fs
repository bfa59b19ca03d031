/// Issue 10, section 2: anomaly detection names the op, the pass, the shapes and the user's line.
module AutoKl.Tests.Safety.AnomalyTests

open Expecto
open AutoKl
open AutoKl.Tests.Safety.SafetySupport

[<Tests>]
let tests =
    testList "Safety.Anomaly" [
        testCase "a NaN in a forward result throws, naming the op, the shapes and this file" <| fun () ->
            let x = Tensor.ofList [ -1.0; 4.0 ] |> Tensor.requiresGrad
            let message =
                throwsAutoKl [ "detect_anomaly"; "'sqrt'"; "forward"; "NaN"; "[2]"; "AnomalyTests" ] (fun () ->
                    detectAnomaly (fun () -> Tensor.sqrt x |> Tensor.sum))
            Expect.isFalse (message.Contains "AutoKl.Tensor.") "the frame named is the caller's, not the engine's"

        testCase "a NaN appearing first in backward throws, naming the op and the pass" <| fun () ->
            // sqrt(0) = 0 is finite, but its derivative 1/(2*0) is infinite; times 0 it is NaN
            let x = Tensor.ofList [ 0.0; 4.0 ] |> Tensor.requiresGrad
            throwsAutoKl [ "backward rule of 'sqrt'"; "infinity"; "input 0"; "[2]"; "AnomalyTests" ] (fun () ->
                detectAnomaly (fun () ->
                    let y = Tensor.sqrt x |> Tensor.sum
                    y.Backward()))
            |> ignore

        testCase "the same computations pass silently with detection off" <| fun () ->
            let x = Tensor.ofList [ 0.0; 4.0 ] |> Tensor.requiresGrad
            let y = Tensor.sqrt x |> Tensor.sum
            y.Backward()
            Expect.isTrue (System.Double.IsPositiveInfinity(x.Grad.ToDoubleArray()[0])) "inf gradient, no error"
            Expect.isFalse Autograd.IsAnomalyEnabled "off by default"

        testCase "finite computations are unaffected and give the same gradient" <| fun () ->
            let x = Tensor.ofList [ 1.0; 4.0 ] |> Tensor.requiresGrad
            let g = detectAnomaly (fun () -> grad (fun x -> Tensor.sqrt x |> Tensor.sum) x)
            values "grad" [ 0.5; 0.25 ] g

        testCase "the scope works from C#-style using too and restores" <| fun () ->
            do
                use _ = Autograd.DetectAnomaly()
                Expect.isTrue Autograd.IsAnomalyEnabled "on inside"
            Expect.isFalse Autograd.IsAnomalyEnabled "off after"
    ]
