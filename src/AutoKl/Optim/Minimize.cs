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
/// <para>Each step runs inside its own <see cref="TensorScope"/>: every tensor the loss function
/// makes is released when the step ends and its storage serves the next step, so a warm loop
/// allocates no tensor storage. A tensor the loss function stores for later (a prediction to
/// plot, a cached constant) must be made before the loop or kept with <see cref="Tensor.Keep"/>;
/// reading it after its step otherwise throws. The report callback runs after the step's scope
/// has ended.</para>
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
            double lossValue, lr;
            // Every tensor the step makes (the loss and its intermediates) is released when it ends,
            // so the next step reuses their storage; parameters, gradients and the optimizer's
            // state are never a scope's.
            using (Tensor.Scope())
            {
                optimizer.ZeroGrad(); // covers every parameter: each was checked to be the optimizer's
                var value = loss();
                if (value.Numel != 1)
                    throw new AutoKlException("minimize", $"step {step}: the loss has shape {Shapes.Format(value.ShapeRef)}; it must have one element");
                if (!value.RequiresGrad)
                    throw new AutoKlException("minimize", $"step {step}: the loss does not depend on any parameter that requires gradients");
                value.Backward();
                lossValue = value.ToScalar();
                lr = optimizer.ParamGroups[0].Lr;
                optimizer.Step();
                scheduler?.Step();
            }
            onStep?.Invoke(new StepReport(step, lossValue, lr));
        }
    }
}
