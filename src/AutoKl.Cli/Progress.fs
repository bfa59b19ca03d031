/// Progress while a fit runs: a Spectre.Console bar with rate and time left on a terminal,
/// nothing extra when the output is redirected (the table rows are the plain progress lines).
module AutoKl.Cli.Progress

open System
open System.IO
open Spectre.Console
open Spectre.Console.Rendering

/// Shows "12,345 steps/s" from the task's measured speed.
type private RateColumn() =
    inherit ProgressColumn()
    override _.Render(_options, task, _deltaTime) =
        if task.Speed.HasValue then Text(sprintf "%8.0f steps/s" task.Speed.Value) :> IRenderable
        else Text("") :> IRenderable

/// Where rows and progress go while a fit runs.
type Sink =
    { /// Called after every step; the implementation throttles itself.
      Step: int -> unit
      /// Prints one line of the table as soon as it is known.
      Line: string -> unit }

/// Runs `body` with a progress bar on `terminal` (a writer attached to a terminal): table lines
/// are printed above the bar, which is cleared at the end. `label` names the task.
let withBar (terminal: TextWriter) (label: string) (total: int) (printLines: bool) (body: Sink -> 'a) : 'a =
    // The caller has decided that `terminal` is one; colours still follow Spectre's detection
    // (NO_COLOR, TERM).
    let console =
        AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput(terminal), Interactive = InteractionSupport.Yes))
    let mutable result = Unchecked.defaultof<'a>
    // Spectre hides the cursor while the bar runs and shows it again when the bar ends; a Ctrl-C
    // or a kill ends the process first, so show it from the handlers too (a no-op when shown).
    let showCursor () =
        try
            terminal.Write "\u001b[?25h"
            terminal.Flush()
        with _ -> ()
    let onCancel = ConsoleCancelEventHandler(fun _ _ -> showCursor ())
    let onExit = EventHandler(fun _ _ -> showCursor ())
    Console.CancelKeyPress.AddHandler onCancel
    AppDomain.CurrentDomain.ProcessExit.AddHandler onExit
    use _restore =
        { new IDisposable with
            member _.Dispose() =
                Console.CancelKeyPress.RemoveHandler onCancel
                AppDomain.CurrentDomain.ProcessExit.RemoveHandler onExit }
    console
        .Progress()
        .AutoClear(true)
        .HideCompleted(true)
        .Columns(
            [| TaskDescriptionColumn() :> ProgressColumn
               ProgressBarColumn()
               PercentageColumn()
               RateColumn()
               RemainingTimeColumn()
               SpinnerColumn() |])
        .Start(fun ctx ->
            let task = ctx.AddTask(label, true, float total)
            let every = max 1 (total / 500)
            let sink =
                { Step = fun step -> if step % every = 0 || step = total then task.Value <- float step
                  Line = fun line -> if printLines then console.WriteLine(line, Style.Plain) }
            result <- body sink)
    result

/// No bar: lines go straight to `output` (or nowhere when `output` is None).
let plain (output: TextWriter option) (body: Sink -> 'a) : 'a =
    body
        { Step = ignore
          Line = fun line -> output |> Option.iter (fun w -> w.WriteLine line) }
