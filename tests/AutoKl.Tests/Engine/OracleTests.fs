module AutoKl.Tests.Engine.OracleTests

open AutoKl
open AutoKl.Tests.Support
open NUnit.Framework

let private root = lazy (Oracle.load [ "diffsharp"; "diffsharp-oracle.json" ])

[<Test>]
let ``the DiffSharp oracle file is present and has 70 cases`` () =
    Assert.That(Oracle.cases root.Value |> List.length, Is.EqualTo 70)
