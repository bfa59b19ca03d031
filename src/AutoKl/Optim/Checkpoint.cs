using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace AutoKl.Optim;

/// <summary>
/// Saves and restores a training run: parameter values, the optimizer's state (hyper-parameters
/// of every group, step counts, moment buffers) and optionally a schedule's position, so that a
/// resumed run continues bit-identically.
/// <para>
/// File format, version 1 (all integers and floats little-endian; strings are UTF-8 prefixed by
/// their byte length as a 7-bit encoded integer, as .NET's BinaryWriter writes them):
/// </para>
/// <code>
/// header   8 bytes  magic "AUTOKLCK"
///          int32    format version (1)
///          int64    payload length N
/// payload  N bytes  (below)
/// trailer  32 bytes SHA-256 of the payload
///
/// payload:
///   int32 P; P tensors                                      the parameters, in the caller's order
///   string optimizer name; int32 G; G groups:
///       int32 n; n x int32 (index of each group parameter in the caller's list)
///       int32 h; h x (string name, float64 value)           hyper-parameters (PyTorch names)
///   int32 S; S entries: int32 parameter number (in group order), int64 step,
///       int32 b; b x (string buffer name, tensor)
///   byte has-schedule (0/1); if 1 a schedule state:
///       string kind; int32 v; v x (string, float64); int32 k; k x float64 base lrs;
///       int32 k; k x float64 last lrs; int32 c; c x schedule state (sub-schedules)
/// tensor: byte dtype (0 = float32, 1 = float64); int32 rank; rank x int32 dims;
///         numel x float32 or float64 values, row-major (one block, read and written in bulk)
/// </code>
/// Writes are atomic: the file is written to a temporary file in the same folder, flushed to
/// disk, then renamed over the destination, so a crash leaves the previous file intact.
/// Loading checks everything (magic, version, length, checksum, parameter count, shapes, dtypes,
/// optimizer kind, groups, schedule kind) before changing anything: a refused file changes nothing.
/// </summary>
public static class Checkpoint
{
    /// <summary>The first 8 bytes of every checkpoint file.</summary>
    public static ReadOnlySpan<byte> Magic => "AUTOKLCK"u8;

    /// <summary>The format version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    private const int HeaderLength = 8 + 4 + 8;
    private const int ChecksumLength = 32;
    private const string SaveOp = "checkpoint.save", LoadOp = "checkpoint.load";

    /// <summary>Saves the parameters and the optimizer's state to <paramref name="path"/> (atomically).</summary>
    /// <example>
    /// <code lang="csharp">
    /// Checkpoint.Save("fit.ckpt", new[] { mu, sigma }, adam);
    /// // later, with the same parameters and an optimizer of the same kind:
    /// Checkpoint.Load("fit.ckpt", new[] { mu, sigma }, adam);
    /// </code></example>
    public static void Save(string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer)
        => Save(path, parameters, optimizer, null, s => s);

    /// <summary>Saves the parameters, the optimizer's state and the schedule's position to <paramref name="path"/> (atomically).</summary>
    public static void Save(string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer, LRScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        Save(path, parameters, optimizer, scheduler, s => s);
    }

