namespace Nabla.Vision;

/// <summary>
/// One generated scene: a grey canvas with digits on it, the class of every pixel (0 = background,
/// d + 1 for digit d) and one labelled box per digit (the box around its ink, in pixels).
/// </summary>
/// <param name="Image">Pixels, row-major [Size, Size], in [0, 1].</param>
/// <param name="Mask">The class of every pixel, row-major [Size, Size]: 0 background, 1–10 the digits 0–9.</param>
/// <param name="Size">Side of the square canvas.</param>
/// <param name="Boxes">The box of each digit, in pixels.</param>
/// <param name="Labels">The digit (0–9) in each box.</param>
public sealed record Scene(float[] Image, int[] Mask, int Size, Box[] Boxes, int[] Labels);

/// <summary>
/// Makes scenes for segmentation and detection from single-digit images (e.g. the shipped MNIST
/// digits): 1–5 digits at random positions and scales on a square canvas, some overlapping, over a
/// noisy or textured background, deterministically per seed. <see cref="Split"/> makes a training and a
/// test generator whose pools of digit images are disjoint, so test scenes use digits that no training
/// scene uses.
/// </summary>
public sealed class SceneGenerator
{
    private readonly float[] images;
    private readonly int[] labels;
    private readonly int[] pool;
    private readonly int source;

