/// DiffSharp's vocabulary from F#: diff, diff2, gradv, jacobian, jacobianv, jacobianTv, hessian, hessianv, laplacian, curl, divergence.
module AutoKl.Tests.Autograd.FSharpTransformTests

open System
open Expecto
open AutoKl
open AutoKl.Tests.Support

// ---- helpers ------------------------------------------------------------------------------

/// Shape exactly, values within 1e-12 (relative and absolute).
let private expectTensor (what: string) (shape: int[]) (expected: float[]) (actual: Tensor) =
    Check.shapeIs what shape actual
    Check.arraysClose what 1e-12 1e-12 expected (actual.ToDoubleArray())

/// Shape and values of two tensors agree within 1e-12.
let private expectSame (what: string) (expected: Tensor) (actual: Tensor) = Check.tensorClose what 1e-12 1e-12 expected actual

/// The action throws an AutoKlException reported under `op` whose message names every fragment.
let private throwsUnder (op: string) (fragments: string list) (action: unit -> 'a) =
    let ex = Expect.throwsC (fun () -> action () |> ignore) id
    match ex with
    | :? AutoKlException as e ->
        Expect.equal e.Operation op (sprintf "the error %A is reported under %s" e.Message op)
        for f in fragments do
            Expect.stringContains e.Message f (sprintf "the message %A names %A" e.Message f)
    | other -> failtestf "expected an AutoKlException from %s, got %s: %s" op (other.GetType().Name) other.Message

let private s (v: float) = Tensor.scalar v
let private at (i: int) (x: Tensor) = Tensor.select 0 i x
let private vec (values: float list) = Tensor.ofList values

/// A fixed non-symmetric matrix and a point, shared by several closed forms.
let private aRows = [ [ 1.0; 2.0; 0.0 ]; [ -1.0; 3.0; 4.0 ]; [ 0.5; 0.0; 2.0 ] ]
let private aMatrix () = Tensor.ofList2D aRows
let private aArray = aRows |> List.map List.toArray |> List.toArray
let private x0Values = [ 0.3; -0.7; 1.1 ]
let private x0 () = vec x0Values

/// A field with every Jacobian entry different: F(x, y, z) = (y z, x z^2, x^2 y).
let private field (p: Tensor) =
    let x, y, z = at 0 p, at 1 p, at 2 p
    Tensor.stack 0 [ y * z; x * z * z; x * x * y ]

/// Its curl, (x^2 - 2 x z, y - 2 x y, z^2 - z), by hand.
let private fieldCurl (x: float) (y: float) (z: float) = [| x * x - 2.0 * x * z; y - 2.0 * x * y; z * z - z |]

// ---- diff, diff2, diffn ----------------------------------------------------------------------

let private diffTests =
    testList "diff" [
        testCase "diff sin = cos, diff exp = exp, and diff pipes" <| fun () ->
            for v in [ -1.3; 0.0; 0.5; 2.0 ] do
                expectTensor (sprintf "diff sin at %g" v) [||] [| cos v |] (diff sin (s v))
                expectTensor (sprintf "diff exp at %g" v) [||] [| exp v |] (s v |> diff exp)
            let value, d = valueAndDiff (fun x -> x * x * x) (s 2.0)
            expectTensor "valueAndDiff value" [||] [| 8.0 |] value
            expectTensor "valueAndDiff derivative" [||] [| 12.0 |] d

        testCase "diff takes a one-element vector and returns the output's shape" <| fun () ->
            let d = diff (fun x -> x * x |> Tensor.sum) (vec [ 3.0 ])
            expectTensor "d/dx x^2 at 3, a [1] input and a rank-0 output" [||] [| 6.0 |] d
            let d1 = diff (fun x -> sin x) (Tensor.ofArrayShape [ 1; 1 ] [| 0.25 |])
            expectTensor "a [1, 1] input and output" [| 1; 1 |] [| cos 0.25 |] d1

        testCase "diff of a function that ignores its input is zero" <| fun () ->
            expectTensor "d/dx 5" [||] [| 0.0 |] (diff (fun _ -> s 5.0) (s 1.0))

        testCase "diff2 of x^3 = 6x, of sin = -sin; diffn of x^4 gives 4x^3, 12x^2, 24x, 24, 0" <| fun () ->
            for v in [ -2.0; 0.5; 1.5 ] do
                expectTensor (sprintf "diff2 x^3 at %g" v) [||] [| 6.0 * v |] (diff2 (fun x -> x * x * x) (s v))
                expectTensor (sprintf "diff2 sin at %g" v) [||] [| -(sin v) |] (diff2 sin (s v))
            let quartic (x: Tensor) = x * x * x * x
            let v = 1.5
            let expected = [ v ** 4.0; 4.0 * v ** 3.0; 12.0 * v * v; 24.0 * v; 24.0; 0.0 ]
            expected |> List.iteri (fun n e -> expectTensor (sprintf "diffn %d of x^4 at 1.5" n) [||] [| e |] (diffn n quartic (s v)))
            expectSame "diffn 2 = diff2" (diff2 quartic (s v)) (diffn 2 quartic (s v))
            expectSame "diff2 f = diff (diff f)" (diff (diff quartic) (s v)) (diff2 quartic (s v))

        testCase "diffn 3 of sin(2x) is -8 cos(2x), and diff2 of log, cosh, atan and erf are their closed forms" <| fun () ->
            expectTensor "third derivative" [||] [| -8.0 * cos 1.4 |] (diffn 3 (fun x -> sin (x * 2.0)) (s 0.7))
            expectTensor "diff2 log" [||] [| -1.0 / 0.49 |] (diff2 log (s 0.7))
            expectTensor "diff2 cosh" [||] [| cosh 0.7 |] (diff2 cosh (s 0.7))
            expectTensor "diff2 atan" [||] [| -2.0 * 0.7 / (1.49 * 1.49) |] (diff2 atan (s 0.7))
            expectTensor "diff2 erf" [||] [| -2.0 * 0.7 * 2.0 / sqrt Math.PI * exp -0.49 |] (diff2 Tensor.erf (s 0.7))
    ]

// ---- gradv, jacobianv, jacobianTv, jvp ---------------------------------------------------------

let private directionalTests =
    testList "directional" [
        testCase "gradv = grad . v, in one forward pass, for a vector and a matrix input" <| fun () ->
            let f (x: Tensor) = Tensor.sum (exp x * x)
            let x = x0 ()
            let v = vec [ 1.0; -2.0; 0.5 ]
            // d/dx (x e^x) = (1 + x) e^x
            let expected = List.zip x0Values [ 1.0; -2.0; 0.5 ] |> List.sumBy (fun (xi, vi) -> (1.0 + xi) * exp xi * vi)
            expectTensor "gradv" [||] [| expected |] (gradv f x v)
            expectTensor "gradv = sum (grad f x * v)" [||] [| expected |] (Tensor.sum (grad f x * v))
            let value, d = valueAndGradv f x v
            expectTensor "valueAndGradv value" [||] [| x0Values |> List.sumBy (fun xi -> exp xi * xi) |] value
            expectSame "valueAndGradv derivative" (gradv f x v) d
            let m = Tensor.ofList2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ]
            let dm = Tensor.ofList2D [ [ 0.5; 0.0 ]; [ -1.0; 2.0 ] ]
            expectTensor "gradv of sum m^2 on a matrix: 2 sum(m dm)" [||] [| 2.0 * (0.5 - 3.0 + 8.0) |] (dm |> gradv (fun t -> Tensor.sum (t * t)) m)

        testCase "jacobianv = A v + cos(x) v and jacobianTv = A^T u + cos(x) u for f x = A x + sin x" <| fun () ->
            let a = aMatrix ()
            let f (x: Tensor) = Tensor.matmul a x + sin x
            let x = x0 ()
            let v = vec [ 1.0; -2.0; 0.5 ]
            let u = vec [ 0.2; 1.0; -3.0 ]
            let vs, us, xs = [| 1.0; -2.0; 0.5 |], [| 0.2; 1.0; -3.0 |], List.toArray x0Values
            let jv = Array.init 3 (fun i -> (Array.init 3 (fun j -> aArray.[i].[j] * vs.[j]) |> Array.sum) + cos xs.[i] * vs.[i])
            let jtu = Array.init 3 (fun j -> (Array.init 3 (fun i -> aArray.[i].[j] * us.[i]) |> Array.sum) + cos xs.[j] * us.[j])
            expectTensor "jacobianv" [| 3 |] jv (jacobianv f x v)
            expectTensor "jacobianTv" [| 3 |] jtu (jacobianTv f x u)
            let fx = Array.init 3 (fun i -> (Array.init 3 (fun j -> aArray.[i].[j] * xs.[j]) |> Array.sum) + sin xs.[i])
            let value, jv2 = valueAndJacobianv f x v
            expectTensor "valueAndJacobianv value" [| 3 |] fx value
            expectTensor "valueAndJacobianv J v" [| 3 |] jv jv2
            let value', jtu2 = valueAndJacobianTv f x u
            expectTensor "valueAndJacobianTv value" [| 3 |] fx value'
            expectTensor "valueAndJacobianTv J^T u" [| 3 |] jtu jtu2
            let value'', tangent = jvp f x v
            expectTensor "jvp value" [| 3 |] fx value''
            expectTensor "jvp tangent" [| 3 |] jv tangent
            // J v and J^T u agree with the full Jacobian
            let j = jacobian f x
            expectSame "J v from the Jacobian" (Tensor.matmul j v) (jacobianv f x v)
            expectSame "J^T u from the Jacobian" (Tensor.matmul (Tensor.transpose j) u) (jacobianTv f x u)

        testCase "jacobianv and jacobianTv on a matrix function keep the output's and the input's shapes" <| fun () ->
            // f X = B X with B [4, 2] and X [2, 3]: J v = B v, J^T u = B^T u
            let b = Tensor.ofList2D [ [ 1.0; 0.0 ]; [ 2.0; -1.0 ]; [ 0.5; 3.0 ]; [ -2.0; 1.0 ] ]
            let x = Tensor.ofList2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]
            let v = Tensor.ofList2D [ [ 1.0; 0.0; -1.0 ]; [ 2.0; 1.0; 0.0 ] ]
            let u = Tensor.ofArrayShape [ 4; 3 ] [| 1.0 .. 12.0 |]
            let f (t: Tensor) = Tensor.matmul b t
            let jv = jacobianv f x v
            Check.shapeIs "J v" [| 4; 3 |] jv
            expectSame "J v = B v" (Tensor.matmul b v) jv
            let jtu = jacobianTv f x u
            Check.shapeIs "J^T u" [| 2; 3 |] jtu
            expectSame "J^T u = B^T u" (Tensor.matmul (Tensor.transpose b) u) jtu
    ]

