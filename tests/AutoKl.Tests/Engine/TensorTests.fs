module AutoKl.Tests.Engine.TensorTests

open System
open AutoKl
open AutoKl.Tests.Support
open Expecto

type T = AutoKl.Tensor

let private m23 () = T.FromArray([| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |], 2, 3)

[<Tests>]
let tests =
    testList "Engine.Tensors" [
        testCase "F# operators and built-in functions work on float64 and float32 tensors" <| fun () ->
            for dtype in [ DType.Float64; DType.Float32 ] do
                let x = Tensor.FromArray([| 1.0; 2.0; 4.0 |], [| 3 |], dtype)
                let y = log x + 2.0 * x ** 2.0 - x / 3 + exp x - sqrt x + abs (-x) + tanh x + 1.0f * x
                Expect.equal y.DType dtype "dtype of y"
                let expected = [| for v in [ 1.0; 2.0; 4.0 ] -> log v + 2.0 * v * v - v / 3.0 + exp v - sqrt v + v + tanh v + v |]
                Check.arraysClose "f# expression" (if dtype = DType.Float64 then 1e-14 else 1e-6) 0.0 expected (y.ToDoubleArray())
                Expect.floatClose { absolute = 1e-6; relative = 0.0 } (float (Tensor.sum x)) 7.0 "float (Tensor.sum x)"
                Check.arraysClose "pown" 1e-6 0.0 [| 1.0; 4.0; 16.0 |] ((pown x 2).ToDoubleArray())
                Check.arraysClose "negation" 0.0 0.0 [| -1.0; -2.0; -4.0 |] ((-x).ToDoubleArray())

        testCase "broadcasting [3,1] with [1,4] gives [3,4] from both sides" <| fun () ->
            let a = Tensor.FromArray([| 1.0; 2.0; 3.0 |], 3, 1)
            let b = Tensor.FromArray([| 10.0; 20.0; 30.0; 40.0 |], 1, 4)
            let c = a + b
            Check.shapeIs "a+b" [| 3; 4 |] c
            Check.arraysClose "a+b" 0.0 0.0 [| for i in 1.0 .. 3.0 do for j in 10.0 .. 10.0 .. 40.0 -> i + j |] (c.ToDoubleArray())
            Check.tensorClose "b+a" 0.0 0.0 c (b + a)

        testCase "pipeable module functions chain" <| fun () ->
            let x = Tensor.ofList [ 1.0; 2.0; 3.0 ]
            let s = x |> Tensor.log |> Tensor.sum
            Expect.floatClose { absolute = 1e-14; relative = 0.0 } (float s) (log 6.0) "float s"

        // ---- forward values of each op family, worked out by hand --------------------------

        testCase "elementwise functions of one tensor" <| fun () ->
            let x = Tensor.ofList [ -2.0; 0.0; 0.5; 30.0 ]
            Check.tensorEquals "neg" 0.0 [| 4 |] [| 2.0; 0.0; -0.5; -30.0 |] (T.Neg x)
            Check.tensorEquals "abs" 0.0 [| 4 |] [| 2.0; 0.0; 0.5; 30.0 |] (T.Abs x)
            Check.tensorEquals "relu" 0.0 [| 4 |] [| 0.0; 0.0; 0.5; 30.0 |] (T.Relu x)
            Check.tensorEquals "clamp" 0.0 [| 4 |] [| -1.0; 0.0; 0.5; 1.0 |] (T.Clamp(x, -1.0, 1.0))
            Check.tensorEquals "clamp below only" 0.0 [| 4 |] [| 0.25; 0.25; 0.5; 30.0 |] (T.Clamp(x, min = 0.25))
            Check.tensorEquals "sigmoid" 1e-15 [| 4 |] [| 1.0 / (1.0 + exp 2.0); 0.5; 1.0 / (1.0 + exp -0.5); 1.0 / (1.0 + exp -30.0) |] (T.Sigmoid x)
            Check.tensorEquals "tanh" 1e-15 [| 4 |] [| tanh -2.0; 0.0; tanh 0.5; 1.0 |] (T.Tanh x)
            Check.tensorEquals "exp" 1e-15 [| 4 |] [| exp -2.0; 1.0; exp 0.5; exp 30.0 |] (T.Exp x)
            Check.tensorEquals "expm1 keeps tiny values" 1e-15 [| 2 |] [| 1e-10 + 5e-21; Math.E - 1.0 |] (T.Expm1(Tensor.ofList [ 1e-10; 1.0 ]))
            Check.tensorEquals "log1p keeps tiny values" 1e-15 [| 2 |] [| 1e-10 - 5e-21; log 2.0 |] (T.Log1p(Tensor.ofList [ 1e-10; 1.0 ]))
            Check.tensorEquals "log" 1e-15 [| 3 |] [| 0.0; 1.0; -infinity |] (T.Log(Tensor.ofList [ 1.0; Math.E; 0.0 ]))
            Check.tensorEquals "sqrt" 0.0 [| 3 |] [| 0.0; 1.5; 3.0 |] (T.Sqrt(Tensor.ofList [ 0.0; 2.25; 9.0 ]))
            // softplus: log(1 + e^x), x itself above the threshold (20), no overflow for large |x|.
            Check.tensorEquals "softplus" 1e-15 [| 4 |] [| Math.Log(1.0 + exp -2.0); log 2.0; Math.Log(1.0 + exp 0.5); 30.0 |] (T.Softplus x)
            Check.tensorEquals "softplus far below" 1e-15 [| 2 |] [| exp -40.0 - exp -80.0 / 2.0; 0.0 |] (T.Softplus(Tensor.ofList [ -40.0; -800.0 ]))
            Check.tensorEquals "softplus far below, float32" 1e-6 [| 1 |] [| exp -40.0 |] (T.Softplus(T.FromArray([| -40.0f |])))
            Check.tensorEquals "log1p and expm1 near 0 and far from it" 1e-15 [| 4 |] [| 1e-5 - 5e-11 + 1e-15 / 3.0 - 2.5e-21; log 3.0; 0.051271096376024039697 (* e^0.05 - 1 *); exp 3.0 - 1.0 |]
                (T.Concat([ T.Log1p(Tensor.ofList [ 1e-5; 2.0 ]); T.Expm1(Tensor.ofList [ 0.05; 3.0 ]) ]))
            Check.tensorEquals "expm1 limits" 0.0 [| 3 |] [| -1.0; infinity; 0.0 |] (T.Expm1(Tensor.ofList [ -infinity; 1000.0; 0.0 ]))
            Check.tensorEquals "float32 expm1 and log1p near 0" 1e-7 [| 2 |] [| 1e-10 + 5e-21; 1e-10 - 5e-21 |] (T.Concat([ T.Expm1(T.FromArray([| 1e-10f |])); T.Log1p(T.FromArray([| 1e-10f |])) ]))
            Check.tensorEquals "softplus with beta 2" 1e-15 [| 2 |] [| Math.Log(1.0 + exp 1.0) / 2.0; 15.0 |] (T.Softplus(Tensor.ofList [ 0.5; 15.0 ], 2.0, 20.0))
            Check.tensorEquals "pow 2" 0.0 [| 4 |] [| 4.0; 0.0; 0.25; 900.0 |] (T.Pow(x, 2.0))
            Check.tensorEquals "pow -1" 0.0 [| 2 |] [| 2.0; 0.25 |] (T.Pow(Tensor.ofList [ 0.5; 4.0 ], -1.0))
            Check.tensorEquals "base 2" 0.0 [| 3 |] [| 0.25; 1.0; 8.0 |] (T.Pow(2.0, Tensor.ofList [ -2.0; 0.0; 3.0 ]))

        testCase "binary ops broadcast with NumPy rules" <| fun () ->
            let col = T.FromArray([| 1.0; 2.0 |], 2, 1)
            let row = T.FromArray([| 10.0; 20.0; 30.0 |], 3)
            Check.tensorEquals "add" 0.0 [| 2; 3 |] [| 11.0; 21.0; 31.0; 12.0; 22.0; 32.0 |] (col + row)
            Check.tensorEquals "sub" 0.0 [| 2; 3 |] [| -9.0; -19.0; -29.0; -8.0; -18.0; -28.0 |] (col - row)
            Check.tensorEquals "mul" 0.0 [| 2; 3 |] [| 10.0; 20.0; 30.0; 20.0; 40.0; 60.0 |] (col * row)
            Check.tensorEquals "div" 1e-15 [| 2; 3 |] [| 0.1; 0.05; 1.0 / 30.0; 0.2; 0.1; 2.0 / 30.0 |] (col / row)
            Check.tensorEquals "pow" 0.0 [| 2; 2 |] [| 1.0; 1.0; 2.0; 4.0 |] (T.Pow(col, Tensor.ofList [ 1.0; 2.0 ]))
            Check.tensorEquals "scalar with matrix" 0.0 [| 2; 3 |] [| 3.0; 4.0; 5.0; 6.0; 7.0; 8.0 |] (Tensor.scalar 2.0 + m23 ())
            Check.tensorEquals "rank 3 with rank 1" 0.0 [| 2; 1; 2 |] [| 2.0; 4.0; 4.0; 6.0 |] (T.FromArray([| 1.0; 2.0; 3.0; 4.0 |], 2, 1, 2) + Tensor.ofList [ 1.0; 2.0 ])
            let a = Tensor.ofList [ 1.0; 5.0; 3.0 ]
            let b = Tensor.ofList [ 4.0; 2.0; 3.0 ]
            Check.tensorEquals "maximum" 0.0 [| 3 |] [| 4.0; 5.0; 3.0 |] (T.Maximum(a, b))
            Check.tensorEquals "minimum" 0.0 [| 3 |] [| 1.0; 2.0; 3.0 |] (T.Minimum(a, b))
            Check.tensorEquals "maximum with a scalar" 0.0 [| 3 |] [| 2.0; 5.0; 3.0 |] (T.Maximum(a, Tensor.scalar 2.0))
            Check.tensorEquals "where" 0.0 [| 3 |] [| 4.0; 5.0; 3.0 |] (T.Where(T.Gt(a, b), a, b))
            Check.tensorEquals "where broadcasting" 0.0 [| 2; 3 |] [| 1.0; 5.0; 3.0; 0.0; 0.0; 0.0 |] (T.Where(col - 1.0, T.Zeros([| 1 |], DType.Float64), a))
            Check.tensorEquals "masks" 0.0 [| 3 |] [| 1.0; 0.0; 1.0 |] (T.Le(a, b))
            Check.tensorEquals "ne" 0.0 [| 3 |] [| 1.0; 1.0; 0.0 |] (T.Ne(a, b))
            // where does not leak an infinity from the branch not taken into the value, and sends a zero
            // gradient to that branch. (As in PyTorch, log's own rule still gives 0/0 at x = 0, so the
            // safe pattern also guards log's argument.)
            let x = (Tensor.ofList [ 0.0; 4.0 ]).RequiresGrad_()
            let positive = T.Gt(x, 0.0)
            let y = T.Where(positive, T.Log(T.Where(positive, x, T.OnesLike x)), T.Zeros([| 2 |], DType.Float64))
            Check.tensorEquals "where value" 0.0 [| 2 |] [| 0.0; log 4.0 |] y
            y.Sum().Backward()
            Check.tensorEquals "where gradient" 0.0 [| 2 |] [| 0.0; 0.25 |] x.Grad
            let inf = T.Where(T.FromArray([| 1.0; 0.0 |]), Tensor.ofList [ 1.0; 2.0 ], Tensor.ofList [ infinity; -infinity ])
            Check.tensorEquals "where with infinities not taken" 0.0 [| 2 |] [| 1.0; -infinity |] inf

        testCase "reductions over all elements and over axes, with keepDim" <| fun () ->
            let m = m23 ()
            Check.tensorEquals "sum" 0.0 [||] [| 21.0 |] (T.Sum m)
            Check.tensorEquals "sum 0" 0.0 [| 3 |] [| 5.0; 7.0; 9.0 |] (T.Sum(m, 0))
            Check.tensorEquals "sum 1 keepDim" 0.0 [| 2; 1 |] [| 6.0; 15.0 |] (T.Sum(m, 1, keepDim = true))
            Check.tensorEquals "sum -1" 0.0 [| 2 |] [| 6.0; 15.0 |] (T.Sum(m, -1))
            Check.tensorEquals "sum all keepDim" 0.0 [| 1; 1 |] [| 21.0 |] (T.Sum(m, [| 0; 1 |], keepDim = true))
            Check.tensorEquals "mean" 0.0 [||] [| 3.5 |] (T.Mean m)
            Check.tensorEquals "mean 0" 0.0 [| 3 |] [| 2.5; 3.5; 4.5 |] (T.Mean(m, 0))
            Check.tensorEquals "max" 0.0 [||] [| 6.0 |] (T.Max m)
            Check.tensorEquals "max 0" 0.0 [| 3 |] [| 4.0; 5.0; 6.0 |] (T.Max(m, 0))
            Check.tensorEquals "min 1 keepDim" 0.0 [| 2; 1 |] [| 1.0; 4.0 |] (T.Min(m, 1, keepDim = true))
            Check.tensorEquals "min" 0.0 [||] [| 1.0 |] (T.Min m)
            Check.tensorEquals "logsumexp 1" 1e-15 [| 2 |] [| log (exp 1.0 + exp 2.0 + exp 3.0); log (exp 4.0 + exp 5.0 + exp 6.0) |] (T.LogSumExp(m, 1))
            Check.tensorEquals "logsumexp all" 1e-15 [||] [| log (Seq.sum [ for v in 1.0 .. 6.0 -> exp v ]) |] (T.LogSumExp m)
            // Non-adjacent axes of a rank-3 tensor.
            let r3 = T.Reshape(T.Arange(24.0, DType.Float64), [| 2; 3; 4 |])
            Check.tensorEquals "sum over [0; 2]" 0.0 [| 3 |] [| 60.0; 92.0; 124.0 |] (T.Sum(r3, [| 0; 2 |]))
            Check.tensorEquals "max over [0; 2] keepDim" 0.0 [| 1; 3; 1 |] [| 15.0; 19.0; 23.0 |] (T.Max(r3, [| 2; 0 |], keepDim = true))
            Check.tensorEquals "sum of a scalar" 0.0 [||] [| 2.0 |] (T.Sum(Tensor.scalar 2.0))
            Check.tensorEquals "var" 1e-15 [| 2 |] [| 1.0; 1.0 |] (T.Var(m, [| 1 |]))
            Check.tensorEquals "argmax" 0.0 [| 2 |] [| 2.0; 2.0 |] (T.ArgMax(m, 1))

        testCase "softmax and log_softmax along an axis" <| fun () ->
            let x = T.FromArray([| 0.0; log 3.0; 1.0; 1.0 |], 2, 2)
            Check.tensorEquals "softmax rows" 1e-15 [| 2; 2 |] [| 0.25; 0.75; 0.5; 0.5 |] (T.Softmax(x, 1))
            Check.tensorEquals "log_softmax rows" 1e-15 [| 2; 2 |] [| log 0.25; log 0.75; log 0.5; log 0.5 |] (T.LogSoftmax(x, -1))
            Check.tensorEquals "softmax columns" 1e-15 [| 2; 2 |] [| 1.0 / (1.0 + Math.E); 0.6; Math.E / (1.0 + Math.E); 0.4 |]
                (T.Softmax(T.FromArray([| 0.0; log 3.0; 1.0; log 2.0 |], 2, 2), 0))
            Check.tensorEquals "float32 softmax" 1e-7 [| 2 |] [| 0.25; 0.75 |] (T.Softmax(T.FromArray([| 0.0f; float32 (log 3.0) |]), 0))

        testCase "matmul: 2-D, batched with broadcast batches, and 1-D operands" <| fun () ->
            let a = m23 ()
            let b = T.FromArray([| 1.0; 0.0; 0.0; 1.0; 1.0; 1.0 |], 3, 2)
            Check.tensorEquals "2-D" 0.0 [| 2; 2 |] [| 4.0; 5.0; 10.0; 11.0 |] (T.MatMul(a, b))
            Check.tensorEquals "matrix @ vector" 0.0 [| 2 |] [| 6.0; 15.0 |] (T.MatMul(a, Tensor.ofList [ 1.0; 1.0; 1.0 ]))
            Check.tensorEquals "vector @ matrix" 0.0 [| 3 |] [| 5.0; 7.0; 9.0 |] (T.MatMul(Tensor.ofList [ 1.0; 1.0 ], a))
            Check.tensorEquals "vector @ vector" 0.0 [||] [| 14.0 |] (T.MatMul(Tensor.ofList [ 1.0; 2.0; 3.0 ], Tensor.ofList [ 1.0; 2.0; 3.0 ]))
            let batch = T.Stack([ a; a * 2.0 ])
            Check.tensorEquals "batched @ 2-D" 0.0 [| 2; 2; 2 |] [| 4.0; 5.0; 10.0; 11.0; 8.0; 10.0; 20.0; 22.0 |] (T.MatMul(batch, b))
            Check.tensorEquals "[2,1,2,3] @ [3,3,2]" 0.0 [| 2; 3; 2; 2 |]
                [| for s in [ 1.0; 2.0 ] do for t in [ 1.0; 2.0; 3.0 ] do yield! [| 4.0; 5.0; 10.0; 11.0 |] |> Array.map (fun v -> v * s * t) |]
                (T.MatMul(T.Reshape(batch, [| 2; 1; 2; 3 |]), T.Stack([ b; b * 2.0; b * 3.0 ])))
            Check.tensorEquals "batched @ vector" 0.0 [| 2; 2 |] [| 6.0; 15.0; 12.0; 30.0 |] (T.MatMul(batch, Tensor.ofList [ 1.0; 1.0; 1.0 ]))
            Check.tensorEquals "float32" 0.0 [| 1; 1 |] [| 11.0 |] (T.MatMul(T.FromArray([| 1.0f; 2.0f |], 1, 2), T.FromArray([| 3.0f; 4.0f |], 2, 1)))
            Check.tensorEquals "identity" 0.0 [| 2; 3 |] (a.ToDoubleArray()) (T.MatMul(Tensor.eye DType.Float64 2, a))

        testCase "shape ops: reshape, permute, transpose, expand, squeeze, unsqueeze, flatten" <| fun () ->
            let m = m23 ()
            Check.tensorEquals "reshape" 0.0 [| 3; 2 |] [| 1.0 .. 6.0 |] (T.Reshape(m, [| 3; -1 |]))
            Check.tensorEquals "transpose" 0.0 [| 3; 2 |] [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |] (T.Transpose m)
            Check.tensorEquals "transpose of a vector" 0.0 [| 2 |] [| 1.0; 2.0 |] (T.Transpose(Tensor.ofList [ 1.0; 2.0 ]))
            let r3 = T.Reshape(T.Arange(24.0, DType.Float64), [| 2; 3; 4 |])
            let p = T.Permute(r3, [| 2; 0; 1 |])
            Check.shapeIs "permute" [| 4; 2; 3 |] p
            Expect.equal (p.ItemAt(3, 1, 2)) (r3.ItemAt(1, 2, 3)) "p.ItemAt(3, 1, 2)"
            Expect.equal ((T.Transpose(r3, 0, -1)).ItemAt(3, 1, 0)) (r3.ItemAt(0, 1, 3)) "(T.Transpose(r3, 0, -1)).ItemAt(3, 1, 0)"
            Check.tensorEquals "expand" 0.0 [| 2; 2; 3 |] [| 1.0; 1.0; 1.0; 2.0; 2.0; 2.0; 1.0; 1.0; 1.0; 2.0; 2.0; 2.0 |] (T.Expand(T.FromArray([| 1.0; 2.0 |], 2, 1), [| 2; -1; 3 |]))
            Check.shapeIs "unsqueeze 0" [| 1; 2; 3 |] (T.Unsqueeze(m, 0))
            Check.shapeIs "unsqueeze -1" [| 2; 3; 1 |] (T.Unsqueeze(m, -1))
            Check.shapeIs "squeeze all" [| 2; 3 |] (T.Squeeze(T.Reshape(m, [| 1; 2; 1; 3; 1 |])))
            Check.shapeIs "squeeze one" [| 2; 1; 3 |] (T.Squeeze(T.Reshape(m, [| 1; 2; 1; 3 |]), 0))
            Check.shapeIs "squeeze of a dimension that is not 1" [| 2; 3 |] (T.Squeeze(m, 1))
            Check.shapeIs "flatten" [| 24 |] (T.Flatten r3)
            Check.shapeIs "flatten 1.." [| 2; 12 |] (T.Flatten(r3, 1))

        testCase "slicing, select, narrow, gather, concat and stack" <| fun () ->
            let x = T.Arange(10.0, DType.Float64)
            Check.tensorEquals "slice step 3" 0.0 [| 4 |] [| 0.0; 3.0; 6.0; 9.0 |] (T.Slice(x, 0, 0, 10, 3))
            Check.tensorEquals "slice negative bounds" 0.0 [| 3 |] [| 6.0; 7.0; 8.0 |] (T.Slice(x, 0, -4, -1))
            Check.tensorEquals "slice clipped" 0.0 [| 2 |] [| 8.0; 9.0 |] (T.Slice(x, 0, 8, 100))
            Check.tensorEquals "empty slice" 0.0 [| 0 |] [||] (T.Slice(x, 0, 5, 2))
            Check.tensorEquals "sliceStep" 0.0 [| 3 |] [| 1.0; 3.0; 5.0 |] (x |> Tensor.sliceStep 0 1 7 2)
            let m = m23 ()
            Check.tensorEquals "slice along 1 with step" 0.0 [| 2; 2 |] [| 1.0; 3.0; 4.0; 6.0 |] (T.Slice(m, 1, 0, 3, 2))
            Check.tensorEquals "select column" 0.0 [| 2 |] [| 2.0; 5.0 |] (T.Select(m, 1, 1))
            Check.tensorEquals "select from the end" 0.0 [| 3 |] [| 4.0; 5.0; 6.0 |] (T.Select(m, 0, -1))
            Check.tensorEquals "narrow" 0.0 [| 2; 2 |] [| 2.0; 3.0; 5.0; 6.0 |] (T.Narrow(m, 1, 1, 2))
            Check.tensorEquals "gather" 0.0 [| 2; 2 |] [| 3.0; 1.0; 5.0; 5.0 |] (T.Gather(m, 1, T.FromArray([| 2; 0; 1; 1 |], 2, 2)))
            Check.tensorEquals "gather along 0" 0.0 [| 1; 3 |] [| 4.0; 2.0; 6.0 |] (T.Gather(m, 0, T.FromArray([| 1; 0; 1 |], 1, 3)))
            Check.tensorEquals "scatter_add" 0.0 [| 3 |] [| 3.0; 0.0; 1.0 |] (T.ScatterAdd(T.Zeros([| 3 |], DType.Float64), 0, Tensor.ofInts [ 0; 2; 0 ], Tensor.ofList [ 1.0; 1.0; 2.0 ]))
            Check.tensorEquals "concat 0" 0.0 [| 3; 3 |] [| 1.0 .. 9.0 |] (T.Concat([ m; T.FromArray([| 7.0; 8.0; 9.0 |], 1, 3) ], 0))
            Check.tensorEquals "concat 1" 0.0 [| 2; 4 |] [| 1.0; 2.0; 3.0; 0.0; 4.0; 5.0; 6.0; 0.0 |] (Tensor.concat 1 [ m; T.Zeros([| 2; 1 |], DType.Float64) ])
            Check.tensorEquals "stack 0" 0.0 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] (T.Stack([ Tensor.ofList [ 1.0; 2.0 ]; Tensor.ofList [ 3.0; 4.0 ] ]))
            Check.tensorEquals "stack -1" 0.0 [| 2; 2 |] [| 1.0; 3.0; 2.0; 4.0 |] (Tensor.stack -1 [ Tensor.ofList [ 1.0; 2.0 ]; Tensor.ofList [ 3.0; 4.0 ] ])
            Check.tensorEquals "stack scalars" 0.0 [| 2 |] [| 1.0; 2.0 |] (T.Stack([ Tensor.scalar 1.0; Tensor.scalar 2.0 ]))

        testCase "dtype promotion follows PyTorch" <| fun () ->
            let f32 = T.FromArray([| 1.0f; 2.0f |])
            let f64 = T.FromArray([| 0.5; 0.25 |])
            let sum = f32 + f64
            Expect.equal sum.DType DType.Float64 "float32 vector + float64 vector"
            Check.tensorEquals "mixed sum" 0.0 [| 2 |] [| 1.5; 2.25 |] sum
            Expect.equal (f64 * f32).DType DType.Float64 "(f64 * f32).DType"
            Expect.equal (f32 * Tensor.scalar 2.0).DType DType.Float32 "a rank-0 float64 with a float32 vector stays float32"
            Expect.equal (Tensor.scalar 2.0 - f32).DType DType.Float32 "(Tensor.scalar 2.0 - f32).DType"
            Expect.equal (T.Scalar(1.0, DType.Float32) + T.Scalar(1.0, DType.Float64)).DType DType.Float64 "two scalars promote"
            Expect.equal (T.Scalar(2.0, DType.Float32) * f64).DType DType.Float64 "(T.Scalar(2.0, DType.Float32) * f64).DType"
            Expect.equal (T.MatMul(T.FromArray([| 1.0f |], 1, 1), T.FromArray([| 2.0 |], 1, 1))).DType DType.Float64 "(T.MatMul(T.FromArray([| 1.0f |], 1, 1), T.FromArray([| 2.0 |], 1, 1))).DType"
            Expect.equal (T.Concat([ f32; f64 ])).DType DType.Float64 "(T.Concat([ f32; f64 ])).DType"
            Expect.equal (T.Where(T.Gt(f32, 1.5), f32, f64)).DType DType.Float64 "(T.Where(T.Gt(f32, 1.5), f32, f64)).DType"
            Expect.equal (f32 * 2.0).DType DType.Float32 "(f32 * 2.0).DType"
            Expect.equal (T.ToType(f32, DType.Float64)).DType DType.Float64 "(T.ToType(f32, DType.Float64)).DType"
            Check.tensorEquals "ToType int64 truncates" 0.0 [| 2 |] [| 1.0; -2.0 |] (T.ToType(Tensor.ofList [ 1.7; -2.7 ], DType.Int64))
    ]
