using Nabla.Data;

namespace Nabla.Tests.Data;

public class DataLoaderTests
{
    /// <summary>Checks each batch's rows against the data set and returns the sample ids in visiting order.</summary>
    private static List<int> RunEpoch(DataLoader loader, Dataset d, List<int>? sizes = null)
    {
        var ids = new List<int>();
        foreach (var b in loader)
        {
            sizes?.Add(b.Size);
            Assert.Equal(b.Size, b.Inputs.Shape[0]);
            Assert.Equal(new[] { b.Size, 2 }, b.Inputs.Shape.ToArray());
            Assert.Equal(new[] { b.Size }, b.Targets.Shape.ToArray());
            var x = b.Inputs.Data;
            for (int j = 0; j < b.Size; j++)
            {
                int id = (int)x[2 * j];
                Assert.Equal(-id, x[2 * j + 1]);
                Assert.Equal(id, b.Indices[j]);
                Assert.Equal(d.Labels[id], b.Labels[j]);
                Assert.Equal(d.Labels[id], b.Targets.Data[j]);
                ids.Add(id);
            }
        }
        return ids;
    }

    [Fact]
    public void EveryEpoch_VisitsEverySampleOnce_LastBatchPartial()
    {
        var d = DatasetTests.Indexed(103);
        var loader = new DataLoader(d, batchSize: 10, shuffle: true, seed: 7);
        Assert.Equal(11, loader.BatchCount);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var sizes = new List<int>();
            var ids = RunEpoch(loader, d, sizes);
            Assert.Equal(Enumerable.Repeat(10, 10).Append(3), sizes);
            Assert.Equal(Enumerable.Range(0, 103), ids.OrderBy(i => i));
        }
        Assert.Equal(3, loader.Epoch);
    }

    [Fact]
    public void DropLast_LeavesOutThePartialBatch()
    {
        var d = DatasetTests.Indexed(103);
        var loader = new DataLoader(d, 10, shuffle: true, seed: 1, dropLast: true);
        Assert.Equal(10, loader.BatchCount);
        Assert.Equal(100, loader.SamplesPerEpoch);
        var sizes = new List<int>();
        var ids = RunEpoch(loader, d, sizes);
        Assert.All(sizes, s => Assert.Equal(10, s));
        Assert.Equal(100, ids.Distinct().Count());

        var exact = new DataLoader(DatasetTests.Indexed(30), 10, dropLast: false);
        Assert.Equal(3, exact.Count());
    }

    [Fact]
    public void NoShuffle_KeepsOrder()
    {
        var d = DatasetTests.Indexed(25);
        var ids = RunEpoch(new DataLoader(d, 8), d);
        Assert.Equal(Enumerable.Range(0, 25), ids);
    }

    [Fact]
    public void Shuffle_DiffersBetweenEpochs_ReproduciblePerSeed()
    {
        var d = DatasetTests.Indexed(200);
        var a = new DataLoader(d, 16, shuffle: true, seed: 123);
        var e0 = RunEpoch(a, d);
        var e1 = RunEpoch(a, d);
        Assert.NotEqual(e0, e1);

        var b = new DataLoader(d, 16, shuffle: true, seed: 123);
        Assert.Equal(e0, RunEpoch(b, d));
        Assert.Equal(e1, RunEpoch(b, d));
        Assert.Equal(e1, a.EpochOrder(1));
        Assert.Equal(e0, a.GetEpoch(0).SelectMany(x => x.Indices.ToArray()));

        var c = new DataLoader(d, 16, shuffle: true, seed: 124);
        Assert.NotEqual(e0, RunEpoch(c, d));
    }

    [Fact]
    public void Buffers_AreReused_UnlessDisabled()
    {
        var d = DatasetTests.Indexed(40);
        var reuse = new DataLoader(d, 10).ToList();
        Assert.Same(reuse[0].Labels, reuse[1].Labels);
        var cloned = new DataLoader(d, 10).Select(b => b.Clone()).ToList();
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, cloned[0].Indices);

        var fresh = new DataLoader(d, 10) { ReuseBuffers = false }.ToList();
        Assert.NotSame(fresh[0].Labels, fresh[1].Labels);
        Assert.Equal(new[] { 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 }, fresh[1].Indices);
        Assert.Equal(0f, fresh[0].Inputs.Data[0]);
    }

    [Fact]
    public void EpochBoundaries_ReuseTheOrderAndBatchArrays_AndKeepTheSeededOrders()
    {
        // 2,000 samples of 1,024 floats, batches of 256: a new order (8 KB) and batch buffers (1 MB)
        // per epoch would be ~1 MB an epoch; reusing them leaves only the small per-batch wrappers.
        int n = 2000, size = 1024;
        var features = new float[n * size];
        var labels = new int[n];
        for (int i = 0; i < n; i++) { features[i * size] = i; labels[i] = i % 10; }
        var d = new Dataset(features, [size], labels, 10);
        var loader = new DataLoader(d, 256, shuffle: true, seed: 3);
        var first = new List<int>();
        foreach (var b in loader) first.AddRange(b.Indices);
        Assert.Equal(loader.EpochOrder(0), first); // the reused order is the same seeded permutation

        long before = GC.GetAllocatedBytesForCurrentThread();
        int epochs = 8;
        var orders = new List<int[]>();
        for (int e = 1; e <= epochs; e++)
        {
            int k = 0;
            var ids = new int[n];
            foreach (var b in loader)
                for (int j = 0; j < b.Size; j++) ids[k++] = (int)b.Inputs.Data[j * size];
            orders.Add(ids);
        }
        long perEpoch = (GC.GetAllocatedBytesForCurrentThread() - before - epochs * (n * sizeof(int) + 64)) / epochs;
        Assert.True(perEpoch < 64 * 1024, $"{perEpoch} bytes allocated per epoch");
        for (int e = 1; e <= epochs; e++) Assert.Equal(loader.EpochOrder(e), orders[e - 1]);

        // An overlapping enumeration gets its own arrays: both see their own epoch's samples.
        using var a = loader.GetEpoch(20).GetEnumerator();
        using var c = loader.GetEpoch(21).GetEnumerator();
        Assert.True(a.MoveNext());
        Assert.True(c.MoveNext());
        Assert.Equal(loader.EpochOrder(20)[..256], a.Current.Indices);
        Assert.Equal(loader.EpochOrder(21)[..256], c.Current.Indices);
        Assert.NotSame(a.Current.Labels, c.Current.Labels);
    }

    [Fact]
    public void Mnist10k_Batches_HaveImageShape()
    {
        var d = MnistFolder.Load(DataTestUtil.Mnist10kDir).Train;
        var first = new DataLoader(d, 64, shuffle: true, seed: 0).First();
        Assert.Equal(new[] { 64, 1, 28, 28 }, first.Inputs.Shape.ToArray());
        Assert.Equal(d.GetSample(first.Indices[5]).ToArray(), first.Inputs.Data.Slice(5 * 784, 784).ToArray());
    }
}
