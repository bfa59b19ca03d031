/// The text report of `autokl kl`: P, each Q, the divergences and what each convention returns.
module AutoKl.Cli.KlText

open System
open System.Globalization
open AutoKl.Cli.KlComparison

let private inv = CultureInfo.InvariantCulture

/// A value for the text report: fixed decimals, or inf / -inf / nan.
let private value (v: float) =
    if Double.IsFinite v then v.ToString("0.000000", inv)
    elif Double.IsNaN v then "nan"
    elif v > 0.0 then "inf"
    else "-inf"

let private list (values: float[]) =
    "[" + (values |> Array.map (fun v -> if Double.IsFinite v then v.ToString("0.######", inv) else value v) |> String.concat ", ") + "]"

/// The text report of `autokl kl`.
let lines (result: KlResult) =
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
