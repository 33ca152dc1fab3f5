namespace Nabla.Tests.Core;

/// <summary>
/// Seeded test inputs. Every generator is deterministic per seed; the "away from" variants keep
/// values clear of kinks by much more than GradCheck's step (1e-2), so central differences never
/// straddle a non-differentiable point.
/// </summary>
internal static class Gen
{
    /// <summary>Standard normal values.</summary>
    public static Tensor N(int seed, params int[] shape) => Tensor.Randn(shape, seed: seed);

    /// <summary>Uniform values in [low, high).</summary>
    public static Tensor U(int seed, float low, float high, params int[] shape) =>
        Tensor.Uniform(new Shape(shape), low, high, new Random(seed));

    /// <summary>Uniform values in [0.5, 2): safe for log, sqrt and fractional powers.</summary>
    public static Tensor Positive(int seed, params int[] shape) => U(seed, 0.5f, 2f, shape);

    /// <summary>Normal values pushed out of (−gap, gap): |v| ≥ gap.</summary>
    public static Tensor AwayFromZero(int seed, float gap, params int[] shape)
    {
        var t = N(seed, shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++)
            if (MathF.Abs(d[i]) < gap) d[i] = d[i] >= 0 ? d[i] + gap : d[i] - gap;
        return t;
    }

    /// <summary>
    /// Values that are pairwise at least 0.1 apart (a shuffled grid of spacing 0.1 plus noise below
    /// 0.02), so that no max has a tie within a finite-difference step.
    /// </summary>
    public static Tensor Distinct(int seed, params int[] shape)
    {
        var t = new Tensor(new Shape(shape));
        var rng = new Random(seed);
        int n = t.Length;
        var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        for (int i = 0; i < n; i++)
            t.Data[i] = 0.1f * (order[i] - n / 2f) + 0.02f * (float)(rng.NextDouble() - 0.5);
        return t;
    }

    /// <summary>Random class indices in [0, classes).</summary>
    public static int[] Classes(int seed, int n, int classes)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
    }

    /// <summary>Rows that are probability distributions (positive, summing to 1).</summary>
    public static Tensor Distribution(int seed, int rows, int cols)
    {
        var t = U(seed, 0.1f, 1f, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            float s = 0;
            for (int c = 0; c < cols; c++) s += t[r, c];
            for (int c = 0; c < cols; c++) t[r, c] /= s;
        }
        return t;
    }

    /// <summary>The first seed from <paramref name="seed"/> on whose value passes <paramref name="ok"/>.</summary>
    public static T FirstGood<T>(int seed, Func<int, T> make, Func<T, bool> ok)
    {
        for (int s = seed; s < seed + 1000; s++)
        {
            var v = make(s);
            if (ok(v)) return v;
        }
        throw new InvalidOperationException("No seed gave acceptable test data.");
    }
}
