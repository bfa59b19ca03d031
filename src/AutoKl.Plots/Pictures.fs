/// The pictures of the reference experiments, from plain numbers: the ones `autokl fit` and
/// `autokl kl` write, and the documentation site shows.
namespace AutoKl.Plots

open System

/// One fit's numbers, as the pictures need them.
type FitRun =
    { /// The loss's name ("kl", "mse", ...).
      Loss: string
      /// The grid x and the target p(x) on it.
      Grid: float[]
      /// The target p(x) on the grid.
      Target: float[]
      /// The loss before each update (index k: before update k + 1, i.e. at the parameters after k updates).
      Losses: float[]
      /// mu and sigma before the first update (index 0) and after each update k (index k).
      Mus: float[]
      /// sigma, indexed as mu is.
      Sigmas: float[]
      /// The loss at the final parameters.
      FinalLoss: float }

    /// The loss at the parameters after `step` updates.
    member r.LossAt(step: int) = if step < r.Losses.Length then r.Losses[step] else r.FinalLoss
    /// The last mu.
    member r.FinalMu = r.Mus[r.Mus.Length - 1]
    /// The last sigma.
    member r.FinalSigma = r.Sigmas[r.Sigmas.Length - 1]

/// The pictures of `autokl fit`.
module FitPictures =
    /// The density of Normal(mu, sigma) at each x (float64: pictures only).
    let normal (grid: float[]) (mu: float) (sigma: float) =
        let c = 1.0 / (sigma * sqrt (2.0 * Math.PI))
        grid |> Array.map (fun x -> let z = (x - mu) / sigma in c * exp (-0.5 * z * z))

    /// A log scale helps when the values are all positive and span two decades or more.
    let logScaleHelps (values: float[]) =
        let finite = values |> Array.filter Double.IsFinite
        finite.Length > 1
        && Array.forall (fun v -> v > 0.0) finite
        && Array.max finite / Array.min finite >= 100.0

    let private targetCurve (grid: float[]) (target: float[]) =
        { Chart.curve "target p(x)" "#000000" grid target with Dashed = true; Width = 2.5 }

    /// The loss before each step (log scale where it helps).
    let loss (run: FitRun) =
        let steps = Array.init run.Losses.Length (fun k -> float (k + 1))
        Lines
            { Chart.lines (sprintf "Loss (%s) before each step" run.Loss) "step" "loss" with
                Curves = [ Chart.curve run.Loss Chart.palette[0] steps run.Losses ]
                LogY = logScaleHelps run.Losses }

    /// mu and sigma after each step.
    let trajectory (run: FitRun) =
        let steps = Array.init run.Mus.Length float
        Lines
            { Chart.lines (sprintf "Trajectory of μ and σ (%s)" run.Loss) "step" "value" with
                Curves = [ Chart.curve "μ" Chart.palette[0] steps run.Mus; Chart.curve "σ" Chart.palette[1] steps run.Sigmas ] }

    /// The final Q over the target.
    let final (run: FitRun) =
        let mu, sigma = run.FinalMu, run.FinalSigma
        Lines
            { Chart.lines (sprintf "Final Q over the target (%s)" run.Loss) "x" "density" with
                Curves =
                    [ targetCurve run.Grid run.Target
                      Chart.curve (sprintf "q(x) = N(%.3f, %.3f)" mu sigma) Chart.palette[1] run.Grid (normal run.Grid mu sigma) ]
                YFromZero = true }

    /// The steps an animation of `frames` frames shows: evenly spaced from 0 to the last step.
    let frameSteps (steps: int) (frames: int) =
        let frames = max 2 frames
        [ for k in 0 .. frames - 1 -> int (round (float k * float steps / float (frames - 1))) ] |> List.distinct

    /// Q approaching the target: one chart per frame (same axes throughout) with the step, the
    /// loss, mu and sigma in the corner, and each frame's delay in hundredths of a second (the
    /// first and last frames are held longer).
    let animation (run: FitRun) (frames: int) =
        let steps = run.Losses.Length
        let shown = frameSteps steps frames
        // The axes fit every frame: the target and the tallest Q (the narrowest sigma).
        let peak = shown |> List.map (fun s -> 1.0 / (run.Sigmas[s] * sqrt (2.0 * Math.PI))) |> List.max
        let top = 1.08 * max peak (Array.max run.Target)
        // 500 points draw the same curves at this size, in two thirds of the time.
        let every = max 1 ((run.Grid.Length + 499) / 500)
        let pick (values: float[]) = [| for i in 0 .. every .. values.Length - 1 -> values[i] |]
        let grid = pick run.Grid
        let target = targetCurve grid (pick run.Target)
        let last = List.length shown - 1
        shown
        |> List.mapi (fun i step ->
            let mu, sigma = run.Mus[step], run.Sigmas[step]
            let chart =
                Lines
                    { Chart.lines (sprintf "Q approaching the target (%s)" run.Loss) "x" "density" with
                        Curves = [ target; { Chart.curve "q(x)" Chart.palette[1] grid (normal grid mu sigma) with Width = 2.5 } ]
                        XLimits = Some(run.Grid[0], run.Grid[run.Grid.Length - 1])
                        YLimits = Some(0.0, top)
                        Note = Some(sprintf "step %d of %d\nloss %s\nμ = %.3f, σ = %.3f" step steps (Chart.label (run.LossAt step)) mu sigma) }
            let delay = if i = last then 200 elif i = 0 then 60 else 8
            chart, delay)

    /// The final Q of several losses (fitted from the same start) over the target. Losses often
    /// agree (several lock onto the same mode): a curve that a later one covers is drawn wider,
    /// under it, so curves that coincide show as nested stripes instead of hiding each other.
    let compare (runs: FitRun list) =
        let first = List.head runs
        let runsArray = Array.ofList runs
        let coincide (a: FitRun) (b: FitRun) =
            abs (a.FinalMu - b.FinalMu) < 0.02 * a.FinalSigma && abs (a.FinalSigma - b.FinalSigma) < 0.02 * a.FinalSigma
        let coveredBy k = runsArray[k + 1 ..] |> Array.filter (coincide runsArray[k]) |> Array.length
        Lines
            { Chart.lines "Final Q of each loss over the target" "x" "density" with
                Curves =
                    targetCurve first.Grid first.Target
                    :: (runs
                        |> List.mapi (fun k run ->
                            { Chart.curve (sprintf "%s: N(%.2f, %.2f)" run.Loss run.FinalMu run.FinalSigma)
                                  Chart.palette[k % (Chart.palette.Length - 1)] run.Grid (normal run.Grid run.FinalMu run.FinalSigma) with
                                Width = 2.0 + 2.0 * float (coveredBy k) }))
                YFromZero = true }

    /// The loss curves of several losses in one chart. Their scales differ by orders of
    /// magnitude (and cosine's is negative), so each is drawn as the share of its own change
    /// still to come: 1 at the first step, 0 at the final parameters. The legend gives the
    /// first and final values.
    let compareLosses (runs: FitRun list) =
        let curve k (run: FitRun) =
            let first = run.Losses[0]
            let span = first - run.FinalLoss
            let scaled = run.Losses |> Array.map (fun v -> if span = 0.0 then 0.0 else (v - run.FinalLoss) / span)
            let steps = Array.init run.Losses.Length (fun s -> float (s + 1))
            Chart.curve (sprintf "%s: %s → %s" run.Loss (Chart.label first) (Chart.label run.FinalLoss))
                Chart.palette[k % (Chart.palette.Length - 1)] steps scaled
        Lines
            { Chart.lines "Loss curves of each loss, scaled to their own range" "step" "(loss − final) / (first − final)" with
                Curves = runs |> List.mapi curve }

