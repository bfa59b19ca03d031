/// Reading the reference files: the DiffSharp oracle (fixtures/diffsharp) and the PyTorch
/// fixtures (fixtures/pytorch). Both store cases as {name, op, params, inputs, value, cotangent, grads}.
module AutoKl.Tests.Support.Oracle

open System
open System.IO
open System.Text.Json
open AutoKl

let fixturePath (parts: string list) =
    Path.Combine(Array.ofList (AppContext.BaseDirectory :: "fixtures" :: parts))

let load (parts: string list) = JsonDocument.Parse(File.ReadAllText(fixturePath parts)).RootElement

/// A float64 tensor (or int64 when marked "dtype": "int64") from {shape, data}.
let tensorOf (e: JsonElement) : Tensor =
    let shape = [| for d in e.GetProperty("shape").EnumerateArray() -> d.GetInt32() |]
    let isInt =
        match e.TryGetProperty("dtype") with
        | true, d -> d.GetString() = "int64"
        | _ -> false
    let number (v: JsonElement) =
        match v.ValueKind with
        | JsonValueKind.Number -> v.GetDouble()
        | JsonValueKind.String ->
            match v.GetString() with
            | "inf" | "Infinity" -> Double.PositiveInfinity
            | "-inf" | "-Infinity" -> Double.NegativeInfinity
            | _ -> Double.NaN
        | _ -> Double.NaN
    let data = [| for v in e.GetProperty("data").EnumerateArray() -> number v |]
    // FromArray with no dimensions means "1-D"; a fixture's shape [] is a scalar.
    let t = if isInt then Tensor.FromArray(Array.map int64 data, shape) else Tensor.FromArray(data, shape)
    if shape.Length = 0 then t.Reshape([||]) else t

let cases (root: JsonElement) = [ for c in root.GetProperty("cases").EnumerateArray() -> c ]

let name (case: JsonElement) = case.GetProperty("name").GetString()
let op (case: JsonElement) = case.GetProperty("op").GetString()

/// The inputs as name -> tensor.
let inputs (case: JsonElement) =
    [ for p in case.GetProperty("inputs").EnumerateObject() -> p.Name, tensorOf p.Value ] |> Map.ofList

let grads (case: JsonElement) =
    match case.TryGetProperty("grads") with
    | true, g when g.ValueKind = JsonValueKind.Object -> [ for p in g.EnumerateObject() -> p.Name, tensorOf p.Value ] |> Map.ofList
    | _ -> Map.empty

let value (case: JsonElement) = tensorOf (case.GetProperty("value"))

let cotangent (case: JsonElement) =
    match case.TryGetProperty("cotangent") with
    | true, c when c.ValueKind = JsonValueKind.Object -> Some(tensorOf c)
    | _ -> None

/// Optional params: the element, if present.
let param (case: JsonElement) (key: string) =
    match case.TryGetProperty("params") with
    | true, p when p.ValueKind = JsonValueKind.Object ->
        match p.TryGetProperty(key) with
        | true, v when v.ValueKind <> JsonValueKind.Null -> Some v
        | _ -> None
    | _ -> None

let paramInt case key dflt = param case key |> Option.map (fun v -> v.GetInt32()) |> Option.defaultValue dflt
let paramFloat case key dflt = param case key |> Option.map (fun v -> v.GetDouble()) |> Option.defaultValue dflt
let paramBool case key dflt = param case key |> Option.map (fun v -> v.GetBoolean()) |> Option.defaultValue dflt
let paramString case key dflt = param case key |> Option.map (fun v -> if v.ValueKind = JsonValueKind.String then v.GetString() else v.ToString()) |> Option.defaultValue dflt
