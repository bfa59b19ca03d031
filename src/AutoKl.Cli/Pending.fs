/// TEMPORARY seam: stand-ins with the pinned names of the library's Losses, Divergences,
/// Distributions.Normal and Optim (issues 3 and 4), written against the engine so the command
/// can be built before those land. Deleted once they are merged; nothing else may grow here.
namespace AutoKl.Cli.Pending

open System
open AutoKl

type Reduction =
    | None = 0
    | Mean = 1
    | Sum = 2
    | BatchMean = 3

type MXNetAveraging =
    | Mean = 0
    | Sum = 1

type EpsilonPlacement =
    | PyTorch = 0
    | KingmaBa = 1

[<AbstractClass; Sealed>]
type Losses =
    static member private Reduce(op: string, values: Tensor, reduction: Reduction) =
        match reduction with
        | Reduction.None -> values
        | Reduction.Sum -> Tensor.Sum values
        | Reduction.Mean -> Tensor.Mean values
        | Reduction.BatchMean -> Tensor.Sum values / float (if values.Rank = 0 then 1 else values.Size 0)
        | r -> raise (AutoKlException(op, sprintf "unknown reduction %A" r))

    static member KlDiv(input: Tensor, target: Tensor, ?reduction: Reduction, ?logTarget: bool) =
        let terms =
            if defaultArg logTarget false then Tensor.Exp target * (target - input)
            else Tensor.Xlogy(target, target) - target * input
        Losses.Reduce("kl_div", terms, defaultArg reduction Reduction.Mean)

    static member MseLoss(input: Tensor, target: Tensor, ?reduction: Reduction) =
        let d = input - target
        Losses.Reduce("mse_loss", d * d, defaultArg reduction Reduction.Mean)

    static member L1Loss(input: Tensor, target: Tensor, ?reduction: Reduction) =
        Losses.Reduce("l1_loss", Tensor.Abs(input - target), defaultArg reduction Reduction.Mean)

    static member CosineSimilarity(x1: Tensor, x2: Tensor, ?axis: int, ?eps: float) =
        let axis = defaultArg axis 1
        let eps = defaultArg eps 1e-8
        let n1 = Tensor.Clamp(Tensor.Sqrt(Tensor.Sum(x1 * x1, axis, true)), eps)
        let n2 = Tensor.Clamp(Tensor.Sqrt(Tensor.Sum(x2 * x2, axis, true)), eps)
        Tensor.Sum((x1 / n1) * (x2 / n2), axis)

    static member GluonKlDivLoss(pred: Tensor, label: Tensor, ?fromLogits: bool, ?axis: int, ?averaging: MXNetAveraging) =
        let axis = defaultArg axis -1
        let pred = if defaultArg fromLogits true then pred else Tensor.LogSoftmax(pred, axis)
        let terms = label * (Tensor.Log(label + 1e-12) - pred)
        let axes = [| 1 .. terms.Rank - 1 |]
        match defaultArg averaging MXNetAveraging.Mean with
        | MXNetAveraging.Sum -> Tensor.Sum(terms, axes)
        | _ -> Tensor.Mean(terms, axes)

[<AbstractClass; Sealed>]
type Divergences =
    static member KL(p: Tensor, q: Tensor, axis: int) = Tensor.Sum(Tensor.Xlogy(p, p) - Tensor.Xlogy(p, q), axis)
    static member ReverseKL(p: Tensor, q: Tensor, axis: int) = Divergences.KL(q, p, axis)
    static member JensenShannon(p: Tensor, q: Tensor, axis: int) =
        let m = (p + q) * 0.5
        (Divergences.KL(p, m, axis) + Divergences.KL(q, m, axis)) * 0.5
    /// W1 between two mass vectors on an evenly spaced 1-D grid: sum |CDF_p - CDF_q| * dx.
    static member Wasserstein1(p: Tensor, q: Tensor, grid: Tensor) =
        let n = p.Size 0
        let lower = Tensor.FromArray(Array.init (n * n) (fun k -> if k % n <= k / n then 1.0 else 0.0), [| n; n |], p.DType)
        let cdfDiff = Tensor.MatMul(lower, Tensor.Unsqueeze(p - q, 1))
        let dx = (grid.ItemAt(n - 1) - grid.ItemAt 0) / float (n - 1)
        Tensor.Sum(Tensor.Abs cdfDiff) * dx


