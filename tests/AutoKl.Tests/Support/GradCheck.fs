/// Gradient checking: analytic vector-Jacobian products from the tape against central finite
/// differences (MathNet.Numerics' NumericalDerivative) along random directions, in float64.
module AutoKl.Tests.Support.GradCheck

open System
open AutoKl
open MathNet.Numerics.Differentiation
open Expecto

/// A fixed pseudo-random cotangent shaped like the output (same rule as the oracle files).
let cotangentFor (y: Tensor) =
    let n = y.Numel
    let data = Array.init n (fun i -> float (((i * 5 + 3) % 11)) - 4.5 |> fun v -> v / 4.0)
    // FromArray with an empty shape makes a 1-D tensor; a scalar output needs a rank-0 cotangent.
    let t = Tensor.FromArray(data, y.Shape)
    if y.Rank = 0 then t.Reshape([||]) else t

let private dot (a: Tensor) (b: Tensor) = Array.fold2 (fun s x y -> s + x * y) 0.0 (a.ToDoubleArray()) (b.ToDoubleArray())

let private perturbed (x: Tensor) (v: Tensor) (t: float) =
    let xs = x.ToDoubleArray()
    let vs = v.ToDoubleArray()
    Tensor.FromArray(Array.map2 (fun a b -> a + t * b) xs vs, x.Shape)

/// Checks the gradient of f (any output shape; reduced with a fixed cotangent) with respect to
/// every input, along `directions` random directions. Inputs must be float64.
/// Tolerance: |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|).
let checkWith (rtol: float) (atol: float) (directions: int) (seed: int) (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
    for x in inputs do
        if x.DType <> DType.Float64 then failtest "gradient checks run in float64"
    let leaves = inputs |> Array.map (fun x -> x.Detach().RequiresGrad_())
    let y = f leaves
    let cot = cotangentFor y
    let analytic = Autograd.Gradients(y, leaves, cot)
    let gen = Generator(seed)
    let numeric = NumericalDerivative(5, 2)
    for k in 0 .. inputs.Length - 1 do
        for _ in 1 .. directions do
            let v = Tensor.RandN(inputs.[k].Shape, gen, DType.Float64)
            let along t =
                let args = inputs |> Array.mapi (fun j x -> if j = k then perturbed x v t else x)
                use _ = Autograd.NoGrad()
                dot (f args) cot
            let num = numeric.EvaluateDerivative(Func<float, float>(along), 0.0, 1)
            let ana = dot analytic.[k] v
            let scale = max (abs ana) (abs num)
            if not (Double.IsFinite ana) || abs (ana - num) > atol + rtol * scale then
                failtestf "gradient of input %d (shape %A): analytic %.12g vs finite difference %.12g along a random direction" k inputs.[k].Shape ana num

/// Default tolerances for smooth functions of moderate-size values.
let check (f: Tensor[] -> Tensor) (inputs: Tensor[]) = checkWith 1e-6 1e-7 3 17 f inputs

/// Second order: the Hessian-vector product (gradient of the gradient) against finite
/// differences of the gradient, for a scalar function of one float64 tensor.
let checkHvp (rtol: float) (atol: float) (f: Tensor -> Tensor) (x: Tensor) (seed: int) =
    let gen = Generator(seed)
    let v = Tensor.RandN(x.Shape, gen, DType.Float64)
    let hv = Autograd.Hvp(Func<Tensor, Tensor>(f), x, v)
    let numeric = NumericalDerivative(5, 2)
    let u = Tensor.RandN(x.Shape, gen, DType.Float64)
    // d/dt <u, grad f(x + t v)> at 0 equals <u, H v>.
    let along t = dot (Autograd.Grad(Func<Tensor, Tensor>(f), perturbed x v t)) u
    let num = numeric.EvaluateDerivative(Func<float, float>(along), 0.0, 1)
    let ana = dot hv u
    if abs (ana - num) > atol + rtol * max (abs ana) (abs num) then
        failtestf "Hessian-vector product: analytic %.12g vs finite difference of the gradient %.12g" ana num
