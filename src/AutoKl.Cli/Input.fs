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

/// Control characters (and lone surrogates) shown as \uXXXX, everything else as it is.
let escaped (text: string) =
    text
    |> Seq.map (fun c -> if Char.IsControl c || Char.IsSurrogate c then sprintf "\\u%04x" (int c) else string c)
    |> String.concat ""

/// The user's text as it may appear in a one-line message: control characters (a binary file's
/// bytes, escape sequences) shown as \uXXXX, and at most 60 characters.
let printable (text: string) =
    let shown = escaped text
    if shown.Length > 60 then shown.Substring(0, 57) + "..." else shown

/// Why a text is not a number, with a hint for the likely mistake.
let private notANumber (what: string) (text: string) =
    if text.Contains ',' then
        fail "%s: '%s' is not a number (write decimals with a point, e.g. 0.5; numbers are read in invariant notation)" what (printable text)
    else fail "%s: '%s' is not a number" what (printable text)

/// A finite number in invariant notation ("0.25", "-5", "1e-3"); no thousands separators.
let number (what: string) (text: string) =
    let trimmed = text.Trim()
    match Double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture) with
    | true, v when Double.IsFinite v -> v
    | true, _ -> fail "%s: '%s' is not a finite number" what (printable trimmed)
    | _ -> notANumber what trimmed

/// A whole number in invariant notation ("1000", "-3", "1e4") that fits a 32-bit integer.
let integer (what: string) (text: string) =
    let trimmed = text.Trim()
    match Int32.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) with
    | true, v -> v
    | _ ->
        match Double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Math.Round v = v && abs v <= float Int32.MaxValue -> int v
        | true, v when Math.Round v = v && Double.IsFinite v ->
            fail "%s: '%s' is out of range (at most %d)" what (printable trimmed) Int32.MaxValue
        | true, _ -> fail "%s: '%s' is not a whole number" what (printable trimmed)
        | _ -> if trimmed.Contains ',' || trimmed.Contains '.' then fail "%s: '%s' is not a whole number" what (printable trimmed) else notANumber what trimmed

/// Numbers separated by commas, semicolons or white space (newlines included).
let numberList (what: string) (text: string) =
    let parts = text.Split([| ','; ';'; ' '; '\t'; '\r'; '\n' |], StringSplitOptions.RemoveEmptyEntries)
    if parts.Length = 0 then fail "%s: no numbers given" what
    parts |> Array.map (number what)

/// The largest file of numbers read (far more than any distribution needs; /dev/zero never ends).
let maxFileChars = 16 * 1024 * 1024

/// The text of a file, refusing one longer than maxFileChars characters.
let private readCapped (what: string) (path: string) =
    try
        use reader = new StreamReader(path)
        let buffer = Array.zeroCreate<char> (maxFileChars + 1)
        let mutable n = 0
        let mutable reading = true
        while reading && n < buffer.Length do
            let k = reader.Read(buffer, n, buffer.Length - n)
            if k = 0 then reading <- false else n <- n + k
        if n > maxFileChars then
            fail "%s: '%s' is longer than %d MB; a file of numbers is expected" what (escaped path) (maxFileChars / 1024 / 1024)
        String(buffer, 0, n)
    with
    | InputError _ -> reraise ()
    | e -> fail "%s: cannot read '%s': %s" what (escaped path) (firstLine e.Message)

/// Numbers read from a file (separated as in numberList; lines starting with '#' are comments).
let numberFile (what: string) (path: string) =
    if Directory.Exists path then fail "%s: '%s' is a folder, not a file" what (escaped path)
    if not (File.Exists path) then fail "%s: file '%s' not found" what (escaped path)
    let text = (readCapped what path).Split('\n')
    let body =
        text
        |> Array.map (fun line -> match line.IndexOf '#' with -1 -> line | i -> line.Substring(0, i))
        |> String.concat "\n"
    if String.IsNullOrWhiteSpace body then fail "%s: file '%s' holds no numbers" what (escaped path)
    numberList (sprintf "%s (file '%s')" what (escaped path)) body

/// One of a fixed set of names (case-insensitive); the error lists the accepted names.
let choice (what: string) (options: (string * 'a) list) (text: string) =
    let key = text.Trim().ToLowerInvariant()
    match options |> List.tryFind (fun (name, _) -> name = key) with
    | Some(_, value) -> value
    | None -> fail "%s: unknown value '%s' (expected %s)" what (printable text) (options |> List.map fst |> String.concat ", ")

/// Checks a number against a condition, naming the option when it fails.
let require (condition: bool) (what: string) (rule: string) (value: obj) =
    if not condition then fail "%s must be %s, got %O" what rule value

/// The command-line name of a value in a (name, value) table such as `choice` reads.
let nameOf (options: (string * 'a) list) (value: 'a) = options |> List.find (fun (_, v) -> v = value) |> fst
