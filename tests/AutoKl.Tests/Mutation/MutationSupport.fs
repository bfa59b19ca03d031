/// Small assertions for the rule-branch tests: each states exactly which value was wrong, so a
/// mutated rule fails with a message that says where.
module AutoKl.Tests.Mutation.MutationSupport

open System
open Expecto
open AutoKl

type T = AutoKl.Tensor

/// A float64 tensor of the given shape.
let f64 (shape: int list) (values: float list) = T.FromArray(List.toArray values, List.toArray shape)

/// A float64 vector.
let vec (values: float list) = T.FromArray(List.toArray values)

/// A float32 vector.
let vec32 (values: float list) = T.FromArray(values |> List.map float32 |> List.toArray)

/// The gradient of a scalar function at x (x itself left untouched).
let gradOf (f: T -> T) (x: T) = Autograd.Grad(Func<T, T>(f), x)

/// The gradients of a scalar function of several tensors.
let gradsOf (f: T[] -> T) (xs: T[]) = Autograd.Grad(Func<T[], T>(f), xs)

/// Values equal to within rtol (NaN equal to NaN, infinities equal when equal), shape included.
let closeTo (rtol: float) (what: string) (expected: float list) (actual: T) =
    let a = actual.ToDoubleArray()
    let e = List.toArray expected
    Expect.equal a.Length e.Length (sprintf "%s: number of values" what)
    for i in 0 .. e.Length - 1 do
        let ok =
            if Double.IsNaN e.[i] then Double.IsNaN a.[i]
            elif Double.IsInfinity e.[i] then a.[i] = e.[i]
            else abs (a.[i] - e.[i]) <= rtol * max 1.0 (abs e.[i])
        if not ok then failtestf "%s: element %d is %.17g, expected %.17g (all: %A)" what i a.[i] e.[i] a

/// Values equal to within rtol relative to each expected value, however small.
let relClose (rtol: float) (what: string) (expected: float list) (actual: T) =
    let a = actual.ToDoubleArray()
    Expect.equal a.Length expected.Length (sprintf "%s: number of values" what)
    expected |> List.iteri (fun i e ->
        if not (abs (a.[i] - e) <= rtol * abs e) then failtestf "%s: element %d is %.17g, expected %.17g" what i a.[i] e)

/// Values equal to 1e-12 relative.
let near what expected actual = closeTo 1e-12 what expected actual

/// The action throws AutoKlException raised by `op` whose message contains every fragment.
let throwsFrom (op: string) (fragments: string list) (action: unit -> 'a) =
    let ex =
        try
            action () |> ignore
            None
        with
        | :? AutoKlException as e -> Some e
    match ex with
    | None -> failtestf "expected an AutoKlException from %s; nothing was thrown" op
    | Some e ->
        Expect.equal e.Operation op (sprintf "the operation named by %A" e.Message)
        for f in fragments do
            Expect.stringContains e.Message f "the error message"

/// The action completes without an exception and returns its value.
let noThrow (what: string) (action: unit -> 'a) =
    try action ()
    with e -> failtestf "%s threw %s: %s" what (e.GetType().Name) e.Message
