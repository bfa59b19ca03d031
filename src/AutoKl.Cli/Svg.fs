/// Plots written directly as SVG text (no plotting package exists for .NET here): line plots
/// with axes, ticks, labels and a legend; grouped bar charts; and an animated line plot that
/// uses SMIL <animate> so it plays in any browser with no script.
module AutoKl.Cli.Svg

open System
open System.Globalization
open System.Text

/// One curve of a line plot.
type Series =
    { Name: string
      Color: string
      Xs: float[]
      Ys: float[]
      Dashed: bool }

/// Colours that stay distinguishable for colour-blind readers (Okabe-Ito).
let palette = [| "#0072B2"; "#D55E00"; "#009E73"; "#CC79A7"; "#E69F00"; "#56B4E9"; "#F0E442"; "#000000" |]

let private width, height = 800.0, 440.0
let private left, right, top, bottom = 78.0, 215.0, 48.0, 58.0
let private plotW, plotH = width - left - right, height - top - bottom

/// A number for an SVG attribute: invariant, short.
let private n (v: float) = v.ToString("0.##", CultureInfo.InvariantCulture)

/// A fraction of the animation's duration, for keyTimes.
let private frac (v: float) = v.ToString("0.#####", CultureInfo.InvariantCulture)

/// A tick label: few digits, no trailing zeros.
let private tickLabel (v: float) =
    if v = 0.0 then "0"
    elif abs v >= 1e5 || abs v < 1e-3 then v.ToString("0.##E+0", CultureInfo.InvariantCulture)
    else v.ToString("0.####", CultureInfo.InvariantCulture)

/// Text escaped for XML.
let escape (text: string) =
    text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;")

/// A "nice" tick spacing (1, 2, 2.5 or 5 times a power of ten) giving about `count` ticks.
let private niceStep (span: float) (count: int) =
    let raw = span / float count
    let magnitude = 10.0 ** floor (log10 raw)
    let normalised = raw / magnitude
    let nice =
        if normalised <= 1.0 then 1.0
        elif normalised <= 2.0 then 2.0
        elif normalised <= 2.5 then 2.5
        elif normalised <= 5.0 then 5.0
        else 10.0
    nice * magnitude

/// The axis range widened to whole ticks, and the ticks.
let private axis (lo: float) (hi: float) (count: int) =
    let lo, hi =
        if not (Double.IsFinite lo && Double.IsFinite hi) then 0.0, 1.0
        elif hi - lo < 1e-12 * (abs lo + abs hi) || hi = lo then lo - 0.5 * max 1.0 (abs lo), hi + 0.5 * max 1.0 (abs hi)
        else lo, hi
    let step = niceStep (hi - lo) count
    let first = floor (lo / step + 1e-9) * step
    let last = ceil (hi / step - 1e-9) * step
    let ticks = [| for k in 0 .. int (round ((last - first) / step)) ->
                     let t = first + float k * step
                     if abs t < step * 1e-9 then 0.0 else t |]
    first, last, ticks

/// At most `limit` points, evenly picked, first and last kept (plots of 10000 steps stay small).
let private thin (limit: int) (xs: float[]) (ys: float[]) =
    if xs.Length <= limit then xs, ys
    else
        let idx = Array.init limit (fun k -> int (round (float k * float (xs.Length - 1) / float (limit - 1))))
        idx |> Array.map (fun i -> xs[i]), idx |> Array.map (fun i -> ys[i])

type private Frame =
    { XMin: float; XMax: float; YMin: float; YMax: float }
    member f.X(v: float) = left + (v - f.XMin) / (f.XMax - f.XMin) * plotW
    member f.Y(v: float) = top + plotH - (v - f.YMin) / (f.YMax - f.YMin) * plotH

let private header (sb: StringBuilder) (title: string) =
    sb.AppendFormat(CultureInfo.InvariantCulture,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"13\">\n",
        n width, n height) |> ignore
    sb.AppendFormat("<title>{0}</title>\n", escape title) |> ignore
    sb.AppendFormat("<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n", n width, n height) |> ignore
    sb.AppendFormat("<text x=\"{0}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{1}</text>\n",
                    n (left + plotW / 2.0), escape title) |> ignore

