/// Gradient checking for the project's own properties, through the public AutoKl.Testing library
/// (gradcheck / gradgradcheck: central finite differences in float64, full Jacobians where they
/// are small, random projections otherwise). The tolerances here are much stricter than the
/// library's PyTorch defaults (atol 1e-5, rtol 1e-3) and are passed as options.
module AutoKl.Tests.Support.GradCheck

open AutoKl
open AutoKl.Testing
open Expecto

/// A fixed pseudo-random cotangent shaped like the output (same rule as the oracle files).
let cotangentFor (y: Tensor) =
    let n = y.Numel
    let data = Array.init n (fun i -> float (((i * 5 + 3) % 11)) - 4.5 |> fun v -> v / 4.0)
    // FromArray with an empty shape makes a 1-D tensor; a scalar output needs a rank-0 cotangent.
    let t = Tensor.FromArray(data, y.Shape)
    if y.Rank = 0 then t.Reshape([||]) else t

// NondetTol: gradcheck also re-runs the backward pass and by default demands bit-identical
// gradients; the engine's parallel kernels may sum in a different order (cumsum's backward along
// a leading axis differed by 2.8e-17), which is rounding, not a wrong rule.
let private options (rtol: float) (atol: float) (projections: int) (seed: int) =
    GradCheckOptions(Rtol = rtol, Atol = atol, Projections = max 1 projections, Seed = seed, NondetTol = 1e-12)

let private orFail (r: GradCheckResult) = if not r.Passed then failtest r.Report

/// Checks the gradient of f (any output shape) with respect to every input. Inputs must be
/// float64. Tolerance per Jacobian entry (or projection, for large Jacobians):
/// |analytic - numeric| <= atol + rtol * |numeric|. `directions` is the number of random
/// projections used when a Jacobian is too large to check in full.
let checkWith (rtol: float) (atol: float) (directions: int) (seed: int) (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
    for x in inputs do
        if x.DType <> DType.Float64 then failtest "gradient checks run in float64"
    // An empty input or output has an empty Jacobian: nothing to compare. Empty inputs are passed
    // through unchecked (the library checks only the inputs that require gradients).
    let args = inputs |> Array.map (fun x -> if x.Numel > 0 then x.Detach().RequiresGrad_() else x.Detach())
    let outputEmpty = (use _ = Autograd.NoGrad() in f (inputs |> Array.map (fun x -> x.Detach()))).Numel = 0
    if not outputEmpty && args |> Array.exists (fun x -> x.RequiresGrad) then
        // The properties also check that an input the output ignores (a Normal's entropy and its
        // loc) gets a zero gradient; gradcheck refuses such an input, so each gets a zero-weight
        // path to the output. A dependence hidden off the tape still fails: the analytic side
        // stays 0 while the finite difference does not.
        let g (xs: Tensor[]) =
            let y = f xs
            xs |> Array.fold (fun (acc: Tensor) x -> if x.RequiresGrad then acc + x.Sum() * 0.0 else acc) y
        gradcheckResult (options rtol atol directions seed) g args |> orFail
/// Default tolerances for smooth functions of moderate-size values.
let check (f: Tensor[] -> Tensor) (inputs: Tensor[]) = checkWith 1e-6 1e-7 3 17 f inputs

/// Second order: the gradient of the gradient (Hessian-vector products) against finite
/// differences of the gradient, for a scalar function of one float64 tensor.
let checkHvp (rtol: float) (atol: float) (f: Tensor -> Tensor) (x: Tensor) (seed: int) =
    gradgradcheckResult (options rtol atol 3 seed) (fun xs -> f xs.[0]) [| x.Detach() |] |> orFail
