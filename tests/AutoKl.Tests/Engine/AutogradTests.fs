/// The tape's behaviour as PyTorch users expect it: accumulation until ZeroGrad, the training
/// loop, leaf and non-leaf rules, Detach, NoGrad, the functional forms from F# and from C#-style
/// lambdas, and clear errors for backward calls that cannot run.
module AutoKl.Tests.Engine.AutogradTests

open System
open AutoKl
open AutoKl.Tests.Support
open Expecto

type T = AutoKl.Tensor

let private vec (values: float list) = Tensor.ofList values

[<Tests>]
let tests =
    testList "Engine.Autograd" [
        testCase "gradients accumulate over backward calls until ZeroGrad" <| fun () ->
            let x = (vec [ 1.0; 2.0; 3.0 ]).RequiresGrad_()
            Expect.isFalse x.HasGrad "x.HasGrad"
            (x * x).Sum().Backward()
            Check.arraysClose "first" 0.0 0.0 [| 2.0; 4.0; 6.0 |] (x.Grad.ToDoubleArray())
            (x * 3.0).Sum().Backward()
            Check.arraysClose "accumulated" 0.0 0.0 [| 5.0; 7.0; 9.0 |] (x.Grad.ToDoubleArray())
            x.ZeroGrad()
            Expect.isFalse x.HasGrad "x.HasGrad"
            Check.throwsAutoKl [ "grad"; "[3]"; "backward has not reached it" ] (fun () -> x.Grad) |> ignore
            (x * 3.0).Sum().Backward()
            Check.arraysClose "after ZeroGrad" 0.0 0.0 [| 3.0; 3.0; 3.0 |] (x.Grad.ToDoubleArray())

        testCase "the PyTorch training loop works as written: zero, loss, backward, update under NoGrad" <| fun () ->
            let xs = T.Linspace(-1.0, 1.0, 20, DType.Float64)
            let ys = 2.0 * xs - 1.0
            let w = T.Zeros([| 1 |], DType.Float64).RequiresGrad_()
            let b = T.Zeros([| 1 |], DType.Float64).RequiresGrad_()
            let losses = ResizeArray()
            for _ in 1 .. 200 do
                w.ZeroGrad()
                b.ZeroGrad()
                let loss = ((w * xs + b - ys) ** 2).Mean()
                loss.Backward()
                losses.Add(float loss)
                use _ = Autograd.NoGrad()
                w.Sub_(0.3 * w.Grad) |> ignore
                b.Sub_(0.3 * b.Grad) |> ignore
            Expect.isTrue (w.IsLeaf && w.RequiresGrad) "the parameters stay leaves that require gradients"
            Expect.isLessThan losses.[losses.Count - 1] (losses.[0] * 1e-8) "losses.[losses.Count - 1]"
            Expect.floatClose { absolute = 1e-4; relative = 0.0 } (float w) 2.0 "float w"
            Expect.floatClose { absolute = 1e-4; relative = 0.0 } (float b) (-1.0) "float b"
            // Forgetting ZeroGrad sums the gradients of successive steps, as in PyTorch.
            let loss () = ((w * xs + b - ys) ** 2).Mean() + (w * w).Sum()
            loss().Backward()
            let once = w.Grad.ToScalar()
            loss().Backward()
            Expect.floatClose { absolute = 1e-15; relative = 0.0 } (w.Grad.ToScalar()) (2.0 * once) "w.Grad.ToScalar()"

        testCase "in-place updates outside NoGrad on tensors that require gradients are refused" <| fun () ->
            let w = (vec [ 1.0; 2.0 ]).RequiresGrad_()
            Check.throwsAutoKl [ "sub_"; "[2]"; "NoGrad" ] (fun () -> w.Sub_(vec [ 1.0; 1.0 ])) |> ignore
            use _ = Autograd.NoGrad()
            Check.throwsAutoKl [ "add_"; "[3]"; "[2]" ] (fun () -> w.Add_(vec [ 1.0; 1.0; 1.0 ])) |> ignore
            w.Add_(T.Scalar 1.0).Copy_(w * 2.0) |> ignore
            Check.arraysClose "add_ then copy_" 0.0 0.0 [| 4.0; 6.0 |] (w.ToDoubleArray())

        testCase "RequiresGrad is settable only on leaves; non-leaf gradients are kept only with RetainGrad" <| fun () ->
            let x = (vec [ 1.0; -2.0 ]).RequiresGrad_()
            Expect.isTrue x.IsLeaf "x.IsLeaf"
            let h = x * 3.0
            let h2 = h * 1.0
            Expect.isFalse h.IsLeaf "h.IsLeaf"
            Expect.isTrue h.RequiresGrad "h.RequiresGrad"
            Expect.equal h.GradFnName "mul" "h.GradFnName"
            Check.throwsAutoKl [ "requires_grad"; "leaf"; "mul" ] (fun () -> h.RequiresGrad <- false) |> ignore
            h2.RetainGrad() |> ignore
            (h * h2).Sum().Backward()
            Expect.isFalse h.HasGrad "a non-leaf keeps no gradient by default"
            Check.throwsAutoKl [ "grad"; "[2]" ] (fun () -> h.Grad) |> ignore
            // d/dh2 sum(h * h2) = h
            Check.arraysClose "retained gradient" 0.0 0.0 [| 3.0; -6.0 |] (h2.Grad.ToDoubleArray())
            // d/dx sum(9 x^2) = 18 x
            Check.arraysClose "leaf gradient" 0.0 0.0 [| 18.0; -36.0 |] (x.Grad.ToDoubleArray())
            // A computation from tensors that do not require gradients is a leaf.
            let c = vec [ 1.0 ] * 2.0
            Expect.isTrue (c.IsLeaf && not c.RequiresGrad) "c.IsLeaf && not c.RequiresGrad"
            c.RequiresGrad <- true
            Expect.isTrue c.RequiresGrad "c.RequiresGrad"
            Check.throwsAutoKl [ "requires_grad"; "int64" ] (fun () -> (Tensor.ofInts [ 1 ]).RequiresGrad_()) |> ignore
            Check.throwsAutoKl [ "retain_grad" ] (fun () -> (vec [ 1.0 ]).RetainGrad()) |> ignore

        testCase "Detach stops the gradient and shares the values" <| fun () ->
            let x = (vec [ 1.0; 2.0 ]).RequiresGrad_()
            let d = (x * 2.0).Detach()
            Expect.isTrue (d.IsLeaf && not d.RequiresGrad) "d.IsLeaf && not d.RequiresGrad"
            // y = x * stop(2x): dy/dx = 2x, not 4x.
            (x * d).Sum().Backward()
            Check.arraysClose "through Detach" 0.0 0.0 [| 2.0; 4.0 |] (x.Grad.ToDoubleArray())
            Check.arraysClose "detached values" 0.0 0.0 [| 2.0; 4.0 |] ((x |> Tensor.detach).ToDoubleArray() |> Array.map ((*) 2.0))

        testCase "NoGrad records nothing, and the scope restores recording" <| fun () ->
            let x = (vec [ 1.0; 2.0 ]).RequiresGrad_()
            let inside =
                use _ = Autograd.NoGrad()
                Expect.isFalse Autograd.IsGradEnabled "Autograd.IsGradEnabled"
                x * x
            Expect.isTrue Autograd.IsGradEnabled "Autograd.IsGradEnabled"
            Expect.isFalse (inside.RequiresGrad || not inside.IsLeaf) "nothing recorded"
            Check.throwsAutoKl [ "backward"; "does not require gradients"; "NoGrad" ] (fun () -> inside.Sum().Backward()) |> ignore
            let viaFunction = noGrad (fun () -> T.Exp x)
            Expect.isFalse viaFunction.RequiresGrad "viaFunction.RequiresGrad"
            // EnableGrad inside NoGrad turns recording back on.
            use _ = Autograd.NoGrad()
            let recorded =
                use _ = Autograd.EnableGrad()
                x * 2.0
            Expect.isTrue recorded.RequiresGrad "recorded.RequiresGrad"
            Expect.isFalse Autograd.IsGradEnabled "Autograd.IsGradEnabled"

        testCase "a tensor used twice gets the sum of its gradients" <| fun () ->
            let x = (vec [ 1.5; -0.5 ]).RequiresGrad_()
            let y = x * x + x
            (y * x).Sum().Backward()
            // d/dx (x^3 + x^2) = 3x^2 + 2x
            Check.arraysClose "used three times" 1e-15 0.0 [| 3.0 * 2.25 + 3.0; 0.75 - 1.0 |] (x.Grad.ToDoubleArray())

        testCase "functional gradients from F# module functions" <| fun () ->
            let x = vec [ 0.5; -1.0; 2.0 ]
            let f (x: Tensor) = T.Sum(x ** 3) + T.Sum(T.Exp x)
            let expected = [| for v in [ 0.5; -1.0; 2.0 ] -> 3.0 * v * v + exp v |]
            Check.arraysClose "grad" 1e-14 0.0 expected ((grad f x).ToDoubleArray())
            let value, g = valueAndGrad f x
            Expect.floatClose { absolute = 1e-13; relative = 0.0 } (float value) (0.125 - 1.0 + 8.0 + exp 0.5 + exp -1.0 + exp 2.0) "float value"
            Check.arraysClose "valueAndGrad" 1e-14 0.0 expected (g.ToDoubleArray())
            Expect.isFalse (value.RequiresGrad || g.RequiresGrad) "nothing recorded at top level"
            Expect.isFalse (x.RequiresGrad || x.HasGrad) "the point is left untouched"
            // vjp of an elementwise function: cotangent * derivative.
            let cot = vec [ 1.0; 2.0; -1.0 ]
            let y, vj = vjp (fun x -> x * x) x cot
            Check.arraysClose "vjp value" 0.0 0.0 [| 0.25; 1.0; 4.0 |] (y.ToDoubleArray())
            Check.arraysClose "vjp" 0.0 0.0 [| 1.0; -4.0; -4.0 |] (vj.ToDoubleArray())
            // hvp of sum(x^3): 6 x v
            let v = vec [ 1.0; 1.0; 0.5 ]
            Check.arraysClose "hvp" 1e-15 0.0 [| 3.0; -6.0; 6.0 |] ((hvp (fun x -> T.Sum(x ** 3)) x v).ToDoubleArray())
            // several arguments
            let gs = gradN (fun xs -> T.Sum(xs.[0] * xs.[1])) [| x; cot |]
            Check.tensorClose "gradN first" 0.0 0.0 cot gs.[0]
            Check.tensorClose "gradN second" 0.0 0.0 x gs.[1]
            // An argument the function ignores gets zeros.
            let unused = gradN (fun xs -> T.Sum(xs.[0])) [| x; cot |]
            Check.arraysClose "unused argument" 0.0 0.0 [| 0.0; 0.0; 0.0 |] (unused.[1].ToDoubleArray())

        testCase "functional gradients through the C# API with F# lambdas" <| fun () ->
            let x = vec [ 0.5; -1.0; 2.0 ]
            let g = Autograd.Grad(Func<_, _>(fun (x: Tensor) -> T.Sum(x * x)), x)
            Check.arraysClose "Autograd.Grad" 0.0 0.0 [| 1.0; -2.0; 4.0 |] (g.ToDoubleArray())
            let value, gradient = Autograd.ValueAndGrad(Func<_, _>(fun (x: Tensor) -> T.Sum(x * x)), x)
            Expect.equal (float value) 5.25 "float value"
            Check.arraysClose "Autograd.ValueAndGrad" 0.0 0.0 [| 1.0; -2.0; 4.0 |] (gradient.ToDoubleArray())
            let _, pulledBack = Autograd.Vjp(Func<_, _>(fun (x: Tensor) -> T.Exp x), x, T.OnesLike x)
            Check.arraysClose "Autograd.Vjp" 1e-15 0.0 [| exp 0.5; exp -1.0; exp 2.0 |] (pulledBack.ToDoubleArray())
            let h = Autograd.Hvp(Func<_, _>(fun (x: Tensor) -> T.Sum(x * x * x)), x, T.OnesLike x)
            Check.arraysClose "Autograd.Hvp" 1e-15 0.0 [| 3.0; -6.0; 12.0 |] (h.ToDoubleArray())
            let many = Autograd.Grad(Func<Tensor[], Tensor>(fun xs -> T.Sum(xs.[0] / xs.[1])), x, T.OnesLike x * 2.0)
            Check.arraysClose "Autograd.Grad of two" 0.0 0.0 [| 0.5; 0.5; 0.5 |] (many.[0].ToDoubleArray())
            Check.arraysClose "Autograd.Grad of two, second" 1e-15 0.0 [| -0.125; 0.25; -0.5 |] (many.[1].ToDoubleArray())
            // Gradients of an already computed output with respect to chosen inputs.
            let a = x.Detach().RequiresGrad_()
            let b = (vec [ 1.0; 1.0; 1.0 ]).RequiresGrad_()
            let out = T.Sum(a * a * b)
            let gab = Autograd.Gradients(out, [| a; b |])
            Check.arraysClose "Gradients d/da" 0.0 0.0 [| 1.0; -2.0; 4.0 |] (gab.[0].ToDoubleArray())
            Check.arraysClose "Gradients d/db" 0.0 0.0 [| 0.25; 1.0; 4.0 |] (gab.[1].ToDoubleArray())
            Expect.isFalse (a.HasGrad || b.HasGrad) "Gradients leaves .Grad alone"
            let vjpAb = Autograd.Gradients(a * b, [| a |], vec [ 1.0; 0.0; 2.0 ])
            Check.arraysClose "Gradients with a cotangent" 0.0 0.0 [| 1.0; 0.0; 2.0 |] (vjpAb.[0].ToDoubleArray())

        testCase "backward errors are clear" <| fun () ->
            let x = (vec [ 1.0; 2.0 ]).RequiresGrad_()
            Check.throwsAutoKl [ "backward"; "[2]"; "cotangent" ] (fun () -> (x * 2.0).Backward()) |> ignore
            Check.throwsAutoKl [ "backward"; "[3]"; "[2]" ] (fun () -> (x * 2.0).Backward(vec [ 1.0; 1.0; 1.0 ])) |> ignore
            Check.throwsAutoKl [ "backward"; "does not require gradients" ] (fun () -> (vec [ 1.0 ] * 2.0).Sum().Backward()) |> ignore
            Check.throwsAutoKl [ "grad"; "[2]"; "one-element" ] (fun () -> grad (fun x -> x * 2.0) x) |> ignore
            Check.throwsAutoKl [ "grad"; "does not require gradients" ] (fun () -> Autograd.Gradients(T.Sum(x), [| vec [ 1.0 ] |])) |> ignore
            Check.throwsAutoKl [ "hvp"; "[3]"; "[2]" ] (fun () -> hvp T.Sum x (vec [ 1.0; 2.0; 3.0 ])) |> ignore
            // With a cotangent, a non-scalar backward works.
            (x * 2.0).Backward(vec [ 1.0; -1.0 ])
            Check.arraysClose "backward with a cotangent" 0.0 0.0 [| 2.0; -2.0 |] (x.Grad.ToDoubleArray())

        testCase "gradients keep the dtype of their tensor, float32 through a float64 computation" <| fun () ->
            let x = T.FromArray([| 1.0f; 2.0f |]).RequiresGrad_()
            let y = T.ToType(x, DType.Float64) * T.FromArray([| 0.5; 0.25 |])
            y.Sum().Backward()
            Expect.equal x.Grad.DType DType.Float32 "x.Grad.DType"
            Check.arraysClose "float32 gradient" 0.0 0.0 [| 0.5; 0.25 |] (x.Grad.ToDoubleArray())
            // Mixed-dtype arithmetic promotes, and the gradient goes back in each input's own dtype.
            let a = T.FromArray([| 1.0f; 2.0f |]).RequiresGrad_()
            let b = T.FromArray([| 3.0; 4.0 |]).RequiresGrad_()
            let p = a * b
            Expect.equal p.DType DType.Float64 "dtype of p"
            p.Sum().Backward()
            Expect.equal a.Grad.DType DType.Float32 "a.Grad.DType"
            Expect.equal b.Grad.DType DType.Float64 "b.Grad.DType"
            Check.arraysClose "a grad" 0.0 0.0 [| 3.0; 4.0 |] (a.Grad.ToDoubleArray())
            // A cotangent of another dtype (or int64) is converted to the output's dtype.
            let x32 = T.FromArray([| 1.0f; 2.0f |]).RequiresGrad_()
            for cotangent in [ Tensor.ofList [ 1.0; 2.0 ]; Tensor.ofInts [ 1; 2 ] ] do
                let g = Autograd.Gradients(x32 * 3.0, [| x32 |], cotangent).[0]
                Expect.equal g.DType DType.Float32 "Gradients with a float64 cotangent"
                Check.arraysClose "Gradients with a float64 cotangent" 0.0 0.0 [| 3.0; 6.0 |] (g.ToDoubleArray())
                let _, v = vjp (fun x -> x * 3.0) x32 cotangent
                Expect.equal v.DType DType.Float32 "vjp with a float64 cotangent"
                (x32 * 3.0).Backward(cotangent)
                Expect.equal x32.Grad.DType DType.Float32 "backward with a float64 cotangent"
                x32.ZeroGrad()

        testCase "long chains do not overflow the stack" <| fun () ->
            let x = (vec [ 1.0 ]).RequiresGrad_()
            let mutable y = x
            for _ in 1 .. 20000 do
                y <- y * 1.0 + 0.0
            y.Sum().Backward()
            Check.arraysClose "grad through 40000 ops" 0.0 0.0 [| 1.0 |] (x.Grad.ToDoubleArray())
    ]
