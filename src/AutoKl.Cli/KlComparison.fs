/// `autokl kl`: the divergences between categorical distributions P and Q, and what each
/// library convention returns for them, computed with the library's Divergences and Losses.
module AutoKl.Cli.KlComparison

open System
open AutoKl
open AutoKl.Cli.Input

/// The library a convention belongs to.
type Library =
    | PyTorch
    | MXNet

module Library =
    /// The library's name as printed (the text column and the JSON "library" field).
    let name (library: Library) =
        match library with
        | PyTorch -> "PyTorch"
        | MXNet -> "MXNet"

/// Which convention a row is: code (and tests) find a convention by this, never by its printed
/// words, so a label or an explanation can be reworded freely.
type ConventionId =
    /// PyTorch kl_div(log Q, P, reduction='sum'): the textbook KL(P||Q).
    | TorchSum
    /// PyTorch kl_div(log Q, P, reduction='batchmean'): KL(P||Q) per sample.
    | TorchBatchMean
    /// PyTorch kl_div(log Q, P) with its default reduction='mean': KL/N.
    | TorchMean
    /// PyTorch kl_div(log Q, log P, reduction='batchmean', log_target=True) (TorchSharp's default).
    | TorchLogTarget
    /// PyTorch kl_div(log P, Q, reduction='batchmean'): the arguments swapped, KL(Q||P).
    | TorchSwapped
    /// PyTorch kl_div given probabilities or raw scores where log-probabilities belong (wrong).
    | TorchNotLogInput
    /// MXNet Gluon KLDivLoss(from_logits=True) averaging over categories (<= 1.8, 2.x): KL/N.
    | MXNetMean
    /// MXNet 1.9 Gluon KLDivLoss(from_logits=True) summing over categories: KL.
    | MXNetSum
    /// MXNet Gluon KLDivLoss(from_logits=False): applies log_softmax to its input itself.
    | MXNetNotFromLogits

module ConventionId =
    /// The library a convention belongs to.
    let library (id: ConventionId) =
        match id with
        | TorchSum | TorchBatchMean | TorchMean | TorchLogTarget | TorchSwapped | TorchNotLogInput -> PyTorch
        | MXNetMean | MXNetSum | MXNetNotFromLogits -> MXNet

/// One way of calling a library, its result and why it differs from KL(P||Q).
type Convention =
    { Id: ConventionId
      /// A few words naming the call, for a chart's axis.
      Short: string
      Call: string
      Value: float
      Explanation: string }

    /// The library's printed name.
    member k.Library = k.Id |> ConventionId.library |> Library.name

/// P against one Q.
type Comparison =
    { Q: float[]
      /// The Q values as given (raw scores with --from-logits).
      QGiven: float[]
      KlPQ: float
      KlQP: float
      Js: float
      /// p_i * (log p_i - log q_i): PyTorch's kl_div with reduction 'none'.
      Terms: float[]
      Conventions: Convention list }

/// The convention with the given identity in one comparison.
let conventionOf (id: ConventionId) (c: Comparison) = c.Conventions |> List.find (fun k -> k.Id = id)

/// Everything `autokl kl` reports: P and its comparison with each Q.
type KlResult =
    { P: float[]
      PGiven: float[]
      FromLogits: bool
      Comparisons: Comparison list }

/// The default example of the reference write-up.
let defaultP = [| 0.2; 0.5; 0.2; 0.1 |]
let defaultQs = [ [| 0.3; 0.4; 0.1; 0.2 |]; [| 0.1; 0.1; 0.1; 0.7 |] ]

/// Checks the lists: same length, non-empty, probabilities non-negative and summing to 1
/// (raw scores with --from-logits may be any finite numbers).
let validate (s: KlSettings) =
    let n = s.P.Length
    if n < 1 then fail "--p: no numbers given"
    s.Qs |> List.iteri (fun i q ->
        if q.Length <> n then
            fail "P has %d values but Q%s has %d: the lists must have the same length" n
                (if s.Qs.Length > 1 then string (i + 1) else "") q.Length)
    if not s.FromLogits then
        let check (name: string) (values: float[]) =
            match values |> Array.tryFindIndex (fun v -> v < 0.0) with
            | Some i -> fail "%s has a negative probability %g at position %d (pass --from-logits for raw scores)" name values[i] (i + 1)
            | None -> ()
            let total = Array.sum values
            if abs (total - 1.0) > 1e-6 then
                fail "%s sums to %.10g, not 1 (probabilities must sum to 1; pass --from-logits for raw scores)" name total
        check "P" s.P
        s.Qs |> List.iteri (fun i q -> check (if s.Qs.Length > 1 then sprintf "Q%d" (i + 1) else "Q") q)

let private row (values: float[]) = Tensor.FromArray(values, [| 1; values.Length |])
let private scalar (t: Tensor) = t.ToScalar()

/// Log-probabilities along the last axis: log_softmax of raw scores (exact even where softmax
/// underflows to 0), or the log of probabilities.
let private logProbabilities (fromLogits: bool) (given: Tensor) =
    if fromLogits then Tensor.LogSoftmax(given, -1) else Tensor.Log given

