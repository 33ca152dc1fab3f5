using Nabla.Autograd;
using Nabla.Cli.Commands;
using Nabla.Models;
using Nabla.Serialization;
using SkiaSharp;

namespace Nabla.Tests.Cli;

/// <summary><c>nabla predict --image</c> for models trained on colour images (3 input channels).</summary>
public class ColorPredictTests
{
    // A 32×32 picture whose three channels differ everywhere: R a horizontal ramp, G vertical, B a checkerboard.
    private static (byte R, byte G, byte B) Pixel(int x, int y) => ((byte)(x * 8), (byte)(255 - y * 8), (byte)((x / 4 + y / 4) % 2 == 0 ? 200 : 30));

    private static void WriteColorPng(string path, int w, int h)
    {
        using var bitmap = new SKBitmap(w, h, SKColorType.Rgba8888, SKAlphaType.Premul);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (r, g, b) = Pixel(x, y);
                bitmap.SetPixel(x, y, new SKColor(r, g, b));
            }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public void A_colour_png_becomes_channel_major_pixels_over_255_without_centring()
    {
        using var dir = new CliTempDir();
        string png = dir.File("c.png");
        WriteColorPng(png, 32, 32);
        var img = ColorImageInput.Read(png);
        var x = ColorImageInput.ToModelInput(img, 32, 32);
        Assert.Equal(3 * 32 * 32, x.Length);
        foreach (var (px, py) in new[] { (0, 0), (5, 9), (31, 31), (17, 2) })
        {
            var (r, g, b) = Pixel(px, py);
            Assert.Equal(r / 255f, x[py * 32 + px], 6);
            Assert.Equal(g / 255f, x[1024 + py * 32 + px], 6);
            Assert.Equal(b / 255f, x[2048 + py * 32 + px], 6);
        }
        // Resizing a 64×64 copy of a constant colour gives the same constant planes (area averaging).
        string big = dir.File("big.png");
        using (var bitmap = new SKBitmap(64, 48, SKColorType.Rgba8888, SKAlphaType.Premul))
        {
            bitmap.Erase(new SKColor(10, 200, 90));
            using var image = SKImage.FromBitmap(bitmap);
            File.WriteAllBytes(big, image.Encode(SKEncodedImageFormat.Png, 100).ToArray());
        }
        var small = ColorImageInput.ToModelInput(ColorImageInput.Read(big), 32, 32);
        Assert.All(small.AsSpan(0, 1024).ToArray(), v => Assert.Equal(10 / 255f, v, 5));
        Assert.All(small.AsSpan(1024, 1024).ToArray(), v => Assert.Equal(200 / 255f, v, 5));
        Assert.All(small.AsSpan(2048, 1024).ToArray(), v => Assert.Equal(90 / 255f, v, 5));
    }

    [Fact]
    public void Predict_on_a_colour_image_with_a_three_channel_model_uses_the_rgb_pixels()
    {
        using var dir = new CliTempDir();
        var model = new LeNet5(3, 10, 32, new Random(7));
        string path = dir.File("lenet-rgb.safetensors");
        var names = Enumerable.Range(0, 10).Select(i => $"class{i}").ToArray();
        ModelFile.Save(path, model, metadata: new Dictionary<string, string> { [ModelInfo.Keys.ClassNames] = string.Join("|", names) });
        string png = dir.File("c.png");
        WriteColorPng(png, 32, 32);

        // What the model says for the image's RGB planes /255, computed here directly.
        var x = new float[3 * 32 * 32];
        for (int y = 0; y < 32; y++)
            for (int px = 0; px < 32; px++)
            {
                var (r, g, b) = Pixel(px, y);
                x[y * 32 + px] = r / 255f; x[1024 + y * 32 + px] = g / 255f; x[2048 + y * 32 + px] = b / 255f;
            }
        model.Eval();
        float[] logits;
        using (GradMode.NoGrad()) logits = model.Forward(Tensor.FromArray(x, 1, x.Length)).ToArray();
        int best = Array.IndexOf(logits, logits.Max());

        var run = NablaCli.Run("predict", "--model", path, "--image", png);
        Assert.True(run.Code == ExitCodes.Ok, run.ToString());
        Assert.Contains("32x32 RGB", run.Out);
        Assert.DoesNotContain("inverted", run.Out);
        Assert.Contains($"predicted: class{best}", run.Out);
    }
}
