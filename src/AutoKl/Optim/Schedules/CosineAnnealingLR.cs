namespace AutoKl.Optim;

/// <summary>
/// Cosine annealing from base_lr down to <c>etaMin</c> over <c>tMax</c> epochs:
/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2. Past T_max it keeps
/// following the cosine (back up at 2 T_max), as PyTorch does. Computed with PyTorch's
/// recursive (chainable) form, so it composes with other schedules.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the schedule and takes its initial step.</summary>
    /// <param name="optimizer">The optimizer whose lr is set.</param>
    /// <param name="tMax">Half-period in epochs, > 0.</param>
    /// <param name="etaMin">Lowest lr, >= 0.</param>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0) : base(optimizer)
    {
        Require(tMax > 0, "CosineAnnealingLR", $"tMax must be > 0, got {tMax}");
        Require(etaMin >= 0 && double.IsFinite(etaMin), "CosineAnnealingLR", $"etaMin must be finite and >= 0, got {etaMin}");
        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Half-period in epochs.</summary>
    public int TMax { get; }
    /// <summary>Lowest lr.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr()
    {
        var lrs = GroupLrs();
        if (LastEpoch == 0) return lrs;
        if (StepCount == 1 && LastEpoch > 0)
            return BaseLrs.Select(b => EtaMin + (b - EtaMin) * (1 + Math.Cos(LastEpoch * Math.PI / TMax)) / 2).ToArray();
        if ((LastEpoch - 1 - TMax) % (2 * TMax) == 0)
            return lrs.Select((lr, i) => lr + (BaseLrs[i] - EtaMin) * (1 - Math.Cos(Math.PI / TMax)) / 2).ToArray();
        return lrs.Select(lr => (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / (1 + Math.Cos(Math.PI * (LastEpoch - 1) / TMax))
                                * (lr - EtaMin) + EtaMin).ToArray();
    }

    /// <inheritdoc/>
    protected override double[] ClosedFormLr() =>
        BaseLrs.Select(b => EtaMin + (b - EtaMin) * (1 + Math.Cos(Math.PI * LastEpoch / TMax)) / 2).ToArray();
}