// ---- jacobian ---------------------------------------------------------------------------------

let private jacobianTests =
    testList "jacobian" [
        testCase "the Jacobian of f X = B X has shape output ++ input and entries B[i, j] delta(k, l), in every mode" <| fun () ->
            let bValues = [| 1.0; 0.0; 2.0; -1.0; 0.5; 3.0; -2.0; 1.0 |]
            let b = Tensor.ofArrayShape [ 4; 2 ] bValues
            let x = Tensor.ofList2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]
            let f (t: Tensor) = Tensor.matmul b t
            let expected =
                [| for i in 0 .. 3 do
                     for k in 0 .. 2 do
                       for j in 0 .. 1 do
                         for l in 0 .. 2 do
                           yield (if k = l then bValues.[i * 2 + j] else 0.0) |]
            expectTensor "jacobian (auto)" [| 4; 3; 2; 3 |] expected (jacobian f x)
            expectTensor "jacobianFwd" [| 4; 3; 2; 3 |] expected (jacobianFwd f x)
            expectTensor "jacobianRev" [| 4; 3; 2; 3 |] expected (jacobianRev f x)

        testCase "a map to a larger output (auto picks forward mode) and to a scalar (the gradient with [] in front)" <| fun () ->
            // f x = (x^2) outer c: f[i, k] = x_i^2 c_k, so J[i, k, j] = 2 x_i c_k delta(i, j)
            let c = vec [ 1.0; -1.0; 2.0 ]
            let f (x: Tensor) = Tensor.unsqueeze 1 (x * x) * Tensor.unsqueeze 0 c
            let xs = [| 0.5; -2.0 |]
            let x = Tensor.ofArray xs
            let cs = [| 1.0; -1.0; 2.0 |]
            let expected = [| for i in 0 .. 1 do for k in 0 .. 2 do for j in 0 .. 1 do yield (if i = j then 2.0 * xs.[i] * cs.[k] else 0.0) |]
            for name, jac in [ "auto", jacobian; "forward", jacobianFwd; "reverse", jacobianRev ] do
                expectTensor (name + ": [2] -> [2, 3]") [| 2; 3; 2 |] expected (jac f x)
            let g (x: Tensor) = Tensor.sum (x * x * x)
            expectTensor "jacobian of a scalar function is its gradient" [| 2 |] [| 0.75; 12.0 |] (jacobian g x)
    ]

