namespace AutoKl.Testing

open System
open System.Text
open AutoKl

/// <summary>How gradcheck compares the analytic and the numerical derivative.</summary>
/// <namespacedoc>
///   <summary>The gradient-checking kit: gradcheck and gradgradcheck (analytic derivatives against
///   central finite differences in float64, with a report of the worst entry), FsCheck arbitraries
///   of shapes and tensors that shrink, and Expecto helpers that turn them into properties.</summary>
/// </namespacedoc>
type GradCheckMode =
    /// Full Jacobians where they are small (input elements x output elements up to
    /// <see cref="P:AutoKl.Testing.GradCheckOptions.FullJacobianLimit"/>), random projections otherwise.
    | Auto = 0
    /// Every entry of every Jacobian: one finite difference per input element and one backward
    /// pass per output element.
    | Full = 1
    /// PyTorch's fast_mode: compares v^T J u for random unit vectors u (input) and v (output),
    /// the finite-difference Jacobian-vector product against the tape's vector-Jacobian product.
    | Fast = 2

/// Settings of a gradient check. The defaults are PyTorch's (eps 1e-6, atol 1e-5, rtol 1e-3) and
/// are meant for float64: an entry passes when |analytic - numerical| &lt;= atol + rtol * |numerical|.
[<Sealed>]
type GradCheckOptions
    /// Options with PyTorch's defaults; set the properties to change them.
    () =
    /// Absolute tolerance (default 1e-5).
    member val Atol = 1e-5 with get, set
    /// Relative tolerance, relative to the numerical value (default 1e-3).
    member val Rtol = 1e-3 with get, set
    /// Step of the central differences (f(x + eps) - f(x - eps)) / (2 eps) (default 1e-6).
    member val Eps = 1e-6 with get, set
    /// Full Jacobians, random projections, or the choice by size (default <c>Auto</c>).
    member val Mode = GradCheckMode.Auto with get, set
    /// In <c>Auto</c> mode, the largest Jacobian (input elements times output elements) checked in full (default 4096).
    member val FullJacobianLimit = 4096 with get, set
    /// In fast mode, how many random projections are compared per input (default 2).
    member val Projections = 2 with get, set
    /// How much two evaluations of the function (or of its gradient) at the same point may differ
    /// before it is called non-deterministic (default 0: bit for bit).
    member val NondetTol = 0.0 with get, set
    /// Seed of the random cotangents and directions (default 0), so a check is reproducible.
    member val Seed = 0 with get, set
    /// A copy of these settings.
    member this.Clone() =
        GradCheckOptions(
            Atol = this.Atol, Rtol = this.Rtol, Eps = this.Eps, Mode = this.Mode, FullJacobianLimit = this.FullJacobianLimit,
            Projections = this.Projections, NondetTol = this.NondetTol, Seed = this.Seed)

/// One derivative that disagrees with its finite difference: the worst entry for one input.
type GradCheckFailure =
    { /// What was checked: "gradient" (gradcheck) or "second derivative (the gradient of input j)" (gradgradcheck).
      Check: string
      /// Position of the input in the argument array.
      Input: int
      /// Shape of that input.
      InputShape: int[]
      /// Shape of the function's output.
      OutputShape: int[]
      /// <c>Full</c> (entries of the Jacobian) or <c>Fast</c> (the Jacobian projected on a random cotangent).
      Mode: GradCheckMode
      /// Index of the input element with the worst disagreement.
      ElementIndex: int[]
      /// Index of the output element of the worst entry in full mode; empty in fast mode, where
      /// each value is the Jacobian's column projected on a random unit cotangent.
      OutputIndex: int[]
      /// The tape's value of the worst entry.
      Analytic: float
      /// The finite-difference value of the worst entry.
      Numerical: float
      /// The tolerance of that entry: atol + rtol * |numerical|.
      Allowed: float
      /// Labels of the slice's rows (output elements; one row "v^T J" in fast mode).
      SliceRows: string[]
      /// Labels of the slice's columns (input elements around the worst one).
      SliceColumns: string[]
      /// The analytic Jacobian around the worst entry (rows x columns as labelled).
      AnalyticSlice: float[,]
      /// The numerical Jacobian around the worst entry.
      NumericalSlice: float[,]
      /// All of the above as text.
      Report: string }

    /// The report.
    override this.ToString() = this.Report

