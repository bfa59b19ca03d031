namespace AutoKl

open System

/// Gradients as F# functions: `grad f x`, `valueAndGrad f x`, `vjp f x v`, `hvp f x v`, and
/// DiffSharp's vocabulary: `diff`, `diff2`, `diffn`, `gradv`, `jvp`, `jacobian`, `jacobianv`,
/// `jacobianTv`, `hessian`, `hessianv`, `laplacian`, `curl`, `divergence`, with `valueAnd...` forms
/// where the value comes for free. They accept ordinary F# function values (which do not convert
/// to Func at a call site), take the point last (or the direction, after the point) so they pipe,
/// and nest with each other in any order.
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

    // ---- DiffSharp's vocabulary ----------------------------------------------------------
    // Every function below checks its input and the function's output itself, so an error names
    // the function the user called (diff, gradv, curl ...) and the shapes at fault, not the
    // C# transform it delegates to. The output checks run inside the forward pass, before any
    // gradient needs a seed.

    let private shapeText (shape: int[]) = "[" + String.Join(", ", shape) + "]"

    let private fail (op: string) (message: string) : 'a = raise (AutoKlException(op, message))

    let private requireFloatInput (op: string) (x: Tensor) =
        if not (x.DType.IsFloatingPoint()) then
            fail op (sprintf "needs a floating-point input, got %s of shape %s (convert with Tensor.toType DType.Float64)" (x.DType.Name()) (shapeText x.Shape))

    /// The tangent (or direction) must be a tensor of the point's shape and dtype.
    let private requireTangent (op: string) (what: string) (x: Tensor) (v: Tensor) =
        requireFloatInput op x
        if v.DType <> x.DType || v.Shape <> x.Shape then
            fail op (sprintf "%s of shape %s and dtype %s does not match the point's shape %s and dtype %s"
                        what (shapeText v.Shape) (v.DType.Name()) (shapeText x.Shape) (x.DType.Name()))

    /// f, checked on every call to return a one-element tensor.
    let private scalarValued (op: string) (f: Tensor -> Tensor) (x: Tensor) =
        fun (p: Tensor) ->
            let y = f p
            if isNull (box y) then fail op "the function returned null"
            if y.Numel <> 1 then
                fail op (sprintf "needs a scalar-valued function (a one-element output), but the function maps an input of shape %s to an output of shape %s"
                            (shapeText x.Shape) (shapeText y.Shape))
            y

    /// f, checked on every call to return a tensor shaped like `expected`.
    let private shapedLike (op: string) (what: string) (expected: int[]) (f: Tensor -> Tensor) (x: Tensor) =
        fun (p: Tensor) ->
            let y = f p
            if isNull (box y) then fail op "the function returned null"
            if y.Shape <> expected then
                fail op (sprintf "%s, but the function maps an input of shape %s to an output of shape %s"
                            what (shapeText x.Shape) (shapeText y.Shape))
            y

    let private requireOneElement (op: string) (x: Tensor) =
        requireFloatInput op x
        if x.Numel <> 1 then
            fail op (sprintf "needs a function of a scalar (a rank-0 or one-element input), got an input of shape %s (use grad, gradv or jacobian for functions of several variables)" (shapeText x.Shape))

    let private valueAndDiffAs (op: string) (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor =
        requireOneElement op x
        Autograd.Jvp(Func<Tensor, Tensor>(scalarValued op f x), x, Tensor.OnesLike x)

    let rec private diffnAs (op: string) (n: int) (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        if n = 0 then
            requireOneElement op x
            scalarValued op f x x
        else
            // each order is a forward pass (a nesting level of its own) over the order below
            snd (valueAndDiffAs op (diffnAs op (n - 1) f) x)

    /// The trace of a square matrix (a differentiable composition, so a trace can be nested).
    let private trace (m: Tensor) = m * Tensor.Eye(m.Shape.[0], m.DType) |> Tensor.sum

    /// <summary>
    /// The value of a scalar function of a scalar at x and its derivative there (DiffSharp's
    /// <c>fdiff</c>), in one forward-mode pass. x is a rank-0 or one-element tensor, the output
    /// must have one element; the derivative has the output's shape and dtype.
    /// </summary>
    let valueAndDiff (f: Tensor -> Tensor) (x: Tensor) : Tensor * Tensor = valueAndDiffAs "diff" f x

    /// <summary>
    /// The derivative of a scalar function of a scalar at x, in forward mode:
    /// <c>diff sin (Tensor.scalar 0.5)</c> is cos 0.5. x is a rank-0 or one-element tensor and f
    /// must return one element (else an AutoKlException names diff and the shapes). Pipeable
    /// (<c>x |> diff f</c>) and nestable: <c>diff (fun x -> x * diff (fun y -> x * y) y0) x0</c>.
    /// </summary>
    let diff (f: Tensor -> Tensor) (x: Tensor) : Tensor = snd (valueAndDiffAs "diff" f x)

    /// <summary>
    /// The n-th derivative of a scalar function of a scalar at x (DiffSharp's <c>diffn</c>):
    /// n nested forward passes. <c>diffn 0 f x</c> is <c>f x</c>; n must be non-negative. The
    /// work grows as 2^n, so it is meant for small n.
    /// </summary>
    let diffn (n: int) (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        if n < 0 then fail "diffn" (sprintf "the order of differentiation must be non-negative, got %d" n)
        diffnAs "diffn" n f x

    /// <summary>The second derivative of a scalar function of a scalar at x: forward over forward (<c>diff (diff f) x</c>).</summary>
    let diff2 (f: Tensor -> Tensor) (x: Tensor) : Tensor = diffnAs "diff2" 2 f x

    /// <summary>
    /// The value of f at x and its Jacobian-vector product with the tangent v (the directional
    /// derivative of f along v), in one forward-mode pass (Autograd.Jvp; JAX's and torch.func's
    /// <c>jvp</c>). v must have x's shape and dtype. f may return any shape; the tangent has the
    /// output's shape.
    /// </summary>
    let jvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        Autograd.Jvp(Func<Tensor, Tensor>(f), x, v)

    /// The value of a function of several tensors and its Jacobian-vector product with one
    /// tangent per argument, in one forward pass: `let y, dy = jvpN (fun xs -> xs.[0] * xs.[1]) [| a; b |] [| da; db |]`.
    let jvpN (f: Tensor[] -> Tensor) (xs: Tensor[]) (vs: Tensor[]) : Tensor * Tensor =
        Autograd.Jvp(Func<Tensor[], Tensor>(f), xs, vs)

    /// <summary>
    /// The value of a scalar function at x and its directional derivative along v, the gradient
    /// dotted with v (DiffSharp's <c>fgradv</c>), in one forward pass: no gradient is formed.
    /// </summary>
    let valueAndGradv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        requireTangent "gradv" "direction v" x v
        Autograd.Jvp(Func<Tensor, Tensor>(scalarValued "gradv" f x), x, v)

    /// <summary>
    /// The directional derivative of a scalar function at x along v: (grad f x) dotted with v,
    /// computed in one forward pass (DiffSharp's <c>gradv</c>). v must have x's shape and dtype;
    /// the result has the output's (one-element) shape.
    /// </summary>
    let gradv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor = snd (valueAndGradv f x v)

    /// <summary>
    /// The value of f at x and the Jacobian-vector product J v (DiffSharp's <c>fjacobianv</c>):
    /// the same as <c>jvp</c>, with errors reported under jacobianv. v has x's shape and dtype;
    /// J v has the output's shape.
    /// </summary>
    let valueAndJacobianv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        requireTangent "jacobianv" "tangent v" x v
        Autograd.Jvp(Func<Tensor, Tensor>(f), x, v)

    /// <summary>
    /// The Jacobian-vector product J v of f at x, in one forward-mode pass without forming J
    /// (DiffSharp's <c>jacobianv</c>). v has x's shape and dtype; the result has the output's shape.
    /// </summary>
    let jacobianv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor = snd (valueAndJacobianv f x v)

    /// <summary>
    /// The value of f at x and the transposed-Jacobian-vector product Jᵀ v (DiffSharp's
    /// <c>fjacobianTv</c>; the same as <c>vjp</c>, with stricter checks): v must have the output's
    /// shape and dtype; Jᵀ v has x's shape.
    /// </summary>
    let valueAndJacobianTv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        requireFloatInput "jacobianTv" x
        let checkedF (p: Tensor) =
            let y = shapedLike "jacobianTv" (sprintf "the cotangent v has shape %s and must be shaped like the output" (shapeText v.Shape)) v.Shape f x p
            if y.DType <> v.DType then
                fail "jacobianTv" (sprintf "the cotangent v has dtype %s, but the output (shape %s) has dtype %s" (v.DType.Name()) (shapeText y.Shape) (y.DType.Name()))
            y
        Autograd.Vjp(Func<Tensor, Tensor>(checkedF), x, v)

    /// <summary>
    /// The transposed-Jacobian-vector product Jᵀ v (a vector-Jacobian product) of f at x, in one
    /// forward and one backward pass without forming J (DiffSharp's <c>jacobianTv</c>). v must
    /// have the output's shape and dtype; the result has x's shape.
    /// </summary>
    let jacobianTv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor = snd (valueAndJacobianTv f x v)

    /// <summary>
    /// The Jacobian of f at x, of shape output ++ input: entry [i..., j...] is d f(x)[i...] / d x[j...]
    /// (Autograd.Jacobian in Auto mode: reverse mode unless the output has more elements than the
    /// input). A scalar function's Jacobian is its gradient with the output's shape in front.
    /// </summary>
    let jacobian (f: Tensor -> Tensor) (x: Tensor) : Tensor = Autograd.Jacobian(Func<Tensor, Tensor>(f), x, JacobianMode.Auto)

    /// <summary>The Jacobian of f at x (shape output ++ input) in forward mode: one forward pass per input element (torch.func's <c>jacfwd</c>).</summary>
    let jacobianFwd (f: Tensor -> Tensor) (x: Tensor) : Tensor = Autograd.Jacobian(Func<Tensor, Tensor>(f), x, JacobianMode.Forward)

    /// <summary>The Jacobian of f at x (shape output ++ input) in reverse mode: one backward pass per output element (torch.func's <c>jacrev</c>).</summary>
    let jacobianRev (f: Tensor -> Tensor) (x: Tensor) : Tensor = Autograd.Jacobian(Func<Tensor, Tensor>(f), x, JacobianMode.Reverse)

    /// <summary>
    /// The Hessian of a scalar function at x, of shape x.shape ++ x.shape, forward over reverse
    /// (Autograd.Hessian): one Hessian-vector product per element of x.
    /// </summary>
    let hessian (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        requireFloatInput "hessian" x
        Autograd.Hessian(Func<Tensor, Tensor>(scalarValued "hessian" f x), x)

    /// <summary>
    /// The Hessian of a scalar function at x times v, without forming the Hessian: forward over
    /// reverse, one forward pass carrying v and one backward pass (Autograd.Hvp; DiffSharp's
    /// <c>hessianv</c>, this module's <c>hvp</c> with errors reported under hessianv). v has x's
    /// shape and dtype, and so has the result.
    /// </summary>
    let hessianv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor =
        requireTangent "hessianv" "direction v" x v
        Autograd.Hvp(Func<Tensor, Tensor>(scalarValued "hessianv" f x), x, v)

    /// <summary>
    /// The value of a scalar function at x and its Hessian times v (DiffSharp's <c>fhessianv</c>):
    /// the value is the one the Hessian-vector product's inner pass computes anyway.
    /// </summary>
    let valueAndHessianv (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) : Tensor * Tensor =
        requireTangent "hessianv" "direction v" x v
        let checkedF = scalarValued "hessianv" f x
        let value = ref Unchecked.defaultof<Tensor>
        let hv =
            Autograd.Jvp(Func<Tensor, Tensor>(fun p ->
                let y, g = Autograd.ValueAndGrad(Func<Tensor, Tensor>(checkedF), p)
                value.Value <- y
                g), x, v) |> snd
        value.Value, hv

    /// <summary>
    /// The Laplacian of a scalar function at x: the trace of its Hessian, the sum of the
    /// unmixed second derivatives (DiffSharp's <c>laplacian</c>). One Hessian-vector product per
    /// element of x; x may have any shape.
    /// </summary>
    let laplacian (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        requireFloatInput "laplacian" x
        let n = x.Numel
        let h = Autograd.Hessian(Func<Tensor, Tensor>(scalarValued "laplacian" f x), x)
        h |> Tensor.reshape [ n; n ] |> trace

    /// <summary>
    /// The curl of a vector field f: R^3 -> R^3 at x (a vector of shape [3]), from its Jacobian J:
    /// (J[2,1] - J[1,2], J[0,2] - J[2,0], J[1,0] - J[0,1]). Any other input or output shape is an
    /// AutoKlException naming curl and the shapes.
    /// </summary>
    let curl (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        requireFloatInput "curl" x
        if x.Shape <> [| 3 |] then
            fail "curl" (sprintf "needs a vector field from R^3 to R^3 (input and output of shape [3]), got an input of shape %s" (shapeText x.Shape))
        let j = jacobian (shapedLike "curl" "needs a vector field from R^3 to R^3 (input and output of shape [3])" [| 3 |] f x) x
        let at (r: int) (c: int) = j |> Tensor.select 0 r |> Tensor.select 0 c
        Tensor.stack 0 [ at 2 1 - at 1 2; at 0 2 - at 2 0; at 1 0 - at 0 1 ]

    /// <summary>
    /// The divergence of a vector field f: R^n -> R^n at x (a vector of shape [n]; R^3 the usual
    /// case): the trace of its Jacobian, the sum of d f_i / d x_i (DiffSharp's <c>divergence</c>;
    /// the vector-calculus operator, not a divergence between distributions). The output must
    /// have x's shape, else an AutoKlException names divergence and the shapes.
    /// </summary>
    let divergence (f: Tensor -> Tensor) (x: Tensor) : Tensor =
        requireFloatInput "divergence" x
        if x.Rank <> 1 then
            fail "divergence" (sprintf "needs a vector field from R^n to R^n (input and output of the same shape [n]), got an input of shape %s" (shapeText x.Shape))
        let what = sprintf "needs a vector field from R^n to R^n (an output of the input's shape %s)" (shapeText x.Shape)
        jacobian (shapedLike "divergence" what x.Shape f x) x |> trace

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
