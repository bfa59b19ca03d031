/// The command line turned into validated settings: every option of `fit` and `kl` is read and
/// checked here, before any work, so Program only dispatches and a bad input fails fast (exit 2).
module AutoKl.Cli.ReadSettings

open System
open Argu
open AutoKl
open AutoKl.Cli.Arguments
open AutoKl.Cli.Input

/// The picture formats of --format (png by default); --format needs --out.
let pictureFormats (format: string option) (out: string option) =
    match format, out with
    | Some _, None -> fail "--format applies to the pictures of --out; give --out DIR as well"
    | _ ->
        format
        |> Option.map (choice "--format" [ "png", [ AutoKl.Plots.Png ]; "svg", [ AutoKl.Plots.Svg ]; "both", [ AutoKl.Plots.Png; AutoKl.Plots.Svg ] ])
        |> Option.defaultValue [ AutoKl.Plots.Png ]

/// "MU,SIGMA[,WEIGHT]" -> a component, sigma and weight > 0.
let private parseComponent (text: string) =
    match numberList "--component" text with
    | [| mu; sigma |] -> mu, sigma, 1.0
    | [| mu; sigma; weight |] -> mu, sigma, weight
    | values -> fail "--component: expected MU,SIGMA or MU,SIGMA,WEIGHT, got %d numbers in '%s'" values.Length text
    |> fun (mu, sigma, weight) ->
        require (sigma > 0.0) "--component sigma" "> 0" sigma
        require (weight > 0.0) "--component weight" "> 0" weight
        { Mu = mu; Sigma = sigma; Weight = weight }

/// The largest --steps and --grid-size: far beyond the reference experiment (10000 steps, 1000
/// points), and small enough that the per-step history and each step's tensors fit in memory.
let maxSteps = 10_000_000
let maxGridSize = 10_000_000

/// An option's number (invariant notation, finite), or the default when absent.
let private numberOr (text: string option) (name: string) (d: float) =
    text |> Option.map (number name) |> Option.defaultValue d

/// An option's whole number, or the default when absent.
let private integerOr (text: string option) (name: string) (d: int) =
    text |> Option.map (integer name) |> Option.defaultValue d

/// Checks what the dtype and the grid can hold before any work: every value representable in the
/// dtype (a float32 sigma of 1e-300 is 0), the start near the grid, a finite positive target.
let private checkRanges (s: FitSettings) =
    let float32 = s.DType = DType.Float32
    let representable (what: string) (v: float) =
        if float32 && abs v > float Single.MaxValue then
            fail "%s: %g is out of the range of float32 (use --dtype float64)" what v
    // A positive value that rounds to 0 (or to a float32 subnormal) would silently change the run.
    let positive (what: string) (v: float) =
        representable what v
        if float32 && v < 1.1754943508222875e-38 then
            fail "%s: %g is too small for float32: it would round to 0 (use --dtype float64)" what v
    representable "--grid-min" s.GridMin
    representable "--grid-max" s.GridMax
    representable "--mu" s.Mu0
    positive "--sigma" s.Sigma0
    positive "--lr" s.Optimizer.Lr
    let width = s.GridMax - s.GridMin
    let centre = s.GridMin + width / 2.0
    if not s.RandomStart then
        if abs (s.Mu0 - centre) > Experiment.maxGridWidths * width then
            fail "--mu: %g is more than %g grid widths from the grid [%g, %g]" s.Mu0 Experiment.maxGridWidths s.GridMin s.GridMax
        if s.Sigma0 > Experiment.maxGridWidths * width then
            fail "--sigma: %g is more than %g times the width of the grid [%g, %g]" s.Sigma0 Experiment.maxGridWidths s.GridMin s.GridMax
    for c in s.Components do
        representable "--component mu" c.Mu
        positive "--component sigma" c.Sigma
        positive "--component weight" c.Weight
    // The target itself: finite everywhere and not 0 everywhere (a component far off the grid, or
    // weights whose densities overflow, leave nothing to fit).
    let p =
        use _ = Autograd.NoGrad()
        (Experiment.target s (Experiment.grid s)).ToDoubleArray()
    if p |> Array.exists (fun v -> not (Double.IsFinite v)) then
        fail "--component: the target density is not finite on the grid (a weight too large or a sigma too small for %s)" (s.DType.ToString().ToLowerInvariant())
    if p |> Array.forall (fun v -> v = 0.0) then
        fail "--component: the target density is 0 everywhere on the grid [%g, %g]; move the components or the grid" s.GridMin s.GridMax

