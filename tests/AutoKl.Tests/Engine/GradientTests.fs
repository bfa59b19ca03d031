/// Every op's gradient against central finite differences in float64 (Support/GradCheck.fs),
/// as FsCheck properties over generated shapes (rank 0..3, dimensions 1..4), broadcasting
/// pairs and `Generator(seed)` values. Domains are respected (log, sqrt and pow bases
/// positive) and samples near kinks are moved away (abs, relu, clamp) or discarded (ties of
/// max, min, maximum, minimum).
module AutoKl.Tests.Engine.GradientTests

open System
open AutoKl
open AutoKl.Tests.Support
open AutoKl.Tests.Engine.Generators
open Expecto

type T = AutoKl.Tensor

let private check1 (op: Tensor -> Tensor) (x: Tensor) = GradCheck.check (fun xs -> op xs.[0]) [| x |]
let private check2 (op: Tensor -> Tensor -> Tensor) (a: Tensor) (b: Tensor) = GradCheck.check (fun xs -> op xs.[0] xs.[1]) [| a; b |]
let private positive seed dims = uniform seed 0.3 2.5 dims

/// True when some pair of elements that meet under broadcasting is closer than `gap`.
let private nearTie (a: Tensor) (b: Tensor) (gap: float) =
    use _ = Autograd.NoGrad()
    let d = T.Abs(a - b)
    d.Numel > 0 && d.Min().ToScalar() < gap

/// Checks the reduction over the generated axes, the whole-tensor overload when no axis was
/// picked, and the single-axis overload when one was.
let private reduce (op: Tensor * int[] * bool -> Tensor) (single: Tensor * int * bool -> Tensor) (whole: Tensor -> Tensor) (r: Reduction) (x: Tensor) =
    check1 (fun x -> op (x, r.Axes, r.KeepDim)) x
    if r.Axes.Length = 0 then check1 whole x
    if r.Axes.Length = 1 then check1 (fun x -> single (x, r.Axes.[0], r.KeepDim)) x

