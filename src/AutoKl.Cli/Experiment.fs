/// The reference experiment: fit Q = Normal(mu, sigma) to a target density p(x) on a grid by
/// gradient descent, with the library's losses, divergences, Normal and optimizers.
module AutoKl.Cli.Experiment

open System
open System.Diagnostics
open AutoKl
open AutoKl.Cli.Input
open AutoKl.Distributions
open AutoKl.Optim

/// One line of the table: the loss before the step's update, mu and sigma after it.
type Row = { Step: int; Loss: float; Mu: float; Sigma: float }

/// The outcome of one fit, with everything the plots need.
type FitResult =
    { Settings: FitSettings
      /// Rows at step 1, every report interval, and the last step.
      Rows: Row[]
      /// The loss before each update (index k = step k + 1).
      Losses: float[]
      /// mu and sigma before the first step (index 0) and after each step k (index k).
      Mus: float[]
      Sigmas: float[]
      /// The loss at the final parameters (one more evaluation after the last update).
      FinalLoss: float
      /// The grid and the target density p(x) on it.
      Grid: float[]
      Target: float[]
      /// Time spent in the optimisation loop, in seconds (wall clock).
      ComputeSeconds: float
      /// Processor time of the whole process during the loop (JIT and GC threads included): the
      /// cost of the fit independent of other load on the machine.
      CpuSeconds: float }

    member r.FinalMu = r.Mus[r.Mus.Length - 1]
    member r.FinalSigma = r.Sigmas[r.Sigmas.Length - 1]

/// How far (in grid widths) mu and sigma may stray from the grid: a fit that leaves it by
/// orders of magnitude has diverged, and a start that far off is refused.
let maxGridWidths = 100.0

/// The evenly spaced grid x, as torch.linspace computes it.
let grid (s: FitSettings) = Tensor.Linspace(s.GridMin, s.GridMax, s.GridSize, s.DType)

/// The target p(x): the weighted SUM of the component densities (not normalised).
let target (s: FitSettings) (x: Tensor) =
    let density (c: Component) =
        let q = Normal(Tensor.Scalar(c.Mu, s.DType), Tensor.Scalar(c.Sigma, s.DType)).Prob(x)
        if c.Weight = 1.0 then q else q * c.Weight
    s.Components |> List.map density |> List.reduce (+)

let private reduction =
    function
    | MeanReduction -> Reduction.Mean
    | SumReduction -> Reduction.Sum
    | BatchMeanReduction -> Reduction.BatchMean

/// The loss as a function of the parameters (mu, sigma), for the chosen loss.
let lossFunction (s: FitSettings) (x: Tensor) (p: Tensor) : Tensor -> Tensor -> Tensor =
    let mass (density: Tensor) = density / Tensor.Sum density
    let pMass = mass p
    let logQ (mu: Tensor) (sigma: Tensor) = Normal(mu, sigma).LogProb(x)
    let q (mu: Tensor) (sigma: Tensor) = Normal(mu, sigma).Prob(x)
    match s.Loss with
    | Kl -> fun mu sigma -> Losses.KlDiv(logQ mu sigma, p, reduction s.Reduction)
    | Mse -> fun mu sigma -> Losses.MseLoss(q mu sigma, p, reduction s.Reduction)
    | L1 -> fun mu sigma -> Losses.L1Loss(q mu sigma, p, reduction s.Reduction)
    | Cosine -> fun mu sigma -> Tensor.Neg(Losses.CosineSimilarity(q mu sigma, p, axis = 0))
    | ReverseKl -> fun mu sigma -> Divergences.ReverseKL(pMass, mass (q mu sigma), 0)
    | Js -> fun mu sigma -> Divergences.JensenShannon(pMass, mass (q mu sigma), 0)
    | Wasserstein -> fun mu sigma -> Divergences.Wasserstein1(pMass, mass (q mu sigma), x)

