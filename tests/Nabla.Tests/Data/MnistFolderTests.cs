using Nabla.Data;

namespace Nabla.Tests.Data;

public class MnistFolderTests
{
    private static readonly int[] ReadmeCounts = { 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 };

    [Fact]
    public void ShippedMnist10k_Loads()
    {
        var m = MnistFolder.Load(DataTestUtil.Mnist10kDir);
        Assert.Null(m.Test);
        Assert.Null(m.Files.TestImages);
        var d = m.Train;
        Assert.Equal(10000, d.Count);
        Assert.Equal(new[] { 1, 28, 28 }, d.SampleShape);
        Assert.Equal(784, d.SampleSize);
        Assert.Equal(10, d.NumClasses);
        Assert.All(d.Labels, l => Assert.InRange(l, 0, 9));
        Assert.Equal(ReadmeCounts, d.ClassCounts());
        Assert.All(d.ClassCounts(), c => Assert.True(c > 0));
        float min = d.Features.Min(), max = d.Features.Max();
        Assert.Equal(0f, min);
        Assert.Equal(1f, max);
        // Every image has some ink and plenty of background.
        for (int i = 0; i < d.Count; i += 97)
        {
            var s = d.GetSample(i);
            int ink = 0;
            foreach (float v in s) if (v > 0.5f) ink++;
            Assert.InRange(ink, 10, 500);
        }
    }

    [Fact]
    public void ShippedMnist10k_RawIdx_HasExpectedHeaders()
    {
        var images = Idx.Read(Path.Combine(DataTestUtil.Mnist10kDir, "images.idx3-ubyte.gz"));
        var labels = Idx.Read(Path.Combine(DataTestUtil.Mnist10kDir, "labels.idx1-ubyte.gz"));
        Assert.Equal(new[] { 10000, 28, 28 }, images.Dims);
        Assert.Equal(IdxType.UInt8, images.ElementType);
        Assert.Equal(new[] { 10000 }, labels.Dims);
        Assert.Equal(255, images.GetBytes().Max());
        // The package's order: sorted by class.
        var l = labels.GetBytes();
        for (int i = 1; i < l.Length; i++) Assert.True(l[i] >= l[i - 1]);
    }

    [Fact]
    public void Flatten_GivesVectorSamples()
    {
        var m = MnistFolder.Load(DataTestUtil.Mnist10kDir, flatten: true);
        Assert.Equal(new[] { 784 }, m.Train.SampleShape);
    }

    private static void WriteSet(TempDir t, string images, string labels, int n, bool gzip = true, int h = 4, int w = 3, int labelCount = -1)
    {
        var px = new byte[n * h * w];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i % 256);
        Idx.Write(t.File(images), px, new[] { n, h, w }, gzip);
        int m = labelCount < 0 ? n : labelCount;
        var lb = new byte[m];
        for (int i = 0; i < m; i++) lb[i] = (byte)(i % 10);
        Idx.Write(t.File(labels), lb, new[] { m }, gzip);
    }

    [Fact]
    public void TrainAndTest_StandardNames()
    {
        using var t = new TempDir();
        WriteSet(t, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 12);
        WriteSet(t, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 5);
        File.WriteAllText(t.File("README.txt"), "hi");
        var m = MnistFolder.Load(t.Path);
        Assert.Equal(12, m.Train.Count);
        Assert.NotNull(m.Test);
        Assert.Equal(5, m.Test!.Count);
        Assert.Equal(new[] { 1, 4, 3 }, m.Train.SampleShape);
        Assert.Equal(10, m.Train.NumClasses);
        Assert.Equal(143f / 255f, m.Train.Features[143]);
        Assert.Equal(1f / 255f, m.Train.Features[1]);
    }

    [Fact]
    public void DottedNames_Raw_AndRawPreferredOverGz()
    {
        using var t = new TempDir();
        WriteSet(t, "train-images.idx3-ubyte", "train-labels.idx1-ubyte", 7, gzip: false);
        WriteSet(t, "train-images.idx3-ubyte.gz", "train-labels.idx1-ubyte.gz", 7, gzip: true);
        var f = MnistFolder.Find(t.Path);
        Assert.EndsWith("train-images.idx3-ubyte", f.TrainImages);
        Assert.Null(f.TestImages);
        Assert.Equal(7, MnistFolder.Load(t.Path).Train.Count);
    }

    [Fact]
    public void Emnist_NeedsPrefixWhenSeveralSets()
    {
        using var t = new TempDir();
        WriteSet(t, "emnist-letters-train-images-idx3-ubyte.gz", "emnist-letters-train-labels-idx1-ubyte.gz", 6);
        WriteSet(t, "emnist-digits-train-images-idx3-ubyte.gz", "emnist-digits-train-labels-idx1-ubyte.gz", 4);
        var e = Assert.Throws<InvalidDataFileException>(() => MnistFolder.Load(t.Path));
        Assert.Contains("ambiguous", e.Message);
        Assert.Equal(6, MnistFolder.Load(t.Path, prefix: "emnist-letters").Train.Count);
    }

    [Fact]
    public void MissingFolder_AndFolderWithoutIdx_AreClear()
    {
        using var t = new TempDir();
        var missing = Path.Combine(t.Path, "nope");
        var e1 = Assert.Throws<DirectoryNotFoundException>(() => MnistFolder.Load(missing));
        Assert.Contains(missing, e1.Message);

        File.WriteAllText(t.File("notes.txt"), "x");
        Directory.CreateDirectory(Path.Combine(t.Path, "raw"));
        var e2 = Assert.Throws<InvalidDataFileException>(() => MnistFolder.Load(t.Path));
        Assert.Contains("no MNIST-style IDX files found", e2.Message);
        Assert.Contains("notes.txt", e2.Message);
        Assert.Contains("raw/", e2.Message);
    }

    [Fact]
    public void CountMismatch_AndMissingLabels_AreRejected()
    {
        using var t = new TempDir();
        WriteSet(t, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 5, labelCount: 4);
        var e = Assert.Throws<InvalidDataFileException>(() => MnistFolder.Load(t.Path));
        Assert.Contains("holds 4 labels", e.Message);
        Assert.Contains("5 images", e.Message);

        File.Delete(t.File("labels.idx1-ubyte.gz"));
        var e2 = Assert.Throws<InvalidDataFileException>(() => MnistFolder.Load(t.Path));
        Assert.Contains("no matching labels", e2.Message);
    }

    [Fact]
    public void FashionMnist_FromDebianPackage_IsRecognised_WhenInstalled()
    {
        const string dir = "/usr/share/datasets/fashion-mnist";
        if (!Directory.Exists(dir)) return; // apt package dataset-fashion-mnist not installed here
        var f = MnistFolder.Find(dir);
        Assert.EndsWith("train-images-idx3-ubyte.gz", f.TrainImages);
        Assert.EndsWith("t10k-labels-idx1-ubyte.gz", f.TestLabels);
        Assert.Equal(new[] { 60000, 28, 28 }, Idx.ReadHeader(f.TrainImages).Dims);
        Assert.Equal(new[] { 10000 }, Idx.ReadHeader(f.TestLabels!).Dims);
    }
}
