/// The --json document of `autokl kl`.
module AutoKl.Cli.KlJson

open System
open System.Text.Json
open AutoKl.Cli.KlComparison
open AutoKl.Cli.OutputFormat

/// The --json document of `autokl kl`.
let ofResult (result: KlResult) =
    let array (w: Utf8JsonWriter) (name: string) (values: float[]) =
        w.WriteStartArray name
        for v in values do (if Double.IsFinite v then w.WriteNumberValue v else w.WriteNullValue())
        w.WriteEndArray()
    jsonDocument (fun w ->
        w.WriteString("command", "kl")
        w.WriteBoolean("from_logits", result.FromLogits)
        array w "p" result.P
        w.WriteStartArray "comparisons"
        for c in result.Comparisons do
            w.WriteStartObject()
            array w "q" c.Q
            jsonNumber w "kl_pq" c.KlPQ
            jsonNumber w "kl_qp" c.KlQP
            jsonNumber w "js" c.Js
            array w "terms" c.Terms
            w.WriteStartArray "conventions"
            for k in c.Conventions do
                w.WriteStartObject()
                w.WriteString("library", k.Library)
                w.WriteString("call", k.Call)
                jsonNumber w "value" k.Value
                w.WriteString("explanation", k.Explanation)
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteEndObject()
        w.WriteEndArray())
