/// What the commands print and write: the fit table, the kl report, JSON documents, CSV rows
/// and the pictures for --out (drawn by AutoKl.Plots).
module AutoKl.Cli.Report

open System
open System.Globalization
open System.IO
open System.Text
open System.Text.Json
open AutoKl
open AutoKl.Plots
open AutoKl.Cli.Experiment
open AutoKl.Cli.KlReport

let private inv = CultureInfo.InvariantCulture

/// A number as JSON/CSV text: shortest round-trip form.
let private r (v: float) = v.ToString("R", inv)

let dtypeName (d: DType) = if d = DType.Float64 then "float64" else "float32"

// ---- fit: text --------------------------------------------------------------------------

/// The column titles of the table.
let tableHeading = sprintf "%8s  %14s  %12s  %12s" "step" "loss" "mu" "sigma"

/// The lines printed before the table.
let fitHeader (s: FitSettings) (mu0: float, sigma0: float) =
    [ sprintf "Fitting Q = Normal(mu, sigma) to p(x) = %s on %d points in [%g, %g]"
          (FitSettings.describeTarget s) s.GridSize s.GridMin s.GridMax
      sprintf "loss: %s" (FitSettings.describeLoss s)
      sprintf "optimizer: %s" (FitSettings.describeOptimizer s)
      sprintf "%d steps in %s from mu = %g, sigma = %g%s" s.Steps (dtypeName s.DType) mu0 sigma0
          (if s.RandomStart then sprintf " (random start, seed %d)" s.Seed else "")
      ""
      tableHeading ]

/// One table row: loss before the step's update, mu and sigma after it.
let tableRow (row: Row) = sprintf "%8d  %14.8g  %12.6f  %12.6f" row.Step row.Loss row.Mu row.Sigma

/// The closing lines: final values and speed.
let fitFooter (result: FitResult) =
    let steps = result.Settings.Steps
    [ ""
      sprintf "final: mu = %.6f, sigma = %.6f, loss = %.8g" result.FinalMu result.FinalSigma result.FinalLoss
      sprintf "%d steps in %.3f s (%.0f steps/s; %.3f s of processor time)" steps result.ComputeSeconds
          (float steps / max result.ComputeSeconds 1e-9) result.CpuSeconds ]

/// The one line --quiet prints.
let fitQuiet (result: FitResult) =
    sprintf "final: mu = %.6f, sigma = %.6f, loss = %.8g" result.FinalMu result.FinalSigma result.FinalLoss

/// The summary of a --compare run: one line per loss.
let compareTable (results: FitResult list) =
    [ yield ""
      yield sprintf "%-12s  %12s  %12s  %14s  %9s" "loss" "final mu" "final sigma" "final loss" "seconds"
      for result in results do
          yield sprintf "%-12s  %12.6f  %12.6f  %14.8g  %9.3f" (LossKind.name result.Settings.Loss)
                    result.FinalMu result.FinalSigma result.FinalLoss result.ComputeSeconds ]

// ---- fit: JSON and CSV ------------------------------------------------------------------

let private number (w: Utf8JsonWriter) (name: string) (v: float) =
    if Double.IsFinite v then w.WriteNumber(name, v) else w.WriteNull(name)

let private writeSettings (w: Utf8JsonWriter) (s: FitSettings) (mu0: float, sigma0: float) =
    w.WriteStartObject "settings"
    w.WriteStartArray "target"
    for c in s.Components do
        w.WriteStartObject()
        number w "mu" c.Mu
        number w "sigma" c.Sigma
        number w "weight" c.Weight
        w.WriteEndObject()
    w.WriteEndArray()
    w.WriteStartObject "grid"
    number w "min" s.GridMin
    number w "max" s.GridMax
    w.WriteNumber("size", s.GridSize)
    w.WriteEndObject()
    w.WriteString("loss", LossKind.name s.Loss)
    w.WriteString("reduction", ReductionKind.name s.Reduction)
    let o = s.Optimizer
    w.WriteStartObject "optimizer"
    w.WriteString("name", OptimizerKind.name o.Kind)
    number w "lr" o.Lr
    match o.Kind with
    | AdamOptimizer | AdamWOptimizer ->
        number w "beta1" o.Beta1
        number w "beta2" o.Beta2
        number w "eps" o.Eps
        w.WriteString("eps_placement", EpsPlacementKind.name o.EpsPlacement)
        number w "weight_decay" o.WeightDecay
        w.WriteBoolean("amsgrad", o.Amsgrad)
    | SgdOptimizer ->
        number w "momentum" o.Momentum
        number w "dampening" o.Dampening
        w.WriteBoolean("nesterov", o.Nesterov)
        number w "weight_decay" o.WeightDecay
    w.WriteBoolean("maximize", o.Maximize)
    w.WriteEndObject()
    w.WriteNumber("steps", s.Steps)
    number w "mu0" mu0
    number w "sigma0" sigma0
    w.WriteString("dtype", dtypeName s.DType)
    w.WriteNumber("seed", s.Seed)
    w.WriteBoolean("random_start", s.RandomStart)
    w.WriteNumber("report_every", s.ReportEvery)
    w.WriteEndObject()

