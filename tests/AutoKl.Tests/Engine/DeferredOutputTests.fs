/// log_softmax's output, when a gradient is to come, is written only when something reads it: a
/// fused kl_div after it reads the logits and the exps it kept instead. Whoever reads it later
/// must see exactly what an eager op would have written, even after the logits changed in place,
/// and a scope must release it, or keep it, as any other result.
module AutoKl.Tests.Engine.DeferredOutputTests

open System
open Expecto
open AutoKl
open AutoKl.Optim
open AutoKl.Tests.Support.Settings

let private bits (t: Tensor) = t.ToDoubleArray() |> Array.map BitConverter.DoubleToInt64Bits

/// Logits of rows of 37 (vector loops and their tails), one row holding +inf and one NaN when asked.
let private logits (dtype: DType) (withBadRows: bool) =
    let x = Tensor.RandN([| 6; 37 |], Generator(21), dtype) * 3.0
    let x =
        if not withBadRows then x
        else
            let v = x.ToDoubleArray()
            v[1 * 37 + 20] <- Double.PositiveInfinity
            v[4 * 37 + 3] <- Double.NaN
            Tensor.FromArray(v, [| 6; 37 |]).ToType(dtype)
    x.RequiresGrad_()

/// The output as the op writes it when nothing is deferred (no gradient to come).
let private eager (x: Tensor) = Tensor.LogSoftmax(x.Detach(), 1)

let private target (dtype: DType) = Tensor.Softmax(Tensor.RandN([| 6; 37 |], Generator(22), dtype), 1)

let private klLoss (logTarget: bool) (q: Tensor) (t: Tensor) =
    Losses.KlDiv(q, (if logTarget then Tensor.Log(t) else t), Reduction.BatchMean, logTarget = logTarget)

