namespace AutoKl.Testing

open System
open System.Globalization
open AutoKl
open FsCheck
open FsCheck.FSharp

/// A tensor as plain data (its shape and its float64 values in row-major order), so that FsCheck
/// generates, prints and shrinks the values themselves.
[<StructuredFormatDisplay("{Display}")>]
type TensorSample =
    { /// The shape (empty for a scalar).
      Shape: int[]
      /// The values in row-major order.
      Values: float[] }

    /// A new float64 tensor holding the values (a leaf that does not require gradients).
    member this.Tensor =
        let t = Tensor.FromArray(this.Values, this.Shape)
        if this.Shape.Length = 0 && t.Rank <> 0 then t.Reshape([||]) else t

    /// The sample as text, e.g. <c>tensor [2, 1] [0.5; -1]</c>.
    member this.Display =
        let values = this.Values |> Array.map (fun v -> v.ToString("G6", CultureInfo.InvariantCulture))
        sprintf "tensor [%s] [%s]" (String.Join(", ", this.Shape)) (String.Join("; ", values))

    /// Same as <see cref="P:AutoKl.Testing.TensorSample.Display"/>.
    override this.ToString() = this.Display

/// Two shapes that broadcast together.
[<StructuredFormatDisplay("{Display}")>]
type ShapePair =
    { /// The first shape.
      Left: int[]
      /// The second shape.
      Right: int[] }

    /// The pair as text.
    member this.Display = sprintf "[%s] with [%s]" (String.Join(", ", this.Left)) (String.Join(", ", this.Right))
    /// Same as Display.
    override this.ToString() = this.Display

/// Three shapes that broadcast together.
[<StructuredFormatDisplay("{Display}")>]
type ShapeTriple =
    { /// The first shape.
      First: int[]
      /// The second shape.
      Second: int[]
      /// The third shape.
      Third: int[] }

    /// The triple as text.
    member this.Display =
        sprintf "[%s], [%s], [%s]" (String.Join(", ", this.First)) (String.Join(", ", this.Second)) (String.Join(", ", this.Third))
    /// Same as Display.
    override this.ToString() = this.Display

/// Two tensors whose shapes broadcast together.
[<StructuredFormatDisplay("{Display}")>]
type TensorPair =
    { /// The first tensor.
      Left: TensorSample
      /// The second tensor.
      Right: TensorSample }

    /// The pair as text.
    member this.Display = sprintf "%s and %s" this.Left.Display this.Right.Display
    /// Same as Display.
    override this.ToString() = this.Display

/// Three tensors whose shapes broadcast together.
[<StructuredFormatDisplay("{Display}")>]
type TensorTriple =
    { /// The first tensor.
      First: TensorSample
      /// The second tensor.
      Second: TensorSample
      /// The third tensor.
      Third: TensorSample }

    /// The triple as text.
    member this.Display = sprintf "%s, %s, %s" this.First.Display this.Second.Display this.Third.Display
    /// Same as Display.
    override this.ToString() = this.Display

/// Logits of shape [n, c] and one class index in 0..c-1 per row (cross-entropy, NLL).
[<StructuredFormatDisplay("{Display}")>]
type ClassificationSample =
    { /// Scores of shape [n, c].
      Logits: TensorSample
      /// n class indices, each in 0..c-1.
      Targets: int[] }

    /// The targets as an int64 tensor of shape [n].
    member this.TargetTensor = Tensor.FromArray(this.Targets |> Array.map int64, [| this.Targets.Length |])

    /// The sample as text.
    member this.Display = sprintf "logits %s, targets [%s]" this.Logits.Display (String.Join("; ", this.Targets))
    /// Same as Display.
    override this.ToString() = this.Display

