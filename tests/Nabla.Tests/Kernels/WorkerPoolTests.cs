using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

[Trait("Category", "Kernels")]
public class WorkerPoolTests
{
    private struct CountBody(int[] hits) : IParallelForBody
    {
        public readonly void Invoke(int index) => Interlocked.Increment(ref hits[index]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(1000)]
    public void EveryIndexRunsExactlyOnce(int count)
    {
        for (int round = 0; round < 50; round++)
        {
            var hits = new int[count];
            WorkerPool.ParallelFor(count, new CountBody(hits), Environment.ProcessorCount);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void ZeroOrNegativeCountDoesNothing()
    {
        WorkerPool.ParallelFor(0, _ => throw new InvalidOperationException());
        WorkerPool.ParallelFor(-3, _ => throw new InvalidOperationException());
    }

    [Fact]
    public void DelegateOverloadCoversAllIndices()
    {
        var hits = new int[100];
        WorkerPool.ParallelFor(hits.Length, i => Interlocked.Increment(ref hits[i]));
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void UsesMoreThanOneThreadWhenAvailable()
    {
        if (Environment.ProcessorCount < 2) return;
        // Each of the two bodies waits (bounded) until the other has started: they can only both
        // start if two threads run them. A call made while another test holds the pool runs
        // serially by design, so try a few times.
        for (int attempt = 0; attempt < 50; attempt++)
        {
            var ids = new int[2];
            int started = 0;
            WorkerPool.ParallelFor(2, i =>
            {
                ids[i] = Environment.CurrentManagedThreadId;
                Interlocked.Increment(ref started);
                var deadline = DateTime.UtcNow.AddMilliseconds(200);
                while (Volatile.Read(ref started) < 2 && DateTime.UtcNow < deadline) Thread.SpinWait(100);
            });
            if (ids[0] != ids[1]) return;
        }
        Assert.Fail("two indices never ran on two threads");
    }

    [Fact]
    public void NestedCallsRunSeriallyAndComplete()
    {
        var hits = new int[8 * 16];
        WorkerPool.ParallelFor(8, i =>
            WorkerPool.ParallelFor(16, j => Interlocked.Increment(ref hits[i * 16 + j])));
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void ConcurrentCallersAllComplete()
    {
        long total = 0;
        var threads = Enumerable.Range(0, 6).Select(_ => new Thread(() =>
        {
            for (int r = 0; r < 300; r++)
            {
                var hits = new int[7];
                WorkerPool.ParallelFor(hits.Length, new CountBody(hits), Environment.ProcessorCount);
                Interlocked.Add(ref total, hits.Sum());
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(6 * 300 * 7, total);
    }

    [Fact]
    public void ExceptionPropagatesAndPoolStaysUsable()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            WorkerPool.ParallelFor(10, i => { if (i == 3) throw new InvalidOperationException("boom"); }));
        Assert.Equal("boom", ex.Message);

        var hits = new int[10];
        WorkerPool.ParallelFor(hits.Length, new CountBody(hits), Environment.ProcessorCount);
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void WakesUpAfterIdle()
    {
        for (int round = 0; round < 3; round++)
        {
            Thread.Sleep(30); // longer than the workers' spin: they are asleep now
            var hits = new int[4];
            WorkerPool.ParallelFor(hits.Length, new CountBody(hits), Environment.ProcessorCount);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void WorkersAreBackgroundThreads()
    {
        WorkerPool.ParallelFor(4, new CountBody(new int[4]), Math.Max(2, Environment.ProcessorCount));
        Assert.NotEmpty(WorkerPool.WorkerThreads);
        Assert.All(WorkerPool.WorkerThreads, t => Assert.True(t.IsBackground));
    }

    [Fact]
    public void StructBodyDoesNotAllocate()
    {
        var hits = new int[64];
        var body = new CountBody(hits);
        for (int i = 0; i < 10; i++) WorkerPool.ParallelFor(hits.Length, body, Environment.ProcessorCount);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) WorkerPool.ParallelFor(hits.Length, body, Environment.ProcessorCount);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

/// <summary>Tests that change the global <see cref="WorkerPool.Threads"/>; not run beside other tests.</summary>
[CollectionDefinition(nameof(WorkerPoolSettingsCollection), DisableParallelization = true)]
public class WorkerPoolSettingsCollection;

[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class WorkerPoolSettingsTests
{
    [Fact]
    public void ThreadsIsClampedAndOneMeansSerial()
    {
        int saved = WorkerPool.Threads;
        try
        {
            WorkerPool.Threads = 0;
            Assert.Equal(1, WorkerPool.Threads);
            WorkerPool.Threads = 100_000;
            Assert.Equal(256, WorkerPool.Threads);

            WorkerPool.Threads = 1;
            int caller = Environment.CurrentManagedThreadId;
            var ids = new int[50];
            WorkerPool.ParallelFor(ids.Length, i => ids[i] = Environment.CurrentManagedThreadId);
            Assert.All(ids, id => Assert.Equal(caller, id));
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }
}
