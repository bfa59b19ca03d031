/// What every output shares: number formats for JSON and CSV, the JSON document writer, and
/// a chart as one file per chosen picture format.
module AutoKl.Cli.OutputFormat

open System
open System.Globalization
open System.IO
open System.Text
open System.Text.Json
open AutoKl
open AutoKl.Plots

let private inv = CultureInfo.InvariantCulture

/// A number as JSON/CSV text: shortest round-trip form.
let roundTrip (v: float) = v.ToString("R", inv)

/// The dtype as the command spells it.
let dtypeName (d: DType) = if d = DType.Float64 then "float64" else "float32"

/// A number property; JSON has no infinity or NaN, so those are written as null.
let jsonNumber (w: Utf8JsonWriter) (name: string) (v: float) =
    if Double.IsFinite v then w.WriteNumber(name, v) else w.WriteNull(name)

/// One indented JSON object built by `build`, as text.
let jsonDocument (build: Utf8JsonWriter -> unit) =
    use stream = new MemoryStream()
    // Relaxed escaping keeps "reduction='sum'" readable (no \u0027); the output is not HTML.
    (use w = new Utf8JsonWriter(stream, JsonWriterOptions(Indented = true, Encoder = Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
     w.WriteStartObject()
     build w
     w.WriteEndObject())
    Encoding.UTF8.GetString(stream.ToArray())

/// Text as the bytes of a file.
let utf8 (text: string) = Encoding.UTF8.GetBytes text

/// One chart as a file per chosen format: NAME.png and/or NAME.svg.
let pictures (formats: PictureFormat list) (name: string) (chart: Chart) =
    formats |> List.map (fun format -> sprintf "%s.%s" name format.Extension, Chart.render format (Chart.sizeOf chart) chart)