let private writeRun (w: Utf8JsonWriter) (result: FitResult) =
    w.WriteStartArray "rows"
    for row in result.Rows do
        w.WriteStartObject()
        w.WriteNumber("step", row.Step)
        number w "loss" row.Loss
        number w "mu" row.Mu
        number w "sigma" row.Sigma
        w.WriteEndObject()
    w.WriteEndArray()
    w.WriteStartObject "final"
    number w "mu" result.FinalMu
    number w "sigma" result.FinalSigma
    number w "loss" result.FinalLoss
    w.WriteEndObject()
    number w "compute_seconds" result.ComputeSeconds
    number w "cpu_seconds" result.CpuSeconds
    number w "steps_per_second" (float result.Settings.Steps / max result.ComputeSeconds 1e-9)

let private document (build: Utf8JsonWriter -> unit) =
    use stream = new MemoryStream()
    // Relaxed escaping keeps "reduction='sum'" readable (no \u0027); the output is not HTML.
    (use w = new Utf8JsonWriter(stream, JsonWriterOptions(Indented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
     w.WriteStartObject()
     build w
     w.WriteEndObject())
    Encoding.UTF8.GetString(stream.ToArray())

/// The --json document of one fit.
let fitJson (result: FitResult) (start: float * float) (wallSeconds: float) =
    document (fun w ->
        w.WriteString("command", "fit")
        writeSettings w result.Settings start
        writeRun w result
        number w "wall_seconds" wallSeconds)

/// The --json document of a --compare run: the shared settings and one run per loss.
let compareJson (results: FitResult list) (start: float * float) (wallSeconds: float) =
    document (fun w ->
        w.WriteString("command", "fit")
        writeSettings w (List.head results).Settings start
        w.WriteStartArray "runs"
        for result in results do
            w.WriteStartObject()
            w.WriteString("loss", LossKind.name result.Settings.Loss)
            writeRun w result
            w.WriteEndObject()
        w.WriteEndArray()
        number w "wall_seconds" wallSeconds)

/// The table rows as CSV.
let rowsCsv (result: FitResult) =
    let sb = StringBuilder("step,loss,mu,sigma\n")
    for row in result.Rows do
        sb.Append(row.Step).Append(',').Append(r row.Loss).Append(',').Append(r row.Mu).Append(',').Append(r row.Sigma).Append('\n') |> ignore
    sb.ToString()

// ---- fit: pictures ------------------------------------------------------------------------

let private utf8 (text: string) = Encoding.UTF8.GetBytes text

/// A fit's numbers as the pictures take them (they were all captured during the fit; drawing
/// happens afterwards and adds nothing to the fit's time).
let fitRun (result: FitResult) : FitRun =
    { Loss = LossKind.name result.Settings.Loss
      Grid = result.Grid
      Target = result.Target
      Losses = result.Losses
      Mus = result.Mus
      Sigmas = result.Sigmas
      FinalLoss = result.FinalLoss }

/// One chart as a file per chosen format: NAME.png and/or NAME.svg.
let private pictures (formats: PictureFormat list) (name: string) (chart: Chart) =
    formats |> List.map (fun format -> sprintf "%s.%s" name format.Extension, Chart.render format (Chart.sizeOf chart) chart)

/// Number of frames in the animation.
let animationFrames = 100

/// The files --out writes for one fit: name and content. The animation is a GIF whatever the
/// format (ScottPlot writes no animation; a GIF plays wherever a picture can be pasted).
let fitFiles (formats: PictureFormat list) (result: FitResult) =
    let run = fitRun result
    [ yield! pictures formats "loss" (FitPictures.loss run)
      yield! pictures formats "trajectory" (FitPictures.trajectory run)
      yield! pictures formats "final" (FitPictures.final run)
      yield "animation.gif", Animation.gif Animation.size (FitPictures.animation run animationFrames)
      yield "rows.csv", utf8 (rowsCsv result) ]

/// The files --out writes for --compare: the final Q of every loss over the target, all loss
/// curves in one chart, a CSV of the final values, and each run's rows.
let compareFiles (formats: PictureFormat list) (results: FitResult list) =
    let runs = results |> List.map fitRun
    let csv = StringBuilder("loss,mu,sigma,final_loss\n")
    for result in results do
        csv.Append(LossKind.name result.Settings.Loss).Append(',').Append(r result.FinalMu).Append(',')
           .Append(r result.FinalSigma).Append(',').Append(r result.FinalLoss).Append('\n') |> ignore
    [ yield! pictures formats "compare" (FitPictures.compare runs)
      yield! pictures formats "compare-loss" (FitPictures.compareLosses runs)
      yield "compare.csv", utf8 (csv.ToString())
      for result in results -> sprintf "rows-%s.csv" (LossKind.name result.Settings.Loss), utf8 (rowsCsv result) ]

// ---- kl ---------------------------------------------------------------------------------

/// A value for the text report: fixed decimals, or inf / -inf / nan.
let private value (v: float) =
    if Double.IsFinite v then v.ToString("0.000000", inv)
    elif Double.IsNaN v then "nan"
    elif v > 0.0 then "inf"
    else "-inf"

let private list (values: float[]) =
    "[" + (values |> Array.map (fun v -> if Double.IsFinite v then v.ToString("0.######", inv) else value v) |> String.concat ", ") + "]"

/// The text report of `autokl kl`.
let klText (result: KlResult) =
    let lines = ResizeArray<string>()
    if result.FromLogits then
        lines.Add(sprintf "P = softmax(%s) = %s" (list result.PGiven) (list result.P))
    else lines.Add(sprintf "P = %s" (list result.P))
    result.Comparisons
    |> List.iteri (fun i c ->
        let qName = if result.Comparisons.Length > 1 then sprintf "Q%d" (i + 1) else "Q"
        lines.Add ""
        if result.FromLogits then lines.Add(sprintf "%s = softmax(%s) = %s" qName (list c.QGiven) (list c.Q))
        else lines.Add(sprintf "%s = %s" qName (list c.Q))
        lines.Add(sprintf "  KL(P||%s) = %s  nats lost when %s stands in for P: sum p log(p/q)" qName (value c.KlPQ) qName)
        lines.Add(sprintf "  KL(%s||P) = %s  the other direction; KL is not symmetric" qName (value c.KlQP))
        lines.Add(sprintf "  JS(P,%s)  = %s  Jensen-Shannon: symmetric, at most log 2 = 0.693147" qName (value c.Js))
        lines.Add(sprintf "  terms p*(log p - log q) = %s  (PyTorch reduction='none')" (list c.Terms))
        if Double.IsPositiveInfinity c.KlPQ then
            lines.Add(sprintf "  note: %s is 0 where P is positive, so KL(P||%s) is infinite (Divergences.KL with an epsilon smooths Q)" qName qName)
        lines.Add ""
        lines.Add "  What each convention returns:"
        let width = c.Conventions |> List.map (fun k -> k.Call.Length) |> List.max
        for k in c.Conventions do
            lines.Add(sprintf "  %-7s  %s  %10s  %s" k.Library (k.Call.PadRight width) (value k.Value) k.Explanation))
    lines |> List.ofSeq

/// The --json document of `autokl kl`.
let klJson (result: KlResult) =
    let array (w: Utf8JsonWriter) (name: string) (values: float[]) =
        w.WriteStartArray name
        for v in values do (if Double.IsFinite v then w.WriteNumberValue v else w.WriteNullValue())
        w.WriteEndArray()
    document (fun w ->
        w.WriteString("command", "kl")
        w.WriteBoolean("from_logits", result.FromLogits)
        array w "p" result.P
        w.WriteStartArray "comparisons"
        for c in result.Comparisons do
            w.WriteStartObject()
            array w "q" c.Q
            number w "kl_pq" c.KlPQ
            number w "kl_qp" c.KlQP
            number w "js" c.Js
            array w "terms" c.Terms
            w.WriteStartArray "conventions"
            for k in c.Conventions do
                w.WriteStartObject()
                w.WriteString("library", k.Library)
                w.WriteString("call", k.Call)
                number w "value" k.Value
                w.WriteString("explanation", k.Explanation)
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteEndObject()
        w.WriteEndArray())

/// The files --out writes for `autokl kl`: the tutorial's bar charts (P and each Q by category,
/// the per-category KL terms, the value each convention returns) and the values as CSV.
let klFiles (formats: PictureFormat list) (result: KlResult) =
    let qName i = if result.Comparisons.Length > 1 then sprintf "Q%d" (i + 1) else "Q"
    let named = result.Comparisons |> List.mapi (fun i c -> qName i, c)
    let distributions = KlPictures.distributions result.P (named |> List.map (fun (name, c) -> name, c.Q))
    let terms = KlPictures.terms result.P.Length (named |> List.map (fun (name, c) -> name, c.Terms))
    let rows =
        Array.append [| "KL(P||Q), textbook"; "KL(Q||P), reverse"; "JS(P,Q)" |]
            (result.Comparisons.Head.Conventions |> List.map (fun k -> k.Short) |> Array.ofList)
    let conventions =
        KlPictures.conventions rows
            (named
             |> List.map (fun (name, c) ->
                 name, Array.append [| c.KlPQ; c.KlQP; c.Js |] (c.Conventions |> List.map (fun k -> k.Value) |> Array.ofList)))
    let csv = StringBuilder("q,quantity,value\n")
    result.Comparisons
    |> List.iteri (fun i c ->
        let add (name: string) (v: float) =
            csv.Append(qName i).Append(",\"").Append(name.Replace("\"", "\"\"")).Append("\",").Append(r v).Append('\n') |> ignore
        add "KL(P||Q)" c.KlPQ
        add "KL(Q||P)" c.KlQP
        add "JS(P,Q)" c.Js
        for k in c.Conventions do add (k.Library + " " + k.Call) k.Value)
    [ yield! pictures formats "distributions" distributions
      yield! pictures formats "terms" terms
      yield! pictures formats "conventions" conventions
      yield "kl.csv", utf8 (csv.ToString()) ]
