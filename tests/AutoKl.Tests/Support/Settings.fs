/// Process-wide switches set for the length of one call and put back afterwards, whatever happens
/// (the tests that use them run with testSequenced).
module AutoKl.Tests.Support.Settings

open AutoKl

/// Runs f with at most n threads per kernel.
let withThreads (n: int) (f: unit -> 'a) =
    let before = Parallelism.MaxThreads
    Parallelism.MaxThreads <- n
    try f () finally Parallelism.MaxThreads <- before

/// Runs f with the storage pool poisoned (returned arrays filled with NaN, a double return an
/// error) or not, starting from an empty pool on this thread.
let withPoison (on: bool) (f: unit -> 'a) =
    let before = EngineSwitches.PoisonPool
    EngineSwitches.PoisonPool <- on
    StoragePool.Clear()
    try f () finally EngineSwitches.PoisonPool <- before

/// Runs f with the fused losses on or off on this thread (off: the composed reference formulas).
let withFusion (on: bool) (f: unit -> 'a) =
    let before = FusedOps.Enabled
    FusedOps.Enabled <- on
    try f () finally FusedOps.Enabled <- before
