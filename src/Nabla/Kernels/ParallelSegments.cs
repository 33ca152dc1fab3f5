namespace Nabla.Kernels;

/// <summary>The work of <see cref="ParallelSegments"/>: elementwise over part of one segment.</summary>
internal interface ISegmentBody
{
    /// <summary>Processes elements [<paramref name="start"/>, start + <paramref name="length"/>) of segment <paramref name="segment"/>.</summary>
    void Invoke(int segment, int start, int length);
}

/// <summary>
/// Elementwise work over several spans of different lengths (every gradient or parameter of a model)
/// split into equal shares, one per thread, in a single parallel loop: chunk i of c takes the i-th
/// c-th of every span.
/// </summary>
/// <remarks>
/// Splitting each span on its own leaves every span under two <see cref="ParallelElementwise.MinChunk"/>s
/// on the calling thread and hands out one loop per span: for the 784-256-128-10 MLP, Adam split its
/// 200K-weight matrix but did the other 35K weights and zeroed all 235K gradients on the calling
/// thread while the other one waited (session 9 profile: 16 % of the second thread's time idle).
/// Each chunk takes a share of every span rather than a contiguous stretch of their concatenation,
/// so that the thread homed on chunk i (see <see cref="WorkerPool"/>) owns the same rows of every
/// weight matrix as the GEMMs that read and write them: their row ranges are split the same way. With
/// contiguous stretches, the first thread's share of the MLP's first weight matrix ended 22 rows
/// past the GEMMs' split, and Adam took 140–159 µs a step on 2 threads where 94–112 µs remained
/// with equal shares of every span and the packing order of <see cref="PackedGemm{TK}"/> (session 11).
/// The work must be elementwise, so that where the cuts fall changes no result.
/// </remarks>
internal static class ParallelSegments
{
    /// <summary>Runs <paramref name="body"/> over segments 0..<paramref name="count"/>−1 of the given lengths.</summary>
    public static void Run<TBody>(int[] lengths, int count, TBody body) where TBody : class, ISegmentBody
    {
        long total = 0;
        for (int s = 0; s < count; s++) total += lengths[s];
        int chunks = ParallelElementwise.ChunkCount(total, out _);
        if (chunks <= 1)
        {
            for (int s = 0; s < count; s++)
                if (lengths[s] > 0) body.Invoke(s, 0, lengths[s]);
            return;
        }
        WorkerPool.ParallelFor(chunks, new Splitter<TBody> { Body = body, Lengths = lengths, Count = count, Parts = chunks });
    }

    private struct Splitter<TBody> : IParallelForBody where TBody : class, ISegmentBody
    {
        public TBody Body;
        public int[] Lengths;
        public int Count, Parts;

        public readonly void Invoke(int index)
        {
            for (int s = 0; s < Count; s++)
            {
                int length = Lengths[s];
                // Cuts on 16-float (64-byte) boundaries, so that no cache line is written by two threads.
                int from = Cut(length, index, Parts), to = Cut(length, index + 1, Parts);
                if (from < to) Body.Invoke(s, from, to - from);
            }
        }
    }

    /// <summary>Where share <paramref name="i"/> of <paramref name="parts"/> of a span of <paramref name="length"/> begins: a multiple of 16, or the end.</summary>
    internal static int Cut(int length, int i, int parts) => i >= parts ? length : (int)((long)length * i / parts) & ~15;
}
