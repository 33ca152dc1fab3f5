namespace Nabla.Data;

/// <summary>Small seeded toy data sets for examples and tests; the same arguments always give the same data.</summary>
public static class Synthetic
{
    /// <summary>
    /// The four XOR points (0,0)→0, (0,1)→1, (1,0)→1, (1,1)→0: sample shape [2], 2 classes.
    /// </summary>
    public static Dataset Xor() =>
        new(new float[] { 0, 0, 0, 1, 1, 0, 1, 1 }, new[] { 2 }, new[] { 0, 1, 1, 0 }, 2, "xor");

    /// <summary>
    /// Two interleaved spirals in the plane (class 0 and its point reflection, class 1), each arm turning
    /// <paramref name="turns"/> times from the centre out to radius 1, with Gaussian noise of std
    /// <paramref name="noise"/>. Sample shape [2], 2 classes; samples alternate between the classes.
    /// </summary>
    public static Dataset Spirals(int pointsPerClass, double noise, int seed, double turns = 1.5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pointsPerClass, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(noise);
        var rng = new Random(seed);
        int n = 2 * pointsPerClass;
        var f = new float[2 * n];
        var l = new int[n];
        for (int i = 0; i < pointsPerClass; i++)
        {
            double t = (i + 0.5) / pointsPerClass; // 0..1 along the arm
            double r = 0.05 + 0.95 * t;
            double a = 2 * Math.PI * turns * t;
            for (int c = 0; c < 2; c++)
            {
                int k = 2 * i + c;
                double angle = a + Math.PI * c;
                f[2 * k] = (float)(r * Math.Cos(angle) + noise * Gaussian(rng));
                f[2 * k + 1] = (float)(r * Math.Sin(angle) + noise * Gaussian(rng));
                l[k] = c;
            }
        }
        return new Dataset(f, new[] { 2 }, l, 2, "spirals");
    }

    /// <summary>
    /// Gaussian blobs: <paramref name="numClasses"/> centres evenly spaced on a circle of radius 1 in
    /// <paramref name="dims"/>-dimensional space (first two axes; the others centred at 0), each with
    /// <paramref name="pointsPerClass"/> points of std <paramref name="spread"/> on every axis.
    /// Sample shape [dims]; samples cycle through the classes.
    /// </summary>
    public static Dataset Blobs(int pointsPerClass, int numClasses, double spread, int seed, int dims = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pointsPerClass, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dims, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(spread);
        var rng = new Random(seed);
        int n = pointsPerClass * numClasses;
        var f = new float[n * dims];
        var l = new int[n];
        for (int i = 0; i < pointsPerClass; i++)
            for (int c = 0; c < numClasses; c++)
            {
                int k = i * numClasses + c;
                double angle = 2 * Math.PI * c / numClasses;
                for (int d = 0; d < dims; d++)
                {
                    double centre = d == 0 ? Math.Cos(angle) : d == 1 ? Math.Sin(angle) : 0;
                    f[k * dims + d] = (float)(centre + spread * Gaussian(rng));
                }
                l[k] = c;
            }
        return new Dataset(f, new[] { dims }, l, numClasses, "blobs");
    }

    /// <summary>
    /// The "bright/dark" toy problem: <paramref name="count"/> inputs of 4 pixels, each uniform in [0, 1);
    /// label 1 (bright) when the mean of the 4 pixels is above 0.5, else 0 (dark). Sample shape [4]
    /// (use <c>Reshape(2, 2)</c> to see them as 2×2 images).
    /// </summary>
    public static Dataset BrightDark(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var rng = new Random(seed);
        var f = new float[4 * count];
        var l = new int[count];
        for (int i = 0; i < count; i++)
        {
            float sum = 0;
            for (int p = 0; p < 4; p++)
            {
                float v = (float)rng.NextDouble();
                f[4 * i + p] = v;
                sum += v;
            }
            l[i] = sum / 4f > 0.5f ? 1 : 0;
        }
        return new Dataset(f, new[] { 4 }, l, 2, "bright-dark");
    }

    private static double Gaussian(Random rng)
    {
        // Box–Muller; 1 − U keeps the logarithm finite.
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
