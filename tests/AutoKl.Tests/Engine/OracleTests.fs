/// The DiffSharp oracle (fixtures/diffsharp/diffsharp-oracle.json, copied from the shared
/// oracle; see the README beside it): value and vector-Jacobian product of every engine op
/// case at 1e-10 relative. Loss, distribution and optimizer cases are tested with those families.
module AutoKl.Tests.Engine.OracleTests

open System.Text.Json
open AutoKl
open AutoKl.Tests.Support
open Expecto

type T = AutoKl.Tensor

let private root = lazy (Oracle.load [ "diffsharp"; "diffsharp-oracle.json" ])

/// The ops of the engine itself; the other cases (kl_div, mse_loss, optimizer trajectories, ...)
/// belong to the losses, distributions and optimizers.
let engineOps =
    set [ "exp"; "log"; "neg"; "sqrt"; "abs"; "sigmoid"; "tanh"; "relu"; "add"; "sub"; "mul"; "div"; "pow"
          "sum"; "mean"; "softmax"; "log_softmax"; "logsumexp"; "matmul" ]

let private engineCases () = Oracle.cases root.Value |> List.filter (fun c -> engineOps.Contains(Oracle.op c))

let private dimParam (case: JsonElement) = Oracle.param case "dim" |> Option.map (fun v -> v.GetInt32())

/// The op of a case applied to its inputs, in the order the case lists them.
let private apply (case: JsonElement) (inputs: Tensor[]) : Tensor =
    let keepDim = Oracle.paramBool case "keepdim" false
    let unary (f: Tensor -> Tensor) = f inputs.[0]
    let binary (f: Tensor -> Tensor -> Tensor) = f inputs.[0] inputs.[1]
    match Oracle.op case with
    | "exp" -> unary T.Exp
    | "log" -> unary T.Log
    | "neg" -> unary T.Neg
    | "sqrt" -> unary T.Sqrt
    | "abs" -> unary T.Abs
    | "sigmoid" -> unary T.Sigmoid
    | "tanh" -> unary T.Tanh
    | "relu" -> unary T.Relu
    | "add" -> binary Tensor.add
    | "sub" -> binary Tensor.sub
    | "mul" -> binary Tensor.mul
    | "div" -> binary Tensor.div
    | "pow" ->
        match Oracle.param case "exponent" with
        | Some e -> T.Pow(inputs.[0], e.GetDouble())
        | None -> T.Pow(inputs.[0], inputs.[1])
    | "sum" ->
        match dimParam case with
        | Some d -> T.Sum(inputs.[0], d, keepDim)
        | None -> T.Sum inputs.[0]
    | "mean" ->
        match dimParam case with
        | Some d -> T.Mean(inputs.[0], d, keepDim)
        | None -> T.Mean inputs.[0]
    | "softmax" -> T.Softmax(inputs.[0], (dimParam case).Value)
    | "log_softmax" -> T.LogSoftmax(inputs.[0], (dimParam case).Value)
    | "logsumexp" -> T.LogSumExp(inputs.[0], (dimParam case).Value, keepDim)
    | "matmul" -> binary Tensor.matmul
    | other -> failwithf "not an engine op: %s" other

let private rtol = 1e-10
// Oracle values that are exactly 0 (a relu gradient, a sum of symmetric terms) cannot be
// compared relatively; a few ulps of 1 is the absolute floor.
let private atol = 1e-13

[<Tests>]
let tests =
    testList "Engine.Oracle" [
        // one test per engine case, named after the case
        testList "DiffSharp oracle" [
            for case in engineCases () ->
                let name = Oracle.name case
                testCase name <| fun () ->
                    let named = Oracle.inputs case
                    // JSON object order is the op's argument order (a, b).
                    let names = [ for p in case.GetProperty("inputs").EnumerateObject() -> p.Name ]
                    let leaves = names |> List.map (fun n -> named.[n].RequiresGrad_()) |> Array.ofList
                    let y = apply case leaves
                    Check.tensorClose (name + " value") rtol atol (Oracle.value case) y
                    let cotangent = (Oracle.cotangent case).Value
                    let grads = Autograd.Gradients(y, leaves, cotangent)
                    let expected = Oracle.grads case
                    Expect.isGreaterThan expected.Count 0 "the case has gradients"
                    for KeyValue(input, g) in expected do
                        let k = List.findIndex ((=) input) names
                        Check.tensorClose (sprintf "%s d/d%s" name input) rtol atol g grads.[k]
        ]

        testCase "the DiffSharp oracle file is present and covers every engine op" <| fun () ->
            let cases = Oracle.cases root.Value
            Expect.equal (cases |> List.length) 70 "number of cases"
            let covered = engineCases () |> List.map Oracle.op |> Set.ofList
            Expect.isEmpty (Set.difference engineOps covered |> Set.toList) "engine ops without an oracle case"
            Expect.equal (engineCases () |> List.length) 42 "engineCases () |> List.length"
    ]
