/// The pictures `autokl fit --out` and `autokl kl --out` write, decoded: PNG signature and size,
/// not blank, text in the title band, SVG as XML with its text, the GIF's frames, delays and
/// loop; --format png|svg|both; no temporary file left behind.
module AutoKl.Tests.Cli.PictureTests

open System
open System.IO
open System.Xml.Linq
open Expecto
open SixLabors.ImageSharp
open SixLabors.ImageSharp.PixelFormats

/// Runs `autokl args` in-process; fails the test with stderr unless it exits with 0.
let private run (args: string list) =
    use out = new StringWriter()
    use err = new StringWriter()
    let code = AutoKl.Cli.Program.run (Array.ofList args) out err
    if code <> 0 then failtestf "autokl %s exited with %d: %s" (String.Join(" ", args)) code (err.ToString())
    out.ToString()

/// Runs `autokl args` in-process and returns the exit code and stderr.
let private runFailing (args: string list) =
    use out = new StringWriter()
    use err = new StringWriter()
    let code = AutoKl.Cli.Program.run (Array.ofList args) out err
    code, err.ToString(), out.ToString()

let private scratch = Path.Combine(Path.GetTempPath(), "autokl-picture-tests", string Environment.ProcessId)

/// A fresh folder for one test, removed afterwards.
let private inFolder (body: string -> unit) =
    let folder = Path.Combine(scratch, Guid.NewGuid().ToString("N"))
    try body folder
    finally if Directory.Exists folder then Directory.Delete(folder, true)

let private files (folder: string) =
    Directory.GetFiles folder |> Array.map Path.GetFileName |> Array.sort

let private pngSignature = [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy; 0x0Duy; 0x0Auy; 0x1Auy; 0x0Auy |]

/// Pixels darker than this (0..255 luma) are text, axes or data, not background or grid.
let private isDark (p: Rgba32) = 0.299 * float p.R + 0.587 * float p.G + 0.114 * float p.B < 110.0

/// Dark pixels in rows [top, bottom) across the middle 80% of the width.
let private darkPixels (image: Image<Rgba32>) (top: int) (bottom: int) =
    let mutable count = 0
    for y in max 0 top .. min image.Height bottom - 1 do
        for x in image.Width / 10 .. image.Width * 9 / 10 - 1 do
            if isDark image[x, y] then count <- count + 1
    count

/// Whether row y is mostly dark across the middle of the picture: a frame or axis line, not text.
let private isLine (image: Image<Rgba32>) (y: int) = darkPixels image y (y + 1) > image.Width * 8 / 10 / 2

/// Dark pixels of text in the title band (the top 36 rows). A picture drawn without fonts has no
/// title, and its data frame moves up into the band: a line there counts as no text.
let private titleText (image: Image<Rgba32>) =
    if Seq.exists (isLine image) [ 0 .. 35 ] then 0 else darkPixels image 0 36

/// Dark pixels under the x axis (tick labels, axis title, legend), past the tick marks: the
/// axis is the lowest line in the lower half.
let private textUnderAxis (image: Image<Rgba32>) =
    match [ image.Height / 2 .. image.Height - 1 ] |> List.filter (isLine image) with
    | [] -> 0
    | rows -> darkPixels image (List.max rows + 9) image.Height

/// The distinct colours of an image.
let private colours (image: Image<Rgba32>) =
    let seen = Collections.Generic.HashSet<Rgba32>()
    for y in 0 .. image.Height - 1 do
        for x in 0 .. image.Width - 1 do
            seen.Add image[x, y] |> ignore
    seen.Count

/// Pixels of one colour (within a small distance per channel: anti-aliasing aside).
let private pixelsNear (hex: string) (image: Image<Rgba32>) =
    let c = Color.ParseHex(hex).ToPixel<Rgba32>()
    let near (a: byte) (b: byte) = abs (int a - int b) <= 12
    let mutable count = 0
    for y in 0 .. image.Height - 1 do
        for x in 0 .. image.Width - 1 do
            let p = image[x, y]
            if near p.R c.R && near p.G c.G && near p.B c.B then count <- count + 1
    count

/// Decodes a PNG and checks what every picture needs: the signature, the size, several colours
/// (not blank) and dark pixels in the title band (its text was drawn).
let private checkPng (path: string) (width: int) (minHeight: int) =
    let bytes = File.ReadAllBytes path
    Expect.sequenceEqual bytes[0..7] pngSignature (sprintf "%s: PNG signature" path)
    let image = Image.Load<Rgba32>(bytes)
    Expect.equal image.Width width (sprintf "%s: width" path)
    Expect.isGreaterThanOrEqual image.Height minHeight (sprintf "%s: height" path)
    Expect.isGreaterThan (colours image) 20 (sprintf "%s: a blank or flat picture" path)
    Expect.isGreaterThan (titleText image) 40 (sprintf "%s: no title text in the top band" path)
    Expect.isGreaterThan (textUnderAxis image) 100 (sprintf "%s: no tick labels or axis title under the x axis" path)
    image

