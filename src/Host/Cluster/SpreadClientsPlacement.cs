using System.Globalization;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Verified.Host.Cluster;

/// <summary>
/// Places client c of a run (grain key <c>RUN/c</c>) on silo c mod K of the K compatible silos, sorted by address: a
/// run's clients spread evenly over the cluster, and the same cluster gives the same layout. A run grain (key
/// <c>RUN</c>) goes to silo h(RUN) mod K, h a fixed hash (FNV-1a), so the runs of a sweep spread over the silos too;
/// one keyed <c>RUN@S</c> (the service's worker S) goes to silo S mod K. When a silo dies, its
/// clients are placed over the K − 1 left. (Orleans' default placement chooses by load, so 8 clients could all land on
/// one silo; for a synchronous round the slowest silo sets the pace.)
/// </summary>
[Serializable]
[GenerateSerializer]
[Immutable]
[SuppressReferenceTracking]
[Alias("Verified.SpreadClientsPlacement")]
public sealed class SpreadClientsPlacement : PlacementStrategy
{
}

/// <summary>Marks a grain class for <see cref="SpreadClientsPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SpreadClientsPlacementAttribute : PlacementAttribute
{
    /// <summary>The attribute.</summary>
    public SpreadClientsPlacementAttribute()
        : base(new SpreadClientsPlacement())
    {
    }
}

/// <summary>The director of <see cref="SpreadClientsPlacement"/>.</summary>
internal sealed class SpreadClientsDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        SiloAddress[] silos = context.GetCompatibleSilos(target);
        if (silos.Length == 0)
        {
            throw new OrleansException($"No silo can host {target.GrainIdentity}.");
        }
        Array.Sort(silos, static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return Task.FromResult(silos[SiloIndex(target.GrainIdentity.Key.ToString(), silos.Length)]);
    }

    /// <summary>The index, among <paramref name="silos"/> sorted by address, of the silo a grain key goes to.</summary>
    public static int SiloIndex(string key, int silos)
    {
        int slash = key.LastIndexOf('/');
        if (slash >= 0 && int.TryParse(key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int client))
        {
            return client % silos;
        }
        int at = key.LastIndexOf('@');
        if (at >= 0 && int.TryParse(key.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int slot))
        {
            return slot % silos; // a run the service placed: RUN@SLOT
        }
        // string.GetHashCode is randomized per process; placement must agree between silos and runs.
        uint hash = 2166136261;
        foreach (char ch in key)
        {
            hash = (hash ^ ch) * 16777619;
        }
        return (int)(hash % (uint)silos);
    }
}
