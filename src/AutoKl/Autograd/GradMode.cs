namespace AutoKl;

/// <summary>Whether operations are recorded on the tape, per thread.</summary>
internal static class GradMode
{

    public static bool Enabled => !EngineSwitches.Thread.GradOff;

    /// <summary>Sets the mode until the returned scope is disposed, then restores the one it found (see <see cref="SwitchScopes"/>).</summary>
    public static IDisposable Set(bool enabled)
    {
        var s = EngineSwitches.Thread;
        return (s.GradScopes ??= new SwitchScopes("grad mode", v => s.GradOff = !v)).Open(!s.GradOff, enabled);
    }
}
