/// AutoKl.Testing's forward-mode checks: checkJvp, the transposition identity, checkGrads.
module AutoKl.Tests.Testing.ForwardCheckTests

open Expecto
open AutoKl

[<Tests>]
let tests = testList "Testing.ForwardCheck" []