/// The pictures of `autokl kl` (the bar charts of the Gluon KLDivLoss tutorial).
module KlPictures =
    /// Category names 1..n.
    let categories (n: int) = Array.init n (fun i -> string (i + 1))

    /// P and each Q by category.
    let distributions (p: float[]) (qs: (string * float[]) list) =
        Bars
            { Title = "P and Q by category"; XLabel = "category"; YLabel = "probability"
              Categories = categories p.Length
              Series = { Name = "P"; Values = p } :: (qs |> List.map (fun (name, q) -> { Name = name; Values = q }))
              Horizontal = false; ValueLabels = false }

    /// The per-category terms p_i (log p_i − log q_i) of KL(P||Q) for each Q (they sum to KL).
    let terms (categoryCount: int) (terms: (string * float[]) list) =
        Bars
            { Title = "Per-category KL terms p·(log p − log q)"; XLabel = "category"; YLabel = "nats"
              Categories = categories categoryCount
              Series = terms |> List.map (fun (name, t) -> { Name = name; Values = t })
              Horizontal = false; ValueLabels = false }

    /// The value each convention returns: one row per convention (short names), one bar per Q.
    /// Infinite and NaN values draw no bar; their row's name says "inf" or "nan".
    let conventions (rows: string[]) (values: (string * float[]) list) =
        let rows =
            rows
            |> Array.mapi (fun i row ->
                let at = values |> List.map (fun (_, v) -> v[i])
                if at |> List.exists Double.IsNaN then row + " (nan)"
                elif at |> List.exists Double.IsInfinity then row + " (inf)"
                else row)
        Bars
            { Title = "What each convention returns"; XLabel = "nats"; YLabel = ""
              Categories = rows
              Series = values |> List.map (fun (name, v) -> { Name = name; Values = v })
              Horizontal = true; ValueLabels = true }