/// The optimizer over the parameters, as chosen on the command line.
let private optimizer (o: OptimizerSettings) (parameters: Tensor list) : Optimizer =
    let placement =
        match o.EpsPlacement with
        | PyTorchPlacement -> EpsilonPlacement.PyTorch
        | KingmaBaPlacement -> EpsilonPlacement.KingmaBa
    match o.Kind with
    | AdamOptimizer -> Adam(parameters, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.Amsgrad, o.Maximize, placement)
    | AdamWOptimizer -> AdamW(parameters, o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay, o.Amsgrad, o.Maximize, placement)
    | SgdOptimizer -> SGD(parameters, o.Lr, o.Momentum, o.Dampening, o.Nesterov, o.WeightDecay, o.Maximize)

/// The starting point: the given mu and sigma, or with --random-start a draw from the seed
/// (mu uniform over the grid range, sigma uniform in [0.5, 3]).
let start (s: FitSettings) =
    if s.RandomStart then
        let g = Generator(s.Seed)
        let mu = s.GridMin + (s.GridMax - s.GridMin) * g.NextUniform()
        let sigma = 0.5 + 2.5 * g.NextUniform()
        mu, sigma
    else s.Mu0, s.Sigma0

/// Runs the fit. `progress step` is called after every step (cheap; the caller throttles);
/// `onRow` for each table row as soon as it is known. Raises RunError when the fit diverges.
let run (s: FitSettings) (progress: int -> unit) (onRow: Row -> unit) : FitResult =
    let x = grid s
    let p = target s x
    let loss = lossFunction s x p
    let mu0, sigma0 = start s
    let mu = Tensor.Scalar(mu0, s.DType).RequiresGrad_()
    let sigma = Tensor.Scalar(sigma0, s.DType).RequiresGrad_()
    let opt = optimizer s.Optimizer [ mu; sigma ]
    // Grown as the steps run, never allocated up front for steps that may not happen.
    let losses = ResizeArray<float>()
    let mus = ResizeArray<float>([ mu0 ])
    let sigmas = ResizeArray<float>([ sigma0 ])
    let rows = ResizeArray()
    // Parameters this far off the grid mean the steps overshot (a huge --lr): a diverged fit,
    // not an answer, even while the numbers are still finite.
    let width = s.GridMax - s.GridMin
    let centre = s.GridMin + width / 2.0
    let offGrid (m: float) (sd: float) = abs (m - centre) > maxGridWidths * width || sd > maxGridWidths * width
    // Called after each update: the report's loss is from before it, mu and sigma from after.
    let record (report: StepReport) =
        let step = report.Step
        let muValue, sigmaValue = mu.ToScalar(), sigma.ToScalar()
        losses.Add report.Loss
        mus.Add muValue
        sigmas.Add sigmaValue
        if not (Double.IsFinite report.Loss && Double.IsFinite muValue && Double.IsFinite sigmaValue) || sigmaValue <= 0.0 then
            raise (RunError(sprintf "the fit diverged at step %d (loss %g, mu %g, sigma %g); try a smaller --lr"
                                step report.Loss muValue sigmaValue))
        if offGrid muValue sigmaValue then
            raise (RunError(sprintf "the fit diverged at step %d: mu %g, sigma %g are more than %g grid widths off the grid [%g, %g]; try a smaller --lr"
                                step muValue sigmaValue maxGridWidths s.GridMin s.GridMax))
        if step = 1 || step % s.ReportEvery = 0 || step = s.Steps then
            let row = { Step = step; Loss = report.Loss; Mu = muValue; Sigma = sigmaValue }
            rows.Add row
            onRow row
        progress step
    let cpu () = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds
    let cpuStart = cpu ()
    let clock = Stopwatch.StartNew()
    Minimize.Run([| mu; sigma |], (fun () -> loss mu sigma), opt, s.Steps, Action<StepReport> record)
    clock.Stop()
    let cpuSeconds = cpu () - cpuStart
    let finalLoss =
        use _ = Autograd.NoGrad()
        (loss mu sigma).ToScalar()
    { Settings = s
      Rows = rows.ToArray()
      Losses = losses.ToArray()
      Mus = mus.ToArray()
      Sigmas = sigmas.ToArray()
      FinalLoss = finalLoss
      Grid = x.ToDoubleArray()
      Target = p.ToDoubleArray()
      ComputeSeconds = clock.Elapsed.TotalSeconds
      CpuSeconds = cpuSeconds }
