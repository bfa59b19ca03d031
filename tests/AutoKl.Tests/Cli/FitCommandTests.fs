/// `autokl fit` end to end: the JSON contract, the table, the reference experiment against
/// PyTorch 1.13, the options reaching the optimizer, and the files written by --out.
module AutoKl.Tests.Cli.FitCommandTests

open System
open System.IO
open System.Text.Json
open NUnit.Framework
open AutoKl.Tests.Support
open AutoKl.Tests.Cli.CliSupport

let private referenceRun (name: string) =
    let root = Oracle.load [ "pytorch"; "reference_experiment.json" ]
    root.GetProperty("runs").EnumerateArray() |> Seq.find (fun r -> r.GetProperty("name").GetString() = name)

let private rowsOf (e: JsonElement) =
    [| for r in e.GetProperty("rows").EnumerateArray() ->
           r.GetProperty("step").GetInt32(), number r "loss", number r "mu", number r "sigma" |]

/// The fixture's first gradient of the float64 kl run at mu = 0, sigma = 1.
let private firstGrad () =
    let first = (referenceRun "a_kl_float64").GetProperty("first_steps")[0]
    first.GetProperty("grad_mu").GetDouble(), first.GetProperty("grad_sigma").GetDouble()

[<Test>]
let ``fit --json prints one document with settings, rows, final values and times`` () =
    let r = succeed [ "fit"; "--json"; "--steps"; "2000"; "--report-every"; "500" ]
    Assert.That(r.Err, Is.Empty)
    let doc = json r.Out
    Assert.That(doc.GetProperty("command").GetString(), Is.EqualTo "fit")
    let s = doc.GetProperty "settings"
    Assert.That(s.GetProperty("loss").GetString(), Is.EqualTo "kl")
    Assert.That(s.GetProperty("reduction").GetString(), Is.EqualTo "mean")
    Assert.That(s.GetProperty("dtype").GetString(), Is.EqualTo "float32")
    Assert.That(s.GetProperty("steps").GetInt32(), Is.EqualTo 2000)
    Assert.That(s.GetProperty("report_every").GetInt32(), Is.EqualTo 500)
    Assert.That(number s "mu0", Is.EqualTo 0.0)
    Assert.That(number s "sigma0", Is.EqualTo 1.0)
    let grid = s.GetProperty "grid"
    Assert.That((number grid "min", number grid "max", grid.GetProperty("size").GetInt32()), Is.EqualTo((-15.0, 15.0, 1000)))
    let target = [ for c in s.GetProperty("target").EnumerateArray() -> number c "mu", number c "sigma", number c "weight" ]
    same "target" [ (-5.0, 1.0, 1.0); (10.0, 1.0, 1.0) ] (target)
    let o = s.GetProperty "optimizer"
    Assert.That(o.GetProperty("name").GetString(), Is.EqualTo "adam")
    Assert.That(number o "lr", Is.EqualTo 1e-3)
    Assert.That(o.GetProperty("eps_placement").GetString(), Is.EqualTo "pytorch")
    let rows = rowsOf doc
    same "row steps" [| 1; 500; 1000; 1500; 2000 |] (rows |> Array.map (fun (step, _, _, _) -> step))
    for _, loss, mu, sigma in rows do
        Assert.That(Double.IsFinite loss && Double.IsFinite mu && sigma > 0.0, "finite row values")
    let final = doc.GetProperty "final"
    let _, _, lastMu, lastSigma = rows[rows.Length - 1]
    Assert.That(number final "mu", Is.EqualTo lastMu)
    Assert.That(number final "sigma", Is.EqualTo lastSigma)
    Assert.That(number final "loss", Is.LessThan(let _, l, _, _ = rows[0] in l))
    Assert.That(number doc "wall_seconds", Is.GreaterThan 0.0)
    Assert.That(number doc "compute_seconds", Is.GreaterThan 0.0)
    Assert.That(number doc "compute_seconds", Is.LessThanOrEqualTo(number doc "wall_seconds"))
    Assert.That(number doc "steps_per_second", Is.GreaterThan 0.0)
    Assert.That(number doc "cpu_seconds", Is.GreaterThan 0.0)

