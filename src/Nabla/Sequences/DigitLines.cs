namespace Nabla.Sequences;

/// <summary>One generated line: a grey image [Height, Width] (row-major, 0 = paper, 1 = ink) and the digits on it, left to right.</summary>
/// <param name="Image">Pixels, row-major [Height, Width].</param>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
/// <param name="Digits">The digits 0–9 written on the line, left to right.</param>
public sealed record DigitLine(float[] Image, int Height, int Width, int[] Digits)
{
    /// <summary>The digits as a string, e.g. "40712".</summary>
    public string Text => string.Concat(Digits);
}

/// <summary>
/// Makes lines of handwriting by placing 3–8 single-digit images (e.g. the shipped MNIST digits)
/// side by side with random spacing, vertical offsets and scale, deterministically per seed.
/// Each generator draws from its own pool of digit images; <see cref="Split"/> makes a training
/// and a test generator whose pools are disjoint, so test lines use digits no training line uses.
/// </summary>
public sealed class DigitLineGenerator
{
    private readonly float[] images;
    private readonly int[] labels;
    private readonly int[] pool;
    private readonly int size;

    /// <summary>Creates a generator over the digit images <paramref name="pool"/> (indices into <paramref name="images"/>).</summary>
    /// <param name="images">Square digit images [N, size, size], values in [0, 1] with 0 the background.</param>
    /// <param name="labels">The digit of each image (0–9).</param>
    /// <param name="pool">Which images this generator may use (null: all).</param>
    /// <param name="height">Height of a line in pixels.</param>
    /// <param name="minDigits">Fewest digits per line.</param>
    /// <param name="maxDigits">Most digits per line.</param>
    public DigitLineGenerator(float[] images, int[] labels, int[]? pool = null, int height = 32, int minDigits = 3, int maxDigits = 8)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Length == 0 || images.Length % labels.Length != 0)
            throw new ArgumentException($"DigitLineGenerator: {images.Length} pixels do not split into {labels.Length} images.");
        int pixels = images.Length / labels.Length;
        size = (int)Math.Round(Math.Sqrt(pixels));
        if (size * size != pixels) throw new ArgumentException($"DigitLineGenerator: images of {pixels} pixels are not square.");
        if (minDigits < 1 || maxDigits < minDigits) throw new ArgumentException($"DigitLineGenerator: digits per line [{minDigits}, {maxDigits}] is not a valid range.");
        if (height < size) throw new ArgumentException($"DigitLineGenerator: height {height} is below the digit size {size}.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] > 9) throw new ArgumentException($"DigitLineGenerator: label {labels[i]} of image {i} is not a digit.");
        this.images = images;
        this.labels = labels;
        this.pool = pool ?? Enumerable.Range(0, labels.Length).ToArray();
        if (this.pool.Length == 0) throw new ArgumentException("DigitLineGenerator: the pool of digit images is empty.");
        foreach (int i in this.pool)
            if ((uint)i >= (uint)labels.Length) throw new ArgumentOutOfRangeException(nameof(pool), $"DigitLineGenerator: pool index {i} is outside the {labels.Length} images.");
        Height = height;
        MinDigits = minDigits;
        MaxDigits = maxDigits;
    }

    /// <summary>Line height in pixels.</summary>
    public int Height { get; }
    /// <summary>Fewest digits per line.</summary>
    public int MinDigits { get; }
    /// <summary>Most digits per line.</summary>
    public int MaxDigits { get; }
    /// <summary>Digit scale range (relative to the source image size).</summary>
    public (float Min, float Max) Scale { get; init; } = (0.8f, 1.1f);
    /// <summary>Gap between the ink of neighbouring digits in pixels (negative values let them touch).</summary>
    public (int Min, int Max) Gap { get; init; } = (-1, 7);
    /// <summary>The image indices this generator draws from.</summary>
    public IReadOnlyList<int> Pool => pool;

    /// <summary>
    /// A training and a test generator over disjoint, shuffled pools of the images (the test pool
    /// holds <paramref name="testFraction"/> of them).
    /// </summary>
    public static (DigitLineGenerator Train, DigitLineGenerator Test) Split(float[] images, int[] labels, double testFraction, int seed,
        int height = 32, int minDigits = 3, int maxDigits = 8)
    {
        if (testFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(testFraction), $"DigitLineGenerator.Split: test fraction {testFraction} must be in (0, 1).");
        var order = Enumerable.Range(0, labels.Length).ToArray();
        new Random(seed).Shuffle(order);
        int nTest = Math.Max(1, (int)Math.Round(labels.Length * testFraction));
        return (new DigitLineGenerator(images, labels, order[nTest..], height, minDigits, maxDigits),
                new DigitLineGenerator(images, labels, order[..nTest], height, minDigits, maxDigits));
    }

    /// <summary><paramref name="count"/> lines from a generator seeded with <paramref name="seed"/>.</summary>
    public List<DigitLine> Generate(int count, int seed)
    {
        var rng = new Random(seed);
        var lines = new List<DigitLine>(count);
        for (int i = 0; i < count; i++) lines.Add(Next(rng));
        return lines;
    }

    /// <summary>One line drawn with <paramref name="rng"/>.</summary>
    public DigitLine Next(Random rng)
    {
        int n = rng.Next(MinDigits, MaxDigits + 1);
        var glyphs = new (float[] Pix, int W, int H, int Digit)[n];
        for (int i = 0; i < n; i++)
        {
            int idx = pool[rng.Next(pool.Length)];
            float s = Scale.Min + (Scale.Max - Scale.Min) * rng.NextSingle();
            int side = Math.Min(Height, Math.Max(8, (int)MathF.Round(size * s)));
            var (pix, w) = CropColumns(Resize(images.AsSpan(idx * size * size, size * size), size, side), side);
            glyphs[i] = (pix, w, side, labels[idx]);
        }
        var gaps = new int[n + 1];
        gaps[0] = rng.Next(2, 7);
        gaps[n] = rng.Next(2, 7);
        for (int i = 1; i < n; i++) gaps[i] = rng.Next(Gap.Min, Gap.Max + 1);
        int width = gaps.Sum() + glyphs.Sum(g => g.W);
        var image = new float[Height * width];
        int x = gaps[0];
        for (int i = 0; i < n; i++)
        {
            var g = glyphs[i];
            int y0 = rng.Next(0, Height - g.H + 1);
            for (int r = 0; r < g.H; r++)
                for (int c = 0; c < g.W; c++)
                {
                    int dst = (y0 + r) * width + x + c;
                    image[dst] = Math.Max(image[dst], g.Pix[r * g.W + c]);
                }
            x += g.W + gaps[i + 1];
        }
        return new DigitLine(image, Height, width, glyphs.Select(g => g.Digit).ToArray());
    }

    /// <summary>Bilinear resize of a square image.</summary>
    private static float[] Resize(ReadOnlySpan<float> src, int from, int to)
    {
        var dst = new float[to * to];
        float scale = (float)from / to;
        for (int r = 0; r < to; r++)
        {
            float sy = Math.Clamp((r + 0.5f) * scale - 0.5f, 0, from - 1);
            int y0 = (int)sy, y1 = Math.Min(y0 + 1, from - 1);
            float fy = sy - y0;
            for (int c = 0; c < to; c++)
            {
                float sx = Math.Clamp((c + 0.5f) * scale - 0.5f, 0, from - 1);
                int x0 = (int)sx, x1 = Math.Min(x0 + 1, from - 1);
                float fx = sx - x0;
                float top = src[y0 * from + x0] * (1 - fx) + src[y0 * from + x1] * fx;
                float bottom = src[y1 * from + x0] * (1 - fx) + src[y1 * from + x1] * fx;
                dst[r * to + c] = top * (1 - fy) + bottom * fy;
            }
        }
        return dst;
    }

    /// <summary>Keeps the columns between the first and last that hold ink (so gaps are between the ink).</summary>
    private static (float[] Pixels, int Width) CropColumns(float[] img, int side)
    {
        int first = side, last = -1;
        for (int c = 0; c < side; c++)
            for (int r = 0; r < side; r++)
                if (img[r * side + c] > 0.1f) { first = Math.Min(first, c); last = Math.Max(last, c); }
        if (last < first) return (img, side);
        int w = last - first + 1;
        var o = new float[side * w];
        for (int r = 0; r < side; r++) img.AsSpan(r * side + first, w).CopyTo(o.AsSpan(r * w, w));
        return (o, w);
    }

    /// <summary>
    /// A batch as a sequence-first tensor of column frames [T, N, Height·<paramref name="columnsPerStep"/>]
    /// (each step holds that many neighbouring columns, top to bottom; lines shorter than T are
    /// padded with paper), the steps each line really has, and the CTC targets (digit d → class d + 1;
    /// class 0 is the blank).
    /// </summary>
    public static (Tensor Frames, int[] Steps, int[][] Targets) Batch(IReadOnlyList<DigitLine> lines, int columnsPerStep = 1)
    {
        if (lines.Count == 0) throw new ArgumentException("DigitLineGenerator.Batch: no lines.");
        if (columnsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(columnsPerStep), "DigitLineGenerator.Batch: columns per step must be at least 1.");
        int H = lines[0].Height, N = lines.Count, F = H * columnsPerStep;
        if (lines.Any(l => l.Height != H)) throw new ArgumentException("DigitLineGenerator.Batch: lines of different heights.");
        var steps = lines.Select(l => (l.Width + columnsPerStep - 1) / columnsPerStep).ToArray();
        int T = steps.Max();
        var x = new Tensor(new Shape(T, N, F));
        var d = x.Data;
        for (int n = 0; n < N; n++)
        {
            var l = lines[n];
            for (int c = 0; c < l.Width; c++)
            {
                int t = c / columnsPerStep, k = c % columnsPerStep;
                int off = (t * N + n) * F + k * H;
                for (int r = 0; r < H; r++) d[off + r] = l.Image[r * l.Width + c];
            }
        }
        return (x, steps, lines.Select(l => l.Digits.Select(v => v + 1).ToArray()).ToArray());
    }
}
