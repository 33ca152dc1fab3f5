using Nabla.Data;

namespace Nabla.Distributed;

/// <summary>
/// Splits every epoch of a data set among the ranks: each global batch of <c>BatchSize × WorldSize</c>
/// samples (taken in the seeded epoch order of a <see cref="DataLoader"/> with that batch size, so one
/// process with the N-times larger batch sees the same batches) is cut into WorldSize contiguous parts,
/// one per rank. Every sample is visited exactly once per epoch, by one rank; nothing is padded or
/// repeated, so the last global batch may give some ranks fewer samples, or none.
/// </summary>
public sealed class DistributedSampler
{
    private readonly DataLoader order;

    /// <summary>Creates the sampler.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSizePerRank">Samples per rank per step (the global batch is WorldSize times this).</param>
    /// <param name="rank">This rank.</param>
    /// <param name="worldSize">Number of ranks.</param>
    /// <param name="shuffle">A new seeded order every epoch (the same on every rank).</param>
    /// <param name="seed">Seed of the orders.</param>
    /// <param name="dropLast">Leave out a last global batch smaller than the others.</param>
    public DistributedSampler(Dataset dataset, int batchSizePerRank, int rank, int worldSize, bool shuffle = true, int seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSizePerRank, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if ((uint)rank >= (uint)worldSize) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"DistributedSampler: rank must be in [0, {worldSize}).");
        if ((long)batchSizePerRank * worldSize > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(batchSizePerRank), "DistributedSampler: the global batch is too large.");
        Dataset = dataset;
        Rank = rank;
        WorldSize = worldSize;
        BatchSizePerRank = batchSizePerRank;
        order = new DataLoader(dataset, batchSizePerRank * worldSize, shuffle, seed, dropLast);
    }

    /// <summary>The data set.</summary>
    public Dataset Dataset { get; }

    /// <summary>This rank.</summary>
    public int Rank { get; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Samples per rank in a full step.</summary>
    public int BatchSizePerRank { get; }

    /// <summary>Samples per step over all ranks.</summary>
    public int GlobalBatchSize => order.BatchSize;

    /// <summary>Steps per epoch (the same on every rank).</summary>
    public int BatchCount => order.BatchCount;

    /// <summary>The steps of epoch <paramref name="epoch"/> (0-based): this rank's sample indices (possibly none) and the step's global sample count.</summary>
    public IEnumerable<(int[] Indices, int GlobalCount)> GetEpoch(int epoch)
    {
        int[] all = order.EpochOrder(epoch);
        int n = order.SamplesPerEpoch, g = GlobalBatchSize;
        for (int start = 0; start < n; start += g)
        {
            int len = Math.Min(g, n - start);
            int lo = (int)((long)len * Rank / WorldSize), hi = (int)((long)len * (Rank + 1) / WorldSize);
            yield return (all.AsSpan(start + lo, hi - lo).ToArray(), len);
        }
    }

    /// <summary>Rank <paramref name="rank"/>'s contiguous share of <paramref name="count"/> items (for evaluation): [Start, Start + Count).</summary>
    public static (int Start, int Count) Shard(int count, int rank, int worldSize)
    {
        int lo = (int)((long)count * rank / worldSize), hi = (int)((long)count * (rank + 1) / worldSize);
        return (lo, hi - lo);
    }
}
