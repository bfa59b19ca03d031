/// The functional transforms (grad, vjp, jvp, jacobian, hessian, hvp) nested with closed-over variables, and their errors.
module AutoKl.Tests.Autograd.TransformTests

open System
open Expecto
open AutoKl

let private vec (xs: float list) = Tensor.ofList xs
let private values (t: Tensor) = t.ToDoubleArray()

let private close (tol: float) (actual: Tensor) (expected: float[]) what =
    let a = values actual
    Expect.equal a.Length expected.Length (what + ": number of elements")
    for i in 0 .. a.Length - 1 do
        if not (abs (a.[i] - expected.[i]) <= tol * (1.0 + abs expected.[i])) then
            failtestf "%s: element %d is %.17g, expected %.17g" what i a.[i] expected.[i]

let private throwsAutoKl (parts: string list) (f: unit -> unit) =
    let e = Expect.throwsC f id
    match e with
    | :? AutoKlException as e ->
        for p in parts do
            Expect.stringContains e.Message p "the message names what is wrong"
    | e -> failtestf "expected an AutoKlException, got %s: %s" (e.GetType().Name) e.Message

let private jvp (f: Tensor -> Tensor) x v = Autograd.Jvp(Func<Tensor, Tensor>(f), x, v)

[<Tests>]
let tests =
    testList "Autograd.Transforms" [
        testCase "grad of a function whose inner grad closes over the outer variable (the issue's example)" <| fun () ->
            // d/dx sum(x * (d/dy sum(x * y))) = d/dx sum(x * x) = 2x
            let g = grad (fun x -> Tensor.sum (x * grad (fun y -> Tensor.sum (x * y)) (vec [ 5.0; 6.0 ]))) (vec [ 1.0; 2.0 ])
            close 0.0 g [| 2.0; 4.0 |] "2x"

        testCase "Siskind and Pearlmutter's perturbation confusion: d/dx (x * d/dy (x + y)) = 1, in every mode" <| fun () ->
            let one = Tensor.scalar 1.0
            let rr = grad (fun x -> x * grad (fun y -> Tensor.sum (x + y)) one) one
            close 0.0 rr [| 1.0 |] "reverse over reverse"
            let ff = jvp (fun x -> x * snd (jvp (fun y -> x + y) one one)) one one |> snd
            close 0.0 ff [| 1.0 |] "forward over forward"
            let fr = jvp (fun x -> x * grad (fun y -> Tensor.sum (x + y)) one) one one |> snd
            close 0.0 fr [| 1.0 |] "forward over reverse"
            let rf = grad (fun x -> Tensor.sum (x * snd (jvp (fun y -> x + y) one one))) one
            close 0.0 rf [| 1.0 |] "reverse over forward"

        testCase "an inner transform applied to the outer variable itself" <| fun () ->
            // d/dx [d/dy (x y^2)]_(y = x) = d/dx 2x^2 = 4x
            let x = Tensor.scalar 1.5
            let rr = grad (fun x -> grad (fun y -> Tensor.sum (x * y * y)) x) x
            close 1e-15 rr [| 6.0 |] "reverse over reverse"
            let ff = jvp (fun x -> snd (jvp (fun y -> x * y * y) x (Tensor.scalar 1.0))) x (Tensor.scalar 1.0) |> snd
            close 1e-15 ff [| 6.0 |] "forward over forward"

        testCase "three levels, each closing over the ones outside it" <| fun () ->
            // f(x) = x * d/dy [ x y^2 * d/dz (x y z^3) at z = c ] at y = b = x * d/dy [3 c^2 x^2 y^3] = 9 b^2 c^2 x^3
            let b, c = 0.7, 1.3
            let f (x: Tensor) =
                x * grad (fun y -> Tensor.sum (x * y * y * grad (fun z -> Tensor.sum (x * y * z ** 3.0)) (Tensor.scalar c))) (Tensor.scalar b)
            let x0 = 1.5
            close 1e-14 (grad f (Tensor.scalar x0)) [| 27.0 * b * b * c * c * x0 * x0 |] "df/dx"
            close 1e-14 (jvp f (Tensor.scalar x0) (Tensor.scalar 1.0) |> snd) [| 27.0 * b * b * c * c * x0 * x0 |] "forward"
            close 1e-14 (grad (fun x -> grad f x) (Tensor.scalar x0)) [| 54.0 * b * b * c * c * x0 |] "d2f/dx2"

        testCase "a plain grad records nothing, an inner grad over an outer variable stays connected" <| fun () ->
            let g = grad (fun x -> Tensor.sum (x * x)) (vec [ 1.0; 2.0 ])
            Expect.isFalse g.RequiresGrad "top-level gradient is a constant"
            let w = vec [ 3.0; 4.0 ] |> Tensor.requiresGrad
            let inner = grad (fun x -> Tensor.sum (w * x * x)) (vec [ 1.0; 2.0 ])
            Expect.isTrue inner.RequiresGrad "depends on w"
            (Tensor.sum inner).Backward()
            close 0.0 w.Grad [| 2.0; 4.0 |] "d/dw sum(2 w x) = 2x"

        testCase "an in-place change of a nested transform's point after recording is refused by backward" <| fun () ->
            let x = vec [ 1.0; 2.0 ] |> Tensor.requiresGrad
            // the inner graph saves only the point (an alias of x), never x itself
            let g = grad (fun y -> Tensor.sum (y * y)) x
            (use _ = Autograd.NoGrad()
             x.Sub_(vec [ 0.5; 0.5 ]) |> ignore)
            throwsAutoKl [ "in-place"; "version" ] (fun () -> (Tensor.sum g).Backward())

        testCase "an in-place change of a tensor carrying a tangent is refused, naming the op" <| fun () ->
            throwsAutoKl [ "sub_"; "tangent"; "[2]" ] (fun () ->
                jvp (fun x ->
                        let y = x * 2.0
                        (use _ = Autograd.NoGrad()
                         y.Sub_(vec [ 1.0; 1.0 ]) |> ignore)
                        y) (vec [ 1.0; 2.0 ]) (vec [ 1.0; 1.0 ]) |> ignore)

        testCase "jvp: value and tangent of elementwise, reductions, softmax and a fused loss" <| fun () ->
            let x = Tensor.ofList2D [ [ 0.1; 0.3; -0.2 ]; [ 1.0; -1.0; 0.5 ] ]
            let v = Tensor.ofList2D [ [ 1.0; 0.0; 2.0 ]; [ -1.0; 0.5; 0.0 ] ]
            let t = Tensor.ofList2D [ [ 0.2; 0.5; 0.3 ]; [ 0.0; 0.4; 0.6 ] ]
            let f (x: Tensor) = Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean) + Tensor.sum (sin x * exp x)
            let value, tangent = jvp f x v
            let reference = Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean) + Tensor.sum (sin x * exp x)
            close 1e-15 value (values reference) "value"
            // <grad f, v> from reverse mode
            let g = grad f x
            close 1e-14 tangent [| Array.map2 (*) (values g) (values v) |> Array.sum |] "tangent = <grad, v>"

        testCase "jvp records no tape for inputs that need no gradient" <| fun () ->
            let value, tangent = jvp (fun x -> exp x * x) (vec [ 1.0; 2.0 ]) (vec [ 1.0; 1.0 ])
            Expect.isFalse value.RequiresGrad "value"
            Expect.isFalse tangent.RequiresGrad "tangent"
            Expect.equal value.GradFnName "" "no node on the value"

        testCase "Jacobian in both modes has shape output ++ input and agrees with itself" <| fun () ->
            let x = Tensor.ofList2D [ [ 0.1; 0.3; -0.2 ]; [ 1.0; -1.0; 0.5 ] ]
            let f (x: Tensor) = Tensor.softmax 1 x * Tensor.sum x
            let jf = Autograd.Jacobian(Func<Tensor, Tensor>(f), x, JacobianMode.Forward)
            let jr = Autograd.Jacobian(Func<Tensor, Tensor>(f), x, JacobianMode.Reverse)
            let ja = Autograd.Jacobian(Func<Tensor, Tensor>(f), x)
            Expect.equal jf.Shape [| 2; 3; 2; 3 |] "forward shape"
            Expect.equal jr.Shape [| 2; 3; 2; 3 |] "reverse shape"
            close 1e-15 jf (values jr) "forward = reverse"
            close 0.0 ja (values jr) "auto (equal sizes: reverse)"

        testCase "Hessian (forward over reverse) equals reverse over reverse and the closed form" <| fun () ->
            // f = sum(x^3) + logsumexp(x): H = diag(6x) + diag(p) - p p^T
            let x = vec [ 1.0; 2.0; -0.5 ]
            let f (x: Tensor) = Tensor.sum (x ** 3.0) + Tensor.logsumexp x
            let h = Autograd.Hessian(Func<Tensor, Tensor>(f), x)
            let p = values (Tensor.softmax 0 x)
            let xs = values x
            let expected = [| for i in 0 .. 2 do for j in 0 .. 2 -> (if i = j then 6.0 * xs.[i] + p.[i] else 0.0) - p.[i] * p.[j] |]
            close 1e-14 h expected "closed form"
            let byReverse = Autograd.Jacobian(Func<Tensor, Tensor>(fun x -> grad f x), x, JacobianMode.Reverse)
            close 1e-14 h (values byReverse) "reverse over reverse"

        testCase "hvp (forward over reverse) through a fused loss and log_softmax's kept exps" <| fun () ->
            let x = Tensor.ofList2D [ [ 0.1; 0.3; -0.2; 2.0 ]; [ 1.0; -1.0; 0.5; 0.0 ] ]
            let t = Tensor.ofList2D [ [ 0.2; 0.5; 0.3; 0.0 ]; [ 0.1; 0.4; 0.4; 0.1 ] ]
            let v = Tensor.ofList2D [ [ 1.0; 0.0; 2.0; -1.0 ]; [ -1.0; 0.5; 0.0; 3.0 ] ]
            let f (x: Tensor) = Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean)
            let hv = hvp f x v
            // reverse over reverse, with fusion's composed backward under createGraph
            let rr = grad (fun x -> Tensor.sum (grad f x * v)) x
            close 1e-14 hv (values rr) "forward over reverse = reverse over reverse"

        testCase "reverse over forward: the gradient of a directional derivative" <| fun () ->
            let x = vec [ 0.5; -1.0; 2.0 ]
            let v = vec [ 1.0; 2.0; 0.5 ]
            let f (x: Tensor) = Tensor.sum (tanh x * x)
            let g = grad (fun x -> jvp f x v |> snd) x
            close 1e-14 g (values (hvp f x v)) "grad <grad f, v> = H v"

        testCase "a custom op with a differentiable vjp gets its forward rule by transposition; with its own jvp it uses that" <| fun () ->
            let cube = CustomFunction.Unary("cube", (fun x -> x * x * x), (fun x _ g -> 3.0 * x * x * g))
            let x = vec [ 1.0; -2.0 ]
            let _, t = jvp (fun x -> cube.Apply x) x (vec [ 1.0; 0.5 ])
            close 1e-15 t [| 3.0; 6.0 |] "3 x^2 v"
            let calls = ref 0
            let own =
                CustomFunction.Unary("cube_own", (fun x -> x * x * x), (fun x _ g -> 3.0 * x * x * g),
                                     jvp = Func<Tensor, Tensor, Tensor, Tensor>(fun x _ t -> calls.Value <- calls.Value + 1; 3.0 * x * x * t))
            let _, t2 = jvp (fun x -> own.Apply x) x (vec [ 1.0; 0.5 ])
            close 1e-15 t2 [| 3.0; 6.0 |] "own jvp"
            Expect.equal calls.Value 1 "the declared jvp ran"

        testCase "F#: Custom.unaryWithJvp and Custom.binaryWithJvp use their own forward rules; jvpN takes one tangent per input" <| fun () ->
            let calls = ref 0
            let cube =
                Custom.unaryWithJvp "cube_fs" (fun x -> x * x * x) (fun x _ g -> 3.0 * x * x * g) (fun x _ t ->
                    calls.Value <- calls.Value + 1
                    3.0 * x * x * t)
            let _, t = jvp cube (vec [ 1.0; -2.0 ]) (vec [ 1.0; 0.5 ])
            close 1e-15 t [| 3.0; 6.0 |] "3 x^2 t"
            Expect.equal calls.Value 1 "the declared forward rule ran"
            let product =
                Custom.binaryWithJvp "product_fs" (fun a b -> a * b) (fun a b _ g -> g * b, g * a) (fun a b _ ta tb ->
                    (match ta with Some ta -> ta * b | None -> Tensor.zerosLike a) + (match tb with Some tb -> a * tb | None -> Tensor.zerosLike b))
            let y, dy = jvpN (fun xs -> product xs.[0] xs.[1]) [| vec [ 1.0; 2.0 ]; vec [ 3.0; 4.0 ] |] [| vec [ 1.0; 0.0 ]; vec [ 0.0; 1.0 ] |]
            close 0.0 y [| 3.0; 8.0 |] "value"
            close 0.0 dy [| 3.0; 2.0 |] "ta b + a tb"
            let _, onlyA = jvp (fun a -> product a (vec [ 3.0; 4.0 ])) (vec [ 1.0; 2.0 ]) (vec [ 1.0; 1.0 ])
            close 0.0 onlyA [| 3.0; 4.0 |] "tb is None"
            throwsAutoKl [ "once_fs"; "differentiableVjp: false"; "Custom.unaryWithJvp" ] (fun () ->
                jvp (Custom.unaryOnce "once_fs" (fun x -> x * x) (fun x _ g -> 2.0 * x * g)) (vec [ 1.0 ]) (vec [ 1.0 ]) |> ignore)

        testCase "after Backward with createGraph each leaf's .Grad is its own tensor, still differentiable" <| fun () ->
            // issue 24, item 5: two leaves' .Grad were one tensor, or x.Grad the cotangent passed in
            let a = vec [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let b = vec [ 3.0; 4.0 ] |> Tensor.requiresGrad
            (a + b).Backward(vec [ 1.0; 1.0 ], createGraph = true)
            Expect.isFalse (obj.ReferenceEquals(a.Grad, b.Grad)) "two tensors"
            (use _ = Autograd.NoGrad()
             a.Grad.Sub_(vec [ 5.0; 5.0 ]) |> ignore)
            close 0.0 b.Grad [| 1.0; 1.0 |] "b's gradient untouched by a change of a's"
            let x = vec [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let c = vec [ 0.5; 0.25 ]
            (x * 1.0).Backward(c, createGraph = true)
            Expect.isFalse (obj.ReferenceEquals(x.Grad, c)) "not the cotangent itself"
            (use _ = Autograd.NoGrad()
             c.Sub_(vec [ 1.0; 1.0 ]) |> ignore)
            close 0.0 x.Grad [| 0.5; 0.25 |] "x's gradient untouched by a change of the cotangent"
            let w = vec [ 1.5; -0.5 ] |> Tensor.requiresGrad
            (Tensor.sum (w * w * w)).Backward(createGraph = true)
            let g = w.Grad
            Expect.isTrue g.RequiresGrad "the recorded gradient is differentiable"
            close 1e-15 (Autograd.Gradients(Tensor.sum g, [| w |]).[0]) [| 9.0; -3.0 |] "d/dw sum(3 w^2) = 6 w"

        testCase "tensors a custom vjp keeps are never recycled by the pool" <| fun () ->
            // issue 24, item 2: a vjp storing its incoming gradient found it overwritten by a later pass
            let kept = ResizeArray<Tensor>()
            let made = ResizeArray<Tensor>()
            let triple =
                Custom.unary "keeps_its_gradient" (fun x -> x * 3.0) (fun _ _ g ->
                    kept.Add g
                    let gx = g * 3.0
                    made.Add gx
                    gx)
            for pass in 1 .. 4 do
                let x = Tensor.ofArray (Array.init 64 float) |> Tensor.requiresGrad
                (Tensor.sum (triple x * float pass)).Backward()
            for pass in 1 .. 4 do
                Expect.isTrue (kept.[pass - 1].ToDoubleArray() |> Array.forall ((=) (float pass))) (sprintf "the gradient kept in pass %d still holds %d" pass pass)
                Expect.isTrue (made.[pass - 1].ToDoubleArray() |> Array.forall ((=) (3.0 * float pass))) (sprintf "the tensor made in pass %d still holds %d" pass (3 * pass))

        testCase "errors name the transform and the shapes" <| fun () ->
            let x = vec [ 1.0; 2.0 ]
            throwsAutoKl [ "jvp"; "[3]"; "[2]" ] (fun () -> jvp exp x (vec [ 1.0; 2.0; 3.0 ]) |> ignore)
            throwsAutoKl [ "jvp"; "float32"; "float64" ] (fun () -> jvp exp x (Tensor.ofList32 [ 1.0f; 2.0f ]) |> ignore)
            throwsAutoKl [ "hessian"; "[2]" ] (fun () -> Autograd.Hessian(Func<Tensor, Tensor>(exp), x) |> ignore)
            throwsAutoKl [ "hvp"; "[3]"; "[2]" ] (fun () -> hvp Tensor.sum x (vec [ 1.0; 2.0; 3.0 ]) |> ignore)
            throwsAutoKl [ "jacobian"; "int64" ] (fun () -> Autograd.Jacobian(Func<Tensor, Tensor>(id), Tensor.ofInts [ 1; 2 ]) |> ignore)
            throwsAutoKl [ "grad"; "[2]" ] (fun () -> grad exp x |> ignore)

        testCase "forward mode through trigamma (reverse-only on purpose) is an error naming it, never a zero" <| fun () ->
            // digamma's forward rule needs trigamma's, which is not implemented
            throwsAutoKl [ "trigamma"; "forward-mode rule" ] (fun () ->
                Autograd.Hessian(Func<Tensor, Tensor>(fun x -> Tensor.sum (Tensor.digamma x)), vec [ 1.5; 2.5 ]) |> ignore)

        testCase "float32 in, float32 out, in every transform" <| fun () ->
            let x = Tensor.ofList32 [ 0.5f; 1.5f ]
            let v = Tensor.ofList32 [ 1.0f; -1.0f ]
            let f (x: Tensor) = Tensor.sum (exp x * x)
            let value, tangent = jvp f x v
            Expect.equal value.DType DType.Float32 "jvp value"
            Expect.equal tangent.DType DType.Float32 "jvp tangent"
            Expect.equal (Autograd.Hessian(Func<Tensor, Tensor>(f), x)).DType DType.Float32 "hessian"
            Expect.equal (hvp f x v).DType DType.Float32 "hvp"
            Expect.equal (Autograd.Jacobian(Func<Tensor, Tensor>(exp), x, JacobianMode.Forward)).DType DType.Float32 "jacobian"
    ]