// ---- hessian, hessianv, laplacian --------------------------------------------------------------

/// x^T A x, whose Hessian is A + A^T everywhere.
let private quadratic (a: Tensor) (x: Tensor) = Tensor.sum (x * Tensor.matmul a x)

let private aPlusAt = Array.init 9 (fun k -> let i, j = k / 3, k % 3 in aArray.[i].[j] + aArray.[j].[i])

let private secondOrderTests =
    testList "second order" [
        testCase "the Hessian of x^T A x is A + A^T" <| fun () ->
            let a = aMatrix ()
            expectTensor "hessian" [| 3; 3 |] aPlusAt (hessian (quadratic a) (x0 ()))
            expectTensor "at another point too" [| 3; 3 |] aPlusAt (vec [ 5.0; 0.0; -2.0 ] |> hessian (quadratic a))

        testCase "the Hessian of sum X^3 on a [2, 2] matrix has shape [2, 2, 2, 2] and entries 6 X[i, j] on the diagonal" <| fun () ->
            let xs = [| 1.0; -2.0; 0.5; 3.0 |]
            let x = Tensor.ofArrayShape [ 2; 2 ] xs
            let expected = [| for p in 0 .. 3 do for q in 0 .. 3 do yield (if p = q then 6.0 * xs.[p] else 0.0) |]
            expectTensor "hessian" [| 2; 2; 2; 2 |] expected (hessian (fun t -> Tensor.sum (t * t * t)) x)

        testCase "hessianv = (A + A^T) v, and its value comes with valueAndHessianv" <| fun () ->
            let a = aMatrix ()
            let v = vec [ 1.0; -2.0; 0.5 ]
            let vs = [| 1.0; -2.0; 0.5 |]
            let expected = Array.init 3 (fun i -> Array.init 3 (fun j -> aPlusAt.[i * 3 + j] * vs.[j]) |> Array.sum)
            expectTensor "hessianv" [| 3 |] expected (hessianv (quadratic a) (x0 ()) v)
            expectSame "hessianv = hvp" (hvp (quadratic a) (x0 ()) v) (hessianv (quadratic a) (x0 ()) v)
            let xs = List.toArray x0Values
            let value, hv = valueAndHessianv (quadratic a) (x0 ()) v
            let xax = Array.init 3 (fun i -> Array.init 3 (fun j -> xs.[i] * aArray.[i].[j] * xs.[j]) |> Array.sum) |> Array.sum
            expectTensor "valueAndHessianv value" [||] [| xax |] value
            expectTensor "valueAndHessianv H v" [| 3 |] expected hv
            let value3, hv3 = valueAndHessianv (fun t -> Tensor.sum (t * t * t)) (x0 ()) v
            expectTensor "value of sum x^3" [||] [| xs |> Array.sumBy (fun t -> t ** 3.0) |] value3
            expectTensor "H v of sum x^3 = 6 x v" [| 3 |] (Array.map2 (fun t d -> 6.0 * t * d) xs vs) hv3

        testCase "laplacian of sum x^2 is 2n for vectors and matrices; of sum x^3, 6 sum x; cross terms do not count" <| fun () ->
            let sq (t: Tensor) = Tensor.sum (t * t)
            for n in [ 1; 3; 5 ] do
                expectTensor (sprintf "laplacian sum x^2, n = %d" n) [||] [| 2.0 * float n |] (laplacian sq (Tensor.ofArray (Array.init n (fun i -> float i - 1.5))))
            expectTensor "laplacian sum x^2 on a [2, 3] matrix" [||] [| 12.0 |] (laplacian sq (Tensor.ofArrayShape [ 2; 3 ] [| 1.0 .. 6.0 |]))
            expectTensor "laplacian sum x^3" [||] [| 6.0 * List.sum x0Values |] (laplacian (fun t -> Tensor.sum (t * t * t)) (x0 ()))
            // f = x0 x1 x2 + x0^2 x1: the only unmixed second derivative is d2f/dx0^2 = 2 x1
            let mixed (t: Tensor) = at 0 t * at 1 t * at 2 t + at 0 t * at 0 t * at 1 t
            expectTensor "laplacian with cross terms" [||] [| 2.0 * -0.7 |] (laplacian mixed (x0 ()))
            expectTensor "laplacian of x^T A x = trace(A + A^T)" [||] [| 2.0 * (1.0 + 3.0 + 2.0) |] (laplacian (quadratic (aMatrix ())) (x0 ()))

        testCase "forward over reverse and reverse over reverse agree with the closed form" <| fun () ->
            // f x = logsumexp(A x) + sum(x tanh x): H = A^T (diag p - p p^T) A + diag(2 sech^2 x (1 - x tanh x)), p = softmax(A x)
            let a = aMatrix ()
            let f (x: Tensor) = Tensor.logsumexp (Tensor.matmul a x) + Tensor.sum (x * tanh x)
            let xs = List.toArray x0Values
            let z = Array.init 3 (fun i -> Array.init 3 (fun j -> aArray.[i].[j] * xs.[j]) |> Array.sum)
            let zmax = Array.max z
            let e = z |> Array.map (fun zi -> exp (zi - zmax))
            let p = e |> Array.map (fun ei -> ei / Array.sum e)
            let w = Array.init 3 (fun i -> Array.init 3 (fun k -> (if i = k then p.[i] else 0.0) - p.[i] * p.[k]))
            let sech2 t = 1.0 / (cosh t * cosh t)
            let h =
                Array.init 9 (fun idx ->
                    let j, l = idx / 3, idx % 3
                    let lse = seq { for i in 0 .. 2 do for k in 0 .. 2 do yield aArray.[i].[j] * w.[i].[k] * aArray.[k].[l] } |> Seq.sum
                    lse + (if j = l then 2.0 * sech2 xs.[j] * (1.0 - xs.[j] * tanh xs.[j]) else 0.0))
            let x = x0 ()
            let close what (t: Tensor) =
                Check.shapeIs what [| 3; 3 |] t
                Check.arraysClose what 1e-10 1e-12 h (t.ToDoubleArray())
            close "hessian (forward over reverse)" (hessian f x)
            close "jacobianRev (grad f) (reverse over reverse)" (jacobianRev (grad f) x)
            close "jacobianFwd (grad f) (forward over reverse)" (jacobianFwd (grad f) x)
            let v = vec [ 0.3; 1.0; -2.0 ]
            let hv = Array.init 3 (fun i -> Array.init 3 (fun j -> h.[i * 3 + j] * [| 0.3; 1.0; -2.0 |].[j]) |> Array.sum)
            let closeV what (t: Tensor) =
                Check.shapeIs what [| 3 |] t
                Check.arraysClose what 1e-10 1e-12 hv (t.ToDoubleArray())
            closeV "hessianv (forward over reverse)" (hessianv f x v)
            closeV "jacobianv (grad f) (forward over reverse)" (jacobianv (grad f) x v)
            closeV "jacobianTv (grad f) (reverse over reverse)" (jacobianTv (grad f) x v)
            closeV "gradv of each component of grad (forward over reverse, a row at a time)" (Tensor.stack 0 [ for i in 0 .. 2 -> gradv (fun t -> at i (grad f t)) x v ])
    ]

