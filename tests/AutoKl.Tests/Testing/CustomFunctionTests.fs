module AutoKl.Tests.Testing.CustomFunctionTests

open System
open Expecto
open AutoKl
open AutoKl.Testing

/// log(1 + exp x) without overflow, with its derivative sigmoid x written with tensor ops.
let softplus =
    Custom.unary "softplus"
        (fun x -> Tensor.relu x + log (1.0 + exp (-(abs x))))
        (fun x _ g -> g * Tensor.sigmoid x)

let private vec (xs: float list) = Tensor.ofList xs

let private throwsAutoKl (parts: string list) (f: unit -> unit) =
    let e = Expect.throwsC f id
    Expect.isTrue (e :? AutoKlException) (sprintf "an AutoKlException, got %s" (e.GetType().Name))
    for p in parts do Expect.stringContains e.Message p (sprintf "the message names '%s'" p)

[<Tests>]
let tests =
    testList "Testing.CustomFunction" [
        testCase "an F# custom op records under its name, and its gradients check" <| fun () ->
            let x = vec [ -800.0; -1.0; 0.0; 2.0; 800.0 ] |> Tensor.requiresGrad
            let y = softplus x
            Expect.equal y.GradFnName "softplus" "grad_fn name"
            Expect.stringContains (string y) "grad_fn=<softplus>" "printed grad_fn"
            let v = y.ToDoubleArray()
            Expect.floatClose Accuracy.veryHigh v.[0] 0.0 "no underflow trouble"
            Expect.floatClose Accuracy.veryHigh v.[4] 800.0 "no overflow"
            Expect.floatClose Accuracy.veryHigh v.[2] (log 2.0) "log 2 at 0"
            let g = grad (fun x -> softplus x |> Tensor.sum) x
            Expect.floatClose Accuracy.veryHigh (g.ToDoubleArray().[3]) (1.0 / (1.0 + exp -2.0)) "sigmoid 2"
            gradcheck (fun xs -> softplus xs.[0]) [| vec [ -3.0; -0.5; 0.7; 4.0 ] |]
            gradgradcheck (fun xs -> softplus xs.[0] |> Tensor.sum) [| vec [ -3.0; -0.5; 0.7; 4.0 ] |]

        testCase "second derivatives flow through a vjp written with tensor ops" <| fun () ->
            let x = vec [ 0.3; -1.2 ]
            let hv = hvp (fun x -> softplus x |> Tensor.sum) x (vec [ 1.0; 1.0 ])
            let s = x.ToDoubleArray() |> Array.map (fun v -> 1.0 / (1.0 + exp -v))
            Expect.sequenceEqual (hv.ToDoubleArray() |> Array.map (fun v -> Math.Round(v, 12))) (s |> Array.map (fun v -> Math.Round(v * (1.0 - v), 12))) "sigmoid'"

        testCase "C# delegates: the general and the binary form, with broadcasting" <| fun () ->
            let mulAdd =
                CustomFunction(
                    "mul_add",
                    Func<Tensor[], Tensor>(fun xs -> xs.[0] * xs.[1] + xs.[2]),
                    Func<Tensor[], Tensor, Tensor, Tensor[]>(fun xs _ g ->
                        [| CustomFunction.SumToShape(g * xs.[1], xs.[0].Shape); CustomFunction.SumToShape(g * xs.[0], xs.[1].Shape); CustomFunction.SumToShape(g, xs.[2].Shape) |]))
            let a = Tensor.FromArray([| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |], 2, 3)
            let b = vec [ 0.5; -1.0; 2.0 ]
            let c = Tensor.scalar 0.25
            gradcheck (fun xs -> mulAdd.Apply(xs)) [| a; b; c |]
            Expect.equal ((mulAdd.Apply(a |> Tensor.requiresGrad, b, c)).GradFnName) "mul_add" "name on the tape"
            let hyp =
                CustomFunction.Binary(
                    "hypot",
                    Func<Tensor, Tensor, Tensor>(fun a b -> sqrt (a * a + b * b)),
                    Func<Tensor, Tensor, Tensor, Tensor, struct (Tensor * Tensor)>(fun a b y g -> struct (g * a / y, g * b / y)))
            gradcheck (fun xs -> hyp.Apply(xs.[0], xs.[1])) [| vec [ 3.0; -1.0 ]; vec [ 4.0; 2.0 ] |]
            gradgradcheck (fun xs -> hyp.Apply(xs.[0], xs.[1]) |> Tensor.sum) [| vec [ 3.0; -1.0 ]; vec [ 4.0; 2.0 ] |]
            let h = Custom.binary "hypot_fs" (fun a b -> sqrt (a * a + b * b)) (fun a b y g -> g * a / y, g * b / y)
            gradcheck (fun xs -> h xs.[0] xs.[1]) [| vec [ 3.0; -1.0 ]; vec [ 4.0; 2.0 ] |]

        testCase "a vjp returning the wrong number of gradients names the op" <| fun () ->
            let op = Custom.nary "two_in" (fun xs -> xs.[0] * xs.[1]) (fun xs _ g -> [| Some(g * xs.[1]) |])
            let a, b = vec [ 1.0 ] |> Tensor.requiresGrad, vec [ 2.0 ] |> Tensor.requiresGrad
            throwsAutoKl [ "two_in"; "returned 1 gradient for 2 inputs" ] (fun () -> (op [| a; b |]).Backward())

        testCase "a vjp returning a gradient of the wrong shape names the op and the input" <| fun () ->
            let op = Custom.binary "bad_shape" (fun a b -> a * b) (fun a b _ g -> g * b, g * a)
            let a = vec [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let b = Tensor.scalar 3.0 |> Tensor.requiresGrad
            throwsAutoKl [ "bad_shape"; "input 1"; "shape [2]"; "shape []" ] (fun () -> (op a b |> Tensor.sum).Backward())

        testCase "a vjp on raw arrays: first derivatives work, second ones are an error naming the op" <| fun () ->
            let rawSquare =
                Custom.unary "raw_square" (fun x -> x * x) (fun x _ g ->
                    Tensor.FromArray(Array.map2 (fun a b -> 2.0 * a * b) (x.ToDoubleArray()) (g.ToDoubleArray()), x.Shape))
            let x = vec [ 1.0; -2.0 ]
            Expect.sequenceEqual ((grad (fun x -> rawSquare x |> Tensor.sum) x).ToDoubleArray()) [| 2.0; -4.0 |] "first derivative"
            throwsAutoKl [ "raw_square"; "off the tape"; "input 0" ] (fun () -> hvp (fun x -> rawSquare x |> Tensor.sum) x (vec [ 1.0; 0.0 ]) |> ignore)
            let once = Custom.unaryOnce "once_square" (fun x -> x * x) (fun x _ g -> 2.0 * x * g)
            throwsAutoKl [ "once_square"; "differentiableVjp: false" ] (fun () -> hvp (fun x -> once x |> Tensor.sum) x (vec [ 1.0; 0.0 ]) |> ignore)

        testCase "a linear op's constant gradient is a true zero second derivative, not an error" <| fun () ->
            let double = Custom.unary "double" (fun x -> 2.0 * x) (fun _ _ g -> 2.0 * g)
            let hv = hvp (fun x -> double x |> Tensor.sum) (vec [ 1.0; 2.0 ]) (vec [ 1.0; 1.0 ])
            Expect.sequenceEqual (hv.ToDoubleArray()) [| 0.0; 0.0 |] "zero Hessian"
            gradgradcheck (fun xs -> double xs.[0] * xs.[0] |> Tensor.sum) [| vec [ 1.0; 2.0 ] |]

        testCase "errors inside the forward or the vjp name the custom op" <| fun () ->
            let op = Custom.binary "my_mul" (fun a b -> a * b) (fun a b _ g -> g * b, g * a)
            throwsAutoKl [ "my_mul"; "forward function failed"; "[2]"; "[3]" ] (fun () -> op (vec [ 1.0; 2.0 ]) (vec [ 1.0; 2.0; 3.0 ]) |> ignore)
            let bad = Custom.unary "bad_vjp" (fun x -> 2.0 * x) (fun _ _ _ -> failwith "not written yet")
            throwsAutoKl [ "bad_vjp"; "vector-Jacobian product failed"; "not written yet" ] (fun () ->
                (bad (vec [ 1.0 ] |> Tensor.requiresGrad) |> Tensor.sum).Backward())

        testCase "a forward returning its input does not turn the input into a non-leaf" <| fun () ->
            let ident = Custom.unary "ident" id (fun _ _ g -> g)
            let x = vec [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let y = ident x
            Expect.isTrue x.IsLeaf "x is still a leaf"
            Expect.equal y.GradFnName "ident" "y records the op"
            gradcheck (fun xs -> ident xs.[0]) [| vec [ 1.0; 2.0 ] |]

        testCase "no recording without inputs that require gradients, or under NoGrad" <| fun () ->
            Expect.isTrue (softplus (vec [ 1.0 ])).IsLeaf "constant input"
            use _ = Autograd.NoGrad()
            Expect.isTrue (softplus (vec [ 1.0 ] |> Tensor.requiresGrad)).IsLeaf "no-grad scope"
    ]
