using System.Collections;

namespace Nabla.Data;

/// <summary>One mini-batch produced by a <see cref="DataLoader"/>.</summary>
/// <remarks>
/// When the loader reuses buffers (the default, <see cref="DataLoader.ReuseBuffers"/>), the arrays
/// behind <see cref="Inputs"/>, <see cref="Targets"/>, <see cref="Labels"/> and <see cref="Indices"/> are
/// overwritten by a later batch of the same size from the same loader (in this epoch or a later one): use
/// a batch before moving on, or <see cref="Clone"/> it.
/// </remarks>
public sealed class Batch
{
    internal Batch(Tensor inputs, Tensor targets, int[] labels, int[] indices, int epoch, int index)
    {
        Inputs = inputs;
        Targets = targets;
        Labels = labels;
        Indices = indices;
        Epoch = epoch;
        Index = index;
    }

    /// <summary>The samples, shape [Size, ...sampleShape].</summary>
    public Tensor Inputs { get; }

    /// <summary>
    /// For a regression set (<see cref="Dataset.IsRegression"/>), the float targets, shape [Size, ...TargetShape];
    /// otherwise the labels as floats, shape [Size] (for losses that take float targets).
    /// </summary>
    public Tensor Targets { get; }

    /// <summary>The labels (length <see cref="Size"/>).</summary>
    public int[] Labels { get; }

    /// <summary>The positions in the data set of the samples in this batch.</summary>
    public int[] Indices { get; }

    /// <summary>Number of samples in this batch.</summary>
    public int Size => Labels.Length;

    /// <summary>The epoch this batch belongs to (0 for the first).</summary>
    public int Epoch { get; }

    /// <summary>Position of this batch within its epoch (0 for the first).</summary>
    public int Index { get; }

    /// <summary>A copy that no later batch overwrites.</summary>
    public Batch Clone() => new(Inputs.Clone(), Targets.Clone(), (int[])Labels.Clone(), (int[])Indices.Clone(), Epoch, Index);
}

/// <summary>
/// Cuts a <see cref="Dataset"/> into mini-batches. Each enumeration is one epoch: with
/// <see cref="Shuffle"/>, epoch e visits the samples in a permutation drawn from a generator seeded by
/// (seed, e) — a new order every epoch, the same orders for the same seed. Without shuffling the order is
/// 0..Count−1. The last, partial batch is kept unless <see cref="DropLast"/>.
/// </summary>
/// <example>
/// <code>
/// var loader = new DataLoader(train, batchSize: 64, shuffle: true, seed: 1);
/// for (int epoch = 0; epoch &lt; 5; epoch++)
///     foreach (var batch in loader) { /* batch.Inputs: [64, 1, 28, 28], batch.Labels */ }
/// </code>
/// </example>
public sealed class DataLoader : IEnumerable<Batch>
{
    private readonly int seed;
    private int epochsStarted;

