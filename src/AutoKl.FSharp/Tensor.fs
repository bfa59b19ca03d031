namespace AutoKl

open System

/// Pipeable, curried forms of every tensor op, for F#: `x |> Tensor.log |> Tensor.sum`.
/// Settings come first and the tensor last, so each function pipes. Axis arguments are ints;
/// `...Dim` variants reduce along one axis, `...Dims` along several, the plain form over all.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Tensor =
    type private T = AutoKl.Tensor

    // ---- creation -----------------------------------------------------------------------
    /// A float64 vector from a list.
    let ofList (values: float list) = T.FromArray(List.toArray values)
    /// A float64 vector from an array.
    let ofArray (values: float[]) = T.FromArray(values)
    /// A float32 vector from an array.
    let ofArray32 (values: float32[]) = T.FromArray(values)
    /// A float64 matrix from a list of equal-length rows.
    let ofList2D (rows: float list list) = T.FromRows(rows |> Seq.map Seq.ofList, DType.Float64)
    /// A float64 matrix from a 2-D array.
    let ofArray2D (values: float[,]) = T.FromArray(values)
    /// An int64 tensor of indices (class labels, gather indices).
    let ofInts (values: int list) = T.FromArray(List.toArray values)
    /// A rank-0 float64 tensor.
    let scalar (value: float) = T.Scalar(value, DType.Float64)
    /// Zeros of the given dtype and shape.
    let zeros (dtype: DType) (shape: int list) = T.Zeros(List.toArray shape, dtype)
    /// Ones of the given dtype and shape.
    let ones (dtype: DType) (shape: int list) = T.Ones(List.toArray shape, dtype)
    /// Evenly spaced values, end included.
    let linspace (dtype: DType) (start: float) (stop: float) (steps: int) = T.Linspace(start, stop, steps, dtype)
    /// Standard normal values from a seeded generator.
    let randn (generator: Generator) (dtype: DType) (shape: int list) = T.RandN(List.toArray shape, generator, dtype)
    /// Uniform values in [0, 1) from a seeded generator.
    let rand (generator: Generator) (dtype: DType) (shape: int list) = T.Rand(List.toArray shape, generator, dtype)
    /// Every element equal to value.
    let full (dtype: DType) (shape: int list) (value: float) = T.Full(List.toArray shape, value, dtype)
    /// start, start + step, ... up to but excluding stop.
    let arange (dtype: DType) (start: float) (stop: float) (step: float) = T.Arange(start, stop, step, dtype)
    /// The n-by-n identity matrix.
    let eye (dtype: DType) (n: int) = T.Eye(n, dtype)
    /// A float32 vector from a list.
    let ofList32 (values: float32 list) = T.FromArray(List.toArray values)

    // ---- reading --------------------------------------------------------------------------
    /// The shape as an array.
    let shape (x: T) = x.Shape
    /// The value of a one-element tensor.
    let toFloat (x: T) = x.ToScalar()
    /// The values as a float array.
    let toArray (x: T) = x.ToDoubleArray()
    /// The values as a float32 array.
    let toArray32 (x: T) = x.ToSingleArray()
    /// The values converted to another dtype.
    let toType (dtype: DType) (x: T) = T.ToType(x, dtype)

    // ---- elementwise ----------------------------------------------------------------------
    let neg (x: T) = T.Neg x
    let exp (x: T) = T.Exp x
    let log (x: T) = T.Log x
    let log1p (x: T) = T.Log1p x
    let expm1 (x: T) = T.Expm1 x
    let sqrt (x: T) = T.Sqrt x
    let abs (x: T) = T.Abs x
    let sigmoid (x: T) = T.Sigmoid x
    let tanh (x: T) = T.Tanh x
    let relu (x: T) = T.Relu x
    let softplus (x: T) = T.Softplus(x)
    let sin (x: T) = T.Sin x
    let cos (x: T) = T.Cos x
    let tan (x: T) = T.Tan x
    let erf (x: T) = T.Erf x
    let lgamma (x: T) = T.Lgamma x
    let digamma (x: T) = T.Digamma x
    let square (x: T) = T.Square x
    let sign (x: T) = T.Sign x
    let floor (x: T) = T.Floor x
    let ceil (x: T) = T.Ceiling x
    let round (x: T) = T.Round x
    /// Clamp into [lo, hi].
    let clamp (lo: float) (hi: float) (x: T) = T.Clamp(x, lo, hi)
    /// x raised to a constant power: `x |> Tensor.pow 2.0`.
    let pow (exponent: float) (x: T) = T.Pow(x, exponent)

    // ---- binary (both orders are natural: a first, b second) -------------------------------
    let add (a: T) (b: T) = T.Add(a, b)
    let sub (a: T) (b: T) = T.Sub(a, b)
    let mul (a: T) (b: T) = T.Mul(a, b)
    let div (a: T) (b: T) = T.Div(a, b)
    let powt (a: T) (b: T) = T.Pow(a, b)
    let maximum (a: T) (b: T) = T.Maximum(a, b)
    let minimum (a: T) (b: T) = T.Minimum(a, b)
    let xlogy (a: T) (b: T) = T.Xlogy(a, b)
    let matmul (a: T) (b: T) = T.MatMul(a, b)
    /// Elementwise choice: a where the mask is non-zero, else b.
    let where (condition: T) (a: T) (b: T) = T.Where(condition, a, b)
    let gt (a: T) (b: T) = T.Gt(a, b)
    let lt (a: T) (b: T) = T.Lt(a, b)
    let eq (a: T) (b: T) = T.Eq(a, b)
    let ge (a: T) (b: T) = T.Ge(a, b)
    let le (a: T) (b: T) = T.Le(a, b)
    let ne (a: T) (b: T) = T.Ne(a, b)
    /// Mask of the finite elements (neither infinite nor NaN).
    let isFinite (x: T) = T.IsFinite x
    /// 1 / x.
    let reciprocal (x: T) = T.Reciprocal x
    /// A constant base raised to x: `x |> Tensor.powBase 2.0`.
    let powBase (baseValue: float) (x: T) = T.Pow(baseValue, x)

    // ---- reductions -----------------------------------------------------------------------
    let sum (x: T) = T.Sum x
    let sumDim (axis: int) (x: T) = T.Sum(x, axis)
    let sumDims (axes: int list) (keepDim: bool) (x: T) = T.Sum(x, List.toArray axes, keepDim)
    let mean (x: T) = T.Mean x
    let meanDim (axis: int) (x: T) = T.Mean(x, axis)
    let meanDims (axes: int list) (keepDim: bool) (x: T) = T.Mean(x, List.toArray axes, keepDim)
    let max (x: T) = T.Max x
    let maxDim (axis: int) (x: T) = T.Max(x, axis)
    let min (x: T) = T.Min x
    let minDim (axis: int) (x: T) = T.Min(x, axis)
    let logsumexp (x: T) = T.LogSumExp x
    let logsumexpDim (axis: int) (x: T) = T.LogSumExp(x, axis)
    let logsumexpDims (axes: int list) (keepDim: bool) (x: T) = T.LogSumExp(x, List.toArray axes, keepDim)
    let maxDims (axes: int list) (keepDim: bool) (x: T) = T.Max(x, List.toArray axes, keepDim)
    let minDims (axes: int list) (keepDim: bool) (x: T) = T.Min(x, List.toArray axes, keepDim)
    let var (axis: int) (x: T) = T.Var(x, [| axis |])
    let std (axis: int) (x: T) = T.Std(x, [| axis |])
    let argmax (axis: int) (x: T) = T.ArgMax(x, axis)
    let argmin (axis: int) (x: T) = T.ArgMin(x, axis)
    let softmax (axis: int) (x: T) = T.Softmax(x, axis)
    let logSoftmax (axis: int) (x: T) = T.LogSoftmax(x, axis)
    /// Running sum along an axis.
    let cumsum (axis: int) (x: T) = T.CumSum(x, axis)

    // ---- shape ----------------------------------------------------------------------------
    let reshape (shape: int list) (x: T) = T.Reshape(x, List.toArray shape)
    let permute (dims: int list) (x: T) = T.Permute(x, List.toArray dims)
    /// Matrix transpose (swaps the last two dimensions).
    let transpose (x: T) = T.Transpose(x)
    let transposeDims (dim0: int) (dim1: int) (x: T) = T.Transpose(x, dim0, dim1)
    let expand (shape: int list) (x: T) = T.Expand(x, List.toArray shape)
    let squeeze (x: T) = T.Squeeze x
    let squeezeDim (axis: int) (x: T) = T.Squeeze(x, axis)
    let unsqueeze (axis: int) (x: T) = T.Unsqueeze(x, axis)
    let flatten (x: T) = T.Flatten(x)
    let slice (axis: int) (start: int) (stop: int) (x: T) = T.Slice(x, axis, start, stop)
    /// Every step-th element from start up to (excluding) stop along the axis.
    let sliceStep (axis: int) (start: int) (stop: int) (step: int) (x: T) = T.Slice(x, axis, start, stop, step)
    let narrow (axis: int) (start: int) (length: int) (x: T) = T.Narrow(x, axis, start, length)
    let select (axis: int) (index: int) (x: T) = T.Select(x, axis, index)
    let gather (axis: int) (index: T) (x: T) = T.Gather(x, axis, index)
    /// x with source added at the positions index names along the axis.
    let scatterAdd (axis: int) (index: T) (source: T) (x: T) = T.ScatterAdd(x, axis, index, source)
    let concat (axis: int) (xs: T seq) = T.Concat(xs, axis)
    let stack (axis: int) (xs: T seq) = T.Stack(xs, axis)

    // ---- autograd -------------------------------------------------------------------------
    let detach (x: T) = x.Detach()
    /// Marks a leaf as requiring gradients and returns it.
    let requiresGrad (x: T) = x.RequiresGrad_()
    /// The accumulated gradient of a leaf.
    let grad (x: T) = x.Grad

