using System.Globalization;
using System.Text;
using SkiaSharp;

namespace Nabla.Cli.Commands;

/// <summary>A grayscale image: <see cref="Pixels"/> row-major, 0 = black, 1 = white.</summary>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Pixels">Luminance per pixel in [0, 1].</param>
public sealed record GrayImage(int Width, int Height, float[] Pixels);

/// <summary>How an image is brought to the model's input size.</summary>
public enum ImageFit
{
    /// <summary>
    /// Like MNIST's own preprocessing: crop to the ink, scale its longer side to 20/28 of the input (keeping the
    /// aspect ratio) and centre it by its centre of mass. Images already of the input size are used as they are.
    /// </summary>
    Center,

    /// <summary>Resize the whole image to the input size (aspect ratio not kept).</summary>
    Stretch,
}

/// <summary>
/// Reads images for <c>nabla predict</c> (PGM P2/P5 by hand, PNG and other formats through SkiaSharp) and turns
/// them into model input: grayscale, inverted when the background is light (MNIST is light ink on black),
/// resized, scaled to [0, 1] — the training data's normalisation.
/// </summary>
public static class ImageInput
{
    /// <summary>Reads a PGM (P2 or P5) or PNG (or any format SkiaSharp decodes) as grayscale.</summary>
    /// <exception cref="UsageException">The file is missing, empty or not a readable image.</exception>
    public static GrayImage Read(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException("--image: the path is empty; give an image file.");
        string full = Path.GetFullPath(path);
        if (!File.Exists(full) && !Directory.Exists(full)) throw new UsageException($"image file {full} does not exist.");
        byte[] bytes = Data.SafeFile.ReadAllBytes(full, "image file", MaxFileBytes);
        if (bytes.Length >= 2 && bytes[0] == 'P' && (bytes[1] == '2' || bytes[1] == '5')) return ReadPgm(bytes, full);
        return ReadWithSkia(bytes, full);
    }

    /// <summary>Largest image file read, in bytes (64 MiB).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>Largest image accepted, in pixels (checked from the header before decoding): 8192 x 8192.</summary>
    public const long MaxPixels = 8192L * 8192;

    /// <summary>Largest width or height accepted.</summary>
    public const int MaxSide = 32768;

    private static void CheckSize(string name, string format, long width, long height)
    {
        if (width < 1 || height < 1 || width > MaxSide || height > MaxSide || width * height > MaxPixels)
            throw new UsageException($"{name}: the {format} header declares {width}x{height} pixels; expected 1 to {MaxSide} on each side and at most {MaxPixels} pixels in all.");
    }

