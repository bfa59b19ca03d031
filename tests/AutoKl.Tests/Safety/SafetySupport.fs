/// Expecto helpers shared by the safety tests.
module AutoKl.Tests.Safety.SafetySupport

open System
open Expecto
open AutoKl

/// The action throws an AutoKlException whose message contains every fragment; returns the message.
let throwsAutoKl (fragments: string list) (action: unit -> 'a) =
    let message =
        try
            action () |> ignore
            failtest "expected an AutoKlException, but nothing was thrown"
        with
        | :? AutoKlException as e -> e.Message
    for f in fragments do
        Expect.stringContains message f "the error message"
    message

/// Values equal to within 1e-12 (relative), element by element.
let values (what: string) (expected: float list) (actual: Tensor) =
    let a = actual.ToDoubleArray()
    Expect.equal a.Length expected.Length (what + ": number of values")
    List.iteri (fun i e ->
        Expect.isTrue (abs (a[i] - e) <= 1e-12 * max 1.0 (abs e)) (sprintf "%s: element %d is %.17g, expected %.17g" what i a[i] e)) expected
