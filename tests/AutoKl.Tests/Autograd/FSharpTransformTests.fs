/// DiffSharp's vocabulary from F#: diff, diff2, gradv, jacobian, jacobianv, jacobianTv, hessian, hessianv, laplacian, curl, divergence.
module AutoKl.Tests.Autograd.FSharpTransformTests

open Expecto
open AutoKl

[<Tests>]
let tests = testList "Autograd.FSharpTransforms" []
