/// `autokl kl` end to end: the divergences, what each convention returns, --from-logits,
/// files as input, --json and the bar charts of --out.
module AutoKl.Tests.Cli.KlCommandTests

open System
open System.IO
open System.Text.Json
open NUnit.Framework
open AutoKl.Tests.Support
open AutoKl.Tests.Cli.CliSupport

let private kl (p: float[]) (q: float[]) = Array.map2 (fun a b -> if a = 0.0 then 0.0 else a * log (a / b)) p q |> Array.sum
let private js (p: float[]) (q: float[]) =
    let m = Array.map2 (fun a b -> (a + b) / 2.0) p q
    (kl p m + kl q m) / 2.0
let private softmax (s: float[]) =
    let e = s |> Array.map (fun v -> exp (v - Array.max s))
    e |> Array.map (fun v -> v / Array.sum e)

let private floats (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetDouble() |]

/// The value of the convention whose call contains every fragment.
let private convention (c: JsonElement) (library: string) (fragments: string list) =
    c.GetProperty("conventions").EnumerateArray()
    |> Seq.filter (fun k ->
        k.GetProperty("library").GetString() = library
        && fragments |> List.forall (fun f -> k.GetProperty("call").GetString().Contains(f: string)))
    |> Seq.exactlyOne
    |> fun k ->
        Assert.That(k.GetProperty("explanation").GetString(), Is.Not.Empty)
        number k "value"

let private p = [| 0.2; 0.5; 0.2; 0.1 |]
let private q1 = [| 0.3; 0.4; 0.1; 0.2 |]
let private q2 = [| 0.1; 0.1; 0.1; 0.7 |]

[<Test>]
let ``kl --json compares the default P with both Q of the write-up, in every convention`` () =
    let r = succeed [ "kl"; "--json" ]
    let doc = json r.Out
    Assert.That(doc.GetProperty("command").GetString(), Is.EqualTo "kl")
    Check.arraysClose "p" 0.0 0.0 p (floats (doc.GetProperty "p"))
    let comparisons = [ for c in doc.GetProperty("comparisons").EnumerateArray() -> c ]
    Assert.That(comparisons.Length, Is.EqualTo 2)
    for c, q in List.zip comparisons [ q1; q2 ] do
        Check.arraysClose "q" 0.0 0.0 q (floats (c.GetProperty "q"))
        let klpq, klqp, jsd = kl p q, kl q p, js p q
        Check.arraysClose "KL(P||Q), KL(Q||P), JS" 1e-12 0.0 [| klpq; klqp; jsd |] [| number c "kl_pq"; number c "kl_qp"; number c "js" |]
        Check.arraysClose "terms" 1e-12 1e-15 (Array.map2 (fun a b -> a * log (a / b)) p q) (floats (c.GetProperty "terms"))
        let n = float p.Length
        Check.arraysClose "PyTorch reductions" 1e-12 0.0
            [| klpq; klpq; klpq / n; klpq; klqp |]
            [| convention c "PyTorch" [ "Q.log(), P, reduction='sum'" ]
               convention c "PyTorch" [ "Q.log(), P, reduction='batchmean')" ]
               convention c "PyTorch" [ "the default" ]
               convention c "PyTorch" [ "log_target=True" ]
               convention c "PyTorch" [ "P.log(), Q" ] |]
        // probabilities passed where log-probabilities belong: sum p (log p - q)
        let wrong = Array.map2 (fun a b -> a * (log a - b)) p q |> Array.sum
        Assert.That(convention c "PyTorch" [ "kl_div(Q, P" ], Is.EqualTo(wrong).Within(1e-12))
        Assert.That(convention c "MXNet" [ "1.8" ], Is.EqualTo(klpq / n).Within(1e-10))
        Assert.That(convention c "MXNet" [ "1.9" ], Is.EqualTo(klpq).Within(1e-10))
        let logSoftmaxQ = let lse = log (Array.sumBy exp q) in q |> Array.map (fun v -> v - lse)
        let mxnetOnProbabilities = Array.map2 (fun a lq -> a * (log (a + 1e-12) - lq)) p logSoftmaxQ |> Array.average
        Assert.That(convention c "MXNet" [ "from_logits=False" ], Is.EqualTo(mxnetOnProbabilities).Within(1e-12))

