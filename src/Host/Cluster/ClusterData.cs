using System.Collections.Concurrent;
using Verified.Host.Service;
using Verified.Simulation.Data;
using Verified.Simulation.Training;
using static TorchSharp.torch;

namespace Verified.Host.Cluster;

/// <summary>How many client grains of a silo compute at once: at least 1.</summary>
/// <param name="Count">The number.</param>
internal sealed record ComputeSlots(int Count)
{
    /// <summary>One per core: the default for a silo alone on its machine.</summary>
    public static ComputeSlots PerCore => new(Environment.ProcessorCount);
}

/// <summary>
/// A silo's training data: each data set loaded once (from its checked copy, SHA-256 verified, or from the silo's
/// <c>--data</c>), and its training images as tensors once, shared read-only by every client grain of the silo.
/// </summary>
internal sealed class ClusterData(SimulationData data, ComputeSlots slots) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TensorImages>> _train = new(StringComparer.Ordinal);

    /// <summary>
    /// How many client grains of this silo compute at once (<c>verified silo --compute-slots</c>). More than the
    /// silo's share of the cores only makes them take turns on the CPU with cold caches, and the round waits for the
    /// last one either way.
    /// </summary>
    public SemaphoreSlim Compute { get; } = new(slots.Count, slots.Count);

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
        Compute.Dispose();
        foreach (Lazy<TensorImages> images in _train.Values)
        {
            if (images.IsValueCreated)
            {
                images.Value.Dispose();
            }
        }
    }
}
