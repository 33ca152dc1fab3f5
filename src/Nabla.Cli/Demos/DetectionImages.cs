using System.Globalization;
using Nabla.Cli.Plots;
using Nabla.Vision;
using SkiaSharp;

namespace Nabla.Cli.Demos;

/// <summary>
/// Draws detections over grayscale images for <c>nabla demo detect</c> and <c>nabla predict</c>: each box
/// in its class's colour with a tag "label score" above it, optionally the ground truth as thin white
/// dashed boxes.
/// </summary>
public static class DetectionImages
{
    // Ten distinct colours (matplotlib's tab10), one per digit.
    private static readonly SKColor[] palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xff, 0x7f, 0x0e), new(0x2c, 0xa0, 0x2c), new(0xd6, 0x27, 0x28), new(0x94, 0x67, 0xbd),
        new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0xbc, 0xbd, 0x22), new(0x17, 0xbe, 0xcf), new(0xff, 0xd7, 0x00),
    ];

    /// <summary>The colour of class <paramref name="label"/>.</summary>
    public static SKColor ColorOf(int label) => palette[((label % palette.Length) + palette.Length) % palette.Length];

    /// <summary>One image with its detections (and optionally its ground truth) for <see cref="WriteGrid"/>.</summary>
    /// <param name="Pixels">Row-major luminance in [0, 1] (drawn as it is: light ink on dark for the scenes).</param>
    /// <param name="Width">Width in pixels.</param>
    /// <param name="Height">Height in pixels.</param>
    /// <param name="Detections">Boxes in the image's pixels.</param>
    /// <param name="TruthBoxes">Ground-truth boxes in pixels, or null.</param>
    /// <param name="Caption">A line under the image, or null.</param>
    public sealed record Panel(float[] Pixels, int Width, int Height, DetectionResult Detections, Box[]? TruthBoxes = null, string? Caption = null);

    /// <summary>Writes the panels in a grid of <paramref name="columns"/> columns, each image magnified by <paramref name="scale"/>; returns the full path.</summary>
    public static string WriteGrid(IReadOnlyList<Panel> panels, string path, int columns, int scale, string? title = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("DetectionImages: no images to draw.", nameof(panels));
        if (columns < 1 || scale < 1) throw new ArgumentOutOfRangeException(nameof(columns), $"DetectionImages: {columns} columns at scale {scale}.");
        const int pad = 12, captionH = 20;
        int titleH = title is null ? 0 : 30;
        int cellW = panels.Max(p => p.Width) * scale, cellH = panels.Max(p => p.Height) * scale;
        bool captions = panels.Any(p => p.Caption is not null);
        int rows = (panels.Count + columns - 1) / columns;
        int width = Math.Min(panels.Count, columns) * (cellW + pad) + pad;
        int height = titleH + rows * (cellH + pad + (captions ? captionH : 0)) + pad;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        PlotFonts.Install();
        using var typeface = SKTypeface.FromFamilyName(PlotFonts.Family) ?? SKTypeface.Default;
        using var titleFont = new SKFont(typeface, 18);
        using var captionFont = new SKFont(typeface, 13);
        using var black = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        if (title is not null) canvas.DrawText(title, pad, 22, titleFont, black);
        for (int i = 0; i < panels.Count; i++)
        {
            int x0 = pad + (i % columns) * (cellW + pad);
            int y0 = titleH + pad + (i / columns) * (cellH + pad + (captions ? captionH : 0));
            Draw(canvas, panels[i], x0, y0, scale, typeface, classNames);
            if (panels[i].Caption is { } caption) canvas.DrawText(caption, x0, y0 + panels[i].Height * scale + captionH - 5, captionFont, black);
        }
        return Save(surface, path);
    }

    /// <summary>Writes one image with its detections, magnified so that its longer side is about 512 pixels; returns the full path.</summary>
    public static string WriteSingle(Panel panel, string path, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(panel);
        int scale = Math.Clamp(512 / Math.Max(panel.Width, panel.Height), 1, 16);
        using var surface = SKSurface.Create(new SKImageInfo(panel.Width * scale, panel.Height * scale));
        PlotFonts.Install();
        using var typeface = SKTypeface.FromFamilyName(PlotFonts.Family) ?? SKTypeface.Default;
        Draw(surface.Canvas, panel, 0, 0, scale, typeface, classNames);
        return Save(surface, path);
    }

    private static void Draw(SKCanvas canvas, Panel p, int x0, int y0, int scale, SKTypeface typeface, IReadOnlyList<string>? classNames)
    {
        using (var bmp = new SKBitmap(p.Width, p.Height, SKColorType.Gray8, SKAlphaType.Opaque))
        {
            for (int r = 0; r < p.Height; r++)
                for (int c = 0; c < p.Width; c++)
                {
                    byte v = (byte)Math.Clamp((int)MathF.Round(p.Pixels[r * p.Width + c] * 255), 0, 255);
                    bmp.SetPixel(c, r, new SKColor(v, v, v));
                }
            using var image = SKImage.FromBitmap(bmp);
            canvas.DrawImage(image, new SKRect(x0, y0, x0 + p.Width * scale, y0 + p.Height * scale), new SKSamplingOptions(SKFilterMode.Nearest));
        }
        float S(float v) => v * scale;
        if (p.TruthBoxes is not null)
        {
            using var truth = new SKPaint { Color = new SKColor(255, 255, 255, 170), IsStroke = true, StrokeWidth = 1, IsAntialias = true, PathEffect = SKPathEffect.CreateDash([4, 3], 0) };
            foreach (var b in p.TruthBoxes) canvas.DrawRect(new SKRect(x0 + S(b.X1), y0 + S(b.Y1), x0 + S(b.X2), y0 + S(b.Y2)), truth);
        }
        using var font = new SKFont(typeface, Math.Clamp(3.2f * scale, 10f, 16f));
        float textH = font.Size + 2;
        // Lowest score first, so that the best boxes and their tags end up on top.
        foreach (int i in Enumerable.Range(0, p.Detections.Count).OrderBy(i => p.Detections.Scores[i]))
        {
            var b = p.Detections.Boxes[i];
            var color = ColorOf(p.Detections.Labels[i]);
            using var stroke = new SKPaint { Color = color, IsStroke = true, StrokeWidth = Math.Max(1.5f, scale / 2f), IsAntialias = true };
            var rect = new SKRect(x0 + S(b.X1), y0 + S(b.Y1), x0 + S(b.X2), y0 + S(b.Y2));
            canvas.DrawRect(rect, stroke);
            int label = p.Detections.Labels[i];
            string name = classNames is not null && label < classNames.Count ? classNames[label] : label.ToString(CultureInfo.InvariantCulture);
            string tag = $"{name} {p.Detections.Scores[i].ToString("0.00", CultureInfo.InvariantCulture)}";
            float tw = font.MeasureText(tag) + 4;
            // The tag sits above the box, or inside its top edge when the box touches the image's top.
            float ty = rect.Top - textH >= y0 ? rect.Top - textH : rect.Top;
            using var fill = new SKPaint { Color = color.WithAlpha(220) };
            canvas.DrawRect(new SKRect(rect.Left, ty, rect.Left + tw, ty + textH), fill);
            using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText(tag, rect.Left + 2, ty + textH - 3, font, text);
        }
    }

    private static string Save(SKSurface surface, string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 90);
        using (var f = File.Create(full)) data.SaveTo(f);
        return full;
    }

    /// <summary>Writes a grayscale image (values in [0, 1]) as an 8-bit PNG of its own size; returns the full path.</summary>
    public static string WriteGray(float[] pixels, int width, int height, string path)
    {
        using var bmp = new SKBitmap(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        for (int r = 0; r < height; r++)
            for (int c = 0; c < width; c++)
            {
                byte v = (byte)Math.Clamp((int)MathF.Round(pixels[r * width + c] * 255), 0, 255);
                bmp.SetPixel(c, r, new SKColor(v, v, v));
            }
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        using var image = SKImage.FromBitmap(bmp);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using (var f = File.Create(full)) data.SaveTo(f);
        return full;
    }
}
