/// Bad input raises AutoKlException whose message names the op and the shapes or values at fault.
module AutoKl.Tests.Engine.ErrorTests

open System
open AutoKl
open AutoKl.Tests.Support
open Expecto

type T = AutoKl.Tensor

let private zeros (shape: int list) = Tensor.zeros DType.Float64 shape

[<Tests>]
let tests =
    testList "Engine.Errors" [
        testCase "shape mismatch in every binary op names the op and both shapes" <| fun () ->
            let a, b = zeros [ 2; 3 ], zeros [ 4 ]
            for name, op in [ "add", Tensor.add; "sub", Tensor.sub; "mul", Tensor.mul; "div", Tensor.div
                              "pow", Tensor.powt; "maximum", Tensor.maximum; "minimum", Tensor.minimum ] do
                let ex = Check.throwsAutoKl [ name; "[2, 3]"; "[4]"; "cannot be broadcast" ] (fun () -> op a b)
                Expect.equal ex.Operation name "ex.Operation"
            Check.throwsAutoKl [ "add"; "[3, 2]"; "[2, 3]" ] (fun () -> zeros [ 3; 2 ] + zeros [ 2; 3 ]) |> ignore
            Check.throwsAutoKl [ "where"; "[2, 3]"; "[3, 2]" ] (fun () -> T.Where(zeros [ 2; 3 ], zeros [ 2; 3 ], zeros [ 3; 2 ])) |> ignore
            Check.throwsAutoKl [ "eq"; "[2]"; "[3]" ] (fun () -> T.Eq(zeros [ 2 ], zeros [ 3 ])) |> ignore

        testCase "matmul with operands that do not chain names both shapes" <| fun () ->
            Check.throwsAutoKl [ "matmul"; "[2, 3]"; "[4, 5]"; "3 columns"; "4 rows" ] (fun () -> T.MatMul(zeros [ 2; 3 ], zeros [ 4; 5 ])) |> ignore
            Check.throwsAutoKl [ "matmul"; "shapes [3] and [4]" ] (fun () -> T.MatMul(zeros [ 3 ], zeros [ 4 ])) |> ignore
            Check.throwsAutoKl [ "matmul"; "shapes [3] and [4, 2]" ] (fun () -> T.MatMul(zeros [ 3 ], zeros [ 4; 2 ])) |> ignore
            Check.throwsAutoKl [ "matmul"; "shapes [2, 3, 4] and [3]" ] (fun () -> T.MatMul(zeros [ 2; 3; 4 ], zeros [ 3 ])) |> ignore
            Check.throwsAutoKl [ "matmul"; "[2, 2, 3]"; "[3, 3, 1]" ] (fun () -> T.MatMul(zeros [ 2; 2; 3 ], zeros [ 3; 3; 1 ])) |> ignore
            Check.throwsAutoKl [ "matmul"; "[]" ] (fun () -> T.MatMul(T.Scalar 1.0, zeros [ 2 ])) |> ignore

        testCase "a bad axis names the op, the axis and the rank" <| fun () ->
            let x = zeros [ 2; 3 ]
            Check.throwsAutoKl [ "sum"; "axis 2"; "rank 2" ] (fun () -> T.Sum(x, 2)) |> ignore
            Check.throwsAutoKl [ "mean"; "axis -3"; "rank 2" ] (fun () -> T.Mean(x, -3)) |> ignore
            Check.throwsAutoKl [ "max"; "axis 5" ] (fun () -> T.Max(x, 5)) |> ignore
            Check.throwsAutoKl [ "min"; "axis 5" ] (fun () -> T.Min(x, 5)) |> ignore
            Check.throwsAutoKl [ "logsumexp"; "axis 2" ] (fun () -> T.LogSumExp(x, 2)) |> ignore
            Check.throwsAutoKl [ "softmax"; "axis 2"; "rank 2" ] (fun () -> T.Softmax(x, 2)) |> ignore
            Check.throwsAutoKl [ "log_softmax"; "axis -3" ] (fun () -> T.LogSoftmax(x, -3)) |> ignore
            Check.throwsAutoKl [ "sum"; "[1, -1]"; "twice" ] (fun () -> T.Sum(x, [| 1; -1 |])) |> ignore
            Check.throwsAutoKl [ "unsqueeze"; "axis 3" ] (fun () -> T.Unsqueeze(x, 3)) |> ignore
            Check.throwsAutoKl [ "squeeze"; "axis 2" ] (fun () -> T.Squeeze(x, 2)) |> ignore
            Check.throwsAutoKl [ "transpose"; "axis 2" ] (fun () -> T.Transpose(x, 0, 2)) |> ignore
            Check.throwsAutoKl [ "concat"; "axis 2" ] (fun () -> T.Concat([ x; x ], 2)) |> ignore
            Check.throwsAutoKl [ "stack"; "axis 3" ] (fun () -> T.Stack([ x; x ], 3)) |> ignore
            Check.throwsAutoKl [ "slice"; "axis 2" ] (fun () -> T.Slice(x, 2, 0)) |> ignore
            Check.throwsAutoKl [ "gather"; "axis 2" ] (fun () -> T.Gather(x, 2, Tensor.ofInts [ 0 ])) |> ignore

        testCase "a bad reshape names both shapes and the element counts" <| fun () ->
            let x = zeros [ 2; 3 ]
            Check.throwsAutoKl [ "reshape"; "[2, 3]"; "6 elements"; "[4, 2]"; "8 elements" ] (fun () -> T.Reshape(x, [| 4; 2 |])) |> ignore
            Check.throwsAutoKl [ "reshape"; "[2, 3]"; "[4, -1]" ] (fun () -> T.Reshape(x, [| 4; -1 |])) |> ignore
            Check.throwsAutoKl [ "reshape"; "[-1, -1]"; "only one dimension may be -1" ] (fun () -> T.Reshape(x, [| -1; -1 |])) |> ignore
            Check.throwsAutoKl [ "expand"; "[2, 3]"; "[4, 3]"; "dimension 0 has size 2" ] (fun () -> T.Expand(x, [| 4; 3 |])) |> ignore
            Check.throwsAutoKl [ "expand"; "[2, 3]"; "[3]" ] (fun () -> T.Expand(x, [| 3 |])) |> ignore
            Check.throwsAutoKl [ "concat"; "tensor 1"; "[2, 4]"; "[2, 3]" ] (fun () -> T.Concat([ x; zeros [ 2; 4 ] ], 0)) |> ignore
            Check.throwsAutoKl [ "stack"; "tensor 1"; "[3, 2]"; "[2, 3]" ] (fun () -> T.Stack([ x; zeros [ 3; 2 ] ])) |> ignore
            Check.throwsAutoKl [ "from_array"; "5 values"; "[2, 3]" ] (fun () -> T.FromArray([| 1.0; 2.0; 3.0; 4.0; 5.0 |], 2, 3)) |> ignore
            Check.throwsAutoKl [ "from_rows"; "row 1 has 1 values" ] (fun () -> Tensor.ofList2D [ [ 1.0; 2.0 ]; [ 3.0 ] ]) |> ignore

        testCase "an index out of range names the index, the dimension and its size" <| fun () ->
            let x = zeros [ 2; 3 ]
            Check.throwsAutoKl [ "select"; "index 3"; "size 3"; "[2, 3]" ] (fun () -> T.Select(x, 1, 3)) |> ignore
            Check.throwsAutoKl [ "select"; "index -3"; "size 2" ] (fun () -> T.Select(x, 0, -3)) |> ignore
            Check.throwsAutoKl [ "index 2"; "size 2"; "[2, 3]" ] (fun () -> x.[2]) |> ignore
            Check.throwsAutoKl [ "index 5"; "size 3" ] (fun () -> x.[0, 5]) |> ignore
            Check.throwsAutoKl [ "index"; "3 indices"; "rank 2" ] (fun () -> x.[0, 0, 0]) |> ignore
            Check.throwsAutoKl [ "narrow"; "start 2"; "length 2"; "size 3" ] (fun () -> T.Narrow(x, 1, 2, 2)) |> ignore
            Check.throwsAutoKl [ "gather"; "index value 3"; "size 3" ] (fun () -> T.Gather(x, 1, T.FromArray([| 0; 3 |], 2, 1))) |> ignore
            Check.throwsAutoKl [ "gather"; "index value -1" ] (fun () -> T.Gather(x, 1, T.FromArray([| -1; 0 |], 2, 1))) |> ignore
            Check.throwsAutoKl [ "gather"; "index must be an int64"; "float64" ] (fun () -> T.Gather(x, 1, zeros [ 2; 1 ])) |> ignore
            Check.throwsAutoKl [ "gather"; "rank 1"; "rank 2" ] (fun () -> T.Gather(x, 1, Tensor.ofInts [ 0 ])) |> ignore
            Check.throwsAutoKl [ "item"; "index 2"; "size 2" ] (fun () -> x.ItemAt(2, 0)) |> ignore
            Check.throwsAutoKl [ "item"; "[2, 3]" ] (fun () -> x.ToScalar()) |> ignore
            Check.throwsAutoKl [ "slice"; "step must be positive, got 0" ] (fun () -> T.Slice(x, 0, 0, 2, 0)) |> ignore

        testCase "permute with something that is not a permutation" <| fun () ->
            let x = zeros [ 2; 3; 4 ]
            Check.throwsAutoKl [ "permute"; "[0, 0, 1]"; "not a permutation" ] (fun () -> T.Permute(x, [| 0; 0; 1 |])) |> ignore
            Check.throwsAutoKl [ "permute"; "2 dimensions"; "rank 3" ] (fun () -> T.Permute(x, [| 1; 0 |])) |> ignore
            Check.throwsAutoKl [ "permute"; "axis 3" ] (fun () -> T.Permute(x, [| 0; 1; 3 |])) |> ignore

        testCase "int64 tensors are refused by arithmetic with a clear message" <| fun () ->
            let i = Tensor.ofInts [ 1; 2; 3 ]
            let f = Tensor.ofList [ 1.0; 2.0; 3.0 ]
            Check.throwsAutoKl [ "add"; "int64"; "[3]"; "ToType" ] (fun () -> i + f) |> ignore
            Check.throwsAutoKl [ "mul"; "int64" ] (fun () -> f * i) |> ignore
            Check.throwsAutoKl [ "exp"; "int64" ] (fun () -> exp i) |> ignore
            Check.throwsAutoKl [ "sum"; "int64" ] (fun () -> T.Sum i) |> ignore
            Check.throwsAutoKl [ "matmul"; "int64" ] (fun () -> T.MatMul(i, f)) |> ignore
            Check.throwsAutoKl [ "softmax"; "int64" ] (fun () -> T.Softmax(i, 0)) |> ignore
            Check.throwsAutoKl [ "log_softmax"; "int64" ] (fun () -> T.LogSoftmax(i, 0)) |> ignore
            Check.throwsAutoKl [ "logsumexp"; "int64" ] (fun () -> T.LogSumExp(i, 0)) |> ignore
            Check.throwsAutoKl [ "mean"; "int64" ] (fun () -> T.Mean i) |> ignore
            // After an explicit conversion it works.
            Check.arraysClose "converted" 0.0 0.0 [| 2.0; 4.0; 6.0 |] ((T.ToType(i, DType.Float64) + f).ToDoubleArray())

        testCase "bad creation arguments" <| fun () ->
            Check.throwsAutoKl [ "full"; "[2, -1]"; "negative" ] (fun () -> T.Full([| 2; -1 |], 0.0)) |> ignore
            Check.throwsAutoKl [ "arange"; "step" ] (fun () -> T.Arange(0.0, 1.0, 0.0)) |> ignore
            Check.throwsAutoKl [ "linspace"; "-1" ] (fun () -> T.Linspace(0.0, 1.0, -1)) |> ignore
            Check.throwsAutoKl [ "eye"; "-2" ] (fun () -> T.Eye(-2)) |> ignore
            Check.throwsAutoKl [ "clamp"; "min 2"; "max 1" ] (fun () -> T.Clamp(zeros [ 1 ], 2.0, 1.0)) |> ignore
            Check.throwsAutoKl [ "softplus"; "beta" ] (fun () -> T.Softplus(zeros [ 1 ], 0.0)) |> ignore
    ]
