/// One test per branch of an op's forward or derivative rule, placed where that branch alone
/// decides the value: the holes a mutation run found in Ops/ (see MUTATIONS.md).
module AutoKl.Tests.Mutation.OpRuleTests

open System
open Expecto
open AutoKl
open AutoKl.Tests.Mutation.MutationSupport

/// argmax/argmin along `axis` of a [d0; d1; d2] array, computed the slow way: first index of
/// the extreme, a NaN winning at once (PyTorch's documented rule: NaN propagates, first among ties).
let private naiveArg (better: float -> float -> bool) (x: float[,,]) (axis: int) =
    let d = [| Array3D.length1 x; Array3D.length2 x; Array3D.length3 x |]
    let at (o: int) (k: int) (i: int) =
        match axis with
        | 0 -> x.[k, o, i]
        | 1 -> x.[o, k, i]
        | _ -> x.[o, i, k]
    let outer, inner =
        match axis with
        | 0 -> d.[1], d.[2]
        | 1 -> d.[0], d.[2]
        | _ -> d.[0], d.[1]
    [ for o in 0 .. outer - 1 do
          for i in 0 .. inner - 1 do
              let mutable best = 0
              let mutable bestValue = at o 0 i
              for k in 1 .. d.[axis] - 1 do
                  let v = at o k i
                  if not (Double.IsNaN bestValue) && (Double.IsNaN v || better v bestValue) then
                      best <- k
                      bestValue <- v
              yield int64 best ]

let private argTests =
    testList "argmax and argmin" [
        testCase "argmin finds the smallest and argmax the largest (direction)" <| fun () ->
            let x = vec [ 3.0; 1.0; 4.0; 1.5 ]
            Expect.equal (T.ArgMax(x, 0).ToInt64Array()) [| 2L |] "argmax"
            Expect.equal (T.ArgMin(x, 0).ToInt64Array()) [| 1L |] "argmin"

        testCase "first index among ties (PyTorch), not the last" <| fun () ->
            let x = vec [ 1.0; 3.0; 0.0; 3.0; 0.0 ]
            Expect.equal (T.ArgMax(x, 0).ToInt64Array()) [| 1L |] "argmax of ties"
            Expect.equal (T.ArgMin(x, 0).ToInt64Array()) [| 2L |] "argmin of ties"

        testCase "a NaN wins, the first NaN, for argmax and argmin alike" <| fun () ->
            let x = vec [ 1.0; nan; 5.0; nan; -7.0 ]
            Expect.equal (T.ArgMax(x, 0).ToInt64Array()) [| 1L |] "argmax with NaN"
            Expect.equal (T.ArgMin(x, 0).ToInt64Array()) [| 1L |] "argmin with NaN"
            let first = vec [ nan; 2.0; nan ]
            Expect.equal (T.ArgMax(first, 0).ToInt64Array()) [| 0L |] "argmax with a leading NaN"
            Expect.equal (T.ArgMin(first, 0).ToInt64Array()) [| 0L |] "argmin with a leading NaN"

        testCase "along the first, middle and last axis of a [3, 4, 5] tensor (outer and inner strides)" <| fun () ->
            let gen = Generator(41)
            // a few exact ties and NaNs among random values, so all three rules meet the strides
            let data = T.RandN([| 3; 4; 5 |], gen, DType.Float64).ToDoubleArray() |> Array.map (fun v -> Math.Round(v, 1))
            data.[7] <- nan
            data.[38] <- nan
            let x3 = Array3D.init 3 4 5 (fun a b c -> data.[(a * 4 + b) * 5 + c])
            let x = T.FromArray(data, [| 3; 4; 5 |])
            for axis in 0 .. 2 do
                for keep in [ false; true ] do
                    let shapeWanted =
                        if keep then [| 3; 4; 5 |] |> Array.mapi (fun d n -> if d = axis then 1 else n)
                        else [| 3; 4; 5 |] |> Array.indexed |> Array.filter (fun (d, _) -> d <> axis) |> Array.map snd
                    let am = T.ArgMax(x, axis, keep)
                    let an = T.ArgMin(x, axis, keep)
                    Expect.equal am.Shape shapeWanted (sprintf "argmax shape, axis %d keep %b" axis keep)
                    Expect.equal (am.ToInt64Array() |> List.ofArray) (naiveArg (>) x3 axis) (sprintf "argmax along axis %d" axis)
                    Expect.equal (an.ToInt64Array() |> List.ofArray) (naiveArg (<) x3 axis) (sprintf "argmin along axis %d" axis)

        testCase "a [2, 3, 2] tensor along axis 1, every answer written out" <| fun () ->
            // o = 0: columns (i = 0, 1) are [5, 1, 3] and [0, 9, 2]; o = 1: [2, 8, 8] and [7, 7, -1]
            let x = f64 [ 2; 3; 2 ] [ 5.0; 0.0; 1.0; 9.0; 3.0; 2.0; 2.0; 7.0; 8.0; 7.0; 8.0; -1.0 ]
            Expect.equal (T.ArgMax(x, 1).ToInt64Array()) [| 0L; 1L; 1L; 0L |] "argmax"
            Expect.equal (T.ArgMin(x, 1).ToInt64Array()) [| 1L; 0L; 0L; 2L |] "argmin"
            Expect.equal (T.ArgMax(x, -2).ToInt64Array()) [| 0L; 1L; 1L; 0L |] "argmax with a negative axis"

        testCase "float32 follows the same rules" <| fun () ->
            let x = vec32 [ 2.0; -1.0; 2.0; -1.0 ]
            Expect.equal (T.ArgMax(x, 0).ToInt64Array()) [| 0L |] "argmax float32"
            Expect.equal (T.ArgMin(x, 0).ToInt64Array()) [| 1L |] "argmin float32"

        testCase "a scalar's index is 0; an empty axis is an error naming the op and the shape" <| fun () ->
            Expect.equal (T.ArgMax(T.Scalar 3.0, 0).ToInt64Array()) [| 0L |] "argmax of a scalar"
            let empty = T.Zeros([| 2; 0 |], DType.Float64)
            throwsFrom "argmax" [ "[2, 0]"; "empty" ] (fun () -> T.ArgMax(empty, 1))
            throwsFrom "argmin" [ "[2, 0]"; "empty" ] (fun () -> T.ArgMin(empty, 1))
            throwsFrom "argmax" [ "needs a floating-point" ] (fun () -> T.ArgMax(T.FromArray([| 1L; 2L |]), 0))
            throwsFrom "argmin" [ "needs a floating-point" ] (fun () -> T.ArgMin(T.FromArray([| 1L; 2L |]), 0))
    ]

