/// Every op's forward rule (JVP), found through docs/rules.md, checked against central differences and against its reverse rule.
module AutoKl.Tests.Autograd.ForwardRuleTests

open System
open System.Collections.Generic
open Expecto
open AutoKl
open AutoKl.Distributions
open AutoKl.Testing
open AutoKl.Tests.Engine

/// One invocation of an op on float64 inputs away from its kinks and the edges of its domain.
type private Case =
    { Label: string
      Inputs: Tensor[]
      F: Tensor[] -> Tensor
      Options: GradCheckOptions }

// Much tighter than the kit's PyTorch defaults (atol 1e-5, rtol 1e-3): the inputs are small and
// moderate, so central differences with eps 1e-6 are good to ~1e-9. NondetTol: parallel kernels
// may sum in another order between two runs.
let private tight () = GradCheckOptions(Atol = 1e-7, Rtol = 1e-6, NondetTol = 1e-12)

let private case label inputs f = { Label = label; Inputs = inputs; F = f; Options = tight () }

let private shaped (shape: int list) (values: float[]) =
    let t = Tensor.FromArray(values, Array.ofList shape)
    if shape.IsEmpty then t.Reshape([||]) else t

let private count (shape: int list) = List.fold (*) 1 shape

/// Uniform values in [lo, hi].
let private uniform (lo: float) (hi: float) (shape: int list) (seed: int) =
    let g = Generator(seed)
    shaped shape (Array.init (count shape) (fun _ -> lo + (hi - lo) * g.NextUniform()))

/// Magnitudes in [lo, hi] with random signs: away from 0 (the kink of abs, relu, sign).
let private away (lo: float) (hi: float) (shape: int list) (seed: int) =
    let g = Generator(seed)
    shaped shape (Array.init (count shape) (fun _ -> (if g.NextUniform() < 0.5 then -1.0 else 1.0) * (lo + (hi - lo) * g.NextUniform())))

/// k + f with f in [0.15, 0.35] or [0.65, 0.85]: away from the integers and the halves (floor, round...).
let private offGrid (shape: int list) (seed: int) =
    let g = Generator(seed)
    shaped shape (Array.init (count shape) (fun _ ->
        let k = floor (g.NextUniform() * 6.0) - 3.0
        let f = 0.15 + 0.2 * g.NextUniform()
        k + (if g.NextUniform() < 0.5 then f else f + 0.5)))

let private ints (shape: int list) (values: int list) = Tensor.FromArray(Array.ofList values |> Array.map int64, Array.ofList shape)

/// The gradient of a scalar function, as a function: jvp of it is forward over reverse, which
/// runs the forward rules of the backward ops that its backward pass records.
let private gradOf (f: Tensor -> Tensor) (x: Tensor) = Autograd.Grad(Func<Tensor, Tensor>(f), x)

let private unary name (f: Tensor -> Tensor) lo hi =
    name, [ case (sprintf "%s on [2, 3]" name) [| uniform lo hi [ 2; 3 ] 11 |] (fun xs -> f xs.[0])
            case (sprintf "%s on a scalar" name) [| uniform lo hi [] 12 |] (fun xs -> f xs.[0]) ]

let private binaryCases name (f: Tensor -> Tensor -> Tensor) (a: int -> int list -> Tensor) (b: int -> int list -> Tensor) =
    [ case (sprintf "%s, same shapes" name) [| a 21 [ 2; 3 ]; b 22 [ 2; 3 ] |] (fun xs -> f xs.[0] xs.[1])
      case (sprintf "%s, broadcasting [2, 3] with [3]" name) [| a 23 [ 2; 3 ]; b 24 [ 3 ] |] (fun xs -> f xs.[0] xs.[1])
      case (sprintf "%s, broadcasting [2, 1] with [1, 3]" name) [| a 25 [ 2; 1 ]; b 26 [ 1; 3 ] |] (fun xs -> f xs.[0] xs.[1])
      case (sprintf "%s, a rank-0 operand" name) [| a 27 [ 2; 3 ]; b 28 [] |] (fun xs -> f xs.[0] xs.[1]) ]

let private u lo hi seed shape = uniform lo hi shape seed