// ---- nested forward mode through ops whose forward rule reads their output --------------------

/// Ops whose forward rule reads the op's own output y (exp: t * y; expm1, sqrt, tan, tanh, sigmoid,
/// pow, div, softmax, log_softmax): forward over forward needs the outer levels' tangents on y
/// before the inner level's rule runs, and reverse over forward needs y on the tape before it.
let private nestedForwardTests =
    testList "nested forward mode through ops whose rule reads their output" [
        testCase "diffn 3 of exp(2x) is 8 exp(2x); diff2 of exp, sqrt, tanh, sigmoid and 1/x" <| fun () ->
            expectTensor "third derivative" [||] [| 8.0 * exp 1.4 |] (diffn 3 (fun x -> exp (x * 2.0)) (s 0.7))
            expectTensor "diff2 exp" [||] [| exp 0.7 |] (diff2 exp (s 0.7))
            expectTensor "diff2 sqrt" [||] [| -0.25 * 0.7 ** -1.5 |] (diff2 sqrt (s 0.7))
            expectTensor "diff2 tanh" [||] [| -2.0 * tanh 0.7 / (cosh 0.7 * cosh 0.7) |] (diff2 tanh (s 0.7))
            let sg = 1.0 / (1.0 + exp -0.7)
            expectTensor "diff2 sigmoid" [||] [| sg * (1.0 - sg) * (1.0 - 2.0 * sg) |] (diff2 Tensor.sigmoid (s 0.7))
            expectTensor "diff2 1/x" [||] [| 2.0 / (0.7 ** 3.0) |] (diff2 (fun x -> 1.0 / x) (s 0.7))

        testCase "forward over forward Hessians of exp, x tanh x and softmax agree with forward over reverse" <| fun () ->
            let x = x0 ()
            let a = aMatrix ()
            for name, f in [ "sum exp", (fun (t: Tensor) -> Tensor.sum (exp t))
                             "sum x tanh x", (fun t -> Tensor.sum (t * tanh t))
                             "softmax(x) . x", (fun t -> Tensor.sum (Tensor.softmax 0 t * t))
                             "logsumexp(A x) + sum x tanh x", (fun t -> Tensor.logsumexp (Tensor.matmul a t) + Tensor.sum (t * tanh t)) ] do
                Check.tensorClose name 1e-10 1e-12 (hessian f x) (jacobianFwd (jacobianFwd f) x)

        testCase "reverse over forward through exp, tanh, sqrt and 1/x: grad of diff, grad of jvp, jacobianRev of jacobianFwd" <| fun () ->
            let v = 0.7
            let d2tanh = -2.0 * tanh v / (cosh v * cosh v)
            expectTensor "grad (diff exp)" [||] [| exp v |] (grad (diff exp) (s v))
            expectTensor "grad (diff tanh)" [||] [| d2tanh |] (grad (diff tanh) (s v))
            expectTensor "grad (diff sqrt)" [||] [| -0.25 * v ** -1.5 |] (grad (diff sqrt) (s v))
            expectTensor "grad (diff 1/x)" [||] [| 2.0 / v ** 3.0 |] (grad (diff (fun x -> 1.0 / x)) (s v))
            expectTensor "grad of the jvp tangent of tanh" [||] [| d2tanh |] (grad (fun x -> snd (jvp tanh x (s 1.0))) (s v))
            let x = x0 ()
            let f (t: Tensor) = Tensor.logsumexp (Tensor.matmul (aMatrix ()) t) + Tensor.sum (t * tanh t)
            Check.tensorClose "jacobianRev (jacobianFwd f) = hessian f" 1e-10 1e-12 (hessian f x) (jacobianRev (jacobianFwd f) x)
            Check.tensorClose "grad of gradv = hessianv" 1e-10 1e-12 (hessianv f x (vec [ 0.3; 1.0; -2.0 ])) (grad (fun t -> gradv f t (vec [ 0.3; 1.0; -2.0 ])) x)

        testCase "diff over hessian, hessianv and laplacian of sum exp(a x), through the closed-over a" <| fun () ->
            // each sums to a^2 sum exp(a x); d/da = 2 a sum exp(a x) + a^2 sum x exp(a x)
            let a0 = 0.7
            let expected = 2.0 * a0 * (x0Values |> List.sumBy (fun v -> exp (a0 * v))) + a0 * a0 * (x0Values |> List.sumBy (fun v -> v * exp (a0 * v)))
            let f (a: Tensor) (t: Tensor) = Tensor.sum (exp (a * t))
            let x = x0 ()
            expectTensor "grad over hessian (reverse outside: right today)" [||] [| expected |] (grad (fun a -> hessian (f a) x |> Tensor.sum) (s a0))
            expectTensor "diff over hessian" [||] [| expected |] (diff (fun a -> hessian (f a) x |> Tensor.sum) (s a0))
            expectTensor "diff over hessianv" [||] [| expected |] (diff (fun a -> hessianv (f a) x (Tensor.onesLike x) |> Tensor.sum) (s a0))
            expectTensor "diff over laplacian" [||] [| expected |] (diff (fun a -> laplacian (f a) x) (s a0))
    ]