let private extremumTests =
    testList "max and min reductions" [
        testCase "max and min split the gradient equally among tied winners" <| fun () ->
            let x = vec [ 1.0; 3.0; 3.0; -2.0; 3.0 ]
            near "max gradient" [ 0.0; 1.0 / 3.0; 1.0 / 3.0; 0.0; 1.0 / 3.0 ] (gradOf (fun t -> T.Max t) x)
            let y = vec [ -2.0; 3.0; -2.0 ]
            near "min gradient" [ 0.5; 0.0; 0.5 ] (gradOf (fun t -> T.Min t) y)

        testCase "max along an axis of a matrix with a tie in one row" <| fun () ->
            let x = f64 [ 2; 3 ] [ 1.0; 4.0; 4.0; 5.0; 2.0; 0.0 ]
            near "values" [ 4.0; 5.0 ] (T.Max(x, 1))
            near "gradient" [ 0.0; 0.5; 0.5; 1.0; 0.0; 0.0 ] (gradOf (fun t -> T.Sum(T.Max(t, 1) * vec [ 1.0; 1.0 ])) x)
            near "min values" [ 1.0; 0.0 ] (T.Min(x, 1))

        testCase "an empty tensor cannot be reduced by max or min; sum and mean can" <| fun () ->
            let empty = T.Zeros([| 0; 3 |], DType.Float64)
            throwsFrom "max" [ "empty"; "[0, 3]" ] (fun () -> T.Max empty)
            throwsFrom "min" [ "empty"; "[0, 3]" ] (fun () -> T.Min empty)
            throwsFrom "max" [ "empty" ] (fun () -> T.Max(empty, 0))
            throwsFrom "min" [ "empty" ] (fun () -> T.Min(empty, 0))
            // over the non-empty axis there is nothing to refuse: an empty result (PyTorch's amax)
            Expect.equal (T.Max(empty, 1).Shape) [| 0 |] "max over the non-empty axis of a [0, 3] tensor"
            Expect.equal (T.Min(empty, 1, keepDim = true).Shape) [| 0; 1 |] "min over the non-empty axis, kept"
            near "sum of nothing" [ 0.0 ] (T.Sum empty)
            near "sum over the empty axis" [ 0.0; 0.0; 0.0 ] (T.Sum(empty, 0))
            closeTo 0.0 "mean of nothing (0/0, as PyTorch)" [ nan ] (T.Mean empty)
            Expect.equal (T.Sum(empty, 1).Shape) [| 0 |] "sum over the other axis keeps the empty one"
            closeTo 0.0 "logsumexp over an empty axis is -inf" [ -infinity; -infinity; -infinity ] (T.LogSumExp(empty, 0))

        testCase "var and std divide by n - correction (1 by default, as torch.var), never by less than 0" <| fun () ->
            let x = f64 [ 2; 3 ] [ 1.0; 2.0; 6.0; 0.0; 0.0; 3.0 ]
            // rows: mean 3, squares 4 + 1 + 9 = 14; mean 1, squares 1 + 1 + 4 = 6
            near "unbiased" [ 7.0; 3.0 ] (T.Var(x, [| 1 |]))
            near "correction 0" [ 14.0 / 3.0; 2.0 ] (T.Var(x, [| 1 |], correction = 0))
            near "std" [ sqrt 7.0; sqrt 3.0 ] (T.Std(x, [| 1 |]))
            closeTo 0.0 "one element, correction 1: 0/0" [ nan ] (T.Var(vec [ 5.0 ], [| 0 |]))
            closeTo 0.0 "correction larger than n: divides by 0" [ infinity ] (T.Var(vec [ 1.0; 2.0 ], [| 0 |], correction = 3))
            near "var gradient: 2 (x - mean) / (n - 1)" [ -2.0; -1.0; 3.0; -1.0; -1.0; 2.0 ] (gradOf (fun t -> T.Sum(T.Var(t, [| 1 |]))) x)

        testCase "a bad or repeated axis is an error naming the reduction" <| fun () ->
            let x = f64 [ 2; 2 ] [ 1.0; 2.0; 3.0; 4.0 ]
            throwsFrom "sum" [ "twice" ] (fun () -> T.Sum(x, [| 0; -2 |]))
            throwsFrom "max" [] (fun () -> T.Max(x, 2))
            throwsFrom "min" [] (fun () -> T.Min(x, -3))
            throwsFrom "mean" [] (fun () -> T.Mean(x, 5))
            throwsFrom "logsumexp" [] (fun () -> T.LogSumExp(x, 2))
            throwsFrom "var" [] (fun () -> T.Var(x, [| 2 |]))
    ]

