using Nabla.Data;

namespace Nabla.Tests.Data;

public class DatasetTests
{
    /// <summary>n samples of shape [2]; sample i holds (i, −i) and label i % classes.</summary>
    internal static Dataset Indexed(int n, int classes = 3)
    {
        var f = new float[2 * n];
        var l = new int[n];
        for (int i = 0; i < n; i++) { f[2 * i] = i; f[2 * i + 1] = -i; l[i] = i % classes; }
        return new Dataset(f, new[] { 2 }, l, classes);
    }

    private static int[] Ids(Dataset d) => Enumerable.Range(0, d.Count).Select(i => (int)d.GetSample(i)[0]).ToArray();

    [Fact]
    public void Constructor_Validates()
    {
        Assert.Throws<ArgumentException>(() => new Dataset(new float[5], new[] { 2 }, new int[3], 2));
        var e = Assert.Throws<ArgumentException>(() => new Dataset(new float[4], new[] { 2 }, new[] { 0, 2 }, 2));
        Assert.Contains("label 2 of sample 1", e.Message);
    }

    [Fact]
    public void Subset_CopiesInOrder()
    {
        var d = Indexed(10);
        var s = d.Subset(new[] { 7, 2, 2 });
        Assert.Equal(new[] { 7, 2, 2 }, Ids(s));
        Assert.Equal(new[] { 1, 2, 2 }, s.Labels);
        Assert.Equal(-7f, s.GetSample(0)[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Subset(new[] { 10 }));
    }

    [Fact]
    public void Split_IsDisjoint_CoversAll_AndReproducible()
    {
        var d = Indexed(1000);
        var parts = d.Split(new[] { 0.6, 0.2, 0.2 }, seed: 42);
        Assert.Equal(new[] { 600, 200, 200 }, parts.Select(p => p.Count));
        var all = parts.SelectMany(Ids).ToArray();
        Assert.Equal(1000, all.Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 1000), all.OrderBy(x => x));
        // Labels travel with their samples.
        foreach (var p in parts)
            for (int i = 0; i < p.Count; i++) Assert.Equal((int)p.GetSample(i)[0] % 3, p.Labels[i]);

        var again = d.Split(new[] { 0.6, 0.2, 0.2 }, seed: 42);
        for (int k = 0; k < 3; k++) Assert.Equal(Ids(parts[k]), Ids(again[k]));
        var other = d.Split(new[] { 0.6, 0.2, 0.2 }, seed: 43);
        Assert.NotEqual(Ids(parts[0]), Ids(other[0]));
        // Shuffled, not the first 600.
        Assert.NotEqual(Enumerable.Range(0, 600), Ids(parts[0]).OrderBy(x => x));
    }

    [Fact]
    public void Split_RoundsByLargestRemainder_AndAllowsPartialSum()
    {
        var d = Indexed(10);
        Assert.Equal(new[] { 4, 3, 3 }, d.Split(new[] { 1 / 3.0, 1 / 3.0, 1 / 3.0 }, 1).Select(p => p.Count));
        Assert.Equal(new[] { 2, 3 }, d.Split(new[] { 0.25, 0.3 }, 1).Select(p => p.Count));
        var (a, b) = d.Split(0.7, seed: 3);
        Assert.Equal(7, a.Count);
        Assert.Equal(3, b.Count);
        Assert.Throws<ArgumentException>(() => d.Split(new[] { 0.7, 0.5 }, 1));
        Assert.Throws<ArgumentException>(() => d.Split(new[] { 0.5, 0.0 }, 1));
    }

    [Fact]
    public void Reshape_Standardize_ToTensor()
    {
        var d = Indexed(4);
        Assert.Same(d.Features, d.Reshape(2, 1).Features);
        Assert.Equal(new[] { 2, 1 }, d.Reshape(2, 1).SampleShape);
        Assert.Throws<ArgumentException>(() => d.Reshape(3));

        var (mean, std) = d.MeanStd();
        Assert.Equal(0f, mean, 5);
        var z = d.Standardize(mean, std);
        var (m2, s2) = z.MeanStd();
        Assert.Equal(0f, m2, 5);
        Assert.Equal(1f, s2, 5);

        var t = d.ToTensor();
        Assert.Equal(new[] { 4, 2 }, t.Shape.ToArray());
        Assert.Equal(d.Features, t.ToArray());
        var back = Dataset.FromTensor(t, d.Labels, 3);
        Assert.Equal(d.Features, back.Features);
    }
}