[<Test>]
let ``kl prints the divergences with one-line explanations of each convention`` () =
    let r = succeed [ "kl"; "--p"; "0.2,0.5,0.2,0.1"; "--q"; "0.3,0.4,0.1,0.2" ]
    let out = lines r.Out
    Assert.That(out[0], Is.EqualTo "P = [0.2, 0.5, 0.2, 0.1]")
    Assert.That(r.Out, Does.Contain(sprintf "KL(P||Q) = %.6f" (kl p q1)))
    Assert.That(r.Out, Does.Contain(sprintf "KL(Q||P) = %.6f" (kl q1 p)))
    Assert.That(r.Out, Does.Contain(sprintf "JS(P,Q)  = %.6f" (js p q1)))
    let conventions = out |> Array.filter (fun l -> l.TrimStart().StartsWith "PyTorch" || l.TrimStart().StartsWith "MXNet")
    Assert.That(conventions.Length, Is.EqualTo 9)
    let meanLine = conventions |> Array.find (fun l -> l.Contains "the default")
    Assert.That(meanLine, Does.Contain(sprintf "%.6f" (kl p q1 / 4.0)))
    Assert.That(meanLine, Does.Contain "not by the batch")

[<Test>]
let ``--from-logits takes raw scores and compares their softmax`` () =
    let sp, sq = [| 1.0; 2.0; -3.0 |], [| 0.5; -1.0; 2.0 |]
    let doc = json (succeed [ "kl"; "--from-logits"; "--p"; "1,2,-3"; "--q"; "0.5,-1,2"; "--json" ]).Out
    Assert.That(doc.GetProperty("from_logits").GetBoolean())
    let pp, qq = softmax sp, softmax sq
    Check.arraysClose "softmax P" 1e-12 0.0 pp (floats (doc.GetProperty "p"))
    let c = (doc.GetProperty "comparisons")[0]
    Check.arraysClose "KL and JS of the softmaxes" 1e-12 0.0 [| kl pp qq; kl qq pp; js pp qq |] [| number c "kl_pq"; number c "kl_qp"; number c "js" |]
    // MXNet with from_logits=False applies log_softmax itself: right for raw scores
    Assert.That(convention c "MXNet" [ "from_logits=False" ], Is.EqualTo(kl pp qq / 3.0).Within(1e-10))

[<Test>]
let ``P and Q can come from files, with comments and any separators`` () =
    let folder = freshFolder ()
    Directory.CreateDirectory folder |> ignore
    let pFile, qFile = Path.Combine(folder, "p.txt"), Path.Combine(folder, "q.txt")
    File.WriteAllText(pFile, "# P of the write-up\n0.2 0.5\n0.2, 0.1\n")
    File.WriteAllText(qFile, "0.3;0.4;0.1;0.2 # Q1\n")
    let doc = json (succeed [ "kl"; "--p-file"; pFile; "--q-file"; qFile; "--q"; "0.1,0.1,0.1,0.7"; "--json" ]).Out
    let comparisons = [ for c in doc.GetProperty("comparisons").EnumerateArray() -> number c "kl_pq" ]
    Check.arraysClose "KL(P||Q) from files and inline" 1e-12 0.0 [| kl p q1; kl p q2 |] (Array.ofList comparisons)

[<Test>]
let ``kl --out draws P and Q as bar charts and writes the values as CSV`` () =
    let folder = freshFolder ()
    let r = succeed [ "kl"; "--out"; folder ]
    Assert.That(r.Out, Does.Contain "wrote")
    // The pictures themselves are decoded and checked in Cli/PictureTests.fs.
    same "files written" [| "conventions.png"; "distributions.png"; "kl.csv"; "terms.png" |] (filesIn folder)
    let header, rows = csv (Path.Combine(folder, "kl.csv"))
    same "header" [| "q"; "quantity"; "value" |] (header)
    let klRow = rows |> Array.find (fun r -> r[0] = "Q1" && r[1] = "\"KL(P||Q)\"")
    Assert.That(float klRow[2], Is.EqualTo(kl p q1).Within(1e-12))

