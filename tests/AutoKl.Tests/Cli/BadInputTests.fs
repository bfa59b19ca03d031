/// Bad input gets one line on stderr naming the problem, a non-zero exit code, and leaves no
/// output files; --help prints the usage.
module AutoKl.Tests.Cli.BadInputTests

open Expecto
open System.IO
open AutoKl.Tests.Cli.CliSupport

[<Tests>]
let tests =
    testList "Cli.BadInput" [
        testList "bad arguments get a one-line error and exit code 2" [
            for command, fragment in
                [ "fit --bogus", "unrecognized argument: '--bogus'"
                  "kl --frobnicate 3", "unrecognized argument: '--frobnicate'"
                  "train", "unrecognized argument: 'train'"
                  "fit --lr abc", "--lr"
                  "fit --steps 1.5", "--steps"
                  "fit --component 1,x", "--component: 'x' is not a number"
                  "fit --component 1,2,3,4", "--component: expected MU,SIGMA"
                  "kl --p 0.2,abc,0.8 --q 0.5,0.2,0.3", "--p: 'abc' is not a number"
                  "kl --p 0.5,0.5 --q 0.5,nan", "--q: 'nan' is not a finite number"
                  "kl --p -0.2,1.2 --q 0.5,0.5", "P has a negative probability -0.2 at position 1"
                  "kl --p 0.5,0.5 --q 1.5,-0.5", "Q has a negative probability -0.5 at position 2"
                  "kl --p 0.5,0.5 --q 0.2,0.3,0.5", "P has 2 values but Q has 3"
                  "kl --p 0.5,0.6 --q 0.5,0.5", "P sums to 1.1, not 1"
                  "kl --p 0.5,0.5", "--q: give at least one Q"
                  "fit --sigma 0", "--sigma must be > 0, got 0"
                  "fit --sigma -1", "--sigma must be > 0, got -1"
                  "fit --component 3,0", "--component sigma must be > 0, got 0"
                  "fit --steps 0", "--steps must be > 0, got 0"
                  "fit --steps -5", "--steps must be > 0, got -5"
                  "fit --report-every 0", "--report-every must be > 0"
                  "fit --lr -0.1", "--lr must be > 0"
                  "fit --beta1 1", "--beta1 must be in [0, 1)"
                  "fit --loss hinge", "--loss: unknown value 'hinge' (expected kl, reverse-kl, mse, l1, cosine, js, wasserstein)"
                  "fit --reduction none", "--reduction: unknown value 'none'"
                  "fit --loss cosine --reduction sum", "--reduction applies to kl, mse and l1 only"
                  "fit --optimizer rmsprop", "--optimizer: unknown value 'rmsprop'"
                  "fit --eps-placement tf", "--eps-placement: unknown value 'tf'"
                  "fit --dtype float16", "--dtype: unknown value 'float16'"
                  "fit --momentum 0.9", "--momentum applies to sgd only"
                  "fit --optimizer sgd --nesterov", "--nesterov needs --momentum > 0"
                  "fit --grid-min 5 --grid-max 5", "--grid-min (5) must be less than --grid-max (5)"
                  "fit --compare kl,foo", "--compare: unknown value 'foo'" ] ->
                testCase command <| fun () ->
                    autokl (List.ofArray (command.Split ' ')) |> failsWith 2 [ fragment ]
                    |> ignore
        ]

        testCase "a missing or unreadable file is named in the error" <| fun () ->
            let folder = freshFolder ()
            Directory.CreateDirectory folder |> ignore
            let missing = Path.Combine(folder, "missing.txt")
            autokl [ "kl"; "--p-file"; missing; "--q"; "0.5,0.5" ] |> failsWith 2 [ "--p-file: file '"; "missing.txt' not found" ]
            autokl [ "kl"; "--p"; "0.5,0.5"; "--q-file"; folder ] |> failsWith 2 [ "--q-file"; "is a folder, not a file" ]
            let garbage = Path.Combine(folder, "garbage.txt")
            File.WriteAllText(garbage, "0.5 zero.five")
            autokl [ "kl"; "--p"; "0.5,0.5"; "--q-file"; garbage ] |> failsWith 2 [ "garbage.txt"; "'zero.five' is not a number" ]
            let empty = Path.Combine(folder, "empty.txt")
            File.WriteAllText(empty, "# nothing\n")
            autokl [ "kl"; "--p-file"; empty; "--q"; "1" ] |> failsWith 2 [ "holds no numbers" ]

        testCase "an output folder that cannot be written is refused before anything runs" <| fun () ->
            let folder = freshFolder ()
            Directory.CreateDirectory folder |> ignore
            let file = Path.Combine(folder, "a-file")
            File.WriteAllText(file, "x")
            let r = autokl [ "fit"; "--out"; Path.Combine(file, "plots") ]
            r |> failsWith 2 [ "--out: cannot create folder"; "is a file" ]
            Expect.isEmpty r.Out "nothing ran"
            autokl [ "kl"; "--out"; file ] |> failsWith 2 [ "--out:"; "is a file, not a folder" ]
            same "files written" [| "a-file" |] (filesIn folder)

        testCase "a failing run leaves no output files" <| fun () ->
            // validation fails after --out was seen: the folder is not even created
            let folder = freshFolder ()
            autokl [ "fit"; "--steps"; "0"; "--out"; folder ] |> failsWith 2 [ "--steps" ]
            Expect.isFalse (Directory.Exists folder) "Directory.Exists folder"
            // the fit diverges (gradient ascent drives sigma below 0): exit code 1, no files
            let r = autokl [ "fit"; "--optimizer"; "sgd"; "--lr"; "1"; "--maximize"; "--out"; folder; "--json" ]
            r |> failsWith 1 [ "the fit diverged at step 1"; "--lr" ]
            Expect.isEmpty r.Out "no JSON for a failed run"
            Expect.isEmpty (filesIn folder) "filesIn folder"
            // a name in the folder is taken by a sub-folder: refused before any file is written
            Directory.CreateDirectory(Path.Combine(folder, "rows.csv")) |> ignore
            autokl [ "fit"; "--steps"; "10"; "--out"; folder; "--quiet" ] |> failsWith 2 [ "rows.csv"; "a folder of that name exists" ]
            Expect.isEmpty (filesIn folder) "filesIn folder"
            same "folder entries" [| "rows.csv" |] (Directory.GetFileSystemEntries folder |> Array.map Path.GetFileName)

        testCase "--help prints the usage and exits 0" <| fun () ->
            let top = succeed [ "--help" ]
            Expect.stringContains top.Out "USAGE: autokl" "top.Out"
            Expect.stringContains top.Out "fit" "top.Out"
            Expect.stringContains top.Out "kl" "top.Out"
            let fit = succeed [ "fit"; "--help" ]
            for option in [ "--loss"; "--reduction"; "--optimizer"; "--eps-placement"; "--lr"; "--steps"; "--mu"; "--sigma"; "--dtype"
                            "--seed"; "--report-every"; "--quiet"; "--json"; "--out"; "--compare"; "--component"; "--grid-min" ] do
                Expect.stringContains fit.Out option "fit.Out"
            let kl = succeed [ "kl"; "--help" ]
            for option in [ "--p"; "--q"; "--p-file"; "--q-file"; "--from-logits"; "--json"; "--out" ] do
                Expect.stringContains kl.Out option "kl.Out"

        testCase "no command is an error that points to --help" <| fun () ->
            autokl [] |> failsWith 2 [ "--help" ]
    ]
