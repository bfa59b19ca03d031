namespace AutoKl.Optim;

/// <summary>What <see cref="Minimize"/> reports after each step.</summary>
/// <param name="Step">The step number, from 1.</param>
/// <param name="Loss">The loss at the parameters before this step's update.</param>
/// <param name="Lr">The learning rate of the first parameter group used by this step's update.</param>
public readonly record struct StepReport(int Step, double Loss, double Lr);

/// <summary>
/// The common training loop: for each step, clear the gradients, evaluate the loss, backward,
/// update the parameters (and advance the schedule). PyTorch's
/// <c>zero_grad(); loss = f(); loss.backward(); opt.step(); sched.step()</c>.
/// </summary>
public static class Minimize
{
    /// <summary>Runs <paramref name="steps"/> optimisation steps, calling <paramref name="onStep"/> after each update.</summary>
    /// <example>From C# (F# has <c>Optim.minimizeWith</c>):
    /// <code lang="csharp">
    /// var mu = Tensor.Scalar(0.0).RequiresGrad_();
    /// var adam = new Adam(new[] { mu }, lr: 1e-2);
    /// Minimize.Run(new[] { mu }, () => (mu - 3.0).Pow(2), adam, 1000,
    ///     r => { if (r.Step % 100 == 0) Console.WriteLine($"{r.Step}: {r.Loss:F6}"); });
    /// </code></example>
    /// <param name="parameters">The tensors being optimised (their gradients are cleared before each step).</param>
    /// <param name="loss">Computes the scalar loss from the current parameters.</param>
    /// <param name="optimizer">Updates the parameters.</param>
    /// <param name="steps">Number of steps, >= 0.</param>
    /// <param name="onStep">Called after each update; the parameters already hold the updated values.</param>
    public static void Run(IReadOnlyList<Tensor> parameters, Func<Tensor> loss, Optimizer optimizer, int steps, Action<StepReport> onStep)
        => Loop(parameters, loss, optimizer, scheduler: null, steps, onStep);

    /// <summary>Runs <paramref name="steps"/> optimisation steps.</summary>
    public static void Run(IReadOnlyList<Tensor> parameters, Func<Tensor> loss, Optimizer optimizer, int steps)
        => Loop(parameters, loss, optimizer, scheduler: null, steps, onStep: null);

    /// <summary>Runs <paramref name="steps"/> steps, advancing <paramref name="scheduler"/> after each optimizer step.</summary>
    public static void Run(IReadOnlyList<Tensor> parameters, Func<Tensor> loss, Optimizer optimizer, LRScheduler scheduler, int steps, Action<StepReport> onStep)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        Loop(parameters, loss, optimizer, scheduler, steps, onStep);
    }

    /// <summary>Runs <paramref name="steps"/> steps, advancing <paramref name="scheduler"/> after each optimizer step.</summary>
    public static void Run(IReadOnlyList<Tensor> parameters, Func<Tensor> loss, Optimizer optimizer, LRScheduler scheduler, int steps)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        Loop(parameters, loss, optimizer, scheduler, steps, onStep: null);
    }

    private static void Loop(IReadOnlyList<Tensor> parameters, Func<Tensor> loss, Optimizer optimizer, LRScheduler? scheduler,
                             int steps, Action<StepReport>? onStep)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (steps < 0) throw new AutoKlException("minimize", $"steps must be >= 0, got {steps}");
        var optimised = new HashSet<Tensor>(optimizer.Parameters, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!parameters[i].RequiresGrad)
                throw new AutoKlException("minimize", $"parameters[{i}] (shape {Shapes.Format(parameters[i].ShapeRef)}) does not require gradients");
            if (!optimised.Contains(parameters[i]))
                throw new AutoKlException("minimize", $"parameters[{i}] (shape {Shapes.Format(parameters[i].ShapeRef)}) is not one of the optimizer's parameters, so it would never change");
        }
        for (int step = 1; step <= steps; step++)
        {
            optimizer.ZeroGrad(); // covers every parameter: each was checked to be the optimizer's
            var value = loss();
            if (value.Numel != 1)
                throw new AutoKlException("minimize", $"step {step}: the loss has shape {Shapes.Format(value.ShapeRef)}; it must have one element");
            if (!value.RequiresGrad)
                throw new AutoKlException("minimize", $"step {step}: the loss does not depend on any parameter that requires gradients");
            value.Backward();
            double lossValue = value.ToScalar();
            double lr = optimizer.ParamGroups[0].Lr;
            optimizer.Step();
            scheduler?.Step();
            onStep?.Invoke(new StepReport(step, lossValue, lr));
        }
    }
}
