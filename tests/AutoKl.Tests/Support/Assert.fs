/// Assertions on numbers and tensors that say which element differs and by how much.
module AutoKl.Tests.Support.Check

open System
open AutoKl
open Expecto

/// |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN, infinities equal when equal.
let closeTo (rtol: float) (atol: float) (expected: float) (actual: float) =
    if Double.IsNaN expected || Double.IsNaN actual then Double.IsNaN expected && Double.IsNaN actual
    elif Double.IsInfinity expected || Double.IsInfinity actual then expected = actual
    else abs (actual - expected) <= atol + rtol * abs expected

/// Fails with the first element out of tolerance.
let arraysClose (what: string) (rtol: float) (atol: float) (expected: float[]) (actual: float[]) =
    if expected.Length <> actual.Length then
        failtestf "%s: expected %d values, got %d" what expected.Length actual.Length
    for i in 0 .. expected.Length - 1 do
        if not (closeTo rtol atol expected.[i] actual.[i]) then
            failtestf "%s: element %d is %.17g, expected %.17g (diff %.3g, rtol %g, atol %g)"
                what i actual.[i] expected.[i] (actual.[i] - expected.[i]) rtol atol

/// Shapes equal and values within tolerance.
let tensorClose (what: string) (rtol: float) (atol: float) (expected: Tensor) (actual: Tensor) =
    if expected.Shape <> actual.Shape then
        failtestf "%s: shape %A, expected %A" what actual.Shape expected.Shape
    arraysClose what rtol atol (expected.ToDoubleArray()) (actual.ToDoubleArray())

/// Shape and values against plain arrays.
let tensorEquals (what: string) (rtol: float) (shape: int[]) (expected: float[]) (actual: Tensor) =
    if actual.Shape <> shape then failtestf "%s: shape %A, expected %A" what actual.Shape shape
    arraysClose what rtol 1e-300 expected (actual.ToDoubleArray())

/// The action throws AutoKlException whose message contains every fragment (case-sensitive);
/// returns the exception. Any other exception, or none, fails the test.
let throwsAutoKl (fragments: string list) (action: unit -> 'a) : AutoKlException =
    let thrown =
        try
            action () |> ignore
            Choice1Of2()
        with
        | :? AutoKlException as e -> Choice2Of2 e
        | e -> failtestf "expected an AutoKlException, got %s: %s" (e.GetType().FullName) e.Message
    match thrown with
    | Choice1Of2() -> failtest "expected an AutoKlException, but nothing was thrown"
    | Choice2Of2 ex ->
        for f in fragments do
            if not (ex.Message.Contains f) then
                failtestf "error message %A does not mention %A" ex.Message f
        ex

/// Every value finite.
let allFinite (what: string) (t: Tensor) =
    t.ToDoubleArray() |> Array.iteri (fun i v ->
        if not (Double.IsFinite v) then failtestf "%s: element %d is %g" what i v)

/// The tensor has exactly this shape.
let shapeIs (what: string) (expected: int[]) (t: Tensor) =
    if t.Shape <> expected then failtestf "%s: shape %A, expected %A" what t.Shape expected
