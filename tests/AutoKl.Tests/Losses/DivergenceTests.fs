/// The textbook divergences: properties (KL >= 0 and = 0 iff equal, JS symmetric and bounded by
/// log 2, Wasserstein-1 of a shift equals the shift, ...), zero support, and gradient checks.
module AutoKl.Tests.Losses.DivergenceTests

open Expecto
open System
open AutoKl
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner
open FsCheck

let private dims (a: PositiveInt) (b: PositiveInt) = [| 1 + a.Get % 4; 2 + b.Get % 5 |]

[<Tests>]
let tests =
    testList "Losses.Divergences" [
        testPropertyWithConfig (Properties.runs 50) "KL is non-negative, zero for equal distributions and positive otherwise" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            let p = probs seed shape
            let q = probs (seed + 1) shape
            let kl = Divergences.KL(p, q).ToDoubleArray()
            Expect.isTrue (kl |> Array.forall (fun v -> v > 0.0)) (sprintf "KL(P||Q) > 0 for P <> Q: %A" kl)
            Expect.isTrue (Divergences.KL(p, p).ToDoubleArray() |> Array.forall ((=) 0.0)) "KL(P||P) = 0"
            Expect.isTrue (Divergences.ReverseKL(p, q).ToDoubleArray() |> Array.forall (fun v -> v > 0.0)) "KL(Q||P) > 0"

        testPropertyWithConfig (Properties.runs 50) "Jensen-Shannon is symmetric and bounded by log 2" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            let p = probs seed shape
            let q = probs (seed + 1) shape
            let js = Divergences.JensenShannon(p, q)
            Check.tensorClose "symmetric" 1e-14 1e-16 js (Divergences.JensenShannon(q, p))
            Expect.isTrue (js.ToDoubleArray() |> Array.forall (fun v -> v >= 0.0 && v <= log 2.0)) "js.ToDoubleArray() |> Array.forall (fun v -> v >= 0.0 && v <= log 2.0)"

        testCase "Jensen-Shannon of disjoint supports is exactly log 2 with finite gradients" <| fun () ->
            let p = Tensor.FromArray([| 0.5; 0.5; 0.0; 0.0 |]).RequiresGrad_()
            let q = Tensor.FromArray([| 0.0; 0.0; 0.25; 0.75 |]).RequiresGrad_()
            let js = Divergences.JensenShannon(p, q)
            Check.arraysClose "log 2" 1e-15 0.0 [| log 2.0 |] [| js.ToScalar() |]
            Autograd.Gradients(js, [| p; q |]) |> Array.iter (Check.allFinite "gradient")

        testPropertyWithConfig (Properties.runs 30) "Wasserstein-1 of a shifted distribution equals the shift" <| fun (seed: int) (shift: PositiveInt) (width: PositiveInt) ->
            let n, k = 12, 1 + shift.Get % 5
            let h = 0.1 + float (width.Get % 7) * 0.3
            let grid = Tensor.Linspace(-3.0, -3.0 + h * float (n - 1), n, DType.Float64)
            let g = Generator(seed)
            let masses = Array.init n (fun i -> if i < n - k then 0.1 + g.NextUniform() else 0.0)
            let shifted = Array.init n (fun i -> if i >= k then masses.[i - k] else 0.0)
            let w = Divergences.Wasserstein1(Tensor.FromArray masses, Tensor.FromArray shifted, grid)
            Check.arraysClose "W1 = shift" 1e-12 1e-12 [| float k * h |] [| w.ToScalar() |]
            // sample sets: b = a + c
            let samples = Tensor.RandN([| 50 |], g, DType.Float64)
            let c = float k * h
            Check.arraysClose "samples" 1e-12 1e-12 [| c |] [| Divergences.Wasserstein1Samples(samples, samples + c).ToScalar() |]

        testCase "Wasserstein-1 between sample sets of different sizes integrates the quantile functions" <| fun () ->
            let w = Divergences.Wasserstein1Samples(Tensor.FromArray [| 1.0; 0.0 |], Tensor.FromArray [| 0.5; 1.0; 0.0 |])
            Check.arraysClose "1/6" 1e-15 0.0 [| 1.0 / 6.0 |] [| w.ToScalar() |]
            // batched grid version: one value per row, unnormalised masses are normalised
            let grid = Tensor.FromArray [| 0.0; 1.0; 3.0 |]
            let p = Tensor.FromArray([| 2.0; 0.0; 0.0; 0.0; 1.0; 0.0 |], 2, 3)
            let q = Tensor.FromArray([| 0.0; 0.0; 1.0; 0.0; 0.0; 5.0 |], 2, 3)
            Check.arraysClose "rows" 1e-15 0.0 [| 3.0; 2.0 |] (Divergences.Wasserstein1(p, q, grid).ToDoubleArray())

        testCase "zero support gives +inf, and the epsilon overload keeps KL finite and bounded" <| fun () ->
            let p = Tensor.FromArray [| 0.5; 0.5; 0.0 |]
            let q = Tensor.FromArray [| 1.0; 0.0; 0.0 |]
            Expect.equal (Divergences.KL(p, q).ToScalar()) Double.PositiveInfinity "Divergences.KL(p, q).ToScalar()"
            // zeros of P where Q is zero too contribute nothing
            Check.arraysClose "0 log 0" 0.0 0.0 [| 0.0 |] [| Divergences.KL(q, q).ToScalar() |]
            let eps = 1e-3
            let smoothed = Divergences.KL(p, q, eps).ToScalar()
            Expect.isTrue (Double.IsFinite smoothed && smoothed > 0.0 && smoothed <= log (3.0 / eps)) "Double.IsFinite smoothed && smoothed > 0.0 && smoothed <= log (3.0 / eps)"
            let mixed = Tensor.FromArray [| (1.0 - eps) + eps / 3.0; eps / 3.0; eps / 3.0 |]
            Check.arraysClose "mixture with uniform" 1e-14 0.0 [| Divergences.KL(p, mixed).ToScalar() |] [| smoothed |]
            Check.arraysClose "reverse smoothed" 1e-14 0.0 [| Divergences.KL(q, Tensor.FromArray [| 0.5 * (1.0 - eps) + eps / 3.0; 0.5 * (1.0 - eps) + eps / 3.0; eps / 3.0 |]).ToScalar() |]
                [| Divergences.ReverseKL(p, q, eps).ToScalar() |]

        testPropertyWithConfig (Properties.runs 30) "Renyi divergence tends to KL at alpha 1, is non-negative, and f-divergence with t log t is KL" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            let p = probs seed shape
            let q = probs (seed + 1) shape
            let kl = Divergences.KL(p, q)
            Check.tensorClose "alpha = 1" 0.0 0.0 kl (Divergences.Renyi(p, q, 1.0))
            Check.tensorClose "alpha -> 1" 1e-4 1e-9 kl (Divergences.Renyi(p, q, 1.0 + 1e-6))
            for alpha in [ 0.5; 2.0; 5.0 ] do
                Expect.isTrue (Divergences.Renyi(p, q, alpha).ToDoubleArray() |> Array.forall (fun v -> v > 0.0)) "Divergences.Renyi(p, q, alpha).ToDoubleArray() |> Array.forall (fun v -> v > 0.0)"
            // Bhattacharyya: Renyi(1/2) = -2 log sum sqrt(p q)
            Check.tensorClose "alpha 1/2" 1e-13 1e-15 (Tensor.Log(Tensor.Sum(Tensor.Sqrt(p * q), -1)) * -2.0) (Divergences.Renyi(p, q, 0.5))
            // C#-style call with a Func generator
            let fKl = Divergences.FDivergence(p, q, Func<Tensor, Tensor>(fun t -> t * Tensor.Log t))
            Check.tensorClose "f = t log t" 1e-12 1e-15 kl fKl
            // the F# pipeable form takes an ordinary F# function
            let fReverse = Divergences.fDivergence (fun t -> -(Tensor.log t)) p q
            Check.tensorClose "f = -log t" 1e-12 1e-15 (Divergences.ReverseKL(p, q)) fReverse

        testPropertyWithConfig (Properties.runs 15) "every divergence has exact gradients" <| fun (seed: int) (a: PositiveInt) (b: PositiveInt) ->
            let shape = dims a b
            // Unnormalised masses in [0.5, 1.5] (allowed, and the formulas are the same): finite
            // differences of 1/q and log q stay accurate, unlike with probabilities of 0.05.
            let p = uniform seed 0.5 1.5 shape
            let q = uniform (seed + 1) 0.5 1.5 shape
            GradCheck.check (fun xs -> Divergences.KL(xs.[0], xs.[1])) [| p; q |]
            GradCheck.check (fun xs -> Divergences.KL(xs.[0], xs.[1], 0.1)) [| p; q |]
            GradCheck.check (fun xs -> Divergences.KL(xs.[0], xs.[1], 0)) [| p; q |]
            GradCheck.check (fun xs -> Divergences.ReverseKL(xs.[0], xs.[1])) [| p; q |]
            GradCheck.check (fun xs -> Divergences.JensenShannon(xs.[0], xs.[1])) [| p; q |]
            for alpha in [ 0.5; 2.0 ] do
                GradCheck.check (fun xs -> Divergences.Renyi(xs.[0], xs.[1], alpha)) [| p; q |]
            GradCheck.check (fun xs -> Divergences.FDivergence(xs.[0], xs.[1], Func<Tensor, Tensor>(fun t -> (Tensor.Sqrt t - 1.0) * (Tensor.Sqrt t - 1.0)))) [| p; q |]
            let logits1 = Tensor.RandN(shape, Generator(seed + 2), DType.Float64)
            let logits2 = Tensor.RandN(shape, Generator(seed + 3), DType.Float64)
            GradCheck.check (fun xs -> Divergences.KLFromLogits(xs.[0], xs.[1])) [| logits1; logits2 |]
            GradCheck.check (fun xs -> Divergences.KLFromLogProbs(Tensor.LogSoftmax(xs.[0], -1), Tensor.LogSoftmax(xs.[1], -1))) [| logits1; logits2 |]
            // Two roundings of a sum of O(1) terms: when the distributions are close the KL is small
            // and the difference is ~1e-16 absolute, so the floor is absolute, not relative.
            Check.tensorClose "from logits" 1e-12 1e-13 (Divergences.KL(Tensor.Softmax(logits1, -1), Tensor.Softmax(logits2, -1))) (Divergences.KLFromLogits(logits1, logits2))
            let grid = Tensor.Linspace(0.0, 2.0, shape.[1], DType.Float64)
            // |F_p - F_q| has a kink where the two CDFs cross: check only when every gap is clear of 0.
            let wp = probs (seed + 6) shape
            let wq = probs (seed + 7) shape
            let gaps = Array.init shape.[0] (fun r ->
                let cp = Array.scan (+) 0.0 ((wp.[r]).ToDoubleArray())
                let cq = Array.scan (+) 0.0 ((wq.[r]).ToDoubleArray())
                Array.map2 (fun x y -> abs (x - y)) cp.[1 .. shape.[1] - 1] cq.[1 .. shape.[1] - 1] |> Array.min)
            if Array.min gaps > 0.02 then
                GradCheck.check (fun xs -> Divergences.Wasserstein1(xs.[0], xs.[1], grid)) [| wp; wq |]
            // Shuffled samples a_i in [i, i + 0.2] and b_j in [j + 0.5, j + 0.7]: every gap |a - b| and
            // every spacing exceeds 0.3, so finite differences never cross a kink of |.| or of the sort.
            let spread (count: int) (offset: float) (s: int) =
                let g = Generator(s)
                let values = Array.init count (fun i -> float i + offset + 0.2 * g.NextUniform())
                Tensor.FromArray(values |> Array.sortBy (fun _ -> g.NextUniform()))
            let s1 = spread 7 0.0 (seed + 4)
            let s2 = spread 5 0.5 (seed + 5)
            GradCheck.check (fun xs -> Divergences.Wasserstein1Samples(xs.[0], xs.[1])) [| s1; s2 |]

        testCase "divergences refuse mismatched shapes, negative probabilities and bad orders" <| fun () ->
            let p = Tensor.FromArray [| 0.5; 0.5 |]
            Check.throwsAutoKl [ "kl"; "q"; "[3]"; "[2]" ] (fun () -> Divergences.KL(p, Tensor.FromArray [| 0.2; 0.3; 0.5 |])) |> ignore
            Check.throwsAutoKl [ "kl"; "p"; "non-negative" ] (fun () -> Divergences.KL(Tensor.FromArray [| -0.5; 1.5 |], p)) |> ignore
            Check.throwsAutoKl [ "renyi"; "alpha" ] (fun () -> Divergences.Renyi(p, p, -1.0)) |> ignore
            Check.throwsAutoKl [ "kl"; "epsilon" ] (fun () -> Divergences.KL(p, p, 0.0)) |> ignore
            Check.throwsAutoKl [ "wasserstein1"; "grid" ] (fun () -> Divergences.Wasserstein1(p, p, Tensor.FromArray [| 0.0; 1.0; 2.0 |])) |> ignore
            Check.throwsAutoKl [ "wasserstein1"; "increasing" ] (fun () -> Divergences.Wasserstein1(p, p, Tensor.FromArray [| 1.0; 0.0 |])) |> ignore

        testCase "the F# Divergences module pipes" <| fun () ->
            let p = probs 1 [| 2; 3 |]
            let q = probs 2 [| 2; 3 |]
            Check.tensorClose "kl" 0.0 0.0 (Divergences.KL(p, q)) (Divergences.kl p q)
            Check.tensorClose "reverse" 0.0 0.0 (Divergences.KL(q, p)) (Divergences.reverseKl p q)
            Check.tensorClose "js" 0.0 0.0 (Divergences.JensenShannon(p, q)) (Divergences.jensenShannon p q)
            Check.tensorClose "renyi" 0.0 0.0 (Divergences.Renyi(p, q, 2.0)) (Divergences.renyi 2.0 p q)
            Check.tensorClose "kl dim" 0.0 0.0 (Divergences.KL(p, q, 0)) (Divergences.klDim 0 p q)
            Check.tensorClose "smoothed" 0.0 0.0 (Divergences.KL(p, q, 0.01)) (Divergences.klSmoothed 0.01 p q)
            Check.tensorClose "log probs" 1e-14 1e-16 (Divergences.KL(p, q)) (Divergences.klFromLogProbs (Tensor.log p) (Tensor.log q))
            Check.tensorClose "w1" 0.0 0.0 (Divergences.Wasserstein1(p, q, Tensor.FromArray [| 0.0; 1.0; 2.0 |])) (Divergences.wasserstein1 (Tensor.FromArray [| 0.0; 1.0; 2.0 |]) p q)
    ]