    /// <summary>Parses a PGM file: "P2" (ASCII) or "P5" (binary, 8 or 16 bits), with '#' comments in the header.</summary>
    public static GrayImage ReadPgm(byte[] bytes, string name)
    {
        int pos = 2;
        bool binary = bytes[1] == '5';
        int width = HeaderInt(bytes, ref pos, name, "width");
        int height = HeaderInt(bytes, ref pos, name, "height");
        int maxVal = HeaderInt(bytes, ref pos, name, "maximum value");
        CheckSize(name, "PGM", width, height);
        if (maxVal < 1 || maxVal > 65535) throw new UsageException($"{name}: PGM maximum value {maxVal} must be in 1..65535.");
        // Every pixel takes at least one byte (P5) or one digit and a separator (P2): check before allocating.
        long least = binary ? (long)width * height * (maxVal < 256 ? 1 : 2) : 2L * width * height - 1;
        if (bytes.Length - pos < least)
            throw new UsageException($"{name}: PGM {(binary ? "P5" : "P2")} {width}x{height} needs at least {least} bytes of pixels after the header (byte {pos}), the file has {bytes.Length - pos}; truncated?");
        var pixels = new float[width * height];
        if (binary)
        {
            if (pos >= bytes.Length || !IsSpace(bytes[pos])) throw new UsageException($"{name}: PGM header must end with one whitespace byte before the pixel data (byte {pos}).");
            pos++;
            int bpp = maxVal < 256 ? 1 : 2;
            long need = (long)width * height * bpp;
            if (bytes.Length - pos < need)
                throw new UsageException($"{name}: PGM P5 {width}x{height} needs {need} bytes of pixels after the header, the file has {bytes.Length - pos}; truncated?");
            for (int i = 0; i < pixels.Length; i++)
            {
                int v = bpp == 1 ? bytes[pos + i] : (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1];
                if (v > maxVal) throw new UsageException($"{name}: pixel {i} has value {v}, above the maximum {maxVal}.");
                pixels[i] = (float)v / maxVal;
            }
        }
        else
        {
            for (int i = 0; i < pixels.Length; i++)
            {
                int v = HeaderInt(bytes, ref pos, name, $"pixel {i}");
                if (v > maxVal) throw new UsageException($"{name}: pixel {i} has value {v}, above the maximum {maxVal}.");
                pixels[i] = (float)v / maxVal;
            }
        }
        return new GrayImage(width, height, pixels);
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private static int HeaderInt(byte[] b, ref int pos, string name, string what)
    {
        while (pos < b.Length)
        {
            if (IsSpace(b[pos])) pos++;
            else if (b[pos] == '#') { while (pos < b.Length && b[pos] != '\n' && b[pos] != '\r') pos++; }
            else break;
        }
        int start = pos;
        long v = 0;
        while (pos < b.Length && b[pos] >= '0' && b[pos] <= '9')
        {
            v = v * 10 + (b[pos] - '0');
            if (v > int.MaxValue) throw new UsageException($"{name}: PGM {what} at byte {start} is too large.");
            pos++;
        }
        if (pos == start)
            throw new UsageException(pos >= b.Length
                ? $"{name}: PGM file ends before its {what}; truncated?"
                : $"{name}: expected a number for the PGM {what} at byte {start}, found '{(char)b[pos]}'.");
        return (int)v;
    }

    private static GrayImage ReadWithSkia(byte[] bytes, string name)
    {
        if (bytes.Length == 0) throw new UsageException($"{name}: the file is empty; expected a PNG or PGM image.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data);
        if (codec is null)
            throw new UsageException($"{name}: not an image nabla can read (expected PNG or PGM P2/P5; the file starts with {Hex(bytes)}).");
        CheckSize(name, codec.EncodedFormat.ToString().ToUpperInvariant(), codec.Info.Width, codec.Info.Height);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int w = info.Width, h = info.Height, stride = info.RowBytes;
        byte[] px = new byte[(long)stride * h];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = px) result = codec.GetPixels(info, (IntPtr)p);
        }
        // Only a complete decode counts: IncompleteInput is a truncated file, whose missing rows Skia fills in.
        if (result != SKCodecResult.Success)
            throw new UsageException(result == SKCodecResult.IncompleteInput
                ? $"{name}: the {codec.EncodedFormat} image is truncated: its {w}x{h} pixels end early ({bytes.Length} bytes)."
                : $"{name}: the {codec.EncodedFormat} image could not be decoded ({result}); damaged?");
        var pixels = new float[w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int o = y * stride + 4 * x;
                float lum = (0.299f * px[o] + 0.587f * px[o + 1] + 0.114f * px[o + 2]) / 255f;
                float a = px[o + 3] / 255f;
                pixels[y * w + x] = a * lum + (1 - a); // transparent parts count as white paper
            }
        }
        return new GrayImage(w, h, pixels);
    }

    private static string Hex(byte[] b) =>
        string.Join(" ", b.Take(8).Select(x => x.ToString("x2", CultureInfo.InvariantCulture)));

    /// <summary>
    /// Turns an image into model input of <paramref name="height"/>×<paramref name="width"/> values in [0, 1], ink = 1:
    /// inverted when the border is mostly light, then fitted (see <see cref="ImageFit"/>).
    /// </summary>
    public static float[] ToModelInput(GrayImage image, int height, int width, ImageFit fit, out bool inverted)
    {
        inverted = BorderMean(image) > 0.5f;
        var ink = new float[image.Pixels.Length];
        for (int i = 0; i < ink.Length; i++) ink[i] = inverted ? 1f - image.Pixels[i] : image.Pixels[i];
        if (image.Width == width && image.Height == height) return ink;
        if (fit == ImageFit.Stretch) return Resize(ink, image.Width, image.Height, 0, 0, image.Width, image.Height, width, height);

        // Crop to the ink (pixels clearly above the background level).
        float threshold = 0.25f;
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int y = 0; y < image.Height; y++)
            for (int x = 0; x < image.Width; x++)
                if (ink[y * image.Width + x] > threshold)
                {
                    x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
                    y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
                }
        if (x1 < 0) return Resize(ink, image.Width, image.Height, 0, 0, image.Width, image.Height, width, height);
        int cw = x1 - x0 + 1, ch = y1 - y0 + 1;

        // Longer side to 20/28 of the input, aspect kept.
        double scale = Math.Min(width * 20.0 / 28 / cw, height * 20.0 / 28 / ch);
        int bw = Math.Clamp((int)Math.Round(cw * scale), 1, width), bh = Math.Clamp((int)Math.Round(ch * scale), 1, height);
        var box = Resize(ink, image.Width, image.Height, x0, y0, cw, ch, bw, bh);

        // Centre of mass to the centre of the input.
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++)
            {
                float v = box[y * bw + x];
                mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
            }
        int ox = (width - bw) / 2, oy = (height - bh) / 2;
        if (mass > 0)
        {
            ox = (int)Math.Round(width / 2.0 - mx / mass);
            oy = (int)Math.Round(height / 2.0 - my / mass);
        }
        ox = Math.Clamp(ox, 0, width - bw);
        oy = Math.Clamp(oy, 0, height - bh);
        var result = new float[width * height];
        for (int y = 0; y < bh; y++)
            Array.Copy(box, y * bw, result, (oy + y) * width + ox, bw);
        return result;
    }

    private static float BorderMean(GrayImage img)
    {
        double sum = 0;
        int n = 0;
        for (int x = 0; x < img.Width; x++)
        {
            sum += img.Pixels[x] + img.Pixels[(img.Height - 1) * img.Width + x];
            n += 2;
        }
        for (int y = 0; y < img.Height; y++)
        {
            sum += img.Pixels[y * img.Width] + img.Pixels[y * img.Width + img.Width - 1];
            n += 2;
        }
        return (float)(sum / n);
    }

    /// <summary>
    /// Resamples the rectangle (sx, sy, sw, sh) of a w-wide image to dw×dh by area averaging (each output pixel is
    /// the mean of the source area it covers, with fractional coverage at the edges).
    /// </summary>
    public static float[] Resize(float[] src, int w, int h, int sx, int sy, int sw, int sh, int dw, int dh)
    {
        var dst = new float[dw * dh];
        double fx = (double)sw / dw, fy = (double)sh / dh;
        for (int y = 0; y < dh; y++)
        {
            double ya = sy + y * fy, yb = ya + fy;
            for (int x = 0; x < dw; x++)
            {
                double xa = sx + x * fx, xb = xa + fx;
                double sum = 0, area = 0;
                for (int yy = (int)Math.Floor(ya); yy < Math.Min(h, (int)Math.Ceiling(yb)); yy++)
                {
                    double cy = Math.Min(yb, yy + 1) - Math.Max(ya, yy);
                    if (cy <= 0) continue;
                    for (int xx = (int)Math.Floor(xa); xx < Math.Min(w, (int)Math.Ceiling(xb)); xx++)
                    {
                        double cx = Math.Min(xb, xx + 1) - Math.Max(xa, xx);
                        if (cx <= 0) continue;
                        sum += src[yy * w + xx] * cx * cy;
                        area += cx * cy;
                    }
                }
                dst[y * dw + x] = area > 0 ? (float)(sum / area) : 0f;
            }
        }
        return dst;
    }

    /// <summary>Writes a PGM P5 (8-bit) file: <paramref name="pixels"/> in [0, 1], 1 = white.</summary>
    public static void WritePgm(string path, int width, int height, ReadOnlySpan<float> pixels)
    {
        var header = Encoding.ASCII.GetBytes(FormattableString.Invariant($"P5\n{width} {height}\n255\n"));
        var bytes = new byte[header.Length + width * height];
        header.CopyTo(bytes, 0);
        for (int i = 0; i < width * height; i++) bytes[header.Length + i] = (byte)Math.Clamp((int)Math.Round(pixels[i] * 255), 0, 255);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>A text picture of model input (ink in [0, 1]), two image rows per text line.</summary>
    public static string Preview(ReadOnlySpan<float> ink, int height, int width)
    {
        const string ramp = " .:-=+*#%@";
        var sb = new StringBuilder();
        for (int y = 0; y < height; y += 2)
        {
            for (int x = 0; x < width; x++)
            {
                float v = ink[y * width + x];
                if (y + 1 < height) v = (v + ink[(y + 1) * width + x]) / 2;
                sb.Append(ramp[Math.Clamp((int)(v * ramp.Length), 0, ramp.Length - 1)]);
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }
}
