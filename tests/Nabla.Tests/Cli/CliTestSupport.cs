using Nabla.Data;
using SkiaSharp;

namespace Nabla.Tests.Cli;

/// <summary>Runs the nabla tool in-process and captures what it prints.</summary>
public static class NablaCli
{
    public sealed record Result(int Code, string Out, string Err)
    {
        public override string ToString() => $"exit code {Code}\n--- stdout ---\n{Out}\n--- stderr ---\n{Err}";
    }

    public static Result Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = global::Nabla.Cli.Program.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class CliTempDir : IDisposable
{
    public CliTempDir() => Path = Directory.CreateTempSubdirectory("nabla-cli-tests-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Writes small MNIST-style folders for the tests.</summary>
internal static class FakeMnist
{
    /// <summary>
    /// Writes <paramref name="count"/> images of <paramref name="size"/>×<paramref name="size"/> with labels 0..classes−1:
    /// class c is a bright vertical bar at a class-specific column, so they are easy to learn.
    /// </summary>
    public static void Write(string dir, string imagesName, string labelsName, int count, int size = 28, int classes = 10, int seed = 0)
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(seed);
        var images = new byte[count * size * size];
        var labels = new byte[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            labels[i] = (byte)c;
            int col = 2 + c * (size - 4) / classes;
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    int v = Math.Abs(x - col) <= 1 ? 200 + rng.Next(56) : rng.Next(30);
                    images[(i * size + y) * size + x] = (byte)v;
                }
        }
        Idx.Write(System.IO.Path.Combine(dir, imagesName), images, [count, size, size], gzip: true);
        Idx.Write(System.IO.Path.Combine(dir, labelsName), labels, [count], gzip: true);
    }
}

/// <summary>Image files for the tests.</summary>
internal static class TestImages
{
    /// <summary>Writes a grayscale PNG whose pixel (x, y) has luminance <paramref name="value"/>(x, y) in [0, 1].</summary>
    public static void WritePng(string path, int width, int height, Func<int, int, float> value)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                byte v = (byte)Math.Clamp((int)Math.Round(value(x, y) * 255), 0, 255);
                bitmap.SetPixel(x, y, new SKColor(v, v, v));
            }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }
}
