using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// <see cref="ParallelSegments"/> visits every element of every span exactly once, and chunk i takes
/// the i-th share of each span (cut on 64-byte boundaries), so that the thread homed on it owns the
/// same rows of every weight matrix as the GEMMs that split rows the same way.
/// </summary>
[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class ParallelSegmentsTests
{
    private sealed class Recorder(int[] lengths) : ISegmentBody
    {
        public readonly int[][] Visits = lengths.Select(n => new int[n]).ToArray();
        public readonly List<(int Segment, int Start, int Length)> Calls = new();

        public void Invoke(int segment, int start, int length)
        {
            lock (Calls) Calls.Add((segment, start, length));
            for (int i = start; i < start + length; i++) Interlocked.Increment(ref Visits[segment][i]);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_element_is_visited_once(int threads)
    {
        // The MLP's parameters, and spans shorter than a share or than one 16-float line.
        int[] lengths = [256 * 784, 256, 128 * 256, 128, 10 * 128, 10, 0, 5, 17, 3 * ParallelElementwise.MinChunk + 7];
        var body = new Recorder(lengths);
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try { ParallelSegments.Run(lengths, lengths.Length, body); }
        finally { WorkerPool.Threads = saved; }
        for (int s = 0; s < lengths.Length; s++)
            Assert.True(body.Visits[s].All(v => v == 1), $"segment {s} (length {lengths[s]}) not visited exactly once");
    }

    [Fact]
    public void Chunk_i_takes_the_ith_share_of_each_span()
    {
        // 2 shares of the MLP's first weight matrix [256, 784]: rows 0–127 and 128–255, as the GEMMs split them.
        Assert.Equal(0, ParallelSegments.Cut(256 * 784, 0, 2));
        Assert.Equal(128 * 784, ParallelSegments.Cut(256 * 784, 1, 2));
        Assert.Equal(256 * 784, ParallelSegments.Cut(256 * 784, 2, 2));
        // Cuts fall on 16-float boundaries (no cache line written by two threads); the last share takes the rest.
        for (int parts = 1; parts <= 7; parts++)
            foreach (int n in new[] { 0, 1, 15, 16, 100, 1000, 12345 })
            {
                int prev = 0;
                for (int i = 0; i <= parts; i++)
                {
                    int c = ParallelSegments.Cut(n, i, parts);
                    Assert.True(i == parts ? c == n : c % 16 == 0, $"Cut({n}, {i}, {parts}) = {c}");
                    Assert.True(c >= prev && c <= n, $"Cut({n}, {i}, {parts}) = {c} after {prev}");
                    prev = c;
                }
            }
    }
}
