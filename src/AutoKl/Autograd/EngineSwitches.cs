namespace AutoKl;

/// <summary>
/// Where the engine's switches live, all of them: per thread, grad mode (<see cref="Autograd.NoGrad"/>),
/// anomaly detection (<see cref="Autograd.DetectAnomaly"/>), value checks (<see cref="Validation"/>)
/// and the fused kernels (<see cref="FusedOps.Enabled"/>, which the tests turn off to compare with the
/// compositions); per process, pool poisoning (<c>AUTOKL_POISON_POOL</c>, for the tests). Each switch
/// keeps its own API where users and the engine reach it; only the state is here.
/// </summary>
internal static class EngineSwitches
{
    [ThreadStatic] private static PerThread? _thread;

    /// <summary>This thread's switches.</summary>
    public static PerThread Thread => _thread ??= new PerThread();

    /// <summary>Arrays handed back to the pool are filled with NaN (and one handed back twice is an error), so a value read from reused storage shows.</summary>
    public static bool PoisonPool = Environment.GetEnvironmentVariable("AUTOKL_POISON_POOL") is "1" or "true";

    /// <summary>One thread's switches, each off by default (so a new thread records, checks and fuses), with the scopes that set them.</summary>
    internal sealed class PerThread
    {
        public bool GradOff, AnomalyOn, ValidationOff, FusionOff;
        public SwitchScopes? GradScopes, AnomalyScopes, ValidationScopes;
    }
}
