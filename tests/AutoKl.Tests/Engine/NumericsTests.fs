/// Softmax, log_softmax and logsumexp on rows far from zero (about 1e4 in float32, 1e300 in
/// float64) in the same tensor as rows near zero: each row is shifted by its own maximum, so
/// every row is exact, and the gradients are finite and exact too. Expected values are worked
/// out in double from the rows' differences, which are exactly representable.
module AutoKl.Tests.Engine.NumericsTests

open System
open AutoKl
open AutoKl.Tests.Support
open Expecto

type T = AutoKl.Tensor

/// softmax, log_softmax and logsumexp of a row given as offsets from a base value, in double:
/// softmax and log_softmax do not depend on the base, logsumexp is base + logsumexp(offsets).
let private reference (offsets: float[]) =
    let m = Array.max offsets
    let lse0 = m + log (offsets |> Array.sumBy (fun d -> exp (d - m)))
    let logSoftmax = offsets |> Array.map (fun d -> d - lse0)
    Array.map exp logSoftmax, logSoftmax, lse0

/// Rows: (base, offsets). The tensor holds base + offset, which must be exact in the dtype.
/// `atol` is the floor for values near 0 (a few float32 ulps of 1: TensorPrimitives' float exp
/// is not correctly rounded).
let private check (dtype: DType) (rows: (float * float[]) list) (rtol: float) (atol: float) =
    let width = (snd rows.Head).Length
    let data = [| for b, offsets in rows do for d in offsets -> b + d |]
    let x = T.FromArray(data, [| rows.Length; width |], dtype)
    let expectedSoftmax = [| for _, o in rows do yield! (let s, _, _ = reference o in s) |]
    let expectedLogSoftmax = [| for _, o in rows do yield! (let _, l, _ = reference o in l) |]
    let expectedLse = [| for b, o in rows -> (let _, _, l = reference o in b + l) |]
    let sm = T.Softmax(x, 1)
    let lsm = T.LogSoftmax(x, 1)
    let lse = T.LogSumExp(x, 1)
    for name, t in [ "softmax", sm; "log_softmax", lsm; "logsumexp", lse ] do
        Expect.equal t.DType dtype (name + " keeps the dtype")
        Check.allFinite name t
    Check.arraysClose "softmax" rtol atol expectedSoftmax (sm.ToDoubleArray())
    Check.arraysClose "log_softmax" rtol atol expectedLogSoftmax (lsm.ToDoubleArray())
    Check.arraysClose "logsumexp" rtol 0.0 expectedLse (lse.ToDoubleArray())
    // Along the other axis: the transposed tensor gives the same answers.
    let xt = T.Transpose(x)
    Check.tensorClose "softmax along axis 0" rtol atol sm (T.Transpose(T.Softmax(xt, 0)))
    Check.tensorClose "log_softmax along axis 0" rtol atol lsm (T.Transpose(T.LogSoftmax(xt, 0)))
    Check.tensorClose "logsumexp along axis 0" rtol 0.0 lse (T.LogSumExp(xt, 0))
    // Gradients: d logsumexp / dx = softmax; d sum(log_softmax * c) / dx = c - softmax * sum(c);
    // d sum(softmax * c) / dx = softmax * (c - sum(softmax * c)).
    let leaf = x.Detach().RequiresGrad_()
    T.LogSumExp(leaf, 1).Sum().Backward()
    Check.allFinite "logsumexp gradient" leaf.Grad
    Check.arraysClose "logsumexp gradient" rtol atol expectedSoftmax (leaf.Grad.ToDoubleArray())
    let c = [| for i in 0 .. data.Length - 1 -> float (i % width) - 1.0 |]
    let cot = T.FromArray(c, [| rows.Length; width |], dtype)
    let gLsm = Autograd.Gradients(T.LogSoftmax(leaf, 1), [| leaf |], cot).[0]
    let gSm = Autograd.Gradients(T.Softmax(leaf, 1), [| leaf |], cot).[0]
    Check.allFinite "log_softmax gradient" gLsm
    Check.allFinite "softmax gradient" gSm
    let rowSum (f: int -> float) r = Seq.sum [ for j in 0 .. width - 1 -> f (r * width + j) ]
    let expectedGLsm = Array.init data.Length (fun i -> c.[i] - expectedSoftmax.[i] * rowSum (fun k -> c.[k]) (i / width))
    let expectedGSm = Array.init data.Length (fun i -> expectedSoftmax.[i] * (c.[i] - rowSum (fun k -> expectedSoftmax.[k] * c.[k]) (i / width)))
    Check.arraysClose "log_softmax gradient" rtol rtol expectedGLsm (gLsm.ToDoubleArray())
    Check.arraysClose "softmax gradient" rtol rtol expectedGSm (gSm.ToDoubleArray())