// ---- curl, divergence --------------------------------------------------------------------------

let private vectorCalculusTests =
    testList "vector calculus" [
        testCase "the curl of (-y, x, 0) is (0, 0, 2) everywhere" <| fun () ->
            let rotation (p: Tensor) = Tensor.stack 0 [ Tensor.neg (at 1 p); at 0 p; at 0 p * 0.0 ]
            for point in [ [ 0.0; 0.0; 0.0 ]; [ 1.0; -2.0; 3.0 ] ] do
                expectTensor (sprintf "curl at %A" point) [| 3 |] [| 0.0; 0.0; 2.0 |] (curl rotation (vec point))

        testCase "the curl of (y z, x z^2, x^2 y) is (x^2 - 2 x z, y - 2 x y, z^2 - z)" <| fun () ->
            expectTensor "curl at (1, 2, 3)" [| 3 |] (fieldCurl 1.0 2.0 3.0) (curl field (vec [ 1.0; 2.0; 3.0 ]))
            expectTensor "curl at x0" [| 3 |] (fieldCurl 0.3 -0.7 1.1) (x0 () |> curl field)

        testCase "the curl of a gradient field is zero, and so is the divergence of a curl" <| fun () ->
            let phi (p: Tensor) = at 0 p * at 1 p * at 2 p + sin (at 0 p) * exp (at 2 p)
            let c = curl (grad phi) (x0 ())
            Check.shapeIs "curl (grad phi)" [| 3 |] c
            Check.arraysClose "curl (grad phi)" 0.0 1e-12 [| 0.0; 0.0; 0.0 |] (c.ToDoubleArray())
            let d = divergence (curl field) (x0 ())
            Check.shapeIs "divergence (curl F)" [||] d
            Check.arraysClose "divergence (curl F)" 0.0 1e-12 [| 0.0 |] (d.ToDoubleArray())

        testCase "divergence of (x y, y z, z x) is x + y + z; of x |x|^2 it is (n + 2) |x|^2 in R^3 and R^2" <| fun () ->
            let cyclic (p: Tensor) = Tensor.stack 0 [ at 0 p * at 1 p; at 1 p * at 2 p; at 2 p * at 0 p ]
            expectTensor "divergence (xy, yz, zx)" [||] [| List.sum x0Values |] (divergence cyclic (x0 ()))
            let radial (p: Tensor) = p * Tensor.sum (p * p)
            expectTensor "divergence x |x|^2 in R^3" [||] [| 5.0 * 14.0 |] (divergence radial (vec [ 1.0; 2.0; 3.0 ]))
            expectTensor "divergence x |x|^2 in R^2" [||] [| 4.0 * 5.0 |] (divergence radial (vec [ 1.0; -2.0 ]))
            expectTensor "divergence of F = x is n" [||] [| 3.0 |] (divergence id (x0 ()))
            expectTensor "divergence of the rotation field is 0" [||] [| 0.0 |] (divergence (fun p -> Tensor.stack 0 [ Tensor.neg (at 1 p); at 0 p; at 2 p * 0.0 ]) (x0 ()))
    ]

// ---- nesting -----------------------------------------------------------------------------------

