namespace Nabla.Data;

/// <summary>
/// Augmentation for colour images [N, C, H, W] (or flat [N, C·H·W]) as CIFAR-10 training uses it:
/// a random horizontal flip, a random crop of the image padded by zeros (a shift by whole pixels of
/// up to the padding), and random brightness and contrast (x ← (x − mean)·c + mean + b per image,
/// the same for every channel, so colours keep their balance). Draws come from the given
/// <see cref="Random"/>, so a seed fixes them.
/// </summary>
public sealed class RgbAugmentation
{
    /// <summary>Creates an augmentation (that does nothing until configured) for images of this layout.</summary>
    public RgbAugmentation(int channels, int height, int width)
    {
        if (channels <= 0 || height <= 0 || width <= 0) throw new ArgumentException($"RgbAugmentation: layout {channels}×{height}×{width} must be positive.");
        Channels = channels; Height = height; Width = width;
    }

    /// <summary>Channels per image.</summary>
    public int Channels { get; }
    /// <summary>Image height.</summary>
    public int Height { get; }
    /// <summary>Image width.</summary>
    public int Width { get; }
    /// <summary>Probability of a horizontal flip.</summary>
    public double FlipProbability { get; private set; }
    /// <summary>Zero padding of the random crop (0: none).</summary>
    public int CropPadding { get; private set; }
    /// <summary>Largest brightness offset b (uniform in ±).</summary>
    public float MaxBrightness { get; private set; }
    /// <summary>Largest contrast change (c uniform in 1 ± this).</summary>
    public float MaxContrast { get; private set; }

    /// <summary>Flips images left-right with probability <paramref name="probability"/>.</summary>
    public RgbAugmentation FlipHorizontal(double probability = 0.5)
    {
        if (probability is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(probability), $"RgbAugmentation: flip probability {probability} must be in [0, 1].");
        FlipProbability = probability;
        return this;
    }

    /// <summary>Pads by <paramref name="padding"/> zeros and crops back to the original size at a random place.</summary>
    public RgbAugmentation Crop(int padding)
    {
        if (padding < 0 || padding >= Math.Min(Height, Width)) throw new ArgumentOutOfRangeException(nameof(padding), $"RgbAugmentation: crop padding {padding} must be in [0, {Math.Min(Height, Width)}).");
        CropPadding = padding;
        return this;
    }

    /// <summary>Random brightness offsets in ±<paramref name="maxBrightness"/> and contrast factors in 1 ± <paramref name="maxContrast"/>.</summary>
    public RgbAugmentation BrightnessContrast(float maxBrightness, float maxContrast)
    {
        if (!(maxBrightness >= 0) || !(maxContrast >= 0 && maxContrast < 1))
            throw new ArgumentOutOfRangeException(nameof(maxBrightness), $"RgbAugmentation: brightness {maxBrightness} must be ≥ 0 and contrast {maxContrast} in [0, 1).");
        MaxBrightness = maxBrightness; MaxContrast = maxContrast;
        return this;
    }

    /// <summary>This augmentation as the callback <see cref="Training.FitOptions.Augment"/> takes.</summary>
    public Action<Tensor, Random> AsAction() => Apply;

    /// <summary>Augments every image of <paramref name="batch"/> in place.</summary>
    public void Apply(Tensor batch, Random rng)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(rng);
        int size = Channels * Height * Width;
        if (batch.Rank < 2 || batch.Length % size != 0 || batch.Length / size != batch.Shape[0])
            throw new ShapeMismatchException("RgbAugmentation", batch.Shape, null, $"expects images [N, {Channels}, {Height}, {Width}] or [N, {size}]");
        int n = batch.Shape[0], plane = Height * Width;
        var scratch = new float[plane];
        for (int i = 0; i < n; i++)
        {
            var image = batch.Data.Slice(i * size, size);
            bool flip = FlipProbability > 0 && rng.NextDouble() < FlipProbability;
            int dy = CropPadding > 0 ? rng.Next(-CropPadding, CropPadding + 1) : 0;
            int dx = CropPadding > 0 ? rng.Next(-CropPadding, CropPadding + 1) : 0;
            float b = MaxBrightness > 0 ? (float)((rng.NextDouble() * 2 - 1) * MaxBrightness) : 0f;
            float c = MaxContrast > 0 ? (float)(1 + (rng.NextDouble() * 2 - 1) * MaxContrast) : 1f;
            if (flip || dx != 0 || dy != 0)
                for (int ch = 0; ch < Channels; ch++)
                {
                    var p = image.Slice(ch * plane, plane);
                    p.CopyTo(scratch);
                    for (int y = 0; y < Height; y++)
                    {
                        int sy = y + dy;
                        for (int x = 0; x < Width; x++)
                        {
                            int sx = (flip ? Width - 1 - x : x) + dx;
                            p[y * Width + x] = (uint)sy < (uint)Height && (uint)sx < (uint)Width ? scratch[sy * Width + sx] : 0f;
                        }
                    }
                }
            if (b != 0f || c != 1f)
            {
                float mean = System.Numerics.Tensors.TensorPrimitives.Sum(image) / size;
                for (int k = 0; k < size; k++) image[k] = (image[k] - mean) * c + mean + b;
            }
        }
    }
}
