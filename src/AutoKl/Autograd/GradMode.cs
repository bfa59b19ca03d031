namespace AutoKl;

/// <summary>Whether operations are recorded on the tape, per thread.</summary>
internal static class GradMode
{
    [ThreadStatic] private static bool _disabled;

    public static bool Enabled => !_disabled;

    /// <summary>Sets the mode until the returned scope is disposed, then restores the previous one.</summary>
    public static IDisposable Set(bool enabled)
    {
        var previous = !_disabled;
        _disabled = !enabled;
        return new Scope(previous);
    }

    private sealed class Scope(bool previous) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _disabled = !previous;
        }
    }
}
