module AutoKl.Tests.Engine.FastExpTests

// float32 exp has its own vector kernel (src/AutoKl/Kernels/FastMath.cs). These tests hold it to
// the accuracy of the Sleef function PyTorch uses (1 ulp), to IEEE special values, and to
// results that depend on each element's own value only, wherever it sits in the tensor.

open System
open Expecto
open AutoKl

/// Distance in units in the last place between two finite float32 values of the same sign (0 for equal bits).
let private ulps (a: float32) (b: float32) =
    if a = b then 0L
    else abs (int64 (BitConverter.SingleToInt32Bits a) - int64 (BitConverter.SingleToInt32Bits b))

/// exp in float64 rounded to float32: the correctly rounded value except in rare double-rounding ties.
let private reference (x: float32) = float32 (Math.Exp(float x))

let private expOf (xs: float32[]) = (Tensor.FromArray(xs) |> Tensor.exp).ToSingleArray()

[<Tests>]
let tests =
    testList "Engine.FastExp" [
        testCase "float32 exp is within 1 ulp of the rounded float64 exp over its whole range" <| fun () ->
            // every 61st float32 between -104 and 89 (near 1.5 million values): both sides of
            // underflow into subnormals and of overflow to inf
            let lo = BitConverter.SingleToInt32Bits -104.0f
            let hi = BitConverter.SingleToInt32Bits 89.0f
            let negatives = [| for b in lo .. -61 .. Int32.MinValue + 1 do yield BitConverter.Int32BitsToSingle b |]
            let positives = [| for b in 0 .. 61 .. hi do yield BitConverter.Int32BitsToSingle b |]
            let xs = Array.append negatives positives
            let ys = expOf xs
            let worst = Array.init xs.Length (fun i -> ulps ys[i] (reference xs[i]), i) |> Array.max
            let err, at = worst
            Expect.isLessThanOrEqual err 1L (sprintf "exp(%.9g) = %.9g, float64 gives %.9g: %d ulps" xs[at] ys[at] (reference xs[at]) err)

        testCase "special values follow IEEE and MathF" <| fun () ->
            let xs = [| nanf; infinityf; -infinityf; 0.0f; -0.0f; 88.8f; 100.0f; -104.0f; -1e30f; 1e30f; -87.5f; 88.5f |]
            let ys = expOf xs
            Expect.isTrue (Single.IsNaN ys[0]) "exp(NaN) is NaN"
            Expect.equal ys[1] infinityf "exp(inf) = inf"
            Expect.equal ys[2] 0.0f "exp(-inf) = 0"
            Expect.equal ys[3] 1.0f "exp(0) = 1"
            Expect.equal ys[4] 1.0f "exp(-0) = 1"
            Expect.equal ys[5] infinityf "exp(88.8) overflows to inf"
            Expect.equal ys[6] infinityf "exp(100) = inf"
            Expect.equal ys[7] 0.0f "exp(-104) underflows to 0"
            Expect.equal ys[8] 0.0f "exp(-1e30) = 0"
            Expect.equal ys[9] infinityf "exp(1e30) = inf"
            for i in 10 .. 11 do
                Expect.isLessThanOrEqual (ulps ys[i] (reference xs[i])) 1L (sprintf "exp(%g) near the edges of the fast range" xs[i])

        testCase "each element's bits do not depend on its neighbours or its place in the tensor" <| fun () ->
            let rng = Random(7)
            // finite values, specials and out-of-range values mixed, so vectors take every path
            let pool = [| nanf; infinityf; -infinityf; -90.0f; -200.0f; 95.0f |]
            let xs = Array.init 1000 (fun i -> if i % 13 = 0 then pool[rng.Next pool.Length] else float32 (rng.NextDouble() * 60.0 - 30.0))
            let whole = expOf xs
            for start in 0 .. 7 do
                for length in [ 1; 3; 8; 9; 17; 32; 45; 64; 100 ] do
                    let part = expOf xs[start .. start + length - 1]
                    for k in 0 .. length - 1 do
                        let a, b = part[k], whole[start + k]
                        Expect.isTrue (BitConverter.SingleToInt32Bits a = BitConverter.SingleToInt32Bits b)
                            (sprintf "exp(%g) at offset %d of a slice of %d: %g, in the whole tensor: %g" xs[start + k] k length a b)

        testCase "softmax and log_softmax in float32 stay within a few ulps of float64" <| fun () ->
            let rng = Random(3)
            let xs = Array.init (64 * 300) (fun _ -> float32 (rng.NextDouble() * 40.0 - 20.0))
            let x32 = Tensor.FromArray(xs, [| 64; 300 |])
            let x64 = x32.ToType DType.Float64
            let p32 = (Tensor.Softmax(x32, 1)).ToSingleArray()
            let p64 = (Tensor.Softmax(x64, 1)).ToDoubleArray()
            // x - max is rounded to float32 first, up to half an ulp of 40 (1.9e-6): that, not exp,
            // bounds the relative error of each probability
            for i in 0 .. p32.Length - 1 do
                let rel = abs (float p32[i] - p64[i]) / p64[i]
                Expect.isLessThan rel 4e-6 (sprintf "softmax element %d: %g against %g" i p32[i] p64[i])
            let l32 = (Tensor.LogSoftmax(x32, 1)).ToSingleArray()
            let l64 = (Tensor.LogSoftmax(x64, 1)).ToDoubleArray()
            for i in 0 .. l32.Length - 1 do
                let err = abs (float l32[i] - l64[i])
                Expect.isLessThan err (4e-6 * (1.0 + abs l64[i])) (sprintf "log_softmax element %d: %g against %g" i l32[i] l64[i])
    ]
