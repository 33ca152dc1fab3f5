namespace Nabla.Kernels;

/// <summary>The work of <see cref="ParallelSegments"/>: elementwise over part of one segment.</summary>
internal interface ISegmentBody
{
    /// <summary>Processes elements [<paramref name="start"/>, start + <paramref name="length"/>) of segment <paramref name="segment"/>.</summary>
    void Invoke(int segment, int start, int length);
}

/// <summary>
/// Elementwise work over several spans of different lengths (every gradient or parameter of a model)
/// split into equal shares of their total length, one per thread, in a single parallel loop.
/// </summary>
/// <remarks>
/// Splitting each span on its own leaves every span under two <see cref="ParallelElementwise.MinChunk"/>s
/// on the calling thread and hands out one loop per span: for the 784-256-128-10 MLP, Adam split its
/// 200K-weight matrix but did the other 35K weights and zeroed all 235K gradients on the calling
/// thread while the other one waited (session 9 profile: 16 % of the second thread's time idle).
/// The work must be elementwise, so that where the cuts fall changes no result.
/// </remarks>
internal static class ParallelSegments
{
    /// <summary>Runs <paramref name="body"/> over segments 0..<paramref name="count"/>−1 of the given lengths.</summary>
    public static void Run<TBody>(int[] lengths, int count, TBody body) where TBody : class, ISegmentBody
    {
        long total = 0;
        for (int s = 0; s < count; s++) total += lengths[s];
        int chunks = ParallelElementwise.ChunkCount(total, out long per);
        if (chunks <= 1)
        {
            for (int s = 0; s < count; s++)
                if (lengths[s] > 0) body.Invoke(s, 0, lengths[s]);
            return;
        }
        WorkerPool.ParallelFor(chunks, new Splitter<TBody> { Body = body, Lengths = lengths, Count = count, Per = per, Total = total });
    }

    private struct Splitter<TBody> : IParallelForBody where TBody : class, ISegmentBody
    {
        public TBody Body;
        public int[] Lengths;
        public int Count;
        public long Per, Total;

        public readonly void Invoke(int index)
        {
            long from = index * Per, to = Math.Min(Total, from + Per);
            long offset = 0;
            for (int s = 0; s < Count && offset < to; s++)
            {
                long end = offset + Lengths[s];
                long a = Math.Max(from, offset), b = Math.Min(to, end);
                if (a < b) Body.Invoke(s, (int)(a - offset), (int)(b - a));
                offset = end;
            }
        }
    }
}
