using System.Collections.Immutable;
using System.Globalization;

namespace Verified.Codec;

/// <summary>One segment of a <see cref="SegmentLayout"/>: the coordinates [Start, Start + Length) of the vector.</summary>
/// <param name="Start">The segment's first coordinate in the whole vector.</param>
/// <param name="Length">The number of coordinates, ≥ 1.</param>
public readonly record struct SegmentRange(int Start, int Length)
{
    /// <summary>One past the segment's last coordinate.</summary>
    public int End => Start + Length;
}

/// <summary>
/// How a vector of <see cref="Dimension"/> coordinates is split into the segments of a version-3 payload: consecutive,
/// non-empty ranges that tile [0, d) in order. Immutable; validated by its factories.
/// </summary>
/// <remarks>
/// <para>Every segment is encoded with its own fitted model and design (docs/wire-format.md, "Segmented payloads").
/// A vector of dimension 0 has no segments.</para>
/// <threadsafety>Immutable, so safe to share between threads.</threadsafety>
/// </remarks>
public sealed class SegmentLayout : IEquatable<SegmentLayout>
{
    // Boundaries: segment i is [_bounds[i], _bounds[i + 1]); _bounds[0] = 0 and _bounds[^1] = d.
    private readonly ImmutableArray<int> _bounds;

    private SegmentLayout(ImmutableArray<int> bounds)
    {
        _bounds = bounds;
    }

    /// <summary>The largest dimension a layout may cover (as for a single payload).</summary>
    public const int MaximumDimension = int.MaxValue - 1;

    /// <summary>d, the coordinates the segments cover.</summary>
    public int Dimension => _bounds[^1];

    /// <summary>The number of segments (0 only when d = 0).</summary>
    public int Count => _bounds.Length - 1;

    /// <summary>Segment <paramref name="index"/>.</summary>
    public SegmentRange this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            return new SegmentRange(_bounds[index], _bounds[index + 1] - _bounds[index]);
        }
    }

    /// <summary>One segment covering the whole vector (none when d = 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">d &lt; 0 or d &gt; <see cref="MaximumDimension"/>.</exception>
    public static SegmentLayout Whole(int dimension)
    {
        CheckDimension(dimension);
        return dimension == 0 ? new SegmentLayout([0]) : new SegmentLayout([0, dimension]);
    }

    /// <summary>Fixed buckets of <paramref name="bucketLength"/> coordinates; the last one holds the remainder.</summary>
    /// <exception cref="ArgumentOutOfRangeException">d is out of range, or the bucket length is &lt; 1.</exception>
    public static SegmentLayout Buckets(int dimension, int bucketLength)
    {
        CheckDimension(dimension);
        if (bucketLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(bucketLength), bucketLength, string.Create(
                CultureInfo.InvariantCulture, $"bucketLength = {bucketLength} is out of range: a bucket holds at least 1 coordinate."));
        }
        int count = (int)(((long)dimension + bucketLength - 1) / bucketLength);
        var bounds = ImmutableArray.CreateBuilder<int>(count + 1);
        for (long start = 0; start < dimension; start += bucketLength)
        {
            bounds.Add((int)start);
        }
        bounds.Add(dimension);
        return new SegmentLayout(bounds.MoveToImmutable());
    }

    /// <summary>Consecutive segments of the given lengths, in order; d is their sum.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A length is &lt; 1, or the sum exceeds <see cref="MaximumDimension"/>.</exception>
    public static SegmentLayout Sizes(params ReadOnlySpan<int> lengths)
    {
        var bounds = ImmutableArray.CreateBuilder<int>(lengths.Length + 1);
        bounds.Add(0);
        long end = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            if (lengths[i] < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[i], string.Create(
                    CultureInfo.InvariantCulture, $"Segment {i} has length {lengths[i]}: every segment holds at least 1 coordinate."));
            }
            end += lengths[i];
            if (end > MaximumDimension)
            {
                throw new ArgumentOutOfRangeException(nameof(lengths), end, string.Create(
                    CultureInfo.InvariantCulture, $"The segments cover {end} coordinates, more than {MaximumDimension}."));
            }
            bounds.Add((int)end);
        }
        return new SegmentLayout(bounds.MoveToImmutable());
    }

    /// <inheritdoc/>
    public bool Equals(SegmentLayout? other) => other is not null && _bounds.AsSpan().SequenceEqual(other._bounds.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SegmentLayout);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (int bound in _bounds)
        {
            hash.Add(bound);
        }
        return hash.ToHashCode();
    }

    /// <summary>For example <c>3 segments of 10: [0, 4) [4, 8) [8, 10)</c> (the first 8 ranges only).</summary>
    public override string ToString()
    {
        IEnumerable<string> ranges = Enumerable.Range(0, Math.Min(Count, 8)).Select(i => string.Create(CultureInfo.InvariantCulture, $"[{_bounds[i]}, {_bounds[i + 1]})"));
        return string.Create(CultureInfo.InvariantCulture, $"{Count} segments of {Dimension}: {string.Join(' ', ranges)}{(Count > 8 ? " …" : "")}");
    }

    private static void CheckDimension(int dimension)
    {
        if (dimension is < 0 or > MaximumDimension)
        {
            throw new ArgumentOutOfRangeException(nameof(dimension), dimension, string.Create(
                CultureInfo.InvariantCulture, $"dimension = {dimension} is out of range: it must be an integer from 0 to {MaximumDimension}."));
        }
    }
}