[<Tests>]
let tests =
    testList "Engine.Gradients" [
        // ---- elementwise, one input -------------------------------------------------------

        testPropertyWithConfig engineConfig "neg" <| fun (s: Shape) (seed: int) ->
            check1 T.Neg (normal seed s.Dims)

        testPropertyWithConfig engineConfig "exp" <| fun (s: Shape) (seed: int) ->
            check1 T.Exp (normal seed s.Dims)

        testPropertyWithConfig engineConfig "log on positive values" <| fun (s: Shape) (seed: int) ->
            check1 T.Log (positive seed s.Dims)

        testPropertyWithConfig engineConfig "log1p above -1" <| fun (s: Shape) (seed: int) ->
            check1 T.Log1p (uniform seed -0.7 3.0 s.Dims)

        testPropertyWithConfig engineConfig "expm1" <| fun (s: Shape) (seed: int) ->
            check1 T.Expm1 (normal seed s.Dims)

        testPropertyWithConfig engineConfig "sqrt on positive values" <| fun (s: Shape) (seed: int) ->
            check1 T.Sqrt (positive seed s.Dims)

        testPropertyWithConfig engineConfig "abs away from 0" <| fun (s: Shape) (seed: int) ->
            check1 T.Abs (normal seed s.Dims |> awayFrom 0.0 kinkMargin)

        testPropertyWithConfig engineConfig "sigmoid" <| fun (s: Shape) (seed: int) ->
            check1 T.Sigmoid (normal seed s.Dims * 3.0)

        testPropertyWithConfig engineConfig "tanh" <| fun (s: Shape) (seed: int) ->
            check1 T.Tanh (normal seed s.Dims * 2.0)

        testPropertyWithConfig engineConfig "relu away from 0" <| fun (s: Shape) (seed: int) ->
            check1 T.Relu (normal seed s.Dims |> awayFrom 0.0 kinkMargin)

        testPropertyWithConfig engineConfig "softplus, including the linear region above the threshold" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims * 8.0 |> awayFrom 20.0 kinkMargin |> awayFrom 10.0 kinkMargin
            check1 T.Softplus x
            check1 (fun x -> T.Softplus(x, 2.0, 20.0)) x

        testPropertyWithConfig engineConfig "clamp away from its bounds" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims |> awayFrom -0.5 kinkMargin |> awayFrom 0.7 kinkMargin
            check1 (fun x -> T.Clamp(x, -0.5, 0.7)) x
            check1 (fun x -> T.Clamp(x, min = -0.5)) x
            check1 (Tensor.clamp -0.5 0.7) x

        testPropertyWithConfig engineConfig "pow with a constant exponent on positive bases" <| fun (s: Shape) (seed: int) ->
            let x = positive seed s.Dims
            for e in [ 0.0; 1.0; 2.0; 3.0; 2.5; -0.5; -2.0 ] do
                check1 (fun x -> T.Pow(x, e)) x
            check1 (fun x -> x ** 3) x

        testPropertyWithConfig engineConfig "pow with a constant base" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims
            check1 (fun x -> T.Pow(2.5, x)) x
            check1 (fun x -> T.Pow(0.4, x)) x

        testPropertyWithConfig engineConfig "the engine's other differentiable elementwise ops: sin, cos, tan, erf, lgamma, square, reciprocal" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims
            check1 T.Sin x
            check1 T.Cos x
            check1 T.Tan (uniform seed -1.0 1.0 s.Dims)
            check1 T.Erf x
            check1 T.Lgamma (uniform seed 0.8 3.0 s.Dims)
            check1 T.Square x
            check1 T.Reciprocal (x |> awayFrom 0.0 0.7)
            // Piecewise constant: zero gradient away from the jumps.
            for op in [ T.Floor; T.Ceiling; T.Round; T.Sign ] do
                let g = grad (fun x -> T.Sum(op x)) x
                Check.arraysClose "piecewise constant" 0.0 0.0 (Array.zeroCreate x.Numel) (g.ToDoubleArray())

        testPropertyWithConfig engineConfig "scatter_add, var and std" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let gen = Generator(seed)
            let ax = (a.Axis + x.Rank) % x.Rank
            let index = T.FromArray(Array.init x.Numel (fun _ -> int64 (gen.NextInt(x.Size ax))), x.Shape)
            GradCheck.check (fun xs -> T.ScatterAdd(xs.[0], a.Axis, index, xs.[1])) [| normal (seed + 1) a.Dims; x |]
            if x.Size ax > 1 then
                check1 (fun x -> T.Var(x, [| a.Axis |])) x
                // std = sqrt(var) has a kink where a slice's values (nearly) coincide: discard those samples.
                if float (T.Min(T.Var(x, [| a.Axis |]))) > 0.05 then
                    check1 (fun x -> T.Std(x, [| a.Axis |], keepDim = true)) x

        testPropertyWithConfig engineConfig "cumsum forward and reverse along any axis" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            check1 (fun x -> T.CumSum(x, a.Axis)) x
            check1 (fun x -> T.CumSum(x, a.Axis, reverse = true)) x
            // Second order through a non-linear use of the running sum.
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.Sum(T.Sin(T.CumSum(x, a.Axis)) * x)) x seed

        testCase "cumsum values match a running sum written out" <| fun () ->
            let x = Tensor.ofList2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]
            Check.tensorEquals "axis 1" 0.0 [| 2; 3 |] [| 1.0; 3.0; 6.0; 4.0; 9.0; 15.0 |] (x |> Tensor.cumsum 1)
            Check.tensorEquals "axis 0" 0.0 [| 2; 3 |] [| 1.0; 2.0; 3.0; 5.0; 7.0; 9.0 |] (T.CumSum(x, 0))
            Check.tensorEquals "reverse" 0.0 [| 2; 3 |] [| 6.0; 5.0; 3.0; 15.0; 11.0; 6.0 |] (x.CumSum(-1, reverse = true))
            Check.throwsAutoKl [ "cumsum"; "axis 2" ] (fun () -> T.CumSum(x, 2)) |> ignore

        // ---- elementwise, two inputs with broadcasting ------------------------------------

        testPropertyWithConfig engineConfig "add with broadcasting" <| fun (p: BroadcastPair) (seed: int) ->
            check2 Tensor.add (normal seed p.A) (normal (seed + 1) p.B)

        testPropertyWithConfig engineConfig "sub with broadcasting" <| fun (p: BroadcastPair) (seed: int) ->
            check2 Tensor.sub (normal seed p.A) (normal (seed + 1) p.B)

        testPropertyWithConfig engineConfig "mul with broadcasting" <| fun (p: BroadcastPair) (seed: int) ->
            check2 Tensor.mul (normal seed p.A) (normal (seed + 1) p.B)

        testPropertyWithConfig engineConfig "div with broadcasting, divisor away from 0" <| fun (p: BroadcastPair) (seed: int) ->
            check2 Tensor.div (normal seed p.A) (normal (seed + 1) p.B |> awayFrom 0.0 0.3)

        testPropertyWithConfig engineConfig "pow of two tensors with broadcasting, positive base" <| fun (p: BroadcastPair) (seed: int) ->
            check2 (fun a b -> T.Pow(a, b)) (positive seed p.A) (normal (seed + 1) p.B)

        testPropertyWithConfig engineConfig "maximum with broadcasting, ties discarded" <| fun (p: BroadcastPair) (seed: int) ->
            let a, b = normal seed p.A, normal (seed + 1) p.B
            if not (nearTie a b kinkMargin) then check2 Tensor.maximum a b

        testPropertyWithConfig engineConfig "minimum with broadcasting, ties discarded" <| fun (p: BroadcastPair) (seed: int) ->
            let a, b = normal seed p.A, normal (seed + 1) p.B
            if not (nearTie a b kinkMargin) then check2 Tensor.minimum a b

        testPropertyWithConfig engineConfig "where with broadcasting of the condition and both branches" <| fun (p: BroadcastPair) (seed: int) ->
            let condition = T.Gt(normal (seed + 2) p.A, 0.0)
            check2 (fun a b -> T.Where(condition, a, b)) (normal seed p.A) (normal (seed + 1) p.B)
            // The condition broadcast against both branches from the other side.
            let condition2 = T.Lt(normal (seed + 3) p.B, 0.0)
            check2 (fun a b -> T.Where(condition2, a, b)) (normal seed p.A) (normal (seed + 1) p.B)

        testCase "every binary op handles the named broadcasting pairs on both sides" <| fun () ->
            for a, b in namedPairs do
                let x, y = normal 1 a, normal 2 b
                check2 Tensor.add x y
                check2 Tensor.sub x y
                check2 Tensor.mul x y
                check2 Tensor.div x (y |> awayFrom 0.0 0.3)
                check2 (fun a b -> T.Pow(a, b)) (positive 3 a) y
                check2 Tensor.maximum x (y + 0.123)
                check2 Tensor.minimum x (y + 0.123)
                check2 (fun a b -> T.Where(T.Gt(x, 0.0), a, b)) x y

        // ---- reductions ---------------------------------------------------------------------

        testPropertyWithConfig engineConfig "sum over all or any axes, with and without keepDim" <| fun (r: Reduction) (seed: int) ->
            reduce (fun (x, a, k) -> T.Sum(x, a, k)) (fun (x, a, k) -> T.Sum(x, a, k)) T.Sum r (normal seed r.Dims)

        testPropertyWithConfig engineConfig "mean over all or any axes, with and without keepDim" <| fun (r: Reduction) (seed: int) ->
            reduce (fun (x, a, k) -> T.Mean(x, a, k)) (fun (x, a, k) -> T.Mean(x, a, k)) T.Mean r (normal seed r.Dims)

        testPropertyWithConfig engineConfig "max over all or any axes, no ties" <| fun (r: Reduction) (seed: int) ->
            reduce (fun (x, a, k) -> T.Max(x, a, k)) (fun (x, a, k) -> T.Max(x, a, k)) T.Max r (normal seed r.Dims |> distinct kinkMargin)

        testPropertyWithConfig engineConfig "min over all or any axes, no ties" <| fun (r: Reduction) (seed: int) ->
            reduce (fun (x, a, k) -> T.Min(x, a, k)) (fun (x, a, k) -> T.Min(x, a, k)) T.Min r (normal seed r.Dims |> distinct kinkMargin)

        testCase "max and min share the gradient equally among exact ties" <| fun () ->
            let x = T.FromArray([| 1.0; 3.0; 3.0; 2.0 |], 2, 2).RequiresGrad_()
            T.Max(x).Backward()
            Check.arraysClose "max grad" 0.0 0.0 [| 0.0; 0.5; 0.5; 0.0 |] (x.Grad.ToDoubleArray())
            let y = T.FromArray([| 1.0; 1.0; 3.0; 2.0 |], 2, 2).RequiresGrad_()
            T.Min(y, 1).Sum().Backward()
            Check.arraysClose "min grad" 0.0 0.0 [| 0.5; 0.5; 0.0; 1.0 |] (y.Grad.ToDoubleArray())

        testPropertyWithConfig engineConfig "logsumexp over all or any axes, with and without keepDim" <| fun (r: Reduction) (seed: int) ->
            reduce (fun (x, a, k) -> T.LogSumExp(x, a, k)) (fun (x, a, k) -> T.LogSumExp(x, a, k)) T.LogSumExp r (normal seed r.Dims * 3.0)

        // ---- softmax family -----------------------------------------------------------------

        testPropertyWithConfig engineConfig "softmax along any axis" <| fun (a: AlongAxis) (seed: int) ->
            check1 (fun x -> T.Softmax(x, a.Axis)) (normal seed a.Dims * 2.0)

        testPropertyWithConfig engineConfig "log_softmax along any axis" <| fun (a: AlongAxis) (seed: int) ->
            check1 (fun x -> T.LogSoftmax(x, a.Axis)) (normal seed a.Dims * 2.0)

        // ---- matmul -------------------------------------------------------------------------

        testPropertyWithConfig engineConfig "matmul 2-D, batched with broadcast batch dimensions, and 1-D" <| fun (m: MatMulShapes) (seed: int) ->
            check2 Tensor.matmul (normal seed m.Left) (normal (seed + 1) m.Right)

        // ---- shape and indexing -------------------------------------------------------------

        testPropertyWithConfig engineConfig "reshape, flatten" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims
            check1 (fun x -> T.Reshape(x, [| -1 |])) x
            check1 (fun x -> T.Reshape(x, Array.rev s.Dims)) x
            check1 (fun x -> T.Reshape(x, Array.append [| 1 |] s.Dims)) x
            check1 (fun x -> T.Reshape(x, [| x.Numel; 1 |])) x
            check1 (fun x -> T.Flatten(x)) x

        testPropertyWithConfig engineConfig "transpose and permute" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims
            let gen = Generator(seed)
            let perm = Array.init x.Rank id |> Array.sortBy (fun _ -> gen.NextUniform())
            check1 (fun x -> T.Permute(x, perm)) x
            check1 (fun x -> T.Transpose(x)) x
            if x.Rank >= 2 then
                let d0, d1 = gen.NextInt x.Rank, gen.NextInt x.Rank - x.Rank
                check1 (fun x -> T.Transpose(x, d0, d1)) x

        testPropertyWithConfig engineConfig "expand, including new leading dimensions and -1" <| fun (r: Reduction) (seed: int) ->
            // Reduction's axes choose which dimensions start at size 1 and get stretched.
            let small = r.Dims |> Array.mapi (fun i d -> if Array.exists (fun a -> (a + r.Dims.Length) % r.Dims.Length = i) r.Axes then 1 else d)
            let target = Array.append [| 2 |] r.Dims
            check1 (fun x -> T.Expand(x, target)) (normal seed small)
            check1 (fun x -> T.Expand(x, Array.append [| 3 |] (Array.map (fun _ -> -1) small))) (normal seed small)

        testPropertyWithConfig engineConfig "squeeze and unsqueeze" <| fun (s: Shape) (seed: int) ->
            let x = normal seed s.Dims
            let gen = Generator(seed)
            let at = gen.NextInt(x.Rank + 1)
            check1 (fun x -> T.Unsqueeze(x, at)) x
            check1 (fun x -> T.Unsqueeze(x, -1)) x
            check1 (fun x -> T.Squeeze(T.Unsqueeze(x, at), at)) x
            check1 (fun x -> T.Squeeze(x)) x
            if x.Rank > 0 then check1 (fun x -> T.Squeeze(x, gen.NextInt x.Rank)) x

        testPropertyWithConfig engineConfig "slice with a step, negative bounds and clipping" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let gen = Generator(seed)
            let size = x.Size a.Axis
            let start = gen.NextInt(2 * size + 1) - size
            let stop = gen.NextInt(2 * size + 3) - size
            let step = 1 + gen.NextInt 3
            check1 (fun x -> T.Slice(x, a.Axis, start, stop, step)) x
            check1 (fun x -> T.Slice(x, a.Axis, 0, Int32.MaxValue, step)) x
            let length = gen.NextInt(size + 1)
            check1 (fun x -> T.Narrow(x, a.Axis, size - length, length)) x

        testPropertyWithConfig engineConfig "select and the indexer" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let gen = Generator(seed)
            let size = x.Size a.Axis
            let index = gen.NextInt(2 * size) - size
            check1 (fun x -> T.Select(x, a.Axis, index)) x
            let i0 = gen.NextInt(x.Size 0)
            check1 (fun x -> x.[i0]) x
            if x.Rank >= 2 then
                let i1 = gen.NextInt(x.Size 1) - x.Size 1
                check1 (fun x -> x.[i0, i1]) x

        testPropertyWithConfig engineConfig "gather, with repeated indices" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let gen = Generator(seed)
            let ax = (a.Axis + x.Rank) % x.Rank
            let indexShape = x.Shape |> Array.mapi (fun d n -> if d = ax then 1 + gen.NextInt 5 else 1 + gen.NextInt n)
            let values = Array.init (Array.fold (*) 1 indexShape) (fun _ -> int64 (gen.NextInt(x.Size ax)))
            let index = T.FromArray(values, indexShape)
            check1 (fun x -> T.Gather(x, a.Axis, index)) x
            check1 (Tensor.gather a.Axis index) x

        testPropertyWithConfig engineConfig "concat along any axis" <| fun (a: AlongAxis) (seed: int) ->
            let gen = Generator(seed)
            let ax = (a.Axis + a.Dims.Length) % a.Dims.Length
            let parts = [| for k in 0 .. gen.NextInt 3 -> normal (seed + k) (a.Dims |> Array.mapi (fun d n -> if d = ax then 1 + gen.NextInt 3 else n)) |]
            GradCheck.check (fun xs -> T.Concat(xs, a.Axis)) parts

        testPropertyWithConfig engineConfig "stack along any axis, including a new last one" <| fun (s: Shape) (seed: int) ->
            let gen = Generator(seed)
            let axis = gen.NextInt(2 * (s.Dims.Length + 1)) - (s.Dims.Length + 1)
            let parts = [| for k in 0 .. gen.NextInt 3 -> normal (seed + k) s.Dims |]
            GradCheck.check (fun xs -> T.Stack(xs, axis)) parts

        testCase "a tensor used twice gets the sum of both paths" <| fun () ->
            GradCheck.check (fun xs -> xs.[0] * xs.[0] + T.Exp(xs.[0]).Sum() * xs.[0]) [| normal 4 [| 3; 2 |] |]

        // ---- second order -------------------------------------------------------------------

        testCase "hessian-vector products of composites match finite differences of the gradient" <| fun () ->
            let x = normal 11 [| 3; 4 |]
            let w = normal 12 [| 4; 5 |]
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.Sum(T.Softmax(x, 1) * T.LogSoftmax(x, 1))) x 1
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.LogSumExp(T.MatMul(x, w))) x 2
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.Sum(T.Sigmoid(x) ** 3 * T.Exp(-x))) x 3
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.LogSumExp(x, 1) |> Tensor.sum) x 4
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.Sum(T.Sqrt(x * x + 1.0) / (T.Abs(x) + 2.0) + T.Tanh(x).Max(0).Sum())) x 5
            GradCheck.checkHvp 1e-6 1e-8 (fun x -> T.Sum(T.Softplus(x) * T.Log1p(T.Exp(x)) - T.Expm1(x / 4.0) ** 2.0)) x 6

        testPropertyWithConfig engineConfig "hessian-vector product of every smooth unary op" <| fun (s: Shape) (seed: int) ->
            let ops : (string * (Tensor -> Tensor) * Tensor) list =
                [ "exp", T.Exp, normal seed s.Dims
                  "log", T.Log, positive seed s.Dims
                  "log1p", T.Log1p, positive seed s.Dims
                  "expm1", T.Expm1, normal seed s.Dims
                  "sqrt", T.Sqrt, positive seed s.Dims
                  "sigmoid", T.Sigmoid, normal seed s.Dims
                  "tanh", T.Tanh, normal seed s.Dims
                  "softplus", (fun x -> T.Softplus x), normal seed s.Dims
                  "pow 2.5", (fun x -> T.Pow(x, 2.5)), positive seed s.Dims
                  "pow base", (fun x -> T.Pow(1.7, x)), normal seed s.Dims
                  "neg square", (fun x -> -(x * x)), normal seed s.Dims ]
            for _, op, x in ops do
                let c = GradCheck.cotangentFor x
                GradCheck.checkHvp 1e-5 1e-7 (fun x -> T.Sum(op x * c)) x seed

        testPropertyWithConfig engineConfig "hessian-vector product of every binary op, either side, with broadcasting" <| fun (p: BroadcastPair) (seed: int) ->
            // Away from 0, so that the finite differences of 1/x stay accurate to 1e-5.
            let a, b = uniform seed 0.8 2.0 p.A, uniform (seed + 1) 0.8 2.0 p.B
            let ops : (Tensor -> Tensor -> Tensor) list = [ Tensor.add; Tensor.sub; Tensor.mul; Tensor.div; (fun a b -> T.Pow(a, b)) ]
            for op in ops do
                GradCheck.checkHvp 1e-5 1e-7 (fun x -> T.Sum(T.Sin(op x b))) a seed
                GradCheck.checkHvp 1e-5 1e-7 (fun x -> T.Sum(T.Sin(op a x))) b seed

        testPropertyWithConfig engineConfig "hessian-vector product through reductions, softmax, matmul and shape ops" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let f (x: Tensor) =
                let y = T.Softmax(x, a.Axis) * T.LogSumExp(x, a.Axis, keepDim = true) + T.LogSoftmax(x * x, a.Axis)
                let z = T.Flatten(T.Permute(y, Array.init y.Rank (fun i -> y.Rank - 1 - i)))
                T.MatMul(z, T.Tanh(z)) + T.Mean(T.Slice(z, 0, 0, Int32.MaxValue, 2) ** 3) + T.Sum(T.Concat([ z; z * 2.0 ], 0) ** 2)
            GradCheck.checkHvp 1e-5 1e-7 f x seed

        // The backward rules of the softmax family are ops of their own (fused row kernels); their
        // derivatives, in both the incoming gradient and the forward output, are checked here by
        // differentiating the gradient itself.
        testPropertyWithConfig engineConfig "the backward rules of softmax, log_softmax and logsumexp are differentiable along any axis" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let f (x: Tensor) =
                T.Sum(T.Softmax(x, a.Axis) * T.Sin x) + T.Sum(T.LogSoftmax(x, a.Axis) * T.Cos x) + T.Sum(T.LogSumExp(x, a.Axis) ** 2)
            GradCheck.check (fun xs -> grad f xs.[0]) [| x |]
            let cube = normal (seed + 1) [| 3; 2; 4 |]
            GradCheck.check (fun xs -> grad (fun x -> T.Sum(T.LogSumExp(x, [| 0; 2 |]) ** 2) + T.Sum(T.Softmax(x, 1) * x)) xs.[0]) [| cube |]

        testPropertyWithConfig engineConfig "hessian-vector product through gather, where, expand, select, stack, max and maximum" <| fun (a: AlongAxis) (seed: int) ->
            // Away from the ties of x^2 with sin x (at 0 and 0.8767) and of x with x/2 (at 0), where max
            // and maximum switch branches.
            let x = normal seed a.Dims |> awayFrom 0.0 kinkMargin |> awayFrom 0.876726 kinkMargin
            let gen = Generator(seed)
            let ax = (a.Axis + x.Rank) % x.Rank
            let index = T.FromArray(Array.init x.Numel (fun _ -> int64 (gen.NextInt(x.Size ax))), x.Shape)
            let mask = T.Gt(normal (seed + 1) a.Dims, 0.0)
            let f (x: Tensor) =
                let picked = T.Gather(x, a.Axis, index)
                let chosen = T.Where(mask, T.Exp(picked), x * x * x)
                let stretched = T.Expand(T.Unsqueeze(T.Select(x, a.Axis, 0), 0), Array.append [| 2 |] (T.Select(x, a.Axis, 0)).Shape)
                let top = T.Max(T.Stack([ x * x; T.Sin(x) ]), 0)
                T.Sum(chosen * T.Tanh(x)) + T.Sum(stretched ** 3) + T.Sum(top * x) + T.Sum(T.Maximum(x, x * 0.5) ** 2)
            GradCheck.checkHvp 1e-5 1e-7 f x seed

        testCase "grad of grad by nesting the F# grad function" <| fun () ->
            let x = normal 21 [| 2; 3 |]
            let v = normal 22 [| 2; 3 |]
            let f (x: Tensor) = T.Sum(x ** 3 + T.Sin(x))
            // d/dx <grad f x, v> = (6x - sin x) * v.
            let hv = grad (fun x -> grad f x |> Tensor.mul v |> Tensor.sum) x
            let expected = (6.0 * x - T.Sin(x)) * v
            Check.tensorClose "grad of grad" 1e-12 1e-14 expected hv
            Check.tensorClose "hvp" 1e-12 1e-14 expected (hvp f x v)
            Check.tensorClose "Autograd.Hvp" 1e-12 1e-14 expected (Autograd.Hvp(Func<_, _>(f), x, v))
            // Third derivative summed along the diagonal: d/dx sum(d/dx sum(grad f)) = 6 - cos x.
            let third = grad (fun x -> grad (fun x -> grad f x |> Tensor.sum) x |> Tensor.sum) x
            Check.tensorClose "third derivative" 1e-12 1e-14 (6.0 - T.Cos(x)) third
            // The gradient as a function is itself checked against finite differences.
            GradCheck.check (fun xs -> grad (fun x -> T.Sum(T.Softmax(x, 1) * x * x)) xs.[0]) [| x |]

        testCase "backward with createGraph, then backward of a function of the gradient" <| fun () ->
            let x = T.FromArray([| 0.5; -1.0; 2.0 |]).RequiresGrad_()
            let y = T.Sum(x ** 3)
            y.Backward(createGraph = true)
            let g = x.Grad
            Expect.isTrue g.RequiresGrad "the gradient was recorded"
            Check.arraysClose "first derivative" 1e-14 0.0 [| 0.75; 3.0; 12.0 |] (g.ToDoubleArray())
            x.ZeroGrad()
            T.Sum(g * g).Backward()
            // d/dx sum((3x^2)^2) = 36 x^3
            Check.arraysClose "derivative of |grad|^2" 1e-14 0.0 [| 4.5; -36.0; 288.0 |] (x.Grad.ToDoubleArray())
            // Without zeroing, PyTorch semantics: the new gradient is added to the recorded one.
            let x2 = T.FromArray([| 0.5; -1.0; 2.0 |]).RequiresGrad_()
            T.Sum(x2 ** 3).Backward(createGraph = true)
            T.Sum(x2.Grad).Backward()
            Check.arraysClose "accumulated onto the first gradient" 1e-14 0.0 [| 0.75 + 3.0; 3.0 - 6.0; 12.0 + 12.0 |] (x2.Grad.ToDoubleArray())

        testCase "leaf gradients never share storage, so in-place updates of one cannot change another" <| fun () ->
            let a = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
            let b = Tensor.ofList [ 3.0; 4.0 ] |> Tensor.requiresGrad
            let c = Tensor.ofList [ 5.0; 6.0 ] |> Tensor.requiresGrad
            // add passes the incoming gradient through unchanged to both inputs; reshape shares storage.
            let y = (a + b + c.Reshape(2)) * 1.0
            y.Backward(Tensor.ofList [ 1.0; 1.0 ])
            let ga = a.Grad.Span<float>()
            ga.[0] <- 100.0
            Check.arraysClose "b.Grad after changing a.Grad in place" 0.0 0.0 [| 1.0; 1.0 |] (b.Grad.ToDoubleArray())
            Check.arraysClose "c.Grad after changing a.Grad in place" 0.0 0.0 [| 1.0; 1.0 |] (c.Grad.ToDoubleArray())
    ]
