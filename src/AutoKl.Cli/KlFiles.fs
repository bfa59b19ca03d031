/// The files --out writes for `autokl kl`: bar charts (drawn by AutoKl.Plots) and a CSV.
module AutoKl.Cli.KlFiles

open System.Text
open AutoKl.Plots
open AutoKl.Cli.KlComparison
open AutoKl.Cli.OutputFormat

/// The files --out writes for `autokl kl`: the tutorial's bar charts (P and each Q by category,
/// the per-category KL terms, the value each convention returns) and the values as CSV.
let ofResult (formats: PictureFormat list) (result: KlResult) =
    let qName i = if result.Comparisons.Length > 1 then sprintf "Q%d" (i + 1) else "Q"
    let named = result.Comparisons |> List.mapi (fun i c -> qName i, c)
    let distributions = KlPictures.distributions result.P (named |> List.map (fun (name, c) -> name, c.Q))
    let terms = KlPictures.terms result.P.Length (named |> List.map (fun (name, c) -> name, c.Terms))
    let rows =
        Array.append [| "KL(P||Q), textbook"; "KL(Q||P), reverse"; "JS(P,Q)" |]
            (result.Comparisons.Head.Conventions |> List.map (fun k -> k.Short) |> Array.ofList)
    let conventions =
        KlPictures.conventions rows
            (named
             |> List.map (fun (name, c) ->
                 name, Array.append [| c.KlPQ; c.KlQP; c.Js |] (c.Conventions |> List.map (fun k -> k.Value) |> Array.ofList)))
    let csv = StringBuilder("q,quantity,value\n")
    result.Comparisons
    |> List.iteri (fun i c ->
        let add (name: string) (v: float) =
            csv.Append(qName i).Append(",\"").Append(name.Replace("\"", "\"\"")).Append("\",").Append(roundTrip v).Append('\n') |> ignore
        add "KL(P||Q)" c.KlPQ
        add "KL(Q||P)" c.KlQP
        add "JS(P,Q)" c.Js
        for k in c.Conventions do add (k.Library + " " + k.Call) k.Value)
    [ yield! pictures formats "distributions" distributions
      yield! pictures formats "terms" terms
      yield! pictures formats "conventions" conventions
      yield "kl.csv", utf8 (csv.ToString()) ]
