/// AutoKl.Testing's forward-mode checks: checkJvp, the transposition identity, checkGrads.
module AutoKl.Tests.Testing.ForwardCheckTests

open System
open Expecto
open AutoKl
open AutoKl.Testing

let private vec (xs: float list) = Tensor.ofList xs

/// x^2 as a custom op with the given forward rule (x, y, tangent of x -> tangent of y) and a right VJP.
let private square name (jvp: Tensor -> Tensor -> Tensor -> Tensor) =
    let op =
        CustomFunction.Unary(
            name, Func<Tensor, Tensor>(fun x -> x * x), Func<Tensor, Tensor, Tensor, Tensor>(fun x _ g -> g * 2.0 * x),
            jvp = Func<Tensor, Tensor, Tensor, Tensor>(jvp))
    fun (x: Tensor) -> op.Apply(x)

/// Right: J v = 2 x v.
let private goodSquare = square "good_square" (fun x _ t -> t * 2.0 * x)

/// Wrong: forgets the factor 2 (right only at x = 0).
let private badSquare = square "bad_square_jvp" (fun x _ t -> t * x)

/// Right at first order, but part of the rule is detached, so its own derivative (the second
/// derivative of x^2 along two directions) comes out as t1 t2 instead of 2 t1 t2.
let private halfSquare = square "half_square_jvp" (fun x _ t -> t * x + t * x.Detach())

/// a * b with a forward rule that is right when one tangent is given but drops b's term when
/// both are: only the check of all inputs together sees it.
let private badProduct =
    CustomFunction(
        "bad_product",
        Func<Tensor[], Tensor>(fun xs -> xs.[0] * xs.[1]),
        Func<Tensor[], Tensor, Tensor, Tensor[]>(fun xs _ g -> [| g * xs.[1]; g * xs.[0] |]),
        jvp =
            Func<Tensor[], Tensor, Tensor[], Tensor>(fun xs _ ts ->
                match ts.[0], ts.[1] with
                | null, tb -> xs.[0] * tb
                | ta, null -> ta * xs.[1]
                | ta, _ -> ta * xs.[1]))

/// No jvp, and a VJP declared once-differentiable: no forward rule can be derived from it.
let private noJvp = Custom.unaryOnce "reverse_only_square" (fun x -> x * x) (fun x _ g -> g * 2.0 * x)

/// No jvp, but a VJP written with tensor ops: its forward rule is derived by transposing the VJP.
let private derivedJvp = Custom.unary "derived_jvp_square" (fun x -> x * x) (fun x _ g -> g * 2.0 * x)

/// No jvp, and a wrong VJP written with tensor ops: the derived forward rule is wrong the same way.
let private derivedBad = Custom.unary "derived_bad_square" (fun x -> x * x) (fun x _ g -> g * x)

let private passes (r: GradCheckResult) = Expect.isTrue r.Passed r.Report

let private throwsWith (parts: string list) (f: unit -> unit) =
    let e = Expect.throwsC f id
    for p in parts do Expect.stringContains e.Message p (sprintf "the message names '%s'" p)
    e