let private nestingTests =
    testList "nesting" [
        testCase "diff (fun x -> x * diff (fun y -> x * y) 2) 3 = 2x = 6" <| fun () ->
            let r = diff (fun x -> x * diff (fun y -> x * y) (s 2.0)) (s 3.0)
            expectTensor "nested diff closing over x" [||] [| 6.0 |] r

        testCase "no perturbation confusion: d/dx (x * d/dy (x + y) at 1) at 1 = 1, not 2 (Siskind and Pearlmutter)" <| fun () ->
            expectTensor "diff" [||] [| 1.0 |] (diff (fun x -> x * diff (fun y -> x + y) (s 1.0)) (s 1.0))
            // the same with the inner derivative in reverse mode and the outer in forward mode, and vice versa
            expectTensor "diff over grad" [||] [| 1.0 |] (diff (fun x -> x * grad (fun y -> x + y) (s 1.0)) (s 1.0))
            expectTensor "grad over diff" [||] [| 1.0 |] (grad (fun x -> x * diff (fun y -> x + y) (s 1.0)) (s 1.0))

        testCase "diff2 through a closed-over variable: d2/dx2 (x * d/dy (x y^2) at 3) = d2/dx2 6 x^2 = 12" <| fun () ->
            expectTensor "diff2" [||] [| 12.0 |] (diff2 (fun x -> x * diff (fun y -> x * y * y) (s 3.0)) (s 0.4))

        testCase "grad of a diff, and diff of a grad, through a closed-over parameter" <| fun () ->
            // d/da [d/dx a x^2 at 3] = d/da 6a = 6
            expectTensor "grad over diff" [||] [| 6.0 |] (grad (fun a -> diff (fun x -> a * x * x) (s 3.0)) (s 0.7))
            // d/da sum(grad_x (a sum x^3)) = d/da 3a sum x^2 = 3 sum x^2
            let xs = x0 ()
            let expected = 3.0 * (x0Values |> List.sumBy (fun v -> v * v))
            expectTensor "diff over grad" [||] [| expected |] (diff (fun a -> grad (fun x -> a * Tensor.sum (x * x * x)) xs |> Tensor.sum) (s 0.7))
            // reverse over forward with no closure: d/dx of d/dx sin = -sin; grad of gradv = H v
            expectTensor "grad (diff sin)" [||] [| -(sin 0.7) |] (grad (diff sin) (s 0.7))
            let v = vec [ 1.0; -2.0; 0.5 ]
            expectTensor "grad of gradv (sum x^3) = 6 x v" [| 3 |] (List.map2 (fun t d -> 6.0 * t * d) x0Values [ 1.0; -2.0; 0.5 ] |> List.toArray) (grad (fun t -> gradv (fun q -> Tensor.sum (q * q * q)) t v) xs)

        testCase "hessian, laplacian, curl and divergence stay connected to a closed-over parameter" <| fun () ->
            let xs = x0 ()
            let sumX = List.sum x0Values
            // hessian of a^2 sum x^3 = a^2 diag(6x); summed: 6 a^2 sum x; d/da = 12 a sum x
            expectTensor "grad over hessian" [||] [| 12.0 * 0.7 * sumX |] (grad (fun a -> hessian (fun x -> a * a * Tensor.sum (x * x * x)) xs |> Tensor.sum) (s 0.7))
            expectTensor "diff over hessian" [||] [| 12.0 * 0.7 * sumX |] (diff (fun a -> hessian (fun x -> a * a * Tensor.sum (x * x * x)) xs |> Tensor.sum) (s 0.7))
            // laplacian of a sum x^3 = 6 a sum x; d/da = 6 sum x
            expectTensor "grad over laplacian" [||] [| 6.0 * sumX |] (grad (fun a -> laplacian (fun x -> a * Tensor.sum (x * x * x)) xs) (s 0.7))
            expectTensor "diff over laplacian" [||] [| 6.0 * sumX |] (diff (fun a -> laplacian (fun x -> a * Tensor.sum (x * x * x)) xs) (s 0.7))
            // curl (s F) = s curl F, so d/ds of its last component is (curl F)_z
            let cz = (fieldCurl 0.3 -0.7 1.1).[2]
            expectTensor "diff over curl" [||] [| cz |] (diff (fun k -> curl (fun p -> k * field p) xs |> at 2) (s 2.0))
            expectTensor "grad over curl" [||] [| cz |] (grad (fun k -> curl (fun p -> k * field p) xs |> at 2) (s 2.0))
            // divergence (k^2 x |x|^2) = 5 k^2 |x|^2 in R^3; d/dk = 10 k |x|^2
            let r2 = x0Values |> List.sumBy (fun v -> v * v)
            expectTensor "grad over divergence" [||] [| 10.0 * 2.0 * r2 |] (grad (fun k -> divergence (fun p -> k * k * p * Tensor.sum (p * p)) xs) (s 2.0))
            expectTensor "diff over divergence" [||] [| 10.0 * 2.0 * r2 |] (diff (fun k -> divergence (fun p -> k * k * p * Tensor.sum (p * p)) xs) (s 2.0))

        testCase "grad, hvp and vjp inside jvp" <| fun () ->
            let x = x0 ()
            let xs = List.toArray x0Values
            let v = vec [ 1.0; -2.0; 0.5 ]
            let vs = [| 1.0; -2.0; 0.5 |]
            let w = vec [ 0.5; 0.25; -1.0 ]
            let ws = [| 0.5; 0.25; -1.0 |]
            let cube (t: Tensor) = Tensor.sum (t * t * t)
            // jvp of grad (3 x^2) along v: 6 x v
            let value, tangent = jvp (grad cube) x v
            expectTensor "jvp (grad f): value" [| 3 |] (xs |> Array.map (fun t -> 3.0 * t * t)) value
            expectTensor "jvp (grad f): tangent" [| 3 |] (Array.map2 (fun t d -> 6.0 * t * d) xs vs) tangent
            // jvp of hvp (sum x^4; 12 x^2 w) along v: 24 x w v
            let quartic (t: Tensor) = Tensor.sum (t * t * t * t)
            let _, tangent = jvp (fun t -> hvp quartic t w) x v
            expectTensor "jvp (hvp f)" [| 3 |] (Array.init 3 (fun i -> 24.0 * xs.[i] * ws.[i] * vs.[i])) tangent
            // jvp of vjp (x^2 elementwise; 2 x w) along v: 2 v w
            let _, tangent = jvp (fun t -> snd (vjp (fun q -> q * q) t w)) x v
            expectTensor "jvp (vjp f)" [| 3 |] (Array.map2 (fun d c -> 2.0 * d * c) vs ws) tangent
            // a closed-over variable: d/da grad_x (a sum x^2) = 2 x, along da = 3
            let _, tangent = jvp (fun a -> grad (fun t -> a * Tensor.sum (t * t)) x) (s 0.7) (s 3.0)
            expectTensor "jvp over grad, closing over a" [| 3 |] (xs |> Array.map (fun t -> 6.0 * t)) tangent

        testCase "jvp inside grad, hvp and vjp" <| fun () ->
            let x = x0 ()
            let xs = List.toArray x0Values
            let v = vec [ 1.0; -2.0; 0.5 ]
            let vs = [| 1.0; -2.0; 0.5 |]
            let w = vec [ 0.5; 0.25; -1.0 ]
            let ws = [| 0.5; 0.25; -1.0 |]
            let cube (t: Tensor) = Tensor.sum (t * t * t)
            let quartic (t: Tensor) = Tensor.sum (t * t * t * t)
            // grad of the jvp tangent (sum 3 x^2 v): 6 x v
            expectTensor "grad (jvp f)" [| 3 |] (Array.map2 (fun t d -> 6.0 * t * d) xs vs) (grad (fun t -> snd (jvp cube t v)) x)
            // hvp of the jvp tangent (g = sum 4 x^3 w; H g = diag(24 x w)): 24 x w v
            expectTensor "hvp (jvp f)" [| 3 |] (Array.init 3 (fun i -> 24.0 * xs.[i] * ws.[i] * vs.[i])) (hvp (fun t -> snd (jvp quartic t w)) x v)
            // vjp of the jvp tangent (x^3 elementwise along w: 3 x^2 w) with cotangent v: 6 x w v
            let value, g = vjp (fun t -> snd (jvp (fun q -> q * q * q) t w)) x v
            expectTensor "vjp (jvp f): value" [| 3 |] (Array.map2 (fun t c -> 3.0 * t * t * c) xs ws) value
            expectTensor "vjp (jvp f): product" [| 3 |] (Array.init 3 (fun i -> 6.0 * xs.[i] * ws.[i] * vs.[i])) g
            // a closed-over variable: d/da of the jvp of a sum x^2 along v = 2 x . v
            expectTensor "grad over jvp, closing over a" [||] [| Array.map2 (fun t d -> 2.0 * t * d) xs vs |> Array.sum |] (grad (fun a -> snd (jvp (fun t -> a * Tensor.sum (t * t)) x v)) (s 0.7))
    ]