let private binaryTests =
    testList "maximum, minimum and pow" [
        testCase "maximum and minimum split the gradient 0.5/0.5 at ties and send it all to the winner otherwise" <| fun () ->
            let a = vec [ 1.0; 2.0; 3.0; -1.0 ]
            let b = vec [ 1.0; 0.0; 5.0; -1.0 ]
            let w = vec [ 1.0; 10.0; 100.0; 1000.0 ]
            let ga = gradsOf (fun t -> T.Sum(T.Maximum(t.[0], t.[1]) * w)) [| a; b |]
            near "maximum, d/da" [ 0.5; 10.0; 0.0; 500.0 ] ga.[0]
            near "maximum, d/db" [ 0.5; 0.0; 100.0; 500.0 ] ga.[1]
            let gm = gradsOf (fun t -> T.Sum(T.Minimum(t.[0], t.[1]) * w)) [| a; b |]
            near "minimum, d/da" [ 0.5; 0.0; 100.0; 500.0 ] gm.[0]
            near "minimum, d/db" [ 0.5; 10.0; 0.0; 500.0 ] gm.[1]
            near "maximum values" [ 1.0; 2.0; 5.0; -1.0 ] (T.Maximum(a, b))
            near "minimum values" [ 1.0; 0.0; 3.0; -1.0 ] (T.Minimum(a, b))

        testCase "maximum with a broadcast scalar sums the tie shares" <| fun () ->
            let a = vec [ 2.0; 2.0; 1.0; 3.0 ]
            let g = gradsOf (fun t -> T.Sum(T.Maximum(t.[0], t.[1]))) [| a; T.Scalar 2.0 |]
            near "d/da" [ 0.5; 0.5; 0.0; 1.0 ] g.[0]
            near "d/d(scalar)" [ 2.0 ] g.[1]

        testCase "x ** c at x = 0: the derivative for c = 0, 1, 2, 3, 0.5 and -1" <| fun () ->
            let x = vec [ 0.0; 2.0 ]
            near "x**0 value" [ 1.0; 1.0 ] (T.Pow(x, 0.0))
            near "d x**0" [ 0.0; 0.0 ] (gradOf (fun t -> T.Sum(T.Pow(t, 0.0))) x)
            near "d x**1" [ 1.0; 1.0 ] (gradOf (fun t -> T.Sum(T.Pow(t, 1.0))) x)
            near "d x**2" [ 0.0; 4.0 ] (gradOf (fun t -> T.Sum(T.Pow(t, 2.0))) x)
            near "d x**3" [ 0.0; 12.0 ] (gradOf (fun t -> T.Sum(T.Pow(t, 3.0))) x)
            closeTo 1e-12 "d x**0.5" [ infinity; 0.5 / sqrt 2.0 ] (gradOf (fun t -> T.Sum(T.Pow(t, 0.5))) x)
            closeTo 1e-12 "d x**-1" [ -infinity; -0.25 ] (gradOf (fun t -> T.Sum(T.Pow(t, -1.0))) x)

        testCase "x ** 0.5 is sqrt, as PyTorch: sqrt(-0) = -0 and sqrt(-inf) = NaN (pow would give +0 and +inf)" <| fun () ->
            let y = T.Pow(vec [ -0.0; -infinity; 4.0 ], 0.5).ToDoubleArray()
            Expect.equal (1.0 / y.[0]) -infinity "the sign of zero"
            Expect.isTrue (Double.IsNaN y.[1]) "sqrt(-inf)"
            Expect.equal y.[2] 2.0 "sqrt(4)"

        testCase "x ** c for c = 0, 1, 2 at ordinary points, and their second derivatives" <| fun () ->
            let x = vec [ -1.5; 0.5; 3.0 ]
            let v = vec [ 1.0; 2.0; -1.0 ]
            for c, d1, d2 in [ 0.0, [ 0.0; 0.0; 0.0 ], [ 0.0; 0.0; 0.0 ]
                               1.0, [ 1.0; 1.0; 1.0 ], [ 0.0; 0.0; 0.0 ]
                               2.0, [ -3.0; 1.0; 6.0 ], [ 2.0; 4.0; -2.0 ]
                               3.0, [ 6.75; 0.75; 27.0 ], [ -9.0; 6.0; -18.0 ] ] do
                let f = fun (t: T) -> T.Sum(T.Pow(t, c))
                near (sprintf "d x**%g" c) d1 (gradOf f x)
                near (sprintf "hvp x**%g" c) d2 (Autograd.Hvp(Func<T, T>(f), x, v))

        testCase "a ** b with tensors at a = 0: d/da and d/db are 0 where b = 0 (PyTorch), and d/db uses log a elsewhere" <| fun () ->
            let a = vec [ 0.0; 0.0; 2.0; 0.0 ]
            let b = vec [ 0.0; 2.0; 3.0; 1.0 ]
            let g = gradsOf (fun t -> T.Sum(T.Pow(t.[0], t.[1]))) [| a; b |]
            near "d/da" [ 0.0; 0.0; 12.0; 1.0 ] g.[0]
            near "d/db" [ 0.0; 0.0; 8.0 * log 2.0; 0.0 ] g.[1]

        testCase "a ** b with a = 0 and b < 0: d/db is not masked (only b >= 0 is)" <| fun () ->
            let g = gradsOf (fun t -> T.Sum(T.Pow(t.[0], t.[1]))) [| vec [ 0.0 ]; vec [ -1.0 ] |]
            closeTo 0.0 "d/db at 0 ** -1: inf * log 0" [ -infinity ] g.[1]

        testCase "base ** x with a number base" <| fun () ->
            let x = vec [ 0.0; 1.0; -2.0 ]
            near "value" [ 1.0; 3.0; 1.0 / 9.0 ] (T.Pow(3.0, x))
            near "d/dx" [ log 3.0; 3.0 * log 3.0; log 3.0 / 9.0 ] (gradOf (fun t -> T.Sum(T.Pow(3.0, t))) x)

        testCase "xlogy: d/dx and d/dy are 0 where x = 0, log y and x / y elsewhere" <| fun () ->
            let x = vec [ 0.0; 0.0; 2.0 ]
            let y = vec [ 0.0; 3.0; 4.0 ]
            near "value" [ 0.0; 0.0; 2.0 * log 4.0 ] (T.Xlogy(x, y))
            let g = gradsOf (fun t -> T.Sum(T.Xlogy(t.[0], t.[1]))) [| x; y |]
            near "d/dx" [ 0.0; 0.0; log 4.0 ] g.[0]
            near "d/dy" [ 0.0; 0.0; 0.5 ] g.[1]

        testCase "div: d/da = 1/b and d/db = -a/b^2, with broadcasting summed back" <| fun () ->
            let a = f64 [ 2; 2 ] [ 1.0; 2.0; 3.0; 4.0 ]
            let b = vec [ 2.0; 4.0 ]
            let g = gradsOf (fun t -> T.Sum(T.Div(t.[0], t.[1]))) [| a; b |]
            near "d/da" [ 0.5; 0.25; 0.5; 0.25 ] g.[0]
            near "d/db" [ -(1.0 + 3.0) / 4.0; -(2.0 + 4.0) / 16.0 ] g.[1]
            let s = gradsOf (fun t -> T.Sum(T.Sub(t.[0], t.[1]))) [| a; b |]
            near "sub d/db" [ -2.0; -2.0 ] s.[1]
    ]

