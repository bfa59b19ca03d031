/// The KL conventions found by their typed identity (ConventionId), not by the words printed
/// for them: each convention's value relates to KL(P||Q) as its identity says.
module AutoKl.Tests.Cli.KlConventionTests

open Expecto
open AutoKl.Cli
open AutoKl.Cli.KlComparison
open AutoKl.Tests.Support

let private allIds =
    [ TorchSum; TorchBatchMean; TorchMean; TorchLogTarget; TorchSwapped; TorchNotLogInput; MXNetMean; MXNetSum; MXNetNotFromLogits ]

let private kl (p: float[]) (q: float[]) = Array.map2 (fun a b -> if a = 0.0 then 0.0 else a * log (a / b)) p q |> Array.sum

[<Tests>]
let tests =
    testList "Cli.KlConventions" [
        for fromLogits in [ false; true ] do
            testCase (sprintf "every convention appears exactly once, under its own library (from logits: %b)" fromLogits) <| fun () ->
                let settings: KlSettings = { P = [| 0.2; 0.5; 0.2; 0.1 |]; Qs = [ [| 0.3; 0.4; 0.1; 0.2 |] ]; FromLogits = fromLogits }
                let c = (compute settings).Comparisons.Head
                Expect.equal (c.Conventions |> List.map (fun k -> k.Id) |> List.sort) (List.sort allIds) "one row per identity"
                for k in c.Conventions do
                    let expected = match k.Id with TorchSum | TorchBatchMean | TorchMean | TorchLogTarget | TorchSwapped | TorchNotLogInput -> "PyTorch" | _ -> "MXNet"
                    Expect.equal k.Library expected (sprintf "library of %A" k.Id)

        testPropertyWithConfig (Properties.runs 25) "each identity's value is the KL it stands for" <| fun (seed: int) (size: FsCheck.PositiveInt) ->
            let n = 2 + size.Get % 9
            let g = AutoKl.Generator(seed)
            let draw () =
                let raw = Array.init n (fun _ -> 0.05 + g.NextUniform())
                raw |> Array.map (fun v -> v / Array.sum raw)
            let p, q = draw (), draw ()
            let c = (compute ({ P = p; Qs = [ q ]; FromLogits = false }: KlSettings)).Comparisons.Head
            let value id = (conventionOf id c).Value
            let klpq, klqp, nf = kl p q, kl q p, float n
            // atol: MXNet adds 1e-12 inside its log, which moves its values by up to N * 1e-12.
            Check.arraysClose (sprintf "seed %d, %d categories" seed n) 1e-9 1e-10
                [| klpq; klpq; klpq / nf; klpq; klqp; klpq / nf; klpq |]
                [| value TorchSum; value TorchBatchMean; value TorchMean; value TorchLogTarget; value TorchSwapped
                   value MXNetMean; value MXNetSum |]
    ]
