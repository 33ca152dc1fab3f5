using Nabla.Data;

namespace Nabla.Tests.Conv;

/// <summary>The CIFAR-10 binary reader on files the test writes, and the colour augmentation.</summary>
public class Cifar10Tests
{
    private static byte[] Records(int n, int seed, int labelOffset = 0)
    {
        var rng = new Random(seed);
        var bytes = new byte[n * Cifar10.RecordSize];
        rng.NextBytes(bytes);
        for (int i = 0; i < n; i++) bytes[i * Cifar10.RecordSize] = (byte)((i + labelOffset) % 10);
        return bytes;
    }

    [Fact]
    public void Reads_batches_channel_major_with_labels_and_class_names()
    {
        string dir = Directory.CreateTempSubdirectory("nabla-cifar-").FullName;
        try
        {
            var b1 = Records(3, 1);
            var b2 = Records(2, 2, labelOffset: 5);
            File.WriteAllBytes(Path.Combine(dir, "data_batch_1.bin"), b1);
            File.WriteAllBytes(Path.Combine(dir, "data_batch_2.bin"), b2);
            File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), Records(4, 3));
            File.WriteAllText(Path.Combine(dir, "batches.meta.txt"), string.Join("\n", Cifar10.DefaultClassNames.Select(n => n.ToUpperInvariant())) + "\n\n");
            Assert.True(Cifar10.IsFolder(dir));
            var data = Cifar10.Load(dir);
            Assert.Equal(5, data.Train.Count);
            Assert.Equal(4, data.Test!.Count);
            Assert.Equal(new[] { 3, 32, 32 }, data.Train.SampleShape);
            Assert.Equal(new[] { 0, 1, 2, 5, 6 }, data.Train.Labels);
            Assert.Equal("AIRPLANE", data.ClassNames[0]);
            Assert.Equal(10, data.ClassNames.Length);
            // Record 1 of batch 2 (sample 4): green channel (bytes 1024..2047 of its pixels), row 3, column 7.
            var sample = data.Train.GetSample(4);
            Assert.Equal(b2[Cifar10.RecordSize + 1 + 1024 + 3 * 32 + 7] / 255f, sample[1024 + 3 * 32 + 7]);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Truncated_files_and_bad_labels_are_clear_errors()
    {
        string dir = Directory.CreateTempSubdirectory("nabla-cifar-").FullName;
        try
        {
            string f = Path.Combine(dir, "data_batch_1.bin");
            File.WriteAllBytes(f, Records(2, 1)[..(Cifar10.RecordSize + 100)]);
            var e = Assert.Throws<InvalidDataFileException>(() => Cifar10.Load(dir));
            Assert.Contains("data_batch_1.bin", e.Message);
            Assert.Equal(Cifar10.RecordSize, e.Offset);

            var bad = Records(2, 1);
            bad[Cifar10.RecordSize] = 10;
            File.WriteAllBytes(f, bad);
            e = Assert.Throws<InvalidDataFileException>(() => Cifar10.Load(dir));
            Assert.Contains("label 10", e.Message);
            Assert.Equal(Cifar10.RecordSize, e.Offset);

            File.WriteAllBytes(f, []);
            Assert.Throws<InvalidDataFileException>(() => Cifar10.Load(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Rgb_augmentation_flips_crops_and_keeps_colour_balance()
    {
        // One 2-channel 3x4 image with distinct values.
        var img = Tensor.FromArray(Enumerable.Range(1, 24).Select(v => (float)v).ToArray(), 1, 2, 3, 4);
        var flipped = img.Clone();
        new RgbAugmentation(2, 3, 4).FlipHorizontal(1.0).Apply(flipped, new Random(1));
        Assert.Equal(new float[] { 4, 3, 2, 1 }, flipped.ToArray()[..4]);
        Assert.Equal(new float[] { 16, 15, 14, 13 }, flipped.ToArray()[12..16]);

        // Crops are whole-pixel shifts with zeros coming in: every value is 0 or one of the originals, per channel.
        var cropped = img.Clone();
        new RgbAugmentation(2, 3, 4).Crop(1).Apply(cropped, new Random(5));
        Assert.All(cropped.ToArray()[..12], v => Assert.True(v == 0 || (v >= 1 && v <= 12)));
        Assert.All(cropped.ToArray()[12..], v => Assert.True(v == 0 || (v >= 13 && v <= 24)));

        // Brightness and contrast move every channel alike: the image mean moves by b, differences scale by c.
        var bc = img.Clone();
        new RgbAugmentation(2, 3, 4).BrightnessContrast(0.5f, 0.3f).Apply(bc, new Random(2));
        float c = (bc.Data[1] - bc.Data[0]) / 1f;
        Assert.InRange(c, 0.7f, 1.3f);
        for (int i = 1; i < 24; i++) Assert.Equal(c * (img.Data[i] - img.Data[0]), bc.Data[i] - bc.Data[0], 3);
        Assert.Throws<ShapeMismatchException>(() => new RgbAugmentation(3, 3, 4).Apply(img.Clone(), new Random(1)));
    }
}
