module AutoKl.Tests.Testing.GradCheckTests

open System
open Expecto
open AutoKl
open AutoKl.Testing

let private vec (xs: float list) = Tensor.ofList xs

/// x^2 with a rule that forgets the factor 2: a gradient that is wrong everywhere but at 0.
let private badSquare = Custom.unary "bad_square" (fun x -> x * x) (fun x _ g -> g * x)

/// x^3 whose rule is right at first order but detaches part of itself, so its own derivative
/// (the second derivative of x^3) comes out as 3x instead of 6x.
let private halfCube = Custom.unary "half_cube" (fun x -> x * x * x) (fun x _ g -> g * 3.0 * x * x.Detach())

let private throwsWith (parts: string list) (f: unit -> unit) =
    let e = Expect.throwsC f id
    for p in parts do Expect.stringContains e.Message p (sprintf "the message names '%s'" p)
    e

[<Tests>]
let tests =
    testList "Testing.GradCheck" [
        testCase "right rules pass: scalar and non-scalar outputs, broadcasting, several inputs" <| fun () ->
            gradcheck (fun xs -> xs.[0] * xs.[0] * xs.[0] |> Tensor.sum) [| vec [ 0.3; -1.2; 2.0 ] |]
            let a = Tensor.FromArray([| 0.5; -1.0; 2.0; 0.1; 0.7; -0.3 |], 2, 3)
            let b = vec [ 1.5; -0.5; 0.25 ]
            let r = gradcheckResult (GradCheckOptions()) (fun xs -> xs.[0] * exp xs.[1]) [| a; b |]
            Expect.isTrue r.Passed r.Report
            Expect.stringContains r.Report "full 6x6 Jacobian" "input 0 is checked through its full Jacobian"
            Expect.stringContains r.Report "with respect to input 1 (shape [3]): ok" "input 1 is checked too"
            gradcheck (fun xs -> Tensor.logSoftmax 1 xs.[0]) [| a |]

        testCase "only inputs that require gradients are checked; integer inputs pass through" <| fun () ->
            let x = vec [ 0.5; 1.5 ] |> Tensor.requiresGrad
            let c = vec [ 2.0; 3.0 ]
            let idx = Tensor.FromArray([| 1L; 0L |])
            let f (xs: Tensor[]) = xs.[0] * xs.[1] * xs.[2].ToType(DType.Float64) |> Tensor.sum
            let r = gradcheckResult (GradCheckOptions()) f [| x; c; idx |]
            Expect.isTrue r.Passed r.Report
            Expect.stringContains r.Report "input 0" "the marked input is checked"
            Expect.isFalse (r.Report.Contains "input 1") "the unmarked float input is a constant"
            Expect.isFalse x.HasGrad "the caller's tensor is not touched"

        testCase "a wrong rule fails with the worst entry, its values and the Jacobian around it" <| fun () ->
            let x = vec [ 1.0; 2.0; 3.0 ]
            let r = gradcheckResult (GradCheckOptions()) (fun xs -> badSquare xs.[0] |> Tensor.sum) [| x |]
            Expect.isFalse r.Passed "x instead of 2x is caught"
            Expect.equal r.Failures.Length 1 "one failing input"
            let f = r.Failures.[0]
            Expect.equal f.Input 0 "input 0"
            Expect.equal f.Mode GradCheckMode.Full "small: full Jacobian"
            Expect.equal f.ElementIndex [| 2 |] "the worst element is x = 3 (analytic 3, numerical 6)"
            Expect.equal f.OutputIndex [||] "a scalar output"
            Expect.floatClose Accuracy.high f.Analytic 3.0 "analytic value"
            Expect.floatClose { absolute = 1e-6; relative = 1e-6 } f.Numerical 6.0 "numerical value"
            Expect.floatClose Accuracy.high f.Allowed (1e-5 + 1e-3 * abs f.Numerical) "allowed = atol + rtol |numerical|"
            Expect.equal f.SliceColumns [| "[0]"; "[1]"; "[2]" |] "columns around the worst element"
            Expect.equal (Array2D.length1 f.AnalyticSlice, Array2D.length2 f.AnalyticSlice) (1, 3) "one output row"
            for c in 0 .. 2 do
                Expect.floatClose Accuracy.high f.AnalyticSlice.[0, c] (float (c + 1)) "analytic Jacobian x"
                Expect.floatClose { absolute = 1e-6; relative = 1e-6 } f.NumericalSlice.[0, c] (2.0 * float (c + 1)) "numerical Jacobian 2x"
            for part in [ "gradcheck FAILED"; "input 0 (shape [3]) is wrong"; "input0[2]"; "analytic (tape)"; "numerical (central diff)" ] do
                Expect.stringContains r.Report part "the report"

        testCase "the throwing form carries the report" <| fun () ->
            let e = Expect.throwsC (fun () -> gradcheck (fun xs -> badSquare xs.[0] |> Tensor.sum) [| vec [ 1.0; -2.0 ] |]) id
            match e with
            | :? GradCheckException as g ->
                Expect.equal e.Message g.Result.Report "message = report"
                Expect.equal g.Result.Failures.[0].ElementIndex [| 1 |] "worst at x = -2"
            | other -> failtestf "expected GradCheckException, got %O" other
            Expect.throwsT<GradCheckException> (fun () -> GradCheck.Assert(Func<Tensor, Tensor>(fun x -> badSquare x |> Tensor.sum), vec [ 1.0 ])) "C# form throws too"

        testCase "non-scalar output: the worst output element is reported" <| fun () ->
            let bad = Custom.unary "bad_at_1" (fun x -> x * 2.0) (fun _ _ g -> g * Tensor.ofList [ 2.0; 2.5; 2.0 ])
            let r = gradcheckResult (GradCheckOptions()) (fun xs -> bad xs.[0]) [| vec [ 0.1; 0.2; 0.3 ] |]
            let f = r.Failures.[0]
            Expect.equal (f.OutputIndex, f.ElementIndex) ([| 1 |], [| 1 |]) "d y[1] / d x[1]"
            Expect.floatClose Accuracy.high f.Analytic 2.5 "analytic"
            Expect.equal f.SliceRows [| "[0]"; "[1]"; "[2]" |] "rows: output elements"

        testCase "fast mode compares random projections and localises a wrong element" <| fun () ->
            let n = 300
            let x = Tensor.FromArray(Array.init n (fun i -> sin (float i)), n)
            // Right rule, large Jacobian (300 x 300 > the full limit): Auto chooses projections.
            let r = gradcheckResult (GradCheckOptions()) (fun xs -> Tensor.tanh xs.[0]) [| x |]
            Expect.isTrue r.Passed r.Report
            Expect.stringContains r.Report "random projection" "auto switched to fast mode"
            let mask = Tensor.FromArray(Array.init n (fun i -> if i = 137 then 1.5 else 1.0), n)
            let bad = Custom.unary "bad_tanh" Tensor.tanh (fun _ y g -> g * (1.0 - y * y) * mask)
            let r = gradcheckResult (GradCheckOptions(Mode = GradCheckMode.Fast)) (fun xs -> bad xs.[0]) [| x |]
            Expect.isFalse r.Passed "one wrong element among 300 is caught by a random projection"
            let f = r.Failures.[0]
            Expect.equal f.Mode GradCheckMode.Fast "fast"
            Expect.equal f.ElementIndex [| 137 |] "localised"
            Expect.equal f.OutputIndex [||] "a projection has no single output element"
            Expect.equal f.SliceRows [| "v^T J" |] "the projected row"

        testCase "tolerances are settable" <| fun () ->
            // exp(x) against a rule off by 1e-4 relative: fails at rtol 1e-6, passes at rtol 1e-3.
            let off = Custom.unary "exp_off" Tensor.exp (fun _ y g -> g * y * (1.0 + 1e-4))
            let f (xs: Tensor[]) = off xs.[0] |> Tensor.sum
            let x = [| vec [ 0.5; 1.0 ] |]
            Expect.isTrue (gradcheckResult (GradCheckOptions()) f x).Passed "within the default rtol"
            Expect.isFalse (gradcheckResult (GradCheckOptions(Rtol = 1e-6, Atol = 1e-9)) f x).Passed "caught with tight tolerances"

        testCase "float32 and integer inputs are refused with the fix" <| fun () ->
            throwsWith [ "gradcheck"; "float32"; "float64"; "ToType(DType.Float64)" ] (fun () ->
                gradcheck (fun xs -> Tensor.sum xs.[0]) [| Tensor.ofArray32 [| 1.0f; 2.0f |] |]) |> ignore
            throwsWith [ "int64"; "no gradient"; "float64" ] (fun () ->
                gradcheck (fun xs -> xs.[0].ToType(DType.Float64) |> Tensor.sum) [| Tensor.FromArray([| 1L; 2L |]) |]) |> ignore

        testCase "a function that is not finite at the point is refused" <| fun () ->
            throwsWith [ "not finite at the point"; "[0]" ] (fun () -> gradcheck (fun xs -> log xs.[0]) [| vec [ -1.0; 1.0 ] |]) |> ignore
            // Finite at the point, but not within eps of it: log at 1e-7 with eps 1e-6.
            throwsWith [ "not finite at a point"; "singularity" ] (fun () -> gradcheck (fun xs -> log xs.[0] |> Tensor.sum) [| vec [ 1e-7; 1.0 ] |]) |> ignore

        testCase "a function that is not deterministic is refused" <| fun () ->
            let mutable calls = 0
            let f (xs: Tensor[]) = calls <- calls + 1; Tensor.sum xs.[0] * float calls
            throwsWith [ "not deterministic" ] (fun () -> gradcheck f [| vec [ 1.0; 2.0 ] |]) |> ignore

        testCase "an input the output does not depend on is named, not passed or failed" <| fun () ->
            let a = vec [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let b = vec [ 3.0 ] |> Tensor.requiresGrad
            throwsWith [ "does not depend on input 1"; "[1]" ] (fun () -> gradcheck (fun xs -> Tensor.sum xs.[0]) [| a; b |]) |> ignore

        testCase "an input used off the tape is named" <| fun () ->
            let offTape (xs: Tensor[]) = Tensor.FromArray(xs.[0].ToDoubleArray() |> Array.map (fun v -> v * v)) |> Tensor.sum
            throwsWith [ "depends on input 0"; "no recorded operation connects them"; "off the tape" ] (fun () -> gradcheck offTape [| vec [ 1.0; 2.0 ] |]) |> ignore

        testCase "gradgradcheck passes on right second derivatives" <| fun () ->
            gradgradcheck (fun xs -> xs.[0] * xs.[0] * xs.[0] * xs.[1] |> Tensor.sum) [| vec [ 0.4; -1.3 ]; vec [ 2.0; 0.5 ] |]
            gradgradcheck (fun xs -> Tensor.logSoftmax 0 xs.[0]) [| vec [ 0.1; 0.9; -0.4 ] |]
            // a * b: d(grad a)/da is structurally zero, which is a right answer, not an error.
            let r = gradgradcheckResult (GradCheckOptions()) (fun xs -> xs.[0] * xs.[1] |> Tensor.sum) [| vec [ 1.0; 2.0 ]; vec [ 3.0; 4.0 ] |]
            Expect.isTrue r.Passed r.Report
            Expect.stringContains r.Report "zero, and the finite differences agree" "zero blocks are checked numerically"

        testCase "gradgradcheck catches a wrong second derivative that gradcheck cannot see" <| fun () ->
            let f (xs: Tensor[]) = halfCube xs.[0] |> Tensor.sum
            let x = [| vec [ 1.0; 2.0 ] |]
            gradcheck f x
            let r = gradgradcheckResult (GradCheckOptions()) f x
            Expect.isFalse r.Passed "3x instead of 6x"
            let fail = r.Failures.[0]
            Expect.stringContains fail.Check "second derivative" "labelled as second order"
            Expect.equal fail.ElementIndex [| 1 |] "worst at x = 2"
            Expect.floatClose Accuracy.high fail.Analytic 6.0 "analytic 3x at 2"
            Expect.floatClose { absolute = 1e-5; relative = 1e-5 } fail.Numerical 12.0 "numerical 6x at 2"
            Expect.throwsT<GradCheckException> (fun () -> gradgradcheck f x) "throwing form"

        testCase "gradgradcheck through a once-differentiable custom op is an error naming it" <| fun () ->
            let raw = Custom.unaryOnce "raw_square" (fun x -> x * x) (fun x _ g -> Tensor.FromArray(x.ToDoubleArray() |> Array.map ((*) 2.0)) * g)
            gradcheck (fun xs -> raw xs.[0] |> Tensor.sum) [| vec [ 1.0; 2.0 ] |]
            throwsWith [ "raw_square" ] (fun () -> gradgradcheck (fun xs -> raw xs.[0] |> Tensor.sum) [| vec [ 1.0; 2.0 ] |]) |> ignore

        testCase "an empty input or output has nothing to compare and passes, saying so" <| fun () ->
            let empty = Tensor.zeros DType.Float64 [ 0; 2 ]
            let elementwise = gradcheckResult (GradCheckOptions()) (fun xs -> xs.[0] * 2.0) [| empty |]
            Expect.isTrue elementwise.Passed "an empty Jacobian cannot be wrong"
            Expect.stringContains elementwise.Report "empty Jacobian" "the report says why"
            let summed = gradcheckResult (GradCheckOptions()) (fun xs -> Tensor.sum (xs.[0] * 2.0)) [| empty |]
            Expect.isTrue summed.Passed "a scalar of an empty input"
    ]
