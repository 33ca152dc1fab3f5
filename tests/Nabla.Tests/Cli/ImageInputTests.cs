using System.Text;
using Nabla.Cli.Commands;

namespace Nabla.Tests.Cli;

/// <summary>Reading PGM/PNG images and turning them into MNIST-like model input.</summary>
public class ImageInputTests
{
    [Fact]
    public void ReadsAsciiPgmWithComments()
    {
        var bytes = Encoding.ASCII.GetBytes("P2\n# a comment\n3 2 # width height\n10\n0 5 10\n10 5 0\n");
        var img = ImageInput.ReadPgm(bytes, "test.pgm");
        Assert.Equal((3, 2), (img.Width, img.Height));
        Assert.Equal([0f, 0.5f, 1f, 1f, 0.5f, 0f], img.Pixels);
    }

    [Fact]
    public void ReadsBinaryPgm8And16Bit()
    {
        var p8 = Encoding.ASCII.GetBytes("P5 2 2 255\n").Concat(new byte[] { 0, 255, 51, 102 }).ToArray();
        Assert.Equal([0f, 1f, 0.2f, 0.4f], ImageInput.ReadPgm(p8, "a.pgm").Pixels);

        var p16 = Encoding.ASCII.GetBytes("P5\n2 1\n65535\n").Concat(new byte[] { 0xFF, 0xFF, 0x00, 0x00 }).ToArray();
        Assert.Equal([1f, 0f], ImageInput.ReadPgm(p16, "b.pgm").Pixels);
    }

    [Theory]
    [InlineData("P5 4 4 255\n\u0001\u0002")]
    [InlineData("P2 2 2 255\n1 2 3")]
    [InlineData("P2 2 x 255\n")]
    [InlineData("P2 1 1 10\n11\n")]
    [InlineData("P2 0 1 255\n")]
    public void RejectsMalformedPgm(string text)
    {
        var e = Assert.Throws<UsageException>(() => ImageInput.ReadPgm(Encoding.Latin1.GetBytes(text), "bad.pgm"));
        Assert.Contains("bad.pgm", e.Message);
    }

    [Fact]
    public void RejectsFilesThatAreNotImages()
    {
        using var dir = new CliTempDir();
        string path = dir.File("x.png");
        File.WriteAllText(path, "definitely not a PNG");
        var e = Assert.Throws<UsageException>(() => ImageInput.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not an image", e.Message);

        var missing = Assert.Throws<UsageException>(() => ImageInput.Read(dir.File("missing.png")));
        Assert.Contains("does not exist", missing.Message);
    }

    [Fact]
    public void ReadsPngAsGrayscale()
    {
        using var dir = new CliTempDir();
        string path = dir.File("g.png");
        TestImages.WritePng(path, 4, 3, (x, y) => (x + 4 * y) / 11f);
        var img = ImageInput.Read(path);
        Assert.Equal((4, 3), (img.Width, img.Height));
        for (int i = 0; i < 12; i++) Assert.Equal(i / 11f, img.Pixels[i], 0.01f);
    }

    [Fact]
    public void AnImageOfTheInputSizeIsUsedAsItIs()
    {
        var pixels = new float[28 * 28];
        pixels[5 * 28 + 7] = 0.8f;
        var x = ImageInput.ToModelInput(new GrayImage(28, 28, pixels), 28, 28, ImageFit.Center, out bool inverted);
        Assert.False(inverted);
        Assert.Equal(pixels, x);
    }

    [Fact]
    public void ALightBackgroundIsInvertedAndTheInkIsCentredInA20PixelBox()
    {
        // A dark 30x60 bar on white paper, off-centre in a 200x100 image.
        var pixels = new float[200 * 100];
        for (int y = 0; y < 100; y++)
            for (int x = 0; x < 200; x++)
                pixels[y * 200 + x] = x is >= 20 and < 50 && y is >= 10 and < 70 ? 0f : 1f;
        var input = ImageInput.ToModelInput(new GrayImage(200, 100, pixels), 28, 28, ImageFit.Center, out bool inverted);
        Assert.True(inverted);
        Assert.All(input, v => Assert.InRange(v, 0f, 1f));

        int x0 = 28, x1 = -1, y0 = 28, y1 = -1;
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++)
            {
                float v = input[y * 28 + x];
                if (v > 0.5f) { x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y); }
                mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
            }
        Assert.Equal(20, y1 - y0 + 1); // the longer side scaled to 20 pixels
        Assert.Equal(10, x1 - x0 + 1); // aspect ratio kept
        Assert.InRange(mx / mass, 13.0, 15.0);
        Assert.InRange(my / mass, 13.0, 15.0);
    }

    [Fact]
    public void StretchResizesTheWholeImage()
    {
        var pixels = new float[56 * 56];
        for (int i = 0; i < 56 * 28; i++) pixels[i] = 1f; // top half white, bottom half black: the border averages 0.5, no inversion
        var input = ImageInput.ToModelInput(new GrayImage(56, 56, pixels), 28, 28, ImageFit.Stretch, out bool inverted);
        Assert.False(inverted);
        Assert.Equal(28 * 28, input.Length);
        Assert.Equal(1f, input[0]);
        Assert.Equal(1f, input[13 * 28 + 27]);
        Assert.Equal(0f, input[14 * 28]);
    }

    [Fact]
    public void AreaResizeAveragesBlocks()
    {
        float[] src = [0, 1, 0, 1, 1, 1, 1, 1];
        var dst = ImageInput.Resize(src, 4, 2, 0, 0, 4, 2, 2, 1);
        Assert.Equal([0.75f, 0.75f], dst);
    }

    [Fact]
    public void PreviewDrawsTwoImageRowsPerLine()
    {
        var ink = new float[28 * 28];
        ink[0] = 1f;
        ink[28] = 1f;
        string p = ImageInput.Preview(ink, 28, 28);
        var lines = p.TrimEnd('\n').Split('\n');
        Assert.Equal(14, lines.Length);
        Assert.Equal('@', lines[0][0]);
        Assert.Equal(' ', lines[0][1]);
    }
}
