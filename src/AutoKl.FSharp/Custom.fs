namespace AutoKl

open System

/// <summary>
/// Ops with a hand-written gradient, from plain F# functions (the F# face of
/// <see cref="T:AutoKl.CustomFunction"/>). Each call returns the op as a function; applying it
/// records one node under the given name, like a built-in op.
/// </summary>
/// <example><code>
/// let softplus =
///     Custom.unary "softplus"
///         (fun x -> Tensor.relu x + log (1.0 + exp (-(abs x))))
///         (fun x _y g -> g * Tensor.sigmoid x)
/// </code></example>
[<RequireQualifiedAccess>]
module Custom =
    /// An op of one tensor: `vjp x y g` returns the gradient of x given the output y and the
    /// output's gradient g. Written with tensor ops, it can be differentiated again.
    let unary (name: string) (forward: Tensor -> Tensor) (vjp: Tensor -> Tensor -> Tensor -> Tensor) : Tensor -> Tensor =
        let op = CustomFunction.Unary(name, Func<Tensor, Tensor>(forward), Func<Tensor, Tensor, Tensor, Tensor>(vjp))
        fun x -> op.Apply(x)

    /// Like `unary`, with the op's forward-mode rule: `jvp x y t` returns the tangent of y for the
    /// tangent t of x (JAX's defjvp). Without it, `unary` derives one from a vjp written with tensor ops.
    let unaryWithJvp (name: string) (forward: Tensor -> Tensor) (vjp: Tensor -> Tensor -> Tensor -> Tensor) (jvp: Tensor -> Tensor -> Tensor -> Tensor) : Tensor -> Tensor =
        let op =
            CustomFunction.Unary(name, Func<Tensor, Tensor>(forward), Func<Tensor, Tensor, Tensor, Tensor>(vjp),
                                 jvp = Func<Tensor, Tensor, Tensor, Tensor>(jvp))
        fun x -> op.Apply(x)

    /// Like `unary`, for a vjp that cannot be differentiated again (it computes on raw arrays):
    /// a second derivative through the op is then an error naming it.
    let unaryOnce (name: string) (forward: Tensor -> Tensor) (vjp: Tensor -> Tensor -> Tensor -> Tensor) : Tensor -> Tensor =
        let op = CustomFunction.Unary(name, Func<Tensor, Tensor>(forward), Func<Tensor, Tensor, Tensor, Tensor>(vjp), differentiableVjp = false)
        fun x -> op.Apply(x)

    /// Like `binary`, with the op's forward-mode rule: `jvp a b y ta tb` returns the tangent of y;
    /// `ta` or `tb` is None where that input has no tangent.
    let binaryWithJvp (name: string) (forward: Tensor -> Tensor -> Tensor) (vjp: Tensor -> Tensor -> Tensor -> Tensor -> Tensor * Tensor)
                      (jvp: Tensor -> Tensor -> Tensor -> Tensor option -> Tensor option -> Tensor) : Tensor -> Tensor -> Tensor =
        let op =
            CustomFunction(
                name,
                Func<Tensor[], Tensor>(fun xs -> forward xs.[0] xs.[1]),
                Func<Tensor[], Tensor, Tensor, Tensor[]>(fun xs y g -> let ga, gb = vjp xs.[0] xs.[1] y g in [| ga; gb |]),
                jvp = Func<Tensor[], Tensor, Tensor[], Tensor>(fun xs y ts -> jvp xs.[0] xs.[1] y (Option.ofObj ts.[0]) (Option.ofObj ts.[1]))
            )
        fun a b -> op.Apply(a, b)

    /// An op of two tensors: `vjp a b y g` returns the gradients of a and b, each in its input's shape.
    let binary (name: string) (forward: Tensor -> Tensor -> Tensor) (vjp: Tensor -> Tensor -> Tensor -> Tensor -> Tensor * Tensor) : Tensor -> Tensor -> Tensor =
        let op =
            CustomFunction.Binary(
                name,
                Func<Tensor, Tensor, Tensor>(forward),
                Func<Tensor, Tensor, Tensor, Tensor, struct (Tensor * Tensor)>(fun a b y g -> let ga, gb = vjp a b y g in struct (ga, gb))
            )
        fun a b -> op.Apply(a, b)

    /// An op of any number of tensors: `vjp inputs y g` returns one gradient per input, `None` for
    /// an input that gets none (zero).
    let nary (name: string) (forward: Tensor[] -> Tensor) (vjp: Tensor[] -> Tensor -> Tensor -> Tensor option[]) : Tensor[] -> Tensor =
        let rule (xs: Tensor[]) (y: Tensor) (g: Tensor) : Tensor[] =
            match vjp xs y g with
            | null -> null
            | grads -> grads |> Array.map (fun o -> match o with Some t -> t | None -> Unchecked.defaultof<Tensor>)
        let op = CustomFunction(name, Func<Tensor[], Tensor>(forward), Func<Tensor[], Tensor, Tensor, Tensor[]>(rule))
        fun xs -> op.Apply(xs)
