(**
---
title: Tensors and broadcasting
category: Guides
categoryindex: 1
index: 1
---
*)
(*** hide ***)
#I "../src/AutoKl.FSharp/bin/Release/net10.0"
#r "AutoKl.dll"
#r "AutoKl.FSharp.dll"
(**
# Tensors and broadcasting

A `Tensor` is an n-dimensional array of float32, float64 or int64 values, stored
contiguously in row-major order. Float64 is the dtype for checking gradients, float32 the one
for speed and for matching PyTorch's defaults; both are first class. Int64 tensors hold
indices (class labels, `gather` positions).

Everything on this page comes from `open AutoKl`: the `Tensor` type (the C# API) and the
`Tensor` module of pipeable F# functions beside it.
*)
open AutoKl

(**
## Creating tensors

From F# lists and arrays (float64 unless the values are `float32`), from rows, or with the
usual constructors. Random tensors come from a seeded `Generator`, so a run is reproducible.
*)
let v = Tensor.ofList [ 1.0; 2.0; 3.0 ]
let m = Tensor.ofList2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ]
let grid = Tensor.linspace DType.Float32 -15.0 15.0 7
let noise = Tensor.randn (Generator 42) DType.Float64 [ 2; 3 ]

(*** include-value: m ***)
(*** include-value: grid ***)
(*** include-value: noise ***)

(**
Each creation function names its dtype: `ofList`, `ofArray`, `ofList2D`, `ofArray2D` and
`scalar` make float64; `ofList32`, `ofArray32`, `ofList2D32`, `ofArray2D32` and `scalar32`
make float32; `ofInts` makes int64 indices. For any shape and dtype, `ofArrayShape shape
values` (float64), `ofArray32Shape shape values` (float32) and `ofValues dtype shape values`
fill the shape in row-major order; `zeros`, `ones`, `full`, `linspace`, `arange`, `eye`,
`randn` and `rand` take the dtype first, and `zerosLike`, `onesLike`, `fullLike` copy
another tensor's shape and dtype.
*)
let cube32 = Tensor.ofArray32Shape [ 2; 2; 2 ] [| 1.0f .. 8.0f |]
let halves = Tensor.ofValues DType.Float32 [ 2; 2 ] [ 0.5; 1.5; 2.5; 3.5 ]
let zeros64 = Tensor.zeros DType.Float64 [ 2; 3 ]
(*** include-value: halves ***)

