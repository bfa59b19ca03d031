/// Turning the user's text (numbers, lists, files, choices) into values, with one-line errors
/// that name the option and the text at fault.
module AutoKl.Cli.Input

open System
open System.Globalization
open System.IO

/// Bad input (arguments, files, output folder): reported as one line on stderr, exit code 2.
exception InputError of string

/// A run that started but could not finish (the fit diverged): one line on stderr, exit code 1.
exception RunError of string

/// Raises an InputError with a printf-style message.
let fail fmt = Printf.ksprintf (fun message -> raise (InputError message)) fmt

/// The first line of a (possibly multi-line) message, trimmed.
let firstLine (message: string) =
    let text = if isNull message then "" else message.Trim()
    match text.IndexOfAny([| '\r'; '\n' |]) with
    | -1 -> text
    | i -> text.Substring(0, i).Trim()

/// A finite number in invariant notation ("0.25", "-5", "1e-3").
let number (what: string) (text: string) =
    let trimmed = text.Trim()
    match Double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture) with
    | true, v when Double.IsFinite v -> v
    | true, _ -> fail "%s: '%s' is not a finite number" what trimmed
    | _ -> fail "%s: '%s' is not a number" what trimmed

/// Numbers separated by commas, semicolons or white space (newlines included).
let numberList (what: string) (text: string) =
    let parts = text.Split([| ','; ';'; ' '; '\t'; '\r'; '\n' |], StringSplitOptions.RemoveEmptyEntries)
    if parts.Length = 0 then fail "%s: no numbers given" what
    parts |> Array.map (number what)

/// Numbers read from a file (separated as in numberList; lines starting with '#' are comments).
let numberFile (what: string) (path: string) =
    if Directory.Exists path then fail "%s: '%s' is a folder, not a file" what path
    if not (File.Exists path) then fail "%s: file '%s' not found" what path
    let text =
        try File.ReadAllLines path
        with e -> fail "%s: cannot read '%s': %s" what path (firstLine e.Message)
    let body =
        text
        |> Array.map (fun line -> match line.IndexOf '#' with -1 -> line | i -> line.Substring(0, i))
        |> String.concat "\n"
    if String.IsNullOrWhiteSpace body then fail "%s: file '%s' holds no numbers" what path
    numberList (sprintf "%s (file '%s')" what path) body

/// One of a fixed set of names (case-insensitive); the error lists the accepted names.
let choice (what: string) (options: (string * 'a) list) (text: string) =
    let key = text.Trim().ToLowerInvariant()
    match options |> List.tryFind (fun (name, _) -> name = key) with
    | Some(_, value) -> value
    | None -> fail "%s: unknown value '%s' (expected %s)" what text (options |> List.map fst |> String.concat ", ")

/// Checks a number against a condition, naming the option when it fails.
let require (condition: bool) (what: string) (rule: string) (value: obj) =
    if not condition then fail "%s must be %s, got %O" what rule value

/// The command-line name of a value in a (name, value) table such as `choice` reads.
let nameOf (options: (string * 'a) list) (value: 'a) = options |> List.find (fun (_, v) -> v = value) |> fst
