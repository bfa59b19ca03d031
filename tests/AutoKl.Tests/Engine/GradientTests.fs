module AutoKl.Tests.Engine.GradientTests

open AutoKl
open AutoKl.Tests.Support
open NUnit.Framework

[<Test>]
let ``gradient of a composite matches finite differences`` () =
    let x = Tensor.FromArray([| 0.3; -1.2; 2.0; 0.7 |], 2, 2)
    let w = Tensor.FromArray([| 0.5; 1.5 |], 2)
    GradCheck.check (fun xs -> Tensor.logSoftmax 1 (xs.[0] * xs.[1]) |> Tensor.exp) [| x; w |]

[<Test>]
let ``hessian-vector product matches finite differences of the gradient`` () =
    let x = Tensor.FromArray([| 0.3; -1.2; 2.0; 0.7 |], 2, 2)
    GradCheck.checkHvp 1e-6 1e-8 (fun x -> Tensor.LogSumExp(x, 1) |> Tensor.sum) x 3

[<Test>]
let ``leaf gradients never share storage, so in-place updates of one cannot change another`` () =
    let a = Tensor.ofList [ 1.0; 2.0 ] |> Tensor.requiresGrad
    let b = Tensor.ofList [ 3.0; 4.0 ] |> Tensor.requiresGrad
    let c = Tensor.ofList [ 5.0; 6.0 ] |> Tensor.requiresGrad
    // add passes the incoming gradient through unchanged to both inputs; reshape shares storage.
    let y = (a + b + c.Reshape(2)) * 1.0
    y.Backward(Tensor.ofList [ 1.0; 1.0 ])
    let ga = a.Grad.Span<float>()
    ga.[0] <- 100.0
    Check.arraysClose "b.Grad after changing a.Grad in place" 0.0 0.0 [| 1.0; 1.0 |] (b.Grad.ToDoubleArray())
    Check.arraysClose "c.Grad after changing a.Grad in place" 0.0 0.0 [| 1.0; 1.0 |] (c.Grad.ToDoubleArray())