/// op name -> invocations whose forward rule is checked. Every op of docs/rules.md that has a JVP
/// formula there needs an entry; each invocation must record the op (checked on the tape).
let private forwardCases : (string * Case list) list =
    [ "add", binaryCases "add" (fun a b -> a + b) (u -2.0 2.0) (u -2.0 2.0) @ [ case "add a number" [| uniform -2.0 2.0 [ 3 ] 1 |] (fun xs -> xs.[0] + 1.5) ]
      "sub", binaryCases "sub" (fun a b -> a - b) (u -2.0 2.0) (u -2.0 2.0) @ [ case "a number minus x" [| uniform -2.0 2.0 [ 3 ] 2 |] (fun xs -> 1.5 - xs.[0]) ]
      "mul", binaryCases "mul" (fun a b -> a * b) (u -2.0 2.0) (u -2.0 2.0) @ [ case "x * x" [| uniform -2.0 2.0 [ 3 ] 3 |] (fun xs -> xs.[0] * xs.[0]) ]
      "div", binaryCases "div" (fun a b -> a / b) (u -2.0 2.0) (fun s sh -> away 0.5 2.0 sh s) @ [ case "a number over x" [| away 0.5 2.0 [ 3 ] 4 |] (fun xs -> 2.0 / xs.[0]) ]
      "neg", [ case "neg" [| uniform -2.0 2.0 [ 2; 3 ] 5 |] (fun xs -> -xs.[0]) ]
      "pow",
      binaryCases "pow" (fun a b -> Tensor.Pow(a, b)) (u 0.5 2.0) (u -1.5 2.5)
      @ [ for c in [ 2.0; 0.5; 3.0; -1.5; 1.0; 0.0 ] do
              yield case (sprintf "x ** %g" c) [| uniform 0.5 2.0 [ 2; 3 ] 6 |] (fun xs -> Tensor.Pow(xs.[0], c))
          yield case "2.5 ** x" [| uniform -1.5 1.5 [ 2; 3 ] 7 |] (fun xs -> Tensor.Pow(2.5, xs.[0])) ]
      "atan2", binaryCases "atan2" (fun y x -> Tensor.Atan2(y, x)) (fun s sh -> away 0.3 2.0 sh s) (fun s sh -> away 0.3 2.0 sh s)
      "maximum",
      [ let a = uniform -2.0 2.0 [ 2; 3 ] 8
        // b differs from a by at least 0.2 at every element: no tie within eps
        let b = a + away 0.2 1.0 [ 2; 3 ] 9
        case "maximum" [| a; b |] (fun xs -> Tensor.Maximum(xs.[0], xs.[1]))
        case "maximum with a number" [| away 0.2 2.0 [ 2; 3 ] 10 |] (fun xs -> Tensor.Maximum(xs.[0], 0.0)) ]
      "minimum",
      [ let a = uniform -2.0 2.0 [ 2; 3 ] 13
        let b = a + away 0.2 1.0 [ 2; 3 ] 14
        case "minimum" [| a; b |] (fun xs -> Tensor.Minimum(xs.[0], xs.[1]))
        case "minimum with a rank-0, broadcast" [| away 0.3 2.0 [ 2; 3 ] 15; Tensor.scalar 0.05 |] (fun xs -> Tensor.Minimum(xs.[0], xs.[1])) ]
      // x == 0 takes the derivative 0 by convention (a kink the finite differences do not see): x is kept away from 0.
      "xlogy", binaryCases "xlogy" (fun x y -> Tensor.Xlogy(x, y)) (fun s sh -> away 0.2 2.0 sh s) (u 0.5 3.0)
      unary "exp" Tensor.exp -2.0 2.0
      unary "log" Tensor.log 0.5 3.0
      unary "log1p" Tensor.log1p -0.5 2.0
      unary "expm1" Tensor.expm1 -2.0 2.0
      unary "log10" Tensor.log10 0.5 3.0
      unary "log2" Tensor.log2 0.5 3.0
      unary "sqrt" Tensor.sqrt 0.5 3.0
      "abs", [ case "abs" [| away 0.2 2.0 [ 2; 3 ] 16 |] (fun xs -> Tensor.Abs xs.[0]) ]
      unary "sigmoid" Tensor.sigmoid -3.0 3.0
      unary "tanh" Tensor.tanh -2.0 2.0
      unary "sin" Tensor.sin -3.0 3.0
      unary "cos" Tensor.cos -3.0 3.0
      unary "tan" Tensor.tan -1.2 1.2
      unary "sinh" Tensor.sinh -2.0 2.0
      unary "cosh" Tensor.cosh -2.0 2.0
      unary "asin" Tensor.asin -0.8 0.8
      unary "acos" Tensor.acos -0.8 0.8
      unary "atan" Tensor.atan -2.0 2.0
      "relu", [ case "relu" [| away 0.2 2.0 [ 2; 3 ] 17 |] (fun xs -> Tensor.Relu xs.[0]) ]
      "softplus",
      [ case "softplus" [| uniform -4.0 4.0 [ 2; 3 ] 18 |] (fun xs -> Tensor.Softplus xs.[0])
        // beta 2, threshold 1: elements on both sides of beta x = 1
        case "softplus, beta 2, threshold 1" [| Tensor.ofList [ -1.5; 0.1; 0.3; 0.7; 1.2; 2.0 ] |] (fun xs -> Tensor.Softplus(xs.[0], 2.0, 1.0)) ]
      "clamp",
      [ case "clamp to [-1, 1]" [| Tensor.ofList [ -2.0; -0.5; 0.3; 0.9; 1.7; -1.4 ] |] (fun xs -> Tensor.Clamp(xs.[0], -1.0, 1.0))
        case "clamp below 0" [| away 0.2 2.0 [ 2; 3 ] 19 |] (fun xs -> Tensor.Clamp(xs.[0], min = 0.0)) ]
      unary "erf" Tensor.erf -2.0 2.0
      unary "lgamma" Tensor.lgamma 0.5 4.0
      unary "digamma" Tensor.digamma 0.5 4.0
      "floor", [ case "floor" [| offGrid [ 2; 3 ] 31 |] (fun xs -> Tensor.Floor xs.[0] * xs.[0]) ]
      "ceil", [ case "ceil" [| offGrid [ 2; 3 ] 32 |] (fun xs -> Tensor.Ceiling xs.[0] * xs.[0]) ]
      "trunc", [ case "trunc" [| offGrid [ 2; 3 ] 33 |] (fun xs -> Tensor.Truncate xs.[0] * xs.[0]) ]
      "round", [ case "round" [| offGrid [ 2; 3 ] 34 |] (fun xs -> Tensor.Round xs.[0] * xs.[0]) ]
      "sign", [ case "sign" [| away 0.2 2.0 [ 2; 3 ] 35 |] (fun xs -> Tensor.Sign xs.[0] * xs.[0]) ]
      "where",
      [ let c = Tensor.ofList2D [ [ 1.0; 0.0; 1.0 ]; [ 0.0; 0.0; 1.0 ] ]
        case "where" [| uniform -2.0 2.0 [ 2; 3 ] 36; uniform -2.0 2.0 [ 2; 3 ] 37 |] (fun xs -> Tensor.Where(c, xs.[0], xs.[1]))
        case "where, broadcasting [3] and a number" [| uniform -2.0 2.0 [ 3 ] 38 |] (fun xs -> Tensor.Where(c, xs.[0], 0.5))
        case "where, the condition broadcast" [| uniform -2.0 2.0 [ 2; 3 ] 39; uniform -2.0 2.0 [ 2; 3 ] 40 |]
            (fun xs -> Tensor.Where(Tensor.ofList [ 1.0; 0.0; 1.0 ], xs.[0], xs.[1])) ]
      "sum",
      [ case "sum of all" [| uniform -2.0 2.0 [ 2; 3 ] 41 |] (fun xs -> Tensor.Sum xs.[0])
        case "sum over axis 1" [| uniform -2.0 2.0 [ 2; 3 ] 42 |] (fun xs -> Tensor.Sum(xs.[0], 1))
        case "sum over axis 0, keepDim" [| uniform -2.0 2.0 [ 2; 3 ] 43 |] (fun xs -> Tensor.Sum(xs.[0], 0, keepDim = true))
        case "sum over axes 0 and 2 of a rank-3" [| uniform -2.0 2.0 [ 2; 3; 2 ] 44 |] (fun xs -> Tensor.Sum(xs.[0], [| 0; 2 |])) ]
      "max",
      [ case "max of all" [| uniform -2.0 2.0 [ 2; 3 ] 45 |] (fun xs -> Tensor.Max xs.[0])
        case "max over axis 1, keepDim" [| uniform -2.0 2.0 [ 3; 4 ] 46 |] (fun xs -> Tensor.Max(xs.[0], 1, keepDim = true)) ]
      "min",
      [ case "min of all" [| uniform -2.0 2.0 [ 2; 3 ] 47 |] (fun xs -> Tensor.Min xs.[0])
        case "min over axis 0" [| uniform -2.0 2.0 [ 3; 4 ] 48 |] (fun xs -> Tensor.Min(xs.[0], 0)) ]
      "logsumexp",
      [ case "logsumexp of all" [| uniform -2.0 2.0 [ 2; 3 ] 49 |] (fun xs -> Tensor.LogSumExp xs.[0])
        case "logsumexp over axis 1" [| uniform -2.0 2.0 [ 3; 4 ] 50 |] (fun xs -> Tensor.LogSumExp(xs.[0], 1))
        case "logsumexp over axis 0, keepDim" [| uniform -2.0 2.0 [ 3; 4 ] 51 |] (fun xs -> Tensor.LogSumExp(xs.[0], 0, keepDim = true)) ]
      "softmax",
      [ case "softmax over axis 1" [| uniform -2.0 2.0 [ 3; 4 ] 52 |] (fun xs -> Tensor.Softmax(xs.[0], 1))
        case "softmax over axis 0" [| uniform -2.0 2.0 [ 3; 4 ] 53 |] (fun xs -> Tensor.Softmax(xs.[0], 0)) ]
      // The backward ops are reached by the JVP of a gradient (forward over reverse). Weighting the
      // output by x makes the incoming gradient g depend on x, so both of their tangents are set;
      // a constant weight leaves g without a tangent.
      "softmax_backward",
      [ case "the gradient of sum(softmax(x) * x)" [| uniform -2.0 2.0 [ 3; 4 ] 54 |]
            (fun xs -> gradOf (fun x -> Tensor.Sum(Tensor.Softmax(x, 1) * x)) xs.[0])
        case "the gradient of sum(softmax(x) * c)" [| uniform -2.0 2.0 [ 3; 4 ] 55 |]
            (fun xs -> gradOf (fun x -> Tensor.Sum(Tensor.Softmax(x, 0) * uniform -1.0 1.0 [ 3; 4 ] 56)) xs.[0]) ]
      "log_softmax",
      [ case "log_softmax over axis 1 (contiguous rows)" [| uniform -2.0 2.0 [ 3; 4 ] 57 |] (fun xs -> Tensor.LogSoftmax(xs.[0], 1))
        case "log_softmax over axis 0" [| uniform -2.0 2.0 [ 3; 4 ] 58 |] (fun xs -> Tensor.LogSoftmax(xs.[0], 0))
        case "log_softmax of a vector" [| uniform -2.0 2.0 [ 5 ] 59 |] (fun xs -> Tensor.LogSoftmax(xs.[0], 0)) ]
      "log_softmax_backward",
      [ case "the gradient of sum(log_softmax(x) * x), contiguous rows" [| uniform -2.0 2.0 [ 3; 4 ] 60 |]
            (fun xs -> gradOf (fun x -> Tensor.Sum(Tensor.LogSoftmax(x, 1) * x)) xs.[0])
        case "the gradient of sum(log_softmax(x) * x) over axis 0" [| uniform -2.0 2.0 [ 3; 4 ] 61 |]
            (fun xs -> gradOf (fun x -> Tensor.Sum(Tensor.LogSoftmax(x, 0) * x)) xs.[0])
        case "the gradient of sum(log_softmax(x) * c)" [| uniform -2.0 2.0 [ 3; 4 ] 62 |]
            (fun xs -> gradOf (fun x -> Tensor.Sum(Tensor.LogSoftmax(x, 1) * uniform -1.0 1.0 [ 3; 4 ] 63)) xs.[0]) ]
      // The JVP of log_softmax is an op of its own: reached by a jvp nested in the checked transform,
      // whose tangent t depends on x, so both of its inputs carry the outer tangent.
      "log_softmax_jvp",
      [ case "the tangent of log_softmax along x * 0.5 + 1, contiguous rows" [| uniform -2.0 2.0 [ 3; 4 ] 120 |]
            (fun xs -> snd (Autograd.Jvp(Func<Tensor, Tensor>(fun y -> Tensor.LogSoftmax(y, 1)), xs.[0], xs.[0] * 0.5 + 1.0)))
        case "the tangent of log_softmax over axis 0" [| uniform -2.0 2.0 [ 3; 4 ] 121 |]
            (fun xs -> snd (Autograd.Jvp(Func<Tensor, Tensor>(fun y -> Tensor.LogSoftmax(y, 0)), xs.[0], Tensor.Sin xs.[0]))) ]
      // Fused and linear in its input: its forward rule is one sum (a tangent on the target takes the composition).
      "kl_div",
      [ case "kl_div of log-probabilities, batchmean" [| Tensor.LogSoftmax(uniform -2.0 2.0 [ 3; 4 ] 122, 1) |]
            (fun xs -> Losses.KlDiv(xs.[0], Tensor.Softmax(uniform -1.0 1.0 [ 3; 4 ] 123, 1), Reduction.BatchMean))
        case "kl_div of log_softmax(logits) with a log-probability target, mean" [| uniform -2.0 2.0 [ 3; 4 ] 124 |]
            (fun xs -> Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), Tensor.LogSoftmax(uniform -1.0 1.0 [ 3; 4 ] 125, 1), Reduction.Mean, logTarget = true)) ]
      "cumsum",
      [ case "cumsum along axis 0" [| uniform -2.0 2.0 [ 3; 4 ] 64 |] (fun xs -> Tensor.CumSum(xs.[0], 0))
        case "cumsum along axis 1, reversed" [| uniform -2.0 2.0 [ 3; 4 ] 65 |] (fun xs -> Tensor.CumSum(xs.[0], 1, reverse = true)) ]
      "matmul",
      [ let mm name (sa: int list) (sb: int list) seed =
            case (sprintf "matmul %s" name) [| uniform -1.0 1.0 sa seed; uniform -1.0 1.0 sb (seed + 1) |] (fun xs -> Tensor.MatMul(xs.[0], xs.[1]))
        mm "[2, 3] @ [3, 4]" [ 2; 3 ] [ 3; 4 ] 66
        mm "[3] @ [3, 2]" [ 3 ] [ 3; 2 ] 68
        mm "[2, 3] @ [3]" [ 2; 3 ] [ 3 ] 70
        mm "[3] @ [3]" [ 3 ] [ 3 ] 72
        mm "[2, 2, 3] @ [3, 2] (batched, broadcast)" [ 2; 2; 3 ] [ 3; 2 ] 74
        mm "[2, 2, 3] @ [2, 3, 2] (batched)" [ 2; 2; 3 ] [ 2; 3; 2 ] 76 ]
      "gather",
      [ let index = ints [ 2; 2 ] [ 2; 0; 1; 1 ]
        case "gather along axis 1, repeated indices" [| uniform -2.0 2.0 [ 2; 3 ] 78 |] (fun xs -> Tensor.Gather(xs.[0], 1, index))
        case "gather along axis 0" [| uniform -2.0 2.0 [ 3; 2 ] 79 |] (fun xs -> Tensor.Gather(xs.[0], 0, ints [ 2; 2 ] [ 2; 0; 0; 1 ])) ]
      "scatter_add",
      [ let index = ints [ 2; 2 ] [ 2; 0; 1; 2 ]
        case "scatter_add along axis 1" [| uniform -2.0 2.0 [ 2; 3 ] 80; uniform -2.0 2.0 [ 2; 2 ] 81 |] (fun xs -> Tensor.ScatterAdd(xs.[0], 1, index, xs.[1])) ]
      "reshape",
      [ case "reshape [2, 3] to [3, 2]" [| uniform -2.0 2.0 [ 2; 3 ] 82 |] (fun xs -> Tensor.Reshape(xs.[0], [| 3; 2 |]))
        case "reshape to [-1]" [| uniform -2.0 2.0 [ 2; 3 ] 83 |] (fun xs -> Tensor.Reshape(xs.[0], [| -1 |]) * 2.0) ]
      "permute",
      [ case "permute [2, 3, 4] by [2, 0, 1]" [| uniform -2.0 2.0 [ 2; 3; 4 ] 84 |] (fun xs -> Tensor.Permute(xs.[0], [| 2; 0; 1 |]))
        case "transpose" [| uniform -2.0 2.0 [ 2; 3 ] 85 |] (fun xs -> Tensor.Transpose(xs.[0])) ]
      "expand",
      [ case "expand [3, 1] to [3, 4]" [| uniform -2.0 2.0 [ 3; 1 ] 86 |] (fun xs -> Tensor.Expand(xs.[0], [| 3; 4 |]))
        case "expand [3] to [2, 3]" [| uniform -2.0 2.0 [ 3 ] 87 |] (fun xs -> Tensor.Expand(xs.[0], [| 2; 3 |])) ]
      "slice",
      [ case "slice 1:3 along axis 1" [| uniform -2.0 2.0 [ 4; 3 ] 88 |] (fun xs -> Tensor.Slice(xs.[0], 1, 1, 3))
        case "slice with step 2 along axis 0" [| uniform -2.0 2.0 [ 4; 3 ] 89 |] (fun xs -> Tensor.Slice(xs.[0], 0, 0, 4, 2))
        case "select (a slice, reshaped)" [| uniform -2.0 2.0 [ 4; 3 ] 90 |] (fun xs -> Tensor.Select(xs.[0], 0, 2)) ]
      "slice_backward",
      [ case "the gradient of sum(slice(x)^2)" [| uniform -2.0 2.0 [ 4; 3 ] 91 |]
            (fun xs -> gradOf (fun x -> let s = Tensor.Slice(x, 0, 1, 4, 2) in Tensor.Sum(s * s)) xs.[0])
        case "the gradient of sum(narrow(x) * x)" [| uniform -2.0 2.0 [ 4; 3 ] 92 |]
            (fun xs -> gradOf (fun x -> Tensor.Sum(Tensor.Narrow(x, 1, 0, 2) * Tensor.Narrow(x, 1, 1, 2))) xs.[0]) ]
      "concat",
      [ case "concat along axis 1" [| uniform -2.0 2.0 [ 2; 3 ] 93; uniform -2.0 2.0 [ 2; 1 ] 94 |] (fun xs -> Tensor.Concat([ xs.[0]; xs.[1] ], 1))
        case "concat with a constant" [| uniform -2.0 2.0 [ 2; 3 ] 95 |] (fun xs -> Tensor.Concat([ uniform -1.0 1.0 [ 1; 3 ] 96; xs.[0] ], 0))
        case "stack (a concat)" [| uniform -2.0 2.0 [ 3 ] 97; uniform -2.0 2.0 [ 3 ] 98 |] (fun xs -> Tensor.Stack([ xs.[0]; xs.[1] ], 1)) ]
      "to",
      // Values and steps that float32 holds exactly (eps 2^-7 on multiples of 2^-4), so the finite
      // differences through the float32 round trip are exact.
      [ { (case "to float32 and back" [| Tensor.ofList [ 0.5; -1.25; 2.0625; 0.75 ] |] (fun xs -> xs.[0].ToType(DType.Float32).ToType(DType.Float64) * 3.0)) with
            Options = GradCheckOptions(Eps = 1.0 / 128.0, Atol = 1e-7, Rtol = 1e-6, NondetTol = 1e-12) } ]
      "identity", [ case "identity" [| uniform -2.0 2.0 [ 2; 3 ] 99 |] (fun xs -> Tensor.Identity xs.[0] * 2.0) ]
      "clone", [ case "clone" [| uniform -2.0 2.0 [ 2; 3 ] 100 |] (fun xs -> xs.[0].Clone() * 2.0) ] ]

