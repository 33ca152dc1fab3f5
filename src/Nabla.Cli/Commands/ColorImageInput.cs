using Nabla.Data;
using SkiaSharp;

namespace Nabla.Cli.Commands;

/// <summary>A colour image: <see cref="Pixels"/> channel-major [3, Height, Width] (R, G, B) in [0, 1].</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">R plane, then G, then B, each row-major.</param>
public sealed record RgbImage(int Width, int Height, float[] Pixels);

/// <summary>
/// Image input for models trained on colour images (CIFAR-10 and other 3-channel data): the
/// picture as it is — no grayscale, no inversion, no digit centring — resized to the model's input
/// by area averaging and scaled to [0, 1] per channel, channel-major as the CIFAR reader stores
/// training samples (pixel/255).
/// </summary>
public static class ColorImageInput
{
    /// <summary>
    /// Reads a PNG (or anything SkiaSharp decodes) as RGB, transparent parts composited on white; a
    /// grayscale PGM gives three equal planes.
    /// </summary>
    /// <exception cref="UsageException">The file is missing, empty or not a readable image.</exception>
    public static RgbImage Read(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException("--image: the path is empty; give an image file.");
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new UsageException($"image file {full} does not exist.");
        byte[] bytes = SafeFile.ReadAllBytes(full, "image file", ImageInput.MaxFileBytes);
        if (bytes.Length >= 2 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '5'))
        {
            var gray = ImageInput.ReadPgm(bytes, full);
            int n = gray.Width * gray.Height;
            var planes = new float[3 * n];
            for (int c = 0; c < 3; c++) gray.Pixels.CopyTo(planes, c * n);
            return new RgbImage(gray.Width, gray.Height, planes);
        }
        if (bytes.Length == 0) throw new UsageException($"{full}: the file is empty; expected a PNG or PGM image.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new UsageException($"{full}: not an image nabla can read (expected PNG or PGM P2/P5).");
        int w = codec.Info.Width, h = codec.Info.Height;
        if (w < 1 || h < 1 || w > ImageInput.MaxSide || h > ImageInput.MaxSide || (long)w * h > ImageInput.MaxPixels)
            throw new UsageException($"{full}: the {codec.EncodedFormat} header declares {w}x{h} pixels; expected 1 to {ImageInput.MaxSide} on each side and at most {ImageInput.MaxPixels} pixels in all.");
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        byte[] px = new byte[(long)info.RowBytes * h];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = px) result = codec.GetPixels(info, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
            throw new UsageException($"{full}: the {codec.EncodedFormat} image could not be decoded completely ({result}); truncated or damaged?");
        int plane = w * h;
        var rgb = new float[3 * plane];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = y * info.RowBytes + 4 * x;
                float a = px[o + 3] / 255f;
                for (int c = 0; c < 3; c++) rgb[c * plane + y * w + x] = a * (px[o + c] / 255f) + (1 - a);
            }
        return new RgbImage(w, h, rgb);
    }

    /// <summary>The image as model input [3·height·width], each channel resized to height×width by area averaging.</summary>
    public static float[] ToModelInput(RgbImage image, int height, int width)
    {
        int n = image.Width * image.Height;
        if (image.Width == width && image.Height == height) return (float[])image.Pixels.Clone();
        var x = new float[3 * height * width];
        for (int c = 0; c < 3; c++)
            DigitImage.Resize(image.Pixels.AsSpan(c * n, n), image.Width, image.Height, 0, 0, image.Width, image.Height, width, height)
                .CopyTo(x, c * height * width);
        return x;
    }

    /// <summary>Luminance of channel-major RGB input (for the text preview).</summary>
    public static float[] Luminance(ReadOnlySpan<float> rgb, int height, int width)
    {
        int n = height * width;
        var y = new float[n];
        for (int i = 0; i < n; i++) y[i] = 0.299f * rgb[i] + 0.587f * rgb[n + i] + 0.114f * rgb[2 * n + i];
        return y;
    }
}
