using Nabla.Data;

namespace Nabla.Tests.Data;

/// <summary>Byte-stored data sets (issue #11): same values as float storage, converted per batch, never copied whole.</summary>
public class DatasetBytesTests
{
    private static (Dataset Bytes, Dataset Floats) Pair(int count = 50, int side = 4, int seed = 3)
    {
        var rng = new Random(seed);
        var px = new byte[count * side * side];
        rng.NextBytes(px);
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        var table = Enumerable.Range(0, 256).Select(v => v / 255f).ToArray();
        var bytes = Dataset.FromBytes(px, table, [1, side, side], labels, 3, "b");
        var floats = new Dataset(px.Select(v => table[v]).ToArray(), [1, side, side], (int[])labels.Clone(), 3, "f");
        return (bytes, floats);
    }

    [Fact]
    public void BatchesEqualThoseOfTheFloatDataSetAndNothingIsMaterialised()
    {
        var (b, f) = Pair();
        var lb = new DataLoader(b, 8, shuffle: true, seed: 5).ToList();
        var lf = new DataLoader(f, 8, shuffle: true, seed: 5).ToList();
        Assert.Equal(lf.Count, lb.Count);
        for (int i = 0; i < lb.Count; i++)
        {
            Assert.Equal(lf[i].Inputs.ToArray(), lb[i].Inputs.ToArray());
            Assert.Equal(lf[i].Labels, lb[i].Labels);
        }
        Assert.True(b.StoresBytes);
        Assert.False(b.HasFloatArray);
    }

    [Fact]
    public void SubsetSplitReshapeStandardizeKeepBytesAndValues()
    {
        var (b, f) = Pair();
        int[] idx = [4, 0, 9, 9, 31];
        Assert.Equal(f.Subset(idx).Features, b.Subset(idx).Features);
        Assert.True(b.Subset(idx).StoresBytes);
        var (b1, _) = b.Split(0.6, 7);
        var (f1, _) = f.Split(0.6, 7);
        Assert.Equal(f1.Features, b1.Features);
        Assert.Equal(f.Reshape(16).Features, b.Reshape(16).Features);
        Assert.Equal([16], b.Reshape(16).SampleShape);

        var (mb, sb) = b.MeanStd();
        var (mf, sf) = f.MeanStd();
        Assert.Equal(mf, mb, 5);
        Assert.Equal(sf, sb, 5);
        var stdB = b.Standardize(mf, sf);
        Assert.True(stdB.StoresBytes);
        Assert.Equal(f.Standardize(mf, sf).Features, stdB.Features);
        Assert.Equal(f.GetSample(7).ToArray(), b.GetSample(7).ToArray());
        Assert.False(b.HasFloatArray);
    }

    [Fact]
    public void SubsetsShareTheBytesAndComposeTheirRows()
    {
        var (b, f) = Pair(count: 2000, side: 28);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var (b1, b2) = b.Split(0.8, 11);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // 2,000 images of 784 bytes are 1.57 MB; a split only makes rows, labels and the permutation (~40 KB).
        Assert.InRange(allocated, 1, 100_000);
        var (f1, f2) = f.Split(0.8, 11);
        Assert.Equal(f2.Labels, b2.Labels);

        // A subset of a subset of a subset: rows compose, and every path (batches, samples, statistics, the float
        // array, standardisation) sees the same values as the float data set.
        int[] idx = [5, 0, 399, 17, 17, 250];
        var bs = b2.Subset(idx).Reshape(784).Subset([4, 1, 0]);
        var fs = f2.Subset(idx).Reshape(784).Subset([4, 1, 0]);
        Assert.Equal(fs.Labels, bs.Labels);
        for (int i = 0; i < fs.Count; i++) Assert.Equal(fs.GetSample(i).ToArray(), bs.GetSample(i).ToArray());
        var (mf, sf) = f1.MeanStd();
        var (mb, sb) = b1.MeanStd();
        Assert.Equal(mf, mb, 5);
        Assert.Equal(sf, sb, 5);
        Assert.Equal(f1.Standardize(mf, sf).Subset(idx).Features, b1.Standardize(mf, sf).Subset(idx).Features);
        var lb = new DataLoader(b1, 64, shuffle: true, seed: 2).Take(3).ToList();
        var lf = new DataLoader(f1, 64, shuffle: true, seed: 2).Take(3).ToList();
        for (int i = 0; i < lb.Count; i++) Assert.Equal(lf[i].Inputs.ToArray(), lb[i].Inputs.ToArray());
        Assert.False(b1.HasFloatArray);
        Assert.Equal(f2.Features, b2.Features);
        Assert.Throws<ArgumentOutOfRangeException>(() => b2.Subset([b2.Count]));
    }

    [Fact]
    public void FeaturesStillWorksForOldCallers()
    {
        var (b, f) = Pair();
        Assert.Equal(f.Features, b.Features);
        Assert.Same(b.Features, b.Features);
    }

    [Fact]
    public void RejectsBadSizesAndTables()
    {
        var px = new byte[10];
        var table = new float[256];
        var ex = Assert.Throws<ArgumentException>(() => Dataset.FromBytes(px, table, [3], [0, 1, 0], 2));
        Assert.Contains("9", ex.Message);
        Assert.Throws<ArgumentException>(() => Dataset.FromBytes(new byte[6], new float[255], [2], [0, 1, 0], 2));
        Assert.Throws<ArgumentException>(() => Dataset.FromBytes(new byte[6], table, [2], [0, 5, 0], 2));
    }

    [Fact]
    public void MnistFolderLoadsAsBytes()
    {
        var data = MnistFolder.Load(DataTestUtil.Mnist10kDir, flatten: true);
        Assert.True(data.Train.StoresBytes);
        Assert.False(data.Train.HasFloatArray);
        var first = new DataLoader(data.Train, 16).First();
        Assert.All(first.Inputs.ToArray(), v => Assert.InRange(v, 0f, 1f));
        Assert.False(data.Train.HasFloatArray);
    }
}
