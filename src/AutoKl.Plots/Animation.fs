/// Animated GIFs from a sequence of charts (ScottPlot draws, ImageSharp encodes: ScottPlot
/// writes no GIF).
module AutoKl.Plots.Animation

open System.IO
open System.Threading.Tasks
open SixLabors.ImageSharp
open SixLabors.ImageSharp.Formats.Gif
open SixLabors.ImageSharp.PixelFormats
open SixLabors.ImageSharp.Processing.Processors.Quantization

/// The default frame size in pixels.
let size = 640, 400

/// The colours a frame can hold: greys from black to white (text, axes, grid) and, for each
/// curve colour, its blends with white (the anti-aliased edges of lines). A palette fixed in
/// advance keeps white white (a quantizer fitted to the pixels averages it with the near-whites
/// of line edges into a tinted background) and is the same for every frame.
let palette (frames: Chart list) =
    let curveColors =
        frames
        |> List.collect (function
            | Lines c -> c.Curves |> List.map (fun k -> k.Color)
            | Bars _ -> List.ofArray Chart.palette)
        |> List.distinct
        |> List.map (fun hex -> let c = Color.ParseHex hex in c.ToPixel<Rgb24>())
        |> List.filter (fun c -> not (c.R = c.G && c.G = c.B))
    let greys = 64
    let steps = if curveColors.IsEmpty then 0 else min 32 ((256 - greys) / curveColors.Length)
    [| for i in 0 .. greys - 1 do
           let v = byte (round (255.0 * float i / float (greys - 1)))
           Color.FromRgb(v, v, v)
       for c in List.truncate ((256 - greys) / max 1 steps) curveColors do
           for k in 1 .. steps do
               let t = float k / float steps
               let mix (channel: byte) = byte (round (255.0 * (1.0 - t) + float channel * t))
               Color.FromRgb(mix c.R, mix c.G, mix c.B) |]

/// An animated GIF that loops forever: each chart with its delay in hundredths of a second.
let gif (width: int, height: int) (frames: (Chart * int) list) : byte[] =
    match frames with
    | [] -> invalidArg "frames" "an animation needs at least one frame"
    | (first, firstDelay) :: rest ->
        use animation = Chart.image (width, height) first
        animation.Frames.RootFrame.Metadata.GetGifMetadata().FrameDelay <- firstDelay
        // The first frame was drawn alone (it loads the fonts); the others are drawn on all
        // cores, each into its own plot, then added in order.
        let rest = Array.ofList rest
        let images = Array.zeroCreate rest.Length
        try
            Parallel.For(0, rest.Length, fun i -> images[i] <- Chart.image (width, height) (fst rest[i])) |> ignore
            for i in 0 .. rest.Length - 1 do
                let added = animation.Frames.AddFrame(images[i].Frames.RootFrame)
                added.Metadata.GetGifMetadata().FrameDelay <- snd rest[i]
        finally
            for image in images do
                if not (isNull (box image)) then image.Dispose()
        // 0: repeat forever.
        animation.Metadata.GetGifMetadata().RepeatCount <- 0us
        // One global table for all frames, fixed in advance (Wu fitted to the first frame garbles
        // frames 2 to n; Octree fitted to it tints the background). No dithering: flat colours
        // and thin lines stay clean.
        let colors = palette (frames |> List.map fst)
        let encoder =
            GifEncoder(ColorTableMode = GifColorTableMode.Global,
                       Quantizer = PaletteQuantizer(System.ReadOnlyMemory colors, QuantizerOptions(Dither = null, MaxColors = colors.Length)))
        use stream = new MemoryStream()
        animation.SaveAsGif(stream, encoder)
        stream.ToArray()