(**
The C# constructors are there too: `Tensor.FromArray(values, shape)`, `Tensor.Zeros(shape,
dtype)`, `Tensor.Ones`, `Tensor.Full`, `Tensor.Arange`, `Tensor.Eye`, `Tensor.RandN`,
`Tensor.Rand`. A tensor knows its shape and dtype, and `ToType` converts:
*)
let m32 = m |> Tensor.toType DType.Float32
printfn "shape %A, dtype %A -> %A" m.Shape m.DType m32.DType
(*** include-output ***)

(**
## Arithmetic: F#'s own operators and functions

`+ - * /`, `**`, unary minus and F#'s `log`, `exp`, `sqrt`, `abs`, `tanh`, ... work on
tensors directly, with numbers on either side. A number takes the tensor's dtype, so
`2.0 * x` stays float32 when `x` is float32 (as in PyTorch).
*)
let w = 2.0 * m32 ** 2.0 - m32 / 3 + 1
(*** include-value: w ***)

let z = log v + exp (-v) |> sqrt
(*** include-value: z ***)

(**
The F# functions that work on tensors this way are `abs`, `sqrt`, `exp`, `log`, `log10`,
`sin`, `cos`, `tan`, `sinh`, `cosh`, `tanh`, `asin`, `acos`, `atan`, `atan2 y x`, `floor`,
`ceil`, `round`, `truncate`, `x ** y` and `pown x n`, each with its gradient, in float32 and
float64. Three need the module instead: F#'s `sign` must return an `int` (use `Tensor.sign`),
F#'s `max` and `min` need comparison, which an elementwise operation is not (use
`Tensor.maximum` and `Tensor.minimum`), and `2.0 ** x` cannot compile because F# gives `**`
with a float base a float result (use `Tensor.powBase 2.0 x`). F# has no `log2`:
`Tensor.log2` is there.
*)
let angles = atan2 (Tensor.ofList [ 1.0; -1.0 ]) (Tensor.ofList [ 0.0; -1.0 ])
let hyperbolic = cosh v - sinh v        // = exp (-v)
let relu = v - 2.0 |> Tensor.maximum 0.0
let twoToThe = Tensor.powBase 2.0 v
(*** include-value: angles ***)
(*** include-value: relu ***)

(**
The module's binary functions take a number on either side, as the operators do:
`Tensor.maximum 0.0 x`, `Tensor.minimum x 1.0`, `Tensor.gt x 0.0`, `Tensor.where mask x 0.0`,
`Tensor.add 1.0 x`.

### Mixing float32 and float64

Mixed dtypes promote as in PyTorch, silently:

- a number (`2.0 * x`, `x + 1`, `Tensor.maximum 0.0 x`) takes the tensor's dtype, so
  float32 stays float32;
- a rank-0 tensor combined with a tensor of rank 1 or more takes the other's dtype too
  (`x32 + Tensor.scalar 1.0` is float32);
- otherwise float32 with float64 computes in float64 (two vectors, or two rank-0 tensors);
- a gradient always comes back in its input's dtype.

So a float64 vector that slips into a float32 loss makes the loss float64 without an error;
check `Tensor.dtype loss` (or `loss.DType`) when the speed of float32 matters.
*)
let x32 = Tensor.ofList32 [ 1.0f; 2.0f ]
printfn "%A %A %A" (x32 * 2.0).DType (x32 + Tensor.scalar 1.0).DType (x32 + Tensor.ofList [ 1.0; 2.0 ]).DType
(*** include-output ***)

(**
Every operation also has a pipeable form in the `Tensor` module, settings first and the
tensor last, so a computation reads left to right:
*)
let total = v |> Tensor.log |> Tensor.sum
(*** include-value: total ***)

(**
`float` reads a one-element tensor as a number: `float total` is `1.791759...`.

## Broadcasting

Binary operations follow NumPy and PyTorch broadcasting: shapes are aligned at the right,
and a dimension of size 1 (or a missing leading one) stretches to match the other side. A
column `[3, 1]` and a row `[1, 4]` give a `[3, 4]` table:
*)
let column = Tensor.ofList2D [ [ 0.0 ]; [ 10.0 ]; [ 20.0 ] ]
let row = Tensor.ofList2D [ [ 1.0; 2.0; 3.0; 4.0 ] ]
let table = column + row
(*** include-value: table ***)

(**
Subtracting the mean of each row, with `keepDim` so the mean stays a `[2, 1]` column that
broadcasts back over the rows:
*)
let centred = m - (m |> Tensor.meanDimKeep 1)
(*** include-value: centred ***)

(**
The gradient of a broadcast operation is summed back to each input's own shape, so
broadcasting never needs special care in a loss. Shapes that do not broadcast are an error
whose message names the operation and both shapes:
*)
let message =
    try
        Tensor.ofList [ 1.0; 2.0; 3.0 ] + Tensor.ofList [ 1.0; 2.0 ] |> ignore
        "no error"
    with :? AutoKlException as e -> e.Message
(*** include-value: message ***)

(**
## Reductions

`sum`, `mean`, `max`, `min`, `var`, `std` and `logsumexp` each come in the same five forms:
over all elements (`Tensor.mean x`), along one axis (`meanDim axis x`) or several
(`meanDims axes x`) dropping them, and the same keeping them with size 1 (`meanDimKeep axis
x`, `meanDimsKeep axes x`, PyTorch's `keepdim=True`). `var` and `std` are unbiased, as
`torch.var` and `torch.std`. Negative axes count from the end.
*)
let rowSums = m |> Tensor.sumDim 1
let colMax = m |> Tensor.maxDim 0
let everything = m |> Tensor.mean
(*** include-value: rowSums ***)
(*** include-value: colMax ***)
(*** include-value: everything ***)

(**
`softmax`, `logSoftmax` and `logsumexp` shift each row by its own maximum, so rows of very
different size in one tensor are all exact — here a row around 10,000 in float32 next to a
row near 0, where a naive `log (sum (exp x))` would overflow to infinity:
*)
let logits =
    Tensor.ofList2D [ [ 10000.0; 10001.0; 10002.0 ]; [ 0.0; 1.0; 2.0 ] ]
    |> Tensor.toType DType.Float32

let p = logits |> Tensor.softmax 1
let lse = logits |> Tensor.logsumexpDim 1
let naive = logits |> Tensor.exp |> Tensor.sumDim 1 |> Tensor.log
(*** include-value: p ***)
(*** include-value: lse ***)
(*** include-value: naive ***)

(**
## Shapes

`reshape` (one dimension may be `-1`), `transpose`, `permute`, `expand`, `squeeze` and
`unsqueeze`, `concat` and `stack`, and slicing. F# slices are inclusive, as everywhere in F#.
*)
let r = Tensor.ofList [ 0.0 .. 5.0 ] |> Tensor.reshape [ 2; -1 ]
let rt = r |> Tensor.transpose
let firstColumn = r.[*, 0..0]
let stacked = Tensor.stack 0 [ v; v * 10.0 ]
(*** include-value: r ***)
(*** include-value: rt ***)
(*** include-value: firstColumn ***)
(*** include-value: stacked ***)

(**
Matrix products are `Tensor.matmul` (2-D and batched), and `Tensor.gather` picks values by
int64 index along an axis — the building block of losses over class labels:
*)
let labels = Tensor.ofInts [ 2; 0 ] |> Tensor.reshape [ 2; 1 ]
let picked = m |> Tensor.gather 1 labels
(*** include-value: picked ***)

(**
## Threads

Kernels split large tensors (tens of thousands of elements and up) across cores; small ones
stay on the calling thread, where handing work over would cost more than it saves.
`Parallelism.MaxThreads` caps the number of threads, like PyTorch's `torch.set_num_threads`,
and defaults to the number of cores. Every output element is computed by one thread in the
same order whatever the split, so the results are the same bits with one thread or many:
*)
let big = Tensor.randn (Generator 7) DType.Float32 [ 512; 1024 ]
let withThreads n =
    let before = Parallelism.MaxThreads
    Parallelism.MaxThreads <- n
    try big |> Tensor.logSoftmax 1 |> Tensor.sum |> float
    finally Parallelism.MaxThreads <- before
let oneThread, fourThreads = withThreads 1, withThreads 4
let identical = (oneThread = fourThreads)
(*** include-value: identical ***)

(**
Next: [Gradients](gradients.html).
*)
