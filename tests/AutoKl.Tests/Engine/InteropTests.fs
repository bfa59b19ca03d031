/// F# interop: the built-in math functions and operators, number literals of every F# type on
/// either side, conversions, pown, Seq.sum, pipelines, slicing and the creation functions, on
/// float32 and float64 alike.
module AutoKl.Tests.Engine.InteropTests

open System
open AutoKl
open AutoKl.Tests.Support
open Expecto

type T = AutoKl.Tensor

let dtypes = [ DType.Float32; DType.Float64 ]
let private tol (dtype: DType) = if dtype = DType.Float32 then 1e-6 else 1e-15
let private values = [| 0.5; 1.0; 2.0; 4.0 |]
let private make dtype = T.FromArray(values, [| 4 |], dtype)

/// Runs the F# expression on a tensor of each dtype and on the plain values, and compares.
let private agrees (what: string) (onTensor: Tensor -> Tensor) (onFloat: float -> float) (dtype: DType) =
    let y = onTensor (make dtype)
    Expect.equal y.DType dtype (sprintf "%s keeps %A" what dtype)
    Check.arraysClose what (tol dtype) 0.0 (Array.map onFloat values) (y.ToDoubleArray())

[<Tests>]
let tests =
    testList "Engine.Interop" [
        testList "F# math functions" [
            for dtype in dtypes ->
                testCase (string dtype) <| fun () ->
                    agrees "log" log log dtype
                    agrees "exp" exp exp dtype
                    agrees "sqrt" sqrt sqrt dtype
                    agrees "abs" (fun x -> abs (-x)) (fun v -> abs (-v)) dtype
                    agrees "tanh" tanh tanh dtype
                    agrees "sin" sin sin dtype
                    agrees "cos" cos cos dtype
                    agrees "floor" (fun x -> floor (x * 1.5)) (fun v -> floor (v * 1.5)) dtype
                    agrees "ceil" (fun x -> ceil (x * 1.5)) (fun v -> ceil (v * 1.5)) dtype
                    agrees "round" (fun x -> round (x * 1.5)) (fun v -> Math.Round(v * 1.5, MidpointRounding.ToEven)) dtype
        ]

        testList "F# operators with literals of every numeric type on both sides" [
            for dtype in dtypes ->
                testCase (string dtype) <| fun () ->
                    agrees "x ** 2.0" (fun x -> x ** 2.0) (fun v -> v ** 2.0) dtype
                    agrees "x ** 2" (fun x -> x ** 2) (fun v -> v ** 2.0) dtype
                    agrees "x ** 0.5f" (fun x -> x ** 0.5f) sqrt dtype
                    agrees "2.0 * x" (fun x -> 2.0 * x) (fun v -> 2.0 * v) dtype
                    agrees "x * 2.0f" (fun x -> x * 2.0f) (fun v -> 2.0 * v) dtype
                    agrees "3 * x" (fun x -> 3 * x) (fun v -> 3.0 * v) dtype
                    agrees "x / 3" (fun x -> x / 3) (fun v -> v / 3.0) dtype
                    agrees "1.0 / x" (fun x -> 1.0 / x) (fun v -> 1.0 / v) dtype
                    agrees "x / 0.5f" (fun x -> x / 0.5f) (fun v -> v * 2.0) dtype
                    agrees "3 - x" (fun x -> 3 - x) (fun v -> 3.0 - v) dtype
                    agrees "x - 1.5" (fun x -> x - 1.5) (fun v -> v - 1.5) dtype
                    agrees "2.5f - x" (fun x -> 2.5f - x) (fun v -> 2.5 - v) dtype
                    agrees "x + 1" (fun x -> x + 1) (fun v -> v + 1.0) dtype
                    agrees "0.5 + x" (fun x -> 0.5 + x) (fun v -> 0.5 + v) dtype
                    agrees "x + 0.25f" (fun x -> x + 0.25f) (fun v -> v + 0.25) dtype
                    agrees "-x" (fun x -> -x) (fun v -> -v) dtype
                    agrees "+x" (fun x -> +x) id dtype
                    agrees "pown x 3" (fun x -> pown x 3) (fun v -> v * v * v) dtype
                    agrees "pown x 0" (fun x -> pown x 0 * x) id dtype
                    agrees "pown x -2" (fun x -> pown x -2) (fun v -> 1.0 / (v * v)) dtype
                    agrees "an expression" (fun x -> log x + 2.0 * x ** 2.0 - x / 3 + exp x - sqrt x + abs (-x) + tanh x + 1.0f * x)
                        (fun v -> log v + 2.0 * v * v - v / 3.0 + exp v - sqrt v + v + tanh v + v) dtype
        ]

        testList "float, float32, Seq.sum, List.average and pipelines" [
            for dtype in dtypes ->
                testCase (string dtype) <| fun () ->
                    let x = make dtype
                    let s = Tensor.sum x
                    Expect.equal (float s) 7.5 "float s"
                    Expect.equal (float32 s) 7.5f "float32 s"
                    Expect.floatClose { absolute = tol dtype * 4.0; relative = 0.0 } (float (x |> Tensor.log |> Tensor.sum)) (log 4.0) "float (x |> Tensor.log |> Tensor.sum)"
                    Expect.floatClose { absolute = 1e-5; relative = 0.0 } (x |> Tensor.exp |> Tensor.mean |> float) ((Array.sumBy exp values) / 4.0) "x |> Tensor.exp |> Tensor.mean |> float"
                    let y = x * 2.0
                    let total = Seq.sum [ x; y ]
                    Expect.equal total.DType dtype "dtype of total"
                    Check.arraysClose "Seq.sum of vectors" (tol dtype) 0.0 (values |> Array.map ((*) 3.0)) (total.ToDoubleArray())
                    // Scalars (losses) summed with Seq.sum keep their dtype: Tensor.Zero acts as a plain number.
                    let losses = [ Tensor.sum x; Tensor.mean x; Tensor.max x ]
                    let totalLoss = Seq.sum losses
                    Expect.equal totalLoss.DType dtype "Seq.sum of scalars"
                    Expect.equal totalLoss.Rank 0 "totalLoss.Rank"
                    Expect.floatClose { absolute = 1e-6; relative = 0.0 } (float totalLoss) (7.5 + 1.875 + 4.0) "float totalLoss"
                    let average = List.average losses
                    Expect.equal average.DType dtype "List.average"
                    Expect.floatClose { absolute = 1e-6; relative = 0.0 } (float average) ((7.5 + 1.875 + 4.0) / 3.0) "float average"
                    Expect.equal (pown (Tensor.sum x) 2).DType dtype "pown of a scalar"
                    Check.throwsAutoKl [ "item"; "[4]" ] (fun () -> float x) |> ignore
        ]

        testList "F# slicing" [
            for dtype in dtypes ->
                testCase (string dtype) <| fun () ->
                    let x = T.FromArray([| 0.0 .. 5.0 |], [| 6 |], dtype)
                    Check.tensorEquals "x.[1..2]" 0.0 [| 2 |] [| 1.0; 2.0 |] x.[1..2]
                    Check.tensorEquals "x.[3..]" 0.0 [| 3 |] [| 3.0; 4.0; 5.0 |] x.[3..]
                    Check.tensorEquals "x.[..1]" 0.0 [| 2 |] [| 0.0; 1.0 |] x.[..1]
                    Expect.equal x.[1..2].DType dtype "x.[1..2].DType"
                    let m = T.Reshape(x, [| 2; 3 |])
                    Check.tensorEquals "m.[0, 1..]" 0.0 [| 2 |] [| 1.0; 2.0 |] m.[0, 1..]
                    Check.tensorEquals "m.[1]" 0.0 [| 3 |] [| 3.0; 4.0; 5.0 |] m.[1]
                    Check.tensorEquals "m.[1, 2]" 0.0 [||] [| 5.0 |] m.[1, 2]
                    Check.tensorEquals "m.[0..1, 2]" 0.0 [| 2 |] [| 2.0; 5.0 |] m.[0..1, 2]
                    Check.tensorEquals "m.[*, 1..]" 0.0 [| 2; 2 |] [| 1.0; 2.0; 4.0; 5.0 |] m.[*, 1..]
                    Check.tensorEquals "m.[-1]" 0.0 [| 3 |] [| 3.0; 4.0; 5.0 |] m.[-1]
                    // Slices are differentiable: the gradient lands in the sliced positions.
                    let g = grad (fun m -> m.[0, 1..] |> Tensor.sum) (T.ToType(m, DType.Float64))
                    Check.tensorEquals "gradient of a slice" 0.0 [| 2; 3 |] [| 0.0; 1.0; 1.0; 0.0; 0.0; 0.0 |] g
        ]

        testList "float32 stays float32 and float64 stays float64 with F# float literals" [
            for dtype in dtypes ->
                testCase (string dtype) <| fun () ->
                    let x = make dtype
                    for y in [ x * 2.0; 2.0 * x; x + 1.0f; x / 3; x ** 2.0; Tensor.clamp 0.0 1.0 x; T.Softplus(x, 2.0); T.Pow(2.0, x); T.Maximum(x, T.Scalar 1.0) ] do
                        Expect.equal y.DType dtype "dtype of y"
        ]

        testCase "creation functions" <| fun () ->
            Check.tensorEquals "ofList" 0.0 [| 3 |] [| 1.0; 2.0; 3.0 |] (Tensor.ofList [ 1.0; 2.0; 3.0 ])
            Expect.equal (Tensor.ofList [ 1.0 ]).DType DType.Float64 "(Tensor.ofList [ 1.0 ]).DType"
            Expect.equal (Tensor.ofList32 [ 1.0f ]).DType DType.Float32 "(Tensor.ofList32 [ 1.0f ]).DType"
            Expect.equal (Tensor.ofArray32 [| 1.0f |]).DType DType.Float32 "(Tensor.ofArray32 [| 1.0f |]).DType"
            Check.tensorEquals "ofList2D" 0.0 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] (Tensor.ofList2D [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])
            Check.tensorEquals "ofArray2D" 0.0 [| 1; 2 |] [| 1.0; 2.0 |] (Tensor.ofArray2D (array2D [ [ 1.0; 2.0 ] ]))
            Check.tensorEquals "FromArray float32[,]" 0.0 [| 2; 1 |] [| 1.0; 2.0 |] (T.FromArray(array2D [ [ 1.0f ]; [ 2.0f ] ]))
            Check.tensorEquals "scalar" 0.0 [||] [| 2.5 |] (Tensor.scalar 2.5)
            Check.tensorEquals "FromArray with an empty shape is rank 0" 0.0 [||] [| 2.5 |] (T.FromArray([| 2.5 |], [||]))
            Check.tensorEquals "FromArray without a shape is 1-D" 0.0 [| 1 |] [| 2.5 |] (T.FromArray([| 2.5 |]))
            Check.tensorEquals "zeros" 0.0 [| 2; 3 |] (Array.zeroCreate 6) (Tensor.zeros DType.Float32 [ 2; 3 ])
            Check.tensorEquals "ones" 0.0 [| 2 |] [| 1.0; 1.0 |] (Tensor.ones DType.Float64 [ 2 ])
            Check.tensorEquals "full" 0.0 [| 2; 2 |] (Array.create 4 7.5) (Tensor.full DType.Float32 [ 2; 2 ] 7.5)
            Check.tensorEquals "zeros rank 0" 0.0 [||] [| 0.0 |] (Tensor.zeros DType.Float64 [])
            Check.tensorEquals "linspace" 1e-15 [| 5 |] [| 0.0; 0.25; 0.5; 0.75; 1.0 |] (Tensor.linspace DType.Float64 0.0 1.0 5)
            Check.tensorEquals "linspace float32" 1e-7 [| 3 |] [| -1.0; 0.0; 1.0 |] (Tensor.linspace DType.Float32 -1.0 1.0 3)
            Check.tensorEquals "linspace of 1" 0.0 [| 1 |] [| 3.0 |] (T.Linspace(3.0, 9.0, 1))
            Check.tensorEquals "arange" 0.0 [| 4 |] [| 0.0; 1.0; 2.0; 3.0 |] (T.Arange(4.0))
            Check.tensorEquals "arange with a step" 1e-15 [| 3 |] [| 1.0; 1.5; 2.0 |] (Tensor.arange DType.Float64 1.0 2.5 0.5)
            Check.tensorEquals "arange downwards" 0.0 [| 3 |] [| 3.0; 2.0; 1.0 |] (Tensor.arange DType.Float32 3.0 0.0 -1.0)
            Check.tensorEquals "eye" 0.0 [| 3; 3 |] [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |] (Tensor.eye DType.Float64 3)
            Expect.equal (Tensor.eye DType.Float32 2).DType DType.Float32 "(Tensor.eye DType.Float32 2).DType"
            Expect.equal (T.Zeros([| 2 |])).DType DType.Float32 "float32 by default, as PyTorch"
            Check.tensorEquals "ZerosLike" 0.0 [| 2 |] [| 0.0; 0.0 |] (T.ZerosLike(Tensor.ofList [ 1.0; 2.0 ]))
            Check.tensorEquals "OnesLike" 0.0 [| 1 |] [| 1.0 |] (T.OnesLike(Tensor.ofList [ 5.0 ]))
            Check.tensorEquals "ofInts" 0.0 [| 2 |] [| 3.0; 1.0 |] (Tensor.ofInts [ 3; 1 ])
            Expect.equal (Tensor.ofInts [ 3 ]).DType DType.Int64 "(Tensor.ofInts [ 3 ]).DType"

        // Generator.ManualSeed replaces the process-wide default generator: run alone.
        testSequenced (
            testCase "random tensors are reproducible with the same seed and differ with another" <| fun () ->
                for dtype in dtypes do
                    let a = Tensor.randn (Generator 42) dtype [ 3; 4 ]
                    let b = Tensor.randn (Generator 42) dtype [ 3; 4 ]
                    let c = Tensor.randn (Generator 43) dtype [ 3; 4 ]
                    Expect.equal a.DType dtype "dtype of a"
                    Check.tensorClose "same seed" 0.0 0.0 a b
                    Expect.isFalse (a.AllClose(c)) "another seed"
                    let u = Tensor.rand (Generator 7) dtype [ 1000 ]
                    let uv = u.ToDoubleArray()
                    Expect.isTrue (Array.forall (fun v -> v >= 0.0 && v < 1.0) uv) "uniform in [0, 1)"
                    Expect.floatClose { absolute = 0.05; relative = 0.0 } (Array.average uv) 0.5 "Array.average uv"
                // Moments of a large normal sample.
                let n = (Tensor.randn (Generator 1) DType.Float64 [ 20000 ]).ToDoubleArray()
                Expect.floatClose { absolute = 0.03; relative = 0.0 } (Array.average n) 0.0 "Array.average n"
                Expect.floatClose { absolute = 0.05; relative = 0.0 } (Array.averageBy (fun v -> v * v) n) 1.0 "Array.averageBy (fun v -> v * v) n"
                // The default generator reseeds with ManualSeed.
                Generator.ManualSeed 5
                let d1 = T.RandN([| 4 |])
                Generator.ManualSeed 5
                Check.tensorClose "ManualSeed" 0.0 0.0 d1 (T.RandN([| 4 |]))
                Check.tensorEquals "Rand range" 0.0 [| 2 |] (T.Rand([| 2 |], Generator 3, DType.Float64, 2.0, 2.0).ToDoubleArray()) (T.Full([| 2 |], 2.0, DType.Float64))
        )

        testCase "ToString shows values, dtype and the recording" <| fun () ->
            Expect.equal ((Tensor.ofList [ 1.0; 2.5 ]).ToString()) "tensor([1, 2.5], dtype=float64)" "(Tensor.ofList [ 1.0; 2.5 ]).ToString()"
            Expect.equal ((Tensor.ofList32 [ 1.0f ] |> Tensor.requiresGrad).ToString()) "tensor([1], requires_grad=True)" "(Tensor.ofList32 [ 1.0f ] |> Tensor.requiresGrad).ToString()"
            let y = (Tensor.ofList32 [ 1.0f ] |> Tensor.requiresGrad) * 2.0
            Expect.equal (y.ToString()) "tensor([2], grad_fn=<mul>)" "y.ToString()"

        testCase "every pipeable module function matches its C# method" <| fun () ->
            let x = T.FromArray([| 0.5; -1.5; 2.0; 0.25; -0.75; 1.25 |], 2, 3)
            let y = T.FromArray([| 1.5; 0.5; -2.0 |])
            let p = T.Abs x + 0.5
            let same (name: string) (expected: Tensor) (actual: Tensor) = Check.tensorClose name 0.0 0.0 expected actual
            same "neg" (T.Neg x) (x |> Tensor.neg)
            same "exp" (T.Exp x) (x |> Tensor.exp)
            same "log" (T.Log p) (p |> Tensor.log)
            same "log1p" (T.Log1p p) (p |> Tensor.log1p)
            same "expm1" (T.Expm1 x) (x |> Tensor.expm1)
            same "sqrt" (T.Sqrt p) (p |> Tensor.sqrt)
            same "abs" (T.Abs x) (x |> Tensor.abs)
            same "sigmoid" (T.Sigmoid x) (x |> Tensor.sigmoid)
            same "tanh" (T.Tanh x) (x |> Tensor.tanh)
            same "relu" (T.Relu x) (x |> Tensor.relu)
            same "softplus" (T.Softplus x) (x |> Tensor.softplus)
            same "sin" (T.Sin x) (x |> Tensor.sin)
            same "cos" (T.Cos x) (x |> Tensor.cos)
            same "tan" (T.Tan x) (x |> Tensor.tan)
            same "erf" (T.Erf x) (x |> Tensor.erf)
            same "lgamma" (T.Lgamma p) (p |> Tensor.lgamma)
            same "square" (x * x) (x |> Tensor.square)
            same "sign" (T.Sign x) (x |> Tensor.sign)
            same "floor" (T.Floor x) (x |> Tensor.floor)
            same "ceil" (T.Ceiling x) (x |> Tensor.ceil)
            same "round" (T.Round x) (x |> Tensor.round)
            same "reciprocal" (1.0 / x) (x |> Tensor.reciprocal)
            same "clamp" (T.Clamp(x, -1.0, 1.0)) (x |> Tensor.clamp -1.0 1.0)
            same "pow" (T.Pow(p, 1.5)) (p |> Tensor.pow 1.5)
            same "powBase" (T.Pow(2.0, x)) (x |> Tensor.powBase 2.0)
            same "powt" (T.Pow(p, y)) (Tensor.powt p y)
            same "xlogy" (T.Xlogy(p, p)) (Tensor.xlogy p p)
            same "ge" (T.Ge(x, y)) (Tensor.ge x y)
            same "le" (T.Le(x, y)) (Tensor.le x y)
            same "ne" (T.Ne(x, y)) (Tensor.ne x y)
            same "gt" (T.Gt(x, y)) (Tensor.gt x y)
            same "lt" (T.Lt(x, y)) (Tensor.lt x y)
            same "eq" (T.Eq(x, x)) (Tensor.eq x x)
            same "isFinite" (T.IsFinite(T.Log x)) (T.Log x |> Tensor.isFinite)
            same "where" (T.Where(T.Gt(x, y), x, y)) (Tensor.where (T.Gt(x, y)) x y)
            same "sumDim" (T.Sum(x, 1)) (x |> Tensor.sumDim 1)
            same "sumDims" (T.Sum(x, [| 0; 1 |], true)) (x |> Tensor.sumDimsKeep [ 0; 1 ])
            same "meanDim" (T.Mean(x, 0)) (x |> Tensor.meanDim 0)
            same "meanDims" (T.Mean(x, [| 1 |], true)) (x |> Tensor.meanDimsKeep [ 1 ])
            same "max" (T.Max x) (x |> Tensor.max)
            same "maxDim" (T.Max(x, 1)) (x |> Tensor.maxDim 1)
            same "maxDims" (T.Max(x, [| 0 |], true)) (x |> Tensor.maxDimsKeep [ 0 ])
            same "min" (T.Min x) (x |> Tensor.min)
            same "minDim" (T.Min(x, 0)) (x |> Tensor.minDim 0)
            same "minDims" (T.Min(x, [| 1 |], false)) (x |> Tensor.minDims [ 1 ])
            same "logsumexp" (T.LogSumExp x) (x |> Tensor.logsumexp)
            same "logsumexpDim" (T.LogSumExp(x, 1)) (x |> Tensor.logsumexpDim 1)
            same "logsumexpDims" (T.LogSumExp(x, [| 0 |], true)) (x |> Tensor.logsumexpDimsKeep [ 0 ])
            same "var" (T.Var(x, [| 1 |])) (x |> Tensor.varDim 1)
            same "std" (T.Std(x, [| 1 |])) (x |> Tensor.stdDim 1)
            same "argmax" (T.ArgMax(x, 1)) (x |> Tensor.argmax 1)
            same "argmin" (T.ArgMin(x, 1)) (x |> Tensor.argmin 1)
            same "softmax" (T.Softmax(x, 1)) (x |> Tensor.softmax 1)
            same "logSoftmax" (T.LogSoftmax(x, 0)) (x |> Tensor.logSoftmax 0)
            same "reshape" (T.Reshape(x, [| 3; 2 |])) (x |> Tensor.reshape [ 3; 2 ])
            same "permute" (T.Permute(x, [| 1; 0 |])) (x |> Tensor.permute [ 1; 0 ])
            same "transpose" (T.Transpose x) (x |> Tensor.transpose)
            same "transposeDims" (T.Transpose(x, 0, 1)) (x |> Tensor.transposeDims 0 1)
            same "expand" (T.Expand(y, [| 2; 3 |])) (y |> Tensor.expand [ 2; 3 ])
            same "squeeze" (T.Squeeze(T.Unsqueeze(x, 0))) (T.Unsqueeze(x, 0) |> Tensor.squeeze)
            same "squeezeDim" (T.Squeeze(T.Unsqueeze(x, 1), 1)) (T.Unsqueeze(x, 1) |> Tensor.squeezeDim 1)
            same "unsqueeze" (T.Unsqueeze(x, 2)) (x |> Tensor.unsqueeze 2)
            same "flatten" (T.Flatten x) (x |> Tensor.flatten)
            same "slice" (T.Slice(x, 1, 1, 3)) (x |> Tensor.slice 1 1 3)
            same "narrow" (T.Narrow(x, 1, 0, 2)) (x |> Tensor.narrow 1 0 2)
            same "select" (T.Select(x, 1, 2)) (x |> Tensor.select 1 2)
            let index = T.FromArray([| 2; 0 |], 2, 1)
            same "gather" (T.Gather(x, 1, index)) (x |> Tensor.gather 1 index)
            same "scatterAdd" (T.ScatterAdd(x, 1, index, T.OnesLike(T.Gather(x, 1, index)))) (x |> Tensor.scatterAdd 1 index (T.Ones([| 2; 1 |], DType.Float64)))
            same "concat" (T.Concat([ x; x ], 1)) (Tensor.concat 1 [ x; x ])
            same "stack" (T.Stack([ x; x ], 2)) (Tensor.stack 2 [ x; x ])
            same "matmul" (T.MatMul(x, y)) (Tensor.matmul x y)
            same "toType" (T.ToType(x, DType.Float32)) (x |> Tensor.toType DType.Float32)
            Expect.isTrue (Tensor.shape x = [| 2; 3 |]) "Tensor.shape"
            Expect.equal (Tensor.toFloat (Tensor.sum x)) 1.75 "Tensor.toFloat (Tensor.sum x)"
            Check.arraysClose "toArray" 0.0 0.0 (x.ToDoubleArray()) (Tensor.toArray x)
            Expect.isTrue (Tensor.toArray32 y = [| 1.5f; 0.5f; -2.0f |]) "Tensor.toArray32"
            let leaf = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
            (leaf * leaf |> Tensor.sum).Backward()
            Check.arraysClose "Tensor.grad" 0.0 0.0 [| 2.0; 4.0 |] (leaf |> Tensor.grad |> Tensor.toArray)
            Expect.isFalse (leaf |> Tensor.detach).RequiresGrad "(leaf |> Tensor.detach).RequiresGrad"
    ]
