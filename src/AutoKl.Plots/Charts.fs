namespace AutoKl.Plots

open System
open System.Globalization
open ScottPlot
open SixLabors.ImageSharp
open SixLabors.ImageSharp.PixelFormats
open SkiaSharp

/// <summary>One curve of a line chart.</summary>
/// <namespacedoc>
///   <summary>The pictures of `autokl --out` and of the guides, drawn with ScottPlot from plain
///   numbers: line and bar charts to PNG or SVG, and the fit's GIF animation. Only the command-line
///   tool and the documentation use it; the engine never references a plotting package.</summary>
/// </namespacedoc>
type Curve =
    { /// The legend entry (empty: no entry).
      Name: string
      /// The x coordinates of the points.
      Xs: float[]
      /// The y coordinates of the points (non-finite ones break the line).
      Ys: float[]
      /// "#RRGGBB".
      Color: string
      /// Drawn dashed (a second curve that may lie on top of another stays visible).
      Dashed: bool
      /// Line width in pixels.
      Width: float }

/// A line chart: curves over shared axes, the legend below.
type LineChart =
    { /// The title above the chart.
      Title: string
      /// The x axis label.
      XLabel: string
      /// The y axis label.
      YLabel: string
      /// The curves, drawn in order (later ones on top).
      Curves: Curve list
      /// Log-10 y axis (points with y <= 0 are left out).
      LogY: bool
      /// The y axis starts at 0 (densities, probabilities).
      YFromZero: bool
      /// Fixed axis ranges (e.g. the same for every frame of an animation); None: fitted to the data.
      XLimits: (float * float) option
      /// Fixed y range (lower, upper); None: fitted to the data.
      YLimits: (float * float) option
      /// A line or two of text in the upper-left corner of the data area.
      Note: string option }

/// One series of a bar chart: a value per category (non-finite values draw no bar).
type BarSeries =
    { /// The legend entry.
      Name: string
      /// One value per category, in the chart's category order.
      Values: float[] }

/// A grouped bar chart: one group per category, one bar per series in each group.
type BarChart =
    { /// The title above the chart.
      Title: string
      /// The label of the category axis.
      XLabel: string
      /// The label of the value axis.
      YLabel: string
      /// The category names, one group of bars each.
      Categories: string[]
      /// The series, one bar per category each.
      Series: BarSeries list
      /// Bars along x with the categories down the y axis (for long category names).
      Horizontal: bool
      /// Each bar carries its value as text.
      ValueLabels: bool }

/// A picture to draw.
type Chart =
    /// A line chart.
    | Lines of LineChart
    /// A grouped bar chart.
    | Bars of BarChart

/// The still formats: PNG (raster) or SVG (ScottPlot's vector export).
type PictureFormat =
    /// PNG, a raster picture (what slides and READMEs take).
    | Png
    /// SVG, through ScottPlot's vector export.
    | Svg

    /// The file extension, without the dot.
    member f.Extension = match f with Png -> "png" | Svg -> "svg"

