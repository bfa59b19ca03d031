/// What a new F# user reaches for first (issue 13): F#'s own math functions on tensors with
/// their gradients, valueAndGradN, the five forms of every reduction, numbers on either side of
/// the module's binary functions, dtype-explicit and shaped creation, the float32/float64
/// promotion rules, the name hvp reports its errors under, and backward through a graph twice.
module AutoKl.Tests.Engine.FSharpSurfaceTests

open System
open Expecto
open AutoKl
open AutoKl.Tests.Support

type private T = AutoKl.Tensor

let private throwsMentioning (fragments: string list) (action: unit -> 'a) =
    let ex = Expect.throwsC (fun () -> action () |> ignore) id
    match ex with
    | :? AutoKlException as e ->
        for f in fragments do
            Expect.stringContains e.Message f (sprintf "the message %A names %A" e.Message f)
    | other -> failtestf "expected AutoKlException, got %s: %s" (other.GetType().Name) other.Message

let private valuesClose (what: string) (tol: float) (expected: float[]) (actual: T) =
    let got = actual.ToDoubleArray()
    Expect.equal got.Length expected.Length (what + ": number of values")
    for i in 0 .. expected.Length - 1 do
        if not (Check.closeTo tol tol expected.[i] got.[i]) then
            failtestf "%s: element %d is %.17g, expected %.17g" what i got.[i] expected.[i]

// Points inside every function's domain: asin/acos need |x| < 1, the logarithms x > 0.
let private inside = [| 0.3; 0.55; 0.9; 0.12 |]
let private x64 () = T.FromArray(inside)
let private x32 () = T.FromArray(Array.map float32 inside)

/// F#'s own function on a tensor, the same F# function on each float, and the op's derivative.
let private unaryCases : (string * (T -> T) * (float -> float) * (float -> float)) list =
    [ "cosh", cosh, cosh, sinh
      "sinh", sinh, sinh, cosh
      "log10", log10, log10, (fun v -> 1.0 / (v * log 10.0))
      "log2", Tensor.log2, Math.Log2, (fun v -> 1.0 / (v * log 2.0))
      "asin", asin, asin, (fun v -> 1.0 / sqrt (1.0 - v * v))
      "acos", acos, acos, (fun v -> -1.0 / sqrt (1.0 - v * v))
      "atan", atan, atan, (fun v -> 1.0 / (1.0 + v * v))
      "truncate", truncate, truncate, (fun _ -> 0.0)
      "floor", floor, floor, (fun _ -> 0.0)
      "ceil", ceil, ceil, (fun _ -> 0.0)
      "round", round, (fun v -> Math.Round(v, MidpointRounding.ToEven)), (fun _ -> 0.0)
      "tan", tan, tan, (fun v -> 1.0 + tan v * tan v) ]

[<Tests>]
let mathFunctions =
    testList "FSharp.MathFunctions" [
        for name, onTensor, onFloat, derivative in unaryCases do
            testCase (sprintf "%s works on float64 and float32 tensors with F#'s own name" name) <| fun () ->
                let expected = inside |> Array.map onFloat
                valuesClose (name + " float64") 1e-15 expected (onTensor (x64 ()))
                let y32 = onTensor (x32 ())
                Expect.equal y32.DType DType.Float32 (name + " keeps float32")
                let expected32 = inside |> Array.map (fun v -> onFloat (float (float32 v)))
                valuesClose (name + " float32") 1e-6 expected32 y32
                // negative arguments for the rounding functions, which differ there
                let neg = T.FromArray([| -1.5; -0.5; 2.5; -2.7 |])
                if name = "truncate" then valuesClose "truncate rounds toward zero" 0.0 [| -1.0; 0.0; 2.0; -2.0 |] (truncate neg)

            testCase (sprintf "%s: the derivative is the textbook one, in float64 and float32" name) <| fun () ->
                let g = grad (fun x -> onTensor x |> Tensor.sum) (x64 ())
                valuesClose (name + "'") 1e-14 (inside |> Array.map derivative) g
                let g32 = grad (fun x -> onTensor x |> Tensor.sum) (x32 ())
                Expect.equal g32.DType DType.Float32 (name + "' is float32 for a float32 input")
                valuesClose (name + "' float32") 1e-5 (inside |> Array.map derivative) g32

        testCase "gradients of the new ops agree with finite differences, also through broadcasting" <| fun () ->
            for name, onTensor, _, _ in unaryCases |> List.filter (fun (_, _, _, d) -> d 0.5 <> 0.0) do
                try GradCheck.check (fun xs -> onTensor xs.[0] * xs.[1]) [| x64 (); T.FromArray([| 0.7; -1.3; 2.0 |], 3, 1) |]
                with e -> failtestf "%s: %s" name e.Message

        testCase "Hessian-vector products of the new ops agree with finite differences of the gradient" <| fun () ->
            for name, f in [ "cosh", cosh; "sinh", sinh; "log10", log10; "log2", Tensor.log2; "asin", asin; "acos", acos; "atan", atan ] do
                try GradCheck.checkHvp 1e-6 1e-8 (fun x -> f x * x |> Tensor.sum) (x64 ()) 5
                with e -> failtestf "%s: %s" name e.Message

        testCase "atan2 y x: values of Math.Atan2 in every quadrant, gradients x/r^2 and -y/r^2, broadcasting" <| fun () ->
            let ys = [| 1.0; 1.0; -1.0; -2.0; 0.5 |]
            let xs = [| 2.0; -3.0; -0.5; 1.0; 0.0 |]
            let y, x = T.FromArray ys, T.FromArray xs
            valuesClose "atan2" 1e-15 (Array.map2 (fun a b -> Math.Atan2(a, b)) ys xs) (atan2 y x)
            valuesClose "Tensor.atan2" 1e-15 (Array.map2 (fun a b -> Math.Atan2(a, b)) ys xs) (Tensor.atan2 y x)
            let gs = gradN (fun t -> atan2 t.[0] t.[1] |> Tensor.sum) [| y; x |]
            let r2 = Array.map2 (fun a b -> a * a + b * b) ys xs
            valuesClose "d/dy" 1e-15 (Array.map2 (/) xs r2) gs.[0]
            valuesClose "d/dx" 1e-15 (Array.map2 (fun a r -> -a / r) ys r2) gs.[1]
            GradCheck.check (fun t -> atan2 t.[0] t.[1]) [| T.FromArray([| 0.5; -1.0; 2.0 |], 3, 1); T.FromArray([| 1.5; -0.7 |], 1, 2) |]
            let a32 = atan2 (T.FromArray([| 1.0f |])) (T.FromArray([| 1.0f |]))
            Expect.equal a32.DType DType.Float32 "atan2 of float32 stays float32"

        testCase "sign and max are not F#'s here: Tensor.sign and Tensor.maximum are" <| fun () ->
            // F#'s `sign` must return an int and F#'s `max` needs comparison; the module's forms
            // are the documented alternatives.
            let x = T.FromArray([| -2.0; 0.0; 3.0 |])
            valuesClose "Tensor.sign" 0.0 [| -1.0; 0.0; 1.0 |] (Tensor.sign x)
            valuesClose "Tensor.maximum" 0.0 [| 0.0; 0.0; 3.0 |] (Tensor.maximum x 0.0)
    ]

[<Tests>]
let valueAndGradNTests =
    testList "FSharp.ValueAndGradN" [
        testCase "valueAndGradN returns the value and one gradient per argument, like gradN" <| fun () ->
            let p = Tensor.ofList [ 0.2; 0.5; 0.3 ]
            let q = Tensor.ofList [ 0.3; 0.4; 0.3 ]
            let f (xs: Tensor[]) = Tensor.sum (xs.[0] * log (xs.[0] / xs.[1]))
            let value, grads = valueAndGradN f [| p; q |]
            Expect.floatClose Accuracy.veryHigh (float value) (float (f [| p; q |])) "the value of f"
            Expect.isFalse value.RequiresGrad "the value is detached"
            Expect.equal grads.Length 2 "one gradient per argument"
            let expected = gradN f [| p; q |]
            Check.tensorClose "d/dp" 0.0 0.0 expected.[0] grads.[0]
            Check.tensorClose "d/dq" 0.0 0.0 expected.[1] grads.[1]
            // d/dq sum p log(p/q) = -p/q
            valuesClose "d/dq = -p/q" 1e-15 [| -0.2 / 0.3; -0.5 / 0.4; -1.0 |] grads.[1]

        testCase "valueAndGradN of a non-scalar function names grad and the shape" <| fun () ->
            throwsMentioning [ "grad"; "[3]" ] (fun () -> valueAndGradN (fun xs -> xs.[0] * 2.0) [| Tensor.ofList [ 1.0; 2.0; 3.0 ] |])
    ]

[<Tests>]
let reductionTests =
    let m = Tensor.ofArrayShape [ 2; 3 ] [| 1.0; -2.0; 4.0; 0.5; 3.0; -1.0 |]
    let forms : (string * (T -> T) * (int -> T -> T) * (int list -> T -> T) * (int -> T -> T) * (int list -> T -> T) * (T -> int[] -> bool -> T)) list =
        [ "sum", Tensor.sum, Tensor.sumDim, Tensor.sumDims, Tensor.sumDimKeep, Tensor.sumDimsKeep, (fun x a k -> T.Sum(x, a, k))
          "mean", Tensor.mean, Tensor.meanDim, Tensor.meanDims, Tensor.meanDimKeep, Tensor.meanDimsKeep, (fun x a k -> T.Mean(x, a, k))
          "max", Tensor.max, Tensor.maxDim, Tensor.maxDims, Tensor.maxDimKeep, Tensor.maxDimsKeep, (fun x a k -> T.Max(x, a, k))
          "min", Tensor.min, Tensor.minDim, Tensor.minDims, Tensor.minDimKeep, Tensor.minDimsKeep, (fun x a k -> T.Min(x, a, k))
          "var", Tensor.var, Tensor.varDim, Tensor.varDims, Tensor.varDimKeep, Tensor.varDimsKeep, (fun x a k -> T.Var(x, a, keepDim = k))
          "std", Tensor.std, Tensor.stdDim, Tensor.stdDims, Tensor.stdDimKeep, Tensor.stdDimsKeep, (fun x a k -> T.Std(x, a, keepDim = k))
          "logsumexp", Tensor.logsumexp, Tensor.logsumexpDim, Tensor.logsumexpDims, Tensor.logsumexpDimKeep, Tensor.logsumexpDimsKeep, (fun x a k -> T.LogSumExp(x, a, k)) ]
    testList "FSharp.Reductions" [
        for name, all, dim, dims, dimKeep, dimsKeep, csharp in forms do
            testCase (sprintf "%s has the five forms, with the shapes and values of the C# op" name) <| fun () ->
                let check what (expectedShape: int[]) (expected: T) (actual: T) =
                    Expect.equal actual.Shape expectedShape (sprintf "%s %s: shape" name what)
                    Check.tensorClose (sprintf "%s %s" name what) 1e-15 0.0 expected actual
                check "over all" [||] (csharp m [||] false) (all m)
                check "Dim 1" [| 2 |] (csharp m [| 1 |] false) (dim 1 m)
                check "Dim 0" [| 3 |] (csharp m [| 0 |] false) (m |> dim 0)
                check "Dims [0; 1]" [||] (csharp m [| 0; 1 |] false) (dims [ 0; 1 ] m)
                check "DimKeep 1" [| 2; 1 |] (csharp m [| 1 |] true) (dimKeep 1 m)
                check "DimKeep -2" [| 1; 3 |] (csharp m [| 0 |] true) (dimKeep -2 m)
                check "DimsKeep [0; 1]" [| 1; 1 |] (csharp m [| 0; 1 |] true) (dimsKeep [ 0; 1 ] m)

        testCase "var and std are unbiased, as torch.var and torch.std" <| fun () ->
            let v = Tensor.ofList [ 1.0; 2.0; 4.0 ]
            // mean 7/3; squared deviations 16/9, 1/9, 25/9; sum 42/9; / (3 - 1)
            valuesClose "var" 1e-15 [| 21.0 / 9.0 |] (Tensor.var v)
            valuesClose "std" 1e-15 [| sqrt (21.0 / 9.0) |] (Tensor.std v)

        testCase "a centred matrix with meanDimKeep broadcasts back over the rows" <| fun () ->
            let centred = m - (m |> Tensor.meanDimKeep 1)
            valuesClose "row means are 0" 1e-15 [| 0.0; 0.0 |] (centred |> Tensor.meanDim 1)

        testCase "the keepDim forms differentiate like the plain ones" <| fun () ->
            GradCheck.check (fun xs -> xs.[0] - Tensor.logsumexpDimKeep 1 xs.[0]) [| m |]
            GradCheck.check (fun xs -> xs.[0] / Tensor.stdDimKeep 0 xs.[0]) [| m |]
    ]

[<Tests>]
let numberFormTests =
    let x = Tensor.ofList [ -1.5; 0.0; 2.0 ]
    testList "FSharp.NumberForms" [
        testCase "maximum, minimum and the comparisons take a number on either side" <| fun () ->
            valuesClose "maximum 0.0 x" 0.0 [| 0.0; 0.0; 2.0 |] (Tensor.maximum 0.0 x)
            valuesClose "x |> maximum 0.0" 0.0 [| 0.0; 0.0; 2.0 |] (x |> Tensor.maximum 0.0)
            valuesClose "minimum x 1.0" 0.0 [| -1.5; 0.0; 1.0 |] (Tensor.minimum x 1.0)
            valuesClose "minimum 1.0 x" 0.0 [| -1.5; 0.0; 1.0 |] (Tensor.minimum 1.0 x)
            valuesClose "gt x 0.0" 0.0 [| 0.0; 0.0; 1.0 |] (Tensor.gt x 0.0)
            valuesClose "gt 0.0 x" 0.0 [| 1.0; 0.0; 0.0 |] (Tensor.gt 0.0 x)
            valuesClose "lt x 0.0" 0.0 [| 1.0; 0.0; 0.0 |] (Tensor.lt x 0.0)
            valuesClose "ge 0.0 x" 0.0 [| 1.0; 1.0; 0.0 |] (Tensor.ge 0.0 x)
            valuesClose "le x 0.0" 0.0 [| 1.0; 1.0; 0.0 |] (Tensor.le x 0.0)
            valuesClose "eq x 0.0" 0.0 [| 0.0; 1.0; 0.0 |] (Tensor.eq x 0.0)
            valuesClose "ne 0.0 x" 0.0 [| 1.0; 0.0; 1.0 |] (Tensor.ne 0.0 x)
            // and tensors on both sides still
            valuesClose "maximum x x" 0.0 [| -1.5; 0.0; 2.0 |] (Tensor.maximum x x)

        testCase "add, sub, mul, div and where take numbers; pow and powBase; float32 stays float32" <| fun () ->
            valuesClose "add 1.0 x" 0.0 [| -0.5; 1.0; 3.0 |] (Tensor.add 1.0 x)
            valuesClose "sub x 1.0" 0.0 [| -2.5; -1.0; 1.0 |] (Tensor.sub x 1.0)
            valuesClose "mul 2.0 x" 0.0 [| -3.0; 0.0; 4.0 |] (Tensor.mul 2.0 x)
            valuesClose "div x 2.0" 0.0 [| -0.75; 0.0; 1.0 |] (Tensor.div x 2.0)
            valuesClose "powBase 2.0 x (F#'s 2.0 ** x)" 1e-15 [| 2.0 ** -1.5; 1.0; 4.0 |] (Tensor.powBase 2.0 x)
            valuesClose "pow 2.0 x" 0.0 [| 2.25; 0.0; 4.0 |] (Tensor.pow 2.0 x)
            valuesClose "where mask x 0.0" 0.0 [| 0.0; 0.0; 2.0 |] (Tensor.where (Tensor.gt x 0.0) x 0.0)
            valuesClose "where mask 9.0 x" 0.0 [| -1.5; 0.0; 9.0 |] (Tensor.where (Tensor.gt x 0.0) 9.0 x)
            let x32 = Tensor.toType DType.Float32 x
            for what, y in [ "maximum", Tensor.maximum 0.0 x32; "gt", Tensor.gt x32 0.0; "where", Tensor.where (Tensor.gt x32 0.0) x32 0.0
                             "add", Tensor.add 1.0 x32; "powBase", Tensor.powBase 2.0 x32 ] do
                Expect.equal y.DType DType.Float32 (what + " with a number keeps float32")

        testCase "gradients flow through the number forms" <| fun () ->
            let g = grad (fun x -> Tensor.maximum 0.0 x * Tensor.powBase 2.0 x |> Tensor.sum) (Tensor.ofList [ -1.0; 1.0 ])
            // x < 0: 0; x = 1: d/dx x 2^x = 2^x + x 2^x ln 2 = 2 + 2 ln 2
            valuesClose "d/dx relu(x) 2^x" 1e-15 [| 0.0; 2.0 + 2.0 * log 2.0 |] g
            let gw = grad (fun x -> Tensor.where (Tensor.gt x 0.0) x 0.0 |> Tensor.sum) (Tensor.ofList [ -1.0; 1.0 ])
            valuesClose "where routes the gradient" 0.0 [| 0.0; 1.0 |] gw
    ]

[<Tests>]
let creationTests =
    testList "FSharp.Creation" [
        testCase "shaped and dtype-explicit creation" <| fun () ->
            let a = Tensor.ofArrayShape [ 2; 3 ] [| 1.0 .. 6.0 |]
            Expect.equal (a.Shape, a.DType) ([| 2; 3 |], DType.Float64) "ofArrayShape"
            Expect.equal (a.ItemAt(1, 0)) 4.0 "row-major"
            let b = Tensor.ofArray32Shape [ 3; 1 ] [| 1.0f; 2.0f; 3.0f |]
            Expect.equal (b.Shape, b.DType) ([| 3; 1 |], DType.Float32) "ofArray32Shape"
            let c = Tensor.ofValues DType.Float32 [ 2; 2 ] [ 1.0; 2.0; 3.0; 4.0 ]
            Expect.equal (c.Shape, c.DType) ([| 2; 2 |], DType.Float32) "ofValues"
            Expect.equal (c.ToSingleArray()) [| 1.0f; 2.0f; 3.0f; 4.0f |] "ofValues values"
            let s = Tensor.scalar32 1.5f
            Expect.equal (s.Shape, s.DType, float s) ([||], DType.Float32, 1.5) "scalar32"
            let r = Tensor.ofList2D32 [ [ 1.0f; 2.0f ]; [ 3.0f; 4.0f ] ]
            Expect.equal (r.Shape, r.DType) ([| 2; 2 |], DType.Float32) "ofList2D32"
            let r2 = Tensor.ofArray2D32 (array2D [ [ 1.0f; 2.0f; 3.0f ] ])
            Expect.equal (r2.Shape, r2.DType) ([| 1; 3 |], DType.Float32) "ofArray2D32"
            let z = Tensor.zeros DType.Float32 [ 2; 2 ]
            Expect.equal (Tensor.dtype z) DType.Float32 "zeros with a dtype"
            Expect.equal (Tensor.full DType.Float64 [ 2 ] 7.0 |> Tensor.toArray) [| 7.0; 7.0 |] "full"
            let like = Tensor.onesLike b
            Expect.equal (like.Shape, like.DType) (b.Shape, DType.Float32) "onesLike"
            Expect.equal (Tensor.zerosLike b |> Tensor.toArray) [| 0.0; 0.0; 0.0 |] "zerosLike"
            Expect.equal (Tensor.fullLike 2.5 b |> Tensor.toArray) [| 2.5; 2.5; 2.5 |] "fullLike"

        testCase "a shape the values do not fill is refused, naming both" <| fun () ->
            throwsMentioning [ "from_array"; "5"; "[2, 3]" ] (fun () -> Tensor.ofArrayShape [ 2; 3 ] [| 1.0 .. 5.0 |])
            throwsMentioning [ "from_array"; "[2, 2]" ] (fun () -> Tensor.ofValues DType.Float32 [ 2; 2 ] [ 1.0 ])
    ]

[<Tests>]
let promotionTests =
    testList "FSharp.Promotion" [
        testCase "float32 with float64 tensors computes in float64; numbers and rank-0 tensors take the other dtype" <| fun () ->
            let v32 = Tensor.ofList32 [ 1.0f; 2.0f ]
            let v64 = Tensor.ofList [ 1.0; 2.0 ]
            Expect.equal (v32 + v64).DType DType.Float64 "float32 vector + float64 vector"
            Expect.equal (v64 * v32).DType DType.Float64 "float64 vector * float32 vector"
            Expect.equal (v32 * 2.0).DType DType.Float32 "float32 * a float number"
            Expect.equal (2 * v32).DType DType.Float32 "an int number * float32"
            Expect.equal (v32 + Tensor.scalar 1.0).DType DType.Float32 "float32 vector + float64 rank-0"
            Expect.equal (Tensor.scalar32 1.0f + v64).DType DType.Float64 "float32 rank-0 + float64 vector"
            Expect.equal (Tensor.scalar32 1.0f + Tensor.scalar 1.0).DType DType.Float64 "two rank-0 tensors: float64"
            let g = grad (fun x -> x * v64 |> Tensor.sum) v32
            Expect.equal g.DType DType.Float32 "a gradient has its input's dtype"
    ]

[<Tests>]
let hvpTests =
    testList "FSharp.Hvp" [
        testCase "hvp of a function with a non-scalar output reports under hvp" <| fun () ->
            let x = Tensor.ofList [ 1.0; 2.0 ]
            throwsMentioning [ "hvp:"; "[2]"; "one-element" ] (fun () -> hvp (fun x -> x * x) x x)
            let fromCSharp = Expect.throwsC (fun () -> Autograd.Hvp((fun x -> x * x), x, x) |> ignore) id
            Expect.isFalse (fromCSharp.Message.Contains "grad:") "not reported under grad"
    ]

[<Tests>]
let backwardTwiceTests =
    testList "Engine.BackwardTwice" [
        testCase "a second Backward through the same graph is refused, as in PyTorch" <| fun () ->
            let w = (Tensor.ofList [ 0.5; -0.3 ]).RequiresGrad_()
            let loss = (w * w) |> Tensor.exp |> Tensor.sum
            loss.Backward()
            let first = w.Grad.ToDoubleArray()
            throwsMentioning [ "backward"; "already used"; "retainGraph" ] (fun () -> loss.Backward())
            Expect.equal (w.Grad.ToDoubleArray()) first "the refused pass changed no gradient"

        testCase "a graph shared with an earlier loss is refused too, before any gradient changes" <| fun () ->
            let w = (Tensor.ofList [ 0.5; -0.3 ]).RequiresGrad_()
            let h = w * w
            (Tensor.sum h).Backward()
            let first = w.Grad.ToDoubleArray()
            throwsMentioning [ "backward"; "'mul'" ] (fun () -> (Tensor.sum (h * 3.0)).Backward())
            Expect.equal (w.Grad.ToDoubleArray()) first "no gradient changed"

        testCase "with retainGraph the second Backward adds the gradients again" <| fun () ->
            let w = (Tensor.ofList [ 0.5; -0.3 ]).RequiresGrad_()
            let loss = (w * w) |> Tensor.sum
            loss.Backward(retainGraph = true)
            valuesClose "first" 0.0 [| 1.0; -0.6 |] w.Grad
            loss.Backward()
            valuesClose "accumulated" 0.0 [| 2.0; -1.2 |] w.Grad
            throwsMentioning [ "backward" ] (fun () -> loss.Backward())

        testCase "createGraph retains the graph; a cotangent backward frees it like the scalar one" <| fun () ->
            let x = (Tensor.ofList [ 1.0; 2.0 ]).RequiresGrad_()
            let y = Tensor.sum (x ** 3.0)
            y.Backward(createGraph = true)
            y.Backward()
            valuesClose "two passes" 0.0 [| 6.0; 24.0 |] (x.Grad.Detach())
            let v = x * 2.0
            v.Backward(Tensor.ofList [ 1.0; 1.0 ])
            throwsMentioning [ "backward" ] (fun () -> v.Backward(Tensor.ofList [ 1.0; 1.0 ]))

        testCase "Autograd.Gradients frees the graph unless retainGraph; grad and hvp build their own" <| fun () ->
            let x = (Tensor.ofList [ 1.0; 2.0 ]).RequiresGrad_()
            let y = Tensor.sum (x * x)
            let g1 = Autograd.Gradients(y, [| x |], retainGraph = true)
            let g2 = Autograd.Gradients(y, [| x |])
            Check.tensorClose "same gradient twice" 0.0 0.0 g1.[0] g2.[0]
            throwsMentioning [ "grad:"; "already used" ] (fun () -> Autograd.Gradients(y, [| x |]))
            // The functional forms run f afresh each call, so calling them again is fine.
            let f (t: Tensor) = Tensor.sum (t * t * t)
            for _ in 1 .. 2 do
                valuesClose "grad" 0.0 [| 3.0; 12.0 |] (grad f x)
                valuesClose "hvp" 0.0 [| 6.0; 0.0 |] (hvp f x (Tensor.ofList [ 1.0; 0.0 ]))
    ]

[<Tests>]
let csharpFormsTests =
    testList "FSharp.CSharpForms" [
        testCase "the instance forms of the new functions equal the static ones" <| fun () ->
            let x = x64 ()
            for name, instance, statik in
                [ "Cosh", x.Cosh(), T.Cosh x; "Sinh", x.Sinh(), T.Sinh x; "Log10", x.Log10(), T.Log10 x
                  "Log2", x.Log2(), T.Log2 x; "Asin", x.Asin(), T.Asin x; "Acos", x.Acos(), T.Acos x
                  "Atan", x.Atan(), T.Atan x; "Truncate", x.Truncate(), T.Truncate x ] do
                Check.tensorClose name 0.0 0.0 statik instance

        testCase "comparisons with the number first mirror those with the number second" <| fun () ->
            let x = Tensor.ofList [ -1.0; 0.0; 1.0 ]
            valuesClose "lt 0.0 x = gt x 0.0" 0.0 (Tensor.gt x 0.0 |> Tensor.toArray) (Tensor.lt 0.0 x)
            valuesClose "le 0.0 x = ge x 0.0" 0.0 (Tensor.ge x 0.0 |> Tensor.toArray) (Tensor.le 0.0 x)
            valuesClose "eq 0.0 x = eq x 0.0" 0.0 (Tensor.eq x 0.0 |> Tensor.toArray) (Tensor.eq 0.0 x)
            valuesClose "C# Minimum(2.0, x)" 0.0 [| -1.0; 0.0; 1.0 |] (T.Minimum(2.0, x))
            valuesClose "C# Maximum(x, 0.5)" 0.0 [| 0.5; 0.5; 1.0 |] (T.Maximum(x, 0.5))
    ]

[<Tests>]
let broadcastInTapeTests =
    testList "Engine.BroadcastInTape" [
        testCase "a rule may return a gradient of its output's shape: the tape sums it back to a broadcast input" <| fun () ->
            let x = (Tensor.ofList [ 1.0; 2.0; 3.0 ]).RequiresGrad_()
            // An op that stretches x to [2, 3] and whose rule passes the gradient through as it is.
            let stretched = T.Record(T.Expanded(x, [| 2; 3 |]), "stretch", [| x |], Func<T, T[]>(fun g -> [| g |]))
            (stretched * Tensor.ofList2D [ [ 1.0; 2.0; 3.0 ]; [ 10.0; 20.0; 30.0 ] ] |> Tensor.sum).Backward()
            valuesClose "summed over the stretched axis" 0.0 [| 11.0; 22.0; 33.0 |] x.Grad

        testCase "a gradient whose shape the input does not broadcast to is still an internal error" <| fun () ->
            let x = (Tensor.ofList [ 1.0; 2.0; 3.0 ]).RequiresGrad_()
            let bad = T.Record(x * 1.0, "bad", [| x |], Func<T, T[]>(fun _ -> [| Tensor.ofList [ 1.0; 2.0 ] |]))
            let ex = Expect.throwsC (fun () -> (Tensor.sum bad).Backward()) id
            Expect.stringContains ex.Message "internal error: the backward rule of 'bad'" "names the rule"
            Expect.stringContains ex.Message "[2]" "names the gradient's shape"
    ]