/// Shape arithmetic and the shrinking steps shared by the generators.
module internal ShapeMath =
    let numel (s: int[]) = Array.fold (*) 1 s

    /// The row-major index of a flat position (the one gradcheck's reports use).
    let unravel (shape: int[]) (flat: int) = Engine.unravel shape flat

    let ravel (shape: int[]) (idx: int[]) =
        let mutable flat = 0
        for d in 0 .. shape.Length - 1 do flat <- flat * shape.[d] + idx.[d]
        flat

    /// One step toward a smaller shape: drop an axis (keeping index 0 along it) or make it shorter
    /// (keeping its first entries).
    type Step =
        | Remove of axis: int
        | Resize of axis: int * size: int
        /// Drop the first entry along an axis (so a value at the end can reach the front).
        | Tail of axis: int

    let apply (s: int[]) step =
        match step with
        | Remove d -> Array.append s.[.. d - 1] s.[d + 1 ..]
        | Resize(d, n) -> Array.mapi (fun i v -> if i = d then n else v) s
        | Tail d -> Array.mapi (fun i v -> if i = d then v - 1 else v) s

    let steps (s: int[]) =
        [ for d in 0 .. s.Length - 1 do yield Remove d
          for d in 0 .. s.Length - 1 do
              if s.[d] > 1 then yield Resize(d, 1)
              if s.[d] > 2 then yield Resize(d, s.[d] - 1)
              if s.[d] > 1 then yield Tail d ]

    let project (t: TensorSample) step =
        let s' = apply t.Shape step
        let values =
            Array.init (numel s') (fun flat ->
                let idx = unravel s' flat
                let old =
                    match step with
                    | Remove d -> Array.concat [ idx.[.. d - 1]; [| 0 |]; idx.[d ..] ]
                    | Resize _ -> idx
                    | Tail d -> Array.mapi (fun i v -> if i = d then v + 1 else v) idx
                t.Values.[ravel t.Shape old])
        { Shape = s'; Values = values }

    let broadcastable (shapes: int[] list) =
        let rank = shapes |> List.map Array.length |> List.max
        [ 0 .. rank - 1 ]
        |> List.forall (fun p ->
            let sizes = shapes |> List.choose (fun s -> if p < s.Length then Some s.[s.Length - 1 - p] else None) |> List.filter ((<>) 1)
            sizes |> List.distinct |> List.length <= 1)

    /// Steps for several shapes aligned from the right: one shape at a time, or an aligned axis
    /// of every shape that has it at once (so equal sizes can shrink together).
    let jointSteps (shapes: int[][]) =
        let rank = shapes |> Array.map Array.length |> Array.max
        [ for p in 0 .. rank - 1 do
              let at = shapes |> Array.map (fun s -> if p < s.Length then Some(s.Length - 1 - p) else None)
              let sizes = Array.map2 (fun (s: int[]) a -> a |> Option.map (fun d -> s.[d])) shapes at |> Array.choose id
              let biggest = Array.max sizes
              if biggest > 1 then
                  yield at |> Array.mapi (fun i a -> a |> Option.bind (fun d -> if shapes.[i].[d] > 1 then Some(Resize(d, 1)) else None))
                  if biggest > 2 then
                      yield at |> Array.mapi (fun i a -> a |> Option.bind (fun d -> if shapes.[i].[d] = biggest then Some(Resize(d, biggest - 1)) else None))
          for i in 0 .. shapes.Length - 1 do
              for step in steps shapes.[i] do
                  yield Array.init shapes.Length (fun j -> if j = i then Some step else None) ]

/// Values that shrink toward simpler numbers: fewer decimals first, then closer to a target.
module internal Simpler =
    let decimals (v: float) =
        let rec go k = if k >= 6 || Math.Round(v, k) = v then k else go (k + 1)
        go 0

    let better target (c: float) (v: float) =
        let dc, dv = decimals c, decimals v
        dc < dv || (dc = dv && abs (c - target) < abs (v - target))

    /// Simpler candidates for v, in the order tried (every one strictly simpler).
    let candidates (target: float) (v: float) =
        [ target
          (if v >= target then target + 1.0 else target - 1.0)
          Math.Round v
          (if v >= target then Math.Ceiling v else Math.Floor v)
          Math.Round(v, 1)
          Math.Round(v, 2)
          Math.Round(v, 3)
          (if decimals v = 0 then v - float (sign (v - target)) else v)
          (if decimals v = 0 then target + Math.Truncate((v - target) / 2.0) else v) ]
        |> List.distinct
        |> List.filter (fun c -> c <> v && better target c v)

    /// A value in [lo, hi] on a grid of 1/1000 of the range, so values print short.
    let inRange (lo: float) (hi: float) =
        Gen.frequency
            [ 4, Gen.choose (0, 1000) |> Gen.map (fun i -> Math.Round(lo + (hi - lo) * float i / 1000.0, 6))
              1, Gen.choose (int (ceil lo), int (floor hi)) |> Gen.map float ]
        |> Gen.map (fun v -> min hi (max lo v))

    let target (lo: float) (hi: float) = if lo <= 0.0 && 0.0 <= hi then 0.0 elif lo > 0.0 then (if lo <= 1.0 && 1.0 <= hi then 1.0 else lo) else hi

/// FsCheck 3 generators (<c>Gen</c>) for shapes and tensors, the building blocks of the
/// arbitraries in <see cref="T:AutoKl.Testing.Arbitraries"/>.
module Gens =
    /// A shape of rank minRank..maxRank with every size in 1..maxSize (size-1 axes exercise broadcasting).
    let shape (minRank: int) (maxRank: int) (maxSize: int) : Gen<int[]> =
        gen {
            let! rank = Gen.choose (minRank, maxRank)
            return! Gen.arrayOfLength rank (Gen.frequency [ 1, Gen.constant 1; 3, Gen.choose (1, max 1 maxSize) ])
        }

    let private sideOf (full: int[]) =
        gen {
            let! keep = Gen.choose (0, full.Length)
            let suffix = full.[full.Length - keep ..]
            let! ones = Gen.arrayOfLength suffix.Length (Gen.elements [ false; false; true ])
            return Array.map2 (fun d one -> if one then 1 else d) suffix ones
        }

    /// Two shapes that broadcast together: suffixes of a common shape with some sizes set to 1
    /// (a scalar, a missing leading axis, [3, 1] with [1, 4], ...).
    let shapePair (maxRank: int) (maxSize: int) : Gen<ShapePair> =
        gen {
            let! full = shape 0 maxRank maxSize
            let! a = sideOf full
            let! b = sideOf full
            return { ShapePair.Left = a; Right = b }
        }

    /// Three shapes that broadcast together.
    let shapeTriple (maxRank: int) (maxSize: int) : Gen<ShapeTriple> =
        gen {
            let! full = shape 0 maxRank maxSize
            let! a = sideOf full
            let! b = sideOf full
            let! c = sideOf full
            return { ShapeTriple.First = a; Second = b; Third = c }
        }

    /// Values for a given shape, each in [lo, hi].
    let valuesIn (lo: float) (hi: float) (dims: int[]) : Gen<TensorSample> =
        Gen.arrayOfLength (ShapeMath.numel dims) (Simpler.inRange lo hi) |> Gen.map (fun v -> { Shape = dims; Values = v })

    /// Values in [lo, hi] kept at least `margin` away from each kink (points where the function
    /// has no derivative: 0 for abs and relu, the bounds of clamp): a value too close is moved
    /// away on its own side, or to the other side when its side has no room.
    let valuesAwayFrom (kinks: float list) (margin: float) (lo: float) (hi: float) (dims: int[]) : Gen<TensorSample> =
        let ok v = kinks |> List.forall (fun k -> abs (v - k) >= margin)
        let push v =
            kinks |> List.fold (fun v k ->
                if abs (v - k) >= margin then v
                else
                    let up, down = k + margin, k - margin
                    let preferUp = v >= k
                    let candidates = if preferUp then [ up; down ] else [ down; up ]
                    candidates |> List.tryFind (fun c -> c >= lo && c <= hi && ok c) |> Option.defaultValue v) v
        valuesIn lo hi dims |> Gen.map (fun t -> { t with Values = Array.map (fun v -> Math.Round(push v, 6)) t.Values })
        |> Gen.filter (fun t -> Array.forall ok t.Values)

/// Whether two broadcast tensors stay apart elementwise.
module internal Apart =
    let holds (margin: float) (p: TensorPair) =
        let shape =
            let r = max p.Left.Shape.Length p.Right.Shape.Length
            Array.init r (fun i ->
                let at (s: int[]) = let j = i - (r - s.Length) in if j >= 0 then s.[j] else 1
                max (at p.Left.Shape) (at p.Right.Shape))
        let pick (t: TensorSample) (idx: int[]) =
            let off = idx.Length - t.Shape.Length
            t.Values.[ShapeMath.ravel t.Shape (Array.init t.Shape.Length (fun d -> if t.Shape.[d] = 1 then 0 else idx.[d + off]))]
        Seq.init (ShapeMath.numel shape) id
        |> Seq.forall (fun flat ->
            let idx = ShapeMath.unravel shape flat
            abs (pick p.Left idx - pick p.Right idx) >= margin)

/// Probability rows: generation and shrinking that keep every row summing to 1.
module internal Probability =
    let rows (t: TensorSample) =
        let k = if t.Shape.Length = 0 then 1 else t.Shape.[t.Shape.Length - 1]
        k, t.Values.Length / max 1 k

    let normalize (t: TensorSample) =
        let k, n = rows t
        let v = Array.copy t.Values
        for r in 0 .. n - 1 do
            let s = Array.sum v.[r * k .. r * k + k - 1]
            for j in 0 .. k - 1 do v.[r * k + j] <- (if s > 0.0 then v.[r * k + j] / s else 1.0 / float k)
        { t with Values = v }

    let valid (withZeros: bool) (t: TensorSample) =
        let k, n = rows t
        t.Shape.Length >= 1
        && Seq.forall (fun r ->
            let row = t.Values.[r * k .. r * k + k - 1]
            abs (Array.sum row - 1.0) < 1e-9 && Array.forall (fun v -> v >= 0.0 && (withZeros || v > 0.0)) row) [ 0 .. n - 1 ]

    let shrink (withZeros: bool) (t: TensorSample) : seq<TensorSample> =
        let k, n = rows t
        seq {
            for step in ShapeMath.steps t.Shape do
                match step with
                | ShapeMath.Remove d when d = t.Shape.Length - 1 -> ()
                | _ -> yield ShapeMath.project t step |> normalize
            for r in 0 .. n - 1 do
                let row = t.Values.[r * k .. r * k + k - 1]
                let support = row |> Array.filter (fun v -> v > 0.0) |> Array.length
                let uniform = row |> Array.map (fun v -> if v > 0.0 then 1.0 / float support else 0.0)
                if uniform <> row then
                    yield { t with Values = Array.concat [ t.Values.[.. r * k - 1]; uniform; t.Values.[r * k + k ..] ] }
            if withZeros then
                for i in 0 .. t.Values.Length - 1 do
                    let r = i / k
                    let row = t.Values.[r * k .. r * k + k - 1]
                    if t.Values.[i] > 0.0 && (row |> Array.filter (fun v -> v > 0.0) |> Array.length) > 1 then
                        yield { t with Values = Array.updateAt i 0.0 t.Values } |> normalize
        }
        |> Seq.filter (valid withZeros)

    let generate (withZeros: bool) (maxBatchRank: int) (maxCategories: int) (maxSize: int) : Gen<TensorSample> =
        gen {
            let! batch = Gens.shape 0 maxBatchRank maxSize
            let! k = Gen.choose (1, max 1 maxCategories)
            let dims = Array.append batch [| k |]
            let weight = if withZeros then Gen.frequency [ 1, Gen.constant 0; 4, Gen.choose (1, 20) ] else Gen.choose (1, 20)
            let! w = Gen.arrayOfLength (ShapeMath.numel dims) weight
            // A row of zero weights gets one positive entry, so every row is a distribution.
            let w = Array.copy w
            for r in 0 .. w.Length / k - 1 do
                if Array.forall ((=) 0) w.[r * k .. r * k + k - 1] then w.[r * k] <- 1
            return normalize { Shape = dims; Values = Array.map float w }
        }

/// Shrinkers (<c>'T -> seq&lt;'T&gt;</c>) matching the generators: smaller shapes first, then
/// simpler values, each candidate keeping the generator's invariant.
module Shrinkers =
    /// Smaller shapes: an axis removed, an axis of size 1, an axis one shorter.
    let shape (s: int[]) : seq<int[]> = ShapeMath.steps s |> Seq.map (ShapeMath.apply s) |> Seq.distinct

    /// Smaller broadcast-compatible pairs of shapes.
    let shapePair (p: ShapePair) : seq<ShapePair> =
        ShapeMath.jointSteps [| p.Left; p.Right |]
        |> Seq.map (fun st ->
            let app s o = match o with Some step -> ShapeMath.apply s step | None -> s
            { ShapePair.Left = app p.Left st.[0]; Right = app p.Right st.[1] })
        |> Seq.filter (fun q -> ShapeMath.broadcastable [ q.Left; q.Right ] && q <> p)
        |> Seq.distinct

    /// Smaller broadcast-compatible triples of shapes.
    let shapeTriple (p: ShapeTriple) : seq<ShapeTriple> =
        ShapeMath.jointSteps [| p.First; p.Second; p.Third |]
        |> Seq.map (fun st ->
            let app s o = match o with Some step -> ShapeMath.apply s step | None -> s
            { ShapeTriple.First = app p.First st.[0]; Second = app p.Second st.[1]; Third = app p.Third st.[2] })
        |> Seq.filter (fun q -> ShapeMath.broadcastable [ q.First; q.Second; q.Third ] && q <> p)
        |> Seq.distinct

    let private values (target: float) (valid: float -> bool) (t: TensorSample) =
        seq {
            // Everything at once to the simplest value, then element by element.
            let all = { t with Values = Array.map (fun v -> if valid target then target else v) t.Values }
            if all.Values <> t.Values then yield all
            for i in 0 .. t.Values.Length - 1 do
                for c in Simpler.candidates target t.Values.[i] do
                    if valid c then yield { t with Values = Array.updateAt i c t.Values }
        }

    /// Smaller shapes (values projected), then simpler values, keeping each value `valid`.
    let tensorWhere (target: float) (valid: float -> bool) (keepShape: int[] -> bool) (t: TensorSample) : seq<TensorSample> =
        seq {
            for step in ShapeMath.steps t.Shape do
                let s = ShapeMath.project t step
                if keepShape s.Shape then yield s
            yield! values target valid t
        }

    /// Tensors with values in [lo, hi].
    let tensorIn (lo: float) (hi: float) (t: TensorSample) : seq<TensorSample> =
        tensorWhere (Simpler.target lo hi) (fun v -> v >= lo && v <= hi) (fun _ -> true) t

    let private pairWhere (valid: TensorPair -> bool) (simplify: TensorSample -> seq<TensorSample>) (p: TensorPair) =
        seq {
            for st in ShapeMath.jointSteps [| p.Left.Shape; p.Right.Shape |] do
                let app t o = match o with Some step -> ShapeMath.project t step | None -> t
                let q = { Left = app p.Left st.[0]; Right = app p.Right st.[1] }
                if ShapeMath.broadcastable [ q.Left.Shape; q.Right.Shape ] then yield q
            for l in simplify p.Left do
                if l.Shape = p.Left.Shape then yield { p with Left = l }
            for r in simplify p.Right do
                if r.Shape = p.Right.Shape then yield { p with Right = r }
        }
        |> Seq.filter valid

    /// Pairs of tensors in [lo, hi] with broadcastable shapes.
    let tensorPairIn (lo: float) (hi: float) (p: TensorPair) : seq<TensorPair> = pairWhere (fun _ -> true) (tensorIn lo hi) p

    /// Triples of tensors in [lo, hi] with broadcastable shapes.
    let tensorTripleIn (lo: float) (hi: float) (p: TensorTriple) : seq<TensorTriple> =
        seq {
            for st in ShapeMath.jointSteps [| p.First.Shape; p.Second.Shape; p.Third.Shape |] do
                let app t o = match o with Some step -> ShapeMath.project t step | None -> t
                let q = { First = app p.First st.[0]; Second = app p.Second st.[1]; Third = app p.Third st.[2] }
                if ShapeMath.broadcastable [ q.First.Shape; q.Second.Shape; q.Third.Shape ] then yield q
            for t in tensorIn lo hi p.First do
                if t.Shape = p.First.Shape then yield { p with First = t }
            for t in tensorIn lo hi p.Second do
                if t.Shape = p.Second.Shape then yield { p with Second = t }
            for t in tensorIn lo hi p.Third do
                if t.Shape = p.Third.Shape then yield { p with Third = t }
        }

    /// Pairs whose broadcast elements differ by at least `margin` (away from the kink of maximum/minimum).
    let tensorPairApart (margin: float) (lo: float) (hi: float) (p: TensorPair) : seq<TensorPair> =
        pairWhere (Apart.holds margin) (tensorIn lo hi) p

    /// Rows summing to 1 along the last axis; `withZeros` allows exact zeros.
    let probabilities (withZeros: bool) (t: TensorSample) : seq<TensorSample> =
        Probability.shrink withZeros t

/// Ready-made FsCheck arbitraries (generator plus shrinker) for gradient properties. Each shrinks
/// toward smaller shapes and simpler values and keeps its invariant while shrinking, so a failing
/// property is reported on the smallest input that still fails. Usable from C# (FsCheck's
/// <c>Arbitrary&lt;T&gt;</c>) and F#.
[<AbstractClass; Sealed>]
type Arbitraries =
    /// Shapes of rank 0..4 with sizes 1..4.
    static member Shapes() : Arbitrary<int[]> = Arbitraries.Shapes(0, 4, 4)

    /// Shapes of rank minRank..maxRank with sizes 1..maxSize.
    static member Shapes(minRank: int, maxRank: int, maxSize: int) : Arbitrary<int[]> =
        Arb.fromGenShrink (Gens.shape minRank maxRank maxSize, Shrinkers.shape)

    /// Broadcast-compatible pairs of shapes (rank up to 4, sizes up to 4).
    static member ShapePairs() : Arbitrary<ShapePair> = Arbitraries.ShapePairs(4, 4)

    /// Broadcast-compatible pairs of shapes of rank up to maxRank.
    static member ShapePairs(maxRank: int, maxSize: int) : Arbitrary<ShapePair> =
        Arb.fromGenShrink (Gens.shapePair maxRank maxSize, Shrinkers.shapePair)

    /// Broadcast-compatible triples of shapes (rank up to 3, sizes up to 3).
    static member ShapeTriples() : Arbitrary<ShapeTriple> = Arbitraries.ShapeTriples(3, 3)

    /// Broadcast-compatible triples of shapes of rank up to maxRank.
    static member ShapeTriples(maxRank: int, maxSize: int) : Arbitrary<ShapeTriple> =
        Arb.fromGenShrink (Gens.shapeTriple maxRank maxSize, Shrinkers.shapeTriple)

    /// Tensors of rank 0..3 (sizes up to 3) with values in [lo, hi].
    static member Tensors(lo: float, hi: float) : Arbitrary<TensorSample> = Arbitraries.Tensors(lo, hi, 0, 3, 3)

    /// Tensors of rank minRank..maxRank (sizes up to maxSize) with values in [lo, hi].
    static member Tensors(lo: float, hi: float, minRank: int, maxRank: int, maxSize: int) : Arbitrary<TensorSample> =
        if not (lo <= hi) then raise (AutoKlException("Arbitraries.Tensors", sprintf "lo %g must not exceed hi %g" lo hi))
        Arb.fromGenShrink (Gens.shape minRank maxRank maxSize |> Gen.bind (Gens.valuesIn lo hi), Shrinkers.tensorIn lo hi)

    /// Tensors of rank 0..3 with values in [0.1, 5] (logs, square roots, scales).
    static member Positive() : Arbitrary<TensorSample> = Arbitraries.Tensors(0.1, 5.0)

    /// Logits: rank 1..3 (the classes on the last axis), values in [-4, 4].
    static member Logits() : Arbitrary<TensorSample> = Arbitraries.Tensors(-4.0, 4.0, 1, 3, 4)

    /// Tensors of rank 0..3 with values in [lo, hi] at least `margin` from every kink (e.g. [0.0]
    /// for abs and relu, [a; b] for clamp(a, b)), so central differences never straddle a point
    /// without a derivative. Shrinking keeps the margin.
    static member AwayFromKinks(kinks: float[], margin: float, lo: float, hi: float) : Arbitrary<TensorSample> =
        let kinks = List.ofArray kinks
        let ok v = kinks |> List.forall (fun k -> abs (v - k) >= margin)
        Arb.fromGenShrink (
            Gens.shape 0 3 3 |> Gen.bind (Gens.valuesAwayFrom kinks margin lo hi),
            Shrinkers.tensorWhere (Simpler.target lo hi) (fun v -> v >= lo && v <= hi && ok v) (fun _ -> true))

    /// Pairs of tensors in [lo, hi] with broadcast-compatible shapes (rank up to 3, sizes up to 3).
    static member TensorPairs(lo: float, hi: float) : Arbitrary<TensorPair> =
        let g =
            Gens.shapePair 3 3
            |> Gen.bind (fun p -> Gen.map2 (fun a b -> { Left = a; Right = b }) (Gens.valuesIn lo hi p.Left) (Gens.valuesIn lo hi p.Right))
        Arb.fromGenShrink (g, Shrinkers.tensorPairIn lo hi)

    /// Triples of tensors in [lo, hi] with broadcast-compatible shapes (rank up to 3, sizes up to 3).
    static member TensorTriples(lo: float, hi: float) : Arbitrary<TensorTriple> =
        let g =
            Gens.shapeTriple 3 3
            |> Gen.bind (fun p ->
                Gen.map3 (fun a b c -> { First = a; Second = b; Third = c })
                    (Gens.valuesIn lo hi p.First) (Gens.valuesIn lo hi p.Second) (Gens.valuesIn lo hi p.Third))
        Arb.fromGenShrink (g, Shrinkers.tensorTripleIn lo hi)

    /// Broadcast-compatible pairs whose corresponding elements differ by at least `margin`
    /// (away from the kink of maximum and minimum, where the two arguments tie).
    static member TensorPairsApart(margin: float, lo: float, hi: float) : Arbitrary<TensorPair> =
        let g =
            Gens.shapePair 3 3
            |> Gen.bind (fun p -> Gen.map2 (fun a b -> { Left = a; Right = b }) (Gens.valuesIn lo hi p.Left) (Gens.valuesIn lo hi p.Right))
            |> Gen.filter (Apart.holds margin)
        Arb.fromGenShrink (g, Shrinkers.tensorPairApart margin lo hi)

    /// Probability vectors and batches of them (rank 1..3, the distribution on the last axis, up
    /// to 5 categories), every entry strictly positive.
    static member Probabilities() : Arbitrary<TensorSample> = Arbitraries.Probabilities(false)

    /// Probability vectors and batches; with `withZeros`, some entries are exactly 0 (KL's xlogy case).
    static member Probabilities(withZeros: bool) : Arbitrary<TensorSample> = Arbitraries.Probabilities(withZeros, 2, 5, 3)

    /// Probability rows with up to maxBatchRank batch axes (sizes up to maxSize) and up to maxCategories categories.
    static member Probabilities(withZeros: bool, maxBatchRank: int, maxCategories: int, maxSize: int) : Arbitrary<TensorSample> =
        Arb.fromGenShrink (Probability.generate withZeros maxBatchRank maxCategories maxSize, Shrinkers.probabilities withZeros)

    /// Logits [n, c] in [-4, 4] with class-index targets in 0..c-1 (n up to 4, c up to 5).
    static member ClassIndices() : Arbitrary<ClassificationSample> =
        let g =
            gen {
                let! n = Gen.choose (1, 4)
                let! c = Gen.choose (1, 5)
                let! logits = Gens.valuesIn -4.0 4.0 [| n; c |]
                let! targets = Gen.arrayOfLength n (Gen.choose (0, c - 1))
                return { Logits = logits; Targets = targets }
            }
        let shrink (s: ClassificationSample) =
            let n, c = s.Logits.Shape.[0], s.Logits.Shape.[1]
            seq {
                if n > 1 then
                    yield { Logits = ShapeMath.project s.Logits (ShapeMath.Resize(0, n - 1)); Targets = s.Targets.[.. n - 2] }
                if c > 1 && Array.forall (fun t -> t < c - 1) s.Targets then
                    yield { s with Logits = ShapeMath.project s.Logits (ShapeMath.Resize(1, c - 1)) }
                for i in 0 .. n - 1 do
                    if s.Targets.[i] > 0 then yield { s with Targets = Array.updateAt i (s.Targets.[i] - 1) s.Targets }
                for l in Shrinkers.tensorIn -4.0 4.0 s.Logits do
                    if l.Shape = s.Logits.Shape then yield { s with Logits = l }
            }
        Arb.fromGenShrink (g, shrink)
