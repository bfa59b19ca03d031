/// The rules of the shape, indexing, scan, comparison and matrix ops, each branch with a case
/// where it alone decides the value (see MUTATIONS.md).
module AutoKl.Tests.Mutation.ShapeRuleTests

open System
open Expecto
open AutoKl
open AutoKl.Tests.Mutation.MutationSupport

let private weights (n: int) = T.FromArray(Array.init n (fun i -> float (i + 1)))

let private shapeTests =
    testList "shape, index and scan rules" [
        testCase "where routes the gradient to the chosen side only, and a broadcast side gets the sum" <| fun () ->
            let c = vec [ 1.0; 0.0; 1.0 ]
            let g = gradsOf (fun t -> T.Sum(T.Where(c, t.[0], t.[1]) * weights 3)) [| vec [ 5.0; 6.0; 7.0 ]; T.Scalar 0.5 |]
            near "chosen side" [ 1.0; 0.0; 3.0 ] g.[0]
            near "broadcast other side" [ 2.0 ] g.[1]
            near "values" [ 5.0; 0.5; 7.0 ] (T.Where(c, vec [ 5.0; 6.0; 7.0 ], T.Scalar 0.5))

        testCase "cumsum forward and reverse, along a non-last axis, and their gradients (the other direction)" <| fun () ->
            let x = f64 [ 3; 2 ] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]
            near "forward" [ 1.0; 2.0; 4.0; 6.0; 9.0; 12.0 ] (T.CumSum(x, 0))
            near "reverse" [ 9.0; 12.0; 8.0; 10.0; 5.0; 6.0 ] (T.CumSum(x, 0, reverse = true))
            let w = f64 [ 3; 2 ] [ 1.0; 10.0; 100.0; 1000.0; 10000.0; 100000.0 ]
            near "gradient of forward" [ 10101.0; 101010.0; 10100.0; 101000.0; 10000.0; 100000.0 ] (gradOf (fun t -> T.Sum(T.CumSum(t, 0) * w)) x)
            near "gradient of reverse" [ 1.0; 10.0; 101.0; 1010.0; 10101.0; 101010.0 ] (gradOf (fun t -> T.Sum(T.CumSum(t, 0, reverse = true) * w)) x)
            near "scalar" [ 2.5 ] (T.CumSum(T.Scalar 2.5, 0))

        testCase "slice with a step: values, and the gradient written back into the sliced positions only" <| fun () ->
            let x = vec [ 0.0; 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]
            near "values" [ 1.0; 3.0; 5.0 ] (T.Slice(x, 0, 1, 6, 2))
            near "gradient" [ 0.0; 1.0; 0.0; 2.0; 0.0; 3.0; 0.0 ] (gradOf (fun t -> T.Sum(T.Slice(t, 0, 1, 6, 2) * weights 3)) x)
            let m = f64 [ 2; 3 ] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]
            near "columns 1.. of a matrix" [ 0.0; 1.0; 2.0; 0.0; 3.0; 4.0 ] (gradOf (fun t -> T.Sum(T.Slice(t, 1, 1) * T.Reshape(weights 4, [| 2; 2 |]))) m)
            near "select a row" [ 0.0; 0.0; 0.0; 1.0; 2.0; 3.0 ] (gradOf (fun t -> T.Sum(T.Select(t, 0, -1) * weights 3)) m)

        testCase "slice's gradient of a gradient (slice_backward's own rule)" <| fun () ->
            let x = vec [ 1.0; 2.0; 3.0; 4.0 ]
            // f = sum(slice(x)^3): grad = 3 slice(x)^2 scattered; hvp along v = 6 x v on the slice
            let f = fun (t: T) -> T.Sum(T.Pow(T.Slice(t, 0, 1, 4, 2), 3.0))
            near "hvp" [ 0.0; 12.0; 0.0; 24.0 ] (Autograd.Hvp(Func<T, T>(f), x, vec [ 1.0; 1.0; 1.0; 1.0 ]))

        testCase "concat splits the gradient back to each input, along axis 1" <| fun () ->
            let a = f64 [ 2; 1 ] [ 1.0; 2.0 ]
            let b = f64 [ 2; 2 ] [ 3.0; 4.0; 5.0; 6.0 ]
            let w = T.Reshape(weights 6, [| 2; 3 |])
            let g = gradsOf (fun t -> T.Sum(T.Concat([ t.[0]; t.[1] ], 1) * w)) [| a; b |]
            near "first" [ 1.0; 4.0 ] g.[0]
            near "second" [ 2.0; 3.0; 5.0; 6.0 ] g.[1]
            let s = gradsOf (fun t -> T.Sum(T.Stack([ t.[0]; t.[1] ], 1) * T.Reshape(weights 4, [| 2; 2 |]))) [| vec [ 1.0; 2.0 ]; vec [ 3.0; 4.0 ] |]
            near "stack, first" [ 1.0; 3.0 ] s.[0]
            near "stack, second" [ 2.0; 4.0 ] s.[1]

        testCase "permute's gradient uses the inverse permutation" <| fun () ->
            let x = T.Reshape(T.Arange(24.0, DType.Float64), [| 2; 3; 4 |])
            let w = T.Reshape(T.Arange(24.0, DType.Float64), [| 4; 2; 3 |])
            let g = gradOf (fun t -> T.Sum(T.Permute(t, [| 2; 0; 1 |]) * w)) x
            near "gradient" (T.Permute(w, [| 1; 2; 0 |]).ToDoubleArray() |> List.ofArray) g

        testCase "expand sums the gradient over the expanded dimensions" <| fun () ->
            let g = gradOf (fun t -> T.Sum(T.Expand(t, [| 2; 3 |]) * T.Reshape(weights 6, [| 2; 3 |]))) (f64 [ 2; 1 ] [ 1.0; 2.0 ])
            near "gradient" [ 6.0; 15.0 ] g
            let h = gradOf (fun t -> T.Sum(T.Expand(t, [| 2; -1 |]) * T.Reshape(weights 6, [| 2; 3 |]))) (vec [ 1.0; 2.0; 3.0 ])
            near "new leading dimension" [ 5.0; 7.0; 9.0 ] h
            throwsFrom "expand" [ "-1"; "leading dimension 0" ] (fun () -> T.Expand(vec [ 1.0; 2.0 ], [| -1; 2 |]))
            throwsFrom "expand" [ "dimension 1 has size 2" ] (fun () -> T.Expand(vec [ 1.0; 2.0 ], [| 2; 3 |]))

        testCase "gather and scatter_add: each other's gradient, repeated indices accumulate" <| fun () ->
            let x = f64 [ 2; 3 ] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]
            let idx = T.FromArray([| 2L; 2L; 0L; 1L |], [| 2; 2 |])
            near "gather values" [ 3.0; 3.0; 4.0; 5.0 ] (T.Gather(x, 1, idx))
            near "gather gradient" [ 0.0; 0.0; 3.0; 3.0; 4.0; 0.0 ] (gradOf (fun t -> T.Sum(T.Gather(t, 1, idx) * T.Reshape(weights 4, [| 2; 2 |]))) x)
            let src = f64 [ 2; 2 ] [ 10.0; 20.0; 30.0; 40.0 ]
            near "scatter_add values" [ 1.0; 2.0; 33.0; 34.0; 45.0; 6.0 ] (T.ScatterAdd(x, 1, idx, src))
            let g = gradsOf (fun t -> T.Sum(T.ScatterAdd(t.[0], 1, idx, t.[1]) * T.Reshape(weights 6, [| 2; 3 |]))) [| x; src |]
            near "scatter_add d/dx" [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ] g.[0]
            near "scatter_add d/dsource" [ 3.0; 3.0; 4.0; 5.0 ] g.[1]

        testCase "gather and scatter_add refuse bad indices, naming the op" <| fun () ->
            let x = f64 [ 2; 3 ] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]
            throwsFrom "gather" [ "int64" ] (fun () -> T.Gather(x, 1, f64 [ 2; 1 ] [ 0.0; 0.0 ]))
            throwsFrom "gather" [ "rank 1" ] (fun () -> T.Gather(x, 1, T.FromArray([| 0L |])))
            throwsFrom "gather" [ "index value 3" ] (fun () -> T.Gather(x, 1, T.FromArray([| 3L; 0L |], [| 2; 1 |])))
            throwsFrom "gather" [ "index value -1" ] (fun () -> T.Gather(x, 1, T.FromArray([| -1L; 0L |], [| 2; 1 |])))
            throwsFrom "gather" [ "larger than tensor shape" ] (fun () -> T.Gather(x, 1, T.FromArray([| 0L; 0L; 0L |], [| 3; 1 |])))
            noThrow "a larger index along the gathered axis" (fun () -> T.Gather(x, 1, T.FromArray([| 0L; 1L; 2L; 0L |], [| 1; 4 |]))) |> ignore
            throwsFrom "scatter_add" [ "source shape [1, 1]" ] (fun () -> T.ScatterAdd(x, 1, T.FromArray([| 0L; 0L |], [| 2; 1 |]), f64 [ 1; 1 ] [ 1.0 ]))

        testCase "matmul with 1-D operands and broadcast batches, and the gradients summed over the batch" <| fun () ->
            let a = f64 [ 2; 2; 3 ] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0; 7.0; 8.0; 9.0; 10.0; 11.0; 12.0 ]
            let b = f64 [ 3; 1 ] [ 1.0; 0.0; -1.0 ]
            near "batched" [ -2.0; -2.0; -2.0; -2.0 ] (T.MatMul(a, b))
            let g = gradsOf (fun t -> T.Sum(T.MatMul(t.[0], t.[1]))) [| a; b |]
            near "d/db summed over the batch" [ 1.0 + 4.0 + 7.0 + 10.0; 2.0 + 5.0 + 8.0 + 11.0; 3.0 + 6.0 + 9.0 + 12.0 ] g.[1]
            near "vector . vector" [ 1.0 * 4.0 + 2.0 * 5.0 + 3.0 * 6.0 ] (T.MatMul(vec [ 1.0; 2.0; 3.0 ], vec [ 4.0; 5.0; 6.0 ]))
            near "vector @ matrix" [ 1.0 - 3.0 ] (T.MatMul(vec [ 1.0; 2.0; 3.0 ], b))
            Expect.equal (T.MatMul(vec [ 1.0; 2.0; 3.0 ], b).Shape) [| 1 |] "shape of vector @ matrix"
            Expect.equal (T.MatMul(f64 [ 1; 3 ] [ 1.0; 2.0; 3.0 ], vec [ 1.0; 1.0; 1.0 ]).Shape) [| 1 |] "shape of matrix @ vector"
            throwsFrom "matmul" [ "at least one dimension" ] (fun () -> T.MatMul(T.Scalar 1.0, vec [ 1.0 ]))
            throwsFrom "matmul" [ "batch dimensions" ] (fun () -> T.MatMul(T.Ones([| 2; 1; 3 |], DType.Float64), T.Ones([| 3; 3; 1 |], DType.Float64)))

        testCase "to: a float conversion records and converts the gradient back; int64 records nothing" <| fun () ->
            let x = vec [ 1.5; 2.5 ]
            let g = gradOf (fun t -> T.Sum(T.ToType(t, DType.Float32) * 3.0f)) x
            Expect.equal g.DType DType.Float64 "gradient dtype"
            near "gradient" [ 3.0; 3.0 ] g
            let i = T.ToType(x.RequiresGrad_(), DType.Int64)
            Expect.isFalse i.RequiresGrad "an int64 copy needs no gradient"
            Expect.equal (i.ToInt64Array()) [| 1L; 2L |] "truncated values"
    ]

[<Tests>]
let tests = testList "Mutation.ShapeRules" [ shapeTests ]