let private unaryTests =
    testList "elementwise kinks and thresholds" [
        testCase "softplus with beta 2: linear above threshold / beta, sigmoid(beta x) below" <| fun () ->
            // beta x = 1.5 > 1: the linear branch (gradient 1); x / beta would be 0.375, the smooth one
            let x = vec [ 0.75; 0.25 ]
            near "value" [ 0.75; log (1.0 + exp 0.5) / 2.0 ] (T.Softplus(x, 2.0, 1.0))
            near "gradient" [ 1.0; 1.0 / (1.0 + exp -0.5) ] (gradOf (fun t -> T.Sum(T.Softplus(t, 2.0, 1.0))) x)

        testCase "softplus with beta 0.5: 1.5 is below the threshold 1 / 0.5 (x / beta would cross it)" <| fun () ->
            let x = vec [ 1.5; 2.5 ]
            near "value" [ log (1.0 + exp 0.75) / 0.5; 2.5 ] (T.Softplus(x, 0.5, 1.0))
            near "gradient" [ 1.0 / (1.0 + exp -0.75); 1.0 ] (gradOf (fun t -> T.Sum(T.Softplus(t, 0.5, 1.0))) x)

        testCase "softplus exactly at the threshold takes the smooth branch (strictly greater is linear)" <| fun () ->
            let x = vec [ 0.5 ]
            near "gradient at beta x = threshold" [ 1.0 / (1.0 + exp -1.0) ] (gradOf (fun t -> T.Sum(T.Softplus(t, 2.0, 1.0))) x)
            near "value at beta x = threshold" [ log (1.0 + exp 1.0) / 2.0 ] (T.Softplus(x, 2.0, 1.0))

        testCase "softplus refuses beta <= 0" <| fun () ->
            throwsFrom "softplus" [ "beta"; "0" ] (fun () -> T.Softplus(vec [ 1.0 ], 0.0))
            throwsFrom "softplus" [ "beta" ] (fun () -> T.Softplus(vec [ 1.0 ], -1.0))

        testCase "clamp with min = max is allowed: constant value, gradient only where x equals it" <| fun () ->
            let x = vec [ 0.0; 1.0; 2.0 ]
            near "value" [ 1.0; 1.0; 1.0 ] (noThrow "clamp(x, 1, 1)" (fun () -> T.Clamp(x, 1.0, 1.0)))
            near "gradient" [ 0.0; 1.0; 0.0 ] (gradOf (fun t -> T.Sum(T.Clamp(t, 1.0, 1.0))) x)
            throwsFrom "clamp" [ "min 2"; "max 1" ] (fun () -> T.Clamp(x, 2.0, 1.0))

        testCase "clamp passes the gradient at both bounds and inside, not outside" <| fun () ->
            let x = vec [ -2.0; -1.0; 0.0; 1.0; 2.0 ]
            near "gradient" [ 0.0; 1.0; 1.0; 1.0; 0.0 ] (gradOf (fun t -> T.Sum(T.Clamp(t, -1.0, 1.0))) x)

        testCase "relu and abs have gradient 0 at 0; sign's and the rounding ops' gradients are 0" <| fun () ->
            let x = vec [ -1.0; 0.0; 2.0 ]
            near "relu" [ 0.0; 0.0; 1.0 ] (gradOf (fun t -> T.Sum(T.Relu t)) x)
            near "abs" [ -1.0; 0.0; 1.0 ] (gradOf (fun t -> T.Sum(T.Abs t)) x)
            for name, (f: T -> T) in [ "floor", (fun t -> T.Floor t); "ceil", (fun t -> T.Ceiling t); "round", (fun t -> T.Round t); "sign", (fun t -> T.Sign t) ] do
                near name [ 0.0; 0.0; 0.0 ] (gradOf (fun t -> T.Sum(f (t * 3.3))) x)
    ]

