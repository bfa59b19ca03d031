/// Forward values against naive element-by-element reference implementations written here
/// (index arithmetic, no shortcuts), over generated shapes: broadcasting, reductions over any
/// axes, permute, slicing with a step, gather, matmul with broadcast batches. And float32
/// against float64 for every op, so a kernel that goes wrong for one element type shows up.
module AutoKl.Tests.Engine.ReferenceTests

open System
open AutoKl
open AutoKl.Tests.Support
open AutoKl.Tests.Engine.Generators
open Expecto

type T = AutoKl.Tensor

let private numel (shape: int[]) = Array.fold (*) 1 shape

/// Row-major coordinates of a flat position.
let private unravel (shape: int[]) (flat: int) =
    let index = Array.zeroCreate shape.Length
    let mutable rest = flat
    for d in shape.Length - 1 .. -1 .. 0 do
        index.[d] <- rest % shape.[d]
        rest <- rest / shape.[d]
    index

let private ravel (shape: int[]) (index: int[]) = Array.fold2 (fun acc i n -> acc * n + i) 0 index shape

/// The element of `x` that output coordinates `index` (of a larger broadcast shape) read.
let private broadcastRead (x: Tensor) (index: int[]) =
    let lead = index.Length - x.Rank
    x.ItemAt(Array.init x.Rank (fun d -> if x.Shape.[d] = 1 then 0 else index.[lead + d]))

let private broadcastShape (a: int[]) (b: int[]) =
    let rank = max a.Length b.Length
    let at (s: int[]) i = if i < rank - s.Length then 1 else s.[i - (rank - s.Length)]
    Array.init rank (fun i -> max (at a i) (at b i))

let private naiveBinary (f: float -> float -> float) (a: Tensor) (b: Tensor) =
    let shape = broadcastShape a.Shape b.Shape
    Array.init (numel shape) (fun k -> let i = unravel shape k in f (broadcastRead a i) (broadcastRead b i))