    /// <summary>Saves through <paramref name="wrap"/> (tests use it to simulate a crash mid-write).</summary>
    internal static void Save(string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer, LRScheduler? scheduler, Func<Stream, Stream> wrap)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (scheduler is not null && !ReferenceEquals(scheduler.Optimizer, optimizer))
            throw new AutoKlException(SaveOp, "scheduler: the schedule acts on another optimizer");
        var bytes = Encode(parameters, optimizer, scheduler);
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new AutoKlException(SaveOp, $"'{path}' is not a valid file path: {e.Message}");
        }
        if (Directory.Exists(full)) throw new AutoKlException(SaveOp, $"cannot write '{full}': it is a folder");
        var folder = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        if (!Directory.Exists(folder)) throw new AutoKlException(SaveOp, $"cannot write '{full}': the folder '{folder}' does not exist");
        RemoveStaleTemporaries(folder, name);
        var temp = Path.Combine(folder, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var stream = wrap(file); // the file itself, or a test's wrapper around it (not disposed here)
                stream.Write(bytes);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                throw new AutoKlException(SaveOp, $"cannot write '{full}': {e.Message.Replace(temp, full)}");
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary files of <paramref name="name"/> that a save killed mid-write left
    /// behind (".NAME.&lt;32 hex digits&gt;.tmp"); a save of the same file running at this very
    /// moment elsewhere would lose its temporary file and fail with a clear error.
    /// </summary>
    private static void RemoveStaleTemporaries(string folder, string name)
    {
        try
        {
            foreach (var stale in Directory.EnumerateFiles(folder, $".{name}.*.tmp"))
            {
                var middle = Path.GetFileName(stale)[(name.Length + 2)..^4];
                if (middle.Length == 32 && middle.All(Uri.IsHexDigit))
                    try { File.Delete(stale); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Restores the parameters' values (in place) and the optimizer's state from a file written by
    /// <see cref="Save(string, IReadOnlyList{Tensor}, Optimizer)"/>. Refuses, changing nothing, a
    /// file that is truncated, corrupted, of another version, saved with a schedule, or saved for
    /// other parameters (count, shapes, dtypes) or another optimizer or grouping.
    /// </summary>
    public static void Load(string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer)
        => LoadInto(path, parameters, optimizer, null);

    /// <summary>As <see cref="Load(string, IReadOnlyList{Tensor}, Optimizer)"/>, also restoring the schedule's position.</summary>
    public static void Load(string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer, LRScheduler scheduler)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        LoadInto(path, parameters, optimizer, scheduler);
    }

    private static void LoadInto(string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer, LRScheduler? scheduler)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!File.Exists(path)) throw new AutoKlException(LoadOp, $"no checkpoint file at '{path}'");
        var contents = Decode(File.ReadAllBytes(path), path);
        CheckCompatible(contents, path, parameters, optimizer, scheduler);

        // nothing was refused: change
        using (Autograd.NoGrad())
            for (int i = 0; i < parameters.Count; i++) parameters[i].Copy_(contents.Parameters[i]);
        optimizer.Restore(contents.Optimizer);
        scheduler?.Restore(contents.Scheduler!);
    }

    /// <summary>
    /// Every check of a decoded file against the caller's parameters, optimizer and schedule, made
    /// once, before <see cref="LoadInto"/> changes anything; throws naming what does not match.
    /// </summary>
    private static void CheckCompatible(Contents contents, string path, IReadOnlyList<Tensor> parameters, Optimizer optimizer, LRScheduler? scheduler)
    {
        if (contents.Parameters.Length != parameters.Count)
            throw new AutoKlException(LoadOp, $"'{path}' holds {contents.Parameters.Length} parameters, {parameters.Count} were given");
        for (int i = 0; i < parameters.Count; i++)
        {
            var (saved, p) = (contents.Parameters[i], parameters[i]);
            if (saved.DType != p.DType || !Shapes.Equal(saved.ShapeRef, p.ShapeRef))
                throw new AutoKlException(LoadOp, $"parameters[{i}] is {p.DType.Name()} {Shapes.Format(p.ShapeRef)}, '{path}' holds {saved.DType.Name()} {Shapes.Format(saved.ShapeRef)}");
        }
        var mapping = GroupMapping(parameters, optimizer, LoadOp);
        if (!mapping.SequenceEqual(contents.Mapping))
            throw new AutoKlException(LoadOp, $"the optimizer's parameters are not the same entries of the parameter list as in '{path}' (groups or order differ)");
        optimizer.CheckCompatible(contents.Optimizer, LoadOp);
        if (scheduler is null && contents.Scheduler is not null)
            throw new AutoKlException(LoadOp, $"'{path}' holds a {contents.Scheduler.Kind} position; pass the schedule to restore it");
        if (scheduler is not null)
        {
            if (contents.Scheduler is null)
                throw new AutoKlException(LoadOp, $"'{path}' holds no schedule, but a {scheduler.Kind} was given");
            if (!ReferenceEquals(scheduler.Optimizer, optimizer))
                throw new AutoKlException(LoadOp, "scheduler: the schedule acts on another optimizer");
            scheduler.CheckCompatible(contents.Scheduler, LoadOp);
        }
    }

    /// <summary>For each optimizer parameter (group order), its index in the caller's list.</summary>
    private static int[] GroupMapping(IReadOnlyList<Tensor> parameters, Optimizer optimizer, string op)
    {
        var index = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < parameters.Count; i++) index.TryAdd(parameters[i], i);
        return optimizer.Parameters.Select((p, k) => index.TryGetValue(p, out var i) ? i
            : throw new AutoKlException(op, $"optimizer parameter {k} (shape {Shapes.Format(p.ShapeRef)}) is not in the parameter list")).ToArray();
    }

    // ---- encoding ------------------------------------------------------------------------

    private static byte[] Encode(IReadOnlyList<Tensor> parameters, Optimizer optimizer, LRScheduler? scheduler)
    {
        var mapping = GroupMapping(parameters, optimizer, SaveOp);
        var state = optimizer.SaveState();
        var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(parameters.Count);
            foreach (var p in parameters) WriteTensor(w, p);
            w.Write(state.OptimizerName);
            w.Write(state.Groups.Count);
            foreach (var g in state.Groups)
            {
                w.Write(g.ParameterIndices.Count);
                foreach (var k in g.ParameterIndices) w.Write(mapping[k]);
                WriteValues(w, g.HyperParameters);
            }
            w.Write(state.Entries.Count);
            foreach (var e in state.Entries)
            {
                w.Write(e.ParameterIndex);
                w.Write(e.Step);
                w.Write(e.Buffers.Count);
                foreach (var (name, t) in e.Buffers.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.Write(name);
                    WriteTensor(w, t);
                }
            }
            w.Write(scheduler is null ? (byte)0 : (byte)1);
            if (scheduler is not null) WriteSchedule(w, scheduler.SaveState());
        }
        var body = payload.ToArray();
        var file = new MemoryStream();
        using (var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(FormatVersion);
            w.Write((long)body.Length);
            w.Write(body);
            w.Write(SHA256.HashData(body));
        }
        return file.ToArray();
    }

    private static void WriteTensor(BinaryWriter w, Tensor t)
    {
        if (!t.DType.IsFloatingPoint())
            throw new AutoKlException(SaveOp, $"only float32/float64 tensors are saved, got {t.DType.Name()} {Shapes.Format(t.ShapeRef)}");
        w.Write(t.DType == DType.Float32 ? (byte)0 : (byte)1);
        w.Write(t.Rank);
        foreach (var d in t.ShapeRef) w.Write(d);
        DTypeDispatch.Run(t.DType, new WriteBody(w, t));
    }

    private readonly struct WriteBody(BinaryWriter w, Tensor t) : IFloatBody
    {
        public void Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T> => WriteElements<T>(w, t.Span<T>());
    }

    /// <summary>Writes the values as one block of little-endian bytes (the format's byte order).</summary>
    private static void WriteElements<T>(BinaryWriter w, ReadOnlySpan<T> values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values);
        if (BitConverter.IsLittleEndian)
        {
            w.Write(bytes);
            return;
        }
        var swapped = bytes.ToArray(); // the tensor's own bytes must not be touched
        ReverseEachElement<T>(swapped);
        w.Write(swapped);
    }

    private static void WriteValues(BinaryWriter w, IReadOnlyDictionary<string, double> values)
    {
        w.Write(values.Count);
        foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.Write(k);
            w.Write(v);
        }
    }

    private static void WriteSchedule(BinaryWriter w, SchedulerState s)
    {
        w.Write(s.Kind);
        WriteValues(w, s.Values);
        w.Write(s.BaseLrs.Count);
        foreach (var v in s.BaseLrs) w.Write(v);
        w.Write(s.LastLrs.Count);
        foreach (var v in s.LastLrs) w.Write(v);
        w.Write(s.Children.Count);
        foreach (var c in s.Children) WriteSchedule(w, c);
    }

    // ---- decoding ------------------------------------------------------------------------

    private sealed record Contents(Tensor[] Parameters, int[] Mapping, OptimizerState Optimizer, SchedulerState? Scheduler);

    private static Contents Decode(byte[] bytes, string path)
    {
        if (bytes.Length < 8 || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            throw new AutoKlException(LoadOp, $"'{path}' is not an AutoKl checkpoint (it does not start with \"AUTOKLCK\")" + (bytes.Length < 8 ? "; it is truncated" : ""));
        if (bytes.Length < HeaderLength)
            throw new AutoKlException(LoadOp, $"'{path}' is truncated: {bytes.Length} bytes, shorter than the {HeaderLength}-byte header");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version != FormatVersion)
            throw new AutoKlException(LoadOp, $"'{path}' has format version {version}; this build reads version {FormatVersion}");
        long length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12));
        long expected = HeaderLength + length + ChecksumLength;
        if (length < 0 || bytes.Length < expected)
            throw new AutoKlException(LoadOp, $"'{path}' is truncated: {bytes.Length} bytes, the header announces {expected}");
        if (bytes.Length > expected)
            throw new AutoKlException(LoadOp, $"'{path}' is corrupted: {bytes.Length} bytes, the header announces {expected}");
        var body = bytes.AsSpan(HeaderLength, (int)length);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(HeaderLength + (int)length, ChecksumLength)))
            throw new AutoKlException(LoadOp, $"'{path}' is corrupted: its SHA-256 checksum does not match its contents");
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes, HeaderLength, (int)length), Encoding.UTF8);
            var parameters = new Tensor[Count(r)];
            for (int i = 0; i < parameters.Length; i++) parameters[i] = ReadTensor(r);
            string name = r.ReadString();
            var groups = new List<OptimizerState.Group>();
            var mapping = new List<int>();
            int numbered = 0;
            for (int g = Count(r); g > 0; g--)
            {
                int n = Count(r);
                for (int k = 0; k < n; k++) mapping.Add(r.ReadInt32());
                groups.Add(new OptimizerState.Group(Enumerable.Range(numbered, n).ToArray(), ReadValues(r)));
                numbered += n;
            }
            var entries = new List<OptimizerState.Entry>();
            for (int s = Count(r); s > 0; s--)
            {
                int index = r.ReadInt32();
                long step = r.ReadInt64();
                var buffers = new Dictionary<string, Tensor>();
                for (int b = Count(r); b > 0; b--) buffers[r.ReadString()] = ReadTensor(r);
                entries.Add(new OptimizerState.Entry(index, step, buffers));
            }
            var scheduler = r.ReadByte() switch
            {
                0 => null,
                1 => ReadSchedule(r),
                var other => throw new InvalidDataException($"schedule flag {other}"),
            };
            if (r.BaseStream.Position != r.BaseStream.Length) throw new InvalidDataException("bytes left after the payload");
            return new Contents(parameters, mapping.ToArray(), new OptimizerState(name, groups, entries), scheduler);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ArgumentException or OverflowException or FormatException)
        {
            throw new AutoKlException(LoadOp, $"'{path}' is corrupted: its payload cannot be read ({e.Message})");
        }
    }

    private static int Count(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0 || n > r.BaseStream.Length) throw new InvalidDataException($"bad count {n}");
        return n;
    }

    private static Tensor ReadTensor(BinaryReader r)
    {
        byte code = r.ReadByte();
        if (code > 1) throw new InvalidDataException($"bad dtype code {code}");
        var shape = new int[Count(r)];
        long numel = 1;
        for (int i = 0; i < shape.Length; i++) numel = checked(numel * (shape[i] = Count(r)));
        return DTypeDispatch.Run<ReadBody, Tensor>(code == 0 ? DType.Float32 : DType.Float64, new(r, numel, shape));
    }

    private readonly struct ReadBody(BinaryReader r, long numel, int[] shape) : IFloatFunc<Tensor>
    {
        public Tensor Run<T>() where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            long remaining = r.BaseStream.Length - r.BaseStream.Position;
            if (numel * Unsafe.SizeOf<T>() > remaining)
                throw new InvalidDataException($"a tensor of {numel} elements does not fit in the {remaining} bytes left");
            return new Tensor(ReadElements<T>(r, numel), shape);
        }
    }

    /// <summary>Reads <paramref name="count"/> values stored as one block of little-endian bytes.</summary>
    private static T[] ReadElements<T>(BinaryReader r, long count) where T : unmanaged
    {
        var values = new T[count];
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        // BinaryReader reads no further ahead than each value it is asked for, so its stream is
        // positioned at the block; ReadExactly throws EndOfStreamException when the block is short.
        r.BaseStream.ReadExactly(bytes);
        if (!BitConverter.IsLittleEndian) ReverseEachElement<T>(bytes);
        return values;
    }

    /// <summary>Big-endian machines only: swaps each element's bytes between the file's order and the machine's.</summary>
    private static void ReverseEachElement<T>(Span<byte> bytes) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        for (int i = 0; i < bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }

    private static Dictionary<string, double> ReadValues(BinaryReader r)
    {
        var values = new Dictionary<string, double>();
        for (int n = Count(r); n > 0; n--) values[r.ReadString()] = r.ReadDouble();
        return values;
    }

    private static SchedulerState ReadSchedule(BinaryReader r)
    {
        string kind = r.ReadString();
        var values = ReadValues(r);
        var baseLrs = new double[Count(r)];
        for (int i = 0; i < baseLrs.Length; i++) baseLrs[i] = r.ReadDouble();
        var lastLrs = new double[Count(r)];
        for (int i = 0; i < lastLrs.Length; i++) lastLrs[i] = r.ReadDouble();
        var children = new SchedulerState[Count(r)];
        for (int i = 0; i < children.Length; i++) children[i] = ReadSchedule(r);
        return new SchedulerState(kind, values, baseLrs, lastLrs, children);
    }
}
