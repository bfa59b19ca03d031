/// The files --out writes for `autokl fit`: the charts (drawn by AutoKl.Plots), the animation
/// and the rows as CSV, for one fit or for --compare.
module AutoKl.Cli.FitFiles

open System.Text
open AutoKl.Plots
open AutoKl.Cli.Experiment
open AutoKl.Cli.OutputFormat

/// The table rows as CSV.
let rowsCsv (result: FitResult) =
    let sb = StringBuilder("step,loss,mu,sigma\n")
    for row in result.Rows do
        sb.Append(row.Step).Append(',').Append(roundTrip row.Loss).Append(',').Append(roundTrip row.Mu).Append(',').Append(roundTrip row.Sigma).Append('\n') |> ignore
    sb.ToString()

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

/// Number of frames in the animation.
let animationFrames = 100

/// The files --out writes for one fit: name and content. The animation is a GIF whatever the
/// format (ScottPlot writes no animation; a GIF plays wherever a picture can be pasted).
let ofRun (formats: PictureFormat list) (result: FitResult) =
    let run = fitRun result
    [ yield! pictures formats "loss" (FitPictures.loss run)
      yield! pictures formats "trajectory" (FitPictures.trajectory run)
      yield! pictures formats "final" (FitPictures.final run)
      yield "animation.gif", Animation.gif Animation.size (FitPictures.animation run animationFrames)
      yield "rows.csv", utf8 (rowsCsv result) ]

/// The files --out writes for --compare: the final Q of every loss over the target, all loss
/// curves in one chart, a CSV of the final values, and each run's rows.
let ofComparison (formats: PictureFormat list) (results: FitResult list) =
    let runs = results |> List.map fitRun
    let csv = StringBuilder("loss,mu,sigma,final_loss\n")
    for result in results do
        csv.Append(LossKind.name result.Settings.Loss).Append(',').Append(roundTrip result.FinalMu).Append(',')
           .Append(roundTrip result.FinalSigma).Append(',').Append(roundTrip result.FinalLoss).Append('\n') |> ignore
    [ yield! pictures formats "compare" (FitPictures.compare runs)
      yield! pictures formats "compare-loss" (FitPictures.compareLosses runs)
      yield "compare.csv", utf8 (csv.ToString())
      for result in results -> sprintf "rows-%s.csv" (LossKind.name result.Settings.Loss), utf8 (rowsCsv result) ]