/// Drawing charts with ScottPlot.
module Chart =
    /// Colours that stay distinguishable for colour-blind readers (Okabe-Ito), black last.
    let palette = [| "#0072B2"; "#D55E00"; "#009E73"; "#CC79A7"; "#E69F00"; "#56B4E9"; "#000000" |]

    /// The default picture size in pixels.
    let size = 800, 480

    /// A line chart with no curves yet, linear axes fitted to the data.
    let lines (title: string) (xLabel: string) (yLabel: string) : LineChart =
        { Title = title; XLabel = xLabel; YLabel = yLabel; Curves = []; LogY = false; YFromZero = false
          XLimits = None; YLimits = None; Note = None }

    /// A solid curve of width 2.
    let curve (name: string) (color: string) (xs: float[]) (ys: float[]) : Curve =
        { Name = name; Xs = xs; Ys = ys; Color = color; Dashed = false; Width = 2.0 }

    /// A number for a value label or tick: few digits, no trailing zeros.
    let label (v: float) =
        if v = 0.0 then "0"
        elif abs v >= 1e5 || abs v < 1e-3 then v.ToString("0.###E+0", CultureInfo.InvariantCulture)
        else v.ToString("0.####", CultureInfo.InvariantCulture)

    let private color (hex: string) = Color.FromHex hex

    /// At most `limit` points, evenly picked with the first and last kept (a 10000-step curve
    /// draws the same at 2000 points and keeps an SVG small).
    let private thin (limit: int) (xs: float[]) (ys: float[]) =
        if xs.Length <= limit then xs, ys
        else
            let idx = Array.init limit (fun k -> int (round (float k * float (xs.Length - 1) / float (limit - 1))))
            Array.map (fun i -> xs[i]) idx, Array.map (fun i -> ys[i]) idx

    let private newPlot (title: string) (xLabel: string) (yLabel: string) =
        Fonts.register ()
        let plot = new Plot()
        plot.Font.Set Fonts.Family |> ignore
        plot.Title(title, Nullable 18.0f)
        plot.XLabel(xLabel, Nullable 15.0f)
        plot.YLabel(yLabel, Nullable 15.0f)
        plot

    /// The legend in one row under the chart, where it covers no data.
    let private legendBelow (plot: Plot) =
        plot.ShowLegend(Edge.Bottom) |> ignore
        plot.Legend.Orientation <- Orientation.Horizontal
        plot.Legend.FontSize <- Nullable 14.0f
        plot.Legend.FontName <- Fonts.Family
        plot.Legend.OutlineWidth <- 0.0f
        plot.Legend.ShadowColor <- Colors.Transparent
        plot.Legend.Margin <- PixelPadding(0.0f)
        plot.Legend.Padding <- PixelPadding(6.0f)

    let private linePlot (c: LineChart) =
        let plot = newPlot c.Title c.XLabel c.YLabel
        for k in c.Curves do
            let keep i = Double.IsFinite k.Xs[i] && Double.IsFinite k.Ys[i] && (not c.LogY || k.Ys[i] > 0.0)
            let idx = [| 0 .. min k.Xs.Length k.Ys.Length - 1 |] |> Array.filter keep
            let xs = idx |> Array.map (fun i -> k.Xs[i])
            let ys = idx |> Array.map (fun i -> if c.LogY then log10 k.Ys[i] else k.Ys[i])
            let xs, ys = thin 2000 xs ys
            // A curve with no drawable point still gets its legend entry.
            let xs, ys = if xs.Length = 0 then [| nan |], [| nan |] else xs, ys
            let s = plot.Add.ScatterLine(xs, ys, Nullable(color k.Color))
            s.LineWidth <- float32 k.Width
            s.MarkerSize <- 0.0f
            if k.Dashed then s.LinePattern <- LinePattern.Dashed
            if k.Name <> "" then s.LegendText <- k.Name
        if c.LogY then
            // ScottPlot has no log axis: the data are log10(y) and the ticks say 10^tick.
            let ticks = TickGenerators.NumericAutomatic()
            ticks.MinorTickGenerator <- TickGenerators.LogMinorTickGenerator()
            ticks.IntegerTicksOnly <- true
            ticks.LabelFormatter <- fun y -> label (10.0 ** y)
            plot.Axes.Left.TickGenerator <- ticks
        plot.Axes.AutoScale()
        let limits = plot.Axes.GetLimits()
        match c.XLimits with
        | Some(lo, hi) -> plot.Axes.SetLimitsX(lo, hi)
        | None -> ()
        match c.YLimits with
        | Some(lo, hi) -> plot.Axes.SetLimitsY(lo, hi)
        | None when c.YFromZero && not c.LogY -> plot.Axes.SetLimitsY(0.0, max limits.Top 1e-12)
        | None -> ()
        match c.Note with
        | Some text ->
            let note = plot.Add.Annotation(text, Alignment.UpperLeft)
            note.LabelFontSize <- 14.0f
            note.LabelFontName <- Fonts.Family
            note.LabelBackgroundColor <- Colors.White.WithAlpha(0.85)
            note.LabelBorderColor <- Colors.Gray
            note.LabelShadowColor <- Colors.Transparent
        | None -> ()
        if c.Curves |> List.exists (fun k -> k.Name <> "") then legendBelow plot
        plot

    let private barPlot (c: BarChart) =
        let plot = newPlot c.Title c.XLabel c.YLabel
        let n = c.Categories.Length
        let groups = max 1 c.Series.Length
        let groupWidth = 0.8
        let barWidth = groupWidth / float groups
        // Horizontal charts list the first category at the top.
        let position i = if c.Horizontal then float (n - 1 - i) else float i
        c.Series
        |> List.iteri (fun k series ->
            let fill = color palette[k % palette.Length]
            let bars =
                [| for i in 0 .. min n series.Values.Length - 1 do
                     let v = series.Values[i]
                     if Double.IsFinite v then
                         let offset = -groupWidth / 2.0 + barWidth * (float k + 0.5)
                         // Horizontal groups run top to bottom in series order, like the legend.
                         let offset = if c.Horizontal then -offset else offset
                         Bar(Position = position i + offset, Value = v, Size = barWidth * 0.92, FillColor = fill,
                             LineWidth = 0.0f, Orientation = (if c.Horizontal then Orientation.Horizontal else Orientation.Vertical),
                             Label = (if c.ValueLabels then label v else "")) |]
            let plottable = plot.Add.Bars bars
            plottable.LegendText <- series.Name
            plottable.Horizontal <- c.Horizontal
            plottable.ValueLabelStyle.FontSize <- 12.0f
            plottable.ValueLabelStyle.FontName <- Fonts.Family)
        let positions = Array.init n position
        if c.Horizontal then
            plot.Axes.Left.SetTicks(positions, c.Categories)
            plot.Axes.Left.MajorTickStyle.Length <- 0.0f
            plot.Axes.Left.TickLabelStyle.FontSize <- 13.0f
            plot.Add.VerticalLine(0.0, 1.0f, Colors.Black) |> ignore
            plot.Grid.YAxisStyle.IsVisible <- false
        else
            plot.Axes.Bottom.SetTicks(positions, c.Categories)
            plot.Axes.Bottom.MajorTickStyle.Length <- 0.0f
            plot.Axes.Bottom.TickLabelStyle.FontSize <- 13.0f
            plot.Add.HorizontalLine(0.0, 1.0f, Colors.Black) |> ignore
            plot.Grid.XAxisStyle.IsVisible <- false
        plot.Axes.AutoScale()
        // Bars grow from 0: no margin below them (or beside them, lying down) when all are >= 0,
        // and room for the value labels at their ends.
        let values = c.Series |> List.collect (fun s -> List.ofArray s.Values) |> List.filter Double.IsFinite
        let lo = min 0.0 (if values.IsEmpty then 0.0 else List.min values)
        let hi = max 0.0 (if values.IsEmpty then 1.0 else List.max values)
        let span = max (hi - lo) 1e-12
        let pad = if c.ValueLabels then 0.18 else 0.06
        let lo = if lo < 0.0 then lo - pad * span else 0.0
        let hi = if hi > 0.0 then hi + pad * span else 0.0
        // Every category keeps its place, even one whose bars are all missing (infinite values).
        if c.Horizontal then
            plot.Axes.SetLimitsX(lo, hi)
            plot.Axes.SetLimitsY(-0.5, float n - 0.5)
        else
            plot.Axes.SetLimitsY(lo, hi)
            plot.Axes.SetLimitsX(-0.5, float n - 0.5)
        if groups > 1 || (c.Series |> List.exists (fun s -> s.Name <> "")) then legendBelow plot
        plot

    /// The ScottPlot plot of a chart (the caller disposes it).
    let plot (chart: Chart) : Plot =
        match chart with
        | Lines c -> linePlot c
        | Bars c -> barPlot c

    /// The picture size that suits a chart: the default, or taller for a horizontal bar chart
    /// with many bars (about 24 pixels a bar).
    let sizeOf (chart: Chart) =
        let width, height = size
        match chart with
        | Bars c when c.Horizontal -> width, max height (150 + 24 * c.Categories.Length * max 1 c.Series.Length)
        | _ -> width, height

    /// The chart as a PNG file's bytes.
    let png (width: int, height: int) (chart: Chart) : byte[] =
        use p = plot chart
        p.GetImageBytes(width, height, ImageFormat.Png)

    /// The chart as SVG text.
    let svg (width: int, height: int) (chart: Chart) : string =
        use p = plot chart
        p.GetSvgXml(width, height)

    /// The chart in the given format, as a file's bytes.
    let render (format: PictureFormat) (size: int * int) (chart: Chart) : byte[] =
        match format with
        | Png -> png size chart
        | Svg -> Text.Encoding.UTF8.GetBytes(svg size chart)

    /// The chart drawn into an ImageSharp image (a frame of an animation), without going
    /// through an encoded file: Skia draws straight into the pixel buffer ImageSharp copies.
    let image (width: int, height: int) (chart: Chart) : Image<Rgba32> =
        use p = plot chart
        // Premultiplied alpha is what Skia draws into; the background is opaque, so the bytes
        // are plain RGBA.
        use bitmap = new SKBitmap(SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
        (use canvas = new SKCanvas(bitmap)
         canvas.Clear SKColors.White
         p.Render(canvas, width, height)
         canvas.Flush())
        Image.LoadPixelData<Rgba32>(bitmap.GetPixelSpan(), width, height)