[<Test>]
let ``fit --dtype float64 reproduces PyTorch's float64 reference experiment at every 1000th step to 1e-9`` () =
    let run = referenceRun "a_kl_float64"
    let doc = json (succeed [ "fit"; "--dtype"; "float64"; "--json" ]).Out
    let actual = rowsOf doc
    let expected = rowsOf run
    same "steps" (expected |> Array.map (fun (s, _, _, _) -> s)) (actual |> Array.map (fun (s, _, _, _) -> s))
    for (step, l, m, s), (_, el, em, es) in Array.zip actual expected do
        Check.arraysClose (sprintf "step %d (loss, mu, sigma)" step) 1e-9 0.0 [| el; em; es |] [| l; m; s |]
    let final = run.GetProperty "final"
    Check.arraysClose "final mu, sigma" 1e-9 0.0 [| number final "mu"; number final "sigma" |]
        [| number (doc.GetProperty "final") "mu"; number (doc.GetProperty "final") "sigma" |]

[<Test>]
let ``fit in float32 (the default) follows PyTorch's float32 run within float32 noise`` () =
    let expected = rowsOf (referenceRun "a_kl_float32")
    let actual = rowsOf (json (succeed [ "fit"; "--json" ]).Out)
    for (step, l, m, s), (_, el, em, es) in Array.zip actual expected do
        Check.arraysClose (sprintf "step %d (loss, mu, sigma)" step) 1e-4 1e-6 [| el; em; es |] [| l; m; s |]

[<TestCase("b_mse_mu0", "mse", "0")>]
[<TestCase("c_mse_mu5", "mse", "5")>]
[<TestCase("d_negcos_mu5", "cosine", "5")>]
let ``the mse and cosine variants reproduce PyTorch's float64 runs`` (name: string, loss: string, mu: string) =
    let expected = rowsOf (referenceRun (name + "_float64"))
    let actual = rowsOf (json (succeed [ "fit"; "--loss"; loss; "--mu"; mu; "--dtype"; "float64"; "--json" ]).Out)
    Assert.That(actual.Length, Is.EqualTo expected.Length)
    for (step, l, m, s), (_, el, em, es) in Array.zip actual expected do
        Check.arraysClose (sprintf "%s step %d (loss, mu, sigma)" name step) 1e-8 1e-15 [| el; em; es |] [| l; m; s |]

