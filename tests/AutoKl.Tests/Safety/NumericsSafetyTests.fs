/// Issue 10, section 6: numerical defects found by a hostile run.
module AutoKl.Tests.Safety.NumericsSafetyTests

open System
open Expecto
open AutoKl
open AutoKl.Tests.Safety.SafetySupport

let leaf values = Tensor.ofList values |> Tensor.requiresGrad

let allFinite (t: Tensor) = t.ToDoubleArray() |> Array.forall Double.IsFinite

/// d/dx of sum(f x) at x, computed twice with createGraph, then the Hessian-vector product with v.
let hvpOf (f: Tensor -> Tensor) (x: float list) (v: float list) =
    let x = leaf x
    let g = Autograd.Gradients(f x |> Tensor.sum, [| x |], createGraph = true)[0]
    Autograd.Gradients(Tensor.sum (g * Tensor.ofList v), [| x |])[0]

/// Central finite difference of the gradient along v (float64).
let fdHvp (f: Tensor -> Tensor) (x: float list) (v: float list) =
    let h = 1e-5
    let gradAt (xs: float list) = grad (fun t -> f t |> Tensor.sum) (Tensor.ofList xs)
    let plus = List.map2 (fun a b -> a + h * b) x v
    let minus = List.map2 (fun a b -> a - h * b) x v
    (gradAt plus - gradAt minus) / (2.0 * h)

