/// The text `autokl fit` prints: the lines before the table, its rows, the closing lines, the
/// --quiet line and the summary of --compare.
module AutoKl.Cli.FitText

open AutoKl.Cli.Experiment
open AutoKl.Cli.OutputFormat

/// The column titles of the table.
let tableHeading = sprintf "%8s  %14s  %12s  %12s" "step" "loss" "mu" "sigma"

/// The lines printed before the table.
let header (s: FitSettings) (mu0: float, sigma0: float) =
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
let footer (result: FitResult) =
    let steps = result.Settings.Steps
    [ ""
      sprintf "final: mu = %.6f, sigma = %.6f, loss = %.8g" result.FinalMu result.FinalSigma result.FinalLoss
      sprintf "%d steps in %.3f s (%.0f steps/s; %.3f s of processor time)" steps result.ComputeSeconds
          (float steps / max result.ComputeSeconds 1e-9) result.CpuSeconds ]

/// The one line --quiet prints.
let quiet (result: FitResult) =
    sprintf "final: mu = %.6f, sigma = %.6f, loss = %.8g" result.FinalMu result.FinalSigma result.FinalLoss

/// The summary of a --compare run: one line per loss.
let compareTable (results: FitResult list) =
    [ yield ""
      yield sprintf "%-12s  %12s  %12s  %14s  %9s" "loss" "final mu" "final sigma" "final loss" "seconds"
      for result in results do
          yield sprintf "%-12s  %12.6f  %12.6f  %14.8g  %9.3f" (LossKind.name result.Settings.Loss)
                    result.FinalMu result.FinalSigma result.FinalLoss result.ComputeSeconds ]
