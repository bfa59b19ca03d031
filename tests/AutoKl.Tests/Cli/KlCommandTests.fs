/// `autokl kl` end to end: the divergences, what each convention returns, --from-logits,
/// files as input, --json and the bar charts of --out.
module AutoKl.Tests.Cli.KlCommandTests

open Expecto
open System
open System.IO
open System.Text.Json
open AutoKl.Tests.Support
open AutoKl.Tests.Cli.CliSupport
open AutoKl.Cli
open AutoKl.Cli.KlComparison

let private kl (p: float[]) (q: float[]) = Array.map2 (fun a b -> if a = 0.0 then 0.0 else a * log (a / b)) p q |> Array.sum
let private js (p: float[]) (q: float[]) =
    let m = Array.map2 (fun a b -> (a + b) / 2.0) p q
    (kl p m + kl q m) / 2.0
let private softmax (s: float[]) =
    let e = s |> Array.map (fun v -> exp (v - Array.max s))
    e |> Array.map (fun v -> v / Array.sum e)

let private floats (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetDouble() |]

/// The value of a convention in a JSON comparison, found by its typed identity: the JSON lists
/// the conventions in the order KlComparison computes them, so the identity gives the position
/// and no printed label is matched (rewording one must not break a test).
let private convention (c: JsonElement) (fromLogits: bool) (id: ConventionId) =
    let order =
        let s: KlSettings = { P = [| 0.5; 0.5 |]; Qs = [ [| 0.5; 0.5 |] ]; FromLogits = fromLogits }
        (KlComparison.compute s).Comparisons.Head.Conventions |> List.map (fun k -> k.Id)
    let k = (c.GetProperty "conventions")[List.findIndex ((=) id) order]
    Expect.equal (k.GetProperty("library").GetString()) (Library.name (ConventionId.library id)) (sprintf "library of %A" id)
    Expect.isNonEmpty (k.GetProperty("explanation").GetString()) "explanation"
    number k "value"

let private p = [| 0.2; 0.5; 0.2; 0.1 |]
let private q1 = [| 0.3; 0.4; 0.1; 0.2 |]
let private q2 = [| 0.1; 0.1; 0.1; 0.7 |]

/// Random categorical P and Q with `categories` entries from a seed, written as inline lists.
let private randomPair (seed: int) (categories: int) =
    let g = AutoKl.Generator(seed)
    let draw () =
        let raw = Array.init categories (fun _ -> 0.05 + g.NextUniform())
        raw |> Array.map (fun v -> v / Array.sum raw)
    let text (v: float[]) = v |> Array.map (fun x -> x.ToString("R", Globalization.CultureInfo.InvariantCulture)) |> String.concat ","
    let p, q = draw (), draw ()
    p, q, text p, text q

