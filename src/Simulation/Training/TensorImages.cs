using TorchSharp;
using Verified.Simulation.Data;
using static TorchSharp.torch;

namespace Verified.Simulation.Training;

/// <summary>
/// One split of a data set held as tensors: images as unsigned bytes [N, 1, H, W] and labels as int64 [N], with the
/// normalisation applied per batch.
/// </summary>
/// <remarks>
/// Pixels are scaled to [0, 1] and standardised with the training split's pixel mean and standard deviation (for MNIST
/// 0.1307 and 0.3081, the constants of PyTorch's reference example), computed exactly from a 256-bin histogram.
/// Keeping bytes (47 MB for MNIST's training images) instead of floats keeps memory at a quarter.
/// </remarks>
public sealed class TensorImages : IDisposable
{
    private readonly Tensor _images;
    private readonly Tensor _labels;

    /// <summary>Copies <paramref name="split"/> to <paramref name="device"/>, normalising with the given statistics.</summary>
    public TensorImages(LabeledImages split, PixelStatistics statistics, Device device)
    {
        ArgumentNullException.ThrowIfNull(split);
        ArgumentNullException.ThrowIfNull(statistics);
        Count = split.Count;
        Statistics = statistics;
        IdxImages images = split.Images;
        using (var scope = NewDisposeScope())
        {
            _images = tensor(images.Pixels.ToArray(), [images.Count, 1, images.Rows, images.Columns], ScalarType.Byte)
                .to(device).MoveToOuterDisposeScope();
            _labels = tensor(split.Labels.Values.ToArray(), [split.Count], ScalarType.Byte)
                .to(ScalarType.Int64).to(device).MoveToOuterDisposeScope();
        }
        // Detached: they are state for the lifetime of this object.
        _images.DetachFromDisposeScope();
        _labels.DetachFromDisposeScope();
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>The normalisation.</summary>
    public PixelStatistics Statistics { get; }

    /// <summary>
    /// The normalised images [B, 1, H, W] (float32) and labels [B] of the examples in <paramref name="indices"/>
    /// (an int64 tensor), created in the caller's dispose scope.
    /// </summary>
    public (Tensor Images, Tensor Labels) Batch(Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using var scope = NewDisposeScope();
        // Explicit Scalars, disposed after the call: an implicitly converted one is unreachable once its handle has
        // been passed to libtorch, so the finalizer may free it during the call (seen in the service: sub_ failed in
        // Scalar::toDouble at round 2222 of a resumed run). Same values, so the same results.
        using Scalar scale = (1.0 / (255.0 * Statistics.StandardDeviation)).ToScalar();
        using Scalar shift = (Statistics.Mean / Statistics.StandardDeviation).ToScalar();
        var x = _images.index_select(0, indices).to(ScalarType.Float32)
            .mul_(scale)
            .sub_(shift);
        var y = _labels.index_select(0, indices);
        return scope.MoveToOuter(x, y);
    }

    /// <summary>The examples from <paramref name="start"/>, <paramref name="length"/> of them, as in <see cref="Batch"/>.</summary>
    public (Tensor Images, Tensor Labels) Range(long start, long length)
    {
        using var scope = NewDisposeScope();
        using Scalar scale = (1.0 / (255.0 * Statistics.StandardDeviation)).ToScalar();
        using Scalar shift = (Statistics.Mean / Statistics.StandardDeviation).ToScalar();
        var x = _images.narrow(0, start, length).to(ScalarType.Float32)
            .mul_(scale)
            .sub_(shift);
        var y = _labels.narrow(0, start, length);
        return scope.MoveToOuter(x, y);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _images.Dispose();
        _labels.Dispose();
    }
}

/// <summary>Mean and standard deviation of pixel values scaled to [0, 1].</summary>
/// <param name="Mean">Mean pixel value. Range: [0, 1].</param>
/// <param name="StandardDeviation">Standard deviation. Range: &gt; 0.</param>
public sealed record PixelStatistics(double Mean, double StandardDeviation)
{
    /// <summary>Exact statistics of <paramref name="images"/>' pixels, from a 256-bin histogram.</summary>
    public static PixelStatistics Of(IdxImages images)
    {
        ArgumentNullException.ThrowIfNull(images);
        Span<long> histogram = stackalloc long[256];
        foreach (byte pixel in images.Pixels.Span)
        {
            histogram[pixel]++;
        }
        double n = images.Pixels.Length, sum = 0, sumSquares = 0;
        for (int v = 0; v < 256; v++)
        {
            double x = v / 255.0;
            sum += histogram[v] * x;
            sumSquares += histogram[v] * x * x;
        }
        double mean = sum / n;
        double variance = Math.Max(0, (sumSquares / n) - (mean * mean));
        // A constant image set has no spread; 1 keeps the normalisation a pure shift.
        return new PixelStatistics(mean, variance > 0 ? Math.Sqrt(variance) : 1.0);
    }
}
