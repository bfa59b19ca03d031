/// Shared pieces of the optimizer tests: the PyTorch fixture objective, building optimizers
/// from the fixtures' parameter groups.
module AutoKl.Tests.Optim.OptimSupport

open System.Text.Json
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support

let optimizersFixture = lazy (Oracle.load [ "pytorch"; "optimizers.json" ])

let floats (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetDouble() |]

/// The fixtures' objective (fixtures/pytorch/README.md), written once with engine ops; the
/// constants come from the fixture file.
let objective (w1: Tensor) (w2: Tensor) : Tensor =
    let c = optimizersFixture.Value.GetProperty("constants")
    let vector (key: string) = Tensor.ofArray (floats (c.GetProperty key))
    let matrix (key: string) =
        let rows = [ for r in c.GetProperty(key).EnumerateArray() -> floats r |> List.ofArray ]
        Tensor.ofList2D rows
    let c1, a1, b2, d2 = vector "c1", vector "a1", matrix "b2", matrix "d2"
    let quadratic = a1 * (w1 - c1 |> Tensor.pow 2.0) |> Tensor.sum
    let coupling = 0.1 * (Tensor.sum w1 |> Tensor.pow 2.0)
    let quartic = 0.05 * (w1 |> Tensor.pow 4.0 |> Tensor.sum)
    let softplusTerms = (b2 * w2 |> Tensor.exp |> Tensor.log1p) - d2 * w2 |> Tensor.sum
    quadratic + coupling + quartic + softplusTerms

/// A parameter group from a fixture group: PyTorch's names map onto ParamGroup's ("betas" -> beta1, beta2).
let paramGroupOf (parameters: Tensor list) (json: JsonElement) : ParamGroup =
    let g = ParamGroup(parameters)
    for prop in json.EnumerateObject() do
        match prop.Name, prop.Value.ValueKind with
        | "params", _ -> ()
        | "betas", _ ->
            let b = floats prop.Value
            g.Beta1 <- b.[0]
            g.Beta2 <- b.[1]
        | name, (JsonValueKind.True | JsonValueKind.False) -> g.[name] <- (if prop.Value.GetBoolean() then 1.0 else 0.0)
        | name, JsonValueKind.Number -> g.[name] <- prop.Value.GetDouble()
        | name, kind -> failwithf "unexpected hyper-parameter %s of kind %A in the fixture" name kind
    g

/// The optimizer a fixture case names, over the given groups (every hyper-parameter is set per group,
/// so the constructor's defaults do not matter except where noted).
let optimizerOf (name: string) (epsilonHat: bool) (groups: ParamGroup list) : Optimizer =
    match name with
    | "SGD" -> SGD(groups, lr = 1.0)
    | "Adam" ->
        let placement = if epsilonHat then EpsilonPlacement.KingmaBa else EpsilonPlacement.PyTorch
        Adam(groups, epsilonPlacement = placement)
    | "AdamW" -> AdamW(groups)
    | "RMSprop" -> RMSprop(groups)
    | "Adagrad" -> Adagrad(groups)
    | other -> failwithf "unknown optimizer %s" other
