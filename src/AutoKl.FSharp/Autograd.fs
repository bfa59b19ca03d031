namespace AutoKl

open System

/// Gradients as F# functions: `grad f x`, `valueAndGrad f x`, `vjp f x v`, `hvp f x v`.
/// They accept ordinary F# function values (which do not convert to Func at a call site).
[<AutoOpen>]
module Differentiation =
    /// The gradient of a scalar-valued function at x.
    let grad (f: Tensor -> Tensor) (x: Tensor) : Tensor = Autograd.Grad(Func<Tensor, Tensor>(f), x)

    /// The value of a scalar-valued function at x and its gradient there.
    let valueAndGrad (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
        Autograd.ValueAndGrad(Func<Tensor, Tensor>(f), x)

    /// Gradients of a scalar-valued function of several tensors.
    let gradN (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor[] = Autograd.Grad(Func<Tensor[], Tensor>(f), xs)

    /// The value of a scalar-valued function of several tensors and its gradient for each:
    /// `let loss, grads = valueAndGradN (fun xs -> Divergences.kl xs.[0] xs.[1]) [| p; q |]`.
    let valueAndGradN (f: Tensor[] -> Tensor) (xs: Tensor[]) : Tensor * Tensor[] =
        Autograd.ValueAndGrad(Func<Tensor[], Tensor>(f), xs)

    /// The value of f at x and the vector-Jacobian product of the cotangent v with it.
    let vjp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        Autograd.Vjp(Func<Tensor, Tensor>(f), x, v)

    /// The Hessian of a scalar-valued function at x times the direction v.
    let hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor = Autograd.Hvp(Func<Tensor, Tensor>(f), x, v)

    /// Runs the function without recording operations on the tape.
    let noGrad (f: unit -> 'a) : 'a =
        use _ = Autograd.NoGrad()
        f ()

    /// Runs the function with anomaly detection on (Autograd.DetectAnomaly): the first op whose
    /// forward result or backward gradient holds NaN or an infinity throws, naming the op and the
    /// line of the function that recorded it.
    let detectAnomaly (f: unit -> 'a) : 'a =
        use _ = Autograd.DetectAnomaly()
        f ()
