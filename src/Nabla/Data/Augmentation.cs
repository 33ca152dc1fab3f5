using System.Buffers;
using System.Numerics.Tensors;

namespace Nabla.Data;

/// <summary>
/// Random image augmentation for a training batch, applied in place: a geometric part (horizontal
/// flip, small rotation, shift, scale: combined into one affine map about the image centre and
/// resampled once, bilinearly) and a photometric part (brightness offset, Gaussian noise, optional
/// clamping). Configure it fluently and hand it to <c>FitOptions.Augment</c>:
/// <code>
/// options.Augment = new ImageAugmentation(28, 28).Rotate(10).Shift(2).Scale(0.9f, 1.1f).Noise(0.05f).AsAction();
/// </code>
/// Inputs are [N, C, H, W], [N, H, W], or [N, H·W] (then the image size must be given, or the
/// image is square). All channels of an image get the same transform; every image its own. The
/// random draws come only from the <see cref="Random"/> passed in, so a seed reproduces a batch.
/// Pixels that the transform brings in from outside the image take <see cref="FillValue"/>.
/// Nothing is allocated per pixel; one image-sized buffer is rented per call. Nothing is on
/// by default — horizontal flips in particular change the meaning of digits and letters.
/// </summary>
public sealed class ImageAugmentation
{
    /// <summary>Creates an augmentation that does nothing yet; <paramref name="height"/> and <paramref name="width"/> are needed for flat [N, H·W] inputs that are not square.</summary>
    public ImageAugmentation(int? height = null, int? width = null)
    {
        if (height is < 1 || width is < 1 || (height is null) != (width is null))
            throw new ArgumentException($"ImageAugmentation: give both image height and width (positive), or neither; got {height}×{width}.");
        Height = height;
        Width = width;
    }

    /// <summary>Image height for flat inputs, if given.</summary>
    public int? Height { get; }

    /// <summary>Image width for flat inputs, if given.</summary>
    public int? Width { get; }

    /// <summary>Probability of mirroring an image left–right (0: never).</summary>
    public double FlipProbability { get; private set; }

    /// <summary>Largest rotation in degrees; the angle is uniform in ±this.</summary>
    public float MaxRotationDegrees { get; private set; }

    /// <summary>Largest shift in pixels along each axis; uniform in ±this.</summary>
    public float MaxShift { get; private set; }

    /// <summary>Smallest zoom factor.</summary>
    public float MinScale { get; private set; } = 1f;

    /// <summary>Largest zoom factor.</summary>
    public float MaxScale { get; private set; } = 1f;

    /// <summary>Largest brightness offset added to a whole image; uniform in ±this.</summary>
    public float MaxBrightness { get; private set; }

    /// <summary>Standard deviation of the Gaussian noise added to every pixel.</summary>
    public float NoiseStd { get; private set; }

    /// <summary>The range pixels are clamped to at the end, if any.</summary>
    public (float Min, float Max)? ClampRange { get; private set; }

    /// <summary>The value of pixels brought in from outside the image (the background).</summary>
    public float FillValue { get; private set; }