let private softmaxTests =
    testList "softmax backward ops" [
        testCase "softmax_backward converts a float64 gradient to a float32 output's dtype" <| fun () ->
            let x = vec32 [ 0.5; -1.0; 2.0 ]
            let y = T.Softmax(x.RequiresGrad_(), 0)
            let g = vec [ 1.0; -2.0; 0.5 ]
            let dx = y.GradFn.Backward(g).[0]
            Expect.equal dx.DType DType.Float32 "dtype of the gradient"
            let yv = y.ToDoubleArray()
            let gy = Array.fold2 (fun s a b -> s + a * b) 0.0 yv (g.ToDoubleArray())
            closeTo 1e-6 "value" (List.init 3 (fun i -> yv.[i] * (g.ToDoubleArray().[i] - gy))) dx

        testCase "log_softmax_backward converts a float32 gradient to a float64 output's dtype" <| fun () ->
            let x = vec [ 0.5; -1.0; 2.0 ]
            let y = T.LogSoftmax(x.RequiresGrad_(), 0)
            let g = vec32 [ 1.0; -2.0; 0.5 ]
            let dx = y.GradFn.Backward(g).[0]
            Expect.equal dx.DType DType.Float64 "dtype of the gradient"
            let p = y.ToDoubleArray() |> Array.map exp
            closeTo 1e-7 "value" (List.init 3 (fun i -> g.ToDoubleArray().[i] - p.[i] * -0.5)) dx

        testCase "softmax_backward's rule (for second derivatives) converts too" <| fun () ->
            let x = vec32 [ 0.5; -1.0 ]
            let y = T.Softmax(x.RequiresGrad_(), 0)
            let g = vec [ 1.0; 0.0 ]
            let dx = y.GradFn.Backward(g.RequiresGrad_()).[0]
            Expect.equal dx.GradFnName "softmax_backward" "the op recorded"
            Expect.equal dx.DType DType.Float32 "dtype"
    ]

