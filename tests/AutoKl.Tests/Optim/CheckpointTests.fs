/// Checkpoints: resuming continues bit-identically in float64; bad files are refused with a
/// clear error and change nothing; writes are atomic.
module AutoKl.Tests.Optim.CheckpointTests

open Expecto
open System
open System.IO
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support
open AutoKl.Tests.Optim.OptimSupport

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "autokl-ckpt-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory(d) |> ignore
    d

/// A fresh training setup: the fixture objective's two parameters, an optimizer, a schedule.
type private Setup = { W1: Tensor; W2: Tensor; Optimizer: Optimizer; Schedule: LRScheduler option }

let private parametersOf s = [| s.W1; s.W2 |]

let private fresh (kind: string) (w1Values: float list) =
    let w1 = Tensor.ofList w1Values |> Tensor.requiresGrad
    let w2 = Tensor.ofList2D [ [ 0.8; -0.3 ]; [ 1.2; -1.5 ] ] |> Tensor.requiresGrad
    match kind with
    | "adam-amsgrad" ->
        let o = Adam([ ParamGroup([ w1 ], Lr = 0.1); ParamGroup([ w2 ], Lr = 0.05, Beta1 = 0.8) ], amsgrad = true, weightDecay = 0.01)
        let warm = LinearLR(o, 0.2, 1.0, 5)
        let cosine = CosineAnnealingLR(o, 20, 0.001)
        { W1 = w1; W2 = w2; Optimizer = o; Schedule = Some(SequentialLR(o, [ warm :> LRScheduler; cosine ], [ 5 ])) }
    | "sgd-momentum" ->
        let o = SGD([ w1; w2 ], lr = 0.05, momentum = 0.9, dampening = 0.1)
        { W1 = w1; W2 = w2; Optimizer = o; Schedule = Some(CosineAnnealingWarmRestarts(o, 4, 2)) }
    | "rmsprop" ->
        let o = RMSprop([ w1; w2 ], lr = 0.01, momentum = 0.5, centered = true)
        { W1 = w1; W2 = w2; Optimizer = o; Schedule = None }
    | other -> failwithf "unknown setup %s" other

let private run (s: Setup) steps =
    let trajectory = ResizeArray<float[]>()
    let record (_: StepReport) = trajectory.Add(Array.append (s.W1.ToDoubleArray()) (s.W2.ToDoubleArray()))
    let loss () = objective s.W1 s.W2
    match s.Schedule with
    | Some sched -> Minimize.Run(parametersOf s, Func<Tensor>(loss), s.Optimizer, sched, steps, Action<StepReport>(record))
    | None -> Optim.minimizeWith record (parametersOf s) s.Optimizer steps loss
    trajectory.ToArray()

let private save path (s: Setup) =
    match s.Schedule with
    | Some sched -> Checkpoint.Save(path, parametersOf s, s.Optimizer, sched)
    | None -> Checkpoint.Save(path, parametersOf s, s.Optimizer)

let private load path (s: Setup) =
    match s.Schedule with
    | Some sched -> Checkpoint.Load(path, parametersOf s, s.Optimizer, sched)
    | None -> Checkpoint.Load(path, parametersOf s, s.Optimizer)

/// Saves a good checkpoint after a few steps of Adam with a schedule; returns its path.
let private goodCheckpoint dir =
    let s = fresh "adam-amsgrad" [ 1.5; 0.5; -1.0 ]
    run s 3 |> ignore
    let path = Path.Combine(dir, "good.ckpt")
    save path s
    path

