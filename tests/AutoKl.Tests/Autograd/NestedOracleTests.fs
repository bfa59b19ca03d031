/// Nested and forward-mode derivatives against PyTorch 1.13 and functorch (fixtures/pytorch/nested.json).
module AutoKl.Tests.Autograd.NestedOracleTests

open Expecto
open AutoKl

[<Tests>]
let tests = testList "Autograd.NestedOracle" []
