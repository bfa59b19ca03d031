/// Runs one oracle case (DiffSharp or PyTorch fixture) against an AutoKl function: the value and
/// the gradient of every input the fixture lists, at 1e-10 relative. Where PyTorch's own
/// gradient is not finite (listed in `nonfinite_grads`) ours must be finite, and equal to
/// PyTorch's at the positions where PyTorch's is finite.
module AutoKl.Tests.Losses.OracleRunner

open System
open System.Text.Json
open AutoKl
open AutoKl.Tests.Support
open Expecto

let rtol = 1e-10
let atol = 1e-13

let pytorch = lazy (Oracle.load [ "pytorch"; "losses.json" ])
let diffsharp = lazy (Oracle.load [ "diffsharp"; "diffsharp-oracle.json" ])

/// Case names of one file whose op is in `ops`, one test each.
let caseNames (root: Lazy<JsonElement>) (ops: string list) =
    Oracle.cases root.Value |> List.filter (fun c -> List.contains (Oracle.op c) ops) |> List.map Oracle.name |> List.toArray

let caseNamed (root: Lazy<JsonElement>) (name: string) =
    Oracle.cases root.Value |> List.find (fun c -> Oracle.name c = name)

let tensorOf = Oracle.tensorOf

let private objectTensors (case: JsonElement) (field: string) =
    match case.TryGetProperty(field) with
    | true, g when g.ValueKind = JsonValueKind.Object -> [ for p in g.EnumerateObject() -> p.Name, tensorOf p.Value ] |> Map.ofList
    | _ -> Map.empty

/// The inputs by name (rank-0 where the fixture says shape []).
let inputsOf (case: JsonElement) = objectTensors case "inputs"

let private names (case: JsonElement) (field: string) =
    match case.TryGetProperty(field) with
    | true, v when v.ValueKind = JsonValueKind.Array -> [ for e in v.EnumerateArray() -> e.GetString() ]
    | true, v when v.ValueKind = JsonValueKind.Object -> [ for p in v.EnumerateObject() -> p.Name ]
    | _ -> []

/// Checks `compute` (inputs by fixture name -> output) against the case.
let run (compute: Map<string, Tensor> -> Tensor) (case: JsonElement) =
    let inputs = inputsOf case
    let leaves = inputs |> Map.map (fun _ t -> if t.DType = DType.Float64 then t.Detach().RequiresGrad_() else t)
    let y = compute leaves
    Check.tensorClose "value" rtol atol (tensorOf (case.GetProperty "value")) y
    let expected = objectTensors case "grads"
    let nonfinite = names case "nonfinite_grads"
    let wanted = (expected |> Map.toList |> List.map fst) @ nonfinite
    let cot =
        match case.TryGetProperty("cotangent") with
        | true, c when c.ValueKind = JsonValueKind.Object -> tensorOf c
        | _ -> GradCheck.cotangentFor y
    let grads =
        if y.RequiresGrad then
            let xs = wanted |> List.map (fun n -> leaves.[n]) |> List.toArray
            Autograd.Gradients(y, xs, cot) |> Array.zip (List.toArray wanted) |> Map.ofArray
        else
            wanted |> List.map (fun n -> n, Tensor.ZerosLike(leaves.[n])) |> Map.ofList
    for KeyValue(n, g) in expected do
        Check.tensorClose ("gradient of " + n) rtol atol g grads.[n]
    for n in nonfinite do
        let ours = grads.[n]
        Check.allFinite ("gradient of " + n + " (PyTorch's is not finite)") ours
        let theirs = case.GetProperty("nonfinite_grad_values").GetProperty(n).GetProperty("data")
        let oursArr = ours.ToDoubleArray()
        theirs.EnumerateArray() |> Seq.iteri (fun i v ->
            if v.ValueKind = JsonValueKind.Number && not (Check.closeTo rtol atol (v.GetDouble()) oursArr.[i]) then
                failtestf "gradient of %s: element %d is %.17g, PyTorch %.17g" n i oursArr.[i] (v.GetDouble()))
    if not (wanted.IsEmpty) && not y.RequiresGrad then failtest "the output does not depend on any input the fixture differentiates"

let reductionOf (s: string) =
    match s with
    | "none" -> Reduction.None
    | "sum" -> Reduction.Sum
    | "mean" -> Reduction.Mean
    | "batchmean" -> Reduction.BatchMean
    | other -> failwithf "unknown reduction %s" other

let reduction (case: JsonElement) = reductionOf (Oracle.paramString case "reduction" "mean")

/// Random float64 values in [lo, hi) of the given shape from a seed.
let uniform (seed: int) (lo: float) (hi: float) (shape: int[]) = Tensor.Rand(shape, Generator(seed), DType.Float64, lo, hi)

/// Random probability rows (positive, summing to 1 along the last axis).
let probs (seed: int) (shape: int[]) = Tensor.Softmax(Tensor.RandN(shape, Generator(seed), DType.Float64), -1)

/// Probability rows bounded away from 0 (softmax of small scores), for finite-difference checks
/// of functions with log(target): a unit random direction then stays well inside the domain.
let gentleProbs (seed: int) (shape: int[]) = Tensor.Softmax(Tensor.RandN(shape, Generator(seed), DType.Float64) * 0.3, -1)