[<Tests>]
let tests =
    testList "Safety.Numerics" [
        testCase "a ** b with tensors: d/da is 0 at a = 0, b = 0 (was NaN)" <| fun () ->
            let a = leaf [ 0.0; 2.0 ]
            let b = leaf [ 0.0; 3.0 ]
            (Tensor.powt a b |> Tensor.sum).Backward()
            values "d/da" [ 0.0; 12.0 ] a.Grad
            Expect.isTrue (allFinite b.Grad) "d/db finite"
            // the number-exponent overload agrees
            values "d/da (number exponent)" [ 0.0 ] (grad (fun x -> x ** 0.0 |> Tensor.sum) (Tensor.ofList [ 0.0 ]))

        testCase "second derivatives of pow and xlogy are finite where the masked branch would be 0 * inf" <| fun () ->
            let a = leaf [ 0.0; 1.5 ]
            let b = leaf [ 0.0; 2.0 ]
            let ga, gb =
                match Autograd.Gradients(Tensor.powt a b |> Tensor.sum, [| a; b |], createGraph = true) with
                | [| ga; gb |] -> ga, gb
                | _ -> failwith "two gradients"
            let second = Autograd.Gradients(Tensor.sum ga + Tensor.sum gb, [| a; b |])
            for s in second do Expect.isTrue (allFinite s) (sprintf "pow second derivatives finite: %O" s)
            let x = leaf [ 0.0; 0.5 ]
            let y = leaf [ 0.0; 2.0 ]
            let gx, gy =
                match Autograd.Gradients(Tensor.xlogy x y |> Tensor.sum, [| x; y |], createGraph = true) with
                | [| gx; gy |] -> gx, gy
                | _ -> failwith "two gradients"
            let second = Autograd.Gradients(Tensor.sum gx + Tensor.sum gy, [| x; y |])
            for s in second do Expect.isTrue (allFinite s) (sprintf "xlogy second derivatives finite: %O" s)
            // where nothing is masked, they are the exact ones: d2/dxdy xlogy = 1/y, d2/dy2 = -x/y^2
            values "xlogy d/dx of (gx + gy)" [ 0.0; 0.5 ] second[0]
            values "xlogy d/dy of (gx + gy)" [ 0.0; 0.5 - 0.5 / 4.0 ] second[1]

        testCase "lgamma's Hessian-vector product is trigamma, not a silent 0" <| fun () ->
            let x = [ 0.3; 1.0; 2.5; 7.0; 12.0; -0.5 ]
            let v = [ 1.0; -0.5; 2.0; 1.0; 0.25; 1.0 ]
            let exact = hvpOf Tensor.lgamma x v
            let fd = fdHvp Tensor.lgamma x v
            let e, f = exact.ToDoubleArray(), fd.ToDoubleArray()
            for i in 0 .. e.Length - 1 do
                Expect.isTrue (abs (e[i] - f[i]) <= 1e-6 * max 1.0 (abs f[i])) (sprintf "element %d: %.12g vs finite difference %.12g" i e[i] f[i])
            // trigamma(1) = pi^2 / 6
            values "trigamma(1)" [ Math.PI * Math.PI / 6.0 ] (hvpOf Tensor.lgamma [ 1.0 ] [ 1.0 ])

        testCase "differentiating lgamma three times is an error, not a silent 0" <| fun () ->
            let x = leaf [ 1.5 ]
            let g1 = Autograd.Gradients(Tensor.lgamma x |> Tensor.sum, [| x |], createGraph = true)[0]
            let g2 = Autograd.Gradients(Tensor.sum g1, [| x |], createGraph = true)[0]
            throwsAutoKl [ "trigamma"; "not implemented" ] (fun () -> Autograd.Gradients(Tensor.sum g2, [| x |])) |> ignore

        testCase "kl_div(log [0, 1], [0, 1]) is 0, and so is the log-target form" <| fun () ->
            let p = Tensor.ofList [ 0.0; 1.0 ]
            let logQ = Tensor.log (Tensor.ofList [ 0.0; 1.0 ]) |> Tensor.requiresGrad
            let loss = Losses.KlDiv(logQ, p, Reduction.Sum)
            values "kl" [ 0.0 ] loss
            loss.Backward()
            Expect.isTrue (allFinite logQ.Grad) "finite gradient"
            values "log-target kl" [ 0.0 ] (Losses.KlDiv(Tensor.log (Tensor.ofList [ 0.0; 1.0 ]), Tensor.log p, Reduction.Sum, logTarget = true))

        testCase "autokl kl --p 0.5,0.5,0 --q 0.5,0.5,0 prints no nan in the PyTorch rows" <| fun () ->
            let r = AutoKl.Tests.Cli.CliSupport.autokl [ "kl"; "--p"; "0.5,0.5,0"; "--q"; "0.5,0.5,0" ]
            Expect.equal r.Code 0 r.Err
            for line in r.Out.Split('\n') do
                if line.Contains "KL(P||Q) =" || line.TrimStart().StartsWith "PyTorch" then
                    Expect.isFalse (line.Contains "nan") (sprintf "row: %s" line)

        testCase "softmax and log_softmax of a row holding +inf are NaN throughout (as PyTorch)" <| fun () ->
            let x = Tensor.ofList [ infinity; 1.0; 2.0 ]
            for t in [ Tensor.softmax 0 x; Tensor.logSoftmax 0 x ] do
                Expect.isTrue (t.ToDoubleArray() |> Array.forall Double.IsNaN) (sprintf "all NaN: %O" t)
            // columns (axis 0 of a matrix) too, leaving the finite column alone
            let m = Tensor.ofList2D [ [ infinity; 1.0 ]; [ 0.0; 2.0 ] ]
            let s = Tensor.softmax 0 m
            let a = s.ToDoubleArray()
            Expect.isTrue (Double.IsNaN a[0] && Double.IsNaN a[2]) "the column with +inf"
            Expect.isTrue (abs (a[1] - 1.0 / (1.0 + exp 1.0)) < 1e-12 && abs (a[3] - exp 1.0 / (1.0 + exp 1.0)) < 1e-12) "the finite column"
            // -inf stays fine
            values "softmax with -inf" [ 0.0; 0.5; 0.5 ] (Tensor.softmax 0 (Tensor.ofList [ -infinity; 1.0; 1.0 ]))

        testCase "float32 cumsum accumulates in double: two CDFs that must agree are exactly equal" <| fun () ->
            let g = Generator(3)
            let p = Tensor.rand g DType.Float32 [ 1000 ]
            let total = Tensor.sum p
            let viaCumsum = (Tensor.CumSum(p, 0)).ToDoubleArray()
            // the double-precision running sum, rounded to float32 at each step
            let mutable acc = 0.0
            let expected = p.ToDoubleArray() |> Array.map (fun v -> acc <- acc + v; float (float32 acc))
            Expect.equal viaCumsum expected "each element is the double running sum rounded once"
            let reversed = (Tensor.CumSum(p, 0, reverse = true)).ToDoubleArray()
            ignore total
            let mutable back = 0.0
            let expectedReverse = p.ToDoubleArray() |> Array.rev |> Array.map (fun v -> back <- back + v; float (float32 back)) |> Array.rev
            Expect.equal reversed expectedReverse "reverse too"

        testCase "a shape too large for one tensor is an AutoKlException naming the shape" <| fun () ->
            throwsAutoKl [ "[65536, 65536]"; "more than" ] (fun () -> Tensor.Zeros([| 65536; 65536 |], DType.Float32)) |> ignore
            throwsAutoKl [ "more than" ] (fun () -> Tensor.Zeros([| 1 <<< 30; 1 <<< 30; 1 <<< 30; 8 |], DType.Float32)) |> ignore
            Expect.equal (Tensor.Zeros([| 65536; 65536; 0 |], DType.Float32)).Numel 0 "an empty shape is fine"
    ]
