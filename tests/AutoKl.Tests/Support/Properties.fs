/// FsCheck settings for the suite's properties (run through Expecto.FsCheck).
module AutoKl.Tests.Support.Properties

open Expecto

/// FsCheck's defaults with `n` generated cases instead of 100: most properties run gradient
/// checks or build distributions per case, so a few dozen keep the suite fast.
let runs (n: int) = { FsCheckConfig.defaultConfig with maxTest = n }
