namespace AutoKl;

/// <summary>
/// The open scopes of one per-thread switch (grad mode, validation, anomaly detection) on one
/// thread. Each scope puts back the value it found, whatever order the scopes are disposed in:
/// disposing the innermost restores its value; disposing an outer one first hands its saved value
/// to the scope opened right after it, so the switch ends where it started once all are disposed.
/// Disposing twice does nothing; disposing on another thread is an error, since the switch it set
/// belongs to the thread that opened it.
/// </summary>
internal sealed class SwitchScopes(string name, Action<bool> set)
{
    private readonly List<Scope> _open = [];
    private readonly int _thread = Environment.CurrentManagedThreadId;

    /// <summary>Sets the switch to <paramref name="value"/> until the returned scope is disposed.</summary>
    public IDisposable Open(bool current, bool value)
    {
        var scope = new Scope(this, current);
        _open.Add(scope);
        set(value);
        return scope;
    }

    private void Close(Scope scope)
    {
        if (Environment.CurrentManagedThreadId != _thread)
            throw new AutoKlException(name,
                "a scope was disposed on a different thread than the one that opened it; the switch is per thread, so dispose the scope where it was created");
        int i = _open.LastIndexOf(scope);
        if (i < 0) return;
        if (i == _open.Count - 1) set(scope.Previous);
        else _open[i + 1].Previous = scope.Previous;
        _open.RemoveAt(i);
    }

    private sealed class Scope(SwitchScopes owner, bool previous) : IDisposable
    {
        public bool Previous = previous;
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            owner.Close(this);
            _done = true;
        }
    }
}