/// The validated settings of `fit`, the losses of --compare (if any), and the output options.
let fit (a: ParseResults<FitArgs>) =
    let d = FitSettings.reference
    let components =
        match a.GetResults Component with
        | [] -> d.Components
        | specs -> specs |> List.map parseComponent
    let gridMin, gridMax = numberOr (a.TryGetResult Grid_Min) "--grid-min" d.GridMin, numberOr (a.TryGetResult Grid_Max) "--grid-max" d.GridMax
    if not (gridMin < gridMax) then fail "--grid-min (%g) must be less than --grid-max (%g)" gridMin gridMax
    if not (Double.IsFinite(gridMax - gridMin)) then
        fail "--grid-min (%g) and --grid-max (%g) are too far apart: the width of the grid is not a finite number" gridMin gridMax
    let gridSize = integerOr (a.TryGetResult Grid_Size) "--grid-size" d.GridSize
    require (gridSize >= 2) "--grid-size" ">= 2" gridSize
    require (gridSize <= maxGridSize) "--grid-size" (sprintf "at most %d" maxGridSize) gridSize
    let loss = a.TryGetResult Loss |> Option.map (choice "--loss" LossKind.names) |> Option.defaultValue d.Loss
    let compare =
        a.TryGetResult Compare
        |> Option.map (fun text ->
            if a.Contains Loss then fail "--loss and --compare cannot be combined (list the losses in --compare)"
            let names = text.Split([| ','; ' ' |], StringSplitOptions.RemoveEmptyEntries)
            if names.Length = 0 then fail "--compare: no losses given (e.g. --compare kl,reverse-kl,mse,cosine)"
            names |> Array.map (choice "--compare" LossKind.names) |> Array.distinct |> List.ofArray)
    let reduction = a.TryGetResult Reduction |> Option.map (choice "--reduction" ReductionKind.names) |> Option.defaultValue d.Reduction
    // With --compare, --reduction applies to the losses that take one and the others use theirs.
    if a.Contains Reduction && compare.IsNone && not (List.contains loss LossKind.reducible) then
        fail "--reduction applies to kl, mse and l1 only, not to %s" (LossKind.name loss)
    let kind = a.TryGetResult Optimizer |> Option.map (choice "--optimizer" OptimizerKind.names) |> Option.defaultValue AdamOptimizer
    let adamOnly =
        [ (if a.Contains Beta1 then Some "--beta1" else None)
          (if a.Contains Beta2 then Some "--beta2" else None) ] |> List.choose id
    let sgdOnly =
        [ (if a.Contains Momentum then Some "--momentum" else None)
          (if a.Contains Dampening then Some "--dampening" else None)
          (if a.Contains Nesterov then Some "--nesterov" else None) ] |> List.choose id
    let adamFlags =
        [ (if a.Contains Eps then Some "--eps" else None)
          (if a.Contains Eps_Placement then Some "--eps-placement" else None)
          (if a.Contains Amsgrad then Some "--amsgrad" else None) ] |> List.choose id
    match kind with
    | SgdOptimizer when not adamOnly.IsEmpty || not adamFlags.IsEmpty ->
        fail "%s applies to adam and adamw, not to sgd" (List.head (adamOnly @ adamFlags))
    | AdamOptimizer | AdamWOptimizer when not sgdOnly.IsEmpty ->
        fail "%s applies to sgd only, not to %s" (List.head sgdOnly) (OptimizerKind.name kind)
    | _ -> ()
    let o = d.Optimizer
    let optimizer =
        { Kind = kind
          Lr = numberOr (a.TryGetResult Lr) "--lr" o.Lr
          Beta1 = numberOr (a.TryGetResult Beta1) "--beta1" o.Beta1
          Beta2 = numberOr (a.TryGetResult Beta2) "--beta2" o.Beta2
          Eps = numberOr (a.TryGetResult Eps) "--eps" o.Eps
          WeightDecay = numberOr (a.TryGetResult Weight_Decay) "--weight-decay" (if kind = AdamWOptimizer then 0.01 else 0.0)
          Amsgrad = a.Contains Amsgrad
          Maximize = a.Contains Maximize
          EpsPlacement = a.TryGetResult Eps_Placement |> Option.map (choice "--eps-placement" EpsPlacementKind.names) |> Option.defaultValue o.EpsPlacement
          Momentum = numberOr (a.TryGetResult Momentum) "--momentum" 0.0
          Dampening = numberOr (a.TryGetResult Dampening) "--dampening" 0.0
          Nesterov = a.Contains Nesterov }
    require (optimizer.Lr > 0.0 && Double.IsFinite optimizer.Lr) "--lr" "> 0" optimizer.Lr
    require (optimizer.Beta1 >= 0.0 && optimizer.Beta1 < 1.0) "--beta1" "in [0, 1)" optimizer.Beta1
    require (optimizer.Beta2 >= 0.0 && optimizer.Beta2 < 1.0) "--beta2" "in [0, 1)" optimizer.Beta2
    require (optimizer.Eps >= 0.0 && Double.IsFinite optimizer.Eps) "--eps" ">= 0" optimizer.Eps
    require (optimizer.WeightDecay >= 0.0 && Double.IsFinite optimizer.WeightDecay) "--weight-decay" ">= 0" optimizer.WeightDecay
    require (optimizer.Momentum >= 0.0 && Double.IsFinite optimizer.Momentum) "--momentum" ">= 0" optimizer.Momentum
    require (Double.IsFinite optimizer.Dampening) "--dampening" "a finite number" optimizer.Dampening
    if optimizer.Nesterov && (optimizer.Momentum <= 0.0 || optimizer.Dampening <> 0.0) then
        fail "--nesterov needs --momentum > 0 and --dampening 0"
    let steps = integerOr (a.TryGetResult Steps) "--steps" d.Steps
    require (steps > 0) "--steps" "> 0" steps
    require (steps <= maxSteps) "--steps" (sprintf "at most %d" maxSteps) steps
    let mu0, sigma0 = numberOr (a.TryGetResult Mu) "--mu" d.Mu0, numberOr (a.TryGetResult Sigma) "--sigma" d.Sigma0
    require (sigma0 > 0.0) "--sigma" "> 0" sigma0
    let dtype = a.TryGetResult Dtype |> Option.map (choice "--dtype" [ "float32", DType.Float32; "float64", DType.Float64 ]) |> Option.defaultValue d.DType
    let reportEvery = integerOr (a.TryGetResult Report_Every) "--report-every" d.ReportEvery
    require (reportEvery > 0) "--report-every" "> 0" reportEvery
    let settings =
        { Components = components
          GridMin = gridMin
          GridMax = gridMax
          GridSize = gridSize
          Loss = loss
          Reduction = reduction
          Optimizer = optimizer
          Steps = steps
          Mu0 = mu0
          Sigma0 = sigma0
          DType = dtype
          Seed = integerOr (a.TryGetResult Seed) "--seed" d.Seed
          RandomStart = a.Contains Random_Start
          ReportEvery = reportEvery }
    checkRanges settings
    settings, compare

/// The validated settings of `kl`.
let kl (a: ParseResults<KlArgs>) =
    let p =
        match a.TryGetResult P, a.TryGetResult P_File with
        | Some _, Some _ -> fail "--p and --p-file cannot be combined"
        | Some text, None -> Some(numberList "--p" text)
        | None, Some path -> Some(numberFile "--p-file" path)
        | None, None -> None
    // The Q in command-line order, inline lists and files mixed.
    let qs =
        a.GetAllResults()
        |> List.choose (function
            | Q text -> Some(numberList "--q" text)
            | Q_File path -> Some(numberFile "--q-file" path)
            | _ -> None)
    let p, qs =
        match p, qs with
        | None, [] -> KlComparison.defaultP, KlComparison.defaultQs
        | Some p, (_ :: _ as qs) -> p, qs
        | Some _, [] -> fail "--q: give at least one Q (--q or --q-file) to compare with P"
        | None, _ -> fail "--p: give P (--p or --p-file) to compare the Q with"
    let settings = { P = p; Qs = qs; FromLogits = a.Contains From_Logits }
    KlComparison.validate settings
    settings
