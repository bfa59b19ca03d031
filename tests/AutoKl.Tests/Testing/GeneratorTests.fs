module AutoKl.Tests.Testing.GeneratorTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open AutoKl
open AutoKl.Testing

let private samples (n: int) (arb: Arbitrary<'T>) = Gen.sampleWithSize 50 n (Arb.toGen arb) |> List.ofArray

let private numel (s: int[]) = Array.fold (*) 1 s

let private broadcastShape (shapes: int[] list) =
    (shapes |> List.map (fun s -> Tensor.zeros DType.Float64 (List.ofArray s)) |> List.reduce (+)).Shape

/// Runs a property with FsCheck and returns the arguments it shrank to (None if it passed),
/// with the number of shrink steps.
let private shrunk (arb: Arbitrary<'T>) (property: 'T -> bool) : ('T * int) option =
    let mutable last : obj list option = None
    let mutable steps = 0
    let mutable failed = false
    let runner =
        { new IRunner with
            member _.OnStartFixture _ = ()
            member _.OnArguments(_, _, _) = ()
            member _.OnShrink(args, _) = last <- Some args; steps <- steps + 1
            member _.OnFinished(_, result) =
                match result with
                | TestResult.Failed _ -> failed <- true
                | _ -> () }
    let config = Config.Quick.WithRunner(runner).WithMaxTest(200).WithReplay(Some { Rnd = Rnd(7UL, 11UL); Size = None })
    Check.One(config, Prop.forAll arb property)
    if not failed then None
    else
        match last with
        | Some [ arg ] -> Some(unbox<'T> arg, steps)
        | _ -> failwith "the property failed but FsCheck reported no shrink step"

let private validShrinks (arb: Arbitrary<'T>) (valid: 'T -> bool) (what: string) =
    for s in samples 30 arb do
        for c in Arb.toShrink arb s |> Seq.truncate 200 do
            Expect.isTrue (valid c) (sprintf "%s: shrinking %A gave %A, which breaks the invariant" what s c)

let private probabilityRows (t: TensorSample) =
    let k = t.Shape.[t.Shape.Length - 1]
    t.Values |> Array.chunkBySize k

[<Tests>]
let tests =
    testList "Testing.Generators" [
        testCase "shapes: rank 0 to 4, sizes from 1, size-1 axes present" <| fun () ->
            let shapes = samples 400 (Arbitraries.Shapes())
            Expect.isTrue (shapes |> List.forall (fun s -> s.Length <= 4 && Array.forall (fun d -> d >= 1 && d <= 4) s)) "rank <= 4, sizes 1..4"
            for r in 0 .. 4 do Expect.isTrue (shapes |> List.exists (fun s -> s.Length = r)) (sprintf "rank %d occurs" r)
            Expect.isTrue (shapes |> List.exists (fun s -> Array.contains 1 s && s.Length > 1)) "size-1 axes occur"

        testCase "pairs and triples broadcast, and keep doing so while shrinking" <| fun () ->
            let pairs = samples 300 (Arbitraries.ShapePairs())
            for p in pairs do broadcastShape [ p.Left; p.Right ] |> ignore
            Expect.isTrue (pairs |> List.exists (fun p -> p.Left <> p.Right)) "not only equal shapes"
            for t in samples 200 (Arbitraries.ShapeTriples()) do broadcastShape [ t.First; t.Second; t.Third ] |> ignore
            let ok (shapes: int[] list) = try broadcastShape shapes |> ignore; true with :? AutoKlException -> false
            validShrinks (Arbitraries.ShapePairs()) (fun p -> ok [ p.Left; p.Right ]) "shape pairs"
            validShrinks (Arbitraries.ShapeTriples()) (fun t -> ok [ t.First; t.Second; t.Third ]) "shape triples"
            validShrinks (Arbitraries.TensorPairs(-1.0, 1.0)) (fun p -> ok [ p.Left.Shape; p.Right.Shape ] && p.Left.Values.Length = numel p.Left.Shape) "tensor pairs"

        testCase "tensors stay in their range, positive ones positive" <| fun () ->
            let inRange lo hi (t: TensorSample) = t.Values.Length = numel t.Shape && Array.forall (fun v -> v >= lo && v <= hi) t.Values
            Expect.isTrue (samples 200 (Arbitraries.Tensors(-2.0, 0.5)) |> List.forall (inRange -2.0 0.5)) "in [-2, 0.5]"
            Expect.isTrue (samples 200 (Arbitraries.Positive()) |> List.forall (inRange 0.1 5.0)) "positive"
            validShrinks (Arbitraries.Tensors(-2.0, 0.5)) (inRange -2.0 0.5) "ranged tensors"
            validShrinks (Arbitraries.Positive()) (inRange 0.1 5.0) "positive tensors"
            let t = (samples 1 (Arbitraries.Tensors(-1.0, 1.0, 2, 2, 3))).Head
            Expect.equal t.Tensor.Shape t.Shape "Tensor has the sample's shape"
            Expect.equal (t.Tensor.ToDoubleArray()) t.Values "and its values"

        testCase "probability rows sum to 1, with and without exact zeros" <| fun () ->
            let valid zeros (t: TensorSample) =
                t.Shape.Length >= 1
                && probabilityRows t |> Array.forall (fun row -> abs (Array.sum row - 1.0) < 1e-12 && row |> Array.forall (fun v -> if zeros then v >= 0.0 else v > 0.0))
            let strict = samples 200 (Arbitraries.Probabilities())
            Expect.isTrue (strict |> List.forall (valid false)) "strictly positive rows summing to 1"
            let withZeros = samples 200 (Arbitraries.Probabilities(true))
            Expect.isTrue (withZeros |> List.forall (valid true)) "rows summing to 1"
            Expect.isTrue (withZeros |> List.exists (fun t -> Array.contains 0.0 t.Values)) "exact zeros occur"
            Expect.isTrue (strict |> List.exists (fun t -> t.Shape.Length >= 2)) "batches occur"
            validShrinks (Arbitraries.Probabilities()) (valid false) "probabilities"
            validShrinks (Arbitraries.Probabilities(true)) (valid true) "probabilities with zeros"

        testCase "points away from kinks keep their margin, also while shrinking" <| fun () ->
            let far (t: TensorSample) = t.Values |> Array.forall (fun v -> abs v >= 0.05 && abs (v - 1.0) >= 0.05 && v >= -2.0 && v <= 2.0)
            let arb = Arbitraries.AwayFromKinks([| 0.0; 1.0 |], 0.05, -2.0, 2.0)
            Expect.isTrue (samples 300 arb |> List.forall far) "margin kept"
            validShrinks arb far "kink margin"
            let apart (p: TensorPair) =
                let a = p.Left.Tensor
                let b = p.Right.Tensor
                (abs (a - b)).ToDoubleArray() |> Array.forall (fun d -> d >= 0.1)
            let pairs = Arbitraries.TensorPairsApart(0.1, -3.0, 3.0)
            Expect.isTrue (samples 200 pairs |> List.forall apart) "maximum's arguments never tie"
            validShrinks pairs apart "pairs apart"

        testCase "class-index targets are in range" <| fun () ->
            let ok (s: ClassificationSample) =
                let c = s.Logits.Shape.[1]
                s.Logits.Shape.[0] = s.Targets.Length && s.Targets |> Array.forall (fun t -> t >= 0 && t < c)
            Expect.isTrue (samples 200 (Arbitraries.ClassIndices()) |> List.forall ok) "targets in 0..c-1"
            validShrinks (Arbitraries.ClassIndices()) ok "class indices"
            let s = (samples 1 (Arbitraries.ClassIndices())).Head
            Expect.equal s.TargetTensor.DType DType.Int64 "int64 targets"

        testCase "a failing tensor property shrinks to a scalar holding the smallest failing value" <| fun () ->
            match shrunk (Arbitraries.Tensors(-3.0, 3.0)) (fun t -> t.Values |> Array.forall (fun v -> v < 1.5)) with
            | None -> failtest "the property should fail"
            | Some(t, steps) ->
                Expect.isGreaterThan steps 0 "FsCheck shrank"
                Expect.equal t.Shape [||] "shape shrinks to a scalar"
                Expect.equal t.Values [| 2.0 |] "value shrinks to the simplest failing number"

        testCase "a failing shape-pair property shrinks to the smallest failing broadcast" <| fun () ->
            match shrunk (Arbitraries.ShapePairs()) (fun p -> numel (broadcastShape [ p.Left; p.Right ]) < 4) with
            | None -> failtest "the property should fail"
            | Some(p, _) ->
                Expect.equal (numel (broadcastShape [ p.Left; p.Right ])) 4 "just big enough to fail"
                Expect.isLessThanOrEqual (max p.Left.Length p.Right.Length) 2 "few axes left"

        testCase "a failing probability property shrinks to a uniform vector" <| fun () ->
            match shrunk (Arbitraries.Probabilities()) (fun t -> t.Shape.[t.Shape.Length - 1] <= 2) with
            | None -> failtest "the property should fail"
            | Some(t, _) ->
                Expect.equal t.Shape [| 3 |] "one row of 3 categories"
                for v in t.Values do Expect.floatClose Accuracy.veryHigh v (1.0 / 3.0) "uniform"
    ]