/// Every op with a derivative, the name it records (grad_fn), built from leaves that require gradients.
let private recordedNames : (string * (T -> T -> T)) list =
    [ "exp", (fun x _ -> T.Exp x); "log", (fun x _ -> T.Log x); "log1p", (fun x _ -> T.Log1p x)
      "expm1", (fun x _ -> T.Expm1 x); "sqrt", (fun x _ -> T.Sqrt x); "abs", (fun x _ -> T.Abs x)
      "sigmoid", (fun x _ -> T.Sigmoid x); "tanh", (fun x _ -> T.Tanh x); "sin", (fun x _ -> T.Sin x)
      "cos", (fun x _ -> T.Cos x); "tan", (fun x _ -> T.Tan x); "relu", (fun x _ -> T.Relu x)
      "softplus", (fun x _ -> T.Softplus x); "clamp", (fun x _ -> T.Clamp(x, 0.0, 1.0)); "erf", (fun x _ -> T.Erf x)
      "lgamma", (fun x _ -> T.Lgamma x); "floor", (fun x _ -> T.Floor x); "ceil", (fun x _ -> T.Ceiling x)
      "round", (fun x _ -> T.Round x); "sign", (fun x _ -> T.Sign x)
      "add", (fun x w -> T.Add(x, w)); "sub", (fun x w -> T.Sub(x, w)); "mul", (fun x w -> T.Mul(x, w))
      "div", (fun x w -> T.Div(x, w)); "neg", (fun x _ -> T.Neg x); "pow", (fun x w -> T.Pow(x, w))
      "pow", (fun x _ -> T.Pow(x, 3.0)); "pow", (fun x _ -> T.Pow(x, 2.0)); "pow", (fun x _ -> T.Pow(x, 0.5))
      "pow", (fun x _ -> T.Pow(2.0, x))
      "maximum", (fun x w -> T.Maximum(x, w)); "minimum", (fun x w -> T.Minimum(x, w)); "xlogy", (fun x w -> T.Xlogy(x, w))
      "sum", (fun x _ -> T.Sum x); "max", (fun x _ -> T.Max x); "min", (fun x _ -> T.Min x)
      "logsumexp", (fun x _ -> T.LogSumExp x); "softmax", (fun x _ -> T.Softmax(x, 0))
      "log_softmax", (fun x _ -> T.LogSoftmax(x, 0)); "where", (fun x w -> T.Where(T.Gt(x, 0.5), x, w))
      "gather", (fun x _ -> T.Gather(x, 0, T.FromArray([| 1L; 0L |])))
      "scatter_add", (fun x w -> T.ScatterAdd(x, 0, T.FromArray([| 1L; 0L; 2L |]), w))
      "cumsum", (fun x _ -> T.CumSum(x, 0)); "matmul", (fun x w -> T.MatMul(T.Reshape(x, [| 1; 3 |]), w))
      "reshape", (fun x _ -> T.Reshape(x, [| 3; 1 |])); "permute", (fun x _ -> T.Permute(T.Reshape(x, [| 3; 1 |]), [| 1; 0 |]))
      "expand", (fun x _ -> T.Expand(x, [| 2; 3 |])); "slice", (fun x _ -> T.Slice(x, 0, 1))
      "concat", (fun x w -> T.Concat([ x; w ])); "to", (fun x _ -> T.ToType(x, DType.Float32))
      "identity", (fun x _ -> T.Identity x); "clone", (fun x _ -> x.Clone()) ]

