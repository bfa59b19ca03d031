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
    // The C# type, for calls inside this module (where `Tensor.` names the module). Parameters are
    // annotated `Tensor` (the type) so the API reference shows and links the real type.
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
    let zerosLike (x: Tensor) = T.ZerosLike x
    /// Ones shaped like x, of x's dtype.
    let onesLike (x: Tensor) = T.OnesLike x
    /// Every element equal to value, shaped like x, of x's dtype.
    let fullLike (value: float) (x: Tensor) = T.FullLike(x, value)

    // ---- reading --------------------------------------------------------------------------
    /// The shape as an array.
    let shape (x: Tensor) = x.Shape
    /// The value of a one-element tensor.
    let toFloat (x: Tensor) = x.ToScalar()
    /// The values as a float array.
    let toArray (x: Tensor) = x.ToDoubleArray()
    /// The values as a float32 array.
    let toArray32 (x: Tensor) = x.ToSingleArray()
    /// The values converted to another dtype.
    let toType (dtype: DType) (x: Tensor) = T.ToType(x, dtype)
    /// The element type.
    let dtype (x: Tensor) = x.DType

    // ---- elementwise ----------------------------------------------------------------------
    /// -x, elementwise (the same as the unary minus operator).
    let neg (x: Tensor) = T.Neg x
    /// e raised to each element; the gradient is the result itself.
    let exp (x: Tensor) = T.Exp x
    /// Natural logarithm of each element: -infinity at 0 and NaN below 0, as in PyTorch.
    let log (x: Tensor) = T.Log x
    /// log(1 + x), accurate for x near 0 where `log (1.0 + x)` loses digits.
    let log1p (x: Tensor) = T.Log1p x
    /// exp(x) - 1, accurate for x near 0 where `exp x - 1.0` loses digits.
    let expm1 (x: Tensor) = T.Expm1 x
    /// Square root of each element; the gradient 1/(2 sqrt x) is infinite at 0.
    let sqrt (x: Tensor) = T.Sqrt x
    /// Absolute value of each element; the gradient at 0 is 0 (as PyTorch).
    let abs (x: Tensor) = T.Abs x
    /// The logistic function 1 / (1 + e^-x), computed without overflow for large |x|.
    let sigmoid (x: Tensor) = T.Sigmoid x
    /// Hyperbolic tangent; the gradient is 1 - tanh(x)^2.
    let tanh (x: Tensor) = T.Tanh x
    /// max(x, 0) elementwise; the gradient at 0 is 0.
    let relu (x: Tensor) = T.Relu x
    /// log(1 + e^x) without overflow (PyTorch's softplus with beta 1 and threshold 20): a smooth `relu`.
    let softplus (x: Tensor) = T.Softplus(x)
    /// Sine of each element (radians).
    let sin (x: Tensor) = T.Sin x
    /// Cosine of each element (radians).
    let cos (x: Tensor) = T.Cos x
    /// Tangent of each element (radians).
    let tan (x: Tensor) = T.Tan x
    /// Hyperbolic cosine (also F#'s `cosh x`).
    let cosh (x: Tensor) = T.Cosh x
    /// Hyperbolic sine (also F#'s `sinh x`).
    let sinh (x: Tensor) = T.Sinh x
    /// Arcsine (also F#'s `asin x`).
    let asin (x: Tensor) = T.Asin x
    /// Arccosine (also F#'s `acos x`).
    let acos (x: Tensor) = T.Acos x
    /// Arctangent (also F#'s `atan x`).
    let atan (x: Tensor) = T.Atan x
    /// Base-10 logarithm (also F#'s `log10 x`).
    let log10 (x: Tensor) = T.Log10 x
    /// Base-2 logarithm.
    let log2 (x: Tensor) = T.Log2 x
    /// Rounds toward zero (also F#'s `truncate x`).
    let truncate (x: Tensor) = T.Truncate x
    /// The error function; its gradient is 2/sqrt(pi) e^(-x^2).
    let erf (x: Tensor) = T.Erf x
    /// log |Gamma(x)|; its gradient is the digamma function.
    let lgamma (x: Tensor) = T.Lgamma x
    /// The digamma function (the derivative of lgamma), differentiable once more through trigamma.
    let digamma (x: Tensor) = T.Digamma x
    /// x * x elementwise, with one saved input instead of the two of `mul x x`.
    let square (x: Tensor) = T.Square x
    /// -1, 0 or 1 by the sign of each element, as a tensor of x's dtype; gradient 0. (F#'s own `sign` returns an int, so this one has a module name.)
    let sign (x: Tensor) = T.Sign x
    /// The largest integer not greater than each element; gradient 0.
    let floor (x: Tensor) = T.Floor x
    /// The smallest integer not less than each element; gradient 0.
    let ceil (x: Tensor) = T.Ceiling x
    /// The nearest integer, halves to even (as PyTorch); gradient 0.
    let round (x: Tensor) = T.Round x
    /// Clamp into [lo, hi].
    let clamp (lo: float) (hi: float) (x: Tensor) = T.Clamp(x, lo, hi)
    /// x raised to a constant power: `x |> Tensor.pow 2.0`.
    let pow (exponent: float) (x: Tensor) = T.Pow(x, exponent)

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
    let powt (a: Tensor) (b: Tensor) = T.Pow(a, b)
    /// Elementwise maximum: `Tensor.maximum 0.0 x` (F#'s `max x y` needs comparison, which tensors do not have).
    let inline maximum (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Maximum: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// Elementwise minimum: `Tensor.minimum x 1.0`.
    let inline minimum (a: ^A) (b: ^B) : AutoKl.Tensor = ((^A or ^B): (static member Minimum: ^A * ^B -> AutoKl.Tensor) (a, b))
    /// The angle of the point (x, y) elementwise (also F#'s `atan2 y x` on two tensors).
    let atan2 (y: Tensor) (x: Tensor) = T.Atan2(y, x)
    /// a * log b, exactly 0 wherever a is 0 (even where b is 0), with finite gradients there: the term of KL divergence and entropy.
    let xlogy (a: Tensor) (b: Tensor) = T.Xlogy(a, b)
    /// Matrix product with PyTorch's rules: a vector operand acts as a row (left) or column (right), and leading batch dimensions broadcast.
    let matmul (a: Tensor) (b: Tensor) = T.MatMul(a, b)
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
    let isFinite (x: Tensor) = T.IsFinite x
    /// 1 / x.
    let reciprocal (x: Tensor) = T.Reciprocal x
    /// A constant base raised to x: `Tensor.powBase 2.0 x` (what `2.0 ** x` would mean; F# cannot compile that).
    let powBase (baseValue: float) (x: Tensor) = T.Pow(baseValue, x)

    // ---- reductions: name x (all), nameDim axis x, nameDims axes x, nameDimKeep axis x, nameDimsKeep axes x
    /// Sum of all elements.
    let sum (x: Tensor) = T.Sum x
    /// Sum along one axis, which is dropped.
    let sumDim (axis: int) (x: Tensor) = T.Sum(x, axis)
    /// Sum over several axes, which are dropped.
    let sumDims (axes: int list) (x: Tensor) = T.Sum(x, List.toArray axes)
    /// Sum along one axis, kept with size 1.
    let sumDimKeep (axis: int) (x: Tensor) = T.Sum(x, axis, true)
    /// Sum over several axes, kept with size 1.
    let sumDimsKeep (axes: int list) (x: Tensor) = T.Sum(x, List.toArray axes, true)
    /// Mean of all elements.
    let mean (x: Tensor) = T.Mean x
    /// Mean along one axis, which is dropped.
    let meanDim (axis: int) (x: Tensor) = T.Mean(x, axis)
    /// Mean over several axes, which are dropped.
    let meanDims (axes: int list) (x: Tensor) = T.Mean(x, List.toArray axes)
    /// Mean along one axis, kept with size 1.
    let meanDimKeep (axis: int) (x: Tensor) = T.Mean(x, axis, true)
    /// Mean over several axes, kept with size 1.
    let meanDimsKeep (axes: int list) (x: Tensor) = T.Mean(x, List.toArray axes, true)
    /// Largest element; the gradient is shared among ties.
    let max (x: Tensor) = T.Max x
    /// Largest values along one axis, which is dropped (values only; the index is `argmax`).
    let maxDim (axis: int) (x: Tensor) = T.Max(x, axis)
    /// Largest values over several axes, which are dropped.
    let maxDims (axes: int list) (x: Tensor) = T.Max(x, List.toArray axes)
    /// Largest values along one axis, kept with size 1.
    let maxDimKeep (axis: int) (x: Tensor) = T.Max(x, axis, true)
    /// Largest values over several axes, kept with size 1.
    let maxDimsKeep (axes: int list) (x: Tensor) = T.Max(x, List.toArray axes, true)
    /// Smallest element; the gradient is shared among ties.
    let min (x: Tensor) = T.Min x
    /// Smallest values along one axis, which is dropped (values only; the index is `argmin`).
    let minDim (axis: int) (x: Tensor) = T.Min(x, axis)
    /// Smallest values over several axes, which are dropped.
    let minDims (axes: int list) (x: Tensor) = T.Min(x, List.toArray axes)
    /// Smallest values along one axis, kept with size 1.
    let minDimKeep (axis: int) (x: Tensor) = T.Min(x, axis, true)
    /// Smallest values over several axes, kept with size 1.
    let minDimsKeep (axes: int list) (x: Tensor) = T.Min(x, List.toArray axes, true)
    /// Unbiased variance (Bessel's correction, as torch.var) of all elements.
    let var (x: Tensor) = T.Var(x, [||])
    /// Unbiased variance along one axis, which is dropped.
    let varDim (axis: int) (x: Tensor) = T.Var(x, [| axis |])
    /// Unbiased variance over several axes, which are dropped.
    let varDims (axes: int list) (x: Tensor) = T.Var(x, List.toArray axes)
    /// Unbiased variance along one axis, kept with size 1.
    let varDimKeep (axis: int) (x: Tensor) = T.Var(x, [| axis |], keepDim = true)
    /// Unbiased variance over several axes, kept with size 1.
    let varDimsKeep (axes: int list) (x: Tensor) = T.Var(x, List.toArray axes, keepDim = true)
    /// Unbiased standard deviation (as torch.std) of all elements.
    let std (x: Tensor) = T.Std(x, [||])
    /// Unbiased standard deviation along one axis, which is dropped.
    let stdDim (axis: int) (x: Tensor) = T.Std(x, [| axis |])
    /// Unbiased standard deviation over several axes, which are dropped.
    let stdDims (axes: int list) (x: Tensor) = T.Std(x, List.toArray axes)
    /// Unbiased standard deviation along one axis, kept with size 1.
    let stdDimKeep (axis: int) (x: Tensor) = T.Std(x, [| axis |], keepDim = true)
    /// Unbiased standard deviation over several axes, kept with size 1.
    let stdDimsKeep (axes: int list) (x: Tensor) = T.Std(x, List.toArray axes, keepDim = true)
    /// log(sum(exp x)) of all elements, without overflow.
    let logsumexp (x: Tensor) = T.LogSumExp x
    /// logsumexp along one axis, which is dropped.
    let logsumexpDim (axis: int) (x: Tensor) = T.LogSumExp(x, axis)
    /// logsumexp over several axes, which are dropped.
    let logsumexpDims (axes: int list) (x: Tensor) = T.LogSumExp(x, List.toArray axes)
    /// logsumexp along one axis, kept with size 1.
    let logsumexpDimKeep (axis: int) (x: Tensor) = T.LogSumExp(x, axis, true)
    /// logsumexp over several axes, kept with size 1.
    let logsumexpDimsKeep (axes: int list) (x: Tensor) = T.LogSumExp(x, List.toArray axes, true)
    /// Position of the largest value along an axis (the first among ties), as an int64 tensor.
    let argmax (axis: int) (x: Tensor) = T.ArgMax(x, axis)
    /// Position of the smallest value along an axis (the first among ties), as an int64 tensor.
    let argmin (axis: int) (x: Tensor) = T.ArgMin(x, axis)
    /// exp x / sum(exp x) along an axis, shifted by that axis's maximum: each slice sums to 1.
    let softmax (axis: int) (x: Tensor) = T.Softmax(x, axis)
    /// x - logsumexp x along an axis: the log of `softmax`, without computing softmax and taking its log (which underflows).
    let logSoftmax (axis: int) (x: Tensor) = T.LogSoftmax(x, axis)
    /// Running sum along an axis.
    let cumsum (axis: int) (x: Tensor) = T.CumSum(x, axis)

    // ---- shape ----------------------------------------------------------------------------
    /// The same elements in a new shape (one dimension may be -1, inferred); the element count must match.
    let reshape (shape: int list) (x: Tensor) = T.Reshape(x, List.toArray shape)
    /// Reorders the dimensions: dimension i of the result is dimension dims[i] of x.
    let permute (dims: int list) (x: Tensor) = T.Permute(x, List.toArray dims)
    /// Matrix transpose (swaps the last two dimensions).
    let transpose (x: Tensor) = T.Transpose(x)
    /// Swaps two dimensions.
    let transposeDims (dim0: int) (dim1: int) (x: Tensor) = T.Transpose(x, dim0, dim1)
    /// Stretches dimensions of size 1 (and adds leading ones) to the shape; -1 keeps a dimension. The gradient sums back over the stretched dimensions.
    let expand (shape: int list) (x: Tensor) = T.Expand(x, List.toArray shape)
    /// Removes every dimension of size 1.
    let squeeze (x: Tensor) = T.Squeeze x
    /// Removes one dimension if its size is 1 (otherwise returns x unchanged, as PyTorch).
    let squeezeDim (axis: int) (x: Tensor) = T.Squeeze(x, axis)
    /// Inserts a dimension of size 1 at the axis (negative counts from the end of the result).
    let unsqueeze (axis: int) (x: Tensor) = T.Unsqueeze(x, axis)
    /// The elements as a vector, in row-major order.
    let flatten (x: Tensor) = T.Flatten(x)
    /// Elements start up to (excluding) stop along the axis; bounds are clipped to the dimension, as Python slices.
    let slice (axis: int) (start: int) (stop: int) (x: Tensor) = T.Slice(x, axis, start, stop)
    /// Every step-th element from start up to (excluding) stop along the axis.
    let sliceStep (axis: int) (start: int) (stop: int) (step: int) (x: Tensor) = T.Slice(x, axis, start, stop, step)
    /// length elements from start along the axis; unlike `slice`, bounds outside the dimension are an error.
    let narrow (axis: int) (start: int) (length: int) (x: Tensor) = T.Narrow(x, axis, start, length)
    /// The sub-tensor at an index along an axis, with that axis removed (x.[i] along any axis).
    let select (axis: int) (index: int) (x: Tensor) = T.Select(x, axis, index)
    /// Picks along an axis by an int64 index tensor of x's rank (PyTorch's gather): result[.., i, ..] = x[.., index[.., i, ..], ..].
    let gather (axis: int) (index: Tensor) (x: Tensor) = T.Gather(x, axis, index)
    /// x with source added at the positions index names along the axis.
    let scatterAdd (axis: int) (index: Tensor) (source: Tensor) (x: Tensor) = T.ScatterAdd(x, axis, index, source)
    /// Joins tensors along an existing axis; every other dimension must agree.
    let concat (axis: int) (xs: Tensor seq) = T.Concat(xs, axis)
    /// Joins tensors of one shape along a new axis.
    let stack (axis: int) (xs: Tensor seq) = T.Stack(xs, axis)

    // ---- autograd -------------------------------------------------------------------------
    /// The same values cut off from the tape: no gradient flows back through the result.
    let detach (x: Tensor) = x.Detach()
    /// Marks a leaf as requiring gradients and returns it.
    let requiresGrad (x: Tensor) = x.RequiresGrad_()
    /// The accumulated gradient of a leaf.
    let grad (x: Tensor) = x.Grad

    // ---- scopes ---------------------------------------------------------------------------
    /// <summary>Opens a TensorScope on this thread: the tensors made until it is disposed are released
    /// when it is (their storage is reused by the next step; reading one afterwards throws), except
    /// those kept with <c>Tensor.keep</c>. Parameters, gradients and optimizer state are never released.
    /// Use it around a training step or any computation whose intermediates are not needed afterwards.</summary>
    /// <example><code>
    /// for _ in 1 .. 1000 do
    ///     use _ = Tensor.scope ()
    ///     adam.ZeroGrad()
    ///     let loss = Normal(mu, sigma).LogProb x |> Losses.klDiv Reduction.Mean p
    ///     loss.Backward()
    ///     adam.Step()
    /// </code></example>
    let scope () : TensorScope = T.Scope()
    /// <summary>Keeps a tensor (and every view of its storage) beyond the scope that owns it: it moves to
    /// the enclosing open scope, or to none; returns it, for piping. Throws if it was already released.</summary>
    /// <example><code>
    /// let probs =
    ///     use _ = Tensor.scope ()
    ///     Tensor.softmax 1 logits |> Tensor.keep
    /// </code></example>
    let keep (x: Tensor) = x.Keep()

/// F# slicing on tensors: `x.[1..3]` and `m.[0..1, 2..]` (bounds inclusive, as F# slices are).
[<AutoOpen>]
module TensorSlicing =
    let private bounds (size: int) (start: int option) (finish: int option) =
        let s = defaultArg start 0
        let e = defaultArg finish (size - 1)
        s, e + 1

    type AutoKl.Tensor with
        /// x.[a..b]: rows a to b (inclusive, as F# slices are) along the first axis; recorded like Slice.
        member x.GetSlice(start: int option, finish: int option) =
            let s, e = bounds (x.Size 0) start finish
            AutoKl.Tensor.Slice(x, 0, s, e)

        /// x.[a..b, c..d]: a block of a matrix (inclusive bounds); recorded like Slice.
        member x.GetSlice(start0: int option, finish0: int option, start1: int option, finish1: int option) =
            let s0, e0 = bounds (x.Size 0) start0 finish0
            let s1, e1 = bounds (x.Size 1) start1 finish1
            AutoKl.Tensor.Slice(AutoKl.Tensor.Slice(x, 0, s0, e0), 1, s1, e1)

        /// x.[i, a..b]: part of row i (the first axis is dropped); recorded like Select then Slice.
        member x.GetSlice(index0: int, start1: int option, finish1: int option) =
            let s1, e1 = bounds (x.Size 1) start1 finish1
            AutoKl.Tensor.Slice(AutoKl.Tensor.Select(x, 0, index0), 0, s1, e1)

        /// x.[a..b, j]: part of column j (the second axis is dropped); recorded like Slice then Select.
        member x.GetSlice(start0: int option, finish0: int option, index1: int) =
            let s0, e0 = bounds (x.Size 0) start0 finish0
            AutoKl.Tensor.Select(AutoKl.Tensor.Slice(x, 0, s0, e0), 1, index1)