[<Tests>]
let tests =
    testList "Engine.DeferredOutput" [
        for dtype in [ DType.Float32; DType.Float64 ] do
            for badRows in [ false; true ] do
                let name = sprintf "%s%s" (dtype.ToString()) (if badRows then ", rows holding +inf and NaN" else "")
                testCase (sprintf "a fused kl_div leaves the output unwritten; read later, it is the eager output bit for bit (%s)" name) <| fun () ->
                    let x = logits dtype badRows
                    let expected = bits (eager x)
                    let y = Tensor.LogSoftmax(x, 1)
                    Expect.isTrue y.IsDeferred "with a gradient to come, the output is not written by the op"
                    let loss = klLoss false y (target dtype)
                    if not badRows then
                        loss.Backward()
                        Expect.isTrue y.IsDeferred "neither the fused loss nor its backward pass read it"
                    Expect.sequenceEqual (bits y) expected "the values written on first read"
                    Expect.isFalse y.IsDeferred "written once read"

        for logTarget in [ false; true ] do
            testCase (sprintf "the fused loss and its gradient are the same bits whether the output was read first or not (log_target %b)" logTarget) <| fun () ->
                let run readFirst =
                    let x = logits DType.Float32 false
                    let y = Tensor.LogSoftmax(x, 1)
                    if readFirst then y.ToDoubleArray() |> ignore
                    let loss = klLoss logTarget y (target DType.Float32)
                    loss.Backward()
                    bits loss, bits x.Grad
                let lossA, gradA = run false
                let lossB, gradB = run true
                Expect.sequenceEqual lossA lossB "the loss"
                Expect.sequenceEqual gradA gradB "the gradient"

        let subtractOne (x: Tensor) =
            use _ = Autograd.NoGrad()
            x.Sub_(Tensor.OnesLike(x)) |> ignore
        let zeroThroughView (x: Tensor) =
            use _ = Autograd.NoGrad()
            x.Detach().Copy_(Tensor.ZerosLike(x)) |> ignore
        for change, (apply: Tensor -> unit) in
            [ "an Adam step", (fun (x: Tensor) -> (Adam([ x ], lr = 0.5)).Step())
              "Sub_ under NoGrad", subtractOne
              "Copy_ through a detached view", zeroThroughView ] do
            testCase (sprintf "an output read after %s on its logits has the values from before the change" change) <| fun () ->
                let x = logits DType.Float64 false
                let expected = bits (eager x)
                let y = Tensor.LogSoftmax(x, 1)
                (klLoss false y (target DType.Float64)).Backward()
                let before = bits x
                apply x
                Expect.notEqual (bits x) before "the logits did change"
                Expect.sequenceEqual (bits y) expected "the output as it was when computed"

        testCase "in a scope: a kept output survives with its values, one not kept is released" <| fun () ->
            withPoison true (fun () ->
                let x = logits DType.Float64 false
                let expected = bits (eager x)
                let kept, keptOfScoped, dropped =
                    use _ = Tensor.scope ()
                    let y = Tensor.LogSoftmax(x, 1)
                    let z = Tensor.LogSoftmax(x, 1)
                    // logits made in the scope (and released with it), an output kept beyond it
                    let w = Tensor.LogSoftmax(x * 1.0, 1)
                    (klLoss false y (target DType.Float64) + klLoss false z (target DType.Float64) + klLoss false w (target DType.Float64)).Backward()
                    Expect.isTrue y.IsDeferred "not read in the scope"
                    Expect.isTrue w.IsDeferred "not read in the scope"
                    Tensor.keep y, Tensor.keep w, z
                Expect.isFalse kept.IsReleased "kept"
                // later scopes reuse the pool: the kept output's storage must not be in it
                for _ in 1 .. 3 do
                    use _ = Tensor.scope ()
                    Tensor.exp x * 3.0 |> ignore
                Expect.sequenceEqual (bits kept) expected "the kept output's values"
                Expect.sequenceEqual (bits keptOfScoped) expected "the kept output of logits the scope released"
                Expect.isTrue dropped.IsReleased "the other one is released"
                let message =
                    try
                        dropped.ToDoubleArray() |> ignore
                        failtest "reading a released output: no error"
                    with :? AutoKlException as e -> e.Message
                Expect.stringContains message "'log_softmax'" "names the op that made it")

        testCase "an output first read by a backward pass is right, and the pass does not take its array back" <| fun () ->
            withPoison true (fun () ->
                let composed =
                    withFusion false (fun () ->
                        let x = logits DType.Float64 false
                        let y = Tensor.LogSoftmax(x, 1)
                        (klLoss false y (target DType.Float64) + klLoss true y (target DType.Float64)).Backward()
                        x.Grad.ToDoubleArray())
                let x = logits DType.Float64 false
                let expected = bits (eager x)
                let y = Tensor.LogSoftmax(x, 1)
                // the second kl_div on the same output finds the exps taken by the first: its backward reads y
                let loss = klLoss false y (target DType.Float64) + klLoss true y (target DType.Float64)
                Expect.isTrue y.IsDeferred "the forward pass did not read it"
                loss.Backward()
                Expect.isFalse y.IsDeferred "the backward pass read it"
                // the pool was poisoned when the pass ended: an array it took back would read NaN, or
                // be handed to the next tensors of that size
                let others = [ for seed in 25 .. 28 -> Tensor.exp (Tensor.RandN([| 6; 37 |], Generator(seed), DType.Float64)) ]
                for t in others do t.ToDoubleArray() |> ignore
                Expect.sequenceEqual (bits y) expected "the output's values after the pass"
                let got = x.Grad.ToDoubleArray()
                for i in 0 .. got.Length - 1 do
                    Expect.floatClose { absolute = 1e-15; relative = 1e-12 } got[i] composed[i] (sprintf "gradient, element %d" i))

        testCase "without a scope, a warm loop of log_softmax + kl_div + backward allocates no storage array" <| fun () ->
            let x = Tensor.RandN([| 64; 512 |], Generator(23), DType.Float32).RequiresGrad_()
            let t = Tensor.Softmax(Tensor.RandN([| 64; 512 |], Generator(24), DType.Float32), 1)
            let step () =
                x.ZeroGrad()
                (Losses.KlDiv(Tensor.LogSoftmax(x, 1), t, Reduction.BatchMean)).Backward()
            for _ in 1 .. 5 do step ()
            let fresh = StoragePool.FreshArrays
            for _ in 1 .. 20 do step ()
            Expect.equal (StoragePool.FreshArrays - fresh) 0L "fresh storage arrays over 20 warm steps"
            // the counter does count: an output that is read takes an array for good (the first one
            // the pool's spare, every later one a new array)
            let fresh = StoragePool.FreshArrays
            for _ in 1 .. 10 do
                x.ZeroGrad()
                let y = Tensor.LogSoftmax(x, 1)
                (Losses.KlDiv(y, t, Reduction.BatchMean)).Backward()
                y.ToDoubleArray() |> ignore
            Expect.isGreaterThanOrEqual (StoragePool.FreshArrays - fresh) 9L "each output read is a new array"
    ]
