namespace AutoKl.Optim;

/// <summary>
/// Linear warm-up (or decay): the lr factor goes linearly from <c>startFactor</c> to
/// <c>endFactor</c> over <c>totalIters</c> epochs, then stays: lr = base_lr * (start +
/// (end - start) * min(epoch, total) / total).
/// </summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Creates the schedule and takes its initial step.</summary>
    /// <param name="optimizer">The optimizer whose lr is set.</param>
    /// <param name="startFactor">Factor at epoch 0, in (0, 1].</param>
    /// <param name="endFactor">Factor from epoch <paramref name="totalIters"/> on, in [0, 1].</param>
    /// <param name="totalIters">Length of the ramp in epochs, > 0.</param>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5) : base(optimizer)
    {
        Require(startFactor > 0 && startFactor <= 1, "LinearLR", $"startFactor must be in (0, 1], got {startFactor}");
        Require(endFactor >= 0 && endFactor <= 1, "LinearLR", $"endFactor must be in [0, 1], got {endFactor}");
        Require(totalIters > 0, "LinearLR", $"totalIters must be > 0, got {totalIters}");
        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>Factor at epoch 0.</summary>
    public double StartFactor { get; }
    /// <summary>Factor at the end of the ramp.</summary>
    public double EndFactor { get; }
    /// <summary>Length of the ramp in epochs.</summary>
    public int TotalIters { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr()
    {
        var lrs = GroupLrs();
        if (LastEpoch == 0) return lrs.Select(lr => lr * StartFactor).ToArray();
        if (LastEpoch > TotalIters) return lrs;
        double factor = 1.0 + (EndFactor - StartFactor) / (TotalIters * StartFactor + (LastEpoch - 1) * (EndFactor - StartFactor));
        return lrs.Select(lr => lr * factor).ToArray();
    }

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() =>
        BaseLrs.Select(b => b * (StartFactor + (EndFactor - StartFactor) * Math.Min(TotalIters, LastEpoch) / TotalIters)).ToArray();
}
