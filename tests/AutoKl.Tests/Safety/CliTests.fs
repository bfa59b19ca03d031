/// Issue 10, sections 4 and 7: the command line's defects found by a hostile run, and a fuzz of
/// random options, values and malformed numbers.
module AutoKl.Tests.Safety.CliTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open FsCheck
open FsCheck.FSharp
open AutoKl.Tests.Cli.CliSupport

/// exit code 2 and one stderr line "autokl: ..." with every fragment.
let refused (code: int) (fragments: string list) (args: string list) =
    let r = autokl args
    let joined = String.Join(" ", args)
    Expect.equal r.Code code (sprintf "exit code of 'autokl %s' (stderr: %s)" joined r.Err)
    let errLines = lines r.Err
    Expect.equal errLines.Length 1 (sprintf "one stderr line for 'autokl %s', got: %s" joined r.Err)
    Expect.stringStarts errLines[0] "autokl: " "the error line"
    for f in fragments do
        Expect.stringContains errLines[0] f (sprintf "the error of 'autokl %s'" joined)
    r

/// A .NET type name or an exception's class in a message.
let leaksDotNet (text: string) =
    text.Contains "unexpected error"
    || Regex.IsMatch(text, @"\bSystem\.[A-Z]\w+")
    || Regex.IsMatch(text, @"\b\w+Exception\b")

let scratchFile (name: string) (bytes: byte[]) =
    Directory.CreateDirectory scratch |> ignore
    let path = Path.Combine(scratch, name)
    File.WriteAllBytes(path, bytes)
    path

[<Tests>]
let defects =
    testList "Safety.Cli" [
        testCase "numbers with a comma are refused, naming the option and the text" <| fun () ->
            for option, text in [ "--lr", "0,001"; "--sigma", "0,5"; "--mu", "1,5"; "--grid-min", "-1,5"; "--eps", "1,0e-8"; "--beta1", "0,9"; "--steps", "1,000" ] do
                refused 2 [ option; sprintf "'%s'" text; "not" ] [ "fit"; option; text ] |> ignore

        testCase "invariant numbers still work, negative ones included, and 1e3 is a whole number" <| fun () ->
            let r = autokl [ "fit"; "--grid-min"; "-1.5e1"; "--mu"; "-5"; "--steps"; "1e1"; "--quiet" ]
            Expect.equal r.Code 0 r.Err
            Expect.stringContains r.Out "final: mu = -4.99" "the fit ran from mu = -5"

        testCase "values the grid or the dtype cannot hold are refused before any work" <| fun () ->
            refused 2 [ "--grid-min"; "--grid-max"; "too far apart" ] [ "fit"; "--grid-min"; "-1e308"; "--grid-max"; "1e308" ] |> ignore
            refused 2 [ "--component" ] [ "fit"; "--component"; "0,1e300,1e300" ] |> ignore
            refused 2 [ "--component"; "not finite" ] [ "fit"; "--grid-min"; "-1"; "--grid-max"; "1"; "--grid-size"; "3"; "--component"; "0,0.001,1e308"; "--dtype"; "float64"; "--steps"; "3" ] |> ignore
            refused 2 [ "--sigma"; "1e-300"; "float32" ] [ "fit"; "--sigma"; "1e-300" ] |> ignore
            refused 2 [ "--steps"; "at most" ] [ "fit"; "--steps"; "2147483647" ] |> ignore
            refused 2 [ "--grid-size"; "at most" ] [ "fit"; "--grid-size"; "2147483647" ] |> ignore
            refused 2 [ "--steps"; "out of range" ] [ "fit"; "--steps"; "99999999999" ] |> ignore
            refused 2 [ "--mu"; "grid widths" ] [ "fit"; "--mu"; "1e6" ] |> ignore
            refused 2 [ "--component"; "0 everywhere" ] [ "fit"; "--component"; "1000,1" ] |> ignore

        testCase "a fit that leaves the grid by orders of magnitude is a diverged fit (exit 1)" <| fun () ->
            refused 1 [ "diverged"; "grid"; "--lr" ] [ "fit"; "--lr"; "1e10"; "--steps"; "200"; "--quiet" ] |> ignore

        testCase "a binary --p-file: the error shows no control characters" <| fun () ->
            let path = scratchFile (sprintf "binary-%s.txt" (Guid.NewGuid().ToString("N"))) [| 1uy; 2uy; byte 'a'; 27uy; byte '['; byte '3'; byte '1'; byte 'm'; byte ','; byte '1' |]
            try
                let r = refused 2 [ "--p-file"; "not a number" ] [ "kl"; "--p-file"; path; "--q"; "0.5,0.5" ]
                Expect.isFalse (r.Err.TrimEnd() |> Seq.exists Char.IsControl) "no control character on stderr"
            finally File.Delete path

        testCase "an endless --p-file (/dev/zero) stops at a sane size with a clear error" <| fun () ->
            if File.Exists "/dev/zero" then
                refused 2 [ "--p-file"; "longer than" ] [ "kl"; "--p-file"; "/dev/zero"; "--q"; "0.5,0.5" ] |> ignore

        testCase "stale temporary files of the same target are removed on the next --out" <| fun () ->
            let folder = freshFolder ()
            Directory.CreateDirectory folder |> ignore
            let stale = Path.Combine(folder, sprintf ".rows.csv.%s.tmp" (Guid.NewGuid().ToString("N")))
            let other = Path.Combine(folder, ".notes.txt.tmp")
            File.WriteAllText(stale, "half")
            File.WriteAllText(other, "not ours")
            try
                let r = autokl [ "fit"; "--steps"; "3"; "--quiet"; "--out"; folder ]
                Expect.equal r.Code 0 r.Err
                Expect.isFalse (File.Exists stale) "the stale temporary file of rows.csv is gone"
                Expect.isTrue (File.Exists other) "a file that is not one of ours stays"
                Expect.isEmpty (Directory.GetFiles(folder, ".*.tmp") |> Array.filter (fun f -> f <> other)) "no temporary file left"
            finally Directory.Delete(folder, true)
    ]

