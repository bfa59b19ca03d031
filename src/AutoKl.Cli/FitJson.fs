/// The --json document of `autokl fit`: the settings, every reported row and the final values,
/// of one fit or of each loss of --compare.
module AutoKl.Cli.FitJson

open System.Text.Json
open AutoKl.Cli.Experiment
open AutoKl.Cli.OutputFormat

let private writeSettings (w: Utf8JsonWriter) (s: FitSettings) (mu0: float, sigma0: float) =
    w.WriteStartObject "settings"
    w.WriteStartArray "target"
    for c in s.Components do
        w.WriteStartObject()
        jsonNumber w "mu" c.Mu
        jsonNumber w "sigma" c.Sigma
        jsonNumber w "weight" c.Weight
        w.WriteEndObject()
    w.WriteEndArray()
    w.WriteStartObject "grid"
    jsonNumber w "min" s.GridMin
    jsonNumber w "max" s.GridMax
    w.WriteNumber("size", s.GridSize)
    w.WriteEndObject()
    w.WriteString("loss", LossKind.name s.Loss)
    w.WriteString("reduction", ReductionKind.name s.Reduction)
    let o = s.Optimizer
    w.WriteStartObject "optimizer"
    w.WriteString("name", OptimizerKind.name o.Kind)
    jsonNumber w "lr" o.Lr
    match o.Kind with
    | AdamOptimizer | AdamWOptimizer ->
        jsonNumber w "beta1" o.Beta1
        jsonNumber w "beta2" o.Beta2
        jsonNumber w "eps" o.Eps
        w.WriteString("eps_placement", EpsPlacementKind.name o.EpsPlacement)
        jsonNumber w "weight_decay" o.WeightDecay
        w.WriteBoolean("amsgrad", o.Amsgrad)
    | SgdOptimizer ->
        jsonNumber w "momentum" o.Momentum
        jsonNumber w "dampening" o.Dampening
        w.WriteBoolean("nesterov", o.Nesterov)
        jsonNumber w "weight_decay" o.WeightDecay
    w.WriteBoolean("maximize", o.Maximize)
    w.WriteEndObject()
    w.WriteNumber("steps", s.Steps)
    jsonNumber w "mu0" mu0
    jsonNumber w "sigma0" sigma0
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
        jsonNumber w "loss" row.Loss
        jsonNumber w "mu" row.Mu
        jsonNumber w "sigma" row.Sigma
        w.WriteEndObject()
    w.WriteEndArray()
    w.WriteStartObject "final"
    jsonNumber w "mu" result.FinalMu
    jsonNumber w "sigma" result.FinalSigma
    jsonNumber w "loss" result.FinalLoss
    w.WriteEndObject()
    jsonNumber w "compute_seconds" result.ComputeSeconds
    jsonNumber w "cpu_seconds" result.CpuSeconds
    jsonNumber w "steps_per_second" (float result.Settings.Steps / max result.ComputeSeconds 1e-9)

/// The --json document of one fit.
let ofRun (result: FitResult) (start: float * float) (wallSeconds: float) =
    jsonDocument (fun w ->
        w.WriteString("command", "fit")
        writeSettings w result.Settings start
        writeRun w result
        jsonNumber w "wall_seconds" wallSeconds)

/// The --json document of a --compare run: the shared settings and one run per loss.
let ofComparison (results: FitResult list) (start: float * float) (wallSeconds: float) =
    jsonDocument (fun w ->
        w.WriteString("command", "fit")
        writeSettings w (List.head results).Settings start
        w.WriteStartArray "runs"
        for result in results do
            w.WriteStartObject()
            w.WriteString("loss", LossKind.name result.Settings.Loss)
            writeRun w result
            w.WriteEndObject()
        w.WriteEndArray()
        jsonNumber w "wall_seconds" wallSeconds)