/// Ops that refuse int64 input, and the name they give in the error.
let private refusingInt : (string * (T -> T)) list =
    [ "exp", (fun x -> T.Exp x); "log", (fun x -> T.Log x); "log1p", (fun x -> T.Log1p x); "expm1", (fun x -> T.Expm1 x)
      "sqrt", (fun x -> T.Sqrt x); "abs", (fun x -> T.Abs x); "sigmoid", (fun x -> T.Sigmoid x); "tanh", (fun x -> T.Tanh x)
      "sin", (fun x -> T.Sin x); "cos", (fun x -> T.Cos x); "tan", (fun x -> T.Tan x); "relu", (fun x -> T.Relu x)
      "erf", (fun x -> T.Erf x); "lgamma", (fun x -> T.Lgamma x); "floor", (fun x -> T.Floor x); "ceil", (fun x -> T.Ceiling x)
      "round", (fun x -> T.Round x); "sign", (fun x -> T.Sign x); "neg", (fun x -> T.Neg x)
      "softplus", (fun x -> T.Softplus x); "clamp", (fun x -> T.Clamp(x, 0.0, 1.0))
      "add", (fun x -> T.Add(x, x)); "sub", (fun x -> T.Sub(x, x)); "mul", (fun x -> T.Mul(x, x)); "div", (fun x -> T.Div(x, x))
      "pow", (fun x -> T.Pow(x, x)); "pow", (fun x -> T.Pow(x, 2.0)); "pow", (fun x -> T.Pow(2.0, x))
      "maximum", (fun x -> T.Maximum(x, x)); "minimum", (fun x -> T.Minimum(x, x)); "xlogy", (fun x -> T.Xlogy(x, x))
      "sum", (fun x -> T.Sum x); "mean", (fun x -> T.Mean x); "max", (fun x -> T.Max x); "min", (fun x -> T.Min x)
      "logsumexp", (fun x -> T.LogSumExp x); "softmax", (fun x -> T.Softmax(x, 0)); "log_softmax", (fun x -> T.LogSoftmax(x, 0))
      "cumsum", (fun x -> T.CumSum(x, 0)); "gather", (fun x -> T.Gather(x, 0, T.FromArray([| 0L |])))
      "lt", (fun x -> T.Lt(x, x)); "le", (fun x -> T.Le(x, x)); "gt", (fun x -> T.Gt(x, x)); "ge", (fun x -> T.Ge(x, x))
      "eq", (fun x -> T.Eq(x, x)); "ne", (fun x -> T.Ne(x, x)); "isfinite", (fun x -> T.IsFinite x)
      "matmul", (fun x -> T.MatMul(x, x)); "where", (fun x -> T.Where(x, x, x)) ]