let private conventions (fromLogits: bool) (pGiven: float[]) (qGiven: float[]) (p: float[]) (q: float[]) =
    let n = p.Length
    let pT, qT = row p, row q
    let logP, logQ = logProbabilities fromLogits (row pGiven), logProbabilities fromLogits (row qGiven)
    let kl input target reduction = Losses.KlDiv(input, target, reduction) |> scalar
    let inputName = if fromLogits then "log_softmax(q_scores)" else "Q.log()"
    let targetName = if fromLogits then "softmax(p_scores)" else "P"
    // The axis label starts with the library's name, so the chart reads like the text report.
    let convention id short call value why =
        { Id = id; Short = Library.name (ConventionId.library id) + " " + short; Call = call; Value = value; Explanation = why }
    let gluon pred label fromLogitsFlag averaging =
        Losses.GluonKlDivLoss(pred, label, fromLogits = fromLogitsFlag, axis = -1, averaging = averaging) |> scalar
    [ convention TorchSum "sum" (sprintf "kl_div(%s, %s, reduction='sum')" inputName targetName) (kl logQ pT Reduction.Sum)
        "the textbook KL(P||Q): kl_div(input, target) is KL(target || exp(input)), so P goes second"
      convention TorchBatchMean "batchmean" (sprintf "kl_div(%s, %s, reduction='batchmean')" inputName targetName) (kl logQ pT Reduction.BatchMean)
        "sum divided by the batch size (1 sample of shape [1, N] here): the correct reduction for KL"
      convention TorchMean "mean (the default)" (sprintf "kl_div(%s, %s) (reduction='mean', the default)" inputName targetName) (kl logQ pT Reduction.Mean)
        (sprintf "divides by every element (N = %d), not by the batch: KL/N, too small by the number of categories" n)
      convention TorchLogTarget "log_target=True" (sprintf "kl_div(%s, %s, reduction='batchmean', log_target=True)" inputName (if fromLogits then "log_softmax(p_scores)" else "P.log()"))
        (Losses.KlDiv(logQ, logP, Reduction.BatchMean, true) |> scalar)
        "the same KL with the target given as log-probabilities (TorchSharp's default is log_target=true)"
      convention TorchSwapped "arguments swapped" (sprintf "kl_div(%s, %s, reduction='batchmean')" (if fromLogits then "log_softmax(p_scores)" else "P.log()") (if fromLogits then "softmax(q_scores)" else "Q"))
        (kl logP qT Reduction.BatchMean)
        "arguments swapped: gives KL(Q||P), the other direction (KL is not symmetric)"
      if fromLogits then
        convention TorchNotLogInput "scores as input (wrong)" "kl_div(q_scores, softmax(p_scores), reduction='batchmean')" (kl (row qGiven) pT Reduction.BatchMean)
            "wrong: raw scores passed as input; kl_div expects log-probabilities (apply log_softmax first)"
      else
        convention TorchNotLogInput "probabilities as input (wrong)" "kl_div(Q, P, reduction='batchmean')" (kl qT pT Reduction.BatchMean)
            "wrong: probabilities passed as input; kl_div expects log-probabilities, so the number means nothing"
      convention MXNetMean "<= 1.8 and 2.x (mean)" (sprintf "KLDivLoss(from_logits=True)(%s, %s), MXNet <= 1.8 and 2.x" inputName targetName)
        (gluon logQ pT true MXNetAveraging.Mean)
        (sprintf "mean over the category axis for each sample: KL/N (N = %d), like PyTorch's 'mean'" n)
      convention MXNetSum "1.9 (sum)" (sprintf "KLDivLoss(from_logits=True)(%s, %s), MXNet 1.9" inputName targetName)
        (gluon logQ pT true MXNetAveraging.Sum)
        "MXNet 1.9 sums over the category axis: KL itself (label*log(label + 1e-12) moves it by ~1e-12)"
      if fromLogits then
        convention MXNetNotFromLogits "from_logits=False" "KLDivLoss(from_logits=False)(q_scores, softmax(p_scores)), MXNet 2.x"
            (gluon (row qGiven) pT false MXNetAveraging.Mean)
            "from_logits=False applies log_softmax to the raw scores itself: KL/N, correct for scores"
      else
        convention MXNetNotFromLogits "from_logits=False (wrong)" "KLDivLoss(from_logits=False)(Q, P), MXNet 2.x" (gluon qT pT false MXNetAveraging.Mean)
            "from_logits=False applies log_softmax to pred: right for raw scores, wrong for probabilities" ]

/// Computes every number the command prints (the settings were checked by `validate`).
let compute (s: KlSettings) : KlResult =
    let toProbabilities (values: float[]) =
        if s.FromLogits then (Tensor.Softmax(Tensor.FromArray values, 0)).ToDoubleArray() else values
    let p = toProbabilities s.P
    let pT = Tensor.FromArray p
    let compare (qGiven: float[]) =
        let q = toProbabilities qGiven
        let qT = Tensor.FromArray q
        let klPQ, klQP =
            if s.FromLogits then
                let pScores, qScores = Tensor.FromArray s.P, Tensor.FromArray qGiven
                Divergences.KLFromLogits(pScores, qScores, 0), Divergences.KLFromLogits(qScores, pScores, 0)
            else Divergences.KL(pT, qT, 0), Divergences.ReverseKL(pT, qT, 0)
        { Q = q
          QGiven = qGiven
          KlPQ = scalar klPQ
          KlQP = scalar klQP
          Js = Divergences.JensenShannon(pT, qT, 0) |> scalar
          Terms = Losses.KlDiv(logProbabilities s.FromLogits (Tensor.FromArray qGiven), pT, Reduction.None).ToDoubleArray()
          Conventions = conventions s.FromLogits s.P qGiven p q }
    { P = p; PGiven = s.P; FromLogits = s.FromLogits; Comparisons = s.Qs |> List.map compare }
