/// The test program: `dotnet run --project tests/AutoKl.Tests` runs every Expecto test in this
/// assembly (Expecto's own options apply, e.g. `-- --filter-test-list Engine`), exits non-zero on
/// any failure or error, and ends with the line `N passed, N failed` that CI reads.
module AutoKl.Tests.Main

open System
open Expecto
open Expecto.Impl

[<EntryPoint>]
let main argv =
    let mutable counts = None
    // Expecto's own summary is not in the plain form CI reads; errors count as failures.
    let remember (summary: TestRunSummary) =
        counts <- Some(summary.passed.Length, summary.failed.Length + summary.errored.Length)
    // The spinner's and the colours' control codes would share the closing line in a log.
    let plain = if Console.IsOutputRedirected then [ No_Spinner; Colours 0 ] else []
    let code =
        try Tests.runTestsInAssemblyWithCLIArgs (Append_Summary_Handler(SummaryHandler remember) :: plain) argv
        finally AutoKl.Tests.Cli.CliSupport.removeScratch () // the CLI tests' scratch folder, once all have run
    match counts with
    | Some(passed, failed) -> Console.Out.Write(sprintf "\n%d passed, %d failed\n" passed failed)
    | None -> () // --list-tests, --help and the like run nothing
    code
