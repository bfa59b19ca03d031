/// Large tensors, where kernels split their work across threads. Every split path (unary maps,
/// binary ops on equal shapes, with a scalar, with broadcast rows; reductions over rows, over
/// outer blocks and over columns; the softmax row kernels on contiguous, strided and permuted
/// rows; their backward rules) gives the same bits with one thread as with several, and the
/// one-thread path is the one every other test checks. A few values are also worked out
/// element by element in double.
module AutoKl.Tests.Engine.ParallelTests

open System
open AutoKl
open AutoKl.Tests.Support.Settings
open AutoKl.Tests.Support
open AutoKl.Tests.Engine.Generators
open Expecto

type T = AutoKl.Tensor

let private bits (t: Tensor) = t.ToDoubleArray() |> Array.map BitConverter.DoubleToInt64Bits

/// The op's result (and the gradient of sum(result * w) with respect to x) with 1, 3 and 4
/// threads. [128, 1024] is large enough for four chunks on every path.
let private sameBitsForAnyThreadCount (name: string) (dtype: DType) (op: Tensor -> Tensor) =
    let x0 = (normal 5 [| 128; 1024 |]).ToType(dtype)
    let mutable w = Unchecked.defaultof<Tensor>
    let run threads =
        withThreads threads (fun () ->
            let x = x0.Detach().RequiresGrad_()
            let y = op x
            if isNull (box w) then w <- (normal 6 y.Shape).ToType(dtype)
            T.Sum(y * w).Backward()
            bits y, bits x.Grad)
    let y1, g1 = run 1
    for threads in [ 3; 4 ] do
        let y, g = run threads
        Expect.isTrue (y = y1) (sprintf "%s (%s): value with %d threads differs from one thread" name (dtype.ToString()) threads)
        Expect.isTrue (g = g1) (sprintf "%s (%s): gradient with %d threads differs from one thread" name (dtype.ToString()) threads)

let private ops: (string * (Tensor -> Tensor)) list =
    [ "exp", T.Exp
      "log1p of |x|", fun x -> T.Log1p(T.Abs x)
      "x * x", fun x -> x * x
      "x * 3", fun x -> x * 3.0
      "2 - x", fun x -> 2.0 - x
      "minus a broadcast row", fun x -> x - T.Sum(x, 0, keepDim = true)
      "divided by a broadcast column", fun x -> x / (1.0 + T.Exp(T.Narrow(x, 1, 0, 1)))
      "sum over rows", fun x -> T.Sum(x, 1)
      "sum over the leading axis (columns)", fun x -> T.Sum(x, 0)
      "max over a middle axis", fun x -> T.Max(x.Reshape([| 32; 4; 1024 |]), 1)
      "mean of everything", T.Mean
      "softmax along the rows", fun x -> T.Softmax(x, 1)
      "softmax along the columns (strided)", fun x -> T.Softmax(x, 0)
      "log_softmax along the rows", fun x -> T.LogSoftmax(x, 1)
      "log_softmax along the columns (strided)", fun x -> T.LogSoftmax(x, 0)
      "logsumexp over rows", fun x -> T.LogSumExp(x, 1)
      "logsumexp over non-adjacent axes (permuted)", fun x -> T.LogSumExp(x.Reshape([| 8; 16; 1024 |]), [| 0; 2 |])
      "log_softmax + kl_div batchmean", fun x -> Losses.KlDiv(T.LogSoftmax(x, 1), T.Softmax(x.Detach() * 0.5, 1), Reduction.BatchMean) ]

