/// Tensor scopes (Tensor.scope / Tensor.keep; C#: Tensor.Scope() / t.Keep()): a tensor made inside a
/// scope is released when it ends (reading it throws, naming the op and the shape), unless kept;
/// views share their storage's fate; gradients and optimizer state are never released; training
/// with a scope per step gives the same bits as without, with or without poisoned pool arrays; and
/// a warm step inside a scope (hand-written, or Minimize.Run) allocates no storage array.
module AutoKl.Tests.Engine.TensorScopeTests

open System
open System.Threading
open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Distributions
open AutoKl.Tests.Support.Settings

let private bits (t: Tensor) = t.ToDoubleArray() |> Array.map BitConverter.DoubleToInt64Bits

/// Runs f, which must throw the released-tensor error; returns the message.
let private releasedError (what: string) (f: unit -> 'a) =
    let e =
        try
            f () |> ignore
            failtestf "%s: no error" what
        with :? AutoKlException as e -> e
    Expect.equal e.Operation "released tensor" (what + ": the error says the tensor was released")
    e.Message

let private data (seed: int) (shape: int list) = Tensor.randn (Generator(seed)) DType.Float64 shape

// ---- the reference fit (bench/AutoKl.Benchmarks/Workloads.cs GaussianFit) ---------------------

type private Fit(dtype: DType) =
    let x = Tensor.Linspace(-15.0, 15.0, 1000, dtype)
    let p = Tensor.Exp(Normal(-5.0, 1.0, dtype).LogProb(x)) + Tensor.Exp(Normal(10.0, 1.0, dtype).LogProb(x))
    let mu = Tensor.Scalar(0.0, dtype).RequiresGrad_()
    let sigma = Tensor.Scalar(1.0, dtype).RequiresGrad_()
    let adam = Adam([ mu; sigma ], lr = 1e-3)
    member _.Parameters = [| mu; sigma |]
    member _.Adam = adam
    member _.Loss() = Losses.KlDiv(Normal(mu, sigma).LogProb(x), p, Reduction.Mean)
    member this.Step() =
        adam.ZeroGrad()
        let loss = this.Loss()
        loss.Backward()
        adam.Step()
        loss.ToScalar()
    member this.ScopedStep() =
        use _ = Tensor.scope ()
        this.Step()
    member this.Run(steps: int) = Minimize.Run(this.Parameters, Func<Tensor>(fun () -> this.Loss()), adam, steps)
    member _.Bits = Array.append (bits mu) (bits sigma)

/// log_softmax + kl_div(batchmean) on [batch, classes] float32 logits, optimised with Adam.
type private Batch(batch: int, classes: int) =
    let logits = Tensor.RandN([| batch; classes |], Generator(11), DType.Float32).RequiresGrad_()
    let target = Tensor.Softmax(Tensor.RandN([| batch; classes |], Generator(12), DType.Float32), 1)
    let adam = Adam([ logits ], lr = 1e-3)
    member _.Parameters = [| logits |]
    member _.Adam = adam
    member _.Loss() = Losses.KlDiv(Tensor.LogSoftmax(logits, 1), target, Reduction.BatchMean)
    member this.Step() =
        adam.ZeroGrad()
        let loss = this.Loss()
        loss.Backward()
        adam.Step()
        loss.ToScalar()
    member this.ScopedStep() =
        use _ = Tensor.scope ()
        this.Step()
    member this.Run(steps: int) = Minimize.Run(this.Parameters, Func<Tensor>(fun () -> this.Loss()), adam, steps)
    member _.Bits = bits logits

/// Fresh storage arrays (of a poolable length) allocated on this thread over `steps` warm steps, and
/// bytes allocated per step; `run n` runs n steps (a loop, or one Minimize.Run of n steps).
let private perStep (steps: int) (run: int -> unit) =
    run 5
    let fresh = StoragePool.FreshArrays
    let bytes = GC.GetAllocatedBytesForCurrentThread()
    run steps
    StoragePool.FreshArrays - fresh, float (GC.GetAllocatedBytesForCurrentThread() - bytes) / float steps

let private loop (step: unit -> 'a) (n: int) = for _ in 1 .. n do step () |> ignore

[<Tests>]
let tests =
    testList "Engine.Scopes" [
        testCase "a tensor used after its scope throws, naming the op and the shape; shape and dtype still answer" <| fun () ->
            let x = data 1 [ 3; 4 ]
            let y =
                use _ = Tensor.scope ()
                Tensor.exp x
            Expect.isTrue y.IsReleased "released"
            let message = releasedError "reading the values" (fun () -> y.ToDoubleArray())
            Expect.stringContains message "'exp'" "names the op that made it"
            Expect.stringContains message "[3, 4]" "names the shape"
            Expect.stringContains message "Tensor.keep" "says how to keep it (F#)"
            Expect.stringContains message "Keep()" "says how to keep it (C#)"
            releasedError "an op on it" (fun () -> Tensor.sum y) |> ignore
            releasedError "ToScalar of an element" (fun () -> y.ItemAt(0, 0)) |> ignore
            releasedError "keeping it too late" (fun () -> Tensor.keep y) |> ignore
            Expect.sequenceEqual y.Shape [| 3; 4 |] "the shape still answers"
            Expect.equal y.DType DType.Float64 "the dtype still answers"
            Expect.equal y.Numel 12 "the element count still answers"
            Expect.stringContains (string y) "released" "printing says released instead of throwing"
            Expect.isFalse x.IsReleased "a tensor made before the scope is not released"
            Expect.equal (x.ToDoubleArray().Length) 12 "and still reads"

        testCase "the C# form: Tensor.Scope() and Keep(); a kept tensor survives with its values" <| fun () ->
            let x = data 2 [ 64 ]
            let expected = (Tensor.Exp(x) * 2.0).ToDoubleArray()
            let scope = Tensor.Scope()
            let kept = (Tensor.Exp(x) * 2.0).Keep()
            let dropped = Tensor.Exp(x)
            scope.Dispose()
            Expect.sequenceEqual (kept.ToDoubleArray()) expected "the kept tensor's values"
            Expect.isFalse kept.IsReleased "kept"
            Expect.isTrue dropped.IsReleased "the other one is released"
            // later scopes reuse the pool; the kept tensor's storage is not in it
            for _ in 1 .. 3 do
                use _ = Tensor.scope ()
                Tensor.exp x * 3.0 |> ignore
            Expect.sequenceEqual (kept.ToDoubleArray()) expected "still the same values after later scopes"

        testCase "views of a released tensor throw; reshape, detach and slices made inside the scope included" <| fun () ->
            let x = data 3 [ 4; 8 ]
            let y, r, d, s =
                use _ = Tensor.scope ()
                let y = Tensor.exp x
                y, Tensor.reshape [ 8; 4 ] y, Tensor.detach y, y.[1..2]
            for name, t in [ "the tensor", y; "its reshape", r; "its detached view", d ] do
                releasedError name (fun () -> t.ToDoubleArray()) |> ignore
            let message = releasedError "reshape" (fun () -> r.ToDoubleArray())
            Expect.stringContains message "'reshape'" "the view names its own op"
            Expect.stringContains message "[8, 4]" "and its own shape"
            releasedError "a slice (its own storage, made inside the scope)" (fun () -> s.ToDoubleArray()) |> ignore

        testCase "a kept view keeps the storage alive, for the view and the tensor it views" <| fun () ->
            withPoison true (fun () ->
                let x = data 4 [ 4; 8 ]
                let expected = (Tensor.exp x).ToDoubleArray()
                let y, v =
                    use _ = Tensor.scope ()
                    let y = Tensor.exp x
                    y, Tensor.reshape [ 32 ] y |> Tensor.keep
                Expect.isFalse v.IsReleased "the kept view"
                Expect.isFalse y.IsReleased "the tensor it views shares the storage, so it is alive too"
                for _ in 1 .. 3 do
                    use _ = Tensor.scope ()
                    Tensor.exp x * 5.0 |> ignore
                Expect.sequenceEqual (v.ToDoubleArray()) expected "the view's values, after later scopes reused the pool"
                Expect.sequenceEqual (y.ToDoubleArray()) expected "the original's values")

        testCase "released storage goes back to the pool, filled with NaN when poisoning is on, and the next scope takes it" <| fun () ->
            withPoison true (fun () ->
                let x = data 5 [ 256 ]
                let mutable raw : double[] = null
                do
                    use _ = Tensor.scope ()
                    let y = Tensor.exp x
                    raw <- y.Data<double>()
                Expect.isTrue (raw |> Array.forall Double.IsNaN) "the released array was poisoned"
                use _ = Tensor.scope ()
                let z = Tensor.exp x
                Expect.isTrue (Object.ReferenceEquals(z.Data<double>(), raw)) "the next tensor of that size reuses the array"
                Expect.sequenceEqual (z.ToDoubleArray()) ((Tensor.exp x |> Tensor.keep).ToDoubleArray()) "with its own values")

        testCase "nested scopes: keep moves a tensor to the enclosing scope, which releases it unless kept again" <| fun () ->
            let x = data 6 [ 32 ]
            let outer = Tensor.scope ()
            let a = Tensor.exp x
            let inner = Tensor.scope ()
            let b = Tensor.exp x |> Tensor.keep
            let c = Tensor.exp x
            let d = Tensor.exp x |> Tensor.keep
            inner.Dispose()
            Expect.isTrue c.IsReleased "the inner scope's own tensor"
            Expect.isFalse b.IsReleased "kept into the outer scope"
            Expect.isFalse a.IsReleased "the outer scope's tensor is not the inner one's"
            let e = Tensor.exp x
            Tensor.keep d |> ignore
            outer.Dispose()
            Expect.isTrue a.IsReleased "the outer scope's own tensor"
            Expect.isTrue b.IsReleased "kept once: it belonged to the outer scope"
            Expect.isTrue e.IsReleased "made in the outer scope after the inner one ended"
            Expect.isFalse d.IsReleased "kept twice: out of every scope"
            let f = Tensor.exp x
            Expect.isFalse f.IsReleased "no scope open: nothing owns new tensors"

        testCase "disposing twice is harmless; out of order, each scope releases only its own tensors" <| fun () ->
            let x = data 7 [ 32 ]
            let s = Tensor.scope ()
            let y = Tensor.exp x
            s.Dispose()
            s.Dispose()
            Expect.isTrue y.IsReleased "released once"
            let outer = Tensor.scope ()
            let a = Tensor.exp x
            let inner = Tensor.scope ()
            let b = Tensor.exp x
            outer.Dispose()
            Expect.isTrue a.IsReleased "the outer scope's tensor"
            Expect.isFalse b.IsReleased "the inner scope is still open"
            let c = Tensor.exp x
            let kept = Tensor.exp x |> Tensor.keep
            inner.Dispose()
            Expect.isTrue b.IsReleased "the inner scope's tensors, at its end"
            Expect.isTrue c.IsReleased "made while only the inner scope was open"
            Expect.isFalse kept.IsReleased "kept past the inner scope, whose enclosing scope had already ended"
            Expect.isFalse (Tensor.exp x).IsReleased "no scope left open"

        testCase "a scope disposed on another thread is refused; tensors made on other threads are not its own" <| fun () ->
            let x = data 8 [ 32 ]
            let scope = Tensor.scope ()
            let mutable error : exn = null
            let mutable other : Tensor = null
            let t = Thread(fun () ->
                other <- Tensor.exp x
                try scope.Dispose() with e -> error <- e)
            t.Start()
            t.Join()
            Expect.isNotNull error "disposing on another thread fails"
            Expect.isTrue (error :? AutoKlException) "with AutoKl's error"
            Expect.stringContains error.Message "different thread" "saying why"
            let mine = Tensor.exp x
            scope.Dispose()
            Expect.isTrue mine.IsReleased "disposed on its own thread, it releases its tensors"
            Expect.isFalse other.IsReleased "the other thread's tensor was never the scope's"

        testCase "a backward pass through a released graph throws instead of reading recycled values" <| fun () ->
            let w = data 9 [ 64 ] |> Tensor.requiresGrad
            let loss =
                use _ = Tensor.scope ()
                Tensor.sum (Tensor.exp w * Tensor.exp w) |> Tensor.keep
            releasedError "backward" (fun () -> loss.Backward()) |> ignore
            // what an op keeps for its backward pass (log_softmax's exps, cross_entropy's gradient)
            // is named as such, with the remedy that applies to it
            let x = data 10 [ 4; 40 ] |> Tensor.requiresGrad
            let t = Tensor.Softmax(data 11 [ 4; 40 ], 1)
            let keptLosses : (string * (unit -> Tensor)) list =
                [ "log_softmax", (fun () -> Tensor.Sum(Tensor.LogSoftmax(x, 1) * t))
                  "cross_entropy", (fun () -> Losses.CrossEntropy(x, t)) ]
            for op, f in keptLosses do
                let loss =
                    use _ = Tensor.scope ()
                    f () |> Tensor.keep
                let message = releasedError op (fun () -> loss.Backward())
                Expect.stringContains message (sprintf "kept by '%s' for its backward pass" op) (op + ": names the op that kept it")
                Expect.stringContains message "Run the backward pass inside the scope" (op + ": says what to do")

        testCase ".Grad made inside a scope survives it (plain, accumulated, fused, and recorded with create_graph)" <| fun () ->
            let x = data 10 [ 8; 64 ] |> Tensor.requiresGrad
            let t = Tensor.softmax 1 (data 11 [ 8; 64 ])
            let loss (x: Tensor) = Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean) + Tensor.sum (x * x)
            let expected = x.Detach().RequiresGrad_()
            (loss expected).Backward()
            (loss expected).Backward()
            do
                use _ = Tensor.scope ()
                (loss x).Backward()
                (loss x).Backward()
            Expect.sequenceEqual (bits x.Grad) (bits expected.Grad) "the accumulated gradient survives with its values"
            let z = data 12 [ 32 ] |> Tensor.requiresGrad
            do
                use _ = Tensor.scope ()
                (Tensor.sum (z * z * z)).Backward(createGraph = true)
            Expect.isFalse z.Grad.IsReleased "a recorded gradient becomes .Grad and leaves the scope"
            Expect.sequenceEqual (z.Grad.ToDoubleArray()) ((z.Detach() * z.Detach() * 3.0).ToDoubleArray()) "3 z^2"
            let u = data 13 [ 32 ] |> Tensor.requiresGrad
            do
                use _ = Tensor.scope ()
                u.Grad <- Tensor.onesLike u
            Expect.isFalse u.Grad.IsReleased "a gradient set by hand inside a scope survives it"

        testCase "Adam and SGD state created inside a scope survive it: the same bits as without scopes" <| fun () ->
            let makeAll () =
                let a = data 14 [ 16; 32 ] |> Tensor.requiresGrad
                let b = data 14 [ 16; 32 ] |> Tensor.requiresGrad
                let c = data 14 [ 16; 32 ] |> Tensor.requiresGrad
                let opts : Optimizer list = [ Adam([ a ], lr = 1e-2); SGD([ b ], lr = 1e-2, momentum = 0.9); RMSprop([ c ], lr = 1e-2, momentum = 0.5, centered = true) ]
                [ a; b; c ], opts
            let run scoped =
                let ps, opts = makeAll ()
                for _ in 1 .. 5 do
                    use _ = if scoped then Tensor.scope () :> IDisposable else { new IDisposable with member _.Dispose() = () }
                    for p, o in List.zip ps opts do
                        o.ZeroGrad()
                        (Tensor.sum (Tensor.exp (p * 0.1) * p)).Backward()
                        o.Step()
                ps, opts
            let ps, opts = run true
            let ps0, _ = run false
            for p, p0 in List.zip ps ps0 do Expect.sequenceEqual (bits p) (bits p0) "parameters"
            for p, o in List.zip ps opts do
                for KeyValue(name, buffer) in o.State(p).Buffers do
                    Expect.isFalse buffer.IsReleased (sprintf "%s's %s" o.Name name)
            let saved =
                use _ = Tensor.scope ()
                opts.[0].SaveState()
            for e in saved.Entries do
                for KeyValue(_, buffer) in e.Buffers do Expect.isFalse buffer.IsReleased "a saved state survives the scope it was saved in"
            do
                use _ = Tensor.scope ()
                opts.[0].LoadState(saved)
            for KeyValue(_, buffer) in opts.[0].State(ps.[0]).Buffers do Expect.isFalse buffer.IsReleased "a state loaded inside a scope survives it"
            do
                use _ = Tensor.scope ()
                opts.[0].ZeroGrad()
                (Tensor.sum (ps.[0] * ps.[0])).Backward()
                GradClip.ClipGradNorm([ ps.[0] ], 0.5) |> ignore
            Expect.isFalse ps.[0].Grad.IsReleased "a gradient clipped inside a scope survives it"

        testCase "100 steps of the reference fit with a scope per step: the same mu and sigma bits as without scopes, poisoned or not" <| fun () ->
            let run scoped poison =
                withPoison poison (fun () ->
                    let fit = Fit(DType.Float32)
                    for _ in 1 .. 100 do (if scoped then fit.ScopedStep() else fit.Step()) |> ignore
                    fit.Bits)
            let plain = run false false
            Expect.sequenceEqual (run true false) plain "scoped"
            Expect.sequenceEqual (run true true) plain "scoped, with poisoned pool arrays"
            let fit = Fit(DType.Float32)
            fit.Run 100
            Expect.sequenceEqual fit.Bits plain "Minimize.Run (a scope per step)"
            let fit = Fit(DType.Float32)
            withPoison true (fun () -> fit.Run 100)
            Expect.sequenceEqual fit.Bits plain "Minimize.Run with poisoned pool arrays"

        testCase "Minimize.Run reports the same losses as a loop without scopes; a tensor its loss function stores must be kept" <| fun () ->
            let fit = Fit(DType.Float64)
            let expected = Array.init 30 (fun _ -> fit.Step())
            let fit = Fit(DType.Float64)
            let reported = ResizeArray()
            Minimize.Run(fit.Parameters, Func<Tensor>(fun () -> fit.Loss()), fit.Adam, 30, Action<StepReport>(fun r -> reported.Add r.Loss))
            Expect.sequenceEqual reported expected "the losses"
            let w = data 15 [ 16 ] |> Tensor.requiresGrad
            let mutable stored = []
            Optim.minimize [ w ] (SGD([ w ], lr = 0.1)) 3 (fun () ->
                let y = Tensor.exp w
                stored <- [ Tensor.keep (Tensor.detach y); Tensor.detach (Tensor.exp w) ]
                Tensor.sum y) |> ignore
            Expect.isFalse stored.[0].IsReleased "kept by the loss function"
            Expect.isTrue stored.[1].IsReleased "not kept: released with its step"

        testCase "after warm-up, a scoped training step allocates no storage array: reference fit and [256, 4096], hand-written and Minimize.Run" <| fun () ->
            let fit = Fit(DType.Float32)
            let fresh, _ = perStep 20 (loop fit.ScopedStep)
            Expect.equal fresh 0L "reference fit, hand-written loop with a scope per step: fresh storage arrays over 20 warm steps"
            let fit = Fit(DType.Float32)
            let fresh, _ = perStep 20 fit.Run
            Expect.equal fresh 0L "reference fit, Minimize.Run: fresh storage arrays over 20 warm steps"
            let batch = Batch(256, 4096)
            let fresh, _ = perStep 20 (loop batch.ScopedStep)
            Expect.equal fresh 0L "[256, 4096] with Adam, hand-written loop with a scope per step"
            let batch = Batch(256, 4096)
            let fresh, _ = perStep 20 batch.Run
            Expect.equal fresh 0L "[256, 4096] with Adam, Minimize.Run"
            // the counter does count: without a scope, a log_softmax output that is read takes a new array every step
            let batch = Batch(256, 4096)
            let readingStep () =
                let y = Tensor.LogSoftmax(batch.Parameters.[0], 1)
                y.ToDoubleArray() |> ignore
            let fresh, _ = perStep 5 (loop readingStep)
            Expect.isGreaterThanOrEqual fresh 5L "without a scope, each output read is a new array"

        testSequenced <| testCase "after warm-up, a scoped training step allocates at most 16 KB (one thread)" (fun () ->
            withThreads 1 (fun () ->
                let check name (run: int -> unit) =
                    let fresh, bytes = perStep 20 run
                    Expect.equal fresh 0L (name + ": fresh storage arrays")
                    Expect.isLessThanOrEqual bytes 16384.0 (sprintf "%s: %.0f bytes per step" name bytes)
                let fit = Fit(DType.Float32)
                check "reference fit, hand-written" (loop fit.ScopedStep)
                let fit = Fit(DType.Float32)
                check "reference fit, Minimize.Run" fit.Run
                let fit = Fit(DType.Float64)
                check "reference fit float64, hand-written" (loop fit.ScopedStep)
                let batch = Batch(256, 4096)
                check "[256, 4096], hand-written" (loop batch.ScopedStep)
                let batch = Batch(256, 4096)
                check "[256, 4096], Minimize.Run" batch.Run))
    ]
