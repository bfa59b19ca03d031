/// The functional transforms (grad, vjp, jvp, jacobian, hessian, hvp) nested with closed-over variables, and their errors.
module AutoKl.Tests.Autograd.TransformTests

open Expecto
open AutoKl

[<Tests>]
let tests = testList "Autograd.Transforms" []
