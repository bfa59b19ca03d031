/// Learning-rate schedules against PyTorch 1.13's lr_scheduler (fixtures/pytorch/schedules.json):
/// the lr read before each of 100 iterations of {optimizer step; schedule step}, to 1e-12.
module AutoKl.Tests.Optim.ScheduleTests

open Expecto
open System.Text.Json
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support

let private fixture = lazy (Oracle.load [ "pytorch"; "schedules.json" ])

let private ints (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetInt32() |]

/// Builds the schedule a fixture entry describes, on `optimizer` (sub-schedules first, in order, as PyTorch does).
let rec scheduleOf (optimizer: Optimizer) (kind: string) (args: JsonElement) : LRScheduler =
    let num (key: string) = args.GetProperty(key).GetDouble()
    let int (key: string) = args.GetProperty(key).GetInt32()
    let subSchedules () =
        [ for s in args.GetProperty("schedulers").EnumerateArray() ->
            scheduleOf optimizer (s.GetProperty("scheduler").GetString()) (s.GetProperty "args") ]
    match kind with
    | "StepLR" -> StepLR(optimizer, int "step_size", num "gamma")
    | "MultiStepLR" -> MultiStepLR(optimizer, ints (args.GetProperty "milestones"), num "gamma")
    | "ExponentialLR" -> ExponentialLR(optimizer, num "gamma")
    | "CosineAnnealingLR" -> CosineAnnealingLR(optimizer, int "T_max", num "eta_min")
    | "LinearLR" -> LinearLR(optimizer, num "start_factor", num "end_factor", int "total_iters")
    | "CosineAnnealingWarmRestarts" -> CosineAnnealingWarmRestarts(optimizer, int "T_0", int "T_mult", num "eta_min")
    | "SequentialLR" ->
        let subs = subSchedules ()
        SequentialLR(optimizer, subs, ints (args.GetProperty "milestones"))
    | "ChainedScheduler" -> ChainedScheduler(subSchedules ())
    | other -> failwithf "unknown schedule %s" other

/// One schedule case: the lr before each of 100 iterations, and what the schedule reports.
let private lrs (name: string) =
    let case = Oracle.cases fixture.Value |> List.find (fun c -> Oracle.name c = name)
    let p = Tensor.zeros DType.Float64 [ 1 ] |> Tensor.requiresGrad
    let optimizer = SGD([ p ], lr = case.GetProperty("base_lr").GetDouble())
    let schedule = scheduleOf optimizer (case.GetProperty("scheduler").GetString()) (case.GetProperty "args")
    let expected = OptimSupport.floats (case.GetProperty "lrs")
    Expect.equal expected.Length 100 "number of expected"
    let actual = ResizeArray()
    let reported = ResizeArray()
    for _ in 1 .. 100 do
        actual.Add(Optim.lr optimizer)
        reported.Add(schedule.CurrentLr)
        optimizer.Step()
        schedule.Step()
    Check.arraysClose (name + " lr") 1e-12 1e-300 expected (actual.ToArray())
    // GetLastLr / CurrentLr report the lr the groups hold
    Check.arraysClose (name + " CurrentLr") 1e-12 1e-300 expected (reported.ToArray())
    Expect.equal (schedule.GetLastLr().[0]) (Optim.lr optimizer) "schedule.GetLastLr().[0]"

[<Tests>]
let tests =
    testList "Optim.Schedules" [
        testList "schedule matches PyTorch" [
            for name in [ for c in Oracle.cases fixture.Value -> Oracle.name c ] ->
                testCase name <| fun () -> lrs name
        ]

        testCase "the schedules fixture has 8 cases" <| fun () ->
            Expect.equal (Oracle.cases fixture.Value |> List.length) 8 "Oracle.cases fixture.Value |> List.length"

        testCase "a schedule sets every parameter group from its own base lr" <| fun () ->
            let a = Tensor.zeros DType.Float64 [ 2 ] |> Tensor.requiresGrad
            let b = Tensor.zeros DType.Float64 [ 2 ] |> Tensor.requiresGrad
            let optimizer = SGD([ ParamGroup([ a ], Lr = 1.0); ParamGroup([ b ], Lr = 0.5) ], lr = 0.1)
            let schedule = StepLR(optimizer, stepSize = 2, gamma = 0.5)
            for _ in 1 .. 4 do schedule.Step()
            Check.arraysClose "lrs after 4 epochs" 1e-15 0.0 [| 0.25; 0.125 |] (schedule.GetLastLr())
            Check.arraysClose "base lrs" 0.0 0.0 [| 1.0; 0.5 |] (Seq.toArray schedule.BaseLrs)

        testCase "bad schedule arguments are refused with the argument named" <| fun () ->
            let p = Tensor.zeros DType.Float64 [ 1 ] |> Tensor.requiresGrad
            let optimizer = SGD([ p ], lr = 0.1)
            Check.throwsAutoKl [ "StepLR"; "stepSize" ] (fun () -> StepLR(optimizer, 0)) |> ignore
            Check.throwsAutoKl [ "ExponentialLR"; "gamma" ] (fun () -> ExponentialLR(optimizer, -0.5)) |> ignore
            Check.throwsAutoKl [ "CosineAnnealingLR"; "tMax" ] (fun () -> CosineAnnealingLR(optimizer, 0)) |> ignore
            Check.throwsAutoKl [ "LinearLR"; "startFactor" ] (fun () -> LinearLR(optimizer, startFactor = 0.0)) |> ignore
            Check.throwsAutoKl [ "CosineAnnealingWarmRestarts"; "tMult" ] (fun () -> CosineAnnealingWarmRestarts(optimizer, 10, 0)) |> ignore
            let s1 = LinearLR(optimizer, 0.1, 1.0, 10)
            let s2 = ExponentialLR(optimizer, 0.9)
            Check.throwsAutoKl [ "SequentialLR"; "milestones" ] (fun () -> SequentialLR(optimizer, [ s1; s2 ], [])) |> ignore
    ]