[<Tests>]
let tests =
    testList "Engine.Numerics" [
        testCase "float32 rows around plus and minus 1e4 beside rows near 0" <| fun () ->
            check DType.Float32
                [ 1e4, [| 0.0; -1.0; -2.0; -3.0 |]
                  0.0, [| 0.1; 0.2; -0.3; 0.0 |]
                  -1e4, [| 0.0; 1.0; 3.0; 2.0 |]
                  1e4, [| -5.0; -5.0; -5.0; -5.0 |]
                  -2e4, [| 2.0; 0.0; 0.0; 40.0 |] ]
                2e-6 1e-6

        testCase "float64 rows around plus and minus 1e300 beside rows near 0" <| fun () ->
            // Equal values: softmax 1/n, log_softmax -log n, logsumexp the value itself (log n is far
            // below its last digit). Values 1e300 apart: softmax is one-hot.
            check DType.Float64
                [ 1e300, [| 0.0; 0.0; 0.0; 0.0 |]
                  0.0, [| 0.1; 0.2; -0.3; 0.0 |]
                  -1e300, [| 0.0; 0.0; 0.0; 0.0 |]
                  0.0, [| 1e300; 0.0; -1e300; 5e299 |]
                  0.0, [| -1e300; -1e300; -1e300; 3.0 |] ]
                1e-14 1e-300

        testCase "float64 rows around 1e4 keep every digit" <| fun () ->
            check DType.Float64
                [ 1e4, [| 0.0; -1.0; -2.0; -3.0 |]
                  0.0, [| 0.1; 0.2; -0.3; 0.0 |]
                  -1e4, [| 0.5; 1.0; 3.0; 2.0 |] ]
                1e-14 1e-300

        testCase "rows of -inf and +inf give the limits, not NaN, where they are defined" <| fun () ->
            let x = T.FromArray([| 0.0; Double.NegativeInfinity; 1.0; Double.NegativeInfinity |], 2, 2)
            Check.arraysClose "softmax with -inf" 1e-15 0.0 [| 1.0; 0.0; 1.0; 0.0 |] (T.Softmax(x, 1).ToDoubleArray())
            Check.arraysClose "logsumexp with -inf" 1e-15 0.0 [| 0.0; 1.0 |] (T.LogSumExp(x, 1).ToDoubleArray())
            let allNegInf = T.FromArray([| Double.NegativeInfinity; Double.NegativeInfinity |], 1, 2)
            Check.arraysClose "logsumexp of an all -inf row" 0.0 0.0 [| Double.NegativeInfinity |] (T.LogSumExp(allNegInf, 1).ToDoubleArray())

        testCase "logsumexp over several axes at once stays exact at 1e300" <| fun () ->
            let x = T.FromArray([| 1e300; 1e300; 1e300; 1e300; 0.0; 0.0; 0.0; 0.0 |], 2, 2, 2)
            let lse = T.LogSumExp(x, [| 1; 2 |])
            Check.arraysClose "logsumexp over [1; 2]" 1e-15 0.0 [| 1e300; log 4.0 |] (lse.ToDoubleArray())
            let g = grad (fun x -> T.LogSumExp(x, [| -1; -2 |]) |> Tensor.sum) x
            Check.arraysClose "its gradient" 1e-15 0.0 (Array.create 8 0.25) (g.ToDoubleArray())

        testCase "NaN propagates through elementwise ops and reductions, as in PyTorch" <| fun () ->
            for dtype in [ DType.Float32; DType.Float64 ] do
                let x = T.FromArray([| nan; 1.0; -2.0 |], [| 3 |], dtype)
                let isNan (what: string) (t: Tensor) = Expect.isTrue (Double.IsNaN(t.ToDoubleArray().[0])) (sprintf "%s of NaN (%A)" what dtype)
                for name, op in [ "relu", T.Relu; "abs", T.Abs; "exp", T.Exp; "tanh", T.Tanh; "sigmoid", T.Sigmoid
                                  "clamp", (fun x -> T.Clamp(x, -1.0, 1.0)); "softplus", (fun x -> T.Softplus x)
                                  "maximum", (fun x -> T.Maximum(x, T.OnesLike x)); "minimum", (fun x -> T.Minimum(x, T.OnesLike x))
                                  "max", (fun x -> T.Max x); "min", (fun x -> T.Min x); "sum", T.Sum; "logsumexp", T.LogSumExp
                                  "softmax", (fun x -> T.Softmax(x, 0)); "log1p", T.Log1p; "expm1", T.Expm1 ] do
                    isNan name (op x)
                Check.arraysClose "the other elements of relu" 0.0 0.0 [| 1.0; 0.0 |] ((T.Relu x).ToDoubleArray().[1..])
            Check.arraysClose "log and sqrt outside their domain" 0.0 0.0 [| nan; nan; -infinity |]
                (T.Concat([ T.Log(Tensor.ofList [ -1.0 ]); T.Sqrt(Tensor.ofList [ -1.0 ]); T.Log(Tensor.ofList [ 0.0 ]) ]).ToDoubleArray())
            Check.arraysClose "large values saturate" 0.0 0.0 [| 0.0; 1.0; -1.0; 1.0; 1000.0; 0.0 |]
                (T.Concat([ T.Sigmoid(Tensor.ofList [ -1000.0; 1000.0 ]); T.Tanh(Tensor.ofList [ -1000.0; 1000.0 ]); T.Softplus(Tensor.ofList [ 1000.0; -1000.0 ]) ]).ToDoubleArray())
            let f32 = T.FromArray([| -200.0f; 200.0f |])
            Check.arraysClose "float32 sigmoid saturates" 0.0 0.0 [| 0.0; 1.0 |] ((T.Sigmoid f32).ToDoubleArray())
            Check.allFinite "float32 softplus gradient at large values" (grad (fun x -> T.Sum(T.Softplus x)) f32)
    ]
