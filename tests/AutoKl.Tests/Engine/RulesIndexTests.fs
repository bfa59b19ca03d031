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

/// Rows `| \`op\` | \`file\` | ... |` of the table in docs/rules.md.
let private tableRows () =
    Regex.Matches(read "docs/rules.md", @"^\| `([a-z0-9_]+)` \| `([^`]+)` \|", RegexOptions.Multiline)
    |> Seq.map (fun m -> m.Groups.[1].Value, m.Groups.[2].Value)
    |> List.ofSeq

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
