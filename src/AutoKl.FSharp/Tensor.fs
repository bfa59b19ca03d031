namespace AutoKl

open System

/// Pipeable, curried forms of every tensor op, for F#: `x |> Tensor.log |> Tensor.sum`.
/// Settings come first and the tensor last, so each function pipes. Axis arguments are ints.
/// Every reduction (sum, mean, max, min, var, std, logsumexp) comes in the same five forms:
/// `Tensor.mean x` over all elements, `meanDim axis x` and `meanDims axes x` dropping the reduced
/// axes, `meanDimKeep axis x` and `meanDimsKeep axes x` keeping them with size 1 (PyTorch's keepdim).
/// Binary functions take a number on either side: `Tensor.maximum 0.0 x`, `Tensor.gt x 0.0`.
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
    /// A float32 matrix from a list of equal-length rows.
    let ofList2D32 (rows: float32 list list) = T.FromRows(rows |> Seq.map (Seq.map float), DType.Float32)
    /// A float32 matrix from a 2-D array.
    let ofArray2D32 (values: float32[,]) = T.FromArray(values)
    /// A rank-0 float32 tensor.
    let scalar32 (value: float32) = T.Scalar(float value, DType.Float32)
    /// A float64 tensor of the given shape from values in row-major order: `Tensor.ofArrayShape [ 2; 3 ] values`.
    let ofArrayShape (shape: int list) (values: float[]) = T.FromArray(values, List.toArray shape)
    /// A float32 tensor of the given shape from values in row-major order.
    let ofArray32Shape (shape: int list) (values: float32[]) = T.FromArray(values, List.toArray shape)
    /// A tensor of the given dtype and shape from values in row-major order:
    /// `Tensor.ofValues DType.Float32 [ 2; 2 ] [ 1.0; 2.0; 3.0; 4.0 ]`.
    let ofValues (dtype: DType) (shape: int list) (values: float seq) = T.FromArray(Seq.toArray values, List.toArray shape, dtype)
    /// Zeros shaped like x, of x's dtype.
    let zerosLike (x: T) = T.ZerosLike x
    /// Ones shaped like x, of x's dtype.
    let onesLike (x: T) = T.OnesLike x
    /// Every element equal to value, shaped like x, of x's dtype.
    let fullLike (value: float) (x: T) = T.FullLike(x, value)

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
    /// The element type.
    let dtype (x: T) = x.DType

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
    /// Hyperbolic cosine (also F#'s `cosh x`).
    let cosh (x: T) = T.Cosh x
    /// Hyperbolic sine (also F#'s `sinh x`).
    let sinh (x: T) = T.Sinh x
    /// Arcsine (also F#'s `asin x`).
    let asin (x: T) = T.Asin x
    /// Arccosine (also F#'s `acos x`).
    let acos (x: T) = T.Acos x
    /// Arctangent (also F#'s `atan x`).
    let atan (x: T) = T.Atan x
    /// Base-10 logarithm (also F#'s `log10 x`).
    let log10 (x: T) = T.Log10 x
    /// Base-2 logarithm.
    let log2 (x: T) = T.Log2 x
    /// Rounds toward zero (also F#'s `truncate x`).
    let truncate (x: T) = T.Truncate x
    let erf (x: T) = T.Erf x
    let lgamma (x: T) = T.Lgamma x
    let square (x: T) = T.Square x
    let sign (x: T) = T.Sign x
    let floor (x: T) = T.Floor x
    let ceil (x: T) = T.Ceiling x
    let round (x: T) = T.Round x
    /// Clamp into [lo, hi].
    let clamp (lo: float) (hi: float) (x: T) = T.Clamp(x, lo, hi)
    /// x raised to a constant power: `x |> Tensor.pow 2.0`.
    let pow (exponent: float) (x: T) = T.Pow(x, exponent)

    // ---- binary: a first, b second; either may be a number (float) -------------------------
    /// a + b: `Tensor.add 1.0 x`.
    let inline add (a: ^A) (b: ^B) : AutoKl.Tensor = a + b
    /// a - b.
    let inline sub (a: ^A) (b: ^B) : AutoKl.Tensor = a - b
    /// a * b elementwise.
    let inline mul (a: ^A) (b: ^B) : AutoKl.Tensor = a * b
    /// a / b elementwise.
    let inline div (a: ^A) (b: ^B) : AutoKl.Tensor = a / b
    /// a raised to b elementwise, both tensors. A number exponent is `pow 2.0 x`, a number base
    /// `powBase 2.0 x`: F#'s `2.0 ** x` cannot compile, since the compiler gives `**` with a float
    /// base a float result.
    let powt (a: T) (b: T) = T.Pow(a, b)
    /// Elementwise maximum: `Tensor.maximum 0.0 x` (F#'s `max x y` needs comparison, which tensors do not have).
    let inline maximum (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Maximum: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Elementwise minimum: `Tensor.minimum x 1.0`.
    let inline minimum (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Minimum: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// The angle of the point (x, y) elementwise (also F#'s `atan2 y x` on two tensors).
    let atan2 (y: T) (x: T) = T.Atan2(y, x)
    let xlogy (a: T) (b: T) = T.Xlogy(a, b)
    let matmul (a: T) (b: T) = T.MatMul(a, b)
    /// Elementwise choice: a where the mask is non-zero, else b; a or b may be a number: `Tensor.where mask x 0.0`.
    let inline where (condition: AutoKl.Tensor) (a: ^A) (b: ^B) : AutoKl.Tensor =
        ((^A or ^B): (static member Where: AutoKl.Tensor * ^A * ^B -> AutoKl.Tensor) (condition, a, b))
    /// Mask of a > b: `Tensor.gt x 0.0`.
    let inline gt (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Gt: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Mask of a &lt; b.
    let inline lt (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Lt: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Mask of a = b.
    let inline eq (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Eq: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Mask of a >= b.
    let inline ge (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Ge: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Mask of a &lt;= b.
    let inline le (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Le: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Mask of a &lt;> b.
    let inline ne (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Ne: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Mask of the finite elements (neither infinite nor NaN).
    let isFinite (x: T) = T.IsFinite x
    /// 1 / x.
    let reciprocal (x: T) = T.Reciprocal x
    /// A constant base raised to x: `Tensor.powBase 2.0 x` (what `2.0 ** x` would mean; F# cannot compile that).
    let powBase (baseValue: float) (x: T) = T.Pow(baseValue, x)

    // ---- reductions: name x (all), nameDim axis x, nameDims axes x, nameDimKeep axis x, nameDimsKeep axes x
    /// Sum of all elements.
    let sum (x: T) = T.Sum x
    /// Sum along one axis, which is dropped.
    let sumDim (axis: int) (x: T) = T.Sum(x, axis)
    /// Sum over several axes, which are dropped.
    let sumDims (axes: int list) (x: T) = T.Sum(x, List.toArray axes)
    /// Sum along one axis, kept with size 1.
    let sumDimKeep (axis: int) (x: T) = T.Sum(x, axis, true)
    /// Sum over several axes, kept with size 1.
    let sumDimsKeep (axes: int list) (x: T) = T.Sum(x, List.toArray axes, true)
    /// Mean of all elements.
    let mean (x: T) = T.Mean x
    /// Mean along one axis, which is dropped.
    let meanDim (axis: int) (x: T) = T.Mean(x, axis)
    /// Mean over several axes, which are dropped.
    let meanDims (axes: int list) (x: T) = T.Mean(x, List.toArray axes)
    /// Mean along one axis, kept with size 1.
    let meanDimKeep (axis: int) (x: T) = T.Mean(x, axis, true)
    /// Mean over several axes, kept with size 1.
    let meanDimsKeep (axes: int list) (x: T) = T.Mean(x, List.toArray axes, true)
    /// Largest element; the gradient is shared among ties.
    let max (x: T) = T.Max x
    /// Largest values along one axis, which is dropped (values only; the index is `argmax`).
    let maxDim (axis: int) (x: T) = T.Max(x, axis)
    /// Largest values over several axes, which are dropped.
    let maxDims (axes: int list) (x: T) = T.Max(x, List.toArray axes)
    /// Largest values along one axis, kept with size 1.
    let maxDimKeep (axis: int) (x: T) = T.Max(x, axis, true)
    /// Largest values over several axes, kept with size 1.
    let maxDimsKeep (axes: int list) (x: T) = T.Max(x, List.toArray axes, true)
    /// Smallest element; the gradient is shared among ties.
    let min (x: T) = T.Min x
    /// Smallest values along one axis, which is dropped (values only; the index is `argmin`).
    let minDim (axis: int) (x: T) = T.Min(x, axis)
    /// Smallest values over several axes, which are dropped.
    let minDims (axes: int list) (x: T) = T.Min(x, List.toArray axes)
    /// Smallest values along one axis, kept with size 1.
    let minDimKeep (axis: int) (x: T) = T.Min(x, axis, true)
    /// Smallest values over several axes, kept with size 1.
    let minDimsKeep (axes: int list) (x: T) = T.Min(x, List.toArray axes, true)
    /// Unbiased variance (Bessel's correction, as torch.var) of all elements.
    let var (x: T) = T.Var(x, [||])
    /// Unbiased variance along one axis, which is dropped.
    let varDim (axis: int) (x: T) = T.Var(x, [| axis |])
    /// Unbiased variance over several axes, which are dropped.
    let varDims (axes: int list) (x: T) = T.Var(x, List.toArray axes)
    /// Unbiased variance along one axis, kept with size 1.
    let varDimKeep (axis: int) (x: T) = T.Var(x, [| axis |], keepDim = true)
    /// Unbiased variance over several axes, kept with size 1.
    let varDimsKeep (axes: int list) (x: T) = T.Var(x, List.toArray axes, keepDim = true)
    /// Unbiased standard deviation (as torch.std) of all elements.
    let std (x: T) = T.Std(x, [||])
    /// Unbiased standard deviation along one axis, which is dropped.
    let stdDim (axis: int) (x: T) = T.Std(x, [| axis |])
    /// Unbiased standard deviation over several axes, which are dropped.
    let stdDims (axes: int list) (x: T) = T.Std(x, List.toArray axes)
    /// Unbiased standard deviation along one axis, kept with size 1.
    let stdDimKeep (axis: int) (x: T) = T.Std(x, [| axis |], keepDim = true)
    /// Unbiased standard deviation over several axes, kept with size 1.
    let stdDimsKeep (axes: int list) (x: T) = T.Std(x, List.toArray axes, keepDim = true)
    /// log(sum(exp x)) of all elements, without overflow.
    let logsumexp (x: T) = T.LogSumExp x
    /// logsumexp along one axis, which is dropped.
    let logsumexpDim (axis: int) (x: T) = T.LogSumExp(x, axis)
    /// logsumexp over several axes, which are dropped.
    let logsumexpDims (axes: int list) (x: T) = T.LogSumExp(x, List.toArray axes)
    /// logsumexp along one axis, kept with size 1.
    let logsumexpDimKeep (axis: int) (x: T) = T.LogSumExp(x, axis, true)
    /// logsumexp over several axes, kept with size 1.
    let logsumexpDimsKeep (axes: int list) (x: T) = T.LogSumExp(x, List.toArray axes, true)
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
