namespace AutoKl.Optim;

/// <summary>
/// Cosine annealing with warm restarts (SGDR): within a period of T_i epochs,
/// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2; the first period is
/// <c>t0</c> epochs and each next one is <c>tMult</c> times longer.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LRScheduler
{
    /// <summary>Creates the schedule and takes its initial step.</summary>
    /// <param name="optimizer">The optimizer whose lr is set.</param>
    /// <param name="t0">Length of the first period, > 0.</param>
    /// <param name="tMult">Growth of the period after each restart, >= 1.</param>
    /// <param name="etaMin">Lowest lr, >= 0.</param>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0) : base(optimizer)
    {
        Require(t0 > 0, "CosineAnnealingWarmRestarts", $"t0 must be > 0, got {t0}");
        Require(tMult >= 1, "CosineAnnealingWarmRestarts", $"tMult must be >= 1, got {tMult}");
        Require(etaMin >= 0 && double.IsFinite(etaMin), "CosineAnnealingWarmRestarts", $"etaMin must be finite and >= 0, got {etaMin}");
        T0 = t0;
        TMult = tMult;
        EtaMin = etaMin;
        TI = t0;
        TCur = LastEpoch;
        InitialStep();
    }

    /// <summary>Length of the first period.</summary>
    public int T0 { get; }
    /// <summary>Growth factor of the period.</summary>
    public int TMult { get; }
    /// <summary>Lowest lr.</summary>
    public double EtaMin { get; }
    /// <summary>Length of the current period.</summary>
    public int TI { get; private set; }
    /// <summary>Epochs since the last restart.</summary>
    public int TCur { get; private set; }

    /// <inheritdoc/>
    public override void Step()
    {
        if (LastEpoch < 0)
        {
            // the initial step: epoch 0 is the start of the first period
            TI = T0;
            TCur = 0;
            LastEpoch = 0;
        }
        else
        {
            LastEpoch++;
            TCur++;
            if (TCur >= TI)
            {
                TCur -= TI;
                TI *= TMult;
            }
        }
        Apply(ComputeLr());
    }

    /// <inheritdoc/>
    protected override double[] ComputeLr() =>
        BaseLrs.Select(b => EtaMin + (b - EtaMin) * (1 + Math.Cos(Math.PI * TCur / TI)) / 2).ToArray();

    /// <summary>The counters saved beside the epoch: <c>t_i</c> (the current period) and <c>t_cur</c> (epochs since the last restart).</summary>
    protected override IEnumerable<string> ExtraKeys => ["t_i", "t_cur"];

    /// <inheritdoc/>
    protected override void SaveExtra(IDictionary<string, double> values)
    {
        values["t_i"] = TI;
        values["t_cur"] = TCur;
    }

    /// <inheritdoc/>
    protected override void LoadExtra(IReadOnlyDictionary<string, double> values)
    {
        TI = (int)values["t_i"];
        TCur = (int)values["t_cur"];
    }
}
