module AutoKl.Tests.Engine.TensorTests

open AutoKl
open AutoKl.Tests.Support
open NUnit.Framework

[<Test>]
let ``F# operators and built-in functions work on float64 and float32 tensors`` () =
    for dtype in [ DType.Float64; DType.Float32 ] do
        let x = Tensor.FromArray([| 1.0; 2.0; 4.0 |], [| 3 |], dtype)
        let y = log x + 2.0 * x ** 2.0 - x / 3 + exp x - sqrt x + abs (-x) + tanh x + 1.0f * x
        Assert.That(y.DType, Is.EqualTo dtype)
        let expected = [| for v in [ 1.0; 2.0; 4.0 ] -> log v + 2.0 * v * v - v / 3.0 + exp v - sqrt v + v + tanh v + v |]
        Check.arraysClose "f# expression" (if dtype = DType.Float64 then 1e-14 else 1e-6) 0.0 expected (y.ToDoubleArray())
        Assert.That(float (Tensor.sum x), Is.EqualTo(7.0).Within(1e-6))
        Check.arraysClose "pown" 1e-6 0.0 [| 1.0; 4.0; 16.0 |] ((pown x 2).ToDoubleArray())
        Check.arraysClose "negation" 0.0 0.0 [| -1.0; -2.0; -4.0 |] ((-x).ToDoubleArray())

[<Test>]
let ``broadcasting [3,1] with [1,4] gives [3,4] from both sides`` () =
    let a = Tensor.FromArray([| 1.0; 2.0; 3.0 |], 3, 1)
    let b = Tensor.FromArray([| 10.0; 20.0; 30.0; 40.0 |], 1, 4)
    let c = a + b
    Check.shapeIs "a+b" [| 3; 4 |] c
    Check.arraysClose "a+b" 0.0 0.0 [| for i in 1.0 .. 3.0 do for j in 10.0 .. 10.0 .. 40.0 -> i + j |] (c.ToDoubleArray())
    Check.tensorClose "b+a" 0.0 0.0 c (b + a)

[<Test>]
let ``pipeable module functions chain`` () =
    let x = Tensor.ofList [ 1.0; 2.0; 3.0 ]
    let s = x |> Tensor.log |> Tensor.sum
    Assert.That(float s, Is.EqualTo(log 6.0).Within(1e-14))
