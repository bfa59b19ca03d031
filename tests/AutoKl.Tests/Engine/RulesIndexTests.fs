/// The index of derivative rules (docs/rules.md) and the README's layout table say where the
/// code is; these tests read the sources so that neither can drift from them.
module AutoKl.Tests.Engine.RulesIndexTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto

/// The repository's root: the nearest folder above the test assembly holding AutoKl.sln.
let private root =
    lazy
        (let rec up (dir: DirectoryInfo) =
            if isNull dir then failwith "AutoKl.sln not found above the test assembly"
            elif File.Exists(Path.Combine(dir.FullName, "AutoKl.sln")) then dir.FullName
            else up dir.Parent
         up (DirectoryInfo AppContext.BaseDirectory))

let private read (relative: string) = File.ReadAllText(Path.Combine(root.Value, relative))

let private relativePath (full: string) = Path.GetRelativePath(root.Value, full).Replace('\\', '/')

/// Every op recorded on the tape under a literal name, with the file recording it.
let private recordedOps () =
    Directory.GetFiles(Path.Combine(root.Value, "src/AutoKl"), "*.cs", SearchOption.AllDirectories)
    |> Seq.collect (fun file ->
        let text = File.ReadAllText file
        // Record(output, "name", ...): the output expression may hold calls and strings of its own.
        Regex.Matches(text, @"\bRecord\((?:[^;]*?),\s*""([a-z0-9_]+)""\s*,")
        |> Seq.map (fun m -> m.Groups.[1].Value, relativePath file))
    |> Seq.distinct
    |> List.ofSeq

/// One row of the table in docs/rules.md: the op, the file recording it, and its forward rule
/// (a JVP formula in short, or "reverse-only (why)").
type RuleRow =
    { Op: string
      File: string
      Jvp: string }

    /// True when the row marks the op reverse-only (declared without a JVP on purpose).
    member this.ReverseOnly = this.Jvp.StartsWith "reverse-only"

/// Rows `| \`op\` | \`file\` | JVP | kernel |` of the table in docs/rules.md.
let rulesTable () =
    Regex.Matches(read "docs/rules.md", @"^\| `([a-z0-9_]+)` \| `([^`]+)` \| ([^|]*?) \| [^|]*\|\s*$", RegexOptions.Multiline)
    |> Seq.map (fun m -> { Op = m.Groups.[1].Value; File = m.Groups.[2].Value; Jvp = m.Groups.[3].Value.Trim() })
    |> List.ofSeq

let private tableRows () = rulesTable () |> List.map (fun r -> r.Op, r.File)

/// The index of the parenthesis closing the one at `openAt`, skipping comments, strings (with
/// the holes of interpolated strings, which may hold strings of their own) and char literals.
let private closingParen (text: string) (openAt: int) =
    let n = text.Length
    // Returns the index just past a string literal starting at i (at its opening quote or prefix).
    let rec skipString (i: int) =
        let mutable j = i
        let mutable interpolated, verbatim = false, false
        while text.[j] <> '"' do
            if text.[j] = '$' then interpolated <- true
            if text.[j] = '@' then verbatim <- true
            j <- j + 1
        j <- j + 1
        let mutable fin = false
        while not fin do
            let c = text.[j]
            if c = '\\' && not verbatim then j <- j + 2
            elif c = '"' && verbatim && j + 1 < n && text.[j + 1] = '"' then j <- j + 2
            elif c = '"' then j <- j + 1; fin <- true
            elif interpolated && c = '{' && text.[j + 1] = '{' then j <- j + 2
            elif interpolated && c = '{' then j <- skipCode (j + 1) '}'
            else j <- j + 1
        j
    // Returns the index of the closer that ends code starting at i (nested brackets balanced).
    and skipCode (i: int) (closer: char) =
        let mutable j = i
        let mutable depth = 0
        let mutable result = -1
        while result < 0 do
            if j >= n then failwithf "no closing '%c' after position %d" closer i
            let c = text.[j]
            if c = '/' && text.[j + 1] = '/' then
                while j < n && text.[j] <> '\n' do j <- j + 1
            elif c = '/' && text.[j + 1] = '*' then
                j <- text.IndexOf("*/", j + 2) + 2
            elif c = '"' || ((c = '$' || c = '@') && (text.[j + 1] = '"' || ((text.[j + 1] = '$' || text.[j + 1] = '@') && text.[j + 2] = '"'))) then
                j <- skipString j
            elif c = '\'' then
                j <- text.IndexOf('\'', j + (if text.[j + 1] = '\\' then 3 else 2)) + 1
            else
                if c = '(' || c = '[' || c = '{' then depth <- depth + 1
                elif (c = ')' || c = ']' || c = '}') && depth > 0 then depth <- depth - 1
                elif c = closer then result <- j
                j <- j + 1
        result
    skipCode (openAt + 1) ')'

/// Every `Record(...)` call naming its op by a literal: the op, the file, and whether the call
/// declares a forward rule (`jvp:` with anything but null).
let private recordCalls () =
    Directory.GetFiles(Path.Combine(root.Value, "src/AutoKl"), "*.cs", SearchOption.AllDirectories)
    |> Seq.collect (fun file ->
        let text = File.ReadAllText file
        Regex.Matches(text, @"\bRecord\((?:[^;]*?),\s*""([a-z0-9_]+)""\s*,")
        |> Seq.map (fun m ->
            let openAt = m.Index + m.Value.IndexOf '('
            let call = text.Substring(openAt, closingParen text openAt - openAt + 1)
            m.Groups.[1].Value, relativePath file, Regex.IsMatch(call, @"\bjvp:\s*(?!null\b)")))
    |> List.ofSeq

