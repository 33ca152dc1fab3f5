using System.Runtime.CompilerServices;
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
    [InlineData(WorkerPool.MaxHomedCount)]
    [InlineData(WorkerPool.MaxHomedCount + 1)]
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
    public void EachParticipantTakesItsHomeRangeFirstThenTheFarEndOfTheRest()
    {
        // 2 participants, 2 indices: each its own.
        Assert.Equal(0, WorkerPool.PickIndex(0b00, 2, 0, 2));
        Assert.Equal(1, WorkerPool.PickIndex(0b00, 2, 1, 2));
        // Home taken: steal the other one.
        Assert.Equal(0, WorkerPool.PickIndex(0b10, 2, 1, 2));
        Assert.Equal(-1, WorkerPool.PickIndex(0b11, 2, 0, 2));
        // 3 participants over 10 indices: homes [0,3), [3,6), [6,10), each taken in order.
        Assert.Equal(3, WorkerPool.PickIndex(0, 10, 1, 3));
        Assert.Equal(4, WorkerPool.PickIndex(0b1000, 10, 1, 3));
        Assert.Equal(6, WorkerPool.PickIndex(0, 10, 2, 3));
        // Participant 0's home is used up: it takes the last free index (the far end of another range).
        Assert.Equal(9, WorkerPool.PickIndex(0b0000000111, 10, 0, 3));
        Assert.Equal(5, WorkerPool.PickIndex(0b1111000111, 10, 0, 3));
        // The largest homed job: every bit can be claimed, and a full set yields −1.
        int n = WorkerPool.MaxHomedCount;
        Assert.Equal(n - 1, WorkerPool.PickIndex((uint)((1L << (n - 1)) - 1), n, 0, 2));
        Assert.Equal(-1, WorkerPool.PickIndex((uint)((1L << n) - 1), n, 1, 2));
    }

    [Fact]
    public void TheCallerRunsItsOwnShareOnEveryCall()
    {
        // Index 1's body waits until index 0 has started, so whichever thread holds index 1 cannot go
        // on to steal index 0: it is the caller's home and the caller claims it first. (With
        // first-come claiming, a worker spinning on the ticket could take index 0 before the caller.)
        int caller = Environment.CurrentManagedThreadId;
        for (int round = 0; round < 200; round++)
        {
            var ran = new int[2];
            int started = 0;
            WorkerPool.ParallelFor(2, i =>
            {
                if (i == 0) Volatile.Write(ref started, 1);
                else SpinWait.SpinUntil(() => Volatile.Read(ref started) == 1, TimeSpan.FromSeconds(10));
                ran[i] = Environment.CurrentManagedThreadId;
            });
            Assert.Equal(caller, ran[0]);
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
}

/// <summary>
/// Tests whose outcome depends on the global state of the pool: they change
/// <see cref="WorkerPool.Threads"/>, need the pool free (or hold it on purpose with
/// <see cref="PoolHolder"/>), or count allocations on paths the pool's state decides. xUnit runs this
/// collection alone, after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(WorkerPoolSettingsCollection), DisableParallelization = true)]
public class WorkerPoolSettingsCollection;

[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class WorkerPoolSettingsTests
{
    private struct CountBody(int[] hits) : IParallelForBody
    {
        public readonly void Invoke(int index) => Interlocked.Increment(ref hits[index]);
    }

    [Fact]
    public void UsesMoreThanOneThreadWhenAvailable()
    {
        if (Environment.ProcessorCount < 2) return;
        // Each of the two bodies waits (bounded) until the other has started: they can only both
        // start if two threads run them. No other test holds the pool meanwhile (this collection
        // runs alone); the retries and the generous wait only cover a worker descheduled by a
        // loaded machine.
        for (int attempt = 0; attempt < 10; attempt++)
        {
            var ids = new int[2];
            // Up to two threads explicitly: independent of WorkerPool.Threads, which other tests set.
            WorkerPool.ParallelFor(2, new MeetBody(ids, new StrongBox<int>()), 2);
            if (ids[0] != ids[1]) return;
        }
        Assert.Fail("two indices never ran on two threads");
    }

    // Each of the two indices waits (bounded) until the other has started.
    private readonly struct MeetBody(int[] ids, StrongBox<int> started) : IParallelForBody
    {
        public void Invoke(int i)
        {
            ids[i] = Environment.CurrentManagedThreadId;
            Interlocked.Increment(ref started.Value);
            var deadline = DateTime.UtcNow.AddMilliseconds(2000);
            while (Volatile.Read(ref started.Value) < 2 && DateTime.UtcNow < deadline) Thread.SpinWait(100);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StructBodyDoesNotAllocate(bool poolHeld)
    {
        var hits = new int[64];
        var body = new CountBody(hits);
        for (int i = 0; i < 10; i++) WorkerPool.ParallelFor(hits.Length, body, Environment.ProcessorCount);
        using var holder = poolHeld ? new PoolHolder() : null;
        Assert.Equal(0, Allocations.OnThisThread(() =>
        {
            for (int i = 0; i < 100; i++) WorkerPool.ParallelFor(hits.Length, body, Environment.ProcessorCount);
        }));
        Assert.All(hits, h => Assert.Equal(110, h));
    }

    [Fact]
    public void ACallWhileThePoolIsHeldRunsSeriallyOnTheCaller()
    {
        using var holder = new PoolHolder();
        int caller = Environment.CurrentManagedThreadId;
        var ids = new int[16];
        WorkerPool.ParallelFor(ids.Length, i => ids[i] = Environment.CurrentManagedThreadId);
        Assert.All(ids, id => Assert.Equal(caller, id));
    }


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

/// <summary>
/// GEMM steady-state allocation whichever way the calls are split (issue #16): with the pool free,
/// with the pool held by another thread (every work unit then runs on the calling thread), and with
/// the thread count changed between the warm-up and the measured calls. A call must not allocate
/// once the same shape has been seen, whichever of these situations the warm-up calls met.
/// </summary>
/// <remarks>
/// The flaky original: a parallel call ran a few of its work units on the caller, and the caller's
/// packed-A buffer was sized for the units it ran; when the other core was busy the caller ran a
/// larger unit (4 row tiles instead of 3) for the first time and grew the buffer (19 352 bytes,
/// reproduced with CPU-hog threads). The "held" measurements make the caller run every unit.
/// </remarks>
[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class GemmAllocationTests
{
    /// <summary>Shapes of every algorithm: packed (k-inner and per-k-block), unpacked, GEMV both ways, narrow-N.</summary>
    public static IEnumerable<object[]> Shapes()
    {
        int[][] shapes =
        [
            [200, 150, 300, 0, 0], [128, 256, 784, 0, 0], [40, 1100, 300, 0, 1], [6, 25, 1000, 0, 0],
            [1, 784, 256, 0, 0], [300, 1, 200, 1, 0], [300, 1, 200, 0, 0], [500, 10, 128, 0, 0], [257, 129, 65, 1, 1],
        ];
        string[] modes = ["free then held", "held then free", "alternating", "1 thread then all", "all threads then 1"];
        foreach (var s in shapes)
            foreach (var mode in modes)
                yield return [s[0], s[1], s[2], s[3] == 1, s[4] == 1, mode];
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SteadyStateCallsDoNotAllocate(int m, int n, int k, bool transA, bool transB, string mode)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
        int lda = transA ? m : k, ldb = transB ? k : n;
        int all = Math.Max(2, Environment.ProcessorCount);

        bool Held(int round) => mode switch
        {
            "free then held" => round >= 3,
            "held then free" => round < 3,
            "alternating" => round % 2 == 0,
            _ => false,
        };
        int Threads(int round) => mode switch
        {
            "1 thread then all" => round < 3 ? 1 : all,
            "all threads then 1" => round < 3 ? all : 1,
            _ => all,
        };
        long Call(int round)
        {
            using var holder = Held(round) ? new PoolHolder() : null; // allocates: outside the count
            return Allocations.OnThisThread(() => Gemm.SgemmCore(GemmPath.Auto, Threads(round), GemmAlgorithm.Auto,
                transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n, exactThreads: true));
        }

        // First run the measured situation once on another thread: code the process has never run
        // (a generic instantiation such as the parallel dispatch of a body type) allocates while it
        // is compiled and loaded, on whichever thread gets there first. Scratch buffers are per
        // thread, so this does not warm this thread's buffers: those must come from rounds 0-2.
        var jit = new Thread(() => Call(3));
        jit.Start();
        jit.Join();

        long allocated = 0;
        for (int round = 0; round < 6; round++)
        {
            long bytes = Call(round);
            if (round >= 3) allocated += bytes;
        }
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void PublicEntryPointDoesNotAllocateWithThePoolHeld()
    {
        // The original test's shape through Gemm.Sgemm (WorkerPool.Threads, default path).
        var a = new float[200 * 300];
        var b = new float[300 * 150];
        var c = new float[200 * 150];
        for (int i = 0; i < 3; i++) Gemm.Sgemm(false, false, 200, 150, 300, 1f, a, 300, b, 150, 0f, c, 150);
        using var holder = new PoolHolder();
        Assert.Equal(0, Allocations.OnThisThread(() =>
        {
            for (int i = 0; i < 5; i++) Gemm.Sgemm(false, false, 200, 150, 300, 1f, a, 300, b, 150, 0f, c, 150);
        }));
    }
}
