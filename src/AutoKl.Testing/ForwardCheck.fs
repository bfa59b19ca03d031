namespace AutoKl.Testing

open System
open System.Text
open AutoKl

/// <summary>
/// Which automatic derivatives <c>checkGrads</c> compares with finite differences (JAX's
/// <c>modes</c> of <c>jax.test_util.check_grads</c>): forward mode, reverse mode, or both.
/// </summary>
[<Flags>]
type AutodiffModes =
    /// Forward mode: Jacobian-vector products (<c>Autograd.Jvp</c>). At order 2, forward over
    /// reverse (the Jacobian-vector product of a gradient, as <c>Autograd.Hessian</c> and
    /// <c>Autograd.Hvp</c> compute) and forward over forward.
    | Forward = 1
    /// Reverse mode: vector-Jacobian products (the tape's backward pass, as gradcheck). At order 2,
    /// reverse over reverse (as gradgradcheck), and reverse over forward when Forward is asked too.
    | Reverse = 2
    /// Both modes, and at order 2 every pairing of them.
    | Both = 3

/// The machinery behind the forward-mode checks (the reverse-mode side is gradcheck's Engine).
module internal ForwardEngine =
    open Engine

    let isForward (m: AutodiffModes) = m.HasFlag AutodiffModes.Forward
    let isReverse (m: AutodiffModes) = m.HasFlag AutodiffModes.Reverse

    let checkOptions (o: GradCheckOptions) =
        if not (o.Eps > 0.0) then fail (sprintf "Eps must be positive, got %g" o.Eps)
        if o.Atol < 0.0 || o.Rtol < 0.0 then fail "Atol and Rtol must not be negative"

    let unitAt n i = Array.init n (fun j -> if j = i then 1.0 else 0.0)

    let numel (shape: int[]) = Array.fold (*) 1 shape

    /// The argument array with the tensors `xs` at the positions `at`, the other inputs as given.
    let placed (inputs: Tensor[]) (at: int[]) (xs: Tensor[]) =
        let args = Array.copy inputs
        at |> Array.iteri (fun j k -> args.[k] <- xs.[j])
        args

    /// J u by forward mode: one Autograd.Jvp in which only the inputs named in `dirs` carry a
    /// tangent (the others are constants, so a rule sees a missing tangent for them).
    let jvpValues (p: Problem) what (dirs: (int * float[])[]) =
        let at = dirs |> Array.map fst
        let primals = at |> Array.map (fun k -> p.Inputs.[k])
        let tangents = dirs |> Array.map (fun (k, d) -> tensorOf d p.Inputs.[k].Shape)
        let _, tangent = Autograd.Jvp(Func<Tensor[], Tensor>(fun duals -> p.Eval(placed p.Inputs at duals)), primals, tangents)
        outputValues (sprintf "forward-mode derivative of the %s" what) tangent

    /// J u by central differences, every input named in `dirs` moved along its direction at once.
    let fdValues (p: Problem) (o: GradCheckOptions) what (dirs: (int * float[])[]) (describe: unit -> string) =
        let at t =
            let args = Array.copy p.Inputs
            for (k, d) in dirs do args.[k] <- moved p.Inputs.[k] d t
            let v = (p.Plain args).ToDoubleArray()
            if v |> Array.exists (fun z -> not (Double.IsFinite z)) then
                fail (sprintf "the %s is not finite at a point %g away from the checked point (%s); the point is within eps of a singularity or of the edge of the domain: move it, or lower Eps" what (abs t) (describe ()))
            v
        let plus, minus = at o.Eps, at -o.Eps
        Array.map2 (fun a b -> (a - b) / (2.0 * o.Eps)) plus minus

    /// The worst entry of two vectors by |a - n| / (atol + rtol |n|): (ratio, index).
    let worstOf o (ana: float[]) (num: float[]) =
        let mutable worst, at = 0.0, 0
        for i in 0 .. ana.Length - 1 do
            let q = ratio o ana.[i] num.[i]
            let q = if Double.IsNaN q then infinity else q
            if q > worst then worst <- q; at <- i
        worst, at

    let offTapeHint = "forward mode gave exactly 0 where the finite differences do not: if the function computes off the tape (raw arrays such as ToDoubleArray, Detach, NoGrad), no tangent reaches its output"

    /// A failure with its report: the worst entry, the values on both sides, and the slices around it.
    let makeFailure (o: GradCheckOptions) (check: string) (k: int) (inShape: int[]) (outShape: int[]) mode
                    (title: string) (context: string list) (analyticName: string, numericName: string)
                    (elementIndex: int[]) (outputIndex: int[]) (a: float) (n: float)
                    (sliceWhat: string) (rowLabels: string[]) (colLabels: string[]) (aSlice: float[,]) (nSlice: float[,]) =
        let sb = StringBuilder()
        sb.AppendLine(title) |> ignore
        for line in context do sb.AppendLine("  " + line) |> ignore
        sb.AppendLine(sprintf "    %-30s %s" analyticName (fmtNum a)) |> ignore
        sb.AppendLine(sprintf "    %-30s %s" numericName (fmtNum n)) |> ignore
        sb.AppendLine(sprintf "    |difference| %s > allowed %s (atol %g + rtol %g * |%s|)" (fmtNum (abs (a - n))) (fmtNum (allowed o n)) o.Atol o.Rtol (numericName.Split(' ').[0])) |> ignore
        sb.AppendLine(sprintf "  %s %s around it:" (analyticName.Split(' ').[0]) sliceWhat) |> ignore
        sb.Append(table rowLabels colLabels aSlice) |> ignore
        sb.AppendLine(sprintf "  %s %s around it:" (numericName.Split(' ').[0]) sliceWhat) |> ignore
        sb.Append(table rowLabels colLabels nSlice) |> ignore
        { Check = check; Input = k; InputShape = inShape; OutputShape = outShape; Mode = mode
          ElementIndex = elementIndex; OutputIndex = outputIndex
          Analytic = a; Numerical = n; Allowed = allowed o n
          SliceRows = rowLabels; SliceColumns = colLabels; AnalyticSlice = aSlice; NumericalSlice = nSlice
          Report = sb.ToString() }

    let jacobianNames = "forward mode (J e)", "numerical (central diff)"

    /// A wrong Jacobian entry d output[r] / d input_k[c], from columns J e_c computed for the rows `rows`.
    let entryFailure (p: Problem) o k (outShape: int[]) mode (context: string list) (rows: int[]) (cols: int[]) (r: int) (c: int)
                     (ana: int -> int -> float) (num: int -> int -> float) =
        let inShape = p.Inputs.[k].Shape
        let rowWin = window (Array.IndexOf(rows, r)) rows.Length |> Array.map (fun i -> rows.[i])
        let colWin = window (Array.IndexOf(cols, c)) cols.Length |> Array.map (fun i -> cols.[i])
        let aSlice = Array2D.init rowWin.Length colWin.Length (fun i j -> ana rowWin.[i] colWin.[j])
        let nSlice = Array2D.init rowWin.Length colWin.Length (fun i j -> num rowWin.[i] colWin.[j])
        let a, n = ana r c, num r c
        let context =
            context
            @ [ sprintf "worst entry: d output%s / d input%d[%s]" (fmtIndex outShape r) k (String.Join(", ", unravel inShape c)) ]
            @ (if a = 0.0 && n <> 0.0 then [ offTapeHint ] else [])
        makeFailure o p.Check k inShape outShape mode
            (sprintf "%s with respect to input %d (shape %s) is wrong" p.Check k (fmtShape inShape)) context jacobianNames
            (unravel inShape c) (unravel outShape r) a n
            (sprintf "Jacobian (rows: output elements, columns: input%d elements)" k)
            (rowWin |> Array.map (fmtIndex outShape)) (colWin |> Array.map (fmtIndex inShape)) aSlice nSlice

    /// Every column of input k's Jacobian: one forward pass per input element against its central difference.
    let checkFull (p: Problem) (o: GradCheckOptions) what k (outShape: int[]) =
        let x = p.Inputs.[k]
        let n, m = x.Numel, max 1 (numel outShape)
        let ana = Array2D.zeroCreate m n
        let num = Array2D.zeroCreate m n
        let mutable worst, wr, wc = 0.0, 0, 0
        for i in 0 .. n - 1 do
            let e = unitAt n i
            let a = jvpValues p what [| k, e |]
            let d = fdValues p o what [| k, e |] (fun () -> sprintf "input %d moved at element %s" k (fmtIndex x.Shape i))
            let q, r = worstOf o a d
            if q > worst then worst <- q; wr <- r; wc <- i
            for r in 0 .. m - 1 do
                ana.[r, i] <- a.[r]
                num.[r, i] <- d.[r]
        if worst <= 1.0 then None
        else Some(entryFailure p o k outShape GradCheckMode.Full [] [| 0 .. m - 1 |] [| 0 .. n - 1 |] wr wc (fun r c -> ana.[r, c]) (fun r c -> num.[r, c]))

    /// J u along random unit directions u of input k; on a mismatch, the columns J e_i localise the entry.
    let checkFast (p: Problem) (o: GradCheckOptions) (gen: Generator) what k (outShape: int[]) =
        let x = p.Inputs.[k]
        let n, m = x.Numel, max 1 (numel outShape)
        let mismatch =
            [ 1 .. max 1 o.Projections ]
            |> List.tryPick (fun _ ->
                let u = unitRandom gen x.Shape
                let a = jvpValues p what [| k, u |]
                let d = fdValues p o what [| k, u |] (fun () -> sprintf "input %d moved along a random direction" k)
                let q, r = worstOf o a d
                if q > 1.0 then Some(r, a.[r], d.[r]) else None)
        match mismatch with
        | None -> None
        | Some(r0, a0, d0) ->
            // The rows around the worst element of J u, column by column (one forward pass and one
            // central difference per input element).
            let rows = window r0 m
            let ana = Array2D.zeroCreate rows.Length n
            let num = Array2D.zeroCreate rows.Length n
            for i in 0 .. n - 1 do
                let e = unitAt n i
                let a = jvpValues p what [| k, e |]
                let d = fdValues p o what [| k, e |] (fun () -> sprintf "input %d moved at element %s" k (fmtIndex x.Shape i))
                rows |> Array.iteri (fun j r -> ana.[j, i] <- a.[r]; num.[j, i] <- d.[r])
            let mutable worst, wr, wc = -1.0, r0, 0
            for j in 0 .. rows.Length - 1 do
                for i in 0 .. n - 1 do
                    let q = ratio o ana.[j, i] num.[j, i]
                    let q = if Double.IsNaN q then infinity else q
                    if q > worst then worst <- q; wr <- rows.[j]; wc <- i
            let context =
                [ sprintf "along a random unit direction u of input %d: (J u)%s is %s in forward mode, %s by central differences" k (fmtIndex outShape r0) (fmtNum a0) (fmtNum d0) ]
            let at r = Array.IndexOf(rows, r)
            Some(entryFailure p o k outShape GradCheckMode.Fast context rows [| 0 .. n - 1 |] wr wc
                    (fun r c -> ana.[at r, c]) (fun r c -> num.[at r, c]))

    /// Random unit directions on every checked input at once (J u = sum of J_k u_k): the rules'
    /// terms for several tangents together. A failure here has Input -1.
    let checkJoint (p: Problem) (o: GradCheckOptions) (gen: Generator) what (outShape: int[]) =
        let m = max 1 (numel outShape)
        [ 1 .. max 1 o.Projections ]
        |> List.tryPick (fun _ ->
            let dirs = p.Checked |> Array.map (fun k -> k, unitRandom gen p.Inputs.[k].Shape)
            let a = jvpValues p what dirs
            let d = fdValues p o what dirs (fun () -> "every checked input moved along a random direction")
            let q, r = worstOf o a d
            if q <= 1.0 then None
            else
                let rows = window r m
                let which = String.Join(", ", p.Checked |> Array.map string)
                Some(makeFailure o p.Check -1 [||] outShape GradCheckMode.Fast
                        (sprintf "%s along all checked inputs together (%s) is wrong, although each input alone agrees: a rule's terms for several tangents at once are wrong" p.Check which)
                        [ sprintf "along random unit directions u_k of inputs %s moved together: (J u)%s = (sum of J_k u_k)%s" which (fmtIndex outShape r) (fmtIndex outShape r) ]
                        ("forward mode (J u)", "numerical (central diff)") [||] (unravel outShape r) a.[r] d.[r]
                        "J u (rows: output elements)" (rows |> Array.map (fmtIndex outShape)) [| "J u" |]
                        (Array2D.init rows.Length 1 (fun i _ -> a.[rows.[i]])) (Array2D.init rows.Length 1 (fun i _ -> d.[rows.[i]]))))

    /// The value at the point, checked as gradcheck checks it: float64, finite, deterministic.
    let preliminary (p: Problem) (o: GradCheckOptions) what =
        checkOptions o
        let y0 = p.Plain p.Inputs
        let outShape = y0.Shape
        let v0 = outputValues what y0
        requireFinite what outShape v0
        let v1 = outputValues what (p.Plain p.Inputs)
        let d = maxDiff v0 v1
        if d > o.NondetTol then
            fail (sprintf "the %s is not deterministic: two evaluations at the same point differ by up to %g (NondetTol %g); finite differences need the same answer every time (fix the random seed inside it)" what d o.NondetTol)
        outShape

    let whatOf (p: Problem) = if p.RequireDependence then "function" else "first derivative"

    /// Forward-mode derivatives of one problem against central differences: each checked input
    /// alone (full Jacobian or random projections), then all of them together.
    let runJvp (p: Problem) (o: GradCheckOptions) : GradCheckFailure list * string =
        let what = whatOf p
        let outShape = preliminary p o what
        let gen = Generator(o.Seed)
        let m = numel outShape
        let failures = ResizeArray()
        let summary = StringBuilder()
        for k in p.Checked do
            let x = p.Inputs.[k]
            if x.Numel = 0 || m = 0 then
                summary.AppendLine(sprintf "  %s with respect to input %d (shape %s): empty Jacobian, nothing to compare" p.Check k (fmtShape x.Shape)) |> ignore
            else
                let mode =
                    match o.Mode with
                    | GradCheckMode.Full -> GradCheckMode.Full
                    | GradCheckMode.Fast -> GradCheckMode.Fast
                    | _ -> if int64 x.Numel * int64 (max 1 m) <= int64 o.FullJacobianLimit then GradCheckMode.Full else GradCheckMode.Fast
                let outcome = if mode = GradCheckMode.Full then checkFull p o what k outShape else checkFast p o gen what k outShape
                let how =
                    if mode = GradCheckMode.Full then sprintf "full %dx%d Jacobian, one forward pass per input element" (max 1 m) x.Numel
                    else sprintf "%d random direction(s)" (max 1 o.Projections)
                match outcome with
                | None -> summary.AppendLine(sprintf "  %s with respect to input %d (shape %s): ok (%s)" p.Check k (fmtShape x.Shape) how) |> ignore
                | Some f ->
                    failures.Add f
                    summary.AppendLine(sprintf "  %s with respect to input %d (shape %s): WRONG (%s)" p.Check k (fmtShape x.Shape) how) |> ignore
        let nonEmpty = p.Checked |> Array.filter (fun k -> p.Inputs.[k].Numel > 0)
        if nonEmpty.Length > 1 && m > 0 then
            match checkJoint { p with Checked = nonEmpty } o gen what outShape with
            | None -> summary.AppendLine(sprintf "  %s along all checked inputs together: ok (%d random direction(s))" p.Check (max 1 o.Projections)) |> ignore
            | Some f ->
                failures.Add f
                summary.AppendLine(sprintf "  %s along all checked inputs together: WRONG" p.Check) |> ignore
        List.ofSeq failures, summary.ToString()

    /// Reverse-mode gradients of every checked input for the cotangent v (zeros when nothing was recorded).
    let vjpValues (p: Problem) (v: float[]) =
        let leaves = leavesFor p
        let y = p.Eval leaves
        if not y.RequiresGrad then p.Checked |> Array.map (fun k -> Array.zeroCreate p.Inputs.[k].Numel)
        else
            Autograd.Gradients(y, p.Checked |> Array.map (fun k -> leaves.[k]), tensorOf v y.Shape)
            |> Array.map (fun g -> g.ToDoubleArray())

    /// The two sides at one input element, and for all inputs together.
    let elementNames = "forward mode (v . J e_i)", "reverse mode (J^T v)_i"
    let transpositionNames = "forward mode (v . J u)", "reverse mode (J^T v . u)"

    /// &lt;v, J u&gt; (forward mode) against &lt;J^T v, u&gt; (reverse mode), for each checked input alone and
    /// for all together; no finite differences. A mismatch for one input is localised to an
    /// element: v . (J e_i) in forward mode against (J^T v)[i].
    let runTransposition (p: Problem) (o: GradCheckOptions) : GradCheckFailure list * string =
        let what = whatOf p
        let outShape = preliminary p o what
        let gen = Generator(o.Seed)
        let m = numel outShape
        let failures = ResizeArray()
        let summary = StringBuilder()
        let nonEmpty = p.Checked |> Array.filter (fun k -> p.Inputs.[k].Numel > 0)
        let failed = Collections.Generic.HashSet<int>()
        if m = 0 || nonEmpty.Length = 0 then
            summary.AppendLine(sprintf "  %s: empty Jacobian, nothing to compare" p.Check) |> ignore
        else
            let q = { p with Checked = nonEmpty }
            for _ in 1 .. max 1 o.Projections do
                let v = unitRandom gen outShape
                let grads = vjpValues q v
                let us = nonEmpty |> Array.map (fun k -> unitRandom gen p.Inputs.[k].Shape)
                let fwdEach = nonEmpty |> Array.mapi (fun j k -> dot v (jvpValues q what [| k, us.[j] |]))
                let revEach = nonEmpty |> Array.mapi (fun j _ -> dot grads.[j] us.[j])
                for j in 0 .. nonEmpty.Length - 1 do
                    let k = nonEmpty.[j]
                    if not (failed.Contains k) && ratio o fwdEach.[j] revEach.[j] > 1.0 then
                        failed.Add k |> ignore
                        let x = p.Inputs.[k]
                        let n = x.Numel
                        // v . (J e_i) for every element i, against the reverse pass's (J^T v)[i].
                        let fwdRow = Array.init n (fun i -> dot v (jvpValues q what [| k, unitAt n i |]))
                        let revRow = grads.[j]
                        let _, c = worstOf o fwdRow revRow
                        let cols = window c n
                        failures.Add(
                            makeFailure o p.Check k x.Shape outShape GradCheckMode.Fast
                                (sprintf "%s: forward and reverse mode disagree for input %d (shape %s): <v, J u> <> <J^T v, u>" p.Check k (fmtShape x.Shape))
                                [ sprintf "random unit u (input %d) and v (output, shape %s): <v, J u> = %s in forward mode, <J^T v, u> = %s in reverse mode" k (fmtShape outShape) (fmtNum fwdEach.[j]) (fmtNum revEach.[j])
                                  sprintf "worst element: input%d[%s], v . (J e) against (J^T v) there" k (String.Join(", ", unravel x.Shape c)) ]
                                elementNames (unravel x.Shape c) [||] fwdRow.[c] revRow.[c]
                                (sprintf "v^T J (columns: input%d elements)" k) [| "v^T J" |] (cols |> Array.map (fmtIndex x.Shape))
                                (Array2D.init 1 cols.Length (fun _ i -> fwdRow.[cols.[i]])) (Array2D.init 1 cols.Length (fun _ i -> revRow.[cols.[i]])))
                if nonEmpty.Length > 1 && not (failed.Contains -1) then
                    let fwd = dot v (jvpValues q what (Array.zip nonEmpty us))
                    let rev = Array.sum revEach
                    if ratio o fwd rev > 1.0 then
                        failed.Add -1 |> ignore
                        failures.Add(
                            makeFailure o p.Check -1 [||] outShape GradCheckMode.Fast
                                (sprintf "%s: forward and reverse mode disagree when all checked inputs move together" p.Check)
                                [ "random unit u_k on every checked input and v on the output: <v, J u> against sum over k of <J_k^T v, u_k>" ]
                                transpositionNames [||] [||] fwd rev "<v, J u>" [| "v^T J u" |] [| "all" |] (Array2D.create 1 1 fwd) (Array2D.create 1 1 rev))
            for k in nonEmpty do
                summary.AppendLine(sprintf "  %s, input %d (shape %s): %s (%d random pair(s) u, v)" p.Check k (fmtShape p.Inputs.[k].Shape) (if failed.Contains k then "WRONG" else "ok") (max 1 o.Projections)) |> ignore
            if nonEmpty.Length > 1 then
                summary.AppendLine(sprintf "  %s, all checked inputs together: %s" p.Check (if failed.Contains -1 then "WRONG" else "ok")) |> ignore
        List.ofSeq failures, summary.ToString()

    /// The problem of a function as given (first derivatives), its inputs validated.
    let firstOrder (check: string) (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
        let checkedInputs = validateInputs inputs
        { Check = check; Eval = f
          Plain = (fun xs -> use _ = Autograd.NoGrad() in f (xs |> Array.map (fun x -> x.Detach())))
          Inputs = inputs |> Array.map (fun x -> x.Detach()); Checked = checkedInputs; RequireDependence = true }

    let checkJvp (f: Tensor[] -> Tensor) (inputs: Tensor[]) (o: GradCheckOptions) =
        let o = options o
        resultOf "checkJvp" [ runJvp (firstOrder "forward-mode JVP" f inputs) o ] o

    let checkTransposition (f: Tensor[] -> Tensor) (inputs: Tensor[]) (o: GradCheckOptions) =
        let o = options o
        resultOf "checkTransposition" [ runTransposition (firstOrder "transposition" f inputs) o ] o

    let modeNames (modes: AutodiffModes) =
        String.Join(", ", [ if isForward modes then "Forward"
                            if isReverse modes then "Reverse" ])

    /// JAX's check_grads: first derivatives in each mode, and at order 2 the derivatives of the
    /// first derivatives (gradients, and JVPs along a fixed random direction) in each mode.
    let checkGrads (f: Tensor[] -> Tensor) (inputs: Tensor[]) (modes: AutodiffModes) (order: int) (o: GradCheckOptions) =
        let o = options o
        if order <> 1 && order <> 2 then fail (sprintf "order must be 1 or 2, got %d" order)
        if not (isForward modes || isReverse modes) then fail (sprintf "modes must name Forward, Reverse or both, got %d" (int modes))
        let p = firstOrder "gradient" f inputs
        let parts = ResizeArray()
        // gradcheck's errors about a derivative of a derivative name the check they come from.
        let run (q: Problem) o =
            try run q o
            with :? AutoKlException as e when e.Operation = op && not q.RequireDependence ->
                raise (AutoKlException(op, sprintf "%s: %s" q.Check (e.Message.Substring(op.Length + 2)), e))
        if isForward modes then parts.Add(runJvp { p with Check = "forward-mode JVP" } o)
        if isReverse modes then parts.Add(run { p with Check = "reverse-mode gradient" } o)
        if order = 2 then
            let inputs = p.Inputs
            let checkedInputs = p.Checked
            // The fixed cotangent of the first derivatives (1 for a scalar output, as gradgradcheck).
            let y0 = p.Plain inputs
            let values = outputValues "function" y0
            requireFinite "function" y0.Shape values
            let w = tensorOf (if y0.Numel = 1 then [| 1.0 |] else unitRandom (Generator(o.Seed + 7919)) y0.Shape) y0.Shape
            // The gradient of input j, differentiable in both modes: Autograd.Grad keeps the
            // arguments' tangents (forward over reverse) and records its backward pass when they
            // require gradients (reverse over reverse).
            let gradientOf j (xs: Tensor[]) =
                let points = checkedInputs |> Array.map (fun k -> xs.[k])
                let g = Autograd.Grad(Func<Tensor[], Tensor>(fun ps -> Tensor.Sum(f (placed xs checkedInputs ps) * w)), points)
                g.[j]
            let plainGradientOf j (xs: Tensor[]) =
                let leaves = xs |> Array.mapi (fun i x -> if Array.contains i checkedInputs then x.Detach().RequiresGrad_() else x.Detach())
                let y = f leaves
                if not y.RequiresGrad then Tensor.ZerosLike leaves.[checkedInputs.[j]]
                else (Autograd.Gradients(y, checkedInputs |> Array.map (fun k -> leaves.[k]), w)).[j].Detach()
            let gradientProblem j check =
                { p with Check = check; Eval = gradientOf j; Plain = plainGradientOf j; RequireDependence = false }
            checkedInputs |> Array.iteri (fun j k ->
                if isForward modes then
                    parts.Add(runJvp (gradientProblem j (sprintf "forward over reverse (the JVP of the gradient of input %d)" k)) o)
                if isReverse modes then
                    parts.Add(run (gradientProblem j (sprintf "reverse over reverse (the gradient of the gradient of input %d)" k)) o))
            if isForward modes then
                // The JVP along fixed random directions of every checked input, itself differentiated.
                let gen = Generator(o.Seed + 104729)
                let directions = checkedInputs |> Array.map (fun k -> tensorOf (unitRandom gen inputs.[k].Shape) inputs.[k].Shape)
                let jvpOf (xs: Tensor[]) =
                    let points = checkedInputs |> Array.map (fun k -> xs.[k])
                    let _, tangent = Autograd.Jvp(Func<Tensor[], Tensor>(fun ps -> f (placed xs checkedInputs ps)), points, directions)
                    tangent
                let plainJvpOf (xs: Tensor[]) =
                    use _ = Autograd.NoGrad()
                    (jvpOf (xs |> Array.map (fun x -> x.Detach()))).Detach()
                let jvpProblem check = { p with Check = check; Eval = jvpOf; Plain = plainJvpOf; RequireDependence = false }
                parts.Add(runJvp (jvpProblem "forward over forward (the JVP of the JVP along a fixed random direction)") o)
                if isReverse modes then
                    parts.Add(run (jvpProblem "reverse over forward (the gradient of the JVP along a fixed random direction)") o)
        resultOf (sprintf "checkGrads (order %d; %s)" order (modeNames modes)) (List.ofSeq parts) o

    let orThrow (r: GradCheckResult) = if not r.Passed then raise (GradCheckException r)

/// <summary>
/// Forward-mode checks for C# and F# (PyTorch's <c>gradcheck(check_forward_ad=True)</c>): the
/// Jacobian-vector products of <c>Autograd.Jvp</c> against central finite differences in float64.
/// </summary>
/// <remarks>
/// Each checked input is checked alone (only it carries a tangent, so every rule also meets a
/// missing tangent for the others): along each unit direction, giving its full Jacobian, when the
/// Jacobian is small (<see cref="P:AutoKl.Testing.GradCheckOptions.FullJacobianLimit"/>), along
/// random unit directions otherwise (then a mismatch is localised column by column); and all
/// checked inputs together along random directions (a failure of that check has
/// <c>Input</c> -1). Inputs, options, results and errors are gradcheck's
/// (<see cref="T:AutoKl.Testing.GradCheck"/>); in a failure, <c>Analytic</c> is the forward-mode
/// value. A function through an op without a forward rule raises that op's
/// <see cref="T:AutoKl.AutoKlException"/>.
/// </remarks>
[<AbstractClass; Sealed>]
type JvpCheck =
    /// Checks the forward-mode derivatives of <paramref name="f"/> at <paramref name="inputs"/>.
    static member Run(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkJvp f.Invoke inputs options
    /// Checks the forward-mode derivatives with the default options.
    static member Run(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : GradCheckResult =
        ForwardEngine.checkJvp f.Invoke inputs (GradCheckOptions())
    /// Checks the forward-mode derivative of a function of one tensor.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkJvp (fun xs -> f.Invoke xs.[0]) [| x |] options
    /// Checks the forward-mode derivative of a function of one tensor with the default options.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor) : GradCheckResult =
        ForwardEngine.checkJvp (fun xs -> f.Invoke xs.[0]) [| x |] (GradCheckOptions())
    /// Throws a <see cref="T:AutoKl.Testing.GradCheckException"/> holding the report when a forward-mode derivative is wrong.
    static member Assert(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : unit =
        ForwardEngine.checkJvp f.Invoke inputs options |> ForwardEngine.orThrow
    /// Throws when a forward-mode derivative is wrong (default options).
    static member Assert(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : unit =
        ForwardEngine.checkJvp f.Invoke inputs (GradCheckOptions()) |> ForwardEngine.orThrow
    /// Throws when the forward-mode derivative of a function of one tensor is wrong.
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : unit =
        ForwardEngine.checkJvp (fun xs -> f.Invoke xs.[0]) [| x |] options |> ForwardEngine.orThrow
    /// Throws when the forward-mode derivative of a function of one tensor is wrong (default options).
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor) : unit =
        ForwardEngine.checkJvp (fun xs -> f.Invoke xs.[0]) [| x |] (GradCheckOptions()) |> ForwardEngine.orThrow

/// <summary>
/// The transposition identity between the two modes: &lt;v, J u&gt; computed in forward mode (a
/// Jacobian-vector product) equals &lt;J^T v, u&gt; computed in reverse mode (a vector-Jacobian
/// product), for random unit u (per checked input, and on all of them together) and v (on the
/// output). No finite differences: it holds to rounding whenever each op's JVP and VJP are the
/// same linear map, so it catches a forward rule that disagrees with its reverse rule even where
/// finite differences are too coarse.
/// </summary>
/// <remarks>
/// Options are gradcheck's (<c>Projections</c> random pairs, <c>Atol</c> and <c>Rtol</c> relative
/// to the reverse-mode value, <c>Seed</c>). In a failure, <c>Analytic</c> is the forward-mode
/// value and <c>Numerical</c> the reverse-mode one; a mismatch for one input is localised to the
/// element where v . (J e) and (J^T v) differ most; the check of all inputs together reports
/// <c>Input</c> -1.
/// </remarks>
[<AbstractClass; Sealed>]
type TranspositionCheck =
    /// Checks &lt;v, J u&gt; (forward mode) against &lt;J^T v, u&gt; (reverse mode) for <paramref name="f"/> at <paramref name="inputs"/>.
    static member Run(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkTransposition f.Invoke inputs options
    /// Checks the transposition identity with the default options.
    static member Run(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : GradCheckResult =
        ForwardEngine.checkTransposition f.Invoke inputs (GradCheckOptions())
    /// Checks the transposition identity for a function of one tensor.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkTransposition (fun xs -> f.Invoke xs.[0]) [| x |] options
    /// Checks the transposition identity for a function of one tensor with the default options.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor) : GradCheckResult =
        ForwardEngine.checkTransposition (fun xs -> f.Invoke xs.[0]) [| x |] (GradCheckOptions())
    /// Throws a <see cref="T:AutoKl.Testing.GradCheckException"/> when forward and reverse mode disagree.
    static member Assert(f: Func<Tensor[], Tensor>, inputs: Tensor[], options: GradCheckOptions) : unit =
        ForwardEngine.checkTransposition f.Invoke inputs options |> ForwardEngine.orThrow
    /// Throws when forward and reverse mode disagree (default options).
    static member Assert(f: Func<Tensor[], Tensor>, [<ParamArray>] inputs: Tensor[]) : unit =
        ForwardEngine.checkTransposition f.Invoke inputs (GradCheckOptions()) |> ForwardEngine.orThrow
    /// Throws when forward and reverse mode disagree for a function of one tensor.
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor, options: GradCheckOptions) : unit =
        ForwardEngine.checkTransposition (fun xs -> f.Invoke xs.[0]) [| x |] options |> ForwardEngine.orThrow
    /// Throws when forward and reverse mode disagree for a function of one tensor (default options).
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor) : unit =
        ForwardEngine.checkTransposition (fun xs -> f.Invoke xs.[0]) [| x |] (GradCheckOptions()) |> ForwardEngine.orThrow

/// <summary>
/// Derivatives up to order 2 in forward and/or reverse mode against finite differences, in the
/// spirit of JAX's <c>jax.test_util.check_grads(f, args, order, modes)</c>.
/// </summary>
/// <remarks>
/// <para>Order 1: <see cref="F:AutoKl.Testing.AutodiffModes.Forward"/> checks Jacobian-vector
/// products as <see cref="T:AutoKl.Testing.JvpCheck"/> does; <see cref="F:AutoKl.Testing.AutodiffModes.Reverse"/>
/// checks gradients as <see cref="T:AutoKl.Testing.GradCheck"/> does.</para>
/// <para>Order 2 checks order 1 and then the first derivatives' own derivatives against central
/// differences of those first derivatives: the gradient of each checked input (for a fixed
/// cotangent: 1 for a scalar output, a random unit one otherwise) differentiated in forward mode
/// (forward over reverse, as Hessian and Hvp compute) and in reverse mode (reverse over reverse,
/// as <see cref="T:AutoKl.Testing.GradGradCheck"/>); and with Forward, the JVP along a fixed random
/// direction differentiated in forward mode (forward over forward) and, with Reverse too, in
/// reverse mode (reverse over forward). Reverse alone never uses forward mode, so it serves for
/// reverse-only ops.</para>
/// <para>Inputs, options and errors are gradcheck's.</para>
/// </remarks>
[<AbstractClass; Sealed>]
type CheckGrads =
    /// Checks the derivatives of <paramref name="f"/> at <paramref name="inputs"/> in <paramref name="modes"/> up to <paramref name="order"/> (1 or 2).
    static member Run(f: Func<Tensor[], Tensor>, inputs: Tensor[], modes: AutodiffModes, order: int, options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkGrads f.Invoke inputs modes order options
    /// Checks the derivatives up to <paramref name="order"/> with the default options.
    static member Run(f: Func<Tensor[], Tensor>, inputs: Tensor[], modes: AutodiffModes, order: int) : GradCheckResult =
        ForwardEngine.checkGrads f.Invoke inputs modes order (GradCheckOptions())
    /// Checks the derivatives of a function of one tensor.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor, modes: AutodiffModes, order: int, options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkGrads (fun xs -> f.Invoke xs.[0]) [| x |] modes order options
    /// Checks the derivatives of a function of one tensor with the default options.
    static member Run(f: Func<Tensor, Tensor>, x: Tensor, modes: AutodiffModes, order: int) : GradCheckResult =
        ForwardEngine.checkGrads (fun xs -> f.Invoke xs.[0]) [| x |] modes order (GradCheckOptions())
    /// Throws a <see cref="T:AutoKl.Testing.GradCheckException"/> holding the report when a derivative is wrong.
    static member Assert(f: Func<Tensor[], Tensor>, inputs: Tensor[], modes: AutodiffModes, order: int, options: GradCheckOptions) : unit =
        ForwardEngine.checkGrads f.Invoke inputs modes order options |> ForwardEngine.orThrow
    /// Throws when a derivative is wrong (default options).
    static member Assert(f: Func<Tensor[], Tensor>, inputs: Tensor[], modes: AutodiffModes, order: int) : unit =
        ForwardEngine.checkGrads f.Invoke inputs modes order (GradCheckOptions()) |> ForwardEngine.orThrow
    /// Throws when a derivative of a function of one tensor is wrong.
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor, modes: AutodiffModes, order: int, options: GradCheckOptions) : unit =
        ForwardEngine.checkGrads (fun xs -> f.Invoke xs.[0]) [| x |] modes order options |> ForwardEngine.orThrow
    /// Throws when a derivative of a function of one tensor is wrong (default options).
    static member Assert(f: Func<Tensor, Tensor>, x: Tensor, modes: AutodiffModes, order: int) : unit =
        ForwardEngine.checkGrads (fun xs -> f.Invoke xs.[0]) [| x |] modes order (GradCheckOptions()) |> ForwardEngine.orThrow

/// The F# forms of the forward-mode checks: plain F# functions.
[<AutoOpen>]
module ForwardCheckFunctions =
    /// Checks the forward-mode derivatives (Jacobian-vector products) of f at the inputs against
    /// central differences and returns the result (see <see cref="T:AutoKl.Testing.JvpCheck"/>);
    ///
    let checkJvp (f: Tensor[] -> Tensor) (inputs: Tensor[]) (options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkJvp f inputs options

    /// Checks &lt;v, J u&gt; in forward mode against &lt;J^T v, u&gt; in reverse mode on random u and v
    /// and returns the result (see <see cref="T:AutoKl.Testing.TranspositionCheck"/>).
    let checkTransposition (f: Tensor[] -> Tensor) (inputs: Tensor[]) (options: GradCheckOptions) : GradCheckResult =
        ForwardEngine.checkTransposition f inputs options

    /// JAX's check_grads: the derivatives of f at the inputs in the given modes up to order 1 or 2
    /// against finite differences (see <see cref="T:AutoKl.Testing.CheckGrads"/>), with the default
    /// options; throws a GradCheckException with the report when one is wrong.
    let checkGrads (f: Tensor[] -> Tensor) (inputs: Tensor[]) (modes: AutodiffModes) (order: int) : unit =
        ForwardEngine.checkGrads f inputs modes order (GradCheckOptions()) |> ForwardEngine.orThrow

    /// `checkGrads` with settings; throws a GradCheckException with the report when a derivative is wrong.
    let checkGradsWith (options: GradCheckOptions) (f: Tensor[] -> Tensor) (inputs: Tensor[]) (modes: AutodiffModes) (order: int) : unit =
        ForwardEngine.checkGrads f inputs modes order options |> ForwardEngine.orThrow

    /// The result of `checkGrads` instead of an exception.
    let checkGradsResult (options: GradCheckOptions) (f: Tensor[] -> Tensor) (inputs: Tensor[]) (modes: AutodiffModes) (order: int) : GradCheckResult =
        ForwardEngine.checkGrads f inputs modes order options