// Parallelism.MaxThreads is process-wide: these tests run alone, after the parallel ones.
[<Tests>]
let tests =
    testSequenced <| testList "Engine.Parallel" [
        testCase "every split kernel gives the same bits with one thread or several, float32 and float64" <| fun () ->
            for dtype in [ DType.Float32; DType.Float64 ] do
                for name, op in ops do
                    sameBitsForAnyThreadCount name dtype op

        testCase "split row kernels give the values worked out in double" <| fun () ->
            let rows, cols = 300, 500
            let x = uniform 9 -20.0 20.0 [| rows; cols |]
            let v = x.ToDoubleArray()
            let at r c = v.[r * cols + c]
            withThreads 4 (fun () ->
                // along the columns: strided rows of length 300
                let lsm = T.LogSoftmax(x, 0).ToDoubleArray()
                let lse = T.LogSumExp(x, 0).ToDoubleArray()
                for c in 0 .. cols - 1 do
                    let column = Array.init rows (fun r -> at r c)
                    let m = Array.max column
                    let expectedLse = m + log (column |> Array.sumBy (fun u -> exp (u - m)))
                    Check.arraysClose (sprintf "logsumexp of column %d" c) 1e-13 0.0 [| expectedLse |] [| lse.[c] |]
                    Check.arraysClose (sprintf "log_softmax of column %d" c) 1e-12 1e-12
                        (column |> Array.map (fun u -> u - expectedLse)) (Array.init rows (fun r -> lsm.[r * cols + c])))
            // over the non-adjacent axes 0 and 2 of [3, 100, 500]: permuted rows of 1500; the gradient
            // of the sum is softmax over the same axes
            let cube = x.Reshape([| 3; 100; 500 |])
            let lse3, softmax3 =
                withThreads 4 (fun () -> T.LogSumExp(cube, [| 0; 2 |]).ToDoubleArray(), (grad (fun c -> T.Sum(T.LogSumExp(c, [| 0; 2 |]))) cube).ToDoubleArray())
            for j in 0 .. 99 do
                let members = [| for i in 0 .. 2 do for k in 0 .. 499 -> (i * 100 + j) * 500 + k |]
                let values = members |> Array.map (fun m -> v.[m])
                let m = Array.max values
                let expectedLse = m + log (values |> Array.sumBy (fun u -> exp (u - m)))
                Check.arraysClose (sprintf "logsumexp over axes 0, 2 at %d" j) 1e-13 0.0 [| expectedLse |] [| lse3.[j] |]
                Check.arraysClose (sprintf "its gradient at %d" j) 1e-11 1e-300
                    (values |> Array.map (fun u -> exp (u - expectedLse))) (members |> Array.map (fun m -> softmax3.[m]))
            let sums = withThreads 4 (fun () -> T.Sum(x, 0).ToDoubleArray())
            for c in 0 .. cols - 1 do
                Check.arraysClose (sprintf "sum of column %d" c) 1e-12 1e-12 [| Array.init rows (fun r -> at r c) |> Array.sum |] [| sums.[c] |]

        // log_softmax and logsumexp along the middle axis of [outer, n, inner], against double: strided
        // rows go through the kernel a tile of up to 16 neighbouring rows at a time, so inner sizes
        // that are not multiples of 16 and chunk edges inside an outer block are the cases to cover.
        testCase "strided rows in tiles give the values worked out in double" <| fun () ->
            for (outer, n, inner), threads in [ (7, 300, 37), 2; (3, 5, 21), 1; (2, 40, 1000), 4; (1, 70000, 3), 3 ] do
                let x = uniform (outer + n + inner) -30.0 30.0 [| outer; n; inner |]
                let v = x.ToDoubleArray()
                let lsm, lse = withThreads threads (fun () -> T.LogSoftmax(x, 1).ToDoubleArray(), T.LogSumExp(x, 1).ToDoubleArray())
                for o in 0 .. outer - 1 do
                    for i in 0 .. inner - 1 do
                        let at k = (o * n + k) * inner + i
                        let row = Array.init n (fun k -> v.[at k])
                        let m = Array.max row
                        let expected = m + log (row |> Array.sumBy (fun u -> exp (u - m)))
                        let where = sprintf "[%d, %d, %d] row (%d, %d)" outer n inner o i
                        Check.arraysClose ("logsumexp " + where) 1e-12 0.0 [| expected |] [| lse.[o * inner + i] |]
                        Check.arraysClose ("log_softmax " + where) 1e-12 1e-11 (row |> Array.map (fun u -> u - expected)) (Array.init n (fun k -> lsm.[at k]))

        testCase "thread count is checked, and empty axes behave as in PyTorch" <| fun () ->
            Check.throwsAutoKl [ "MaxThreads"; "0" ] (fun () -> Parallelism.MaxThreads <- 0) |> ignore
            Expect.isGreaterThanOrEqual Parallelism.MaxThreads 1 "Parallelism.MaxThreads"
            let empty = T.Zeros([| 2; 0 |], DType.Float64)
            Check.arraysClose "logsumexp of an empty row is log 0" 0.0 0.0 [| -infinity; -infinity |] (T.LogSumExp(empty, 1).ToDoubleArray())
            Check.shapeIs "softmax over an empty axis" [| 2; 0 |] (T.Softmax(empty, 1))
            Check.shapeIs "log_softmax over an empty axis" [| 2; 0 |] (T.LogSoftmax(empty, 1))
    ]
