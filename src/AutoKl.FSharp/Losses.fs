namespace AutoKl

open System

/// Pipeable loss functions for F#: settings first, then the target, the prediction last, so
/// `logQ |> Losses.klDiv Reduction.BatchMean p` reads "KL of the target p from the prediction".
/// Each forwards to the C# method of the same name in `AutoKl.Losses`.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Losses =
    type private L = AutoKl.Losses

    /// PyTorch's kl_div: input = log-probabilities of the prediction, target = probabilities.
    let klDiv (reduction: Reduction) (target: Tensor) (input: Tensor) = L.KlDiv(input, target, reduction)
    /// kl_div with the target given as log-probabilities (TorchSharp's default).
    let klDivLogTarget (reduction: Reduction) (logTarget: Tensor) (input: Tensor) = L.KlDiv(input, logTarget, reduction, true)
    /// MXNet Gluon's KLDivLoss (from_logits = true: pred holds log-probabilities), one value per sample.
    let gluonKlDiv (averaging: MXNetAveraging) (label: Tensor) (pred: Tensor) = L.GluonKlDivLoss(pred, label, averaging = averaging)
    /// MXNet Gluon's KLDivLoss with from_logits = false: log_softmax is applied to pred along the last axis.
    let gluonKlDivScores (averaging: MXNetAveraging) (label: Tensor) (pred: Tensor) =
        L.GluonKlDivLoss(pred, label, fromLogits = false, averaging = averaging)

/// Textbook divergences between probability vectors along the last axis, one value per
/// distribution: `Divergences.kl p q` is KL(P||Q) with P the reference.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Divergences =
    type private D = AutoKl.Divergences

    /// KL(P||Q) along the last axis.
    let kl (p: Tensor) (q: Tensor) = D.KL(p, q)
    /// KL(P||Q) along the given axis.
    let klDim (axis: int) (p: Tensor) (q: Tensor) = D.KL(p, q, axis)
    /// KL(P||Q_eps) with Q mixed with the uniform distribution (weight eps): finite where q = 0.
    let klSmoothed (epsilon: float) (p: Tensor) (q: Tensor) = D.KL(p, q, epsilon)
    /// KL(Q||P) along the last axis (arguments in the same order as kl).
    let reverseKl (p: Tensor) (q: Tensor) = D.ReverseKL(p, q)
    /// KL(P||Q) from log-probabilities.
    let klFromLogProbs (logP: Tensor) (logQ: Tensor) = D.KLFromLogProbs(logP, logQ)
    /// KL(softmax pLogits || softmax qLogits).
    let klFromLogits (pLogits: Tensor) (qLogits: Tensor) = D.KLFromLogits(pLogits, qLogits)
    /// Jensen-Shannon divergence along the last axis.
    let jensenShannon (p: Tensor) (q: Tensor) = D.JensenShannon(p, q)
    /// Renyi divergence of order alpha along the last axis.
    let renyi (alpha: float) (p: Tensor) (q: Tensor) = D.Renyi(p, q, alpha)
    /// The f-divergence sum q f(p/q) for a generator f (an ordinary F# function).
    let fDivergence (f: Tensor -> Tensor) (p: Tensor) (q: Tensor) = D.FDivergence(p, q, Func<Tensor, Tensor>(f))
    /// Wasserstein-1 between masses on the same sorted grid.
    let wasserstein1 (grid: Tensor) (p: Tensor) (q: Tensor) = D.Wasserstein1(p, q, grid)
    /// Wasserstein-1 between two 1-D sample sets.
    let wasserstein1Samples (a: Tensor) (b: Tensor) = D.Wasserstein1Samples(a, b)
