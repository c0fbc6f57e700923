using Microsoft.Extensions.Options;
using Verified.Simulation.Data;

namespace Verified.Host.Service;

/// <summary>
/// The training data the jobs share, each data set loaded once at its first use (it is read-only): the checked copies
/// of <see cref="NamedDataSets"/> by a spec's <c>dataset</c>, or, for every run, the IDX files in
/// <see cref="ServiceOptions.Data"/>.
/// </summary>
internal sealed class SimulationData
{
    private readonly Func<string, ImageDataSet> _load;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<ImageDataSet>> _sets = new(StringComparer.Ordinal);

    public SimulationData(IOptions<ServiceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? directory = options.Value.Data;
        _load = directory is null ? NamedDataSets.Load : _ => IdxDirectory.Load(directory);
    }

    /// <summary>Data loaded elsewhere, served for every data set name (tests share one copy among hosts).</summary>
    public SimulationData(ImageDataSet data) => _load = _ => data;

    /// <summary>The data set a spec names (loaded at its first call).</summary>
    /// <exception cref="DataSetNotFoundException">The data set is not installed, or a file is missing or damaged.</exception>
    /// <exception cref="IdxFormatException">A file is not IDX.</exception>
    public ImageDataSet Get(string dataset = NamedDataSets.Mnist)
    {
        Lazy<ImageDataSet> set = _sets.GetOrAdd(dataset, name => new Lazy<ImageDataSet>(() => _load(name)));
        try
        {
            return set.Value;
        }
        catch (DataSetNotFoundException)
        {
            // A missing package is installed while the service runs: try again at the next request.
            _sets.TryRemove(new KeyValuePair<string, Lazy<ImageDataSet>>(dataset, set));
            throw;
        }
    }
}