let private nameTests =
    testList "op names" [
        testCase "every op records its own name (grad_fn)" <| fun () ->
            for name, f in recordedNames do
                let x = vec [ 0.25; 0.5; 0.75 ] |> fun t -> t.RequiresGrad_()
                let w =
                    match name with
                    | "matmul" -> f64 [ 3; 2 ] [ 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 ]
                    | _ -> vec [ 0.5; 0.5; 0.5 ]
                let y = f x w
                Expect.equal y.GradFnName name (sprintf "the grad_fn of %s" name)

        testCase "the backward ops record their names (seen in second derivatives)" <| fun () ->
            let x = vec [ 0.25; 0.5; 0.75 ] |> fun t -> t.RequiresGrad_()
            let g = vec [ 1.0; 2.0; 3.0 ] |> fun t -> t.RequiresGrad_()
            Expect.equal (T.Softmax(x, 0).GradFn.Backward(g).[0].GradFnName) "softmax_backward" "softmax's rule"
            Expect.equal (T.LogSoftmax(x, 0).GradFn.Backward(g).[0].GradFnName) "log_softmax_backward" "log_softmax's rule"
            let gs = vec [ 1.0; 2.0 ] |> fun t -> t.RequiresGrad_()
            Expect.equal (T.Slice(x, 0, 1).GradFn.Backward(gs).[0].GradFnName) "slice_backward" "slice's rule"

        testCase "every op refusing int64 input names itself" <| fun () ->
            for name, f in refusingInt do
                let i = T.FromArray([| 1L; 2L |])
                let ex =
                    try
                        f i |> ignore
                        None
                    with
                    | :? AutoKlException as e -> Some e
                match ex with
                | None -> failtestf "%s accepted an int64 tensor" name
                | Some e -> Expect.equal e.Operation name (sprintf "the op named for %s: %s" name e.Message)

        testCase "an op with operands that do not broadcast names itself" <| fun () ->
            let a, b = T.Zeros([| 2; 3 |], DType.Float64), T.Zeros([| 4 |], DType.Float64)
            let ops : (string * (T -> T -> T)) list =
                [ "add", (fun x y -> T.Add(x, y)); "sub", (fun x y -> T.Sub(x, y)); "mul", (fun x y -> T.Mul(x, y))
                  "div", (fun x y -> T.Div(x, y)); "pow", (fun x y -> T.Pow(x, y)); "maximum", (fun x y -> T.Maximum(x, y))
                  "minimum", (fun x y -> T.Minimum(x, y)); "xlogy", (fun x y -> T.Xlogy(x, y)); "lt", (fun x y -> T.Lt(x, y))
                  "le", (fun x y -> T.Le(x, y)); "gt", (fun x y -> T.Gt(x, y)); "ge", (fun x y -> T.Ge(x, y))
                  "eq", (fun x y -> T.Eq(x, y)); "ne", (fun x y -> T.Ne(x, y)) ]
            for name, f in ops do
                throwsFrom name [ "[2, 3]"; "[4]" ] (fun () -> f a b)
    ]

[<Tests>]
let tests = testList "Mutation.OpRules" [ argTests; extremumTests; binaryTests; unaryTests; softmaxTests; nameTests ]