/// Parses an SVG, checks its root and returns the text of its <text> elements.
let private checkSvg (path: string) =
    let doc = XDocument.Load path
    let svg = XNamespace.Get "http://www.w3.org/2000/svg"
    Expect.equal doc.Root.Name (svg + "svg") (sprintf "%s: root element" path)
    doc.Descendants(svg + "text") |> Seq.map (fun e -> e.Value.Trim()) |> List.ofSeq

/// No temporary file of the atomic write is left in the folder (they start with '.').
let private noTemporaryFiles (folder: string) =
    let hidden = Directory.GetFiles folder |> Array.filter (fun f -> (Path.GetFileName f).StartsWith ".")
    Expect.isEmpty hidden "temporary files left behind"

[<Tests>]
let tests =
    testList "Cli.Pictures" [
        testCase "fit --out writes PNG charts with text, a looping 100-frame GIF and the rows" <| fun () ->
            inFolder (fun folder ->
                run [ "fit"; "--steps"; "400"; "--quiet"; "--out"; folder ] |> ignore
                Expect.sequenceEqual (files folder) [| "animation.gif"; "final.png"; "loss.png"; "rows.csv"; "trajectory.png" |] "files written"
                noTemporaryFiles folder
                for name in [ "loss.png"; "trajectory.png"; "final.png" ] do
                    use _ = checkPng (Path.Combine(folder, name)) 800 480
                    ()
                // final.png: the target in black and Q in the palette's second colour.
                use final = Image.Load<Rgba32>(Path.Combine(folder, "final.png"))
                Expect.isGreaterThan (pixelsNear "#D55E00" final) 200 "final.png: the orange curve of Q"
                use trajectory = Image.Load<Rgba32>(Path.Combine(folder, "trajectory.png"))
                Expect.isGreaterThan (pixelsNear "#0072B2" trajectory) 200 "trajectory.png: mu in blue"
                Expect.isGreaterThan (pixelsNear "#D55E00" trajectory) 200 "trajectory.png: sigma in orange"
                let gifBytes = File.ReadAllBytes(Path.Combine(folder, "animation.gif"))
                Expect.equal (Text.Encoding.ASCII.GetString gifBytes[0..5]) "GIF89a" "GIF signature"
                use gif = Image.Load<Rgba32>(gifBytes)
                Expect.equal gif.Frames.Count 100 "frames"
                Expect.equal (gif.Width, gif.Height) (640, 400) "frame size"
                Expect.equal (gif.Metadata.GetGifMetadata().RepeatCount) 0us "loops forever"
                let delays = [ for f in gif.Frames -> f.Metadata.GetGifMetadata().FrameDelay ]
                Expect.equal delays.Head 60 "the first frame is held"
                Expect.equal (List.last delays) 200 "the last frame is held"
                Expect.isTrue (delays[1 .. 98] |> List.forall ((=) 8)) "the frames between play at 8/100 s"
                use first = gif.Frames.CloneFrame 0
                use last = gif.Frames.CloneFrame 99
                Expect.isGreaterThan (titleText first) 40 "title text in the first frame"
                Expect.isGreaterThan (titleText last) 40 "title text in the last frame"
                Expect.isGreaterThan (textUnderAxis last) 100 "tick labels in the last frame"
                // The note (step, loss, mu, sigma) in the upper left of the data area changes.
                let differing = ref 0
                for y in 0 .. first.Height - 1 do
                    for x in 0 .. first.Width - 1 do
                        if first[x, y] <> last[x, y] then differing.Value <- differing.Value + 1
                Expect.isGreaterThan differing.Value 1000 "Q moves between the first and the last frame"
                Expect.isGreaterThan (pixelsNear "#D55E00" last) 200 "Q drawn in the last frame"
                Expect.isGreaterThan (pixelsNear "#FFFFFF" last) (640 * 400 / 2) "the background stays white"
                let rows = File.ReadAllLines(Path.Combine(folder, "rows.csv"))
                Expect.equal rows[0] "step,loss,mu,sigma" "rows.csv header")

        testCase "fit --format svg writes SVG charts with their titles and still a GIF" <| fun () ->
            inFolder (fun folder ->
                run [ "fit"; "--steps"; "100"; "--quiet"; "--format"; "svg"; "--out"; folder ] |> ignore
                Expect.sequenceEqual (files folder) [| "animation.gif"; "final.svg"; "loss.svg"; "rows.csv"; "trajectory.svg" |] "files written"
                let texts = checkSvg (Path.Combine(folder, "final.svg"))
                Expect.contains texts "Final Q over the target (kl)" "final.svg: title"
                Expect.contains texts "density" "final.svg: y label"
                Expect.contains (checkSvg (Path.Combine(folder, "loss.svg"))) "Loss (kl) before each step" "loss.svg: title"
                Expect.contains (checkSvg (Path.Combine(folder, "trajectory.svg"))) "step" "trajectory.svg: x label")

        testCase "fit --compare --format both writes the final Q and the loss curves of every loss in both formats" <| fun () ->
            inFolder (fun folder ->
                run [ "fit"; "--compare"; "kl,mse,cosine"; "--mu"; "5"; "--steps"; "200"; "--quiet"; "--format"; "both"; "--out"; folder ] |> ignore
                Expect.sequenceEqual (files folder)
                    [| "compare-loss.png"; "compare-loss.svg"; "compare.csv"; "compare.png"; "compare.svg"; "rows-cosine.csv"; "rows-kl.csv"; "rows-mse.csv" |]
                    "files written"
                noTemporaryFiles folder
                use compare = checkPng (Path.Combine(folder, "compare.png")) 800 480
                // One colour per loss: blue, orange and green curves over the black target.
                for hex in [ "#0072B2"; "#D55E00"; "#009E73" ] do
                    Expect.isGreaterThan (pixelsNear hex compare) 100 (sprintf "compare.png: a curve in %s" hex)
                use losses = checkPng (Path.Combine(folder, "compare-loss.png")) 800 480
                for hex in [ "#0072B2"; "#D55E00"; "#009E73" ] do
                    Expect.isGreaterThan (pixelsNear hex losses) 100 (sprintf "compare-loss.png: a loss curve in %s" hex)
                let legend = checkSvg (Path.Combine(folder, "compare.svg"))
                for loss in [ "kl"; "mse"; "cosine" ] do
                    Expect.isTrue (legend |> List.exists (fun t -> t.StartsWith(loss + ": N("))) (sprintf "compare.svg: legend entry of %s" loss)
                let curves = checkSvg (Path.Combine(folder, "compare-loss.svg"))
                Expect.isTrue (curves |> List.exists (fun t -> t.StartsWith "cosine: ")) "compare-loss.svg: legend entry of cosine")

        testCase "kl --out writes the bar charts of P and Q, the KL terms and the conventions" <| fun () ->
            inFolder (fun folder ->
                run [ "kl"; "--out"; folder ] |> ignore
                Expect.sequenceEqual (files folder) [| "conventions.png"; "distributions.png"; "kl.csv"; "terms.png" |] "files written"
                noTemporaryFiles folder
                use distributions = checkPng (Path.Combine(folder, "distributions.png")) 800 480
                // P, Q1 and Q2 in the first three colours of the palette.
                for hex in [ "#0072B2"; "#D55E00"; "#009E73" ] do
                    Expect.isGreaterThan (pixelsNear hex distributions) 1000 (sprintf "distributions.png: bars in %s" hex)
                use terms = checkPng (Path.Combine(folder, "terms.png")) 800 480
                Expect.isGreaterThan (pixelsNear "#0072B2" terms) 1000 "terms.png: the bars of Q1"
                // Twelve rows of two bars need more than the default height.
                use conventions = checkPng (Path.Combine(folder, "conventions.png")) 800 600
                Expect.isGreaterThan (pixelsNear "#D55E00" conventions) 1000 "conventions.png: the bars of Q2")

        testCase "kl --format both writes SVG bar charts whose text names the conventions" <| fun () ->
            inFolder (fun folder ->
                run [ "kl"; "--p"; "0.2,0.5,0.2,0.1"; "--q"; "0.3,0.4,0.1,0.2"; "--format"; "both"; "--out"; folder ] |> ignore
                Expect.sequenceEqual (files folder)
                    [| "conventions.png"; "conventions.svg"; "distributions.png"; "distributions.svg"; "kl.csv"; "terms.png"; "terms.svg" |]
                    "files written"
                let texts = checkSvg (Path.Combine(folder, "conventions.svg"))
                // The convention rows are named by each convention's own label (by its identity, so a
                // label can be reworded); "KL(P||Q), textbook" is a fixed row of the chart.
                let settings: AutoKl.Cli.KlSettings = { P = [| 0.2; 0.5; 0.2; 0.1 |]; Qs = [ [| 0.3; 0.4; 0.1; 0.2 |] ]; FromLogits = false }
                let comparison = (AutoKl.Cli.KlComparison.compute settings).Comparisons.Head
                let short id = (AutoKl.Cli.KlComparison.conventionOf id comparison).Short
                for label in [ "KL(P||Q), textbook"; short AutoKl.Cli.KlComparison.TorchMean; short AutoKl.Cli.KlComparison.MXNetSum ] do
                    Expect.contains texts label (sprintf "conventions.svg: row %s" label)
                // The value labels: KL(P||Q) = 0.0998 for this P and Q.
                Expect.contains texts "0.0998" "conventions.svg: the value of KL(P||Q)"
                Expect.contains (checkSvg (Path.Combine(folder, "distributions.svg"))) "P and Q by category" "distributions.svg: title")

        testCase "--format needs --out and a known format" <| fun () ->
            let code, err, _ = runFailing [ "kl"; "--format"; "svg" ]
            Expect.equal code 2 "exit code without --out"
            Expect.stringContains err "--format" "the error names the option"
            inFolder (fun folder ->
                let code, err, _ = runFailing [ "fit"; "--steps"; "5"; "--format"; "jpeg"; "--out"; folder ]
                Expect.equal code 2 "exit code of an unknown format"
                Expect.stringContains err "png, svg, both" "the error lists the formats"
                Expect.isFalse (Directory.Exists folder) "nothing written")
    ]
