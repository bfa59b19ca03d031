/// Distributions: gradient checks of every log-density, cdf, entropy and closed-form KL; the
/// analytic KL against a large-sample Monte Carlo (k3) estimate; sampling; the mixture; the KL
/// registry; parameter checks.
module AutoKl.Tests.Distributions.DistributionTests

open Expecto
open System
open AutoKl
open AutoKl.Distributions
open AutoKl.Tests.Support
open AutoKl.Tests.Losses.OracleRunner
open FsCheck

let private randn (seed: int) (shape: int[]) = Tensor.RandN(shape, Generator(seed), DType.Float64)

/// |analytic - Monte Carlo| within 5 standard errors (a false alarm has probability ~6e-7).
let private agrees (what: string) (analytic: Tensor) (estimate: MonteCarloEstimate) =
    let a = analytic.ToDoubleArray()
    let v = estimate.Value.ToDoubleArray()
    let se = estimate.StandardError.ToDoubleArray()
    for i in 0 .. a.Length - 1 do
        if not (abs (a.[i] - v.[i]) <= 5.0 * se.[i] + 1e-12) then
            failtestf "%s: analytic %g, Monte Carlo %g +- %g (element %d)" what a.[i] v.[i] se.[i] i

/// A user-defined distribution: the exponential, with its own KL rule registered.
type Exponential(rate: Tensor) =
    inherit Distribution(rate.Shape)
    member _.Rate = rate
    override _.Name = "exponential"
    override _.LogProb(x) = Tensor.Log rate - rate * x
    override _.Entropy() = 1.0 - Tensor.Log rate
    override _.Mean = 1.0 / rate
    override _.Variance = 1.0 / (rate * rate)
    override this.Sample(shape, generator) =
        let u = Tensor.Rand(Array.append shape rate.Shape, generator, DType.Float64)
        -(Tensor.Log1p(-u)) / rate.Detach()
    override _.Cdf(x) = 1.0 - Tensor.Exp(-(rate * x))

