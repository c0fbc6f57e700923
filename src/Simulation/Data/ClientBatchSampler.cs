namespace Verified.Simulation.Data;

/// <summary>
/// Draws one client's minibatches from its share: the share is visited in a fresh random order each epoch,
/// without replacement within an epoch, so every example is used once per epoch.
/// </summary>
/// <remarks>
/// A batch that crosses the end of an epoch continues in the next epoch's order (so a share smaller than the batch
/// repeats examples within one batch). Deterministic for a given <see cref="Random"/>; allocates nothing per batch.
/// </remarks>
public sealed class ClientBatchSampler
{
    private readonly int[] _order;
    private readonly Random _random;
    private int _next;

    /// <summary>Creates a sampler over <paramref name="share"/> that takes its randomness from <paramref name="random"/>.</summary>
    public ClientBatchSampler(ReadOnlyMemory<int> share, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfZero(share.Length);
        _order = share.ToArray();
        _random = random;
        _next = _order.Length; // shuffle before the first batch
    }

    /// <summary>The current pass over the share, from 0; −1 before the first batch.</summary>
    public int Epoch { get; private set; } = -1;

    /// <summary>
    /// Draws and discards <paramref name="batches"/> batches of <paramref name="batchSize"/>: a fresh sampler skipped
    /// by t batches is in the state the original was in after t (a checkpoint needs no sampler state but the round).
    /// </summary>
    public void Skip(int batches, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batches);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Span<long> scratch = batchSize <= 1024 ? stackalloc long[batchSize] : new long[batchSize];
        for (int b = 0; b < batches; b++)
        {
            NextBatch(scratch);
        }
    }

    /// <summary>Fills <paramref name="batch"/> with the next example indices.</summary>
    public void NextBatch(Span<long> batch)
    {
        for (int i = 0; i < batch.Length; i++)
        {
            if (_next == _order.Length)
            {
                _random.Shuffle(_order);
                _next = 0;
                Epoch++;
            }
            batch[i] = _order[_next++];
        }
    }
}