[<Tests>]
let tests =
    testList "Engine.RulesIndex" [
        testCase "every op recorded on the tape is in docs/rules.md, with the file that records it" <| fun () ->
            let rows = tableRows () |> Map.ofList
            Expect.isGreaterThan rows.Count 50 "the table was read"
            for op, file in recordedOps () do
                match rows.TryFind op with
                | None -> failtestf "op '%s' (recorded in %s) is missing from docs/rules.md" op file
                | Some listed -> Expect.equal listed file (sprintf "docs/rules.md says '%s' is in %s" op listed)

        testCase "every op in docs/rules.md is recorded by name in the file it names" <| fun () ->
            let rows = tableRows ()
            Expect.equal (rows |> List.map fst |> List.distinct |> List.length) rows.Length "each op listed once"
            for op, file in rows do
                let path = Path.Combine(root.Value, file)
                Expect.isTrue (File.Exists path) (sprintf "'%s': %s exists" op file)
                // max and min are recorded through one helper that takes the name as an argument.
                let text = File.ReadAllText path
                Expect.isTrue (text.Contains(sprintf "\"%s\"" op)) (sprintf "'%s' is named in %s" op file)
                Expect.isTrue (text.Contains "Record(") (sprintf "%s records ops" file)

        testCase "every row gives a forward rule: a JVP formula, or reverse-only with its reason" <| fun () ->
            for row in rulesTable () do
                Expect.isNotEmpty row.Jvp (sprintf "'%s' has a JVP cell" row.Op)
                if row.ReverseOnly then
                    Expect.isTrue (Regex.IsMatch(row.Jvp, @"^reverse-only \(.+\)$")) (sprintf "'%s' says why it is reverse-only: %s" row.Op row.Jvp)
                else
                    Expect.isTrue (row.Jvp.StartsWith "`") (sprintf "'%s' gives its JVP as a formula in code: %s" row.Op row.Jvp)

        testCase "a row with a JVP formula is recorded with jvp:, and a reverse-only row without" <| fun () ->
            let rows = rulesTable () |> List.map (fun r -> r.Op, r) |> Map.ofList
            let calls = recordCalls ()
            Expect.isGreaterThan calls.Length 50 "the Record calls were read"
            for op, file, hasJvp in calls do
                match rows.TryFind op with
                | None -> failtestf "op '%s' (recorded in %s) is missing from docs/rules.md" op file
                | Some row when row.ReverseOnly && hasJvp ->
                    failtestf "docs/rules.md marks '%s' reverse-only, but its Record call in %s declares a jvp: give its formula in the JVP column" op file
                | Some row when not row.ReverseOnly && not hasJvp ->
                    failtestf "docs/rules.md gives '%s' the JVP %s, but a Record call in %s declares none (it is reverse-only): add jvp: to the call, or mark the row reverse-only (why)" op row.Jvp file
                | Some _ -> ()
            // Ops recorded through a helper that takes the name as an argument (max and min) have no
            // literal Record call; the helper's own call must then declare a forward rule if they claim one.
            let literal = calls |> List.map (fun (op, _, _) -> op) |> Set.ofList
            for row in rulesTable () do
                if not (literal.Contains row.Op) && not row.ReverseOnly then
                    Expect.stringContains (read row.File) "jvp:" (sprintf "'%s' (recorded by a helper in %s) has a forward rule" row.Op row.File)

        testCase "the scanner of Record calls reads whole calls: strings, comments and lambdas with parentheses" <| fun () ->
            let calls = recordCalls ()
            let find op = calls |> List.filter (fun (o, _, _) -> o = op)
            // pow's call spans a block of lambdas with comments holding apostrophes and parentheses,
            // and its jvp comes last; trigamma's holds an interpolated string, and no jvp; kl_div's
            // (FusedOps.Record) has lambdas over several lines before its jvp; normal_log_prob's none.
            Expect.equal (find "pow" |> List.map (fun (_, _, j) -> j)) [ true; true; true ] "the three pow calls declare a jvp"
            Expect.equal (find "trigamma" |> List.map (fun (_, _, j) -> j)) [ false ] "trigamma declares none"
            Expect.equal (find "kl_div" |> List.map (fun (_, _, j) -> j)) [ true ] "kl_div declares one"
            Expect.equal (find "normal_log_prob" |> List.map (fun (_, _, j) -> j)) [ false ] "normal_log_prob declares none"
            Expect.equal (find "floor" |> List.map (fun (_, _, j) -> j)) [ true ] "jvp: _ => null is a rule (the zero tangent)"

        testCase "the README's layout table names every folder of the engine and every Ops file" <| fun () ->
            let readme = read "README.md"
            for dir in Directory.GetDirectories(Path.Combine(root.Value, "src/AutoKl")) do
                let name = Path.GetFileName dir
                if name <> "bin" && name <> "obj" then
                    Expect.stringContains readme (sprintf "`src/AutoKl/%s`" name) (sprintf "README names src/AutoKl/%s" name)
            for file in Directory.GetFiles(Path.Combine(root.Value, "src/AutoKl/Ops"), "*.cs") do
                let name = Path.GetFileNameWithoutExtension file
                Expect.stringContains readme (sprintf "`%s`" name) (sprintf "README's Ops row names %s" name)
            Expect.stringContains readme "docs/rules.md" "README points to the index of rules"
    ]