[<Tests>]
let tests =
    testList "Distributions.Behaviour" [
        testPropertyWithConfig (Properties.runs 15) "log-densities, cdfs and entropies have exact gradients" <| fun (seed: int) (a: PositiveInt) ->
            let n = 1 + a.Get % 4
            let loc = randn seed [| n |]
            let scale = uniform (seed + 1) 0.5 2.0 [| n |]
            let x = randn (seed + 2) [| 3; n |]
            GradCheck.check (fun xs -> Normal(xs.[0], xs.[1]).LogProb(xs.[2])) [| loc; scale; x |]
            GradCheck.check (fun xs -> Normal(xs.[0], xs.[1]).Cdf(xs.[2])) [| loc; scale; x |]
            GradCheck.check (fun xs -> Normal(xs.[0], xs.[1]).Entropy()) [| loc; scale |]
            let low = uniform (seed + 3) -2.0 -1.0 [| n |]
            let high = uniform (seed + 4) 1.0 2.0 [| n |]
            let inside = uniform (seed + 5) -0.9 0.9 [| 3; n |]
            GradCheck.check (fun xs -> Uniform(xs.[0], xs.[1]).LogProb(inside)) [| low; high |]
            GradCheck.check (fun xs -> Uniform(xs.[0], xs.[1]).Cdf(xs.[2])) [| low; high; inside |]
            GradCheck.check (fun xs -> Uniform(xs.[0], xs.[1]).Entropy()) [| low; high |]
            let logits = randn (seed + 6) [| n; 4 |]
            let probsT = gentleProbs (seed + 7) [| n; 4 |]
            let g = Generator(seed + 8)
            let value = Tensor.FromArray(Array.init n (fun _ -> int64 (g.NextInt 4)))
            GradCheck.check (fun xs -> Categorical.FromLogits(xs.[0]).LogProb(value)) [| logits |]
            GradCheck.check (fun xs -> Categorical.FromProbs(xs.[0], validateArgs = false).LogProb(value)) [| probsT |]
            GradCheck.check (fun xs -> Categorical.FromLogits(xs.[0]).Entropy()) [| logits |]
            GradCheck.check (fun xs -> Categorical.FromProbs(xs.[0], validateArgs = false).Entropy()) [| probsT |]
            let bp = uniform (seed + 9) 0.2 0.8 [| n |]
            let bv = Tensor.FromArray(Array.init n (fun i -> float (i % 2)))
            GradCheck.check (fun xs -> Bernoulli.FromProbs(xs.[0]).LogProb(xs.[1])) [| bp; bv |]
            GradCheck.check (fun xs -> Bernoulli.FromLogits(xs.[0]).LogProb(xs.[1])) [| loc; bv |]
            GradCheck.check (fun xs -> Bernoulli.FromProbs(xs.[0]).Entropy()) [| bp |]
            GradCheck.check (fun xs -> Bernoulli.FromLogits(xs.[0]).Entropy()) [| loc |]
            let weights = gentleProbs (seed + 10) [| 3 |]
            GradCheck.check (fun xs -> MixtureSameFamily.OfNormals(xs.[0], xs.[1], xs.[2], validateArgs = false).LogProb(xs.[3]))
                [| weights; randn (seed + 11) [| 3 |]; uniform (seed + 12) 0.5 2.0 [| 3 |]; randn (seed + 13) [| 5 |] |]

        testPropertyWithConfig (Properties.runs 15) "closed-form KL divergences have exact gradients in every parameter" <| fun (seed: int) (a: PositiveInt) ->
            let n = 1 + a.Get % 4
            let pos s = uniform s 0.5 2.0 [| n |]
            GradCheck.check (fun xs -> KL.Divergence(Normal(xs.[0], xs.[1]), Normal(xs.[2], xs.[3]))) [| randn seed [| n |]; pos (seed + 1); randn (seed + 2) [| n |]; pos (seed + 3) |]
            GradCheck.check (fun xs -> KL.Divergence(Categorical.FromProbs(xs.[0], false), Categorical.FromProbs(xs.[1], false)))
                [| gentleProbs (seed + 4) [| n; 3 |]; gentleProbs (seed + 5) [| n; 3 |] |]
            GradCheck.check (fun xs -> KL.Divergence(Categorical.FromLogits(xs.[0]), Categorical.FromLogits(xs.[1]))) [| randn (seed + 6) [| n; 3 |]; randn (seed + 7) [| n; 3 |] |]
            GradCheck.check (fun xs -> KL.Divergence(Bernoulli.FromProbs(xs.[0]), Bernoulli.FromProbs(xs.[1]))) [| uniform (seed + 8) 0.2 0.8 [| n |]; uniform (seed + 9) 0.2 0.8 [| n |] |]
            let pl, ph = uniform (seed + 10) -1.0 -0.5 [| n |], uniform (seed + 11) 0.5 1.0 [| n |]
            let ql, qh = uniform (seed + 12) -3.0 -2.0 [| n |], uniform (seed + 13) 2.0 3.0 [| n |]
            GradCheck.check (fun xs -> KL.Divergence(Uniform(xs.[0], xs.[1]), Uniform(xs.[2], xs.[3]))) [| pl; ph; ql; qh |]
            GradCheck.check (fun xs -> KL.Divergence(Uniform(xs.[0], xs.[1]), Normal(xs.[2], xs.[3]))) [| pl; ph; randn (seed + 14) [| n |]; pos (seed + 15) |]

        testPropertyWithConfig (Properties.runs 8) "analytic KL agrees with a large-sample Monte Carlo k3 estimate" <| fun (seed: int) ->
            let g = Generator(seed)
            let samples = 20000
            // With r = q/p, E_P[r^k] is finite only while sigma_q^2 < k/(k-1) sigma_p^2. The standard
            // error is itself estimated from the samples, so it must have a finite variance too: that
            // needs k = 4, sigma_q^2 < 4/3 sigma_p^2 (here at most 1.21 < 1.33). Far-apart means make the
            // tail of r so heavy that 20000 samples under-estimate the spread (a CI run once saw a
            // 7.5-sigma miss at KL = 11.4 with sigma_q = 0.6), so the means stay within 1 of each other.
            let p = Normal(uniform seed -0.5 0.5 [| 2 |], uniform (seed + 1) 1.0 1.5 [| 2 |])
            let q = Normal(uniform (seed + 2) -0.5 0.5 [| 2 |], uniform (seed + 3) 0.7 1.1 [| 2 |])
            agrees "Normal-Normal" (KL.Divergence(p, q)) (MonteCarloKL.Estimate(p, q, samples, g))
            let cp = Categorical.FromLogits(randn (seed + 4) [| 2; 4 |])
            let cq = Categorical.FromLogits(randn (seed + 5) [| 2; 4 |])
            agrees "Categorical" (KL.Divergence(cp, cq)) (MonteCarloKL.Estimate(cp, cq, samples, g))
            let bp = Bernoulli.FromProbs(uniform (seed + 6) 0.2 0.8 [| 3 |])
            let bq = Bernoulli.FromProbs(uniform (seed + 7) 0.2 0.8 [| 3 |])
            agrees "Bernoulli" (KL.Divergence(bp, bq)) (MonteCarloKL.Estimate(bp, bq, samples, g))
            // Q's support is wider than P's here, so E_P[q/p] < 1 and k3 is biased: k1 is the estimator to use.
            let up = Uniform(Tensor.FromArray [| -1.0; 0.0 |], Tensor.FromArray [| 1.0; 0.5 |])
            let uq = Normal(Tensor.FromArray [| 0.3; -0.2 |], Tensor.FromArray [| 1.2; 0.7 |])
            agrees "Uniform-Normal" (KL.Divergence(up, uq)) (MonteCarloKL.Estimate(up, uq, samples, g, MonteCarloEstimator.K1))
            let wide = Uniform(Tensor.FromArray [| -2.0; -1.0 |], Tensor.FromArray [| 2.0; 1.5 |])
            agrees "Uniform-Uniform" (KL.Divergence(up, wide)) (MonteCarloKL.Estimate(up, wide, samples, g, MonteCarloEstimator.K1))
            // k1 is unbiased too
            agrees "Normal-Normal k1" (KL.Divergence(p, q)) (MonteCarloKL.Estimate(p, q, samples, g, MonteCarloEstimator.K1))

        testCase "Monte Carlo estimators from log-densities: k1, k2, k3 and their gradients through rsample" <| fun () ->
            let logP = Tensor.FromArray [| -1.0; -2.0; -0.5 |]
            let logQ = Tensor.FromArray [| -1.5; -1.0; -0.5 |]
            let lr = [| 0.5; -1.0; 0.0 |]
            Check.arraysClose "k1" 1e-15 0.0 [| Array.average lr |] [| (MonteCarloKL.K1(logP, logQ)).ToScalar() |]
            Check.arraysClose "k2" 1e-15 0.0 [| lr |> Array.averageBy (fun v -> v * v / 2.0) |] [| (MonteCarloKL.K2(logP, logQ)).ToScalar() |]
            Check.arraysClose "k3" 1e-15 0.0 [| lr |> Array.averageBy (fun v -> v + exp (-v) - 1.0) |] [| (MonteCarloKL.K3(logP, logQ)).ToScalar() |]
            Expect.isTrue ((MonteCarloKL.K3Terms(logP, logQ)).ToDoubleArray() |> Array.forall (fun v -> v >= 0.0)) "k3 terms are never negative"
            // The reparameterised estimate's gradient estimates the gradient of the KL.
            let mu = Tensor.Scalar(0.5).RequiresGrad_()
            let q = Normal(0.0, 1.0)
            let e = MonteCarloKL.Estimate(Normal(mu, Tensor.Scalar 1.0), q, 20000, Generator(3))
            let g = Autograd.Gradients(e.Value, [| mu |]).[0].ToScalar()
            Expect.isTrue (abs (g - 0.5) < 0.05) (sprintf "d KL / d mu = mu = 0.5, estimate %g" g)

        testPropertyWithConfig (Properties.runs 15) "Monte Carlo estimators have exact gradients in both log-densities" <| fun (seed: int) ->
            let logP = randn seed [| 6; 2 |] * 0.5
            let logQ = randn (seed + 1) [| 6; 2 |] * 0.5
            GradCheck.check (fun xs -> MonteCarloKL.K1(xs.[0], xs.[1])) [| logP; logQ |]
            GradCheck.check (fun xs -> MonteCarloKL.K2(xs.[0], xs.[1])) [| logP; logQ |]
            GradCheck.check (fun xs -> MonteCarloKL.K3(xs.[0], xs.[1])) [| logP; logQ |]

        testCase "sampling: moments, support, shapes and seeds" <| fun () ->
            let normal = Normal(Tensor.FromArray [| 1.0; -2.0 |], Tensor.FromArray [| 0.5; 2.0 |])
            let s = normal.Sample([| 40000 |], Generator(1))
            Check.shapeIs "sample shape" [| 40000; 2 |] s
            Check.tensorClose "mean" 0.0 0.03 normal.Mean (Tensor.Mean(s, 0))
            Check.tensorClose "std" 0.0 0.03 normal.Stddev (Tensor.Std(s, [| 0 |]))
            Expect.isFalse s.RequiresGrad "s.RequiresGrad"
            Check.tensorClose "same seed, same samples" 0.0 0.0 s (normal.Sample([| 40000 |], Generator(1)))
            let cat = Categorical.FromProbs(Tensor.FromArray [| 0.2; 0.5; 0.3 |])
            let c = cat.Sample([| 30000 |], Generator(2)).ToInt64Array()
            let freq = Array.init 3 (fun k -> float (c |> Array.filter ((=) (int64 k)) |> Array.length) / 30000.0)
            Check.arraysClose "frequencies" 0.0 0.015 [| 0.2; 0.5; 0.3 |] freq
            let bern = Bernoulli.FromLogits(Tensor.FromArray [| 0.0; 2.0 |])
            let b = bern.Sample([| 30000 |], Generator(3))
            Check.tensorClose "bernoulli mean" 0.0 0.015 bern.Mean (Tensor.Mean(b, 0))
            let uni = Uniform(-1.0, 3.0)
            let u = uni.Sample([| 1000 |], Generator(4)).ToDoubleArray()
            Expect.isTrue (u |> Array.forall (fun v -> v >= -1.0 && v < 3.0)) "u |> Array.forall (fun v -> v >= -1.0 && v < 3.0)"
            Check.arraysClose "uniform moments" 1e-15 0.0 [| 1.0; 16.0 / 12.0 |] [| uni.Mean.ToScalar(); uni.Variance.ToScalar() |]

        testCase "rsample carries gradients to the parameters" <| fun () ->
            let loc = Tensor.FromArray([| 1.0; 2.0 |]).RequiresGrad_()
            let scale = Tensor.FromArray([| 0.5; 1.5 |]).RequiresGrad_()
            let x = Normal(loc, scale).RSample([| 5 |], Generator(4))
            let gs = Autograd.Gradients(Tensor.Sum x, [| loc; scale |])
            Check.arraysClose "d/dloc" 0.0 0.0 [| 5.0; 5.0 |] (gs.[0].ToDoubleArray())
            let eps = Tensor.RandN([| 5; 2 |], Generator(4), DType.Float64)
            Check.tensorClose "d/dscale = sum eps" 1e-14 1e-15 (Tensor.Sum(eps, 0)) gs.[1]
            let low = Tensor.Scalar(0.0).RequiresGrad_()
            let high = Tensor.Scalar(2.0).RequiresGrad_()
            let u = Uniform(low, high).RSample([| 10 |], Generator(5))
            let ug = Autograd.Gradients(Tensor.Sum u, [| low; high |])
            Check.arraysClose "uniform" 1e-14 0.0 [| 10.0 |] [| ug.[0].ToScalar() + ug.[1].ToScalar() |]
            Check.throwsAutoKl [ "rsample"; "Categorical" ] (fun () -> Categorical.FromLogits(Tensor.FromArray [| 0.0; 1.0 |]).RSample(Generator(1))) |> ignore

        testCase "the two-Gaussian mixture of the reference experiment" <| fun () ->
            let mix = MixtureSameFamily.OfNormals(Tensor.FromArray [| 0.5; 0.5 |], Tensor.FromArray [| -5.0; 10.0 |], Tensor.FromArray [| 1.0; 1.0 |])
            let x = Tensor.Linspace(-15.0, 15.0, 1000, DType.Float64)
            // the experiment's target p(x) = N(-5,1).pdf + N(10,1).pdf is twice the mixture density
            let target = Normal(-5.0, 1.0).Prob(x) + Normal(10.0, 1.0).Prob(x)
            Check.tensorClose "density" 1e-13 1e-300 target (mix.Prob(x) * 2.0)
            Check.arraysClose "moments" 1e-14 0.0 [| 2.5; 1.0 + 56.25 |] [| mix.Mean.ToScalar(); mix.Variance.ToScalar() |]
            Check.arraysClose "cdf" 1e-14 0.0 [| 0.5 |] [| mix.Cdf(Tensor.Scalar 2.5).ToScalar() |]
            let s = mix.Sample([| 20000 |], Generator(6))
            Check.arraysClose "sample mean" 0.0 0.15 [| 2.5 |] [| Tensor.Mean(s).ToScalar() |]
            // No closed form for KL(mixture || normal): the error points to Monte Carlo, which works.
            let q = Normal(2.5, 7.5)
            Expect.isFalse (KL.HasClosedForm(mix, q)) "KL.HasClosedForm(mix, q)"
            Check.throwsAutoKl [ "kl_divergence"; "MixtureSameFamily"; "Normal"; "MonteCarloKL" ] (fun () -> KL.Divergence(mix, q)) |> ignore
            let k1 = MonteCarloKL.Estimate(mix, q, 20000, Generator(7), MonteCarloEstimator.K1)
            Expect.isTrue (k1.StandardError.ToScalar() < 0.05) "k1.StandardError.ToScalar() < 0.05"
            // reference: the integral of p log(p/q) on a fine grid (q/p is unbounded in the tails here,
            // so k3's variance is infinite: k1 is the estimator for this pair)
            let grid = Tensor.Linspace(-40.0, 50.0, 90001, DType.Float64)
            let integral = Divergences.KL(mix.Prob grid, q.Prob grid).ToScalar() * 0.001
            agrees "mixture k1" (Tensor.Scalar integral) k1
            Check.throwsAutoKl [ "entropy" ] (fun () -> mix.Entropy()) |> ignore

        testCase "users register closed forms for their own distribution pairs" <| fun () ->
            let p = Exponential(Tensor.FromArray [| 1.0; 2.0 |])
            let q = Exponential(Tensor.FromArray [| 1.5; 0.5 |])
            Check.throwsAutoKl [ "kl_divergence"; "Exponential" ] (fun () -> KL.Divergence(p, q)) |> ignore
            KL.Register<Exponential, Exponential>(fun p q -> Tensor.Log p.Rate - Tensor.Log q.Rate + q.Rate / p.Rate - 1.0)
            let analytic = KL.Divergence(p, q)
            agrees "Exponential" analytic (MonteCarloKL.Estimate(p, q, 20000, Generator(8)))
            Check.tensorClose "F# module" 0.0 0.0 analytic (Distribution.kl p q)

        testCase "closed forms: zero-probability classes, disjoint supports and Normal-Uniform" <| fun () ->
            let p = Categorical.FromProbs(Tensor.FromArray [| 0.5; 0.5; 0.0 |])
            let q = Categorical.FromProbs(Tensor.FromArray [| 0.0; 0.5; 0.5 |])
            Expect.equal (KL.Divergence(p, q).ToScalar()) Double.PositiveInfinity "KL.Divergence(p, q).ToScalar()"
            Check.arraysClose "p zero" 1e-15 0.0 [| 0.5 * log 2.0 |] [| KL.Divergence(q, Categorical.FromProbs(Tensor.FromArray [| 0.25; 0.5; 0.25 |])).ToScalar() |]
            Expect.equal (KL.Divergence(Uniform(-1.0, 2.0), Uniform(0.0, 3.0)).ToScalar()) Double.PositiveInfinity "KL.Divergence(Uniform(-1.0, 2.0), Uniform(0.0, 3.0)).ToScalar()"
            Expect.equal (KL.Divergence(Normal(0.0, 1.0), Uniform(-1.0, 1.0)).ToScalar()) Double.PositiveInfinity "KL.Divergence(Normal(0.0, 1.0), Uniform(-1.0, 1.0)).ToScalar()"
            Check.arraysClose "same normal" 0.0 0.0 [| 0.0 |] [| KL.Divergence(Normal(1.0, 2.0), Normal(1.0, 2.0)).ToScalar() |]

        testCase "parameter checks name the argument, and can be switched off" <| fun () ->
            Check.throwsAutoKl [ "normal"; "scale"; "positive"; "0" ] (fun () -> Normal(0.0, 0.0)) |> ignore
            Check.throwsAutoKl [ "normal"; "scale"; "-1" ] (fun () -> Normal(Tensor.FromArray [| 0.0; 0.0 |], Tensor.FromArray [| 1.0; -1.0 |])) |> ignore
            Check.throwsAutoKl [ "categorical"; "probs"; "sum to 1"; "1.2" ] (fun () -> Categorical.FromProbs(Tensor.FromArray [| 0.6; 0.6 |])) |> ignore
            Check.throwsAutoKl [ "categorical"; "probs"; "[0, 1]"; "-0.1" ] (fun () -> Categorical.FromProbs(Tensor.FromArray [| -0.1; 1.1 |])) |> ignore
            Check.throwsAutoKl [ "bernoulli"; "probs"; "1.5" ] (fun () -> Bernoulli.FromProbs(Tensor.FromArray [| 1.5 |])) |> ignore
            Check.throwsAutoKl [ "uniform"; "high"; "low" ] (fun () -> Uniform(1.0, 1.0)) |> ignore
            Check.throwsAutoKl [ "categorical.log_prob"; "value"; "5"; "3 categories" ] (fun () ->
                Categorical.FromLogits(Tensor.FromArray [| 0.0; 1.0; 2.0 |]).LogProb(Tensor.FromArray([| 5L |]).Reshape([||]))) |> ignore
            Check.throwsAutoKl [ "categorical.mean" ] (fun () -> Categorical.FromLogits(Tensor.FromArray [| 0.0; 1.0 |]).Mean) |> ignore
            Check.throwsAutoKl [ "mixture_same_family"; "components" ] (fun () ->
                MixtureSameFamily(Categorical.FromLogits(Tensor.FromArray [| 0.0; 1.0 |]), Normal(Tensor.Zeros([| 3 |], DType.Float64), Tensor.Ones([| 3 |], DType.Float64)))) |> ignore
            // validateArgs = false, or a Validation.Disabled scope, skips the checks (for hot loops)
            Normal(Tensor.Scalar 0.0, Tensor.Scalar -1.0, validateArgs = false) |> ignore
            Categorical.FromProbs(Tensor.FromArray [| 0.6; 0.6 |], validateArgs = false) |> ignore
            using (Validation.Disabled()) (fun _ -> Uniform(2.0, 1.0) |> ignore)

        testCase "log_prob broadcasts samples against the batch, and the F# module pipes" <| fun () ->
            let cat = Categorical.FromLogits(randn 1 [| 2; 3 |])
            let values = Tensor.FromArray([| 0L; 2L; 1L; 1L; 2L; 0L |], 3, 2)
            let lp = cat.LogProb(values)
            Check.shapeIs "sample x batch" [| 3; 2 |] lp
            Check.arraysClose "element" 1e-15 0.0 [| cat.Logits.ItemAt(1, 2) |] [| lp.ItemAt(0, 1) |]
            let normal = Distribution.normal (Tensor.FromArray [| 0.0; 1.0 |]) (Tensor.FromArray [| 1.0; 2.0 |])
            let x = normal |> Distribution.sample (Generator(2)) [ 4 ]
            Check.shapeIs "sample" [| 4; 2 |] x
            Check.tensorClose "logProb" 0.0 0.0 (normal.LogProb x) (x |> Distribution.logProb normal)
            Check.tensorClose "prob" 0.0 0.0 (normal.Prob x) (x |> Distribution.prob normal)
            Check.tensorClose "cdf" 0.0 0.0 (normal.Cdf x) (x |> Distribution.cdf normal)
            Check.tensorClose "entropy" 0.0 0.0 (normal.Entropy()) (Distribution.entropy normal)
            let value, se = Distribution.klMonteCarlo (Generator(3)) 5000 normal (Distribution.normal (Tensor.Scalar 0.5) (Tensor.Scalar 1.5))
            Check.shapeIs "one estimate per distribution" [| 2 |] value
            Check.allFinite "standard error" se

        testCase "a categorical with a class of probability 0 has finite log-probabilities and gradients" <| fun () ->
            let probs = Tensor.ofList [ 0.5; 0.5; 0.0 ] |> Tensor.requiresGrad
            let c = Categorical.FromProbs probs
            let lp = c.LogProb(Tensor.FromArray([| 0L; 1L |]))
            Check.allFinite "log-probabilities of the possible classes" lp
            (Tensor.sum lp).Backward()
            Check.allFinite "gradient with respect to probs" probs.Grad
            // d/dp_k of log(p_k / sum p) at the observed classes 0 and 1: 1/p_k - 2/sum(p) for each.
            Check.arraysClose "gradient" 1e-12 1e-12 [| 2.0 - 2.0; 2.0 - 2.0; -2.0 |] (probs.Grad.ToDoubleArray())
    ]
