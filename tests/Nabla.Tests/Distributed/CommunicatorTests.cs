using Nabla.Distributed;

namespace Nabla.Tests.Distributed;

public class CommunicatorTests
{
    public static TheoryData<int, int> RanksAndSizes()
    {
        var d = new TheoryData<int, int>();
        foreach (int ranks in new[] { 1, 2, 4 })
            foreach (int n in new[] { 1, 3, 1000, 1 << 21 })
                d.Add(ranks, n);
        d.Add(3, 7); // more ranks than some slices hold elements
        return d;
    }

    [Theory]
    [MemberData(nameof(RanksAndSizes))]
    public void FloatAllReduceSumsWithinToleranceAndIsTheSameOnEveryRank(int ranks, int n)
    {
        var results = InProcessCommunicator.Run(ranks, c =>
        {
            var sum = new float[n];
            var mean = new float[n];
            for (int i = 0; i < n; i++) sum[i] = mean[i] = Value(i, c.Rank);
            c.AllReduce(sum, ReduceOp.Sum);
            c.AllReduce(mean, ReduceOp.Mean);
            return (sum, mean);
        });
        for (int i = 0; i < n; i += Math.Max(1, n / 5000))
        {
            double expected = 0;
            for (int r = 0; r < ranks; r++) expected += Value(i, r);
            Assert.Equal(expected, results[0].sum[i], 1e-5 * Math.Max(1, Math.Abs(expected)));
            Assert.Equal(expected / ranks, results[0].mean[i], 1e-5 * Math.Max(1, Math.Abs(expected)));
        }
        for (int r = 1; r < ranks; r++)
        {
            Assert.True(results[0].sum.AsSpan().SequenceEqual(results[r].sum), $"rank {r}'s sum differs from rank 0's");
            Assert.True(results[0].mean.AsSpan().SequenceEqual(results[r].mean), $"rank {r}'s mean differs from rank 0's");
        }
    }

    private static float Value(int i, int rank) => (float)Math.Sin(i * 0.37 + rank) * (1 + rank) + (i % 13) * 0.25f;

    [Theory]
    [MemberData(nameof(RanksAndSizes))]
    public void IntegerAllReduceIsExact(int ranks, int n)
    {
        var results = InProcessCommunicator.Run(ranks, c =>
        {
            var ints = new int[n];
            var longs = new long[n];
            var max = new long[n];
            for (int i = 0; i < n; i++)
            {
                ints[i] = i * 3 - c.Rank * 1_000_003;
                longs[i] = (1L << 40) + (long)i * (c.Rank + 1);
                max[i] = (i + c.Rank) % ranks;
            }
            c.AllReduce(ints, ReduceOp.Sum);
            c.AllReduce(longs, ReduceOp.Sum);
            c.AllReduce(max, ReduceOp.Max);
            return (ints, longs, max);
        });
        long rankSum = (long)ranks * (ranks - 1) / 2;
        foreach (var (ints, longs, max) in results)
            for (int i = 0; i < n; i++)
            {
                if (ints[i] != (int)((long)i * 3 * ranks - rankSum * 1_000_003)) Assert.Fail($"int sum at {i}: {ints[i]}");
                if (longs[i] != (1L << 40) * ranks + (long)i * (rankSum + ranks)) Assert.Fail($"long sum at {i}: {longs[i]}");
                if (max[i] != ranks - 1) Assert.Fail($"max at {i}: {max[i]}");
            }
    }

    [Fact]
    public void DoubleAllReduceAndMinWork()
    {
        var results = InProcessCommunicator.Run(3, c =>
        {
            Span<double> d = [c.Rank + 0.5, -c.Rank];
            c.AllReduce(d, ReduceOp.Sum);
            Span<float> m = [c.Rank * 2f];
            c.AllReduce(m, ReduceOp.Min);
            return (d[0], d[1], m[0]);
        });
        Assert.All(results, r => Assert.Equal((4.5, -3.0, 0f), r));
    }

    [Fact]
    public void BroadcastAllGatherAndBarrier()
    {
        var results = InProcessCommunicator.Run(4, c =>
        {
            var b = new float[] { c.Rank, c.Rank * 10 };
            c.Broadcast(b, root: 2);
            c.Barrier();
            var gathered = new float[8];
            c.AllGather([c.Rank, -c.Rank], gathered);
            return (b, gathered);
        });
        foreach (var (b, gathered) in results)
        {
            Assert.Equal([2f, 20f], b);
            Assert.Equal([0f, 0f, 1f, -1f, 2f, -2f, 3f, -3f], gathered);
        }
    }

    [Fact]
    public void MeanOfIntegersAndBadBuffersAreRejected()
    {
        var c = InProcessCommunicator.Create(2)[0];
        Assert.Throws<ArgumentException>(() => c.AllReduce(new int[3], ReduceOp.Mean));
        Assert.Throws<ArgumentException>(() => c.AllGather(new float[3], new float[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.Broadcast(new float[1], root: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => InProcessCommunicator.Create(0));
    }

    [Fact]
    public void ARankThatThrowsStopsTheOthersWithItsError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => InProcessCommunicator.Run(3, c =>
        {
            var data = new float[10];
            for (int step = 0; ; step++)
            {
                if (c.Rank == 1 && step == 5) throw new InvalidOperationException("rank 1 broke");
                c.AllReduce(data);
            }
        }, TimeSpan.FromSeconds(30)));
        Assert.Equal("rank 1 broke", e.Message);
    }

    [Fact]
    public void ARankThatHangsMakesTheOthersFailAfterTheTimeout()
    {
        var release = new ManualResetEventSlim();
        try
        {
            var e = Assert.Throws<CommunicatorException>(() => InProcessCommunicator.Run(2, c =>
            {
                if (c.Rank == 1) release.Wait(); // hangs outside any collective
                c.Barrier();
            }, TimeSpan.FromMilliseconds(300)));
            Assert.Contains("rank(s) 1", e.Message);
            Assert.Contains("did not arrive", e.Message);
        }
        finally
        {
            release.Set(); // let the abandoned thread end
        }
    }

    [Fact]
    public void MismatchedCollectivesAreReportedNotMixed()
    {
        var e = Assert.Throws<CommunicatorException>(() => InProcessCommunicator.Run(2, c =>
        {
            c.AllReduce(new float[c.Rank == 0 ? 3 : 4]);
        }, TimeSpan.FromSeconds(30)));
        Assert.Contains("mismatched collectives", e.Message);
    }

    [Fact]
    public void ARankThatFinishesEarlyIsReported()
    {
        var e = Assert.Throws<CommunicatorException>(() => InProcessCommunicator.Run(2, c =>
        {
            if (c.Rank == 0) c.Barrier();
        }, TimeSpan.FromSeconds(30)));
        Assert.Contains("already finished", e.Message);
    }

    [Fact]
    public void MissingMpiGivesAClearMessage()
    {
        string? before = Environment.GetEnvironmentVariable("NABLA_MPI_LIBRARY");
        try
        {
            Environment.SetEnvironmentVariable("NABLA_MPI_LIBRARY", "/nonexistent/libmpi-for-a-test.so");
            Assert.False(MpiCommunicator.IsAvailable);
            var e = Assert.Throws<DllNotFoundException>(() => MpiCommunicator.Initialize());
            Assert.Contains("needs an MPI library", e.Message);
            Assert.Contains("--data-parallel", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NABLA_MPI_LIBRARY", before);
        }
    }
}