[<Test>]
let ``the table prints step, loss, mu, sigma at each report interval and the final values`` () =
    let r = succeed [ "fit"; "--steps"; "3000"; "--dtype"; "float64" ]
    let doc = json (succeed [ "fit"; "--steps"; "3000"; "--dtype"; "float64"; "--json" ]).Out
    let out = lines r.Out
    let heading = out |> Array.findIndex (fun l -> l.Trim().StartsWith "step")
    same "table heading" [| "step"; "loss"; "mu"; "sigma" |] (out[heading].Split(' ', StringSplitOptions.RemoveEmptyEntries))
    let tableRows = out[heading + 1 .. heading + 4] |> Array.map (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
    let expected = rowsOf doc
    Assert.That(tableRows.Length, Is.EqualTo expected.Length)
    for cells, (step, loss, mu, sigma) in Array.zip tableRows expected do
        Assert.That(int cells[0], Is.EqualTo step)
        Check.arraysClose (sprintf "row %d" step) 1e-6 1e-6 [| loss; mu; sigma |] (cells[1..3] |> Array.map float)
    let final = out |> Array.find (fun l -> l.StartsWith "final:")
    let finalDoc = doc.GetProperty "final"
    Assert.That(final, Does.Contain(sprintf "mu = %.6f" (number finalDoc "mu")))
    Assert.That(final, Does.Contain(sprintf "sigma = %.6f" (number finalDoc "sigma")))
    Assert.That(r.Out, Does.Contain "3000 steps in")
    Assert.That(r.Out, Does.Contain "N(-5, 1) + N(10, 1)")

[<Test>]
let ``--quiet prints only the final values`` () =
    let r = succeed [ "fit"; "--steps"; "100"; "--quiet" ]
    let out = lines r.Out
    Assert.That(out.Length, Is.EqualTo 1)
    Assert.That(out[0], Does.StartWith "final: mu = ")

[<Test>]
let ``one SGD step moves mu and sigma by lr times the PyTorch gradient`` () =
    let gMu, gSigma = firstGrad ()
    let doc = json (succeed [ "fit"; "--optimizer"; "sgd"; "--lr"; "0.01"; "--steps"; "1"; "--dtype"; "float64"; "--json" ]).Out
    Check.arraysClose "mu, sigma after one step" 1e-12 1e-15 [| -0.01 * gMu; 1.0 - 0.01 * gSigma |]
        [| number (doc.GetProperty "final") "mu"; number (doc.GetProperty "final") "sigma" |]
    let maximized = json (succeed [ "fit"; "--optimizer"; "sgd"; "--lr"; "0.01"; "--maximize"; "--steps"; "1"; "--dtype"; "float64"; "--json" ]).Out
    Check.arraysClose "mu after one maximizing step" 1e-12 1e-15 [| 0.01 * gMu |] [| number (maximized.GetProperty "final") "mu" |]

[<Test>]
let ``--eps-placement chooses between PyTorch's and Kingma and Ba's first Adam step`` () =
    let gMu, gSigma = firstGrad ()
    let lr, eps, b1, b2 = 0.01, 0.1, 0.9, 0.999
    let step placement =
        let doc = json (succeed [ "fit"; "--lr"; "0.01"; "--eps"; "0.1"; "--eps-placement"; placement; "--steps"; "1"; "--dtype"; "float64"; "--json" ]).Out
        [| number (doc.GetProperty "final") "mu"; number (doc.GetProperty "final") "sigma" |]
    // m = (1-b1) g, v = (1-b2) g^2, t = 1
    let pytorch g = -(lr / (1.0 - b1)) * ((1.0 - b1) * g) / (sqrt ((1.0 - b2) * g * g) / sqrt (1.0 - b2) + eps)
    let kingmaBa g = -(lr * sqrt (1.0 - b2) / (1.0 - b1)) * ((1.0 - b1) * g) / (sqrt ((1.0 - b2) * g * g) + eps)
    Check.arraysClose "pytorch placement" 1e-12 1e-15 [| pytorch gMu; 1.0 + pytorch gSigma |] (step "pytorch")
    Check.arraysClose "kingma-ba placement" 1e-12 1e-15 [| kingmaBa gMu; 1.0 + kingmaBa gSigma |] (step "kingma-ba")

[<Test>]
let ``AdamW applies decoupled weight decay to the parameters`` () =
    let run extra =
        let doc = json (succeed ([ "fit"; "--optimizer"; "adamw"; "--steps"; "1"; "--dtype"; "float64"; "--mu"; "2"; "--json" ] @ extra)).Out
        number (doc.GetProperty "final") "mu", doc.GetProperty("settings").GetProperty("optimizer")
    let muDefault, settings = run []
    Assert.That(number settings "weight_decay", Is.EqualTo 0.01)
    let muNoDecay, _ = run [ "--weight-decay"; "0" ]
    // decoupled decay multiplies the parameter by 1 - lr * wd before the Adam update
    Assert.That(muDefault - muNoDecay, Is.EqualTo(-2.0 * 1e-3 * 0.01).Within(1e-12))

[<TestCase("kl")>]
[<TestCase("reverse-kl")>]
[<TestCase("mse")>]
[<TestCase("l1")>]
[<TestCase("cosine")>]
[<TestCase("js")>]
[<TestCase("wasserstein")>]
let ``every loss runs and lowers its value`` (loss: string) =
    let doc = json (succeed [ "fit"; "--loss"; loss; "--steps"; "300"; "--lr"; "0.01"; "--report-every"; "100"; "--json" ]).Out
    Assert.That(doc.GetProperty("settings").GetProperty("loss").GetString(), Is.EqualTo loss)
    let rows = rowsOf doc
    Assert.That(rows.Length, Is.EqualTo 4)
    let _, first, _, _ = rows[0]
    Assert.That(number (doc.GetProperty "final") "loss", Is.LessThan first)

[<Test>]
let ``--reduction sum multiplies the kl loss by the number of grid points`` () =
    let loss args = let doc = json (succeed ([ "fit"; "--steps"; "1"; "--dtype"; "float64"; "--json" ] @ args)).Out in let _, l, _, _ = (rowsOf doc)[0] in l
    let mean = loss []
    Assert.That(loss [ "--reduction"; "sum" ], Is.EqualTo(1000.0 * mean).Within(1e-9 * 1000.0 * mean))
    Assert.That(loss [ "--reduction"; "batchmean" ], Is.EqualTo(mean).Within(1e-12))

[<Test>]
let ``the target components, grid and random start are options`` () =
    let doc = json (succeed [ "fit"; "--component"; "0,2"; "--component"; "4,1,0.5"; "--grid-min"; "-10"; "--grid-max"; "10"
                              "--grid-size"; "200"; "--steps"; "10"; "--random-start"; "--seed"; "7"; "--json" ]).Out
    let s = doc.GetProperty "settings"
    let target = [ for c in s.GetProperty("target").EnumerateArray() -> number c "mu", number c "sigma", number c "weight" ]
    same "target" [ (0.0, 2.0, 1.0); (4.0, 1.0, 0.5) ] (target)
    Assert.That(s.GetProperty("grid").GetProperty("size").GetInt32(), Is.EqualTo 200)
    let mu0, sigma0 = number s "mu0", number s "sigma0"
    Assert.That(mu0, Is.InRange(-10.0, 10.0))
    Assert.That(sigma0, Is.InRange(0.5, 3.0))
    let again = json (succeed [ "fit"; "--grid-min"; "-10"; "--grid-max"; "10"; "--steps"; "1"; "--random-start"; "--seed"; "7"; "--json" ]).Out
    Assert.That(number (again.GetProperty "settings") "mu0", Is.EqualTo mu0)
    let other = json (succeed [ "fit"; "--grid-min"; "-10"; "--grid-max"; "10"; "--steps"; "1"; "--random-start"; "--seed"; "8"; "--json" ]).Out
    Assert.That(number (other.GetProperty "settings") "mu0", Is.Not.EqualTo mu0)

[<Test>]
let ``--out writes the loss curve, trajectory, final Q as PNG, the animation as GIF and the rows as CSV`` () =
    let folder = freshFolder ()
    let doc = json (succeed [ "fit"; "--steps"; "2000"; "--json"; "--out"; folder ]).Out
    // The pictures themselves are decoded and checked in Cli/PictureTests.fs.
    same "files written" [| "animation.gif"; "final.png"; "loss.png"; "rows.csv"; "trajectory.png" |] (filesIn folder)
    let header, rows = csv (Path.Combine(folder, "rows.csv"))
    same "header" [| "step"; "loss"; "mu"; "sigma" |] (header)
    let expected = rowsOf doc
    Assert.That(rows.Length, Is.EqualTo expected.Length)
    for cells, (step, loss, mu, sigma) in Array.zip rows expected do
        Assert.That(int cells[0], Is.EqualTo step)
        Check.arraysClose "csv row" 0.0 0.0 [| loss; mu; sigma |] (cells[1..3] |> Array.map float)

[<Test>]
let ``--compare fits several losses from the same start and draws their final Q in one picture`` () =
    let folder = freshFolder ()
    let doc = json (succeed [ "fit"; "--compare"; "kl,mse,cosine"; "--mu"; "5"; "--steps"; "500"; "--json"; "--out"; folder ]).Out
    let runs = [ for r in doc.GetProperty("runs").EnumerateArray() -> r ]
    same "losses of the runs" [ "kl"; "mse"; "cosine" ] (runs |> List.map (fun r -> r.GetProperty("loss").GetString()))
    for r in runs do
        same "first row" 1 (rowsOf r |> Array.head |> fun (step, _, _, _) -> step)
    same "files written" [| "compare-loss.png"; "compare.csv"; "compare.png"; "rows-cosine.csv"; "rows-kl.csv"; "rows-mse.csv" |] (filesIn folder)
    let header, rows = csv (Path.Combine(folder, "compare.csv"))
    same "header" [| "loss"; "mu"; "sigma"; "final_loss" |] (header)
    same "losses in compare.csv" [| "kl"; "mse"; "cosine" |] (rows |> Array.map (fun r -> r[0]))
    for r, run in List.zip (List.ofArray rows) runs do
        Assert.That(float r[1], Is.EqualTo(number (run.GetProperty "final") "mu"))

[<Test>]
let ``--compare prints a summary table`` () =
    let r = succeed [ "fit"; "--compare"; "kl,reverse-kl"; "--steps"; "200" ]
    let summary = lines r.Out |> Array.skipWhile (fun l -> not (l.StartsWith "loss ")) 
    Assert.That(summary.Length, Is.EqualTo 3)
    Assert.That(summary[1], Does.StartWith "kl ")
    Assert.That(summary[2], Does.StartWith "reverse-kl ")

[<Test>]
let ``on a terminal the rows are printed around a progress bar and the run still succeeds`` () =
    use out = new StringWriter()
    use err = new StringWriter()
    let io: AutoKl.Cli.Program.Io = { Out = out; Err = err; OutIsTerminal = true; ErrIsTerminal = true }
    let code = AutoKl.Cli.Program.runWith [| "fit"; "--steps"; "3000"; "--dtype"; "float64" |] io
    Assert.That(code, Is.EqualTo 0, err.ToString())
    let text = out.ToString()
    for row in [ "       1 "; "    1000 "; "    2000 "; "    3000 " ] do
        Assert.That(text, Does.Contain row)
    Assert.That(text, Does.Contain "final: mu = ")
    // the JSON stays clean when the bar goes to stderr
    use jsonOut = new StringWriter()
    let code = AutoKl.Cli.Program.runWith [| "fit"; "--steps"; "500"; "--json" |] { io with Out = jsonOut }
    Assert.That(code, Is.EqualTo 0)
    Assert.That((json (jsonOut.ToString())).GetProperty("rows").GetArrayLength(), Is.EqualTo 2)