/// Axes box, grid lines, ticks and their labels, and the axis titles.
let private axes (sb: StringBuilder) (f: Frame) (xTicks: float[]) (yTicks: float[]) (xLabel: string) (yLabel: string) =
    for t in yTicks do
        let y = f.Y t
        sb.AppendFormat("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#e4e4e4\"/>\n", n left, n y, n (left + plotW)) |> ignore
        sb.AppendFormat("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", n (left - 5.0), n y, n left) |> ignore
        sb.AppendFormat("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>\n", n (left - 8.0), n (y + 4.0), tickLabel t) |> ignore
    for t in xTicks do
        let x = f.X t
        sb.AppendFormat("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>\n", n x, n top, n (top + plotH)) |> ignore
        sb.AppendFormat("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", n x, n (top + plotH), n (top + plotH + 5.0)) |> ignore
        sb.AppendFormat("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>\n", n x, n (top + plotH + 20.0), tickLabel t) |> ignore
    sb.AppendFormat("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"none\" stroke=\"black\"/>\n", n left, n top, n plotW, n plotH) |> ignore
    sb.AppendFormat("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>\n", n (left + plotW / 2.0), n (height - 14.0), escape xLabel) |> ignore
    sb.AppendFormat("<text x=\"18\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {0})\">{1}</text>\n",
                    n (top + plotH / 2.0), escape yLabel) |> ignore

let private legend (sb: StringBuilder) (entries: (string * string * bool) list) =
    entries
    |> List.iteri (fun i (name, color, dashed) ->
        let y = top + 14.0 + 22.0 * float i
        let x = left + plotW + 14.0
        sb.AppendFormat("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2.5\"{4}/>\n",
                        n x, n y, n (x + 26.0), color, (if dashed then " stroke-dasharray=\"6 4\"" else "")) |> ignore
        sb.AppendFormat("<text x=\"{0}\" y=\"{1}\">{2}</text>\n", n (x + 32.0), n (y + 4.0), escape name) |> ignore)

/// The path data of a curve (points outside finite values are skipped).
let private pathData (f: Frame) (xs: float[]) (ys: float[]) =
    let sb = StringBuilder()
    let mutable pen = 'M'
    for i in 0 .. xs.Length - 1 do
        if Double.IsFinite xs[i] && Double.IsFinite ys[i] then
            sb.Append(pen).Append(n (f.X xs[i])).Append(',').Append(n (f.Y ys[i])).Append(' ') |> ignore
            pen <- 'L'
        else pen <- 'M'
    sb.ToString().TrimEnd()

let private frameFor (series: (float[] * float[]) list) (yFromZero: bool) =
    let finite (a: float[]) = a |> Array.filter Double.IsFinite
    let all f = series |> List.collect (fun s -> f s |> finite |> List.ofArray)
    let xsAll = all fst
    let ysAll = all snd
    let xMin, xMax = (if xsAll.IsEmpty then 0.0, 1.0 else List.min xsAll, List.max xsAll)
    let yMin, yMax = (if ysAll.IsEmpty then 0.0, 1.0 else List.min ysAll, List.max ysAll)
    let yMin = if yFromZero then min 0.0 yMin else yMin
    let x0, x1, xTicks = axis xMin xMax 8
    let y0, y1, yTicks = axis yMin yMax 6
    { XMin = x0; XMax = x1; YMin = y0; YMax = y1 }, xTicks, yTicks

/// A line plot of several series, with a legend.
let linePlot (title: string) (xLabel: string) (yLabel: string) (yFromZero: bool) (series: Series list) =
    let series = series |> List.map (fun s -> let xs, ys = thin 1200 s.Xs s.Ys in { s with Xs = xs; Ys = ys })
    let f, xTicks, yTicks = frameFor (series |> List.map (fun s -> s.Xs, s.Ys)) yFromZero
    let sb = StringBuilder()
    header sb title
    axes sb f xTicks yTicks xLabel yLabel
    for s in series do
        sb.AppendFormat("<path d=\"{0}\" fill=\"none\" stroke=\"{1}\" stroke-width=\"2\"{2}><title>{3}</title></path>\n",
                        pathData f s.Xs s.Ys, s.Color, (if s.Dashed then " stroke-dasharray=\"6 4\"" else ""), escape s.Name) |> ignore
    legend sb (series |> List.map (fun s -> s.Name, s.Color, s.Dashed))
    sb.Append("</svg>\n").ToString()