/// The outcome of gradcheck or gradgradcheck.
type GradCheckResult =
    { /// True when every checked derivative agreed with its finite difference.
      Passed: bool
      /// One entry per disagreeing (input, check); empty when passed.
      Failures: GradCheckFailure[]
      /// What was compared, and on failure every failure's report.
      Report: string }

    /// The report.
    override this.ToString() = this.Report

/// Raised by the throwing forms of gradcheck and gradgradcheck when a derivative is wrong; its
/// message is the full report.
type GradCheckException
    /// The exception for a failed check; its message is the check's report.
    (result: GradCheckResult) =
    inherit Exception(result.Report)
    /// The result that failed.
    member _.Result = result

/// The machinery behind the public forms.
module internal Engine =
    let op = "gradcheck"
    let fail msg = raise (AutoKlException(op, msg))

    let fmtShape (s: int[]) = "[" + String.Join(", ", s) + "]"

    let unravel (shape: int[]) (flat: int) =
        let idx = Array.zeroCreate shape.Length
        let mutable r = flat
        for d in shape.Length - 1 .. -1 .. 0 do
            idx.[d] <- r % shape.[d]
            r <- r / shape.[d]
        idx

    let fmtIndex (shape: int[]) flat = fmtShape (unravel shape flat)

    let tensorOf (values: float[]) (shape: int[]) =
        let t = Tensor.FromArray(values, shape)
        if shape.Length = 0 && t.Rank <> 0 then t.Reshape([||]) else t

    let dot (a: float[]) (b: float[]) =
        let mutable s = 0.0
        for i in 0 .. a.Length - 1 do s <- s + a.[i] * b.[i]
        s

    let unitRandom (gen: Generator) (shape: int[]) =
        let n = Array.fold (*) 1 shape // 1 for a scalar, 0 for an empty tensor
        let v = Array.init n (fun _ -> gen.NextNormal())
        let norm = sqrt (dot v v)
        if norm = 0.0 then v else v |> Array.map (fun x -> x / norm)

    let fix = "convert it with x.ToType(DType.Float64) (F#: Tensor.toType DType.Float64 x, or create it with a float64 constructor such as Tensor.ofList [ 1.0; 2.0 ])"

    /// A check of one function: values on the tape (for the analytic side) and without it (for
    /// the finite differences).
    type Problem =
        { Check: string
          /// Computes on the given tensors, recording (the checked ones require gradients).
          Eval: Tensor[] -> Tensor
          /// The output's values at the given point, recording nothing needed.
          Plain: Tensor[] -> Tensor
          Inputs: Tensor[]
          Checked: int[]
          /// First order: an input the output does not depend on is an error. Second order: a
          /// zero block of the Hessian is a legitimate answer.
          RequireDependence: bool }

    let outputValues what (y: Tensor) =
        if isNull (box y) then fail (sprintf "the %s returned null" what)
        if y.DType = DType.Float32 then
            fail (sprintf "the %s returns float32 values; finite differences in float32 are too coarse to check a gradient. Compute in float64: %s" what fix)
        if y.DType <> DType.Float64 then fail (sprintf "the %s returns %s values; it must return float64" what (y.DType.Name()))
        y.ToDoubleArray()

    let requireFinite what (shape: int[]) (values: float[]) =
        match values |> Array.tryFindIndex (fun v -> not (Double.IsFinite v)) with
        | Some i ->
            fail (sprintf "the %s is not finite at the point: element %s of its output (shape %s) is %g; gradients can only be checked where the function is finite" what (fmtIndex shape i) (fmtShape shape) values.[i])
        | None -> ()

    let leavesFor (p: Problem) =
        p.Inputs |> Array.mapi (fun k x -> if Array.contains k p.Checked then x.Detach().RequiresGrad_() else x.Detach())

    let moved (x: Tensor) (flatDirection: float[]) (t: float) =
        let xs = x.ToDoubleArray()
        tensorOf (Array.map2 (fun a b -> a + t * b) xs flatDirection) x.Shape

    /// The directional derivative of the output along `direction` of input k, as a vector of
    /// output values, by central differences.
    let fdAlong (p: Problem) (o: GradCheckOptions) what (k: int) (direction: float[]) (describe: unit -> string) =
        let at t =
            let args = p.Inputs |> Array.mapi (fun j x -> if j = k then moved x direction t else x)
            let v = (p.Plain args).ToDoubleArray()
            if v |> Array.exists (fun z -> not (Double.IsFinite z)) then
                fail (sprintf "the %s is not finite at a point %g away from the checked point (input %d moved %s); the point is within eps of a singularity or of the edge of the domain: move it, or lower Eps" what (abs t) k (describe ()))
            v
        let plus, minus = at o.Eps, at -o.Eps
        Array.map2 (fun a b -> (a - b) / (2.0 * o.Eps)) plus minus

    let allowed (o: GradCheckOptions) (numerical: float) = o.Atol + o.Rtol * abs numerical

    let ratio o (a: float) (n: float) =
        if not (Double.IsFinite a) then Double.PositiveInfinity else abs (a - n) / allowed o n

    let fmtNum (v: float) = v.ToString("G10", Globalization.CultureInfo.InvariantCulture)

    let table (rows: string[]) (cols: string[]) (cells: float[,]) =
        let width = 16
        let sb = StringBuilder()
        let rowWidth = rows |> Array.fold (fun m r -> max m r.Length) 4
        sb.Append(String(' ', rowWidth + 4)) |> ignore
        for c in cols do sb.Append(c.PadLeft width) |> ignore
        sb.AppendLine() |> ignore
        for r in 0 .. rows.Length - 1 do
            sb.Append("    ").Append(rows.[r].PadRight rowWidth) |> ignore
            for c in 0 .. cols.Length - 1 do sb.Append((fmtNum cells.[r, c]).PadLeft width) |> ignore
            sb.AppendLine() |> ignore
        sb.ToString()

    let window (center: int) (count: int) =
        let lo = max 0 (center - 2)
        let hi = min (count - 1) (center + 2)
        [| lo .. hi |]

    let failureOf (p: Problem) (o: GradCheckOptions) k (outShape: int[]) mode (row: int option) (col: int)
                  (rows: int[]) (cols: int[]) (ana: int -> int -> float) (num: int -> int -> float) =
        let inShape = p.Inputs.[k].Shape
        let rowLabels =
            match row with
            | Some _ -> rows |> Array.map (fmtIndex outShape)
            | None -> [| "v^T J" |]
        let colLabels = cols |> Array.map (fmtIndex inShape)
        let aSlice = Array2D.init rowLabels.Length cols.Length (fun r c -> ana (if row.IsSome then rows.[r] else 0) cols.[c])
        let nSlice = Array2D.init rowLabels.Length cols.Length (fun r c -> num (if row.IsSome then rows.[r] else 0) cols.[c])
        let r0 = defaultArg row 0
        let a, n = ana r0 col, num r0 col
        let sb = StringBuilder()
        sb.AppendFormat("{0} with respect to input {1} (shape {2}) is wrong", p.Check, k, fmtShape inShape) |> ignore
        sb.AppendLine() |> ignore
        match row with
        | Some r ->
            sb.AppendFormat("  worst entry: d output{0} / d input{1}[{2}]", fmtIndex outShape r, k, String.Join(", ", unravel inShape col)) |> ignore
        | None ->
            sb.AppendFormat("  worst element: input{0}[{1}], through a random unit cotangent v on the output (shape {2})", k, String.Join(", ", unravel inShape col), fmtShape outShape) |> ignore
        sb.AppendLine() |> ignore
        sb.AppendLine(sprintf "    analytic (tape)          %s" (fmtNum a)) |> ignore
        sb.AppendLine(sprintf "    numerical (central diff) %s" (fmtNum n)) |> ignore
        sb.AppendLine(sprintf "    |difference| %s > allowed %s (atol %g + rtol %g * |numerical|)" (fmtNum (abs (a - n))) (fmtNum (allowed o n)) o.Atol o.Rtol) |> ignore
        let what = if row.IsSome then "Jacobian" else "projected Jacobian v^T J"
        sb.AppendLine(sprintf "  analytic %s around it (rows: output elements, columns: input%d elements):" what k) |> ignore
        sb.Append(table rowLabels colLabels aSlice) |> ignore
        sb.AppendLine(sprintf "  numerical %s around it:" what) |> ignore
        sb.Append(table rowLabels colLabels nSlice) |> ignore
        { Check = p.Check; Input = k; InputShape = inShape; OutputShape = outShape; Mode = mode
          ElementIndex = unravel inShape col
          OutputIndex = (match row with Some r -> unravel outShape r | None -> [||])
          Analytic = a; Numerical = n; Allowed = allowed o n
          SliceRows = rowLabels; SliceColumns = colLabels; AnalyticSlice = aSlice; NumericalSlice = nSlice
          Report = sb.ToString() }

    /// Analytic vector-Jacobian products for input k on a fresh recording.
    let vjpOf (p: Problem) (k: int) (cot: float[]) =
        let leaves = leavesFor p
        let y = p.Eval leaves
        if not y.RequiresGrad then Array.zeroCreate p.Inputs.[k].Numel
        else (Autograd.Gradients(y, [| leaves.[k] |], tensorOf cot y.Shape)).[0].ToDoubleArray()

    let checkFull (p: Problem) (o: GradCheckOptions) k (outShape: int[]) =
        let x = p.Inputs.[k]
        let n, m = x.Numel, max 1 (Array.fold (*) 1 outShape)
        let numeric = Array2D.zeroCreate m n
        for i in 0 .. n - 1 do
            let e = Array.init n (fun j -> if j = i then 1.0 else 0.0)
            let col = fdAlong p o p.Check k e (fun () -> sprintf "at element %s" (fmtIndex x.Shape i))
            for r in 0 .. m - 1 do numeric.[r, i] <- col.[r]
        let analytic = Array2D.zeroCreate m n
        let leaves = leavesFor p
        let y = p.Eval leaves
        if y.RequiresGrad then
            for r in 0 .. m - 1 do
                let cot = Array.init m (fun j -> if j = r then 1.0 else 0.0)
                // One backward pass per Jacobian row through the same recording: keep the graph.
                let row = (Autograd.Gradients(y, [| leaves.[k] |], tensorOf cot y.Shape, retainGraph = true)).[0].ToDoubleArray()
                for i in 0 .. n - 1 do analytic.[r, i] <- row.[i]
        let mutable worst, wr, wc = 0.0, 0, 0
        for r in 0 .. m - 1 do
            for i in 0 .. n - 1 do
                let q = ratio o analytic.[r, i] numeric.[r, i]
                if q > worst || Double.IsNaN q then worst <- (if Double.IsNaN q then infinity else q); wr <- r; wc <- i
        if worst <= 1.0 then None
        else
            Some(failureOf p o k outShape GradCheckMode.Full (Some wr) wc (window wr m) (window wc n)
                    (fun r c -> analytic.[r, c]) (fun r c -> numeric.[r, c]))

    let checkFast (p: Problem) (o: GradCheckOptions) (gen: Generator) k (outShape: int[]) =
        let x = p.Inputs.[k]
        let n = x.Numel
        let mismatch =
            [ 1 .. max 1 o.Projections ]
            |> List.tryPick (fun _ ->
                let u = unitRandom gen x.Shape
                let v = unitRandom gen outShape
                let num = dot (fdAlong p o p.Check k u (fun () -> "along a random direction")) v
                let ana = dot (vjpOf p k v) u
                if ratio o ana num > 1.0 then Some v else None)
        match mismatch with
        | None -> None
        | Some v ->
            // Localise: the projected row v^T J analytically (one backward pass) against its
            // finite differences element by element.
            let anaRow = vjpOf p k v
            let numRow =
                Array.init n (fun i ->
                    let e = Array.init n (fun j -> if j = i then 1.0 else 0.0)
                    dot (fdAlong p o p.Check k e (fun () -> sprintf "at element %s" (fmtIndex x.Shape i))) v)
            let worst = Array.init n (fun i -> ratio o anaRow.[i] numRow.[i])
            let wc = Array.IndexOf(worst, Array.max worst)
            Some(failureOf p o k outShape GradCheckMode.Fast None wc [| 0 |] (window wc n) (fun _ c -> anaRow.[c]) (fun _ c -> numRow.[c]))

    let validateInputs (inputs: Tensor[]) =
        if isNull inputs || inputs.Length = 0 then fail "no inputs to check"
        inputs |> Array.iteri (fun k x -> if isNull (box x) then fail (sprintf "input %d is null" k))
        let marked = inputs |> Array.indexed |> Array.filter (fun (_, x) -> x.RequiresGrad) |> Array.map fst
        let checkedInputs =
            if marked.Length > 0 then marked
            else inputs |> Array.indexed |> Array.filter (fun (_, x) -> x.DType.IsFloatingPoint()) |> Array.map fst
        if checkedInputs.Length = 0 then
            fail (sprintf "none of the %d inputs is floating point (%s); integer tensors have no gradient. Pass the tensors to differentiate in float64: %s"
                    inputs.Length (String.Join(", ", inputs |> Array.map (fun x -> x.DType.Name()))) fix)
        for k in checkedInputs do
            let x = inputs.[k]
            if x.DType <> DType.Float64 then
                fail (sprintf "input %d (shape %s) is %s; gradients are checked in float64 (finite differences in float32 are too coarse): %s"
                        k (fmtShape x.Shape) (x.DType.Name()) fix)
            let v = x.ToDoubleArray()
            match v |> Array.tryFindIndex (fun z -> not (Double.IsFinite z)) with
            | Some i -> fail (sprintf "input %d has a non-finite value (%g at %s)" k v.[i] (fmtIndex x.Shape i))
            | None -> ()
        checkedInputs

    let maxDiff (a: float[]) (b: float[]) =
        if a.Length <> b.Length then infinity
        else Array.fold2 (fun m x y -> if x.Equals y then m else max m (if Double.IsNaN(x - y) then infinity else abs (x - y))) 0.0 a b

    /// Runs one problem: the preliminary checks, then each checked input.
    let run (p: Problem) (o: GradCheckOptions) : GradCheckFailure list * string =
        if not (o.Eps > 0.0) then fail (sprintf "Eps must be positive, got %g" o.Eps)
        if o.Atol < 0.0 || o.Rtol < 0.0 then fail "Atol and Rtol must not be negative"
        let what = if p.RequireDependence then "function" else "gradient"
        let y0 = p.Plain p.Inputs
        let outShape = y0.Shape
        let v0 = outputValues what y0
        requireFinite what outShape v0
        let v1 = outputValues what (p.Plain p.Inputs)
        let d = maxDiff v0 v1
        if d > o.NondetTol then
            fail (sprintf "the %s is not deterministic: two evaluations at the same point differ by up to %g (NondetTol %g); finite differences need the same answer every time (fix the random seed inside it)" what d o.NondetTol)
        let gen = Generator(o.Seed)
        // Which checked inputs the output reaches on the tape, and the tape's answer twice.
        let cot = unitRandom gen outShape
        let reached, firstGrads =
            let leaves = leavesFor p
            let y = p.Eval leaves
            if y.RequiresGrad then
                y.Backward(tensorOf cot y.Shape)
                p.Checked |> Array.map (fun k -> leaves.[k].HasGrad),
                p.Checked |> Array.map (fun k -> if leaves.[k].HasGrad then leaves.[k].Grad.ToDoubleArray() else [||])
            else Array.create p.Checked.Length false, Array.create p.Checked.Length [||]
        p.Checked |> Array.iteri (fun j k ->
            if reached.[j] then
                let again = vjpOf p k cot
                let d = maxDiff firstGrads.[j] again
                if d > o.NondetTol then
                    fail (sprintf "the gradient of input %d is not deterministic: two backward passes at the same point differ by up to %g" k d))
        let failures = ResizeArray()
        let summary = StringBuilder()
        for j in 0 .. p.Checked.Length - 1 do
            let k = p.Checked.[j]
            let x = p.Inputs.[k]
            if x.Numel = 0 || Array.fold (*) 1 outShape = 0 then
                // An empty input or output has an empty Jacobian: there is no entry to be wrong.
                summary.AppendLine(sprintf "  %s with respect to input %d (shape %s): empty Jacobian, nothing to compare" p.Check k (fmtShape x.Shape)) |> ignore
            elif not reached.[j] then
                // No recorded path: either the output truly ignores this input, or the function
                // computes it off the tape (then the analytic answer would be a silent zero).
                let u = unitRandom gen x.Shape
                let along = fdAlong p o p.Check k u (fun () -> "along a random direction")
                let size = sqrt (dot along along)
                if size > o.Atol then
                    fail (sprintf "the %s depends on input %d (shape %s) — moving it changes the output at rate %g — but no recorded operation connects them, so its gradient would be missing (zero): the %s computes it off the tape (raw arrays such as ToDoubleArray, Detach, NoGrad)"
                            what k (fmtShape x.Shape) size what)
                elif p.RequireDependence then
                    fail (sprintf "the output does not depend on input %d (shape %s), which requires a gradient: there is no gradient to check. Leave RequiresGrad off for it, or check a function that uses it" k (fmtShape x.Shape))
                else summary.AppendLine(sprintf "  %s with respect to input %d: zero, and the finite differences agree" p.Check k) |> ignore
            else
                let m = max 1 (Array.fold (*) 1 outShape)
                let mode =
                    match o.Mode with
                    | GradCheckMode.Full -> GradCheckMode.Full
                    | GradCheckMode.Fast -> GradCheckMode.Fast
                    | _ -> if int64 x.Numel * int64 m <= int64 o.FullJacobianLimit then GradCheckMode.Full else GradCheckMode.Fast
                let outcome = if mode = GradCheckMode.Full then checkFull p o k outShape else checkFast p o gen k outShape
                let how = if mode = GradCheckMode.Full then sprintf "full %dx%d Jacobian" m x.Numel else sprintf "%d random projection(s)" (max 1 o.Projections)
                match outcome with
                | None -> summary.AppendLine(sprintf "  %s with respect to input %d (shape %s): ok (%s)" p.Check k (fmtShape x.Shape) how) |> ignore
                | Some f ->
                    failures.Add f
                    summary.AppendLine(sprintf "  %s with respect to input %d (shape %s): WRONG (%s)" p.Check k (fmtShape x.Shape) how) |> ignore
        List.ofSeq failures, summary.ToString()

    let resultOf title (parts: (GradCheckFailure list * string) list) (o: GradCheckOptions) =
        let failures = parts |> List.collect fst |> Array.ofList
        let sb = StringBuilder()
        sb.AppendLine(sprintf "%s %s (eps %g, atol %g, rtol %g):" title (if failures.Length = 0 then "passed" else "FAILED") o.Eps o.Atol o.Rtol) |> ignore
        for _, s in parts do sb.Append(s) |> ignore
        for f in failures do sb.AppendLine().Append(f.Report) |> ignore
        { Passed = failures.Length = 0; Failures = failures; Report = sb.ToString().TrimEnd() }

    let options (o: GradCheckOptions) = if isNull (box o) then GradCheckOptions() else o

    let gradcheck (f: Tensor[] -> Tensor) (inputs: Tensor[]) (o: GradCheckOptions) =
        let o = options o
        let checkedInputs = validateInputs inputs
        let p =
            { Check = "gradient"; Eval = f
              Plain = (fun xs -> use _ = Autograd.NoGrad() in f (xs |> Array.map (fun x -> x.Detach())))
              Inputs = inputs |> Array.map (fun x -> x.Detach()); Checked = checkedInputs; RequireDependence = true }
        resultOf "gradcheck" [ run p o ] o

    let gradgradcheck (f: Tensor[] -> Tensor) (inputs: Tensor[]) (o: GradCheckOptions) =
        let o = options o
        let checkedInputs = validateInputs inputs
        let inputs = inputs |> Array.map (fun x -> x.Detach())
        // A fixed random cotangent for non-scalar outputs (PyTorch's random grad_outputs).
        let y0 = (use _ = Autograd.NoGrad() in f inputs)
        let values = outputValues "function" y0
        requireFinite "function" y0.Shape values
        // A scalar output keeps cotangent 1, so the checked function is the gradient itself.
        let w = tensorOf (if y0.Numel = 1 then [| 1.0 |] else unitRandom (Generator(o.Seed + 7919)) y0.Shape) y0.Shape
        let gradients (xs: Tensor[]) (createGraph: bool) =
            let y = f xs
            if not y.RequiresGrad then checkedInputs |> Array.map (fun k -> Tensor.ZerosLike xs.[k])
            else Autograd.Gradients(y, checkedInputs |> Array.map (fun k -> xs.[k]), w, createGraph)
        let parts =
            checkedInputs
            |> Array.mapi (fun j k ->
                let p =
                    { Check = sprintf "second derivative (the gradient of input %d)" k
                      Eval = (fun leaves -> (gradients leaves true).[j])
                      Plain =
                        (fun xs ->
                            let leaves = xs |> Array.mapi (fun i x -> if Array.contains i checkedInputs then x.Detach().RequiresGrad_() else x.Detach())
                            (gradients leaves false).[j].Detach())
                      Inputs = inputs; Checked = checkedInputs; RequireDependence = false }
                run p o)
            |> List.ofArray
        resultOf "gradgradcheck" parts o