[<Tests>]
let tests =
    testList "Cli.Kl" [
        testCase "kl --json compares the default P with both Q of the write-up, in every convention" <| fun () ->
            let r = succeed [ "kl"; "--json" ]
            let doc = json r.Out
            Expect.equal (doc.GetProperty("command").GetString()) "kl" "command"
            Check.arraysClose "p" 0.0 0.0 p (floats (doc.GetProperty "p"))
            let comparisons = [ for c in doc.GetProperty("comparisons").EnumerateArray() -> c ]
            Expect.equal comparisons.Length 2 "number of comparisons"
            for c, q in List.zip comparisons [ q1; q2 ] do
                Check.arraysClose "q" 0.0 0.0 q (floats (c.GetProperty "q"))
                let klpq, klqp, jsd = kl p q, kl q p, js p q
                Check.arraysClose "KL(P||Q), KL(Q||P), JS" 1e-12 0.0 [| klpq; klqp; jsd |] [| number c "kl_pq"; number c "kl_qp"; number c "js" |]
                Check.arraysClose "terms" 1e-12 1e-15 (Array.map2 (fun a b -> a * log (a / b)) p q) (floats (c.GetProperty "terms"))
                let n = float p.Length
                Check.arraysClose "PyTorch reductions" 1e-12 0.0
                    [| klpq; klpq; klpq / n; klpq; klqp |]
                    [| convention c false TorchSum
                       convention c false TorchBatchMean
                       convention c false TorchMean
                       convention c false TorchLogTarget
                       convention c false TorchSwapped |]
                // probabilities passed where log-probabilities belong: sum p (log p - q)
                let wrong = Array.map2 (fun a b -> a * (log a - b)) p q |> Array.sum
                Expect.floatClose { absolute = 1e-12; relative = 0.0 } (convention c false TorchNotLogInput) wrong "TorchNotLogInput"
                Expect.floatClose { absolute = 1e-10; relative = 0.0 } (convention c false MXNetMean) (klpq / n) "MXNetMean"
                Expect.floatClose { absolute = 1e-10; relative = 0.0 } (convention c false MXNetSum) klpq "MXNetSum"
                let logSoftmaxQ = let lse = log (Array.sumBy exp q) in q |> Array.map (fun v -> v - lse)
                let mxnetOnProbabilities = Array.map2 (fun a lq -> a * (log (a + 1e-12) - lq)) p logSoftmaxQ |> Array.average
                Expect.floatClose { absolute = 1e-12; relative = 0.0 } (convention c false MXNetNotFromLogits) mxnetOnProbabilities "MXNetNotFromLogits"

        testCase "kl prints the divergences with one-line explanations of each convention" <| fun () ->
            let r = succeed [ "kl"; "--p"; "0.2,0.5,0.2,0.1"; "--q"; "0.3,0.4,0.1,0.2" ]
            let out = lines r.Out
            Expect.equal out[0] "P = [0.2, 0.5, 0.2, 0.1]" "out[0]"
            Expect.stringContains r.Out (sprintf "KL(P||Q) = %.6f" (kl p q1)) "r.Out"
            Expect.stringContains r.Out (sprintf "KL(Q||P) = %.6f" (kl q1 p)) "r.Out"
            Expect.stringContains r.Out (sprintf "JS(P,Q)  = %.6f" (js p q1)) "r.Out"
            let conventions = out |> Array.filter (fun l -> l.TrimStart().StartsWith(Library.name PyTorch) || l.TrimStart().StartsWith(Library.name MXNet))
            Expect.equal conventions.Length 9 "number of conventions"
            let order = (KlComparison.compute ({ P = p; Qs = [ q1 ]; FromLogits = false }: KlSettings)).Comparisons.Head.Conventions |> List.map (fun k -> k.Id)
            let meanLine = conventions[List.findIndex ((=) TorchMean) order]
            Expect.stringContains meanLine (sprintf "%.6f" (kl p q1 / 4.0)) "meanLine"
            Expect.stringContains meanLine "not by the batch" "meanLine"

        testCase "--from-logits takes raw scores and compares their softmax" <| fun () ->
            let sp, sq = [| 1.0; 2.0; -3.0 |], [| 0.5; -1.0; 2.0 |]
            let doc = json (succeed [ "kl"; "--from-logits"; "--p"; "1,2,-3"; "--q"; "0.5,-1,2"; "--json" ]).Out
            Expect.isTrue (doc.GetProperty("from_logits").GetBoolean()) "from_logits"
            let pp, qq = softmax sp, softmax sq
            Check.arraysClose "softmax P" 1e-12 0.0 pp (floats (doc.GetProperty "p"))
            let c = (doc.GetProperty "comparisons")[0]
            Check.arraysClose "KL and JS of the softmaxes" 1e-12 0.0 [| kl pp qq; kl qq pp; js pp qq |] [| number c "kl_pq"; number c "kl_qp"; number c "js" |]
            // MXNet with from_logits=False applies log_softmax itself: right for raw scores
            Expect.floatClose { absolute = 1e-10; relative = 0.0 } (convention c true MXNetNotFromLogits) (kl pp qq / 3.0) "MXNetNotFromLogits"

        testCase "P and Q can come from files, with comments and any separators" <| fun () ->
            let folder = freshFolder ()
            Directory.CreateDirectory folder |> ignore
            let pFile, qFile = Path.Combine(folder, "p.txt"), Path.Combine(folder, "q.txt")
            File.WriteAllText(pFile, "# P of the write-up\n0.2 0.5\n0.2, 0.1\n")
            File.WriteAllText(qFile, "0.3;0.4;0.1;0.2 # Q1\n")
            let doc = json (succeed [ "kl"; "--p-file"; pFile; "--q-file"; qFile; "--q"; "0.1,0.1,0.1,0.7"; "--json" ]).Out
            let comparisons = [ for c in doc.GetProperty("comparisons").EnumerateArray() -> number c "kl_pq" ]
            Check.arraysClose "KL(P||Q) from files and inline" 1e-12 0.0 [| kl p q1; kl p q2 |] (Array.ofList comparisons)

        testCase "kl --out draws P and Q as bar charts and writes the values as CSV" <| fun () ->
            let folder = freshFolder ()
            let r = succeed [ "kl"; "--out"; folder ]
            Expect.stringContains r.Out "wrote" "r.Out"
            // The pictures themselves are decoded and checked in Cli/PictureTests.fs.
            same "files written" [| "conventions.png"; "distributions.png"; "kl.csv"; "terms.png" |] (filesIn folder)
            let header, rows = csv (Path.Combine(folder, "kl.csv"))
            same "header" [| "q"; "quantity"; "value" |] header
            let klRow = rows |> Array.find (fun r -> r[0] = "Q1" && r[1] = "\"KL(P||Q)\"")
            Expect.floatClose { absolute = 1e-12; relative = 0.0 } (float klRow[2]) (kl p q1) "float klRow[2]"

        testCase "a Q that is zero where P is not gives an infinite KL(P||Q): inf in the text, null in JSON" <| fun () ->
            let text = (succeed [ "kl"; "--p"; "0.5,0.5"; "--q"; "1,0" ]).Out
            Expect.stringContains text "KL(P||Q) = inf" "text"
            Expect.stringContains text "KL(P||Q) is infinite" "text"
            let c = (json (succeed [ "kl"; "--p"; "0.5,0.5"; "--q"; "1,0"; "--json" ]).Out).GetProperty("comparisons")[0]
            Expect.equal (c.GetProperty("kl_pq").ValueKind) JsonValueKind.Null "kl_pq"
            Expect.floatClose { absolute = 1e-12; relative = 0.0 } (number c "kl_qp") (log 2.0) "kl_qp"

        testCase "kl --from-logits stays exact for scores so far apart that softmax underflows" <| fun () ->
            // P = softmax(0, 0) = (1/2, 1/2); log softmax(0, 2000) = (-2000, 0) exactly, while softmax(0, 2000)
            // rounds its first entry to 0. KL(P||Q) = 1/2 (log 1/2 + 2000) + 1/2 log 1/2 = 1000 - log 2.
            let r = succeed [ "kl"; "--from-logits"; "--p"; "0,0"; "--q"; "0,2000"; "--json" ]
            let c = (json r.Out).GetProperty("comparisons").EnumerateArray() |> Seq.exactlyOne
            Expect.floatClose { absolute = 1e-9; relative = 0.0 } (number c "kl_pq") (1000.0 - log 2.0) "kl_pq"
            Expect.isTrue (Double.IsFinite(number c "kl_qp")) "KL(Q||P) is finite for finite scores"
            Expect.floatClose { absolute = 1e-9; relative = 0.0 } (convention c true TorchSum) (1000.0 - log 2.0) "TorchSum"

        testPropertyWithConfig (Properties.runs 25) "for any P and Q the conventions relate to KL as the report says" <| fun (seed: int) (size: FsCheck.PositiveInt) ->
            let categories = 2 + size.Get % 9
            let p, q, pText, qText = randomPair seed categories
            let c = (json (succeed [ "kl"; "--p"; pText; "--q"; qText; "--json" ]).Out).GetProperty("comparisons")[0]
            let n = float categories
            let klpq, klqp = kl p q, kl q p
            // atol: MXNet adds 1e-12 inside its log, which moves its values by up to N * 1e-12.
            Check.arraysClose (sprintf "seed %d, %d categories" seed categories) 1e-9 1e-10
                [| klpq; klqp; js p q; klpq; klpq; klpq / n; klpq; klqp; klpq / n; klpq |]
                [| number c "kl_pq"; number c "kl_qp"; number c "js"
                   convention c false TorchSum
                   convention c false TorchBatchMean
                   convention c false TorchMean
                   convention c false TorchLogTarget
                   convention c false TorchSwapped
                   convention c false MXNetMean
                   convention c false MXNetSum |]
            Expect.isLessThanOrEqual (number c "js") (log 2.0) "js"
    ]