// ---- the fuzz --------------------------------------------------------------------------------

let fitOptions =
    [ "--component"; "--grid-min"; "--grid-max"; "--grid-size"; "--loss"; "--reduction"; "--optimizer"; "--lr"; "--beta1"
      "--beta2"; "--eps"; "--eps-placement"; "--weight-decay"; "--amsgrad"; "--momentum"; "--dampening"; "--nesterov"
      "--maximize"; "--steps"; "--mu"; "--sigma"; "--dtype"; "--seed"; "--random-start"; "--report-every"; "--quiet"
      "--json"; "--compare"; "--bogus"; "-c"; "-n" ]

let klOptions = [ "--p"; "--q"; "--p-file"; "--q-file"; "--from-logits"; "--json"; "--frob" ]

/// Values: ordinary numbers, malformed numbers, extremes, names, lists and paths.
let values =
    [ "0"; "1"; "-1"; "2"; "5"; "0.5"; "1e-3"; "-5"; "10"; "3"; "0,5"; "1,5"; "-1,5"; "0,001"; "1.0e-8"; "1,0e-8"; "1e"; "e5"
      "."; "-"; "--"; ""; " "; "nan"; "NaN"; "inf"; "-Infinity"; "1e308"; "-1e308"; "1e-300"; "1e300"; "1e400"; "0x10"
      "2147483647"; "99999999999"; "-2147483648"; "1.5"; "1e3"; "٣"; "１"; "1 000"; "1_000"; "+3"; "\u0001"; "a\u001b[2Jb"
      "kl"; "mse"; "js,kl"; "reverse-kl,cosine"; "float64"; "float32"; "sgd"; "adamw"; "mean"; "batchmean"; "kingma-ba"
      "0.2,0.5,0.3"; "0.5,0.5"; "0.5,0.5,0"; "1,0"; "-0.2,1.2"; "0,1,1"; "0,1e300,1e300"; "1,2,3,4"; "0.5;0.5"
      "/dev/zero"; "/nonexistent/file"; "/"; "/etc/hostname" ]

/// A command line: a subcommand, then options each followed (or not) by a value; a fit always
/// gets a small step count first unless the generated options set one (keeps each run short).
let commandLines =
    gen {
        let! fit = Gen.elements [ true; true; false ]
        let options = if fit then fitOptions else klOptions
        let! n = Gen.choose (0, 4)
        let! pairs =
            Gen.listOfLength n (gen {
                let! o = Gen.elements options
                let! withValue = Gen.frequency [ 4, Gen.constant true; 1, Gen.constant false ]
                let! v = Gen.elements values
                return if withValue then [ o; v ] else [ o ] })
        let args = List.concat pairs
        // Steps and grid sizes stay small so the fuzz stays fast: a valid large value would run.
        let safe =
            args
            |> List.pairwise
            |> List.forall (fun (o, v) ->
                not ((o = "--steps" || o = "-n" || o = "--grid-size" || o = "--report-every") && v.Length > 2 && Char.IsDigit v[0] && not (v.Contains ",")))
        let args = if fit && not (List.contains "--steps" args || List.contains "-n" args) then [ "--steps"; "5" ] @ args else args
        return (if fit then "fit" else "kl") :: args, safe
    }

[<Tests>]
let fuzz =
    testList "Safety.CliFuzz" [
        testPropertyWithConfig { FsCheckConfig.defaultConfig with maxTest = 300; arbitrary = [] } "every run exits 0, 1 or 2 with one clear line on failure" <|
            Prop.forAll (Arb.fromGen commandLines) (fun (args, safe) ->
                if safe then
                    let r = autokl args
                    let joined = String.Join(" ", args)
                    Expect.contains [ 0; 1; 2 ] r.Code (sprintf "exit code of 'autokl %s'" joined)
                    if r.Code <> 0 then
                        let errLines = lines r.Err
                        Expect.equal errLines.Length 1 (sprintf "one stderr line for 'autokl %s', got: %s" joined r.Err)
                        Expect.stringStarts errLines[0] "autokl: " "the error line"
                        Expect.isFalse (r.Err.TrimEnd() |> Seq.exists Char.IsControl) (sprintf "control characters on stderr for 'autokl %s'" joined)
                    Expect.isFalse (leaksDotNet r.Err) (sprintf "'autokl %s' leaked a .NET name: %s" joined r.Err)
                    Expect.isFalse (leaksDotNet r.Out) (sprintf "'autokl %s' printed a .NET name: %s" joined r.Out))
    ]
