using System.Diagnostics;
using System.Reflection;

namespace AutoKl;

/// <summary>
/// Anomaly detection (<see cref="Autograd.DetectAnomaly"/>), per thread: while on, nodes keep the
/// user's frame that recorded them, and forward results and backward gradients are scanned for
/// NaN and infinities.
/// </summary>
internal static class AnomalyMode
{
    public static bool Enabled => EngineSwitches.Thread.AnomalyOn;

    public static IDisposable Set(bool enabled)
    {
        var s = EngineSwitches.Thread;
        return (s.AnomalyScopes ??= new SwitchScopes("detect_anomaly", v => s.AnomalyOn = v)).Open(s.AnomalyOn, enabled);
    }

    private static readonly Assembly Engine = typeof(AnomalyMode).Assembly;

    /// <summary>The first frame on the stack outside the engine and its F# layer: the user's line.</summary>
    public static string Capture()
    {
        var trace = new StackTrace(2, fNeedFileInfo: true);
        foreach (var frame in trace.GetFrames())
        {
            var method = frame.GetMethod();
            var type = method?.DeclaringType;
            if (method is null || type is null) continue;
            var assembly = type.Assembly;
            var name = assembly.GetName().Name ?? "";
            if (assembly == Engine || name == "AutoKl.FSharp" || name.StartsWith("System.", StringComparison.Ordinal)
                || name == "System" || name == "FSharp.Core") continue;
            var file = frame.GetFileName();
            var where = $"at {type.FullName}.{method.Name}";
            return file is null ? where : $"{where} in {file}:line {frame.GetFileLineNumber()}";
        }
        return "at an unknown place (no frame outside AutoKl on the stack)";
    }

    public static void CheckForward(Node node, Tensor result)
    {
        var bad = FirstNonFinite(result);
        if (bad is null) return;
        throw new AutoKlException("detect_anomaly",
            $"'{node.Op}' produced {bad} in its forward result of shape {Shapes.Format(result.ShapeRef)} " +
            $"(inputs of shape {InputShapes(node)}); it was recorded {node.CreatedAt}");
    }

    public static void CheckBackward(Node node, Tensor?[] gradients)
    {
        for (int i = 0; i < gradients.Length; i++)
        {
            var g = gradients[i];
            var bad = g is null ? null : FirstNonFinite(g);
            if (bad is null) continue;
            throw new AutoKlException("detect_anomaly",
                $"the backward rule of '{node.Op}' returned {bad} in the gradient of its input {i} " +
                $"(inputs of shape {InputShapes(node)}); '{node.Op}' was recorded {node.CreatedAt ?? "before anomaly detection was switched on"}");
        }
    }

    private static string InputShapes(Node node) => string.Join(", ", node.Inputs.Select(x => Shapes.Format(x.ShapeRef)));

    /// <summary>"NaN at index i" or "+inf at index i" for the first non-finite element, or null.</summary>
    private static string? FirstNonFinite(Tensor t)
    {
        switch (t.Storage)
        {
            case float[] f:
                for (int i = 0; i < f.Length; i++)
                    if (!float.IsFinite(f[i])) return Describe(f[i], i);
                break;
            case double[] d:
                for (int i = 0; i < d.Length; i++)
                    if (!double.IsFinite(d[i])) return Describe(d[i], i);
                break;
        }
        return null;

        static string Describe(double v, int i) => $"{(double.IsNaN(v) ? "NaN" : v > 0 ? "+infinity" : "-infinity")} (at flat index {i})";
    }
}
