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
