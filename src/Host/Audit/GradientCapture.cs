using System.Globalization;
using System.Runtime.InteropServices;
using Verified.Simulation.Experiments;
using Verified.Simulation.Training;

namespace Verified.Host.Audit;

/// <summary>
/// Stores raw client gradients of rounds 0, k, 2k, … for <c>verified audit</c> (<c>verified run --capture-gradients k</c>).
/// </summary>
/// <remarks>
/// <para>Layout, beside the run's other outputs (docs/audit-example.md):</para>
/// <code>
/// OUT/gradients/&lt;label&gt;-seed&lt;s&gt;/round-&lt;r&gt;-client-&lt;c&gt;.f32   d little-endian float32, nothing else (4·d bytes)
/// OUT/gradients/&lt;label&gt;-seed&lt;s&gt;/index.json                  format, dimension, spec, and one entry per file
/// </code>
/// <para>r is the upload's round key (0-based: the gradient at θ after r steps), c the client. The index is rewritten
/// after every file, so an interrupted run leaves a consistent one. All captures of one invocation share a
/// <see cref="CaptureBudget"/>: once a file would pass it, capture stops for good, the index says so (complete =
/// false) and one line on standard error says so too.</para>
/// </remarks>
internal sealed class GradientCapture : IUploadObserver
{
    private readonly ExperimentSpec _spec;
    private readonly CaptureBudget _budget;
    private readonly TextWriter _error;
    private readonly List<CapturedFile> _files = [];
    private int _dimension;

    /// <summary>Captures into <c>root/gradients/&lt;label&gt;-seed&lt;s&gt;</c>.</summary>
    public GradientCapture(string root, ExperimentSpec spec, int every, CaptureBudget budget, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        _spec = spec;
        Every = every;
        _budget = budget;
        _error = error;
        Directory = System.IO.Directory.CreateDirectory(
            Path.Combine(root, "gradients", string.Create(CultureInfo.InvariantCulture, $"{spec.Label}-seed{spec.Seed}"))).FullName;
    }

    /// <summary>The capture directory.</summary>
    public string Directory { get; }

    /// <summary>k.</summary>
    public int Every { get; }

    /// <summary>The model's parameter tensor sizes, recorded in the index so that <c>verified audit --segments tensor</c>
    /// can split the captured gradients as <c>verified run --segments tensor</c> does. Empty: not known.</summary>
    public System.Collections.Immutable.ImmutableArray<int> TensorSizes { get; set; } = [];

    /// <summary>The files written.</summary>
    public IReadOnlyList<CapturedFile> Files => _files;

    /// <summary>Path of the index.</summary>
    public string IndexPath => Path.Combine(Directory, "index.json");

    /// <inheritdoc />
    public void Observe(UploadKey key, ReadOnlySpan<float> gradient)
    {
        if (key.Round % Every != 0 || _budget.Exhausted)
        {
            return;
        }
        long bytes = (long)sizeof(float) * gradient.Length;
        if (!_budget.TryTake(bytes))
        {
            _error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verified run: gradient capture stopped at {_spec.Label} round {key.Round} client {key.Client}: the next file ({bytes / 1e6:0.0} MB) would pass --capture-limit-mb {_budget.LimitBytes / 1e6:0} ({_budget.UsedBytes / 1e6:0.0} MB written)."));
            WriteIndex();
            return;
        }
        _dimension = gradient.Length;
        string name = string.Create(CultureInfo.InvariantCulture, $"round-{key.Round}-client-{key.Client}.f32");
        using (FileStream stream = File.Create(Path.Combine(Directory, name)))
        {
            Write(stream, gradient);
        }
        _files.Add(new CapturedFile(key.Round, key.Client, name, bytes));
        WriteIndex();
    }

    /// <summary>Writes float32 values little-endian whatever the machine's byte order.</summary>
    internal static void Write(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> buffer = stackalloc byte[4];
        foreach (float value in values)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
            stream.Write(buffer);
        }
    }

    /// <summary>Reads a .f32 file: its length / 4 little-endian float32 values.</summary>
    /// <exception cref="InvalidDataException">The length is not a multiple of 4, or the file is empty.</exception>
    internal static float[] Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length == 0 || bytes.Length % 4 != 0)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"{path} has {bytes.Length} bytes: a gradient file holds d little-endian float32 values, so its length must be a positive multiple of 4."));
        }
        var values = new float[bytes.Length / 4];
        for (int j = 0; j < values.Length; j++)
        {
            values[j] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * j));
        }
        return values;
    }

    private void WriteIndex() =>
        HostJson.WriteFile(IndexPath, new CaptureIndexJson(
            "float32-le",
            1,
            _spec.Label,
            _spec.Scheme,
            _spec.EffectiveBits,
            _spec.Seed,
            _spec.Model,
            _spec.Clients,
            _dimension,
            Every,
            _budget.LimitBytes,
            !_budget.Exhausted,
            [.. _files.Select(f => new CapturedFileJson(f.Round, f.Client, f.Name, f.Bytes))],
            [.. TensorSizes]), HostJson.Context.CaptureIndexJson);
}

/// <summary><c>index.json</c> of a capture directory (the layout in <see cref="GradientCapture"/>'s remarks).</summary>
/// <remarks><c>Complete</c>: false once the capture budget refused a file.</remarks>
internal sealed record CaptureIndexJson(
    string Format,
    int Version,
    string Label,
    string Scheme,
    int Bits,
    long Seed,
    string Model,
    int Clients,
    int Dimension,
    int Every,
    long LimitBytes,
    bool Complete,
    CapturedFileJson[] Files,
    int[] TensorSizes);

/// <summary>One entry of <see cref="CaptureIndexJson"/>.</summary>
/// <remarks><c>File</c>: name in the capture directory.</remarks>
internal sealed record CapturedFileJson(int Round, int Client, string File, long Bytes);

/// <summary>One stored gradient.</summary>
/// <param name="Round">The upload's round key.</param>
/// <param name="Client">The client.</param>
/// <param name="Name">File name in the capture directory.</param>
/// <param name="Bytes">4·d.</param>
internal sealed record CapturedFile(int Round, int Client, string Name, long Bytes);

/// <summary>The bytes all captures of one invocation may write together.</summary>
/// <param name="limitBytes">The limit.</param>
internal sealed class CaptureBudget(long limitBytes)
{
    /// <summary>The limit.</summary>
    public long LimitBytes { get; } = limitBytes;

    /// <summary>Bytes written so far.</summary>
    public long UsedBytes { get; private set; }

    /// <summary>Whether a file has been refused.</summary>
    public bool Exhausted { get; private set; }

    /// <summary>Reserves <paramref name="bytes"/> if they fit; otherwise marks the budget exhausted.</summary>
    public bool TryTake(long bytes)
    {
        if (Exhausted || UsedBytes + bytes > LimitBytes)
        {
            Exhausted = true;
            return false;
        }
        UsedBytes += bytes;
        return true;
    }
}
