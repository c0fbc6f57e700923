using System.Collections.Concurrent;
using Verified.Host.Service;
using Verified.Simulation.Data;
using Verified.Simulation.Training;
using static TorchSharp.torch;

namespace Verified.Host.Cluster;

/// <summary>
/// A silo's training data: each data set loaded once (from its checked copy, SHA-256 verified, or from the silo's
/// <c>--data</c>), and its training images as tensors once, shared read-only by every client grain of the silo.
/// </summary>
internal sealed class ClusterData(SimulationData data) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TensorImages>> _train = new(StringComparer.Ordinal);

    /// <summary>The data set a spec names.</summary>
    public ImageDataSet Get(string dataset) => data.Get(dataset);

    /// <summary>Its training images as tensors, normalised with their own statistics (as every trainer does).</summary>
    public TensorImages Train(string dataset) =>
        _train.GetOrAdd(dataset, name => new Lazy<TensorImages>(() =>
        {
            ImageDataSet set = data.Get(name);
            return new TensorImages(set.Train, PixelStatistics.Of(set.Train.Images), CPU);
        })).Value;

    public void Dispose()
    {
        foreach (Lazy<TensorImages> images in _train.Values)
        {
            if (images.IsValueCreated)
            {
                images.Value.Dispose();
            }
        }
    }
}
