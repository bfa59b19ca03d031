/// The `autokl` command: parses and validates everything first, then runs `fit` or `kl`,
/// prints a table/report or one JSON document, and writes the --out files last (atomically).
/// Exit codes: 0 success (and --help), 2 bad input (arguments, files, output folder),
/// 1 a run that could not finish (the fit diverged) or an unexpected error.
module AutoKl.Cli.Program

open System
open System.Diagnostics
open System.IO
open Argu
open AutoKl
open AutoKl.Cli.Arguments
open AutoKl.Cli.Input

/// Where the command writes, and whether each stream is a terminal (for the progress bar).
type Io =
    { Out: TextWriter
      Err: TextWriter
      OutIsTerminal: bool
      ErrIsTerminal: bool }

// ---- fit ----------------------------------------------------------------------------------

/// Runs one fit with the progress display that suits the output.
let private fitOnce (io: Io) (settings: FitSettings) (json: bool) (quiet: bool) =
    let label = sprintf "fitting (%s)" (LossKind.name settings.Loss)
    let printRows = not json && not quiet
    let body (sink: Progress.Sink) = Experiment.run settings sink.Step (fun row -> sink.Line(FitText.tableRow row))
    if quiet then Progress.plain None body
    elif json then
        if io.ErrIsTerminal then Progress.withBar io.Err label settings.Steps false body else Progress.plain None body
    elif io.OutIsTerminal then Progress.withBar io.Out label settings.Steps printRows body
    else Progress.plain (Some io.Out) body

let private runFit (io: Io) (a: ParseResults<FitArgs>) =
    let wall = Stopwatch.StartNew()
    let settings, compare = ReadSettings.fit a
    let json, quiet = a.Contains FitArgs.Json, a.Contains FitArgs.Quiet
    let out = a.TryGetResult FitArgs.Out
    let formats = ReadSettings.pictureFormats (a.TryGetResult FitArgs.Format) out
    out |> Option.iter OutputFiles.checkWritable
    let start = Experiment.start settings
    let say (lines: string list) = if not json && not quiet then lines |> List.iter io.Out.WriteLine
    let written (files: string list) = say [ sprintf "wrote %s" (String.Join(", ", files)) ]
    match compare with
    | None ->
        say (FitText.header settings start)
        let result = fitOnce io settings json quiet
        say (FitText.footer result)
        if quiet && not json then io.Out.WriteLine(FitText.quiet result)
        out |> Option.iter (fun dir -> OutputFiles.writeAll dir (FitFiles.ofRun formats result) |> written)
        if json then io.Out.WriteLine(FitJson.ofRun result start wall.Elapsed.TotalSeconds)
    | Some losses ->
        let results =
            losses
            |> List.map (fun loss ->
                let reduction = if List.contains loss LossKind.reducible then settings.Reduction else MeanReduction
                let s = { settings with Loss = loss; Reduction = reduction }
                say (FitText.header s start)
                let result = fitOnce io s json quiet
                say (FitText.footer result @ [ "" ])
                result)
        say (FitText.compareTable results)
        if quiet && not json then
            for result in results do io.Out.WriteLine(sprintf "%s %s" (LossKind.name result.Settings.Loss) (FitText.quiet result))
        out |> Option.iter (fun dir -> OutputFiles.writeAll dir (FitFiles.ofComparison formats results) |> written)
        if json then io.Out.WriteLine(FitJson.ofComparison results start wall.Elapsed.TotalSeconds)
    0

// ---- kl -----------------------------------------------------------------------------------

let private runKl (io: Io) (a: ParseResults<KlArgs>) =
    let settings = ReadSettings.kl a
    let out = a.TryGetResult KlArgs.Out
    let formats = ReadSettings.pictureFormats (a.TryGetResult KlArgs.Format) out
    out |> Option.iter OutputFiles.checkWritable
    let result = KlComparison.compute settings
    let json = a.Contains KlArgs.Json
    if not json then KlText.lines result |> List.iter io.Out.WriteLine
    out |> Option.iter (fun dir ->
        let files = OutputFiles.writeAll dir (KlFiles.ofResult formats result)
        if not json then io.Out.WriteLine(sprintf "\nwrote %s" (String.Join(", ", files))))
    if json then io.Out.WriteLine(KlJson.ofResult result)
    0

// ---- entry points -------------------------------------------------------------------------

/// Argu's message without its "ERROR: " prefix and usage block.
let private arguMessage (e: ArguParseException) =
    let line = firstLine e.Message
    let line = if line.StartsWith("ERROR: ", StringComparison.Ordinal) then line.Substring 7 else line
    line.TrimEnd('.')

/// Runs the command with the given streams; returns the exit code. Never throws.
let runWith (argv: string[]) (io: Io) : int =
    let error (code: int) (message: string) =
        // One line, whatever the message carries (text from a binary file, a newline in a name).
        let line = message |> Seq.map (fun c -> if Char.IsControl c then ' ' else c) |> Seq.toArray |> String
        io.Err.WriteLine("autokl: " + line)
        code
    try
        let parsed = parser.ParseCommandLine(argv, raiseOnUsage = true)
        match parsed.GetSubCommand() with
        | Fit a -> runFit io a
        | Kl a -> runKl io a
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText ->
        io.Out.WriteLine(e.Message.TrimEnd())
        0
    | :? ArguParseException as e ->
        let command = if argv.Length > 0 && (argv[0] = "fit" || argv[0] = "kl") then argv[0] + " " else ""
        error 2 (sprintf "%s (see 'autokl %s--help')" (arguMessage e) command)
    | InputError message -> error 2 message
    | RunError message -> error 1 message
    | :? AutoKlException as e -> error 1 (firstLine e.Message)
    | e ->
        if Environment.GetEnvironmentVariable "AUTOKL_DEBUG" = "1" then io.Err.WriteLine(e.ToString())
        error 1 (sprintf "unexpected error: %s" (firstLine e.Message))

/// Runs the command in-process (tests): the writers are never treated as terminals.
let run (argv: string[]) (stdout: TextWriter) (stderr: TextWriter) : int =
    runWith argv { Out = stdout; Err = stderr; OutIsTerminal = false; ErrIsTerminal = false }

[<EntryPoint>]
let main argv =
    runWith argv
        { Out = Console.Out
          Err = Console.Error
          OutIsTerminal = not Console.IsOutputRedirected
          ErrIsTerminal = not Console.IsErrorRedirected }
