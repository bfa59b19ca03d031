namespace AutoKl;

/// <summary>Whether operations are recorded on the tape, per thread.</summary>
internal static class GradMode
{
    [ThreadStatic] private static bool _disabled;
    [ThreadStatic] private static SwitchScopes? _scopes;

    public static bool Enabled => !_disabled;

    /// <summary>Sets the mode until the returned scope is disposed, then restores the one it found (see <see cref="SwitchScopes"/>).</summary>
    public static IDisposable Set(bool enabled)
        => (_scopes ??= new SwitchScopes("grad mode", v => _disabled = !v)).Open(!_disabled, enabled);
}