// ---- float32 -----------------------------------------------------------------------------------

let private float32Tests =
    testList "float32" [
        testCase "float32 inputs give float32 results" <| fun () ->
            let x = Tensor.scalar32 0.5f
            let x3 = Tensor.ofList32 [ 0.3f; -0.7f; 1.1f ]
            let v3 = Tensor.ofList32 [ 1.0f; -2.0f; 0.5f ]
            let xs = [| 0.3f; -0.7f; 1.1f |] |> Array.map float
            let vs = [| 1.0; -2.0; 0.5 |]
            let cube (t: Tensor) = Tensor.sum (t * t * t)
            let is32 what (expected: float[]) (t: Tensor) =
                Expect.equal t.DType DType.Float32 (what + " is float32")
                Check.arraysClose what 1e-5 1e-6 expected (t.ToDoubleArray())
            is32 "diff sin" [| cos (float 0.5f) |] (diff sin x)
            is32 "diff2 x^3" [| 3.0 |] (diff2 (fun t -> t * t * t) x)
            is32 "diffn 3 x^3" [| 6.0 |] (diffn 3 (fun t -> t * t * t) x)
            is32 "gradv" [| Array.map2 (fun t d -> 3.0 * t * t * d) xs vs |> Array.sum |] (gradv cube x3 v3)
            is32 "jacobianv" (Array.map2 (fun t d -> 2.0 * t * d) xs vs) (jacobianv (fun t -> t * t) x3 v3)
            is32 "jacobianTv" (Array.map2 (fun t d -> 2.0 * t * d) xs vs) (jacobianTv (fun t -> t * t) x3 v3)
            is32 "jacobian" [| for i in 0 .. 2 do for j in 0 .. 2 do yield (if i = j then 2.0 * xs.[i] else 0.0) |] (jacobian (fun t -> t * t) x3)
            is32 "hessian" [| for i in 0 .. 2 do for j in 0 .. 2 do yield (if i = j then 6.0 * xs.[i] else 0.0) |] (hessian cube x3)
            is32 "hessianv" (Array.map2 (fun t d -> 6.0 * t * d) xs vs) (hessianv cube x3 v3)
            is32 "laplacian" [| 6.0 * Array.sum xs |] (laplacian cube x3)
            is32 "curl" (fieldCurl xs.[0] xs.[1] xs.[2]) (curl field x3)
            is32 "divergence" [| 5.0 * (xs |> Array.sumBy (fun t -> t * t)) |] (divergence (fun p -> p * Tensor.sum (p * p)) x3)
            let value, d = valueAndDiff sin x
            is32 "valueAndDiff value" [| sin (float 0.5f) |] value
            is32 "valueAndDiff derivative" [| cos (float 0.5f) |] d
    ]

// ---- bad input ---------------------------------------------------------------------------------