[<Test>]
let ``a Q that is zero where P is not gives an infinite KL(P||Q): inf in the text, null in JSON`` () =
    let text = (succeed [ "kl"; "--p"; "0.5,0.5"; "--q"; "1,0" ]).Out
    Assert.That(text, Does.Contain "KL(P||Q) = inf")
    Assert.That(text, Does.Contain "KL(P||Q) is infinite")
    let c = (json (succeed [ "kl"; "--p"; "0.5,0.5"; "--q"; "1,0"; "--json" ]).Out).GetProperty("comparisons")[0]
    Assert.That(c.GetProperty("kl_pq").ValueKind, Is.EqualTo JsonValueKind.Null)
    Assert.That(number c "kl_qp", Is.EqualTo(log 2.0).Within(1e-12))

/// Random categorical P and Q with `categories` entries from a seed, written as inline lists.
let private randomPair (seed: int) (categories: int) =
    let g = AutoKl.Generator(seed)
    let draw () =
        let raw = Array.init categories (fun _ -> 0.05 + g.NextUniform())
        raw |> Array.map (fun v -> v / Array.sum raw)
    let text (v: float[]) = v |> Array.map (fun x -> x.ToString("R", Globalization.CultureInfo.InvariantCulture)) |> String.concat ","
    let p, q = draw (), draw ()
    p, q, text p, text q

[<FsCheck.NUnit.Property(MaxTest = 25, QuietOnSuccess = true)>]
let ``for any P and Q the conventions relate to KL as the report says`` (seed: int) (size: FsCheck.PositiveInt) =
    let categories = 2 + size.Get % 9
    let p, q, pText, qText = randomPair seed categories
    let c = (json (succeed [ "kl"; "--p"; pText; "--q"; qText; "--json" ]).Out).GetProperty("comparisons")[0]
    let n = float categories
    let klpq, klqp = kl p q, kl q p
    // atol: MXNet adds 1e-12 inside its log, which moves its values by up to N * 1e-12.
    Check.arraysClose (sprintf "seed %d, %d categories" seed categories) 1e-9 1e-10
        [| klpq; klqp; js p q; klpq; klpq; klpq / n; klpq; klqp; klpq / n; klpq |]
        [| number c "kl_pq"; number c "kl_qp"; number c "js"
           convention c "PyTorch" [ "reduction='sum'" ]
           convention c "PyTorch" [ "Q.log(), P, reduction='batchmean')" ]
           convention c "PyTorch" [ "the default" ]
           convention c "PyTorch" [ "log_target=True" ]
           convention c "PyTorch" [ "P.log(), Q" ]
           convention c "MXNet" [ "1.8" ]
           convention c "MXNet" [ "1.9" ] |]
    Assert.That(number c "js", Is.LessThanOrEqualTo(log 2.0))

[<Test>]
let ``kl --from-logits stays exact for scores so far apart that softmax underflows`` () =
    // P = softmax(0, 0) = (1/2, 1/2); log softmax(0, 2000) = (-2000, 0) exactly, while softmax(0, 2000)
    // rounds its first entry to 0. KL(P||Q) = 1/2 (log 1/2 + 2000) + 1/2 log 1/2 = 1000 - log 2.
    let r = succeed [ "kl"; "--from-logits"; "--p"; "0,0"; "--q"; "0,2000"; "--json" ]
    let c = (json r.Out).GetProperty("comparisons").EnumerateArray() |> Seq.exactlyOne
    Assert.That(number c "kl_pq", Is.EqualTo(1000.0 - log 2.0).Within(1e-9))
    Assert.That(Double.IsFinite(number c "kl_qp"), Is.True, "KL(Q||P) is finite for finite scores")
    Assert.That(convention c "PyTorch" [ "reduction='sum'" ], Is.EqualTo(1000.0 - log 2.0).Within(1e-9))
