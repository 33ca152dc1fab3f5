namespace Nabla.Data;

/// <summary>
/// Brings a picture of a handwritten digit to a model's input the way MNIST's digits were made: ink as 1 on a
/// 0 background, cropped to the ink, the longer side scaled to 20/28 of the input (aspect ratio kept) and centred
/// by its centre of mass. One implementation for <c>nabla predict --image</c> and the browser playground's canvas.
/// </summary>
public static class DigitImage
{
    /// <summary>A pixel counts as ink for the crop when its value is above this.</summary>
    public const float InkThreshold = 0.25f;

    /// <summary>
    /// Turns grayscale values in [0, 1] (row-major, <paramref name="width"/>×<paramref name="height"/>) into ink:
    /// inverted when the border is mostly light (dark ink on light paper), so that ink is 1 and the background 0.
    /// </summary>
    /// <param name="gray">Luminance per pixel, 0 = black, 1 = white.</param>
    /// <param name="width">Image width.</param>
    /// <param name="height">Image height.</param>
    /// <param name="inverted">Whether the values were inverted.</param>
    public static float[] ToInk(ReadOnlySpan<float> gray, int width, int height, out bool inverted)
    {
        CheckSize(gray.Length, width, height, nameof(gray));
        inverted = BorderMean(gray, width, height) > 0.5f;
        var ink = new float[gray.Length];
        for (int i = 0; i < ink.Length; i++) ink[i] = inverted ? 1f - gray[i] : gray[i];
        return ink;
    }

    /// <summary>
    /// MNIST-style fitting of ink (1 = ink, 0 = background) into <paramref name="outHeight"/>×<paramref name="outWidth"/>:
    /// crop to the pixels above <see cref="InkThreshold"/>, resize the crop so its longer side is 20/28 of the output
    /// (area averaging, aspect kept), and place it so its centre of mass is at the centre of the output. An image
    /// without ink is resized whole.
    /// </summary>
    public static float[] CenterByMass(ReadOnlySpan<float> ink, int width, int height, int outHeight, int outWidth)
    {
        CheckSize(ink.Length, width, height, nameof(ink));
        if (outHeight < 1 || outWidth < 1 || (long)outHeight * outWidth > 100_000_000)
            throw new ArgumentOutOfRangeException(nameof(outHeight), $"DigitImage: output size {outWidth}x{outHeight} is not a usable image size.");

        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                if (ink[y * width + x] > InkThreshold)
                {
                    x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
                    y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
                }
        if (x1 < 0) return Resize(ink, width, height, 0, 0, width, height, outWidth, outHeight);
        int cw = x1 - x0 + 1, ch = y1 - y0 + 1;

        // Longer side to 20/28 of the input, aspect kept.
        double scale = Math.Min(outWidth * 20.0 / 28 / cw, outHeight * 20.0 / 28 / ch);
        int bw = Math.Clamp((int)Math.Round(cw * scale), 1, outWidth), bh = Math.Clamp((int)Math.Round(ch * scale), 1, outHeight);
        var box = Resize(ink, width, height, x0, y0, cw, ch, bw, bh);

        // Centre of mass to the centre of the output.
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++)
            {
                float v = box[y * bw + x];
                mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
            }
        int ox = (outWidth - bw) / 2, oy = (outHeight - bh) / 2;
        if (mass > 0)
        {
            ox = (int)Math.Round(outWidth / 2.0 - mx / mass);
            oy = (int)Math.Round(outHeight / 2.0 - my / mass);
        }
        ox = Math.Clamp(ox, 0, outWidth - bw);
        oy = Math.Clamp(oy, 0, outHeight - bh);
        var result = new float[outWidth * outHeight];
        for (int y = 0; y < bh; y++)
            Array.Copy(box, y * bw, result, (oy + y) * outWidth + ox, bw);
        return result;
    }

    /// <summary>
    /// Resamples the rectangle (<paramref name="sx"/>, <paramref name="sy"/>, <paramref name="sw"/>, <paramref name="sh"/>)
    /// of a <paramref name="w"/>-wide, <paramref name="h"/>-high image to <paramref name="dw"/>×<paramref name="dh"/>
    /// by area averaging (each output pixel is the mean of the source area it covers, with fractional coverage at the edges).
    /// </summary>
    public static float[] Resize(ReadOnlySpan<float> src, int w, int h, int sx, int sy, int sw, int sh, int dw, int dh)
    {
        CheckSize(src.Length, w, h, nameof(src));
        if (dw < 1 || dh < 1 || (long)dw * dh > 100_000_000)
            throw new ArgumentOutOfRangeException(nameof(dw), $"DigitImage: target size {dw}x{dh} is not a usable image size.");
        if (sw < 1 || sh < 1)
            throw new ArgumentOutOfRangeException(nameof(sw), $"DigitImage: source rectangle {sw}x{sh} is empty.");
        var dst = new float[dw * dh];
        double fx = (double)sw / dw, fy = (double)sh / dh;
        for (int y = 0; y < dh; y++)
        {
            double ya = sy + y * fy, yb = ya + fy;
            for (int x = 0; x < dw; x++)
            {
                double xa = sx + x * fx, xb = xa + fx;
                double sum = 0, area = 0;
                for (int yy = Math.Max(0, (int)Math.Floor(ya)); yy < Math.Min(h, (int)Math.Ceiling(yb)); yy++)
                {
                    double cy = Math.Min(yb, yy + 1) - Math.Max(ya, yy);
                    if (cy <= 0) continue;
                    for (int xx = Math.Max(0, (int)Math.Floor(xa)); xx < Math.Min(w, (int)Math.Ceiling(xb)); xx++)
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

    private static float BorderMean(ReadOnlySpan<float> px, int width, int height)
    {
        double sum = 0;
        int n = 0;
        for (int x = 0; x < width; x++)
        {
            sum += px[x] + px[(height - 1) * width + x];
            n += 2;
        }
        for (int y = 0; y < height; y++)
        {
            sum += px[y * width] + px[y * width + width - 1];
            n += 2;
        }
        return (float)(sum / n);
    }

    private static void CheckSize(int length, int width, int height, string name)
    {
        if (width < 1 || height < 1 || (long)width * height != length)
            throw new ArgumentException($"DigitImage: {name} has {length} values, which is not a {width}x{height} image.", name);
    }
}
