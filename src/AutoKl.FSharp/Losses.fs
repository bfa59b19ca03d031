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
    /// Mean squared error.
    let mse (reduction: Reduction) (target: Tensor) (input: Tensor) = L.MseLoss(input, target, reduction)
    /// Mean absolute error.
    let l1 (reduction: Reduction) (target: Tensor) (input: Tensor) = L.L1Loss(input, target, reduction)
    /// Huber loss with threshold delta.
    let huber (reduction: Reduction) (delta: float) (target: Tensor) (input: Tensor) = L.HuberLoss(input, target, reduction, delta)
    /// Smooth L1 loss with threshold beta.
    let smoothL1 (reduction: Reduction) (beta: float) (target: Tensor) (input: Tensor) = L.SmoothL1Loss(input, target, reduction, beta)
    /// Cosine similarity along an axis (eps 1e-8).
    let cosineSimilarity (axis: int) (x1: Tensor) (x2: Tensor) = L.CosineSimilarity(x1, x2, axis)
    /// Cosine embedding loss with a margin; target holds 1 or -1 per row.
    let cosineEmbedding (reduction: Reduction) (margin: float) (target: Tensor) (input1: Tensor) (input2: Tensor) =
        L.CosineEmbeddingLoss(input1, input2, target, margin, reduction)
    /// Cross-entropy from logits; target = int64 class indices or probabilities.
    let crossEntropy (reduction: Reduction) (target: Tensor) (logits: Tensor) = L.CrossEntropy(logits, target, reduction)
    /// Cross-entropy with label smoothing.
    let crossEntropySmoothed (reduction: Reduction) (labelSmoothing: float) (target: Tensor) (logits: Tensor) =
        L.CrossEntropy(logits, target, reduction, labelSmoothing = labelSmoothing)
    /// Negative log-likelihood of class indices given log-probabilities.
    let nll (reduction: Reduction) (target: Tensor) (logProbs: Tensor) = L.NllLoss(logProbs, target, reduction)
    /// Binary cross-entropy of probabilities.
    let bce (reduction: Reduction) (target: Tensor) (probs: Tensor) = L.BinaryCrossEntropy(probs, target, reduction)
    /// Binary cross-entropy from logits (stable for large logits).
    let bceWithLogits (reduction: Reduction) (target: Tensor) (logits: Tensor) = L.BinaryCrossEntropyWithLogits(logits, target, reduction)
    /// Poisson NLL with input = log rate.
    let poissonNll (reduction: Reduction) (target: Tensor) (logRate: Tensor) = L.PoissonNllLoss(logRate, target, reduction = reduction)
    /// Gaussian NLL of the target under N(input, var).
    let gaussianNll (reduction: Reduction) (var: Tensor) (target: Tensor) (input: Tensor) = L.GaussianNllLoss(input, target, var, reduction = reduction)

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

namespace AutoKl.Distributions

open AutoKl

/// Pipeable functions on distributions: `x |> Distribution.logProb normal`, `Distribution.kl p q`.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Distribution =
    /// Log-density (or log-mass) of x.
    let logProb (d: Distribution) (x: Tensor) = d.LogProb x
    /// Density (or mass) of x.
    let prob (d: Distribution) (x: Tensor) = d.Prob x
    /// Cumulative distribution function at x.
    let cdf (d: Distribution) (x: Tensor) = d.Cdf x
    /// Entropy per distribution.
    let entropy (d: Distribution) = d.Entropy()
    /// Samples of shape `shape ++ batchShape` (no gradient).
    let sample (generator: Generator) (shape: int list) (d: Distribution) = d.Sample(List.toArray shape, generator)
    /// Reparameterised samples (gradients flow to the parameters).
    let rsample (generator: Generator) (shape: int list) (d: Distribution) = d.RSample(List.toArray shape, generator)
    /// Closed-form KL(P||Q) from the registry.
    let kl (p: Distribution) (q: Distribution) = KL.Divergence(p, q)
    /// Monte Carlo k3 estimate of KL(P||Q) from n samples of P, with its standard error.
    let klMonteCarlo (generator: Generator) (samples: int) (p: Distribution) (q: Distribution) =
        let e = MonteCarloKL.Estimate(p, q, samples, generator)
        e.Value, e.StandardError
    /// A normal distribution from tensors.
    let normal (loc: Tensor) (scale: Tensor) = Normal(loc, scale) :> Distribution
    /// A uniform distribution from tensors.
    let uniform (low: Tensor) (high: Tensor) = Uniform(low, high) :> Distribution
    /// A categorical distribution from probabilities along the last axis.
    let categoricalProbs (probs: Tensor) = Categorical.FromProbs probs :> Distribution
    /// A categorical distribution from logits along the last axis.
    let categoricalLogits (logits: Tensor) = Categorical.FromLogits logits :> Distribution
    /// A Bernoulli distribution from probabilities of 1.
    let bernoulliProbs (probs: Tensor) = Bernoulli.FromProbs probs :> Distribution
    /// A Bernoulli distribution from logits.
    let bernoulliLogits (logits: Tensor) = Bernoulli.FromLogits logits :> Distribution