let private badInputTests =
    testList "bad input" [
        testCase "diff, diff2, diffn refuse a non-scalar input or output, an integer input and a negative order" <| fun () ->
            throwsUnder "diff" [ "input of shape [2]" ] (fun () -> diff sin (vec [ 1.0; 2.0 ]))
            throwsUnder "diff" [ "input of shape []"; "output of shape [2]" ] (fun () -> diff (fun t -> Tensor.stack 0 [ t; t ]) (s 1.0))
            throwsUnder "diff" [ "int64"; "[1]" ] (fun () -> diff id (Tensor.ofInts [ 1 ]))
            throwsUnder "diff" [ "output of shape [2]" ] (fun () -> valueAndDiff (fun t -> Tensor.stack 0 [ t; t ]) (s 1.0))
            throwsUnder "diff2" [ "input of shape [3]" ] (fun () -> diff2 sin (x0 ()))
            throwsUnder "diff2" [ "output of shape [2]" ] (fun () -> diff2 (fun t -> Tensor.stack 0 [ t; t ]) (s 1.0))
            throwsUnder "diffn" [ "-1" ] (fun () -> diffn -1 sin (s 1.0))
            throwsUnder "diffn" [ "output of shape [2]" ] (fun () -> diffn 0 (fun t -> Tensor.stack 0 [ t; t ]) (s 1.0))
            throwsUnder "diffn" [ "output of shape [2]" ] (fun () -> diffn 3 (fun t -> Tensor.stack 0 [ t; t ]) (s 1.0))

        testCase "gradv, jacobianv, jacobianTv and jvp refuse a tangent of the wrong shape or dtype" <| fun () ->
            let x = x0 ()
            let sq (t: Tensor) = Tensor.sum (t * t)
            throwsUnder "gradv" [ "shape [2]"; "point's shape [3]" ] (fun () -> gradv sq x (vec [ 1.0; 2.0 ]))
            throwsUnder "gradv" [ "float32"; "float64" ] (fun () -> gradv sq x (Tensor.ofList32 [ 1.0f; 2.0f; 3.0f ]))
            throwsUnder "gradv" [ "shape [2]" ] (fun () -> valueAndGradv sq x (vec [ 1.0; 2.0 ]))
            throwsUnder "jacobianv" [ "shape [2]"; "point's shape [3]" ] (fun () -> jacobianv sin x (vec [ 1.0; 2.0 ]))
            throwsUnder "jacobianv" [ "float32" ] (fun () -> valueAndJacobianv sin x (Tensor.ofList32 [ 1.0f; 2.0f; 3.0f ]))
            throwsUnder "jacobianTv" [ "shape [2]"; "output of shape [3]" ] (fun () -> jacobianTv sin x (vec [ 1.0; 2.0 ]))
            throwsUnder "jacobianTv" [ "float32"; "float64" ] (fun () -> valueAndJacobianTv sin x (Tensor.ofList32 [ 1.0f; 2.0f; 3.0f ]))
            throwsUnder "jvp" [ "[2]"; "[3]" ] (fun () -> jvp sin x (vec [ 1.0; 2.0 ]))
            throwsUnder "jvp" [ "float32" ] (fun () -> jvp sin x (Tensor.ofList32 [ 1.0f; 2.0f; 3.0f ]))
            throwsUnder "hessianv" [ "shape [2]"; "point's shape [3]" ] (fun () -> hessianv sq x (vec [ 1.0; 2.0 ]))
            throwsUnder "hessianv" [ "float32" ] (fun () -> valueAndHessianv sq x (Tensor.ofList32 [ 1.0f; 2.0f; 3.0f ]))

        testCase "gradv, hessian, hessianv, laplacian refuse a function that is not scalar-valued" <| fun () ->
            let x = x0 ()
            let twice (t: Tensor) = t * 2.0
            let fragments = [ "scalar-valued"; "input of shape [3]"; "output of shape [3]" ]
            throwsUnder "gradv" fragments (fun () -> gradv twice x x)
            throwsUnder "gradv" fragments (fun () -> valueAndGradv twice x x)
            throwsUnder "hessian" fragments (fun () -> hessian twice x)
            throwsUnder "hessianv" fragments (fun () -> hessianv twice x x)
            throwsUnder "hessianv" fragments (fun () -> valueAndHessianv twice x x)
            throwsUnder "laplacian" fragments (fun () -> laplacian twice x)
            throwsUnder "laplacian" [ "output of shape [2, 3]" ] (fun () -> laplacian (fun t -> Tensor.stack 0 [ t; t ]) x)

        testCase "curl and divergence refuse a function that is not R^3 -> R^3 (divergence: R^n -> R^n)" <| fun () ->
            throwsUnder "curl" [ "R^3"; "input of shape [2]" ] (fun () -> curl id (vec [ 1.0; 2.0 ]))
            throwsUnder "curl" [ "R^3"; "input of shape [3, 1]" ] (fun () -> curl id (Tensor.ofArrayShape [ 3; 1 ] [| 1.0; 2.0; 3.0 |]))
            throwsUnder "curl" [ "input of shape [3]"; "output of shape [2]" ] (fun () -> curl (Tensor.slice 0 0 2) (x0 ()))
            throwsUnder "curl" [ "input of shape [3]"; "output of shape []" ] (fun () -> curl Tensor.sum (x0 ()))
            throwsUnder "curl" [ "int64" ] (fun () -> curl id (Tensor.ofInts [ 1; 2; 3 ]))
            throwsUnder "divergence" [ "input of shape [3]"; "output of shape [2]" ] (fun () -> divergence (Tensor.slice 0 0 2) (x0 ()))
            throwsUnder "divergence" [ "input of shape [2, 2]" ] (fun () -> divergence id (Tensor.ofArrayShape [ 2; 2 ] [| 1.0; 2.0; 3.0; 4.0 |]))
            throwsUnder "divergence" [ "input of shape []" ] (fun () -> divergence id (s 1.0))
    ]

[<Tests>]
let tests =
    testList "Autograd.FSharpTransforms" [
        diffTests
        directionalTests
        jacobianTests
        secondOrderTests
        vectorCalculusTests
        nestingTests
        float32Tests
        badInputTests
        nestedForwardTests
    ]
