/// FsCheck generators for the engine's properties: shapes (rank 0..3, dimensions 1..4),
/// broadcasting pairs, reduction axes, softmax axes and matmul operand shapes. Shapes and
/// broadcast pairs are AutoKl.Testing's (which shrink to small shapes); the named pairs, axes and
/// matmul operands, which the library lacks, are built here on its shape generator. Values come
/// from `Generator(seed)`.
module AutoKl.Tests.Engine.Generators

open AutoKl
open AutoKl.Testing
open FsCheck
open FsCheck.FSharp
open Expecto

/// A tensor shape with rank 0..3 and every dimension in 1..4.
type Shape = { Dims: int[] }

/// Two shapes that broadcast together (the same shape, a missing leading dimension, a size-1
/// dimension on either side, a scalar on either side, or both sides stretched as [3,1] with [1,4]).
type BroadcastPair = { A: int[]; B: int[] }

/// A shape and the axes to reduce (empty: every element), written with negative indices at
/// random, and keepDim.
type Reduction = { Dims: int[]; Axes: int[]; KeepDim: bool }

/// A shape of rank 1..3 and one axis of it (possibly negative).
type AlongAxis = { Dims: int[]; Axis: int }

/// Operand shapes for matmul: 2-D, batched with broadcast batch dimensions, and 1-D on either side.
type MatMulShapes = { Left: int[]; Right: int[] }

let private dim = Gen.choose (1, 4)

let private dimsOfRank lo hi = Gens.shape lo hi 4

/// The broadcasting cases that break naive rules (a column with a row, a missing leading axis on
/// either side, a scalar, size-1 axes in the middle, equal shapes), always in the mix so every
/// property meets them.
let namedPairs =
    [ [| 3; 1 |], [| 1; 4 |]
      [| 1; 4 |], [| 3; 1 |]
      [| 4 |], [| 3; 4 |]
      [| 3; 4 |], [| 4 |]
      [||], [| 2; 3 |]
      [| 2; 3 |], [||]
      [| 2; 1; 4 |], [| 3; 1 |]
      [| 2; 3 |], [| 2; 3 |] ]

let private toPair (p: ShapePair) = { A = p.Left; B = p.Right }
let private randomPair = Gens.shapePair 3 4 |> Gen.map toPair

let private reduction =
    gen {
        let! dims = dimsOfRank 0 3
        let! picked = Gen.arrayOfLength dims.Length (Gen.elements [ true; false ])
        let! negative = Gen.arrayOfLength dims.Length (Gen.elements [ true; false ])
        let axes =
            [| for i in 0 .. dims.Length - 1 do
                   if picked.[i] then yield (if negative.[i] then i - dims.Length else i) |]
        let! keepDim = Gen.elements [ true; false ]
        return { Dims = dims; Axes = axes; KeepDim = keepDim }
    }

let private alongAxis =
    gen {
        let! dims = dimsOfRank 1 3
        let! axis = Gen.choose (-dims.Length, dims.Length - 1)
        return { Dims = dims; Axis = axis }
    }

let private matmulShapes =
    gen {
        let! m = dim
        let! k = dim
        let! n = dim
        let! batch = randomPair |> Gen.map (fun p -> p.A.[max 0 (p.A.Length - 2) ..], p.B.[max 0 (p.B.Length - 2) ..])
        let! kind = Gen.choose (0, 5)
        let batchA, batchB = batch
        return
            match kind with
            | 0 -> { Left = [| m; k |]; Right = [| k; n |] }
            | 1 | 2 -> { Left = Array.append batchA [| m; k |]; Right = Array.append batchB [| k; n |] }
            | 3 -> { Left = [| k |]; Right = Array.append batchB [| k; n |] }
            | 4 -> { Left = Array.append batchA [| m; k |]; Right = [| k |] }
            | _ -> { Left = [| k |]; Right = [| k |] }
    }

/// The arbitraries the engine's properties use (registered through `engineConfig`).
type EngineArbitraries =
    static member Shape() =
        Arb.fromGenShrink (dimsOfRank 0 3 |> Gen.map (fun d -> { Shape.Dims = d }), fun s -> Shrinkers.shape s.Dims |> Seq.map (fun d -> { Shape.Dims = d }))
    static member BroadcastPair() =
        Arb.fromGenShrink (
            Gen.frequency [ 1, Gen.elements (namedPairs |> List.map (fun (a, b) -> { A = a; B = b })); 2, randomPair ],
            fun p -> Shrinkers.shapePair { ShapePair.Left = p.A; Right = p.B } |> Seq.map toPair)
    static member Reduction() = Arb.fromGen reduction
    static member AlongAxis() = Arb.fromGen alongAxis
    static member MatMulShapes() = Arb.fromGen matmulShapes

/// The engine's properties: its arbitraries and a modest run count, so the suite stays fast.
let engineConfig = { FsCheckConfig.defaultConfig with arbitrary = [ typeof<EngineArbitraries> ]; maxTest = 30 }

// ---- values -----------------------------------------------------------------------------

/// Standard normal float64 values of the given shape from `Generator(seed)`.
let normal (seed: int) (dims: int[]) = Tensor.RandN(dims, Generator(seed), DType.Float64)

/// Uniform float64 values in [lo, hi).
let uniform (seed: int) (lo: float) (hi: float) (dims: int[]) =
    Tensor.Rand(dims, Generator(seed), DType.Float64, lo, hi)

/// How far generated values stay from a kink or a tie. gradcheck's central differences step
/// 1e-6 along one element or a unit direction, far inside this margin; the margin also keeps the
/// derivative on each side of a kink clearly defined for the values the properties draw.
let kinkMargin = 0.02

/// Values moved at least `margin` away from `kink`, keeping their side (the finite-difference
/// step must not straddle a point where the function is not differentiable).
let awayFrom (kink: float) (margin: float) (x: Tensor) =
    let moved =
        x.ToDoubleArray()
        |> Array.map (fun v -> if abs (v - kink) < margin then kink + (if v >= kink then 1.0 else -1.0) * (margin + abs (v - kink)) else v)
    Tensor.FromArray(moved, x.Shape)

/// Values with every pair at least `gap` apart (no ties for max/min/maximum), by spreading
/// the sorted order: the k-th smallest gets an extra k * gap.
let distinct (gap: float) (x: Tensor) =
    let v = x.ToDoubleArray()
    let order = Array.init v.Length id |> Array.sortBy (fun i -> v.[i])
    let spread = Array.copy v
    order |> Array.iteri (fun rank i -> spread.[i] <- v.[i] + float rank * gap)
    Tensor.FromArray(spread, x.Shape)