    /// <summary>Mirrors each image left–right with probability <paramref name="probability"/>.</summary>
    public ImageAugmentation FlipHorizontal(double probability = 0.5)
    {
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), $"ImageAugmentation: flip probability {probability} must be in [0, 1].");
        FlipProbability = probability;
        return this;
    }

    /// <summary>Rotates each image by an angle uniform in ±<paramref name="maxDegrees"/>.</summary>
    public ImageAugmentation Rotate(float maxDegrees)
    {
        if (!(maxDegrees is >= 0 and <= 180)) throw new ArgumentOutOfRangeException(nameof(maxDegrees), $"ImageAugmentation: rotation {maxDegrees}° must be in [0, 180].");
        MaxRotationDegrees = maxDegrees;
        return this;
    }

    /// <summary>Shifts each image by offsets uniform in ±<paramref name="maxPixels"/> along each axis (fractions of a pixel included).</summary>
    public ImageAugmentation Shift(float maxPixels)
    {
        if (!(maxPixels >= 0 && float.IsFinite(maxPixels))) throw new ArgumentOutOfRangeException(nameof(maxPixels), $"ImageAugmentation: shift {maxPixels} must be non-negative.");
        MaxShift = maxPixels;
        return this;
    }

    /// <summary>Zooms each image by a factor uniform in [<paramref name="min"/>, <paramref name="max"/>] about its centre.</summary>
    public ImageAugmentation Scale(float min, float max)
    {
        if (!(min > 0 && max >= min && float.IsFinite(max))) throw new ArgumentOutOfRangeException(nameof(min), $"ImageAugmentation: scale range [{min}, {max}] must be positive and ordered.");
        MinScale = min;
        MaxScale = max;
        return this;
    }

    /// <summary>Adds to each image an offset uniform in ±<paramref name="maxDelta"/>.</summary>
    public ImageAugmentation Brightness(float maxDelta)
    {
        if (!(maxDelta >= 0 && float.IsFinite(maxDelta))) throw new ArgumentOutOfRangeException(nameof(maxDelta), $"ImageAugmentation: brightness {maxDelta} must be non-negative.");
        MaxBrightness = maxDelta;
        return this;
    }

    /// <summary>Adds N(0, <paramref name="std"/>²) noise to every pixel.</summary>
    public ImageAugmentation Noise(float std)
    {
        if (!(std >= 0 && float.IsFinite(std))) throw new ArgumentOutOfRangeException(nameof(std), $"ImageAugmentation: noise std {std} must be non-negative.");
        NoiseStd = std;
        return this;
    }

    /// <summary>Clamps every pixel to [<paramref name="min"/>, <paramref name="max"/>] at the end (e.g. [0, 1]).</summary>
    public ImageAugmentation Clamp(float min, float max)
    {
        if (!(max >= min)) throw new ArgumentOutOfRangeException(nameof(max), $"ImageAugmentation: clamp range [{min}, {max}] is empty.");
        ClampRange = (min, max);
        return this;
    }

    /// <summary>Sets the value of pixels brought in from outside the image (default 0).</summary>
    public ImageAugmentation Fill(float value)
    {
        FillValue = value;
        return this;
    }

    /// <summary>The augmentation as the delegate <c>FitOptions.Augment</c> takes.</summary>
    public Action<Tensor, Random> AsAction() => Apply;

    /// <summary>Augments every image of <paramref name="batch"/> in place, drawing from a new <see cref="Random"/> seeded with <paramref name="seed"/>.</summary>
    public void Apply(Tensor batch, int seed) => Apply(batch, new Random(seed));

    /// <summary>Augments every image of <paramref name="batch"/> in place, drawing from <paramref name="rng"/>.</summary>
    public void Apply(Tensor batch, Random rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(rng);
        var (n, channels, h, w) = Layout(batch);
        int plane = h * w;
        bool geometric = FlipProbability > 0 || MaxRotationDegrees > 0 || MaxShift > 0 || MinScale != 1f || MaxScale != 1f;
        var data = batch.Data;
        float[]? rented = geometric ? ArrayPool<float>.Shared.Rent(plane) : null;
        try
        {
            for (int i = 0; i < n; i++)
            {
                var image = data.Slice(i * channels * plane, channels * plane);
                // The draws happen in a fixed order, whether or not a part turns out to be the identity.
                bool flip = FlipProbability > 0 && rng.NextDouble() < FlipProbability;
                double angle = MaxRotationDegrees > 0 ? Uniform(rng, MaxRotationDegrees) * Math.PI / 180 : 0;
                double dx = MaxShift > 0 ? Uniform(rng, MaxShift) : 0;
                double dy = MaxShift > 0 ? Uniform(rng, MaxShift) : 0;
                double scale = MaxScale != MinScale ? MinScale + rng.NextDouble() * (MaxScale - MinScale) : MinScale;
                float brightness = MaxBrightness > 0 ? (float)Uniform(rng, MaxBrightness) : 0f;

                if (geometric && (flip || angle != 0 || dx != 0 || dy != 0 || scale != 1))
                {
                    var source = rented.AsSpan(0, plane);
                    for (int c = 0; c < channels; c++)
                    {
                        var channel = image.Slice(c * plane, plane);
                        channel.CopyTo(source);
                        Warp(source, channel, h, w, flip, angle, dx, dy, scale, FillValue);
                    }
                }
                if (brightness != 0f) TensorPrimitives.Add(image, brightness, image);
                if (NoiseStd > 0f) AddNoise(image, NoiseStd, rng);
                if (ClampRange is var (lo, hi))
                {
                    TensorPrimitives.Max(image, lo, image);
                    TensorPrimitives.Min(image, hi, image);
                }
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Resamples <paramref name="source"/> [h, w] into <paramref name="target"/>: each target pixel p
    /// reads the source at the inverse of p ↦ c + s·R(θ)·(F(p) − c) + (dx, dy), F the optional
    /// mirror and c the centre, bilinearly, with <paramref name="fill"/> outside the image.
    /// </summary>
    internal static void Warp(ReadOnlySpan<float> source, Span<float> target, int h, int w,
        bool flip, double angle, double dx, double dy, double scale, float fill)
    {
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        double cos = Math.Cos(angle) / scale, sin = Math.Sin(angle) / scale;
        for (int y = 0; y < h; y++)
        {
            double v = y - cy - dy;
            for (int x = 0; x < w; x++)
            {
                double u = x - cx - dx;
                double sx = cos * u + sin * v + cx;   // R(−θ)/s applied to (u, v)
                double sy = -sin * u + cos * v + cy;
                if (flip) sx = w - 1 - sx;
                target[y * w + x] = Bilinear(source, h, w, sx, sy, fill);
            }
        }
    }

    private static float Bilinear(ReadOnlySpan<float> src, int h, int w, double x, double y, float fill)
    {
        if (x <= -1 || y <= -1 || x >= w || y >= h) return fill;
        int x0 = (int)Math.Floor(x), y0 = (int)Math.Floor(y);
        float fx = (float)(x - x0), fy = (float)(y - y0);
        float p00 = Pixel(src, h, w, x0, y0, fill), p10 = Pixel(src, h, w, x0 + 1, y0, fill);
        float p01 = Pixel(src, h, w, x0, y0 + 1, fill), p11 = Pixel(src, h, w, x0 + 1, y0 + 1, fill);
        float top = p00 + (p10 - p00) * fx;
        float bottom = p01 + (p11 - p01) * fx;
        return top + (bottom - top) * fy;
    }

    private static float Pixel(ReadOnlySpan<float> src, int h, int w, int x, int y, float fill) =>
        (uint)x < (uint)w && (uint)y < (uint)h ? src[y * w + x] : fill;

    private static double Uniform(Random rng, double max) => (rng.NextDouble() * 2 - 1) * max;

    private static void AddNoise(Span<float> values, float std, Random rng)
    {
        // Box–Muller gives two normal deviates per pair of uniforms.
        for (int i = 0; i < values.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1)) * std;
            values[i] += (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < values.Length) values[i + 1] += (float)(r * Math.Sin(2 * Math.PI * u2));
        }
    }

    private (int N, int Channels, int Height, int Width) Layout(Tensor batch)
    {
        var s = batch.Shape;
        (int n, int c, int h, int w) = batch.Rank switch
        {
            4 => (s[0], s[1], s[2], s[3]),
            3 => (s[0], 1, s[1], s[2]),
            2 => FlatLayout(s[0], s[1]),
            _ => throw new ArgumentException($"ImageAugmentation: expects a batch [N, C, H, W], [N, H, W] or [N, H·W]; got {s}.", nameof(batch)),
        };
        if (batch.Rank > 2 && Height is int gh && Width is int gw && (gh != h || gw != w))
            throw new ArgumentException($"ImageAugmentation: configured for {gh}×{gw} images, got a batch {s}.", nameof(batch));
        return (n, c, h, w);
    }

    private (int, int, int, int) FlatLayout(int n, int size)
    {
        if (Height is int h && Width is int w)
        {
            if (h * w != size) throw new ArgumentException($"ImageAugmentation: configured for {h}×{w} images ({h * w} values), got rows of {size}.");
            return (n, 1, h, w);
        }
        int side = (int)Math.Round(Math.Sqrt(size));
        if (side * side != size)
            throw new ArgumentException($"ImageAugmentation: rows of {size} values are not square images; give the height and width.");
        return (n, 1, side, side);
    }
}
