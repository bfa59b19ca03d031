/// Running `autokl` in-process and reading what it wrote: stdout/stderr text, JSON, SVG, CSV.
module AutoKl.Tests.Cli.CliSupport

open System
open System.IO
open System.Text.Json
open System.Xml.Linq
open Expecto

/// What one run of the command produced.
type Outcome = { Code: int; Out: string; Err: string }

/// Runs `autokl args` in-process with captured stdout and stderr.
let autokl (args: string list) =
    use out = new StringWriter()
    use err = new StringWriter()
    let code = AutoKl.Cli.Program.run (Array.ofList args) out err
    { Code = code; Out = out.ToString(); Err = err.ToString() }

/// Runs and insists on success, showing stderr otherwise.
let succeed (args: string list) =
    let r = autokl args
    if r.Code <> 0 then failtestf "autokl %s exited with %d: %s" (String.Join(" ", args)) r.Code r.Err
    r

/// This test run's scratch folder (per process, so concurrent runs do not meet).
let scratch = Path.Combine(Path.GetTempPath(), "autokl-cli-tests", string Environment.ProcessId)

/// A fresh folder path under the scratch folder (not created).
let freshFolder () = Path.Combine(scratch, Guid.NewGuid().ToString("N"))

/// Removes the scratch folder; the test program calls it once every test has run.
let removeScratch () =
    if Directory.Exists scratch then Directory.Delete(scratch, true)

/// Every file under a folder (none when it does not exist), as names relative to it.
let filesIn (folder: string) =
    if Directory.Exists folder then
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
        |> Array.map (fun f -> Path.GetRelativePath(folder, f))
        |> Array.sort
    else [||]

/// The non-empty lines of a text.
let lines (text: string) =
    text.Split('\n') |> Array.map (fun l -> l.TrimEnd('\r')) |> Array.filter (fun l -> l.Trim() <> "")

/// Parses stdout as exactly one JSON document.
let json (text: string) = JsonDocument.Parse(text).RootElement

let number (e: JsonElement) (name: string) =
    let p = e.GetProperty name
    Expect.equal p.ValueKind JsonValueKind.Number (sprintf "%s should be a number" name)
    p.GetDouble()

let svgNamespace = XNamespace.Get "http://www.w3.org/2000/svg"

/// Loads a file as XML and checks that its root is an SVG <svg> element.
let svg (path: string) =
    let doc = XDocument.Load path
    Expect.equal doc.Root.Name (svgNamespace + "svg") (sprintf "%s: root element" path)
    doc

/// Elements of an SVG by local name.
let elements (doc: XDocument) (name: string) = doc.Descendants(svgNamespace + name) |> List.ofSeq

/// A CSV file as header and rows of cells (no quoted commas in these files except where noted).
let csv (path: string) =
    let all = File.ReadAllLines path |> Array.filter (fun l -> l <> "")
    Expect.isGreaterThanOrEqual all.Length 1 (sprintf "%s: no header" path)
    all[0].Split(','), all[1..] |> Array.map (fun l -> l.Split(','))

/// Asserts the one-line error of a failed run: exit code 2 (or given), a single stderr line
/// starting "autokl: " that contains every fragment, and nothing on stdout.
let failsWith (code: int) (fragments: string list) (r: Outcome) =
    Expect.equal r.Code code (sprintf "exit code (stderr: %s)" r.Err)
    let errLines = lines r.Err
    Expect.equal errLines.Length 1 (sprintf "stderr should be one line, got: %s" r.Err)
    Expect.stringStarts errLines[0] "autokl: " "error message"
    for f in fragments do
        Expect.stringContains errLines[0] f "error message"

/// Structural equality of lists, arrays and tuples, with both values shown on failure.
let same (what: string) (expected: 'a) (actual: 'a) =
    if actual <> expected then failtestf "%s: expected %A, got %A" what expected actual
