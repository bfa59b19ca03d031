/// Every pair of transforms nested both ways, on generated inputs, against finite differences in float64.
/// The inner transform (grad, jvp or vjp) differentiates a function that closes over the outer
/// variable x, at a fixed point y0 or at x itself; the outer transform (grad, jvp, vjp, hessian,
/// jacobian in each mode) differentiates the inner result in x, and is checked against central
/// differences of the inner result (a fourth-order stencil, so tolerances stay tight) and, for the
/// reverse-mode outers, against AutoKl.Testing's gradcheck as well. Then the classic
/// perturbation-confusion examples (Siskind and Pearlmutter, as DiffSharp's and ForwardDiff's
/// suites test them; written here afresh), higher derivatives built by stacking transforms,
/// derivatives through an unrolled inner optimisation and a Newton step, an inner function that
/// ignores its argument, an inner result that is never used, and a top-level transform that
/// records nothing (also when the function itself calls grad or vjp).
module AutoKl.Tests.Autograd.NestingPropertyTests

open System
open AutoKl
open AutoKl.Testing
open AutoKl.Tests.Support
open Expecto
open FsCheck
open FsCheck.FSharp

type T = AutoKl.Tensor

// ---- the transforms, through the C# API ----------------------------------------------------

let private grad1 (f: Tensor -> Tensor) (x: Tensor) = Autograd.Grad(Func<Tensor, Tensor>(f), x)
let private jvp1 (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor = Autograd.Jvp(Func<Tensor, Tensor>(f), x, v)
let private vjp1 (f: Tensor -> Tensor) (x: Tensor) (u: Tensor) : Tensor * Tensor = Autograd.Vjp(Func<Tensor, Tensor>(f), x, u)
let private tangent f x v = snd (jvp1 f x v)
let private cotangentOf f x u = snd (vjp1 f x u)
let private jacobian (mode: JacobianMode) (f: Tensor -> Tensor) (x: Tensor) = Autograd.Jacobian(Func<Tensor, Tensor>(f), x, mode)
let private hessian (f: Tensor -> Tensor) (x: Tensor) = Autograd.Hessian(Func<Tensor, Tensor>(f), x)
let private hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = Autograd.Hvp(Func<Tensor, Tensor>(f), x, v)

let private modes = [ JacobianMode.Forward; JacobianMode.Reverse; JacobianMode.Auto ]

let private scalar (v: float) = T.Scalar(v, DType.Float64)

// ---- finite differences ---------------------------------------------------------------------

/// Step of the stencil: the fourth-order central difference
/// (8 (g(x+h) - g(x-h)) - (g(x+2h) - g(x-2h))) / 12h has truncation error ~h^4 |g^(5)| / 30
/// and rounding error ~1e-16 |g| / h, both near 1e-12 here.
let private h = 1e-3

// Tolerances against the differences: |autodiff - fd| <= atol + rtol * |fd|.
let private rtol = 1e-7
let private atol = 1e-8

/// The directional derivative of g at x along v, by central differences (g's output flat).
let private fdAlong (g: Tensor -> Tensor) (x: Tensor) (v: Tensor) : float[] =
    let at (t: float) = (g (x + t * v)).ToDoubleArray()
    let p1, m1, p2, m2 = at h, at -h, at (2.0 * h), at (-2.0 * h)
    Array.init p1.Length (fun i -> (8.0 * (p1.[i] - m1.[i]) - (p2.[i] - m2.[i])) / (12.0 * h))

/// The unit tensor of x's shape with a 1 at flat index j.
let private unit (x: Tensor) (j: int) =
    let t = T.FromArray(Array.init x.Numel (fun i -> if i = j then 1.0 else 0.0), x.Shape)
    if x.Rank = 0 then t.Reshape([||]) else t

let private shaped (shape: int[]) (values: float[]) =
    let t = T.FromArray(values, shape)
    if shape.Length = 0 then t.Reshape([||]) else t

/// The Jacobian of g at x by differences, shaped output ++ input (AutoKl's Jacobian layout).
let private fdJacobian (g: Tensor -> Tensor) (x: Tensor) : Tensor =
    let outShape = (g x).Shape
    let columns = Array.init x.Numel (fun j -> fdAlong g x (unit x j))
    let rows = if columns.Length = 0 then 0 else columns.[0].Length
    shaped (Array.append outShape x.Shape) (Array.init (rows * x.Numel) (fun k -> columns.[k % x.Numel].[k / x.Numel]))

/// The gradient of a scalar g at x by differences.
let private fdGrad (g: Tensor -> Tensor) (x: Tensor) : Tensor =
    shaped x.Shape (Array.init x.Numel (fun j -> (fdAlong g x (unit x j)).[0]))

/// u^T J for the Jacobian of g at x, by differences.
let private fdVjp (g: Tensor -> Tensor) (x: Tensor) (u: Tensor) : Tensor =
    let uv = u.ToDoubleArray()
    shaped x.Shape (Array.init x.Numel (fun j -> Array.fold2 (fun acc a b -> acc + a * b) 0.0 uv (fdAlong g x (unit x j))))

let private near (what: string) (expected: Tensor) (actual: Tensor) = Check.tensorClose what rtol atol expected actual
let private nearArray (what: string) (shape: int[]) (expected: float[]) (actual: Tensor) =
    Check.shapeIs what shape actual
    Check.arraysClose what rtol atol expected (actual.ToDoubleArray())

/// AutoKl.Testing's gradcheck (through Support/GradCheck.fs, tolerances much tighter than
/// PyTorch's): proves the reverse-mode derivative of g, the inner transform included.
let private gradcheck (seed: int) (g: Tensor -> Tensor) (x: Tensor) = GradCheck.checkWith 1e-6 1e-7 3 seed (fun xs -> g xs.[0]) [| x |]

// ---- the functions differentiated ------------------------------------------------------------

/// A vector function of two same-shaped tensors, coupled across elements (tanh(y) * sum(x*y)), so
/// no Jacobian is diagonal: F(x, y) = sin(x*y) + x^2 exp(y/2) + tanh(y) sum(x*y).
let private F (x: Tensor) (y: Tensor) = T.Sin(x * y) + x * x * T.Exp(0.5 * y) + T.Tanh(y) * T.Sum(x * y)

/// A scalar function of two same-shaped tensors: sum(F(x, y)) + sum(x^2 y^3) / 3.
let private f (x: Tensor) (y: Tensor) = T.Sum(F x y) + T.Sum(x * x * y * y * y) / 3.0

// ---- generated inputs ------------------------------------------------------------------------

/// A point x, an inner evaluation point y0, a tangent v, a tangent w, a cotangent u, all of one
/// shape (rank 0..2, sizes 1..3); values bounded so nothing overflows and no kink is near.
type Sample =
    { X: TensorSample; Y: TensorSample; V: TensorSample; W: TensorSample; U: TensorSample; Seed: int }
    member s.Tensors = s.X.Tensor, s.Y.Tensor, s.V.Tensor, s.W.Tensor, s.U.Tensor

let private samples =
    gen {
        let! dims = Gens.shape 0 2 3
        let! x = Gens.valuesIn -1.5 1.5 dims
        let! y = Gens.valuesIn -1.5 1.5 dims
        let! v = Gens.valuesIn -1.0 1.0 dims
        let! w = Gens.valuesIn -1.0 1.0 dims
        let! u = Gens.valuesIn -1.0 1.0 dims
        let! seed = Gen.choose (0, 10000)
        return { X = x; Y = y; V = v; W = w; U = u; Seed = seed }
    }
    |> Arb.fromGen

/// A scalar in [lo, hi] on a grid of 1/1000.
let private scalars (lo: float) (hi: float) =
    Gen.choose (int (lo * 1000.0), int (hi * 1000.0)) |> Gen.map (fun i -> float i / 1000.0)

let private config = Properties.runs 20

let private property (name: string) (body: Sample -> unit) = testPropertyWithConfig config name (Prop.forAll samples body)

// ---- the inner transforms and the outer checks ----------------------------------------------

/// An inner transform, as a function of the outer variable x (its result has x's shape).
let private inner (kind: string) (w: Tensor) (u: Tensor) (at: Tensor -> Tensor) : Tensor -> Tensor =
    match kind with
    | "grad" -> fun x -> grad1 (fun y -> f x y) (at x)
    | "jvp" -> fun x -> tangent (fun y -> F x y) (at x) w
    | "vjp" -> fun x -> cotangentOf (fun y -> F x y) (at x) u
    | k -> failwithf "no inner transform %s" k

/// The outer transform applied to g at x, checked against differences of g; reverse-mode outers
/// are also gradchecked.
let private checkOuter (kind: string) (what: string) (s: Sample) (g: Tensor -> Tensor) =
    let x, _, v, w, u = s.Tensors
    let gx = g x
    match kind with
    | "grad" ->
        // grad needs a scalar: the inner result weighted by w.
        let scalarOf (x: Tensor) = T.Sum(w * g x)
        let value, gr = Autograd.ValueAndGrad(Func<Tensor, Tensor>(scalarOf), x)
        near (what + ": value") (T.Sum(w * gx)) value
        near (what + ": grad") (fdGrad scalarOf x) gr
        gradcheck s.Seed g x
    | "jvp" ->
        let value, t = jvp1 g x v
        near (what + ": value") gx value
        nearArray (what + ": tangent") gx.Shape (fdAlong g x v) t
    | "vjp" ->
        let value, c = vjp1 g x u
        near (what + ": value") gx value
        near (what + ": cotangent") (fdVjp g x u) c
        gradcheck s.Seed g x
    | k -> failwithf "no outer transform %s" k


let private pairTest (outerKind: string) (innerKind: string) (description: string) =
    let title = sprintf "%s∘%s (%s): the outer derivative of the inner %s matches differences" outerKind innerKind description innerKind
    let at (where: string) (point: Tensor -> Tensor -> Tensor) (s: Sample) =
        let _, y0, _, w, u = s.Tensors
        checkOuter outerKind (sprintf "%s of %s %s" outerKind innerKind where) s (inner innerKind w u (point y0))
    testList title [
        property "inner at a fixed point y0, closing over x" (at "at a fixed point y0" (fun y0 _ -> y0))
        if innerKind = "jvp" then
            testPropertyWithConfig config "inner at the outer variable x itself"
                (Prop.forAll samples (at "at the outer variable x itself" (fun _ x -> x)))
        else
            property "inner at the outer variable x itself" (at "at the outer variable x itself" (fun _ x -> x))
    ]

// ---- tanh's derivatives, for stacked transforms ---------------------------------------------

/// The n-th derivative of tanh as a polynomial in t = tanh(x): P0 = t, P(n+1) = (1 - t^2) P(n)'.
let private tanhDerivative (n: int) (x: float) =
    let step (p: float[]) =
        // p(t) = sum p_k t^k;  (1 - t^2) p'(t)
        let d = Array.init (max 1 (p.Length - 1)) (fun k -> if k + 1 < p.Length then float (k + 1) * p.[k + 1] else 0.0)
        Array.init (d.Length + 2) (fun k -> (if k < d.Length then d.[k] else 0.0) - (if k >= 2 && k - 2 < d.Length then d.[k - 2] else 0.0))
    let p = Seq.fold (fun p _ -> step p) [| 0.0; 1.0 |] (seq { 1 .. n })
    let t = Math.Tanh x
    Array.foldBack (fun c acc -> acc * t + c) p 0.0

/// A derivative operator on scalar functions: reverse (grad) or forward (jvp along 1).
let private derivative (forward: bool) (g: Tensor -> Tensor) : Tensor -> Tensor =
    if forward then fun x -> tangent g x (T.OnesLike x) else grad1 g

/// Every word over {grad, jvp} of length 1..5 applied to tanh at x0 (bit k set: the k-th
/// derivative from the inside is a jvp), against the closed form. `nestedJvp` picks the words with
/// a jvp below the outermost derivative, or those without.
let private tanhWords (nestedJvp: bool) (x0: float) =
    for order in 1 .. 5 do
        for bits in 0 .. (1 <<< order) - 1 do
            let inside = bits &&& ((1 <<< (order - 1)) - 1)
            if (inside <> 0) = nestedJvp then
                let d = Seq.fold (fun g k -> derivative ((bits >>> k) &&& 1 = 1) g) T.Tanh (seq { 0 .. order - 1 })
                let expected = tanhDerivative order x0
                let actual = (d (scalar x0)).ToScalar()
                let word = String.Join(" of ", [ for k in order - 1 .. -1 .. 0 -> if (bits >>> k) &&& 1 = 1 then "jvp" else "grad" ])
                Expect.isTrue (Check.closeTo 1e-12 1e-12 expected actual)
                    (sprintf "%s of tanh at %g: %.17g, expected %.17g" word x0 actual expected)

/// Hessian-vector products of phi(x) = f(x, y0) + sum(exp(0.3 x) * cumsum(x)) by the listed routes,
/// against differences of its gradient.
let private hvpRoutes (routes: (string * ((Tensor -> Tensor) -> Tensor -> Tensor -> Tensor)) list) (s: Sample) =
    let x, y0, v, _, _ = s.Tensors
    let phi (x: Tensor) = f x y0 + T.Sum(T.Exp(0.3 * x) * T.CumSum(x.Reshape([| -1 |]), 0).Reshape(x.Shape))
    let expected = fdAlong (grad1 phi) x v
    for name, route in routes do
        nearArray name x.Shape expected (route phi x v)

/// The derivative of a Newton step x - g'(x)/g''(x), the derivatives taken in the modes given
/// (a for g', b over c for g''), the step's derivative in each mode, against differences.
let private newtonModes (modes: (bool * bool * bool) list) (x0: float) =
    let g (x: Tensor) = T.Exp(x) + x * x + T.Sin(2.0 * x) / 8.0 // g'' = exp x + 2 - sin(2x)/2 > 0
    // the step written out in floats, differentiated by differences
    let step (x: float) = x - (exp x + 2.0 * x + cos (2.0 * x) / 4.0) / (exp x + 2.0 - sin (2.0 * x) / 2.0)
    let expected = (8.0 * (step (x0 + h) - step (x0 - h)) - (step (x0 + 2.0 * h) - step (x0 - 2.0 * h))) / (12.0 * h)
    let name b = if b then "jvp" else "grad"
    for a, b, c in modes do
        let newton (x: Tensor) = x - derivative a g x / derivative b (derivative c g) x
        for outer in [ false; true ] do
            let actual = (derivative outer newton (scalar x0)).ToScalar()
            Expect.isTrue (Check.closeTo rtol atol expected actual)
                (sprintf "%s of (x - %s g / %s of %s g) at %g: %.17g, expected %.17g" (name outer) (name a) (name b) (name c) x0 actual expected)

/// Gradient, Hessian and Hessian-vector products of each scalar function (made from x, y0, w, u)
/// against differences.
let private hessianOfNesting (phis: Tensor -> Tensor -> Tensor -> Tensor -> (string * (Tensor -> Tensor)) list) (s: Sample) =
    let x, y0, v, w, u = s.Tensors
    for name, phi in phis x y0 w u do
        let g = grad1 phi x
        near (name + ": grad") (fdGrad phi x) g
        let H = hessian phi x
        Check.shapeIs (name + ": hessian shape") (Array.append x.Shape x.Shape) H
        near (name + ": hessian") (fdJacobian (grad1 phi) x) H
        near (name + ": hvp") (T.Sum(H * v, [| for k in x.Rank .. 2 * x.Rank - 1 -> k |])) (hvp phi x v)
        nearArray (name + ": hvp against differences") x.Shape (fdAlong (grad1 phi) x v) (hvp phi x v)

/// The Jacobian of each function in every mode against differences.
let private jacobianOfNesting (fns: Tensor -> Tensor -> Tensor -> Tensor -> (string * (Tensor -> Tensor)) list) (s: Sample) =
    let x, y0, _, w, u = s.Tensors
    for name, g in fns x y0 w u do
        let expected = fdJacobian g x
        for mode in modes do
            near (sprintf "jacobian %A of %s" mode name) expected (jacobian mode g x)

[<Tests>]
let tests =
    testList "Autograd.Nesting" [
        // ---- every ordered pair of grad, jvp, vjp ----------------------------------------
        testList "pairs" [
            pairTest "grad" "grad" "reverse over reverse"
            pairTest "jvp" "grad" "forward over reverse"
            pairTest "vjp" "grad" "reverse over reverse, with a cotangent"
            pairTest "grad" "jvp" "reverse over forward"
            pairTest "jvp" "jvp" "forward over forward"
            pairTest "vjp" "jvp" "reverse over forward"
            pairTest "grad" "vjp" "reverse over reverse"
            pairTest "jvp" "vjp" "forward over reverse"
            pairTest "vjp" "vjp" "reverse over reverse"
        ]

        property "grad∘grad with a closed-over outer variable, as the kit's gradcheck of grad (fun y -> f x y) y0" <| fun s ->
            let x, y0, _, _, _ = s.Tensors
            gradcheck s.Seed (fun x -> grad1 (fun y -> f x y) y0) x
            // and the same inner gradient, differentiated in y0 (the inner point) instead
            gradcheck s.Seed (fun y0 -> grad1 (fun y -> f x y) y0) y0

        property "hessian of a function that itself calls grad, jvp or vjp on a closed-over variable" <|
            hessianOfNesting (fun x y0 w u ->
                [ "sum(x * grad_y f(x, y) at y0)", (fun (x: Tensor) -> T.Sum(x * grad1 (fun y -> f x y) y0))
                  "sum(x * grad_y f(x, y) at y = x)", (fun (x: Tensor) -> T.Sum(x * grad1 (fun y -> f x y) x))
                  "(jvp_y f(x, y) at y0 along w)^2", (fun (x: Tensor) -> T.Square(tangent (fun y -> f x y) y0 w))
                  "sum(sin(vjp_y F(x, y) at y0 with u))", (fun (x: Tensor) -> T.Sum(T.Sin(cotangentOf (fun y -> F x y) y0 u)))
                  "sum(sin(vjp_y F(x, y) at x with u))", (fun (x: Tensor) -> T.Sum(T.Sin(cotangentOf (fun y -> F x y) x u))) ])

        testPropertyWithConfig config "hessian of a function that calls jvp at the outer variable itself" <|
            Prop.forAll samples (hessianOfNesting (fun x _ w _ ->
                [ "(jvp_y f(x, y) at y = x along w)^2", (fun (x: Tensor) -> T.Square(tangent (fun y -> f x y) x w)) ]))

        property "jacobian in each mode of grad, of jvp and of vjp (closed-over and own variable)" <|
            jacobianOfNesting (fun x y0 w u ->
                [ "grad_y f(x, y) at y0", (fun (x: Tensor) -> grad1 (fun y -> f x y) y0)
                  "grad_y f(x, y) at y = x", (fun (x: Tensor) -> grad1 (fun y -> f x y) x)
                  "grad of f(., y0) (the Hessian)", grad1 (fun x -> f x y0)
                  "jvp_y F(x, y) at y0 along w", (fun (x: Tensor) -> tangent (fun y -> F x y) y0 w)
                  "vjp_y F(x, y) at y0 with u", (fun (x: Tensor) -> cotangentOf (fun y -> F x y) y0 u)
                  "vjp_y F(x, y) at x with u", (fun (x: Tensor) -> cotangentOf (fun y -> F x y) x u) ])

        testPropertyWithConfig config "jacobian in each mode of jvp at the outer variable itself" <|
            Prop.forAll samples (jacobianOfNesting (fun _ _ w _ ->
                [ "jvp_y F(x, y) at y = x along w", (fun (x: Tensor) -> tangent (fun y -> F x y) x w) ]))

        // ---- perturbation confusion --------------------------------------------------------
        testPropertyWithConfig config "Siskind-Pearlmutter: d/dx [x * d/dy (x + y)] = 1 exactly, for every pair of modes" <|
            Prop.forAll (Arb.fromGen (Gen.zip (scalars -3.0 3.0) (scalars -3.0 3.0))) (fun (x0, y0) ->
                for outer in [ false; true ] do
                    for inner in [ false; true ] do
                        let sp (x: Tensor) = x * derivative inner (fun y -> x + y) (scalar y0)
                        let d = derivative outer sp (scalar x0)
                        Expect.equal (d.ToScalar()) 1.0 (sprintf "outer %s, inner %s at x = %g" (if outer then "jvp" else "grad") (if inner then "jvp" else "grad") x0))

        testPropertyWithConfig config "perturbation confusion: d/dx [x * d/dy (x*y) at y0] = 2x, for every pair of modes" <|
            Prop.forAll (Arb.fromGen (Gen.zip (scalars -3.0 3.0) (scalars -3.0 3.0))) (fun (x0, y0) ->
                for outer in [ false; true ] do
                    for inner in [ false; true ] do
                        let pc (x: Tensor) = x * derivative inner (fun y -> x * y) (scalar y0)
                        Check.closeTo 0.0 1e-15 (2.0 * x0) ((derivative outer pc (scalar x0)).ToScalar())
                        |> fun ok -> Expect.isTrue ok (sprintf "outer %s, inner %s at x = %g" (if outer then "jvp" else "grad") (if inner then "jvp" else "grad") x0))

        testPropertyWithConfig config "the inner transform at the outer variable itself: d/dx [grad_y (x*y) at y = x] = 1, not 2" <|
            Prop.forAll (Arb.fromGen (scalars -3.0 3.0)) (fun x0 ->
                for outer in [ false; true ] do
                    for inner in [ false; true ] do
                        let g (x: Tensor) = derivative inner (fun y -> x * y) x
                        Expect.equal ((g (scalar x0)).ToScalar()) x0 "the inner derivative is x"
                        Expect.equal ((derivative outer g (scalar x0)).ToScalar()) 1.0
                            (sprintf "outer %s, inner %s at x = %g" (if outer then "jvp" else "grad") (if inner then "jvp" else "grad") x0))

        testPropertyWithConfig config "a vector inside a scalar derivative: grad_v [sum(v) * d/dy (y * ||v||)] = grad_v [sum(v) * ||v||]" <|
            Prop.forAll (Arb.fromGen (Gens.valuesIn 0.3 1.5 [| 3 |])) (fun sample ->
                let v = sample.Tensor
                let norm (v: Tensor) = T.Sqrt(T.Sum(v * v))
                let expected = grad1 (fun v -> T.Sum(v) * norm v) v
                near "plain" (fdGrad (fun v -> T.Sum(v) * norm v) v) expected
                for inner in [ false; true ] do
                    let nested (v: Tensor) = T.Sum(v) * derivative inner (fun y -> y * norm v) (scalar 1.0)
                    near (sprintf "inner %s, outer grad" (if inner then "jvp" else "grad")) expected (grad1 nested v)
                    for j in 0 .. 2 do
                        let e = unit v j
                        Check.closeTo rtol atol (T.Sum(expected * e).ToScalar()) ((tangent nested v e).ToScalar())
                        |> fun ok -> Expect.isTrue ok (sprintf "inner %s, outer jvp along e%d" (if inner then "jvp" else "grad") j))

        testPropertyWithConfig config "the Jacobian of grad_y <y, A x> is A, whatever y0, in every mode" <|
            Prop.forAll (Arb.fromGen (Gen.zip (Gens.valuesIn -2.0 2.0 [| 4; 3 |]) (Gens.valuesIn -2.0 2.0 [| 4 |]))) (fun (a, y) ->
                let A = a.Tensor
                let x = T.FromArray([| 0.3; -1.2; 0.7 |], [| 3 |])
                let g (x: Tensor) = grad1 (fun y -> T.Sum(y * T.MatMul(A, x))) y.Tensor
                for mode in modes do
                    Check.tensorClose (sprintf "jacobian %A" mode) 0.0 1e-15 A (jacobian mode g x))

        testPropertyWithConfig config "tanh's derivatives up to the fifth, by grads with a jvp or grad outermost, against the closed form" <|
            Prop.forAll (Arb.fromGen (scalars -2.0 2.0)) (tanhWords false)

        testPropertyWithConfig config "tanh's derivatives up to the fifth, by the sequences with a jvp inside another transform" <|
            Prop.forAll (Arb.fromGen (scalars -2.0 2.0)) (tanhWords true)

        property "Hessian-vector products agree: Hvp, forward over reverse, reverse over reverse, against differences of grad" <|
            hvpRoutes [ "Hvp", hvp
                        "jvp of grad", (fun phi x v -> tangent (grad1 phi) x v)
                        "vjp of grad", (fun phi x v -> cotangentOf (grad1 phi) x v)
                        "grad of <grad, v>", (fun phi x v -> grad1 (fun x -> T.Sum(grad1 phi x * v)) x)
                        "Hessian @ v", (fun phi x v -> T.Sum(hessian phi x * v, [| for k in x.Rank .. 2 * x.Rank - 1 -> k |])) ]

        testPropertyWithConfig config "Hessian-vector products by reverse over forward (grad of jvp)" <|
            Prop.forAll samples (hvpRoutes [ "grad of jvp", (fun phi x v -> grad1 (fun x -> tangent phi x v) x) ])

        testPropertyWithConfig config "a hypergradient through five unrolled gradient steps on a closed-over loss, by grad, jvp and differences" <|
            Prop.forAll (Arb.fromGen (Gen.zip (Gens.valuesIn -1.0 1.0 [| 3 |]) (Gens.valuesIn -1.0 1.0 [| 3 |]))) (fun (ws, ys) ->
                // inner: y <- y - 0.2 * grad_y L(w, y), L(w, y) = sum((y - w)^2 + 0.1 y^4 + w y^2 / 4);
                // outer: E(w) = sum(sin(y_5)) + sum(y_5 * w)
                let E (w: Tensor) =
                    let L (y: Tensor) = T.Sum(T.Square(y - w) + 0.1 * T.Pow(y, 4.0) + w * y * y / 4.0)
                    let mutable y = ys.Tensor
                    for _ in 1 .. 5 do
                        y <- y - 0.2 * grad1 L y
                    T.Sum(T.Sin y) + T.Sum(y * w)
                let w = ws.Tensor
                let expected = fdGrad E w
                near "grad (reverse over reverse)" expected (grad1 E w)
                for j in 0 .. 2 do
                    let e = unit w j
                    Expect.isTrue (Check.closeTo rtol atol (T.Sum(expected * e).ToScalar()) ((tangent E w e).ToScalar()))
                        (sprintf "jvp (forward over reverse) along e%d" j))

        testPropertyWithConfig config "the derivative of a Newton step x - g'(x)/g''(x) (three nested levels), inner derivatives by grad" <|
            Prop.forAll (Arb.fromGen (scalars -1.5 1.5)) (newtonModes [ false, false, false ])

        testPropertyWithConfig config "the derivative of a Newton step with a jvp among the inner derivatives" <|
            Prop.forAll (Arb.fromGen (scalars -1.5 1.5)) (newtonModes [ for a in [ false; true ] do
                                                                          for b in [ false; true ] do
                                                                              for c in [ false; true ] do
                                                                                  if a || b || c then yield a, b, c ])

        // ---- degenerate inner functions ----------------------------------------------------
        property "an inner function that ignores its argument: zero inner derivative, its value still differentiable" <| fun s ->
            let x, y0, v, w, _ = s.Tensors
            // The inner derivative is 0; its value sum(sin x) depends on x only through the closure.
            let viaGrad (x: Tensor) =
                let value, g = Autograd.ValueAndGrad(Func<Tensor, Tensor>(fun _ -> T.Sum(T.Sin x)), y0)
                value + T.Sum(g * x) + T.Sum(x * x)
            let viaJvp (x: Tensor) =
                let value, t = jvp1 (fun _ -> T.Sum(T.Sin x)) y0 w
                value + t * T.Sum(x) + T.Sum(x * x)
            let viaVjp (x: Tensor) =
                let value, c = vjp1 (fun _ -> T.Sin x) y0 w
                T.Sum(value) + T.Sum(c * x) + T.Sum(x * x)
            let expected = T.Cos(x) + 2.0 * x
            Check.tensorClose "the inner grad is zero" 0.0 0.0 (T.ZerosLike y0) (grad1 (fun _ -> T.Sum(T.Sin x)) y0)
            for name, phi in [ "grad", viaGrad; "jvp", viaJvp; "vjp", viaVjp ] do
                near (sprintf "grad over an inner %s" name) expected (grad1 phi x)
                near (sprintf "grad over an inner %s, by differences" name) (fdGrad phi x) (grad1 phi x)
                nearArray (sprintf "jvp over an inner %s" name) [||] [| T.Sum(expected * v).ToScalar() |] (tangent phi x v)

        property "an inner result that is never used leaves the outer derivative right" <| fun s ->
            let x, y0, v, w, u = s.Tensors
            let unused (kind: string) (x: Tensor) =
                match kind with
                | "grad" -> grad1 (fun y -> f x y) y0 |> ignore
                | "jvp" -> tangent (fun y -> F x y) y0 w |> ignore
                | _ -> cotangentOf (fun y -> F x y) x u |> ignore
                T.Sum(T.Pow(x, 3.0)) + T.Sum(T.Sin(x * y0))
            let expected = 3.0 * x * x + y0 * T.Cos(x * y0)
            for kind in [ "grad"; "jvp"; "vjp" ] do
                near (sprintf "grad, unused inner %s" kind) expected (grad1 (unused kind) x)
                nearArray (sprintf "jvp, unused inner %s" kind) [||] [| T.Sum(expected * v).ToScalar() |] (tangent (unused kind) x v)
                near (sprintf "hessian, unused inner %s" kind) (fdJacobian (fun x -> 3.0 * x * x + y0 * T.Cos(x * y0)) x) (hessian (unused kind) x)

        property "top-level transforms record nothing: their results do not require gradients" <| fun s ->
            let x, y0, v, _, u = s.Tensors
            let phi (x: Tensor) = f x y0
            let value, g = Autograd.ValueAndGrad(Func<Tensor, Tensor>(phi), x)
            let results =
                [ "grad", grad1 phi x
                  "valueAndGrad value", value
                  "valueAndGrad grad", g
                  "jvp value", fst (jvp1 phi x v)
                  "jvp tangent", tangent phi x v
                  "vjp value", fst (vjp1 (fun x -> F x y0) x u)
                  "vjp cotangent", cotangentOf (fun x -> F x y0) x u
                  "hvp", hvp phi x v
                  "hessian", hessian phi x
                  "jacobian forward", jacobian JacobianMode.Forward (fun x -> F x y0) x
                  "jacobian reverse", jacobian JacobianMode.Reverse (fun x -> F x y0) x
                  // forward-mode outers over a nesting function
                  "jvp of grad", tangent (fun x -> grad1 (fun y -> f x y) y0) x v
                  "jacobian forward of grad", jacobian JacobianMode.Forward (fun x -> grad1 (fun y -> f x y) y0) x
                  "grad of jvp", grad1 (fun x -> tangent (fun y -> f x y) y0 v) x ]
            for name, r in results do
                Expect.isFalse r.RequiresGrad (sprintf "%s requires gradients" name)
            Expect.isFalse x.RequiresGrad "the point was not marked"

        testPropertyWithConfig config "top-level reverse transforms over a function that calls grad or vjp record nothing" <|
            Prop.forAll samples (fun s ->
                let x, y0, v, _, u = s.Tensors
                let nesting (x: Tensor) = T.Sum(x * grad1 (fun y -> f x y) y0)
                let results =
                    [ "grad of grad", grad1 nesting x
                      "valueAndGrad value", fst (Autograd.ValueAndGrad(Func<Tensor, Tensor>(nesting), x))
                      "vjp of grad", cotangentOf (fun x -> grad1 (fun y -> f x y) y0) x u
                      "vjp of vjp", cotangentOf (fun x -> cotangentOf (fun y -> F x y) y0 u) x u
                      "hvp", hvp nesting x v
                      "hessian", hessian nesting x
                      "jacobian reverse of grad", jacobian JacobianMode.Reverse (fun x -> grad1 (fun y -> f x y) y0) x ]
                for name, r in results do
                    Expect.isFalse r.RequiresGrad (sprintf "%s requires gradients" name))
    ]