/// The op names recorded on the tape when f runs on inputs that require gradients.
let private recordedOps (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
    let leaves = inputs |> Array.map (fun x -> if x.DType = DType.Float64 then x.Detach().RequiresGrad_() else x)
    let seen = HashSet<Tensor>(HashIdentity.Reference)
    let ops = HashSet<string>()
    let rec walk (t: Tensor) =
        if seen.Add t then
            match t.GradFn with
            | null -> ()
            | node ->
                ops.Add node.Op |> ignore
                for i in node.Inputs do walk i
    walk (f leaves)
    ops

/// The forward rule of one invocation: against central differences (checkJvp) and against the
/// reverse rule (checkTransposition). Returns the problems found.
let private checkCase (op: string) (c: Case) =
    [ let ops = recordedOps c.F c.Inputs
      if not (ops.Contains op) then
          yield sprintf "%s: the case does not record '%s' (it records %s)" c.Label op (String.Join(", ", ops))
      let r = checkJvp c.F c.Inputs c.Options
      if not r.Passed then yield sprintf "%s:\n%s" c.Label r.Report
      let t = checkTransposition c.F c.Inputs c.Options
      if not t.Passed then yield sprintf "%s:\n%s" c.Label t.Report ]

let private throwsNaming (parts: string list) (f: unit -> unit) =
    let e = Expect.throwsC f id
    Expect.isTrue (e :? AutoKlException) (sprintf "an AutoKlException, got %s: %s" (e.GetType().Name) e.Message)
    for p in parts do Expect.stringContains e.Message p (sprintf "the message names '%s'" p)

let private passes (r: GradCheckResult) = if not r.Passed then failtest r.Report

/// Both checks of a function through a public API that fuses in reverse mode and composes in forward mode.
let private bothChecks label (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
    let o = tight ()
    let r = checkJvp f inputs o
    if not r.Passed then failtestf "%s:\n%s" label r.Report
    let t = checkTransposition f inputs o
    if not t.Passed then failtestf "%s:\n%s" label t.Report

/// The values in forward mode (the composition) against those recorded in reverse mode (the fused op).
let private sameValueBothWays label (op: string) (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
    let leaves = inputs |> Array.map (fun x -> if x.DType = DType.Float64 then x.Detach().RequiresGrad_() else x)
    let fused = f leaves
    Expect.equal fused.GradFnName op (sprintf "%s: reverse mode records the fused '%s'" label op)
    let checkedAt = inputs |> Array.mapi (fun i x -> i, x) |> Array.filter (fun (_, x) -> x.DType = DType.Float64) |> Array.map fst
    let composed, _ =
        Autograd.Jvp(
            Func<Tensor[], Tensor>(fun ds -> f (inputs |> Array.mapi (fun i x -> match Array.tryFindIndex ((=) i) checkedAt with Some j -> ds.[j] | None -> x))),
            checkedAt |> Array.map (fun i -> inputs.[i]), checkedAt |> Array.map (fun i -> Tensor.OnesLike inputs.[i]))
    Array.iter2 (fun c f -> Expect.floatClose { absolute = 1e-12; relative = 1e-12 } c f (sprintf "%s: the composition's value is the fused op's" label))
        (composed.ToDoubleArray()) (fused.ToDoubleArray())

/// Ops declared without a forward rule on purpose (marked reverse-only in docs/rules.md), and how
/// forward mode behaves around each.
let private reverseOnly : (string * (unit -> unit)) list =
    [ "trigamma",
      fun () ->
          // Its own derivative is not implemented in either mode: forward mode through it is an error naming it.
          let x = uniform 0.5 3.0 [ 3 ] 101
          throwsNaming [ "trigamma"; "no forward-mode rule" ] (fun () -> Autograd.Jvp(Func<Tensor, Tensor>(Tensor.Trigamma), x, Tensor.OnesLike x) |> ignore)
          throwsNaming [ "trigamma" ] (fun () -> checkJvp (fun xs -> Tensor.Trigamma xs.[0]) [| x |] (GradCheckOptions()) |> ignore)
          // digamma's rules use it as a value only: lgamma's second derivatives work in every mode.
          passes (checkGradsResult (tight ()) (fun xs -> Tensor.Sum(Tensor.Lgamma xs.[0])) [| x |] AutodiffModes.Both 2)
      "normal_log_prob",
      fun () ->
          let f (xs: Tensor[]) = Normal(xs.[1], xs.[2]).LogProb(xs.[0]) |> Tensor.sum
          let inputs = [| uniform -2.0 2.0 [ 2; 3 ] 105; Tensor.scalar 0.3; Tensor.scalar 1.4 |]
          sameValueBothWays "normal log_prob" "normal_log_prob" (fun xs -> Normal(xs.[1], xs.[2]).LogProb(xs.[0])) inputs
          bothChecks "normal log_prob, x, loc and scale" (fun xs -> Normal(xs.[1], xs.[2]).LogProb(xs.[0])) inputs
          bothChecks "forward over reverse through normal log_prob"
              (fun xs -> Autograd.Grad(Func<Tensor[], Tensor>(f), xs).[2]) inputs ]

/// checkGrads in both modes at order 2: forward over reverse, reverse over reverse, forward over
/// forward and reverse over forward through the case's ops.
let private everyPairing (c: Case) =
    [ let r = checkGradsResult c.Options c.F c.Inputs AutodiffModes.Both 2
      if not r.Passed then yield sprintf "%s:\n%s" c.Label r.Report ]

[<Tests>]
let tests =
    testList "Autograd.ForwardRules" [
        testCase "every op of docs/rules.md has forward-rule cases here, or is marked reverse-only there and handled here" <| fun () ->
            let rows = RulesIndexTests.rulesTable ()
            Expect.isGreaterThan rows.Length 50 "the table was read"
            let cased = forwardCases |> List.map fst |> Set.ofList
            let reverse = reverseOnly |> List.map fst |> Set.ofList
            let problems =
                [ for row in rows do
                      match row.ReverseOnly, cased.Contains row.Op, reverse.Contains row.Op with
                      | false, true, _ -> ()
                      | true, _, true -> ()
                      | false, false, true ->
                          yield sprintf "'%s' is reverse-only here, but docs/rules.md gives it the JVP %s" row.Op row.Jvp
                      | false, false, false ->
                          yield sprintf "'%s' (JVP %s in docs/rules.md) has no case in forwardCases: add invocations that check its forward rule" row.Op row.Jvp
                      | true, _, false ->
                          yield sprintf "'%s' is marked %s in docs/rules.md but is not in reverseOnly here: say how forward mode behaves around it" row.Op row.Jvp
                  let listed = rows |> List.map (fun r -> r.Op) |> Set.ofList
                  for op in Set.union cased reverse do
                      if not (listed.Contains op) then yield sprintf "'%s' has cases here but no row in docs/rules.md" op
                  for op in Set.intersect cased reverse do
                      yield sprintf "'%s' is both in forwardCases and in reverseOnly" op ]
            if not problems.IsEmpty then failtest (String.Join("\n", problems))

        testList "forward rules" [
            for op, cases in forwardCases ->
                testCase op <| fun () ->
                    let problems = cases |> List.collect (checkCase op)
                    if not problems.IsEmpty then failtestf "the forward rule of '%s':\n%s" op (String.Join("\n\n", problems))
        ]

        testList "reverse-only ops" [ for op, check in reverseOnly -> testCase op check ]

        testCase "kl_div with a tangent on its target, and forward over reverse through it: its composition" <| fun () ->
          // The fused op's forward rule covers its input; a tangent on the target takes the
          // composition, and forward over reverse the composition's backward rules.
          let logits = uniform -2.0 2.0 [ 3; 4 ] 102
          let target = Tensor.Softmax(uniform -1.0 1.0 [ 3; 4 ] 103, 1)
          let logTarget = Tensor.LogSoftmax(uniform -1.0 1.0 [ 3; 4 ] 104, 1)
          bothChecks "kl_div of log_softmax(logits), both differentiated"
              (fun xs -> Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), xs.[1], Reduction.BatchMean)) [| logits; target |]
          bothChecks "kl_div with a log-probability target, both differentiated"
              (fun xs -> Losses.KlDiv(Tensor.LogSoftmax(xs.[0], 1), xs.[1], Reduction.Mean, logTarget = true)) [| logits; logTarget |]
          bothChecks "forward over reverse through kl_div"
              (fun xs -> gradOf (fun x -> Losses.KlDiv(Tensor.LogSoftmax(x, 1), target, Reduction.BatchMean)) xs.[0]) [| logits |]


        testList "second order through each op" [
            for op, cases in forwardCases do
                if op = "digamma" then
                    yield testCase "digamma: no second derivative in either mode (it would be trigamma's derivative)" <| fun () ->
                        let c = cases.Head
                        let f (xs: Tensor[]) = Tensor.Sum(c.F xs)
                        for modes in [ AutodiffModes.Forward; AutodiffModes.Reverse ] do
                            throwsNaming [ "trigamma" ] (fun () -> checkGradsResult c.Options f c.Inputs modes 2 |> ignore)
                else
                    yield testCase (sprintf "%s: every pairing of the modes" op) <| fun () ->
                        let problems = cases |> List.collect (fun c -> everyPairing c)
                        if not problems.IsEmpty then failtestf "second derivatives through '%s':\n%s" op (String.Join("\n\n", problems))
        ]

        testCase "cross_entropy, fused in reverse mode, takes its composition in forward mode" <| fun () ->
            let logits = uniform -2.0 2.0 [ 3; 4 ] 106
            let classes = ints [ 3 ] [ 2; 0; 3 ]
            let soft = Tensor.Softmax(uniform -1.0 1.0 [ 3; 4 ] 107, 1)
            sameValueBothWays "class indices" "cross_entropy" (fun xs -> Losses.CrossEntropy(xs.[0], xs.[1])) [| logits; classes |]
            bothChecks "cross_entropy with class indices" (fun xs -> Losses.CrossEntropy(xs.[0], xs.[1])) [| logits; classes |]
            sameValueBothWays "soft targets" "cross_entropy" (fun xs -> Losses.CrossEntropy(xs.[0], xs.[1], Reduction.Sum)) [| logits; soft |]
            bothChecks "cross_entropy with soft targets" (fun xs -> Losses.CrossEntropy(xs.[0], xs.[1], Reduction.Sum)) [| logits; soft |]
    ]
