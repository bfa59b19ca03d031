/// What the user asked for, validated: the settings of `autokl fit` and `autokl kl`.
namespace AutoKl.Cli

open AutoKl

/// The quantity minimised between Q's density q(x) and the target p(x) on the grid.
type LossKind =
    /// PyTorch's kl_div(log q(x), p(x)): the reference experiment (mass-covering).
    | Kl
    /// KL(Q||P) between q and p normalised to masses on the grid (mode-seeking).
    | ReverseKl
    /// Mean squared error between q(x) and p(x).
    | Mse
    /// Mean absolute error between q(x) and p(x).
    | L1
    /// Negative cosine similarity of the vectors q(x) and p(x).
    | Cosine
    /// Jensen-Shannon divergence between the normalised masses.
    | Js
    /// Wasserstein-1 (earth mover's) distance between the normalised masses on the grid.
    | Wasserstein

module LossKind =
    /// Command-line name of each loss.
    let names =
        [ "kl", Kl; "reverse-kl", ReverseKl; "mse", Mse; "l1", L1; "cosine", Cosine; "js", Js; "wasserstein", Wasserstein ]
    /// The command-line name of a loss.
    let name (loss: LossKind) = Input.nameOf names loss
    /// The losses that take --reduction (PyTorch's reduction of a pointwise loss).
    let reducible = [ Kl; Mse; L1 ]

/// How a pointwise loss is reduced to one number (PyTorch's `reduction`; its 'none' gives no
/// scalar to minimise, so it is not offered).
type ReductionKind =
    | MeanReduction
    | SumReduction
    | BatchMeanReduction

module ReductionKind =
    /// Command-line name of each reduction.
    let names = [ "mean", MeanReduction; "sum", SumReduction; "batchmean", BatchMeanReduction ]
    /// The command-line name of a reduction.
    let name (r: ReductionKind) = Input.nameOf names r

/// The optimizers the command offers (the library's Adam, AdamW and SGD).
type OptimizerKind =
    | AdamOptimizer
    | AdamWOptimizer
    | SgdOptimizer

module OptimizerKind =
    /// Command-line name of each optimizer.
    let names = [ "adam", AdamOptimizer; "adamw", AdamWOptimizer; "sgd", SgdOptimizer ]
    /// The command-line name of an optimizer.
    let name (o: OptimizerKind) = Input.nameOf names o

/// Where Adam adds epsilon: PyTorch's placement or Kingma & Ba's epsilon-hat.
type EpsPlacementKind =
    | PyTorchPlacement
    | KingmaBaPlacement

module EpsPlacementKind =
    /// Command-line name of each placement.
    let names = [ "pytorch", PyTorchPlacement; "kingma-ba", KingmaBaPlacement ]
    /// The command-line name of a placement.
    let name (e: EpsPlacementKind) = Input.nameOf names e

/// One weighted Normal component of the target density.
type Component = { Mu: float; Sigma: float; Weight: float }

/// The optimizer and its hyper-parameters (PyTorch names and defaults).
type OptimizerSettings =
    { Kind: OptimizerKind
      Lr: float
      Beta1: float
      Beta2: float
      Eps: float
      WeightDecay: float
      Amsgrad: bool
      Maximize: bool
      EpsPlacement: EpsPlacementKind
      Momentum: float
      Dampening: float
      Nesterov: bool }

/// Everything `autokl fit` needs for one run.
type FitSettings =
    { Components: Component list
      GridMin: float
      GridMax: float
      GridSize: int
      Loss: LossKind
      Reduction: ReductionKind
      Optimizer: OptimizerSettings
      Steps: int
      Mu0: float
      Sigma0: float
      DType: DType
      Seed: int
      RandomStart: bool
      ReportEvery: int }

module FitSettings =
    /// The reference experiment: N(-5,1) + N(10,1) on 1000 points of [-15, 15], kl (mean), Adam lr 1e-3.
    let reference =
        { Components = [ { Mu = -5.0; Sigma = 1.0; Weight = 1.0 }; { Mu = 10.0; Sigma = 1.0; Weight = 1.0 } ]
          GridMin = -15.0
          GridMax = 15.0
          GridSize = 1000
          Loss = Kl
          Reduction = MeanReduction
          Optimizer =
            { Kind = AdamOptimizer; Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0
              Amsgrad = false; Maximize = false; EpsPlacement = PyTorchPlacement; Momentum = 0.0
              Dampening = 0.0; Nesterov = false }
          Steps = 10000
          Mu0 = 0.0
          Sigma0 = 1.0
          DType = DType.Float32
          Seed = 0
          RandomStart = false
          ReportEvery = 1000 }

    /// "N(-5, 1) + N(10, 1)" (weights shown when not 1).
    let describeTarget (s: FitSettings) =
        s.Components
        |> List.map (fun c ->
            let n = sprintf "N(%g, %g)" c.Mu c.Sigma
            if c.Weight = 1.0 then n else sprintf "%g*%s" c.Weight n)
        |> String.concat " + "

    /// One line naming the loss as it is computed.
    let describeLoss (s: FitSettings) =
        match s.Loss with
        | Kl -> sprintf "kl = kl_div(log q(x), p(x), reduction '%s')" (ReductionKind.name s.Reduction)
        | ReverseKl -> "reverse-kl = KL(Q||P) on the grid, both normalised to mass 1"
        | Mse -> sprintf "mse = mse_loss(q(x), p(x), reduction '%s')" (ReductionKind.name s.Reduction)
        | L1 -> sprintf "l1 = l1_loss(q(x), p(x), reduction '%s')" (ReductionKind.name s.Reduction)
        | Cosine -> "cosine = -cosine_similarity(q(x), p(x))"
        | Js -> "js = Jensen-Shannon(P, Q) on the grid, both normalised to mass 1"
        | Wasserstein -> "wasserstein = W1(P, Q) on the grid, both normalised to mass 1"

    /// One line naming the optimizer and its non-default settings.
    let describeOptimizer (s: FitSettings) =
        let o = s.Optimizer
        match o.Kind with
        | AdamOptimizer | AdamWOptimizer ->
            sprintf "%s lr %g, betas (%g, %g), eps %g (%s placement), weight decay %g%s%s"
                (if o.Kind = AdamOptimizer then "Adam" else "AdamW") o.Lr o.Beta1 o.Beta2 o.Eps
                (EpsPlacementKind.name o.EpsPlacement) o.WeightDecay
                (if o.Amsgrad then ", amsgrad" else "") (if o.Maximize then ", maximize" else "")
        | SgdOptimizer ->
            sprintf "SGD lr %g, momentum %g, dampening %g, weight decay %g%s%s" o.Lr o.Momentum o.Dampening
                o.WeightDecay (if o.Nesterov then ", nesterov" else "") (if o.Maximize then ", maximize" else "")

/// Everything `autokl kl` needs: P and the distributions Q compared with it.
type KlSettings =
    { P: float[]
      Qs: float[] list
      FromLogits: bool }