/// Runs `action` against a fresh setup that took 2 steps, checks it throws an AutoKlException
/// mentioning every fragment, and that the parameters, optimizer state and schedule are unchanged.
let private refusedAndUnchanged (fragments: string list) (action: Setup -> unit) =
    let s = fresh "adam-amsgrad" [ 0.1; 0.2; 0.3 ]
    run s 2 |> ignore
    let values = Array.append (s.W1.ToDoubleArray()) (s.W2.ToDoubleArray())
    let state = s.Optimizer.State(s.W1)
    let step, expAvg = state.Step, state.Buffers.["exp_avg"].ToDoubleArray()
    let lr = Optim.lr s.Optimizer
    let epoch = s.Schedule.Value.LastEpoch
    Check.throwsAutoKl ("checkpoint.load" :: fragments) (fun () -> action s) |> ignore
    Expect.equal (Array.append (s.W1.ToDoubleArray()) (s.W2.ToDoubleArray())) values "parameters unchanged"
    Expect.equal (s.Optimizer.State(s.W1).Step) step "optimizer step count unchanged"
    Expect.equal (s.Optimizer.State(s.W1).Buffers.["exp_avg"].ToDoubleArray()) expAvg "exp_avg buffer unchanged"
    Expect.equal (Optim.lr s.Optimizer) lr "lr unchanged"
    Expect.equal s.Schedule.Value.LastEpoch epoch "schedule epoch unchanged"

let private withDir (f: string -> unit) =
    let dir = tempDir ()
    try f dir finally Directory.Delete(dir, true)

/// A float64 [3] and a float32 [2; 2] parameter with values whose bytes are all distinct.
let private mixedParameters () =
    let w64 = Tensor.ofList [ 1.5; -0.25; 1e300 ] |> Tensor.requiresGrad
    let w32 = Tensor.ofList32 [ 0.8f; -0.3f; 1e-30f; 3.25f ] |> Tensor.reshape [ 2; 2 ] |> Tensor.detach |> Tensor.requiresGrad
    w64, w32

/// A stream that fails after `limit` bytes, as a crash or a full disk would.
type private FailingStream(inner: Stream, limit: int) =
    inherit Stream()
    let mutable written = 0
    override _.CanRead = false
    override _.CanSeek = false
    override _.CanWrite = true
    override _.Length = int64 written
    override _.Position with get () = int64 written and set _ = raise (NotSupportedException())
    override _.Flush() = inner.Flush()
    override _.Read(_, _, _) = raise (NotSupportedException())
    override _.Seek(_, _) = raise (NotSupportedException())
    override _.SetLength _ = raise (NotSupportedException())
    override _.Write(buffer: byte[], offset: int, count: int) =
        let n = min count (limit - written)
        inner.Write(buffer, offset, max n 0)
        written <- written + max n 0
        if n < count then raise (IOException "simulated crash: disk full")

