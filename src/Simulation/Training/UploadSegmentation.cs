using System.Collections.Immutable;
using System.Globalization;
using Verified.Codec;

namespace Verified.Simulation.Training;

/// <summary>How an upload is split into segments, each with its own fitted model and design.</summary>
public enum SegmentationKind
{
    /// <summary>One segment: the whole flattened gradient (one fit for every coordinate), a version-1 payload.</summary>
    Whole,

    /// <summary>One segment per parameter tensor, in the model's parameter order (as GRACE and the first paper's own
    /// harness compress); tensors under <see cref="UploadSegmentation.FullPrecisionBelow"/> coordinates go as float32.</summary>
    Tensor,

    /// <summary>Fixed buckets of N consecutive coordinates of the flattened gradient (as PyTorch DDP's communication
    /// hooks and BytePS partition it); the last bucket holds the remainder.</summary>
    Bucket,
}

/// <summary>
/// <c>--segments whole|tensor|bucket:N</c>: how <see cref="CodecChannel"/> splits each upload. Every scheme is split
/// the same way (QSGD/NUQSGD with a norm per segment), so the baselines get the same treatment as the truncated
/// schemes. The sparsifiers are never segmented.
/// </summary>
/// <param name="Kind">Whole, per tensor, or fixed buckets.</param>
/// <param name="BucketLength">N for <see cref="SegmentationKind.Bucket"/>; 0 otherwise.</param>
public sealed record UploadSegmentation(SegmentationKind Kind, int BucketLength = 0)
{
    /// <summary>
    /// With <c>tensor</c>, tensors of fewer coordinates than this go as float32 segments: the biases and other small
    /// tensors. Why: a fit on a few hundred values is noisy, the segment's 72-byte header and table entry are a large
    /// share of a small segment, and their float32 cost is small: the CNN's small tensors (conv1's 288 weights and the
    /// four biases) hold 522 of its 1,199,882 coordinates, 2 KB of a 450 KB 3-bit upload. Compression hooks in the
    /// field skip such tensors for the same reasons (PowerSGD's DDP hook sends 1-D tensors uncompressed).
    /// </summary>
    public const int FullPrecisionBelow = 1024;

    /// <summary>The smallest bucket length accepted.</summary>
    public const int MinimumBucketLength = 64;

    /// <summary>The whole vector as one segment (the default).</summary>
    public static UploadSegmentation Whole { get; } = new(SegmentationKind.Whole);

    /// <summary>One segment per parameter tensor.</summary>
    public static UploadSegmentation PerTensor { get; } = new(SegmentationKind.Tensor);

    /// <summary>Buckets of <paramref name="length"/> coordinates.</summary>
    public static UploadSegmentation Buckets(int length) =>
        length >= MinimumBucketLength
            ? new(SegmentationKind.Bucket, length)
            : throw new ArgumentOutOfRangeException(nameof(length), length, string.Create(CultureInfo.InvariantCulture,
                $"bucket:{length} is out of range: a bucket holds at least {MinimumBucketLength} coordinates."));

    /// <summary>As written in <c>--segments</c> and JSON: <c>whole</c>, <c>tensor</c>, <c>bucket:N</c>.</summary>
    public string Name => Kind switch
    {
        SegmentationKind.Tensor => "tensor",
        SegmentationKind.Bucket => string.Create(CultureInfo.InvariantCulture, $"bucket:{BucketLength}"),
        _ => "whole",
    };

    /// <summary>The run label's part: empty for whole, <c>tensor</c>, <c>bucketN</c>.</summary>
    public string LabelPart => Kind switch
    {
        SegmentationKind.Tensor => "tensor",
        SegmentationKind.Bucket => string.Create(CultureInfo.InvariantCulture, $"bucket{BucketLength}"),
        _ => "",
    };

    /// <summary>The accepted forms, for help and error messages.</summary>
    public const string Forms = "whole, tensor or bucket:N (N ≥ 64)";

    /// <summary>Parses <c>whole</c>, <c>tensor</c> or <c>bucket:N</c>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="segmentation">The result when valid.</param>
    /// <param name="error">What is wrong and what is allowed, when not.</param>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UploadSegmentation? segmentation, out string error)
    {
        error = "";
        segmentation = text switch
        {
            "whole" => Whole,
            "tensor" => PerTensor,
            _ => null,
        };
        if (segmentation is not null)
        {
            return true;
        }
        if (text is not null && text.StartsWith("bucket:", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out int length))
        {
            if (length >= MinimumBucketLength)
            {
                segmentation = new UploadSegmentation(SegmentationKind.Bucket, length);
                return true;
            }
            error = string.Create(CultureInfo.InvariantCulture,
                $"segments = '{text}' is out of range: a bucket holds at least {MinimumBucketLength} coordinates (bucket:4096 is a common choice).");
            return false;
        }
        error = $"segments = '{text}' is not a segmentation: use {Forms}.";
        return false;
    }

    /// <summary>
    /// The segments of an upload of <paramref name="dimension"/> coordinates whose parameter tensors have
    /// <paramref name="tensorSizes"/> coordinates in order, and which of them go as float32.
    /// </summary>
    /// <exception cref="ArgumentException">With <c>tensor</c>, the sizes do not add up to the dimension.</exception>
    public UploadSegmentPlan Plan(int dimension, ReadOnlySpan<int> tensorSizes)
    {
        switch (Kind)
        {
            case SegmentationKind.Tensor:
                long sum = 0;
                foreach (int size in tensorSizes)
                {
                    sum += size;
                }
                if (sum != dimension)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"The {tensorSizes.Length} tensor sizes add up to {sum}, but the upload has {dimension} coordinates."), nameof(tensorSizes));
                }
                var fullPrecision = ImmutableArray.CreateBuilder<bool>(tensorSizes.Length);
                foreach (int size in tensorSizes)
                {
                    fullPrecision.Add(size < FullPrecisionBelow);
                }
                return new UploadSegmentPlan(SegmentLayout.Sizes(tensorSizes), fullPrecision.MoveToImmutable());
            case SegmentationKind.Bucket:
                SegmentLayout buckets = SegmentLayout.Buckets(dimension, BucketLength);
                return new UploadSegmentPlan(buckets, ImmutableArray.Create(new bool[buckets.Count]));
            default:
                SegmentLayout whole = SegmentLayout.Whole(dimension);
                return new UploadSegmentPlan(whole, ImmutableArray.Create(new bool[whole.Count]));
        }
    }
}

/// <summary>The segments of an upload and which go as float32.</summary>
/// <param name="Layout">The segments.</param>
/// <param name="FullPrecision">Per segment: sent as float32 instead of with the run's scheme.</param>
public sealed record UploadSegmentPlan(SegmentLayout Layout, ImmutableArray<bool> FullPrecision)
{
    /// <summary>Segments sent as float32.</summary>
    public int FullPrecisionCount => FullPrecision.Count(static f => f);
}