namespace AutoKl.Cli.Pending.Distributions

open AutoKl

type Normal(loc: Tensor, scale: Tensor) =
    member _.Loc = loc
    member _.Scale = scale
    member _.LogProb(x: Tensor) =
        let var = Tensor.Pow(scale, 2.0)
        let d = x - loc
        Tensor.Neg(Tensor.Pow(d, 2.0)) / (2.0 * var) - Tensor.Log scale - log (sqrt (2.0 * System.Math.PI))

namespace AutoKl.Cli.Pending.Optim

open AutoKl
open AutoKl.Cli.Pending

/// Stand-in optimizers over scalar parameters; they return the new parameter leaves instead of
/// updating in place (the engine has no public in-place update yet).
type IOptimizer =
    abstract Step: Tensor[] -> Tensor[]

type Adam(lr: float, beta1: float, beta2: float, eps: float, weightDecay: float, amsgrad: bool, maximize: bool,
          decoupled: bool, placement: EpsilonPlacement) =
    let mutable t = 0
    let mutable m: Tensor[] = [||]
    let mutable v: Tensor[] = [||]
    let mutable vmax: Tensor[] = [||]
    interface IOptimizer with
        member _.Step(ps) =
            use _ = Autograd.NoGrad()
            if t = 0 then
                m <- ps |> Array.map Tensor.ZerosLike
                v <- ps |> Array.map Tensor.ZerosLike
                vmax <- ps |> Array.map Tensor.ZerosLike
            t <- t + 1
            let bc1 = 1.0 - beta1 ** float t
            let bc2 = 1.0 - beta2 ** float t
            ps |> Array.mapi (fun i p ->
                let g0 = if maximize then -p.Grad else p.Grad
                let p0 = p.Detach()
                let p1 = if decoupled then p0 * (1.0 - lr * weightDecay) else p0
                let g = if (not decoupled) && weightDecay <> 0.0 then g0 + p0 * weightDecay else g0
                m[i] <- m[i] * beta1 + g * (1.0 - beta1)
                v[i] <- v[i] * beta2 + g * g * (1.0 - beta2)
                let vUsed = if amsgrad then (vmax[i] <- Tensor.Maximum(vmax[i], v[i]); vmax[i]) else v[i]
                let next =
                    match placement with
                    | EpsilonPlacement.KingmaBa ->
                        let lrT = lr * sqrt bc2 / bc1
                        p1 + (-lrT) * (m[i] / (Tensor.Sqrt vUsed + eps))
                    | _ ->
                        let denom = Tensor.Sqrt vUsed / sqrt bc2 + eps
                        p1 + (-(lr / bc1)) * (m[i] / denom)
                next.Detach().RequiresGrad_())

type SGD(lr: float, momentum: float, dampening: float, nesterov: bool, weightDecay: float, maximize: bool) =
    let mutable buf: Tensor[] = [||]
    interface IOptimizer with
        member _.Step(ps) =
            use _ = Autograd.NoGrad()
            let first = buf.Length = 0
            if first then buf <- Array.zeroCreate ps.Length
            ps |> Array.mapi (fun i p ->
                let p0 = p.Detach()
                let mutable g = if weightDecay <> 0.0 then p.Grad + p0 * weightDecay else p.Grad
                if momentum <> 0.0 then
                    buf[i] <- if first then g else buf[i] * momentum + g * (1.0 - dampening)
                    g <- if nesterov then g + buf[i] * momentum else buf[i]
                let next = if maximize then p0 + g * lr else p0 - g * lr
                next.Detach().RequiresGrad_())
