/// The smaller public members, each used from F# the way a user would, with real assertions.
module AutoKl.Tests.PublicSurfaceTests

open Expecto
open AutoKl
open AutoKl.Distributions
open AutoKl.Tests.Support

[<Tests>]
let tests =
    testList "PublicSurface" [
        testCase "Clone copies the values into new storage and passes the gradient through" <| fun () ->
            let x = Tensor.ofList [ 1.0; 2.0; 3.0 ] |> Tensor.requiresGrad
            let c = x.Clone()
            Check.tensorClose "clone values" 0.0 0.0 x c
            Expect.equal c.GradFnName "clone" "c.GradFnName"
            (c * c |> Tensor.sum).Backward()
            Check.arraysClose "d/dx sum(clone(x)^2)" 0.0 0.0 [| 2.0; 4.0; 6.0 |] (x.Grad.ToDoubleArray())
            let d = x.Detach().Clone()
            use _ = Autograd.NoGrad()
            d.Sub_(Tensor.OnesLike d) |> ignore
            Check.arraysClose "the original is untouched by an in-place change of its clone" 0.0 0.0 [| 1.0; 2.0; 3.0 |] (x.ToDoubleArray())

        testCase "FullLike, FromRows, ToSingleArray and dtype names" <| fun () ->
            let x = Tensor.FromArray([| 1.0f; 2.0f |], 2, 1)
            let f = Tensor.FullLike(x, 7.5)
            Expect.equal f.DType DType.Float32 "dtype of f"
            Check.tensorEquals "full like" 0.0 [| 2; 1 |] [| 7.5; 7.5 |] f
            let m = Tensor.FromRows([ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ] |> Seq.map Seq.ofList)
            Check.tensorEquals "from rows" 0.0 [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |] m
            Check.throwsAutoKl [ "from_rows"; "row 1 has 1 values" ] (fun () -> Tensor.FromRows([ [ 1.0; 2.0 ]; [ 3.0 ] ] |> Seq.map Seq.ofList)) |> ignore
            let singles = m.ToSingleArray()
            Expect.equal singles.[3] 4.0f "singles.[3]"
            Expect.equal (DType.Float64.Name()) "float64" "DType.Float64.Name()"
            Expect.isFalse (DType.Int64.IsFloatingPoint()) "DType.Int64.IsFloatingPoint()"
            Expect.isTrue (DType.Float32.IsFloatingPoint()) "DType.Float32.IsFloatingPoint()"

        testCase "List.average of tensors uses DivideByInt and keeps the dtype" <| fun () ->
            let xs = [ Tensor.ofArray32 [| 1.0f; 2.0f |]; Tensor.ofArray32 [| 3.0f; 6.0f |] ]
            let avg = List.average xs
            Expect.equal avg.DType DType.Float32 "dtype of avg"
            Check.arraysClose "average" 0.0 0.0 [| 2.0; 4.0 |] (avg.ToDoubleArray())

        testCase "Generator draws are reproducible and standard normal in distribution" <| fun () ->
            let draw seed = let g = Generator(seed) in Array.init 20000 (fun _ -> g.NextNormal())
            let a = draw 5
            Check.arraysClose "same seed, same draws" 0.0 0.0 a (draw 5)
            let mean = Array.average a
            let var = a |> Array.averageBy (fun v -> (v - mean) ** 2.0)
            // 20000 draws: the standard error of the mean is 0.007, of the variance 0.01.
            Expect.isLessThan (abs mean) 0.03 "abs mean"
            Expect.isLessThan (abs (var - 1.0)) 0.05 "abs (var - 1.0)"

        testCase "Monte Carlo k1 and k2 terms average to the k1 and k2 estimates" <| fun () ->
            let p = Normal(0.0, 1.0)
            let q = Normal(0.5, 1.5)
            let x = p.Sample([| 4000 |], Generator(11))
            let logP, logQ = p.LogProb x, q.LogProb x
            let k1Terms = MonteCarloKL.K1Terms(logP, logQ)
            Check.arraysClose "k1 terms are log p - log q" 1e-12 1e-12 ((logP - logQ).ToDoubleArray()) (k1Terms.ToDoubleArray())
            Check.tensorClose "k1 = mean of its terms" 1e-12 1e-14 (Tensor.mean k1Terms) (MonteCarloKL.K1(logP, logQ))
            Check.tensorClose "k2 = mean of its terms" 1e-12 1e-14 (Tensor.mean (MonteCarloKL.K2Terms(logP, logQ))) (MonteCarloKL.K2(logP, logQ))
            // Both estimate KL(P||Q) = log(1.5) + (1 + 0.25) / (2 * 2.25) - 0.5 = 0.18324...; k1 is unbiased.
            let exact = float (KL.Divergence(p, q))
            Expect.isLessThan (abs (float (MonteCarloKL.K1(logP, logQ)) - exact)) 0.03 "abs (float (MonteCarloKL.K1(logP, logQ)) - exact)"
    ]