    /// <summary>Creates a generator over the digit images <paramref name="pool"/> (indices into <paramref name="images"/>).</summary>
    /// <param name="images">Square digit images [N, s, s], values in [0, 1] with 0 the background.</param>
    /// <param name="labels">The digit of each image (0–9).</param>
    /// <param name="pool">Which images this generator may use (null: all).</param>
    /// <param name="size">Side of the canvas in pixels.</param>
    public SceneGenerator(float[] images, int[] labels, int[]? pool = null, int size = 64)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length == 0 || images.Length % labels.Length != 0)
            throw new ArgumentException($"SceneGenerator: {images.Length} pixels do not split into {labels.Length} images.");
        int pixels = images.Length / labels.Length;
        source = (int)Math.Round(Math.Sqrt(pixels));
        if (source * source != pixels) throw new ArgumentException($"SceneGenerator: images of {pixels} pixels are not square.");
        if (size < 16 || size > 4096) throw new ArgumentOutOfRangeException(nameof(size), $"SceneGenerator: canvas size {size} is outside [16, 4096].");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] > 9) throw new ArgumentException($"SceneGenerator: label {labels[i]} of image {i} is not a digit.");
        this.images = images;
        this.labels = labels;
        this.pool = pool ?? Enumerable.Range(0, labels.Length).ToArray();
        if (this.pool.Length == 0) throw new ArgumentException("SceneGenerator: the pool of digit images is empty.");
        foreach (int i in this.pool)
            if ((uint)i >= (uint)labels.Length) throw new ArgumentOutOfRangeException(nameof(pool), $"SceneGenerator: pool index {i} is outside the {labels.Length} images.");
        Size = size;
    }

    /// <summary>Side of the canvas.</summary>
    public int Size { get; }

    /// <summary>Fewest and most digits per scene.</summary>
    public (int Min, int Max) Objects { get; init; } = (1, 5);

    /// <summary>Side of a pasted digit as a fraction of the canvas (the source image is resampled).</summary>
    public (float Min, float Max) DigitScale { get; init; } = (0.3f, 0.55f);

    /// <summary>How strong the background noise and texture are (0: a clean background).</summary>
    public float BackgroundLevel { get; init; } = 0.15f;

    /// <summary>Ink below this value does not count as the digit in the mask and the box.</summary>
    public float InkThreshold { get; init; } = 0.35f;

    /// <summary>The image indices this generator draws from.</summary>
    public IReadOnlyList<int> Pool => pool;

    /// <summary>A training and a test generator over disjoint, shuffled pools of the images.</summary>
    public static (SceneGenerator Train, SceneGenerator Test) Split(float[] images, int[] labels, double testFraction, int seed, int size = 64)
    {
        if (testFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(testFraction), $"SceneGenerator.Split: test fraction {testFraction} must be in (0, 1).");
        var order = Enumerable.Range(0, labels.Length).ToArray();
        new Random(seed).Shuffle(order);
        int test = Math.Max(1, (int)Math.Round(order.Length * testFraction));
        if (test >= order.Length) throw new ArgumentException("SceneGenerator.Split: too few images to split.");
        return (new SceneGenerator(images, labels, order[test..], size), new SceneGenerator(images, labels, order[..test], size));
    }

    /// <summary>The scene for <paramref name="seed"/> (the same seed gives the same scene).</summary>
    public Scene Generate(int seed)
    {
        var rng = new Random(seed);
        int n = Size;
        var image = new float[n * n];
        var mask = new int[n * n];
        // Background: smooth stripes or blotches plus pixel noise, kept below the ink threshold.
        if (BackgroundLevel > 0)
        {
            double fx = rng.NextDouble() * 0.5, fy = rng.NextDouble() * 0.5, phase = rng.NextDouble() * Math.Tau;
            float texture = (float)rng.NextDouble() * BackgroundLevel;
            for (int y = 0; y < n; y++)
                for (int x = 0; x < n; x++)
                {
                    float t = texture * 0.5f * (1f + (float)Math.Sin(fx * x + fy * y + phase));
                    float noise = BackgroundLevel * 0.5f * rng.NextSingle();
                    image[y * n + x] = MathF.Min(t + noise, InkThreshold * 0.8f);
                }
        }
        int count = rng.Next(Objects.Min, Objects.Max + 1);
        var boxes = new List<Box>();
        var digits = new List<int>();
        var placed = new List<(int X, int Y, int S, int Index)>();
        for (int k = 0; k < count; k++)
        {
            int index = pool[rng.Next(pool.Length)];
            int s = (int)Math.Round(n * (DigitScale.Min + rng.NextSingle() * (DigitScale.Max - DigitScale.Min)));
            s = Math.Clamp(s, 4, n);
            int x0 = rng.Next(0, n - s + 1), y0 = rng.Next(0, n - s + 1);
            placed.Add((x0, y0, s, index));
        }
        // Paste in order: a later digit covers an earlier one where its ink is, as paper would. Which
        // digit owns each ink pixel is kept, so that two overlapping digits of the same class still
        // get a box each around their own visible ink.
        var owner = new int[n * n];
        Array.Fill(owner, -1);
        for (int k = 0; k < placed.Count; k++)
        {
            var (x0, y0, s, index) = placed[k];
            int digit = labels[index];
            var src = images.AsSpan(index * source * source, source * source);
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                {
                    float v = Sample(src, (x + 0.5f) * source / s - 0.5f, (y + 0.5f) * source / s - 0.5f);
                    int p = (y0 + y) * n + x0 + x;
                    if (v > image[p]) image[p] = v;
                    if (v >= InkThreshold) { mask[p] = digit + 1; owner[p] = k; }
                }
        }
        // Boxes around the ink each digit still shows (a fully covered digit is dropped).
        for (int k = 0; k < placed.Count; k++)
        {
            var (x0, y0, s, index) = placed[k];
            int cls = labels[index] + 1;
            int minX = int.MaxValue, minY = int.MaxValue, maxX = -1, maxY = -1;
            for (int y = y0; y < y0 + s; y++)
                for (int x = x0; x < x0 + s; x++)
                    if (owner[y * n + x] == k)
                    {
                        minX = Math.Min(minX, x); maxX = Math.Max(maxX, x);
                        minY = Math.Min(minY, y); maxY = Math.Max(maxY, y);
                    }
            if (maxX < 0) continue;
            boxes.Add(new Box(minX, minY, maxX + 1, maxY + 1));
            digits.Add(cls - 1);
        }
        return new Scene(image, mask, n, boxes.ToArray(), digits.ToArray());
    }

    private float Sample(ReadOnlySpan<float> src, float x, float y)
    {
        // Bilinear resampling of the source digit; outside it is background.
        int x0 = (int)MathF.Floor(x), y0 = (int)MathF.Floor(y);
        float fx = x - x0, fy = y - y0;
        return (1 - fy) * ((1 - fx) * At(src, x0, y0) + fx * At(src, x0 + 1, y0)) + fy * ((1 - fx) * At(src, x0, y0 + 1) + fx * At(src, x0 + 1, y0 + 1));
    }

    private float At(ReadOnlySpan<float> src, int x, int y) => (uint)x < (uint)source && (uint)y < (uint)source ? src[y * source + x] : 0f;
}
