using SkiaSharp;
using Nabla.Cli.Plots;

namespace Nabla.Cli.Demos;

/// <summary>Colour PNGs of segmentation masks: a fixed palette (background black, a colour per digit) and a legend.</summary>
public static class SegmentationImages
{
    // Background black; the digits 0–9 in ten well-separated colours (Tableau 10).
    private static readonly SKColor[] palette =
    [
        new(0, 0, 0), new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28), new(0x94, 0x67, 0xbd),
        new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf), new(0xf0, 0xe4, 0x42),
    ];

    /// <summary>The colour of class <paramref name="cls"/> (classes past the palette cycle through it, skipping black).</summary>
    public static SKColor ColorOf(int cls) => cls <= 0 ? palette[0] : palette[1 + (cls - 1) % (palette.Length - 1)];

    /// <summary>The name of a class of the digit scenes: "background" or the digit.</summary>
    public static string DigitClassName(int cls) => cls == 0 ? "background" : (cls - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A mask as a colour bitmap.</summary>
    public static SKBitmap MaskBitmap(ReadOnlySpan<int> mask, int width, int height)
    {
        var bmp = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) bmp.SetPixel(x, y, ColorOf(mask[y * width + x]));
        return bmp;
    }

    /// <summary>A grayscale image (values in [0, 1], 1 white) as a bitmap.</summary>
    public static SKBitmap GrayBitmap(ReadOnlySpan<float> pixels, int width, int height)
    {
        var bmp = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                byte v = (byte)Math.Clamp((int)MathF.Round(pixels[y * width + x] * 255), 0, 255);
                bmp.SetPixel(x, y, new SKColor(v, v, v));
            }
        return bmp;
    }

    /// <summary>Writes a mask as a colour PNG of its own size (one pixel per pixel); returns the full path.</summary>
    public static string WriteMask(ReadOnlySpan<int> mask, int width, int height, string path)
    {
        using var bmp = MaskBitmap(mask, width, height);
        return Save(SKImage.FromBitmap(bmp), path);
    }

    /// <summary>Writes a grayscale image as a PNG of its own size; returns the full path.</summary>
    public static string WriteGray(ReadOnlySpan<float> pixels, int width, int height, string path)
    {
        using var bmp = GrayBitmap(pixels, width, height);
        return Save(SKImage.FromBitmap(bmp), path);
    }

    /// <summary>
    /// A grid: one row per scene, columns = the input, then each mask (truth, predictions) in colour,
    /// magnified <paramref name="scale"/> times, titled, with a legend of the class colours beneath.
    /// </summary>
    public static string WriteGrid(IReadOnlyList<(float[] Image, IReadOnlyList<int[]> Masks)> rows, int size, IReadOnlyList<string> columnTitles,
        int numClasses, Func<int, string> className, string path, string? caption = null, int scale = 3)
    {
        const int pad = 10, titleH = 24, legendRowH = 22;
        int cell = size * scale, cols = columnTitles.Count;
        int legendPerRow = Math.Max(1, (cols * (cell + pad)) / 120);
        int legendRows = (numClasses + legendPerRow - 1) / legendPerRow;
        int width = pad + cols * (cell + pad);
        int height = titleH + pad + rows.Count * (cell + pad) + legendRows * legendRowH + pad + (caption is null ? 0 : legendRowH);
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        PlotFonts.Install();
        using var typeface = SKTypeface.FromFamilyName(PlotFonts.Family) ?? SKTypeface.Default;
        using var font = new SKFont(typeface, 14);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var nearest = new SKPaint { IsAntialias = false };
        for (int c = 0; c < cols; c++) canvas.DrawText(columnTitles[c], pad + c * (cell + pad), titleH - 6, font, ink);
        for (int r = 0; r < rows.Count; r++)
        {
            int y0 = titleH + pad + r * (cell + pad);
            using (var img = GrayBitmap(rows[r].Image, size, size))
                canvas.DrawBitmap(img, new SKRect(pad, y0, pad + cell, y0 + cell), nearest);
            for (int m = 0; m < rows[r].Masks.Count && m + 1 < cols; m++)
            {
                int x0 = pad + (m + 1) * (cell + pad);
                using var bmp = MaskBitmap(rows[r].Masks[m], size, size);
                canvas.DrawBitmap(bmp, new SKRect(x0, y0, x0 + cell, y0 + cell), nearest);
            }
        }
        int ly = titleH + pad + rows.Count * (cell + pad);
        for (int k = 0; k < numClasses; k++)
        {
            int lx = pad + (k % legendPerRow) * 120, row = ly + (k / legendPerRow) * legendRowH;
            using var swatch = new SKPaint { Color = ColorOf(k) };
            canvas.DrawRect(new SKRect(lx, row + 3, lx + 14, row + 17), swatch);
            canvas.DrawText(className(k), lx + 20, row + 15, font, ink);
        }
        if (caption is not null) canvas.DrawText(caption, pad, ly + legendRows * legendRowH + 16, font, ink);
        return Save(surface.Snapshot(), path);
    }

    private static string Save(SKImage image, string path)
    {
        using (image)
        {
            string full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            using (var f = File.Create(full)) data.SaveTo(f);
            return full;
        }
    }
}