/// F# slicing on tensors: `x.[1..3]` and `m.[0..1, 2..]` (bounds inclusive, as F# slices are).
[<AutoOpen>]
module TensorSlicing =
    let private bounds (size: int) (start: int option) (finish: int option) =
        let s = defaultArg start 0
        let e = defaultArg finish (size - 1)
        s, e + 1

    type AutoKl.Tensor with
        member x.GetSlice(start: int option, finish: int option) =
            let s, e = bounds (x.Size 0) start finish
            AutoKl.Tensor.Slice(x, 0, s, e)

        member x.GetSlice(start0: int option, finish0: int option, start1: int option, finish1: int option) =
            let s0, e0 = bounds (x.Size 0) start0 finish0
            let s1, e1 = bounds (x.Size 1) start1 finish1
            AutoKl.Tensor.Slice(AutoKl.Tensor.Slice(x, 0, s0, e0), 1, s1, e1)

        member x.GetSlice(index0: int, start1: int option, finish1: int option) =
            let s1, e1 = bounds (x.Size 1) start1 finish1
            AutoKl.Tensor.Slice(AutoKl.Tensor.Select(x, 0, index0), 0, s1, e1)

        member x.GetSlice(start0: int option, finish0: int option, index1: int) =
            let s0, e0 = bounds (x.Size 0) start0 finish0
            AutoKl.Tensor.Select(AutoKl.Tensor.Slice(x, 0, s0, e0), 1, index1)