/// A grouped bar chart: one group per category, one bar per series in each group.
let barChart (title: string) (xLabel: string) (yLabel: string) (categories: string[]) (series: (string * float[]) list) =
    let values = series |> List.collect (fun (_, v) -> List.ofArray v) |> List.filter Double.IsFinite
    let yMin = min 0.0 (if values.IsEmpty then 0.0 else List.min values)
    let yMax = max 0.0 (if values.IsEmpty then 1.0 else List.max values)
    let y0, y1, yTicks = axis yMin yMax 6
    let f = { XMin = 0.0; XMax = float categories.Length; YMin = y0; YMax = y1 }
    let sb = StringBuilder()
    header sb title
    axes sb f [||] yTicks xLabel yLabel
    let groupW = plotW / float categories.Length
    let barW = groupW * 0.8 / float (max 1 series.Length)
    categories
    |> Array.iteri (fun c name ->
        sb.AppendFormat("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>\n",
                        n (f.X(float c + 0.5)), n (top + plotH + 20.0), escape name) |> ignore)
    series
    |> List.iteri (fun k (name, values) ->
        let color = palette[k % palette.Length]
        values
        |> Array.iteri (fun c v ->
            if Double.IsFinite v then
                let x = f.X(float c) + groupW * 0.1 + barW * float k
                let yTop, yBase = f.Y(max v 0.0), f.Y(min v 0.0)
                sb.AppendFormat("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"{4}\"><title>{5}: {6}</title></rect>\n",
                                n x, n yTop, n barW, n (yBase - yTop), color, escape name,
                                v.ToString("G6", CultureInfo.InvariantCulture)) |> ignore))
    sb.AppendFormat("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", n left, n (f.Y 0.0), n (left + plotW)) |> ignore
    legend sb (series |> List.mapi (fun k (name, _) -> name, palette[k % palette.Length], false))
    sb.Append("</svg>\n").ToString()

/// A still curve (the target) and a moving one that passes through `frames` in `seconds` and
/// repeats; each frame's caption shows while that frame is on screen.
let animatedPlot (title: string) (xLabel: string) (yLabel: string) (still: Series) (movingName: string)
                 (movingColor: string) (frames: (string * float[]) list) (seconds: float) =
    let xs, _ = thin 400 still.Xs still.Ys
    let pick (ys: float[]) = thin 400 still.Xs ys |> snd
    let stillYs = pick still.Ys
    let frameYs = frames |> List.map (fun (caption, ys) -> caption, pick ys)
    let f, xTicks, yTicks = frameFor ((xs, stillYs) :: (frameYs |> List.map (fun (_, ys) -> xs, ys))) true
    let sb = StringBuilder()
    header sb title
    axes sb f xTicks yTicks xLabel yLabel
    sb.AppendFormat("<path d=\"{0}\" fill=\"none\" stroke=\"{1}\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n",
                    pathData f xs stillYs, still.Color) |> ignore
    let paths = frameYs |> List.map (fun (_, ys) -> pathData f xs ys)
    let count = List.length paths
    let dur = seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s"
    sb.AppendFormat("<path d=\"{0}\" fill=\"none\" stroke=\"{1}\" stroke-width=\"2.5\">\n", List.head paths, movingColor) |> ignore
    sb.AppendFormat("<animate attributeName=\"d\" dur=\"{0}\" repeatCount=\"indefinite\" calcMode=\"discrete\" values=\"{1}\"/>\n",
                    dur, String.Join(";", paths)) |> ignore
    sb.Append("</path>\n") |> ignore
    // One caption per frame, visible only during its slot (discrete opacity animation).
    frameYs
    |> List.iteri (fun i (caption, _) ->
        let startT = float i / float count
        let endT = float (i + 1) / float count
        let keyTimes, values =
            if count = 1 then "0", "1"
            elif i = 0 then "0;" + frac endT, "1;0"
            elif i = count - 1 then "0;" + frac startT, "0;1"
            else "0;" + frac startT + ";" + frac endT, "0;1;0"
        sb.AppendFormat("<text x=\"{0}\" y=\"{1}\" opacity=\"{2}\">{3}", n (left + 10.0), n (top + 20.0), (if i = 0 then "1" else "0"), escape caption) |> ignore
        sb.AppendFormat("<animate attributeName=\"opacity\" dur=\"{0}\" repeatCount=\"indefinite\" calcMode=\"discrete\" keyTimes=\"{1}\" values=\"{2}\"/></text>\n",
                        dur, keyTimes, values) |> ignore)
    legend sb [ still.Name, still.Color, true; movingName, movingColor, false ]
    sb.Append("</svg>\n").ToString()
