module AutoKl.Tests.Testing.ExpectoHelperTests

open System.Threading
open Expecto
open AutoKl
open AutoKl.Testing

/// Runs the code of a single Expecto test and returns the exception it failed with, if any.
let rec private run (test: Test) : exn option =
    let attempt f = try f (); None with e -> Some e
    match test with
    | TestLabel(_, inner, _) -> run inner
    | Test.Sequenced(_, inner) -> run inner
    | TestList([ inner ], _) -> run inner
    | TestCase(code, _) ->
        match code with
        | Sync f -> attempt f
        | SyncWithCancel f -> attempt (fun () -> f CancellationToken.None)
        | Async a -> attempt (fun () -> Async.RunSynchronously a)
        | AsyncFsCheck(config, _, f) -> attempt (fun () -> Async.RunSynchronously(f (defaultArg config FsCheckConfig.defaultConfig)))
    | other -> failwithf "unexpected test shape %A" other

/// x^2 with the factor 2 forgotten only for |x| > 1: right near 0, so shrinking has somewhere to go.
let private sloppySquare =
    Custom.unary "sloppy_square" (fun x -> x * x) (fun x _ g -> g * x * (2.0 - Tensor.gt (abs x) (Tensor.scalar 1.0)))

[<Tests>]
let tests =
    testList "Testing.ExpectoHelpers" [
        testCase "a passing gradient property passes" <| fun () ->
            let softplus = Custom.unary "softplus" (fun x -> Tensor.relu x + log (1.0 + exp (-(abs x)))) (fun x _ g -> g * Tensor.sigmoid x)
            let t = testGradcheck "softplus" (Arbitraries.Tensors(-5.0, 5.0)) (fun s -> [| s.Tensor |]) (fun xs -> softplus xs.[0])
            Expect.isNone (run t) "no failure"

        testCase "a failing gradient property reports the shrunk input and the gradcheck report" <| fun () ->
            let t =
                testGradcheck "sloppy square" (Arbitraries.Tensors(-3.0, 3.0)) (fun s -> [| s.Tensor |])
                    (fun xs -> sloppySquare xs.[0] |> Tensor.sum)
            match run t with
            | None -> failtest "the wrong gradient was not caught"
            | Some e ->
                let m = e.Message
                for part in [ "Shrunk"; "tensor [] ["; "gradcheck FAILED"; "analytic (tape)"; "numerical (central diff)"; "input0[]" ] do
                    Expect.stringContains m part (sprintf "the failure message shows '%s'" part)

        testCase "gradgradcheck as a property" <| fun () ->
            let t =
                testGradgradcheckWith { gradConfig with maxTest = 20 } (GradCheckOptions()) "cube" (Arbitraries.Tensors(-2.0, 2.0, 1, 2, 3))
                    (fun s -> [| s.Tensor |]) (fun xs -> xs.[0] * xs.[0] * xs.[0] |> Tensor.sum)
            Expect.isNone (run t) "right second derivatives pass"
    ]
