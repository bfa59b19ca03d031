namespace AutoKl.Optim

open System
open AutoKl

/// Optimisation from F# (`open AutoKl.Optim`, then `Optim.minimize ...`): the training loop as a function (`Optim.minimize`), parameter groups
/// from lists, gradient clipping and learning rates as pipeable functions.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Optim =
    /// Runs `steps` steps of zero-grad / loss / backward / optimizer step and returns the loss
    /// before each step's update.
    let minimize (parameters: Tensor seq) (optimizer: Optimizer) (steps: int) (loss: unit -> Tensor) : float[] =
        let losses = ResizeArray<float>(max steps 0)
        Minimize.Run(Seq.toArray parameters, Func<Tensor>(loss), optimizer, steps, Action<StepReport>(fun r -> losses.Add r.Loss))
        losses.ToArray()

    /// Like `minimize`, calling `onStep` after each update (the parameters hold the new values).
    let minimizeWith (onStep: StepReport -> unit) (parameters: Tensor seq) (optimizer: Optimizer) (steps: int) (loss: unit -> Tensor) : unit =
        Minimize.Run(Seq.toArray parameters, Func<Tensor>(loss), optimizer, steps, Action<StepReport>(onStep))

    /// Like `minimize`, advancing `scheduler` after each optimizer step.
    let minimizeScheduled (scheduler: LRScheduler) (parameters: Tensor seq) (optimizer: Optimizer) (steps: int) (loss: unit -> Tensor) : float[] =
        let losses = ResizeArray<float>(max steps 0)
        Minimize.Run(Seq.toArray parameters, Func<Tensor>(loss), optimizer, scheduler, steps, Action<StepReport>(fun r -> losses.Add r.Loss))
        losses.ToArray()

    /// A parameter group with the given hyper-parameters (PyTorch names: "lr", "momentum", "beta1", ...).
    let group (hyperParameters: (string * float) list) (parameters: Tensor seq) : ParamGroup =
        let g = ParamGroup(parameters)
        for (name, value) in hyperParameters do g.[name] <- value
        g

    /// One optimizer step.
    let step (optimizer: Optimizer) = optimizer.Step()

    /// Clears the gradients of the optimizer's parameters.
    let zeroGrad (optimizer: Optimizer) = optimizer.ZeroGrad()

    /// The learning rate of the first parameter group.
    let lr (optimizer: Optimizer) = optimizer.ParamGroups.[0].Lr

    /// Sets the learning rate of every parameter group.
    let setLr (lr: float) (optimizer: Optimizer) =
        for g in optimizer.ParamGroups do g.Lr <- lr

    /// Scales the gradients so that their joint 2-norm is at most maxNorm; returns the norm before clipping.
    let clipGradNorm (maxNorm: float) (parameters: Tensor seq) = GradClip.ClipGradNorm(parameters, maxNorm)

    /// Clamps every gradient element into [-clipValue, clipValue].
    let clipGradValue (clipValue: float) (parameters: Tensor seq) = GradClip.ClipGradValue(parameters, clipValue)