[<Tests>]
let tests =
    testList "Engine.Reference" [
        testPropertyWithConfig engineConfig "binary ops with broadcasting match an element-by-element reference" <| fun (p: BroadcastPair) (seed: int) ->
            let a, b = normal seed p.A, normal (seed + 1) p.B |> awayFrom 0.0 0.1
            let shape = broadcastShape p.A p.B
            let cases : (string * (Tensor -> Tensor -> Tensor) * (float -> float -> float)) list =
                [ "add", Tensor.add, (+); "sub", Tensor.sub, (-); "mul", Tensor.mul, (*); "div", Tensor.div, (/)
                  "maximum", Tensor.maximum, max; "minimum", Tensor.minimum, min
                  "pow", (fun a b -> T.Pow(T.Abs a, b)), (fun a b -> Math.Pow(abs a, b))
                  "gt", Tensor.gt, (fun a b -> if a > b then 1.0 else 0.0)
                  "where", (fun a b -> T.Where(T.Gt(a, 0.0), a, b)), (fun a b -> if a > 0.0 then a else b) ]
            for name, op, reference in cases do
                Check.tensorEquals name 1e-14 shape (naiveBinary reference a b) (op a b)

        testPropertyWithConfig engineConfig "reductions over any axes match an element-by-element reference" <| fun (r: Reduction) (seed: int) ->
            let x = normal seed r.Dims
            let rank = r.Dims.Length
            let axes = if r.Axes.Length = 0 then Array.init rank id else r.Axes |> Array.map (fun a -> (a + rank) % rank)
            let kept = r.Dims |> Array.mapi (fun d n -> if Array.contains d axes then 1 else n)
            let outShape = if r.KeepDim then kept else r.Dims |> Array.indexed |> Array.filter (fun (d, _) -> not (Array.contains d axes)) |> Array.map snd
            let groups = Array.init (numel kept) (fun _ -> ResizeArray<float>())
            for k in 0 .. x.Numel - 1 do
                let i = unravel r.Dims k
                let target = i |> Array.mapi (fun d v -> if Array.contains d axes then 0 else v)
                groups.[ravel kept target].Add(x.ToDoubleArray().[k])
            let cases : (string * (Tensor -> Tensor) * (float seq -> float)) list =
                [ "sum", (fun x -> T.Sum(x, r.Axes, r.KeepDim)), Seq.sum
                  "mean", (fun x -> T.Mean(x, r.Axes, r.KeepDim)), Seq.average
                  "max", (fun x -> T.Max(x, r.Axes, r.KeepDim)), Seq.max
                  "min", (fun x -> T.Min(x, r.Axes, r.KeepDim)), Seq.min
                  "logsumexp", (fun x -> T.LogSumExp(x, r.Axes, r.KeepDim)), (fun g -> let m = Seq.max g in m + log (Seq.sumBy (fun v -> exp (v - m)) g)) ]
            for name, op, reference in cases do
                let y = op x
                Check.shapeIs name outShape y
                // Sums can cancel to near 0, where another summation order differs by a few ulps of the terms.
                Check.arraysClose name 1e-13 1e-14 (groups |> Array.map reference) (y.ToDoubleArray())

        testPropertyWithConfig engineConfig "softmax along any axis matches a reference" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims * 3.0
            let axis = (a.Axis + a.Dims.Length) % a.Dims.Length
            let v = x.ToDoubleArray()
            let rowOf k =
                let i = unravel a.Dims k
                [| for j in 0 .. a.Dims.[axis] - 1 -> v.[ravel a.Dims (Array.updateAt axis j i)] |]
            let expected = Array.init x.Numel (fun k -> exp v.[k] / Array.sumBy exp (rowOf k))
            let expectedLog =
                Array.init x.Numel (fun k ->
                    let row = rowOf k
                    let m = Array.max row
                    (v.[k] - m) - log (Array.sumBy (fun r -> exp (r - m)) row))
            Check.tensorEquals "softmax" 1e-14 a.Dims expected (T.Softmax(x, a.Axis))
            Check.arraysClose "log_softmax" 1e-13 1e-15 expectedLog ((T.LogSoftmax(x, a.Axis)).ToDoubleArray())

        testPropertyWithConfig engineConfig "permute, slicing with a step and gather match a reference" <| fun (a: AlongAxis) (seed: int) ->
            let x = normal seed a.Dims
            let gen = Generator(seed)
            let rank = a.Dims.Length
            let axis = (a.Axis + rank) % rank
            let perm = Array.init rank id |> Array.sortBy (fun _ -> gen.NextUniform())
            let permuted = T.Permute(x, perm)
            let pshape = perm |> Array.map (fun p -> a.Dims.[p])
            let expectedPermuted =
                Array.init x.Numel (fun k ->
                    let i = unravel pshape k
                    let src = Array.zeroCreate rank
                    perm |> Array.iteri (fun d p -> src.[p] <- i.[d])
                    x.ItemAt src)
            Check.tensorEquals "permute" 0.0 pshape expectedPermuted permuted
            let size = a.Dims.[axis]
            let start, step = gen.NextInt size, 1 + gen.NextInt 3
            let taken = [| start .. step .. size - 1 |]
            let sshape = Array.updateAt axis taken.Length a.Dims
            let expectedSlice = Array.init (numel sshape) (fun k -> let i = unravel sshape k in x.ItemAt(Array.updateAt axis taken.[i.[axis]] i))
            Check.tensorEquals "slice" 0.0 sshape expectedSlice (T.Slice(x, a.Axis, start, Int32.MaxValue, step))
            let ishape = a.Dims |> Array.mapi (fun d n -> if d = axis then 1 + gen.NextInt 4 else 1 + gen.NextInt n)
            let index = Array.init (numel ishape) (fun _ -> int64 (gen.NextInt size))
            let expectedGather = Array.init index.Length (fun k -> let i = unravel ishape k in x.ItemAt(Array.updateAt axis (int index.[k]) i))
            Check.tensorEquals "gather" 0.0 ishape expectedGather (T.Gather(x, a.Axis, T.FromArray(index, ishape)))

        testPropertyWithConfig engineConfig "matmul matches a reference triple loop, with broadcast batches and 1-D operands" <| fun (m: MatMulShapes) (seed: int) ->
            let a, b = normal seed m.Left, normal (seed + 1) m.Right
            // Promote 1-D operands as PyTorch does, compute, then drop the added dimensions.
            let a2 = if a.Rank = 1 then T.Unsqueeze(a, 0) else a
            let b2 = if b.Rank = 1 then T.Unsqueeze(b, 1) else b
            let k = a2.Shape.[a2.Rank - 1]
            let batch = broadcastShape a2.Shape.[.. a2.Rank - 3] b2.Shape.[.. b2.Rank - 3]
            let rows, cols = a2.Shape.[a2.Rank - 2], b2.Shape.[b2.Rank - 1]
            let full = Array.append batch [| rows; cols |]
            let expected =
                Array.init (numel full) (fun flat ->
                    let i = unravel full flat
                    let bi = i.[.. batch.Length - 1]
                    let r, c = i.[batch.Length], i.[batch.Length + 1]
                    Seq.sum [ for p in 0 .. k - 1 -> broadcastRead a2 (Array.append bi [| r; p |]) * broadcastRead b2 (Array.append bi [| p; c |]) ])
            let shape =
                Array.append batch ([| if a.Rank > 1 then rows
                                       if b.Rank > 1 then cols |])
            let y = T.MatMul(a, b)
            Check.shapeIs "matmul" shape y
            Check.arraysClose "matmul" 1e-13 1e-14 expected (y.ToDoubleArray())

        testPropertyWithConfig engineConfig "float32 gives the float64 result to float32 precision, for every op" <| fun (p: BroadcastPair) (seed: int) ->
            let a64, b64 = uniform seed 0.2 2.0 p.A, uniform (seed + 1) 0.2 2.0 p.B
            let a32, b32 = T.ToType(a64, DType.Float32), T.ToType(b64, DType.Float32)
            let unary : (string * (Tensor -> Tensor)) list =
                [ "neg", T.Neg; "exp", T.Exp; "log", T.Log; "log1p", T.Log1p; "expm1", T.Expm1; "sqrt", T.Sqrt; "abs", (fun x -> T.Abs(x - 1.0))
                  "sigmoid", T.Sigmoid; "tanh", T.Tanh; "relu", (fun x -> T.Relu(x - 1.0)); "softplus", (fun x -> T.Softplus x)
                  "clamp", (fun x -> T.Clamp(x, 0.5, 1.5)); "pow", (fun x -> T.Pow(x, 2.5)); "sum", T.Sum; "mean", T.Mean; "max", T.Max
                  "min", T.Min; "logsumexp", T.LogSumExp; "softmax", (fun x -> if x.Rank = 0 then x else T.Softmax(x, -1))
                  "log_softmax", (fun x -> if x.Rank = 0 then x else T.LogSoftmax(x, 0)); "transpose", (fun x -> T.Transpose x)
                  "flatten", (fun x -> T.Flatten x); "stack", (fun x -> T.Stack([ x; x * 2.0 ], 0)) ]
            for name, op in unary do
                let y64, y32 = op a64, op a32
                if y32.DType <> DType.Float32 then failtest (name + " left float32")
                Check.tensorClose name 2e-6 1e-6 y64 y32
            let binary : (string * (Tensor -> Tensor -> Tensor)) list =
                [ "add", Tensor.add; "sub", Tensor.sub; "mul", Tensor.mul; "div", Tensor.div; "pow", Tensor.powt
                  "maximum", Tensor.maximum; "minimum", Tensor.minimum ]
            for name, op in binary do
                let y32 = op a32 b32
                if y32.DType <> DType.Float32 then failtest (name + " left float32")
                Check.tensorClose name 2e-6 1e-6 (op a64 b64) y32
    ]
