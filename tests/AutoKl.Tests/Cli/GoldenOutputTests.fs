/// The exact text `autokl kl` prints and the exact error line of each bad input, against files
/// captured from the command before its report code was split into modules: a refactor of the
/// output code must not change a byte. A deliberate rewording updates fixtures/cli with it.
/// (The fit's table is left to Cli.Fit: its numbers and timings are not byte-stable to compare.)
module AutoKl.Tests.Cli.GoldenOutputTests

open Expecto
open System
open System.IO
open AutoKl.Tests.Cli.CliSupport

let private fixture (name: string) = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "cli", name))

/// The invocations whose stdout is compared whole, with the file holding it.
let private outputs =
    [ [ "kl" ], "kl.txt"
      [ "kl"; "--json" ], "kl-json.txt"
      [ "kl"; "--p"; "0.5,0.5,0"; "--q"; "0.5,0.5,0" ], "kl-zero-categories.txt"
      [ "kl"; "--from-logits"; "--p"; "1,2,-3"; "--q"; "0.5,-1,2" ], "kl-from-logits.txt"
      [ "kl"; "--from-logits"; "--p"; "1,2,-3"; "--q"; "0.5,-1,2"; "--json" ], "kl-from-logits-json.txt"
      [ "kl"; "--p"; "0.5,0.5"; "--q"; "1,0" ], "kl-infinite.txt" ]

[<Tests>]
let tests =
    testList "Cli.Golden" [
        for args, file in outputs do
            testCase (String.Join(" ", args)) <| fun () ->
                let r = succeed args
                Expect.equal r.Err "" "nothing on stderr"
                Expect.equal r.Out (fixture file) (sprintf "stdout differs from fixtures/cli/%s" file)

        testCase "each bad input gives its exit code and its one error line, and nothing on stdout" <| fun () ->
            // One line per case: the arguments, the exit code and stderr, separated by tabs.
            let cases = (fixture "bad-inputs.tsv").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            Expect.isGreaterThanOrEqual cases.Length 15 "the fixture holds the cases"
            for line in cases do
                match line.Split '\t' with
                | [| args; code; err |] ->
                    let r = autokl (args.Split(' ') |> List.ofArray)
                    Expect.equal (r.Code, r.Err, r.Out) (int code, err + "\n", "") (sprintf "autokl %s" args)
                | _ -> failtestf "malformed fixture line: %s" line
    ]