[<Tests>]
let tests =
    testList "Testing.ForwardCheck" [
        testCase "right rules pass: several inputs, broadcasting, non-scalar outputs, reductions, matmul" <| fun () ->
            let a = Tensor.FromArray([| 0.5; -1.0; 2.0; 0.1; 0.7; -0.3 |], 2, 3)
            let b = vec [ 1.5; -0.5; 0.25 ]
            let r = checkJvp (fun xs -> xs.[0] * exp xs.[1]) [| a; b |] (GradCheckOptions())
            passes r
            Expect.stringContains r.Report "checkJvp passed" "title"
            Expect.stringContains r.Report "full 6x6 Jacobian" "input 0 through its full Jacobian"
            Expect.stringContains r.Report "with respect to input 1 (shape [3]): ok" "input 1 too"
            Expect.stringContains r.Report "along all checked inputs together: ok" "and both together"
            passes (checkTransposition (fun xs -> xs.[0] * exp xs.[1]) [| a; b |] (GradCheckOptions()))
            let m = Tensor.FromArray([| 0.3; -0.2; 0.8; 1.1; -0.6; 0.4 |], 3, 2)
            for f in [ (fun (xs: Tensor[]) -> Tensor.MatMul(xs.[0], xs.[1]) |> Tensor.tanh)
                       (fun (xs: Tensor[]) -> Tensor.LogSoftmax(Tensor.MatMul(xs.[0], xs.[1]), 1))
                       (fun (xs: Tensor[]) -> Tensor.Sum(Tensor.MatMul(xs.[0], xs.[1]) |> Tensor.sigmoid)) ] do
                passes (checkJvp f [| a; m |] (GradCheckOptions()))
                passes (checkTransposition f [| a; m |] (GradCheckOptions()))
            checkGrads (fun xs -> Tensor.Sum(sin xs.[0] * xs.[1])) [| vec [ 0.3; -1.2 ]; vec [ 2.0; 0.5 ] |] AutodiffModes.Both 2

        testCase "a custom op's right forward rule passes every check, at order 2 too" <| fun () ->
            let x = vec [ 1.0; -2.0; 0.5 ]
            passes (checkJvp (fun xs -> goodSquare xs.[0]) [| x |] (GradCheckOptions()))
            passes (checkTransposition (fun xs -> goodSquare xs.[0]) [| x |] (GradCheckOptions()))
            let r = checkGradsResult (GradCheckOptions()) (fun xs -> goodSquare xs.[0] |> Tensor.sum) [| x |] AutodiffModes.Both 2
            passes r
            for part in [ "forward-mode JVP"; "reverse-mode gradient"; "forward over reverse"; "reverse over reverse"; "forward over forward"; "reverse over forward" ] do
                Expect.stringContains r.Report part (sprintf "order 2 with both modes checks %s" part)

        testCase "a wrong forward rule fails checkJvp with the input, the element and both values" <| fun () ->
            let x = vec [ 1.0; 2.0; 3.0 ]
            let r = checkJvp (fun xs -> badSquare xs.[0]) [| x |] (GradCheckOptions())
            Expect.isFalse r.Passed "x v instead of 2 x v is caught"
            Expect.equal r.Failures.Length 1 "one failing input"
            let f = r.Failures.[0]
            Expect.equal f.Input 0 "input 0"
            Expect.equal f.Mode GradCheckMode.Full "small: full Jacobian, column by column"
            Expect.equal f.ElementIndex [| 2 |] "the worst element is x = 3 (forward 3, numerical 6)"
            Expect.equal f.OutputIndex [| 2 |] "on the diagonal"
            Expect.floatClose Accuracy.high f.Analytic 3.0 "forward-mode value"
            Expect.floatClose { absolute = 1e-6; relative = 1e-6 } f.Numerical 6.0 "numerical value"
            Expect.floatClose Accuracy.high f.Allowed (1e-5 + 1e-3 * abs f.Numerical) "allowed = atol + rtol |numerical|"
            Expect.equal f.SliceColumns [| "[0]"; "[1]"; "[2]" |] "columns around the worst element"
            Expect.equal f.SliceRows [| "[0]"; "[1]"; "[2]" |] "rows around the worst output"
            for c in 0 .. 2 do
                Expect.floatClose Accuracy.high f.AnalyticSlice.[c, c] (float (c + 1)) "forward-mode Jacobian x"
                Expect.floatClose { absolute = 1e-6; relative = 1e-6 } f.NumericalSlice.[c, c] (2.0 * float (c + 1)) "numerical Jacobian 2x"
            for part in [ "checkJvp FAILED"; "forward-mode JVP with respect to input 0 (shape [3]) is wrong"; "d output[2] / d input0[2]"; "forward mode (J e)"; "numerical (central diff)"; "3"; "6" ] do
                Expect.stringContains r.Report part "the report"
            // The C# forms agree, and the throwing one carries the report.
            Expect.isFalse (JvpCheck.Run(Func<Tensor, Tensor>(badSquare), x)).Passed "C# form"
            let e = Expect.throwsC (fun () -> JvpCheck.Assert(Func<Tensor, Tensor>(badSquare), x)) id
            match e with
            | :? GradCheckException as g -> Expect.equal g.Result.Failures.[0].ElementIndex [| 2 |] "the exception's result"
            | other -> failtestf "expected GradCheckException, got %O" other

        testCase "a wrong forward rule fails the transposition check, localised, while gradcheck passes" <| fun () ->
            let x = vec [ 1.0; -2.0; 3.0; 0.5 ]
            let r = checkTransposition (fun xs -> badSquare xs.[0]) [| x |] (GradCheckOptions())
            Expect.isFalse r.Passed "<v, J u> forward (x u) against reverse (2 x v)"
            let f = r.Failures.[0]
            Expect.equal f.Input 0 "input 0"
            Expect.equal f.SliceRows [| "v^T J" |] "the projected row"
            // At each element i: v_i x_i forward, 2 v_i x_i reverse: the worst is where |v_i x_i| is largest.
            let i = f.ElementIndex.[0]
            Expect.floatClose { absolute = 1e-12; relative = 1e-9 } (2.0 * f.Analytic) f.Numerical "reverse twice forward at the worst element"
            Expect.isTrue (f.Numerical <> 0.0) (sprintf "element %d differs" i)
            Expect.stringContains r.Report "forward and reverse mode disagree for input 0" "the report"
            Expect.stringContains r.Report "reverse mode (J^T v)_i" "names the reverse side"
            // gradcheck checks only reverse mode: the VJP is right.
            gradcheck (fun xs -> badSquare xs.[0]) [| x |]
            Expect.throwsT<GradCheckException> (fun () -> TranspositionCheck.Assert(Func<Tensor, Tensor>(badSquare), x)) "C# form throws"

        testCase "checkGrads: Forward catches the wrong rule at order 1, Reverse does not look at it" <| fun () ->
            let x = [| vec [ 1.0; 2.0 ] |]
            let f (xs: Tensor[]) = badSquare xs.[0] |> Tensor.sum
            let r = checkGradsResult (GradCheckOptions()) f x AutodiffModes.Forward 1
            Expect.isFalse r.Passed "forward mode is wrong"
            Expect.stringContains r.Report "checkGrads (order 1; Forward) FAILED" "title"
            passes (checkGradsResult (GradCheckOptions()) f x AutodiffModes.Reverse 2)
            Expect.throwsT<GradCheckException> (fun () -> checkGrads f x AutodiffModes.Both 1) "the throwing form"
            Expect.throwsT<GradCheckException> (fun () -> CheckGrads.Assert(Func<Tensor[], Tensor>(f), x, AutodiffModes.Both, 1)) "C# form"

        testCase "checkGrads order 2: a forward rule whose own derivative is wrong fails only forward over forward" <| fun () ->
            let x = [| vec [ 0.7; -1.3; 2.0 ] |]
            let f (xs: Tensor[]) = halfSquare xs.[0]
            passes (checkJvp f x (GradCheckOptions()))
            passes (checkGradsResult (GradCheckOptions()) f x AutodiffModes.Both 1)
            let r = checkGradsResult (GradCheckOptions()) f x AutodiffModes.Forward 2
            Expect.isFalse r.Passed "the JVP of the JVP is half of what it should be"
            Expect.isTrue (r.Failures |> Array.forall (fun f -> f.Check.StartsWith "forward over forward")) r.Report
            Expect.stringContains r.Report "forward over reverse (the JVP of the gradient of input 0)" "forward over reverse ran, and passed"
            passes (checkGradsResult (GradCheckOptions()) f x AutodiffModes.Reverse 2)

        testCase "checkGrads order 2: a VJP whose own derivative is wrong fails forward over reverse and reverse over reverse" <| fun () ->
            // x^3 with a VJP that detaches part of itself: right gradient, wrong Hessian (3x instead of 6x).
            let halfCube =
                let op =
                    CustomFunction.Unary(
                        "half_cube", Func<Tensor, Tensor>(fun x -> x * x * x), Func<Tensor, Tensor, Tensor, Tensor>(fun x _ g -> g * 3.0 * x * x.Detach()),
                        jvp = Func<Tensor, Tensor, Tensor, Tensor>(fun x _ t -> t * 3.0 * x * x))
                fun (x: Tensor) -> op.Apply(x)
            let x = [| vec [ 0.5; 1.5 ] |]
            let f (xs: Tensor[]) = halfCube xs.[0] |> Tensor.sum
            passes (checkGradsResult (GradCheckOptions()) f x AutodiffModes.Both 1)
            let r = checkGradsResult (GradCheckOptions()) f x AutodiffModes.Both 2
            let failed = r.Failures |> Array.map (fun f -> f.Check) |> Array.distinct |> Array.sort
            Expect.equal failed [| "forward over reverse (the JVP of the gradient of input 0)"; "reverse over reverse (the gradient of the gradient of input 0)" |] r.Report
            let fr = r.Failures |> Array.find (fun f -> f.Check.StartsWith "forward over reverse")
            Expect.floatClose Accuracy.high fr.Analytic (3.0 * 1.5) "forward over reverse sees 3x"
            Expect.floatClose { absolute = 1e-5; relative = 1e-5 } fr.Numerical (6.0 * 1.5) "finite differences of the gradient: 6x"

        testCase "a rule wrong only when every input carries a tangent fails the check of all inputs together" <| fun () ->
            let xs = [| vec [ 1.0; 2.0 ]; vec [ 3.0; -1.0 ] |]
            let f (xs: Tensor[]) = badProduct.Apply(xs)
            let r = checkJvp f xs (GradCheckOptions())
            Expect.isFalse r.Passed r.Report
            Expect.equal (r.Failures |> Array.map (fun f -> f.Input)) [| -1 |] "only the joint check fails"
            Expect.stringContains r.Report "with respect to input 0 (shape [2]): ok" "input 0 alone is right"
            Expect.stringContains r.Report "with respect to input 1 (shape [2]): ok" "input 1 alone is right"
            Expect.stringContains r.Report "along all checked inputs together (0, 1) is wrong" "the joint check"
            let t = checkTransposition f xs (GradCheckOptions())
            Expect.equal (t.Failures |> Array.map (fun f -> f.Input)) [| -1 |] "the transposition check of all inputs together"

        testCase "large inputs: random directions, and a wrong element is localised" <| fun () ->
            let n = 300
            let x = Tensor.FromArray(Array.init n (fun i -> sin (float i)), n)
            let r = checkJvp (fun xs -> Tensor.tanh xs.[0]) [| x |] (GradCheckOptions())
            passes r
            Expect.stringContains r.Report "random direction" "300 x 300 is past the full limit"
            let mask = Tensor.FromArray(Array.init n (fun i -> if i = 137 then 1.5 else 1.0), n)
            let bad =
                CustomFunction.Unary(
                    "bad_tanh", Func<Tensor, Tensor>(Tensor.tanh), Func<Tensor, Tensor, Tensor, Tensor>(fun _ y g -> g * (1.0 - y * y)),
                    jvp = Func<Tensor, Tensor, Tensor, Tensor>(fun _ y t -> t * (1.0 - y * y) * mask))
            let r = checkJvp (fun xs -> bad.Apply(xs.[0])) [| x |] (GradCheckOptions(Mode = GradCheckMode.Fast))
            Expect.isFalse r.Passed "one wrong element among 300"
            let f = r.Failures.[0]
            Expect.equal f.Mode GradCheckMode.Fast "fast"
            Expect.equal (f.OutputIndex, f.ElementIndex) ([| 137 |], [| 137 |]) "localised to d y[137] / d x[137]"
            Expect.stringContains r.Report "along a random unit direction u of input 0" "says how it was found"
            let t = checkTransposition (fun xs -> bad.Apply(xs.[0])) [| x |] (GradCheckOptions())
            Expect.equal t.Failures.[0].ElementIndex [| 137 |] "the transposition check localises it too"

        testCase "only the inputs that require gradients are checked; integer inputs pass through" <| fun () ->
            let x = vec [ 0.5; 1.5 ] |> Tensor.requiresGrad
            let c = vec [ 2.0; 3.0 ]
            let idx = Tensor.FromArray([| 1L; 0L |])
            let f (xs: Tensor[]) = Tensor.Gather(xs.[0] * xs.[1], 0, xs.[2])
            let r = checkJvp f [| x; c; idx |] (GradCheckOptions())
            passes r
            Expect.stringContains r.Report "input 0" "the marked input"
            Expect.isFalse (r.Report.Contains "input 1") "the unmarked float input is a constant"
            passes (checkTransposition f [| x; c; idx |] (GradCheckOptions()))

        testCase "an op without a forward rule is an error naming it; reverse mode alone still checks it" <| fun () ->
            let x = [| vec [ 1.0; 2.0 ] |]
            let f (xs: Tensor[]) = noJvp xs.[0] |> Tensor.sum
            let e = throwsWith [ "reverse_only_square"; "no forward-mode rule" ] (fun () -> checkJvp f x (GradCheckOptions()) |> ignore)
            Expect.isTrue (e :? AutoKlException) (sprintf "an AutoKlException, got %s" (e.GetType().Name))
            throwsWith [ "reverse_only_square" ] (fun () -> checkTransposition f x (GradCheckOptions()) |> ignore) |> ignore
            throwsWith [ "reverse_only_square" ] (fun () -> checkGrads f x AutodiffModes.Forward 1) |> ignore
            checkGrads f x AutodiffModes.Reverse 1

        testCase "a custom op without a jvp but with a VJP in tensor ops: the derived forward rule is checked like any" <| fun () ->
            let x = [| vec [ 1.0; -2.0; 0.5 ] |]
            passes (checkJvp (fun xs -> derivedJvp xs.[0]) x (GradCheckOptions()))
            passes (checkTransposition (fun xs -> derivedJvp xs.[0]) x (GradCheckOptions()))
            checkGrads (fun xs -> derivedJvp xs.[0] |> Tensor.sum) x AutodiffModes.Both 2
            // Transposed from a wrong VJP, it is wrong in the same way: finite differences catch it,
            // the transposition identity cannot (both modes agree).
            let r = checkJvp (fun xs -> derivedBad xs.[0]) x (GradCheckOptions())
            Expect.isFalse r.Passed "x v instead of 2 x v"
            Expect.floatClose Accuracy.high r.Failures.[0].Analytic (-2.0) "the worst entry: x = -2, forward mode -2, numerical -4"
            passes (checkTransposition (fun xs -> derivedBad xs.[0]) x (GradCheckOptions()))

        testCase "misuse is refused with gradcheck's messages" <| fun () ->
            throwsWith [ "float32"; "float64" ] (fun () -> checkJvp (fun xs -> xs.[0] * 2.0) [| Tensor.ofArray32 [| 1.0f |] |] (GradCheckOptions()) |> ignore) |> ignore
            throwsWith [ "not finite at the point" ] (fun () -> checkJvp (fun xs -> log xs.[0]) [| vec [ -1.0 ] |] (GradCheckOptions()) |> ignore) |> ignore
            throwsWith [ "order must be 1 or 2, got 3" ] (fun () -> checkGrads (fun xs -> Tensor.sum xs.[0]) [| vec [ 1.0 ] |] AutodiffModes.Both 3) |> ignore
            throwsWith [ "modes must name Forward, Reverse or both" ] (fun () -> checkGrads (fun xs -> Tensor.sum xs.[0]) [| vec [ 1.0 ] |] (enum 0) 1) |> ignore
            throwsWith [ "Eps must be positive" ] (fun () -> checkJvp (fun xs -> xs.[0]) [| vec [ 1.0 ] |] (GradCheckOptions(Eps = 0.0)) |> ignore) |> ignore

        testCase "an output computed off the tape: forward mode gives 0, and the report says why" <| fun () ->
            let offTape (xs: Tensor[]) = Tensor.ofArray (xs.[0].ToDoubleArray() |> Array.map (fun v -> v * v))
            let r = checkJvp offTape [| vec [ 1.0; 2.0 ] |] (GradCheckOptions())
            Expect.isFalse r.Passed "zero against 2x"
            Expect.stringContains r.Report "no tangent reaches its output" "the hint"

        testCase "empty inputs and outputs have nothing to compare" <| fun () ->
            let empty = Tensor.FromArray(Array.empty<float>, 0)
            passes (checkJvp (fun xs -> xs.[0] * 2.0) [| empty |] (GradCheckOptions()))
            passes (checkTransposition (fun xs -> xs.[0] * 2.0) [| empty |] (GradCheckOptions()))
    ]