/// <summary>
/// Gradient checks for C# and F#: the tape's derivatives against central finite differences in
/// float64, in the spirit of <c>torch.autograd.gradcheck</c>.
/// </summary>
/// <remarks>
/// The inputs that require gradients are checked (all floating-point inputs when none does);
/// other inputs (class indices, constants) are passed through unchanged. The function is
/// evaluated at copies of the inputs, which are never modified. Misuse is an
/// <see cref="T:AutoKl.AutoKlException"/>: a float32 or integer input to check, a function that is
/// not finite at the point or not deterministic, an output that does not depend on a checked
/// input, or one that depends on it only off the tape.
/// </remarks>
[<AbstractClass; Sealed>]
type GradCheck =
    /// Checks the gradients of <paramref name="f"/> at <paramref name="inputs"/> and returns the result.
    static member Run(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : GradCheckResult =
        Engine.gradcheck f.Invoke inputs options
    /// Checks the gradients of <paramref name="f"/> at <paramref name="inputs"/> with the default options.
    static member Run(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : GradCheckResult =
        Engine.gradcheck f.Invoke inputs (GradCheckOptions())
    /// Checks the gradient of a function of one tensor.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : GradCheckResult =
        Engine.gradcheck (fun xs -> f.Invoke xs.[0]) [| x |] options
    /// Checks the gradient of a function of one tensor with the default options.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor) : GradCheckResult =
        Engine.gradcheck (fun xs -> f.Invoke xs.[0]) [| x |] (GradCheckOptions())
    /// Like <c>Run</c>, but throws a <see cref="T:AutoKl.Testing.GradCheckException"/> holding the report when a gradient is wrong.
    static member Assert(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : unit =
        let r = Engine.gradcheck f.Invoke inputs options in if not r.Passed then raise (GradCheckException r)
    /// Like <c>Run</c> with the default options, but throws when a gradient is wrong.
    static member Assert(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : unit =
        GradCheck.Assert(f, inputs, GradCheckOptions())
    /// Throws when the gradient of a function of one tensor is wrong.
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : unit =
        GradCheck.Assert(Func<Tensor[], Tensor>(fun xs -> f.Invoke xs.[0]), [| x |], options)
    /// Throws when the gradient of a function of one tensor is wrong (default options).
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor) : unit =
        GradCheck.Assert(Func<Tensor[], Tensor>(fun xs -> f.Invoke xs.[0]), [| x |], GradCheckOptions())

/// Second derivatives (PyTorch's <c>gradgradcheck</c>): the gradient of each checked input,
/// itself differentiated on the tape (Hessian-vector products, as <c>hvp</c> gives), against
/// central finite differences of that gradient. A non-scalar output is reduced with a fixed random
/// cotangent first. Same options, inputs and errors as <see cref="T:AutoKl.Testing.GradCheck"/>.
[<AbstractClass; Sealed>]
type GradGradCheck =
    /// Checks the second derivatives of <paramref name="f"/> at <paramref name="inputs"/>.
    static member Run(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : GradCheckResult =
        Engine.gradgradcheck f.Invoke inputs options
    /// Checks the second derivatives with the default options.
    static member Run(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : GradCheckResult =
        Engine.gradgradcheck f.Invoke inputs (GradCheckOptions())
    /// Checks the second derivative of a function of one tensor.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : GradCheckResult =
        Engine.gradgradcheck (fun xs -> f.Invoke xs.[0]) [| x |] options
    /// Checks the second derivative of a function of one tensor with the default options.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor) : GradCheckResult =
        Engine.gradgradcheck (fun xs -> f.Invoke xs.[0]) [| x |] (GradCheckOptions())
    /// Throws a <see cref="T:AutoKl.Testing.GradCheckException"/> when a second derivative is wrong.
    static member Assert(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : unit =
        let r = Engine.gradgradcheck f.Invoke inputs options in if not r.Passed then raise (GradCheckException r)
    /// Throws when a second derivative is wrong (default options).
    static member Assert(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : unit =
        GradGradCheck.Assert(f, inputs, GradCheckOptions())
    /// Throws when the second derivative of a function of one tensor is wrong.
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : unit =
        GradGradCheck.Assert(Func<Tensor[], Tensor>(fun xs -> f.Invoke xs.[0]), [| x |], options)
    /// Throws when the second derivative of a function of one tensor is wrong (default options).
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor) : unit =
        GradGradCheck.Assert(Func<Tensor[], Tensor>(fun xs -> f.Invoke xs.[0]), [| x |], GradCheckOptions())

/// The F# forms: plain F# functions, the throwing form first.
[<AutoOpen>]
module GradCheckFunctions =
    /// Checks the gradients of f at the inputs (default options); throws a GradCheckException with
    /// the report when one is wrong.
    let gradcheck (f: Tensor[] -> Tensor) (inputs: Tensor[]) : unit =
        let r = Engine.gradcheck f inputs (GradCheckOptions()) in if not r.Passed then raise (GradCheckException r)

    /// `gradcheck` with settings, e.g. `gradcheckWith (GradCheckOptions(Atol = 1e-7, Mode = GradCheckMode.Fast))`.
    let gradcheckWith (options: GradCheckOptions) (f: Tensor[] -> Tensor) (inputs: Tensor[]) : unit =
        let r = Engine.gradcheck f inputs options in if not r.Passed then raise (GradCheckException r)

    /// The result of a gradient check instead of an exception.
    let gradcheckResult (options: GradCheckOptions) (f: Tensor[] -> Tensor) (inputs: Tensor[]) : GradCheckResult =
        Engine.gradcheck f inputs options

    /// Checks the second derivatives of f at the inputs (default options); throws when one is wrong.
    let gradgradcheck (f: Tensor[] -> Tensor) (inputs: Tensor[]) : unit =
        let r = Engine.gradgradcheck f inputs (GradCheckOptions()) in if not r.Passed then raise (GradCheckException r)

    /// `gradgradcheck` with settings.
    let gradgradcheckWith (options: GradCheckOptions) (f: Tensor[] -> Tensor) (inputs: Tensor[]) : unit =
        let r = Engine.gradgradcheck f inputs options in if not r.Passed then raise (GradCheckException r)

    /// The result of a second-derivative check instead of an exception.
    let gradgradcheckResult (options: GradCheckOptions) (f: Tensor[] -> Tensor) (inputs: Tensor[]) : GradCheckResult =
        Engine.gradgradcheck f inputs options