[<Tests>]
let tests =
    testList "Optim.Checkpoints" [
        testList "resuming from a checkpoint continues bit-identically in float64" [
            for kind in
                [ "adam-amsgrad"
                  "sgd-momentum"
                  "rmsprop" ] ->
                testCase kind <| fun () ->
                    let dir = tempDir ()
                    try
                        let uninterrupted = run (fresh kind [ 1.5; 0.5; -1.0 ]) 30
                        let first = fresh kind [ 1.5; 0.5; -1.0 ]
                        let before = run first 12
                        let path = Path.Combine(dir, "run.ckpt")
                        save path first
                        // a new process: other starting values, a new optimizer and schedule
                        let resumed = fresh kind [ 9.0; 9.0; 9.0 ]
                        load path resumed
                        Expect.equal (resumed.W1.ToDoubleArray()) (first.W1.ToDoubleArray()) "resumed.W1.ToDoubleArray()"
                        let after = run resumed 18
                        let combined = Array.append before after
                        Expect.equal combined.Length 30 "number of combined"
                        for k in 0 .. 29 do
                            // bit-identical: exact equality of every value
                            Expect.equal combined.[k] (uninterrupted.[k]) (sprintf "step %d" (k + 1))
                        match resumed.Schedule with
                        | Some s -> Expect.equal s.LastEpoch 30 "s.LastEpoch"
                        | None -> ()
                    finally
                        Directory.Delete(dir, true)
        ]

        testCase "the file starts with the documented header" <| fun () ->
            withDir (fun dir ->
                let bytes = File.ReadAllBytes(goodCheckpoint dir)
                Expect.equal (Text.Encoding.ASCII.GetString(bytes, 0, 8)) "AUTOKLCK" "Text.Encoding.ASCII.GetString(bytes, 0, 8)"
                Expect.equal (BitConverter.ToInt32(bytes, 8)) Checkpoint.FormatVersion "BitConverter.ToInt32(bytes, 8)"
                Expect.equal (BitConverter.ToInt64(bytes, 12)) (int64 bytes.Length - 20L - 32L) "BitConverter.ToInt64(bytes, 12)")

        testCase "a truncated file is refused and nothing changes" <| fun () ->
            withDir (fun dir ->
                let bytes = File.ReadAllBytes(goodCheckpoint dir)
                for keep in [ 4; 15; bytes.Length / 2; bytes.Length - 1 ] do
                    let path = Path.Combine(dir, sprintf "truncated%d.ckpt" keep)
                    File.WriteAllBytes(path, Array.sub bytes 0 keep)
                    refusedAndUnchanged [ "truncated" ] (fun s -> load path s))

        testCase "a corrupted file is refused and nothing changes" <| fun () ->
            withDir (fun dir ->
                let bytes = File.ReadAllBytes(goodCheckpoint dir)
                let path = Path.Combine(dir, "corrupted.ckpt")
                let flipped = Array.copy bytes
                flipped.[bytes.Length / 2] <- flipped.[bytes.Length / 2] ^^^ 0x10uy
                File.WriteAllBytes(path, flipped)
                refusedAndUnchanged [ "corrupted"; "checksum" ] (fun s -> load path s)
                File.WriteAllBytes(path, Array.append bytes [| 0uy |])
                refusedAndUnchanged [ "corrupted" ] (fun s -> load path s))

        testCase "a file of another format version is refused and nothing changes" <| fun () ->
            withDir (fun dir ->
                let bytes = File.ReadAllBytes(goodCheckpoint dir)
                let path = Path.Combine(dir, "v2.ckpt")
                Array.blit (BitConverter.GetBytes 2) 0 bytes 8 4
                File.WriteAllBytes(path, bytes)
                refusedAndUnchanged [ "version 2"; "version 1" ] (fun s -> load path s))

        testCase "a file that is not a checkpoint is refused" <| fun () ->
            withDir (fun dir ->
                let path = Path.Combine(dir, "notes.txt")
                File.WriteAllText(path, "hello, this is not a checkpoint at all")
                refusedAndUnchanged [ "not an AutoKl checkpoint" ] (fun s -> load path s)
                refusedAndUnchanged [ "no checkpoint file" ] (fun s -> load (Path.Combine(dir, "missing.ckpt")) s))

        testCase "a checkpoint for other parameters, optimizer or schedule is refused and nothing changes" <| fun () ->
            withDir (fun dir ->
                let path = goodCheckpoint dir
                // other shapes
                refusedAndUnchanged [ "parameters[0]"; "[3]"; "[4]" ] (fun s ->
                    let other = Tensor.zeros DType.Float64 [ 4 ] |> Tensor.requiresGrad
                    Checkpoint.Load(path, [| other; s.W2 |], Adam([ other; s.W2 ])))
                // another parameter count
                refusedAndUnchanged [ "holds 2 parameters, 1 were given" ] (fun s -> Checkpoint.Load(path, [| s.W1 |], Adam([ s.W1 ])))
                // another dtype
                refusedAndUnchanged [ "float32" ] (fun s ->
                    let w1 = Tensor.zeros DType.Float32 [ 3 ] |> Tensor.requiresGrad
                    Checkpoint.Load(path, [| w1; s.W2 |], Adam([ w1; s.W2 ])))
                // another optimizer kind
                refusedAndUnchanged [ "saved by Adam, not SGD" ] (fun s ->
                    let o = SGD([ ParamGroup([ s.W1 ]); ParamGroup([ s.W2 ]) ], lr = 0.1)
                    Checkpoint.Load(path, parametersOf s, o))
                // other grouping
                refusedAndUnchanged [ "parameter groups" ] (fun s -> Checkpoint.Load(path, parametersOf s, Adam([ s.W1; s.W2 ])))
                // schedule missing / of another kind
                refusedAndUnchanged [ "pass the schedule" ] (fun s -> Checkpoint.Load(path, parametersOf s, s.Optimizer))
                refusedAndUnchanged [ "SequentialLR"; "ExponentialLR" ] (fun s ->
                    Checkpoint.Load(path, parametersOf s, s.Optimizer, ExponentialLR(s.Optimizer, 0.9))))

        testCase "tensors are stored as documented: dtype, rank, dims, then the values little-endian and row-major" <| fun () ->
            withDir (fun dir ->
                let w64, w32 = mixedParameters ()
                let path = Path.Combine(dir, "layout.ckpt")
                Checkpoint.Save(path, [| w64; w32 |], SGD([ w64; w32 ], lr = 0.1))
                // the payload's start as the documented format spells it (BinaryWriter writes little-endian)
                let expected =
                    use m = new MemoryStream()
                    use w = new BinaryWriter(m)
                    w.Write 2 // number of parameters
                    w.Write 1uy; w.Write 1; w.Write 3 // float64, rank 1, [3]
                    for v in [ 1.5; -0.25; 1e300 ] do w.Write(v: float)
                    w.Write 0uy; w.Write 2; w.Write 2; w.Write 2 // float32, rank 2, [2; 2]
                    for v in [ 0.8f; -0.3f; 1e-30f; 3.25f ] do w.Write(v: float32)
                    w.Flush()
                    m.ToArray()
                let bytes = File.ReadAllBytes path
                Expect.equal (Array.sub bytes 20 expected.Length) expected "Array.sub bytes 20 expected.Length"
                // and the values come back exactly, float32 included
                let r64 = Tensor.zeros DType.Float64 [ 3 ] |> Tensor.requiresGrad
                let r32 = Tensor.zeros DType.Float32 [ 2; 2 ] |> Tensor.requiresGrad
                Checkpoint.Load(path, [| r64; r32 |], SGD([ r64; r32 ], lr = 0.1))
                Expect.equal (r64.ToDoubleArray()) (w64.ToDoubleArray()) "r64.ToDoubleArray()"
                Expect.equal r32.DType DType.Float32 "dtype of r32"
                Expect.equal (r32.ToDoubleArray()) (w32.ToDoubleArray()) "r32.ToDoubleArray()")

        testCase "a payload cut inside a tensor is refused even with a matching checksum, and nothing changes" <| fun () ->
            withDir (fun dir ->
                let bytes = File.ReadAllBytes(goodCheckpoint dir)
                // keep the header's magic and version, the parameter count, the first tensor's dtype,
                // rank and dims and one of its three values; then a consistent length and checksum
                let payload = Array.sub bytes 20 (4 + 1 + 4 + 4 + 8)
                let forged =
                    Array.concat [ Array.sub bytes 0 12
                                   BitConverter.GetBytes(int64 payload.Length)
                                   payload
                                   Security.Cryptography.SHA256.HashData payload ]
                let path = Path.Combine(dir, "cut.ckpt")
                File.WriteAllBytes(path, forged)
                refusedAndUnchanged [ "corrupted"; "payload cannot be read"; "does not fit" ] (fun s -> load path s))

        testCase "a save that fails midway leaves the previous file intact and no temporary file behind" <| fun () ->
            withDir (fun dir ->
                let path = goodCheckpoint dir
                let before = File.ReadAllBytes path
                let s = fresh "adam-amsgrad" [ 0.1; 0.2; 0.3 ]
                run s 7 |> ignore
                let ex =
                    try
                        Checkpoint.Save(path, parametersOf s, s.Optimizer, s.Schedule.Value, Func<Stream, Stream>(fun f -> new FailingStream(f, 100) :> Stream))
                        failtest "the save through a failing stream should throw"
                    with :? AutoKlException as e -> e
                Expect.stringContains ex.Message "simulated crash" "the save's error"
                Expect.equal (File.ReadAllBytes path) before "File.ReadAllBytes path"
                Expect.equal (Directory.GetFiles(dir) |> Array.map Path.GetFileName) [| "good.ckpt" |] "Directory.GetFiles(dir) |> Array.map Path.GetFileName"
                // the intact file still loads, and a complete save then replaces it
                let t = fresh "adam-amsgrad" [ 0.0; 0.0; 0.0 ]
                load path t
                save path s
                Expect.isFalse (File.ReadAllBytes path = before) "the complete save replaced the file"
                load path t
                Expect.equal (t.W1.ToDoubleArray()) (s.W1.ToDoubleArray()) "t.W1.ToDoubleArray()")

        testCase "optimizer states round-trip in memory too" <| fun () ->
            let s = fresh "adam-amsgrad" [ 1.5; 0.5; -1.0 ]
            run s 4 |> ignore
            let snapshot = s.Optimizer.SaveState()
            let expAvg = s.Optimizer.State(s.W2).Buffers.["max_exp_avg_sq"].ToDoubleArray()
            run s 3 |> ignore
            Expect.isFalse (s.Optimizer.State(s.W2).Buffers.["max_exp_avg_sq"].ToDoubleArray() = expAvg) "later steps changed the state"
            s.Optimizer.LoadState snapshot
            Expect.equal (s.Optimizer.State(s.W2).Step) 4L "s.Optimizer.State(s.W2).Step"
            Expect.equal (s.Optimizer.State(s.W2).Buffers.["max_exp_avg_sq"].ToDoubleArray()) expAvg "s.Optimizer.State(s.W2).Buffers.[\"max_exp_avg_sq\"].ToDoubleArray()"
            Check.throwsAutoKl [ "saved by Adam, not SGD" ] (fun () -> SGD([ s.W1 ], lr = 0.1).LoadState snapshot) |> ignore

        testCase "LoadState refuses a hyper-parameter the optimizer does not use and changes nothing" <| fun () ->
            let s = fresh "adam-amsgrad" [ 1.5; 0.5; -1.0 ]
            run s 4 |> ignore
            let saved = s.Optimizer.SaveState()
            let withForeignKey (g: OptimizerState.Group) =
                let values = Collections.Generic.Dictionary<string, float>(g.HyperParameters)
                values.["momentum"] <- 0.9 // an SGD setting: Adam would ignore it
                OptimizerState.Group(g.ParameterIndices, values)
            let foreign = OptimizerState(saved.OptimizerName, [| saved.Groups.[0]; withForeignKey saved.Groups.[1] |], saved.Entries)
            run s 2 |> ignore
            let lrs () = s.Optimizer.ParamGroups |> Seq.map (fun g -> g.Lr) |> Array.ofSeq
            let lrsBefore = lrs ()
            let expAvg = s.Optimizer.State(s.W2).Buffers.["exp_avg"].ToDoubleArray()
            Check.throwsAutoKl [ "Adam"; "param group 1"; "'momentum'"; "does not use" ] (fun () -> s.Optimizer.LoadState foreign) |> ignore
            // nothing changed: not the groups (also not group 0, which comes before the bad one), not the states
            Expect.isFalse (s.Optimizer.ParamGroups.[1].Has "momentum") "s.Optimizer.ParamGroups.[1].Has \"momentum\""
            Expect.equal (lrs ()) lrsBefore "lrs ()"
            Expect.equal (s.Optimizer.State(s.W2).Step) 6L "s.Optimizer.State(s.W2).Step"
            Expect.equal (s.Optimizer.State(s.W2).Buffers.["exp_avg"].ToDoubleArray()) expAvg "s.Optimizer.State(s.W2).Buffers.[\"exp_avg\"].ToDoubleArray()"
            // the state as saved (with the schedule's initial_lr) still loads
            s.Optimizer.LoadState saved
            Expect.equal (s.Optimizer.State(s.W2).Step) 4L "s.Optimizer.State(s.W2).Step"

        testCase "SaveState refuses a group given a setting its optimizer does not use after it was added" <| fun () ->
            let s = fresh "adam-amsgrad" [ 1.5; 0.5; -1.0 ]
            run s 2 |> ignore
            s.Optimizer.ParamGroups.[1].["momentum"] <- 0.9
            Check.throwsAutoKl [ "Adam"; "param group 1"; "'momentum'"; "does not use" ] (fun () -> s.Optimizer.SaveState()) |> ignore
    ]
