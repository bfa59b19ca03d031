/// `autokl fit` end to end: the JSON contract, the table, the reference experiment against
/// PyTorch 1.13, the options reaching the optimizer, and the files written by --out.
module AutoKl.Tests.Cli.FitCommandTests

open Expecto
open System
open System.IO
open System.Text.Json
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

[<Tests>]
let tests =
    testList "Cli.Fit" [
        testCase "fit --json prints one document with settings, rows, final values and times" <| fun () ->
            let r = succeed [ "fit"; "--json"; "--steps"; "2000"; "--report-every"; "500" ]
            Expect.isEmpty r.Err "r.Err"
            let doc = json r.Out
            Expect.equal (doc.GetProperty("command").GetString()) "fit" "command"
            let s = doc.GetProperty "settings"
            Expect.equal (s.GetProperty("loss").GetString()) "kl" "loss"
            Expect.equal (s.GetProperty("reduction").GetString()) "mean" "reduction"
            Expect.equal (s.GetProperty("dtype").GetString()) "float32" "dtype"
            Expect.equal (s.GetProperty("steps").GetInt32()) 2000 "steps"
            Expect.equal (s.GetProperty("report_every").GetInt32()) 500 "report_every"
            Expect.equal (number s "mu0") 0.0 "mu0"
            Expect.equal (number s "sigma0") 1.0 "sigma0"
            let grid = s.GetProperty "grid"
            Expect.equal (number grid "min", number grid "max", grid.GetProperty("size").GetInt32()) (-15.0, 15.0, 1000) "grid min, max and size"
            let target = [ for c in s.GetProperty("target").EnumerateArray() -> number c "mu", number c "sigma", number c "weight" ]
            same "target" [ (-5.0, 1.0, 1.0); (10.0, 1.0, 1.0) ] target
            let o = s.GetProperty "optimizer"
            Expect.equal (o.GetProperty("name").GetString()) "adam" "name"
            Expect.equal (number o "lr") 1e-3 "lr"
            Expect.equal (o.GetProperty("eps_placement").GetString()) "pytorch" "eps_placement"
            let rows = rowsOf doc
            same "row steps" [| 1; 500; 1000; 1500; 2000 |] (rows |> Array.map (fun (step, _, _, _) -> step))
            for _, loss, mu, sigma in rows do
                Expect.isTrue (Double.IsFinite loss && Double.IsFinite mu && sigma > 0.0) "finite row values"
            let final = doc.GetProperty "final"
            let _, _, lastMu, lastSigma = rows[rows.Length - 1]
            Expect.equal (number final "mu") lastMu "mu"
            Expect.equal (number final "sigma") lastSigma "sigma"
            Expect.isLessThan (number final "loss") (let _, l, _, _ = rows[0] in l) "loss"
            Expect.isGreaterThan (number doc "wall_seconds") 0.0 "wall_seconds"
            Expect.isGreaterThan (number doc "compute_seconds") 0.0 "compute_seconds"
            Expect.isLessThanOrEqual (number doc "compute_seconds") (number doc "wall_seconds") "compute_seconds"
            Expect.isGreaterThan (number doc "steps_per_second") 0.0 "steps_per_second"
            Expect.isGreaterThan (number doc "cpu_seconds") 0.0 "cpu_seconds"

        testCase "fit --dtype float64 reproduces PyTorch's float64 reference experiment at every 1000th step to 1e-9" <| fun () ->
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

        testCase "fit in float32 (the default) follows PyTorch's float32 run within float32 noise" <| fun () ->
            let expected = rowsOf (referenceRun "a_kl_float32")
            let actual = rowsOf (json (succeed [ "fit"; "--json" ]).Out)
            for (step, l, m, s), (_, el, em, es) in Array.zip actual expected do
                Check.arraysClose (sprintf "step %d (loss, mu, sigma)" step) 1e-4 1e-6 [| el; em; es |] [| l; m; s |]

        testList "the mse and cosine variants reproduce PyTorch's float64 runs" [
            for name, loss, mu in
                [ "b_mse_mu0", "mse", "0"
                  "c_mse_mu5", "mse", "5"
                  "d_negcos_mu5", "cosine", "5" ] ->
                testCase (sprintf "%s (--loss %s --mu %s)" name loss mu) <| fun () ->
                    let expected = rowsOf (referenceRun (name + "_float64"))
                    let actual = rowsOf (json (succeed [ "fit"; "--loss"; loss; "--mu"; mu; "--dtype"; "float64"; "--json" ]).Out)
                    Expect.equal actual.Length expected.Length "number of actual"
                    for (step, l, m, s), (_, el, em, es) in Array.zip actual expected do
                        Check.arraysClose (sprintf "%s step %d (loss, mu, sigma)" name step) 1e-8 1e-15 [| el; em; es |] [| l; m; s |]
        ]

        testCase "the table prints step, loss, mu, sigma at each report interval and the final values" <| fun () ->
            let r = succeed [ "fit"; "--steps"; "3000"; "--dtype"; "float64" ]
            let doc = json (succeed [ "fit"; "--steps"; "3000"; "--dtype"; "float64"; "--json" ]).Out
            let out = lines r.Out
            let heading = out |> Array.findIndex (fun l -> l.Trim().StartsWith "step")
            same "table heading" [| "step"; "loss"; "mu"; "sigma" |] (out[heading].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            let tableRows = out[heading + 1 .. heading + 4] |> Array.map (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            let expected = rowsOf doc
            Expect.equal tableRows.Length expected.Length "number of tableRows"
            for cells, (step, loss, mu, sigma) in Array.zip tableRows expected do
                Expect.equal (int cells[0]) step "int cells[0]"
                Check.arraysClose (sprintf "row %d" step) 1e-6 1e-6 [| loss; mu; sigma |] (cells[1..3] |> Array.map float)
            let final = out |> Array.find (fun l -> l.StartsWith "final:")
            let finalDoc = doc.GetProperty "final"
            Expect.stringContains final (sprintf "mu = %.6f" (number finalDoc "mu")) "final"
            Expect.stringContains final (sprintf "sigma = %.6f" (number finalDoc "sigma")) "final"
            Expect.stringContains r.Out "3000 steps in" "r.Out"
            Expect.stringContains r.Out "N(-5, 1) + N(10, 1)" "r.Out"

        testCase "--quiet prints only the final values" <| fun () ->
            let r = succeed [ "fit"; "--steps"; "100"; "--quiet" ]
            let out = lines r.Out
            Expect.equal out.Length 1 "number of out"
            Expect.stringStarts out[0] "final: mu = " "out[0]"

        testCase "one SGD step moves mu and sigma by lr times the PyTorch gradient" <| fun () ->
            let gMu, gSigma = firstGrad ()
            let doc = json (succeed [ "fit"; "--optimizer"; "sgd"; "--lr"; "0.01"; "--steps"; "1"; "--dtype"; "float64"; "--json" ]).Out
            Check.arraysClose "mu, sigma after one step" 1e-12 1e-15 [| -0.01 * gMu; 1.0 - 0.01 * gSigma |]
                [| number (doc.GetProperty "final") "mu"; number (doc.GetProperty "final") "sigma" |]
            let maximized = json (succeed [ "fit"; "--optimizer"; "sgd"; "--lr"; "0.01"; "--maximize"; "--steps"; "1"; "--dtype"; "float64"; "--json" ]).Out
            Check.arraysClose "mu after one maximizing step" 1e-12 1e-15 [| 0.01 * gMu |] [| number (maximized.GetProperty "final") "mu" |]

        testCase "--eps-placement chooses between PyTorch's and Kingma and Ba's first Adam step" <| fun () ->
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

        testCase "AdamW applies decoupled weight decay to the parameters" <| fun () ->
            let run extra =
                let doc = json (succeed ([ "fit"; "--optimizer"; "adamw"; "--steps"; "1"; "--dtype"; "float64"; "--mu"; "2"; "--json" ] @ extra)).Out
                number (doc.GetProperty "final") "mu", doc.GetProperty("settings").GetProperty("optimizer")
            let muDefault, settings = run []
            Expect.equal (number settings "weight_decay") 0.01 "weight_decay"
            let muNoDecay, _ = run [ "--weight-decay"; "0" ]
            // decoupled decay multiplies the parameter by 1 - lr * wd before the Adam update
            Expect.floatClose { absolute = 1e-12; relative = 0.0 } (muDefault - muNoDecay) (-2.0 * 1e-3 * 0.01) "muDefault - muNoDecay"

        testList "every loss runs and lowers its value" [
            for loss in
                [ "kl"
                  "reverse-kl"
                  "mse"
                  "l1"
                  "cosine"
                  "js"
                  "wasserstein" ] ->
                testCase loss <| fun () ->
                    let doc = json (succeed [ "fit"; "--loss"; loss; "--steps"; "300"; "--lr"; "0.01"; "--report-every"; "100"; "--json" ]).Out
                    Expect.equal (doc.GetProperty("settings").GetProperty("loss").GetString()) loss "settings loss"
                    let rows = rowsOf doc
                    Expect.equal rows.Length 4 "number of rows"
                    let _, first, _, _ = rows[0]
                    Expect.isLessThan (number (doc.GetProperty "final") "loss") first "number (doc.GetProperty \"final\") \"loss\""
        ]

        testCase "--reduction sum multiplies the kl loss by the number of grid points" <| fun () ->
            let loss args = let doc = json (succeed ([ "fit"; "--steps"; "1"; "--dtype"; "float64"; "--json" ] @ args)).Out in let _, l, _, _ = (rowsOf doc)[0] in l
            let mean = loss []
            Expect.floatClose { absolute = 1e-9 * 1000.0 * mean; relative = 0.0 } (loss [ "--reduction"; "sum" ]) (1000.0 * mean) "loss [ \"--reduction\"; \"sum\" ]"
            Expect.floatClose { absolute = 1e-12; relative = 0.0 } (loss [ "--reduction"; "batchmean" ]) mean "loss [ \"--reduction\"; \"batchmean\" ]"

        testCase "the target components, grid and random start are options" <| fun () ->
            let doc = json (succeed [ "fit"; "--component"; "0,2"; "--component"; "4,1,0.5"; "--grid-min"; "-10"; "--grid-max"; "10"
                                      "--grid-size"; "200"; "--steps"; "10"; "--random-start"; "--seed"; "7"; "--json" ]).Out
            let s = doc.GetProperty "settings"
            let target = [ for c in s.GetProperty("target").EnumerateArray() -> number c "mu", number c "sigma", number c "weight" ]
            same "target" [ (0.0, 2.0, 1.0); (4.0, 1.0, 0.5) ] target
            Expect.equal (s.GetProperty("grid").GetProperty("size").GetInt32()) 200 "grid size"
            let mu0, sigma0 = number s "mu0", number s "sigma0"
            Expect.isTrue (mu0 >= -10.0 && mu0 <= 10.0) (sprintf "random mu %g in [-10, 10]" mu0)
            Expect.isTrue (sigma0 >= 0.5 && sigma0 <= 3.0) (sprintf "random sigma %g in [0.5, 3]" sigma0)
            let again = json (succeed [ "fit"; "--grid-min"; "-10"; "--grid-max"; "10"; "--steps"; "1"; "--random-start"; "--seed"; "7"; "--json" ]).Out
            Expect.equal (number (again.GetProperty "settings") "mu0") mu0 "number (again.GetProperty \"settings\") \"mu0\""
            let other = json (succeed [ "fit"; "--grid-min"; "-10"; "--grid-max"; "10"; "--steps"; "1"; "--random-start"; "--seed"; "8"; "--json" ]).Out
            Expect.notEqual (number (other.GetProperty "settings") "mu0") mu0 "number (other.GetProperty \"settings\") \"mu0\""

        testCase "--out writes the loss curve, trajectory, final Q as PNG, the animation as GIF and the rows as CSV" <| fun () ->
            let folder = freshFolder ()
            let doc = json (succeed [ "fit"; "--steps"; "2000"; "--json"; "--out"; folder ]).Out
            // The pictures themselves are decoded and checked in Cli/PictureTests.fs.
            same "files written" [| "animation.gif"; "final.png"; "loss.png"; "rows.csv"; "trajectory.png" |] (filesIn folder)
            let header, rows = csv (Path.Combine(folder, "rows.csv"))
            same "header" [| "step"; "loss"; "mu"; "sigma" |] header
            let expected = rowsOf doc
            Expect.equal rows.Length expected.Length "number of rows"
            for cells, (step, loss, mu, sigma) in Array.zip rows expected do
                Expect.equal (int cells[0]) step "int cells[0]"
                Check.arraysClose "csv row" 0.0 0.0 [| loss; mu; sigma |] (cells[1..3] |> Array.map float)

        testCase "--compare fits several losses from the same start and draws their final Q in one picture" <| fun () ->
            let folder = freshFolder ()
            let doc = json (succeed [ "fit"; "--compare"; "kl,mse,cosine"; "--mu"; "5"; "--steps"; "500"; "--json"; "--out"; folder ]).Out
            let runs = [ for r in doc.GetProperty("runs").EnumerateArray() -> r ]
            same "losses of the runs" [ "kl"; "mse"; "cosine" ] (runs |> List.map (fun r -> r.GetProperty("loss").GetString()))
            for r in runs do
                same "first row" 1 (rowsOf r |> Array.head |> fun (step, _, _, _) -> step)
            same "files written" [| "compare-loss.png"; "compare.csv"; "compare.png"; "rows-cosine.csv"; "rows-kl.csv"; "rows-mse.csv" |] (filesIn folder)
            let header, rows = csv (Path.Combine(folder, "compare.csv"))
            same "header" [| "loss"; "mu"; "sigma"; "final_loss" |] header
            same "losses in compare.csv" [| "kl"; "mse"; "cosine" |] (rows |> Array.map (fun r -> r[0]))
            for r, run in List.zip (List.ofArray rows) runs do
                Expect.equal (float r[1]) (number (run.GetProperty "final") "mu") "float r[1]"

        testCase "--compare prints a summary table" <| fun () ->
            let r = succeed [ "fit"; "--compare"; "kl,reverse-kl"; "--steps"; "200" ]
            let summary = lines r.Out |> Array.skipWhile (fun l -> not (l.StartsWith "loss ")) 
            Expect.equal summary.Length 3 "number of summary"
            Expect.stringStarts summary[1] "kl " "summary[1]"
            Expect.stringStarts summary[2] "reverse-kl " "summary[2]"

        testCase "on a terminal the rows are printed around a progress bar and the run still succeeds" <| fun () ->
            use out = new StringWriter()
            use err = new StringWriter()
            let io: AutoKl.Cli.Program.Io = { Out = out; Err = err; OutIsTerminal = true; ErrIsTerminal = true }
            let code = AutoKl.Cli.Program.runWith [| "fit"; "--steps"; "3000"; "--dtype"; "float64" |] io
            Expect.equal code 0 (err.ToString())
            let text = out.ToString()
            for row in [ "       1 "; "    1000 "; "    2000 "; "    3000 " ] do
                Expect.stringContains text row "text"
            Expect.stringContains text "final: mu = " "text"
            // the JSON stays clean when the bar goes to stderr
            use jsonOut = new StringWriter()
            let code = AutoKl.Cli.Program.runWith [| "fit"; "--steps"; "500"; "--json" |] { io with Out = jsonOut }
            Expect.equal code 0 "code"
            Expect.equal ((json (jsonOut.ToString())).GetProperty("rows").GetArrayLength()) 2 "number of rows"
    ]
