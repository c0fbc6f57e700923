using System.Collections.Immutable;
using System.Globalization;
using Verified.Theory;

namespace Verified.Codec;

/// <summary>
/// A thread-safe, bounded (least recently used) cache of Theory designs, so that neither side redoes
/// <see cref="Quantizers.Design"/> per upload: TBQSGD at 8 bits takes about half a second to design.
/// </summary>
/// <remarks>
/// <para>Theory's designs are pure, so a cached design is the design. Two views share one capacity each:
/// <see cref="GetOrDesign"/> for encoders (keyed by spec, model and dimension), and the decoder's level lookup keyed
/// by the header fields that rebuild the levels.</para>
/// <threadsafety>All members are safe to call from several threads. A design missing from the cache may be computed
/// by two threads at once; both get equal results.</threadsafety>
/// </remarks>
public sealed class CodecDesignCache
{
    private readonly LruCache<(QuantizerSpec Spec, GradientModel Model, int? Dimension), QuantizerDesign> _designs;
    private readonly LruCache<LevelKey, ImmutableArray<double>> _levels;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> designs per view. Range: 1..65536.</summary>
    public CodecDesignCache(int capacity = 64)
    {
        if (capacity is < 1 or > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, $"capacity = {capacity} is out of range: it must be an integer from 1 to 65536.");
        }
        Capacity = capacity;
        _designs = new(capacity);
        _levels = new(capacity);
    }

    /// <summary>The most entries kept per view.</summary>
    public int Capacity { get; }

    /// <summary><see cref="Quantizers.Design"/>(spec, model, dimension), computed once per distinct arguments.</summary>
    public QuantizerDesign GetOrDesign(QuantizerSpec spec, GradientModel model, int? dimension = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(model);
        // QSGD/NUQSGD and rand-k designs depend on the dimension; the others ignore it, so it is not part of their key.
        int? key = spec.DesignNeedsDimension ? dimension : null;
        if (DesignScaling.IsScaleEquivariant(spec) && DesignScaling.IsScaleFamily(model))
        {
            // Designed once at unit scale per (spec, family, shape), then multiplied (DesignScaling): a run that fits a
            // new scale to every upload and segment designs from scratch only when the shape is new.
            GradientModel unitModel = DesignScaling.UnitScale(model);
            if (!_designs.TryGet((spec, unitModel, key), out QuantizerDesign? unit))
            {
                unit = Quantizers.Design(spec, unitModel, dimension);
                _designs.Add((spec, unitModel, key), unit);
            }
            return model.Scale == 1 ? unit : DesignScaling.Rescale(unit, model);
        }
        if (_designs.TryGet((spec, model, key), out QuantizerDesign? design))
        {
            return design;
        }
        design = Quantizers.Design(spec, model, dimension);
        _designs.Add((spec, model, key), design);
        return design;
    }

    /// <summary>
    /// The levels a payload's indices address: truncated schemes rebuild the design from the header's spec and model;
    /// QSGD/NUQSGD use their magnitudes. Errors become <see cref="CodecFormatException"/>.
    /// </summary>
    internal ImmutableArray<double> LevelsFor(in PayloadHeader header)
    {
        var key = new LevelKey(header.Scheme, header.Bits, header.Threshold, header.Model,
            BitConverter.DoubleToUInt64Bits(header.Alpha), BitConverter.DoubleToUInt64Bits(header.ModelScale),
            BitConverter.DoubleToUInt64Bits(header.ModelShape), header.InnerCells, BitConverter.DoubleToUInt64Bits(header.Beta));
        if (_levels.TryGet(key, out ImmutableArray<double> levels))
        {
            return levels;
        }
        levels = Rebuild(header);
        _levels.Add(key, levels);
        return levels;
    }

    /// <summary>Whether a design has exactly the α and (TBQSGD) split the header records.</summary>
    private static bool MatchesHeader(QuantizerDesign design, in PayloadHeader header) =>
        BitConverter.DoubleToUInt64Bits(design.Alpha) == BitConverter.DoubleToUInt64Bits(header.Alpha)
        && (design.Split is not { } split
            || (split.InnerCells == header.InnerCells
                && BitConverter.DoubleToUInt64Bits(split.Beta) == BitConverter.DoubleToUInt64Bits(header.Beta)));

    private ImmutableArray<double> Rebuild(in PayloadHeader header)
    {
        if (WireFormat.IsNormScaled(header.Scheme))
        {
            return NormScaled.Magnitudes((NormScaledSpec)header.ToSpec());
        }
        QuantizerDesign design;
        try
        {
            // Through the encoders' view: in a process that both encodes and decodes (the simulation's server), the
            // decoder then reuses the design the encoder just made instead of designing it again (TBQSGD: milliseconds).
            design = GetOrDesign(header.ToSpec(), header.ToModel()!);
            if (!MatchesHeader(design, header) && DesignScaling.IsScaleEquivariant(design.Spec) && design.Model.Scale != 1)
            {
                // The cache scales a unit design; an encoder that designed for the model directly (Quantizers.Design, as
                // the golden vectors and older versions do) may have an α, or a TBQ split β, a few ulps away. Its design
                // is the direct one.
                QuantizerDesign direct = Quantizers.Design(header.ToSpec(), header.ToModel()!);
                if (MatchesHeader(direct, header))
                {
                    design = direct;
                }
            }
        }
#pragma warning disable CA1031 // Any failure to rebuild the levels is a property of the payload, reported as a format error.
        catch (Exception exception) when (exception is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            throw new CodecFormatException(
                $"The levels cannot be rebuilt from the header ({header.SchemeName}, b = {header.Bits}, {header.Model} model): {exception.Message}",
                exception);
        }
        if (BitConverter.DoubleToUInt64Bits(design.Alpha) != BitConverter.DoubleToUInt64Bits(header.Alpha))
        {
            throw new CodecFormatException(string.Create(
                CultureInfo.InvariantCulture,
                $"The header's α = {header.Alpha:R} differs from the α = {design.Alpha:R} that Quantizers.Design gives for its spec and model: the payload was made with other levels (another Theory version, or a design not made by Quantizers.Design)."));
        }
        if (design.Split is { } split
            && (split.InnerCells != header.InnerCells || BitConverter.DoubleToUInt64Bits(split.Beta) != BitConverter.DoubleToUInt64Bits(header.Beta)))
        {
            throw new CodecFormatException(string.Create(
                CultureInfo.InvariantCulture,
                $"The header's tbq split (β = {header.Beta:R}, n_in = {header.InnerCells}) differs from the split (β = {split.Beta:R}, n_in = {split.InnerCells}) that Quantizers.Design gives: the payload was made with other levels."));
        }
        ImmutableArray<double> levels = design.Levels;
        for (int i = 0; i < levels.Length; i++)
        {
            if (!float.IsFinite((float)levels[i]) || (i > 0 && !((float)levels[i] > (float)levels[i - 1])))
            {
                throw new CodecFormatException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The levels rebuilt from the header are not finite and strictly increasing in float32 (level {i} = {levels[i]:R}): no encoder could have written this payload."));
            }
        }
        return levels;
    }

    private readonly record struct LevelKey(
        WireScheme Scheme, int Bits, WireThreshold Threshold, WireModel Model, ulong Alpha, ulong Scale, ulong Shape, int InnerCells, ulong Beta);
}

/// <summary>A small lock-protected least-recently-used map; lookups that hit allocate nothing.</summary>
internal sealed class LruCache<TKey, TValue>(int capacity)
    where TKey : notnull
{
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> _map = new(capacity);
    private readonly LinkedList<(TKey Key, TValue Value)> _order = new();
    private readonly Lock _gate = new();

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _map.Count;
            }
        }
    }

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_gate)
        {
            if (_map.TryGetValue(key, out LinkedListNode<(TKey Key, TValue Value)>? node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    public void Add(TKey key, TValue value)
    {
        lock (_gate)
        {
            if (_map.ContainsKey(key))
            {
                return;
            }
            if (_map.Count >= capacity)
            {
                LinkedListNode<(TKey Key, TValue Value)> last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
            _map[key] = _order.AddFirst((key, value));
        }
    }
}