    /// <summary>Creates a loader over <paramref name="dataset"/>.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch (at least 1).</param>
    /// <param name="shuffle">Visit the samples in a new seeded random order each epoch.</param>
    /// <param name="seed">Seed of the shuffles.</param>
    /// <param name="dropLast">Leave out the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    public DataLoader(Dataset dataset, int batchSize, bool shuffle = false, int seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        Dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        this.seed = seed;
    }

    /// <summary>The data set the batches come from.</summary>
    public Dataset Dataset { get; }

    /// <summary>Samples per batch (the last batch may be smaller unless <see cref="DropLast"/>).</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a new seeded random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a last batch smaller than <see cref="BatchSize"/> is left out.</summary>
    public bool DropLast { get; }

    /// <summary>
    /// Whether batches share buffers (default true: no allocation per batch beyond two small wrappers).
    /// Set to false to get a fresh set of arrays for every batch.
    /// </summary>
    public bool ReuseBuffers { get; set; } = true;

    /// <summary>Number of batches in one epoch.</summary>
    public int BatchCount => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>Number of samples one epoch visits.</summary>
    public int SamplesPerEpoch => DropLast ? Dataset.Count / BatchSize * BatchSize : Dataset.Count;

    /// <summary>How many epochs enumeration has started so far; the next <c>foreach</c> runs this epoch.</summary>
    public int Epoch => epochsStarted;

    /// <summary>Starts the next epoch (see the class remarks).</summary>
    public IEnumerator<Batch> GetEnumerator() => GetEpoch(epochsStarted++).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    // The last finished epoch's order and batch buffers, handed to the next epoch so that an epoch
    // boundary allocates nothing (60k samples: a 240 KB order and a 400 KB batch). Taken with an
    // exchange, so an enumeration that overlaps another one makes its own.
    private int[]? spareOrder;
    private Buffers? spareFull, sparePartial;

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>, the same every time for the same seed; this does not
    /// advance <see cref="Epoch"/>.
    /// </summary>
    public IEnumerable<Batch> GetEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return Iterate(epoch);
    }

    /// <summary>The order in which epoch <paramref name="epoch"/> visits the samples (before dropping the last batch).</summary>
    public int[] EpochOrder(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[Dataset.Count];
        FillEpochOrder(epoch, order);
        return order;
    }

    private void FillEpochOrder(int epoch, int[] order)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (Shuffle) Dataset.Shuffle(order, new Random(EpochSeed(seed, epoch)));
    }

    private static int EpochSeed(int seed, int epoch)
    {
        // SplitMix64 finaliser over (seed, epoch): nearby seeds and epochs give unrelated streams.
        ulong z = ((ulong)(uint)seed << 32 | (uint)epoch) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    private IEnumerable<Batch> Iterate(int epoch)
    {
        var ds = Dataset;
        int[] order = Interlocked.Exchange(ref spareOrder, null) is { } spare && spare.Length == ds.Count ? spare : new int[ds.Count];
        FillEpochOrder(epoch, order);
        int count = BatchCount;
        int s = ds.SampleSize;
        int[] sampleShape = ds.SampleShape;
        int[] labels = ds.Labels;
        float[]? targets = ds.Targets;
        int t = ds.TargetSize;

        Buffers? full = ReuseBuffers ? Interlocked.Exchange(ref spareFull, null) : null;
        Buffers? partial = ReuseBuffers ? Interlocked.Exchange(ref sparePartial, null) : null;
        for (int b = 0; b < count; b++)
        {
            int start = b * BatchSize;
            int size = Math.Min(BatchSize, order.Length - start);
            Buffers buf;
            if (!ReuseBuffers) buf = new Buffers(size, s, sampleShape, ds.TargetShape);
            else if (size == BatchSize) buf = full ??= new Buffers(size, s, sampleShape, ds.TargetShape);
            else buf = partial ??= new Buffers(size, s, sampleShape, ds.TargetShape);

            GatherInputs(ds, order, start, size, buf.Inputs);
            for (int j = 0; j < size; j++)
            {
                int k = order[start + j];
                buf.Labels[j] = labels[k];
                if (targets is null) buf.Targets[j] = labels[k];
                else Array.Copy(targets, (long)k * t, buf.Targets, (long)j * t, t);
                buf.Indices[j] = k;
            }
            yield return new Batch(new Tensor(buf.Inputs, buf.InputShape), new Tensor(buf.Targets, buf.TargetShape),
                buf.Labels, buf.Indices, epoch, b);
        }
        // Only a finished epoch hands its arrays on (one abandoned half-way keeps them).
        spareOrder = order;
        if (full is not null) spareFull = full;
        if (partial is not null) sparePartial = partial;
    }

    // Copies the batch's samples into `inputs`, converting byte data sets to floats (a table lookup per
    // value: 100K of them for 128 MNIST images), split over the worker threads in chunks of samples
    // as large as ParallelElementwise's minimum chunk, so small batches stay on the calling thread.
    private static void GatherInputs(Dataset ds, int[] order, int start, int size, float[] inputs)
    {
        int s = ds.SampleSize;
        int per = Math.Max(1, Kernels.ParallelElementwise.MinChunk / Math.Max(1, s));
        int chunks = (size + per - 1) / per;
        var body = new GatherBody { Dataset = ds, Order = order, Start = start, Size = size, Inputs = inputs, PerChunk = per };
        if (chunks <= 1 || Kernels.WorkerPool.Threads <= 1)
        {
            body.Invoke(0, size);
            return;
        }
        Kernels.WorkerPool.ParallelFor(chunks, body);
    }

    private struct GatherBody : Kernels.IParallelForBody
    {
        public Dataset Dataset;
        public int[] Order;
        public float[] Inputs;
        public int Start, Size, PerChunk;

        public readonly void Invoke(int index)
        {
            int first = index * PerChunk;
            Invoke(first, Math.Min(Size, first + PerChunk));
        }

        public readonly void Invoke(int from, int to)
        {
            int s = Dataset.SampleSize;
            // Samples are random rows: fetching two ahead hides most of their cache misses (a Fashion-MNIST
            // batch of 128 took 49 instead of 80 µs on a Zen 4 with the scalar lookup, 38 with AVX-512).
            const int Ahead = 2;
            for (int j = from; j < Math.Min(to, from + Ahead); j++) Dataset.PrefetchSample(Order[Start + j]);
            for (int j = from; j < to; j++)
            {
                if (j + Ahead < to) Dataset.PrefetchSample(Order[Start + j + Ahead]);
                Dataset.CopySample(Order[Start + j], Inputs.AsSpan((int)((long)j * s), s));
            }
        }
    }

    private sealed class Buffers
    {
        public Buffers(int size, int sampleSize, int[] sampleShape, int[]? targetShape = null)
        {
            Inputs = new float[(long)size * sampleSize];
            Targets = new float[(long)size * (targetShape?.Aggregate(1, (a, d) => a * d) ?? 1)];
            Labels = new int[size];
            Indices = new int[size];
            var shape = new int[sampleShape.Length + 1];
            shape[0] = size;
            sampleShape.CopyTo(shape, 1);
            InputShape = new Shape(shape);
            TargetShape = targetShape is null ? new Shape(size) : new Shape([size, .. targetShape]);
        }

        public float[] Inputs { get; }
        public float[] Targets { get; }
        public int[] Labels { get; }
        public int[] Indices { get; }
        public Shape InputShape { get; }
        public Shape TargetShape { get; }
    }
}
