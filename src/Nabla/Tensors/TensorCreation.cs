namespace Nabla;

/// <summary>
/// Creation functions as PyTorch's: the shape comes first (<c>Tensor.Randn(2, 5)</c> is a [2,5] tensor), the seed or
/// generator is a named argument (<c>Tensor.Randn([2, 5], seed: 7)</c>). Without either, values come from the
/// process-wide generator that <see cref="ManualSeed"/> resets, like <c>torch.manual_seed</c>.
/// </summary>
public partial class Tensor
{
    private static readonly object DefaultLock = new();
    private static Random defaultGenerator = new(0);

    /// <summary>Re-seeds the generator that random creation functions use when given neither seed nor generator.</summary>
    public static void ManualSeed(int seed)
    {
        lock (DefaultLock) defaultGenerator = new Random(seed);
    }

    // A seed makes a fresh generator (the same seed, the same values); a generator continues its stream.
    private static T WithGenerator<T>(int? seed, Random? generator, Func<Random, T> make)
    {
        if (seed is not null && generator is not null) throw new ArgumentException("Give a seed or a generator, not both.");
        if (generator is not null) return make(generator);
        if (seed is int s) return make(new Random(s));
        lock (DefaultLock) return make(defaultGenerator);
    }

    /// <summary>Standard normal values (mean 0, std 1) of <paramref name="shape"/> from the default generator.</summary>
    public static Tensor Randn(params int[] shape) => Randn(shape, seed: null);

    /// <summary>Standard normal values of <paramref name="shape"/>, from <paramref name="seed"/> or <paramref name="generator"/> when given.</summary>
    public static Tensor Randn(int[] shape, int? seed = null, Random? generator = null) =>
        WithGenerator(seed, generator, rng => Normal(new Shape(shape), 0f, 1f, rng));

    /// <summary>Uniform values in [0, 1) of <paramref name="shape"/> from the default generator.</summary>
    public static Tensor Rand(params int[] shape) => Rand(shape, seed: null);

    /// <summary>Uniform values in [0, 1) of <paramref name="shape"/>, from <paramref name="seed"/> or <paramref name="generator"/> when given.</summary>
    public static Tensor Rand(int[] shape, int? seed = null, Random? generator = null) =>
        WithGenerator(seed, generator, rng => Uniform(new Shape(shape), 0f, 1f, rng));

    /// <summary>Whole numbers drawn uniformly from [<paramref name="low"/>, <paramref name="high"/>) (PyTorch's randint).</summary>
    public static Tensor RandInt(int low, int high, int[] shape, int? seed = null, Random? generator = null)
    {
        if (high <= low) throw new ArgumentException($"RandInt: high ({high}) must be greater than low ({low}).");
        return WithGenerator(seed, generator, rng =>
        {
            var t = new Tensor(new Shape(shape));
            var d = t.Data;
            for (int i = 0; i < d.Length; i++) d[i] = rng.Next(low, high);
            return t;
        });
    }

    /// <summary>A tensor of <paramref name="shape"/> filled with <paramref name="value"/> (PyTorch's argument order).</summary>
    public static Tensor Full(int[] shape, float value) => Full(value, shape);

    /// <summary>Ones with the shape of <paramref name="like"/>.</summary>
    public static Tensor OnesLike(Tensor like) => Full(1f, like.Shape.ToArray());

    /// <summary>Standard normal values with the shape of <paramref name="like"/>.</summary>
    public static Tensor RandnLike(Tensor like, int? seed = null, Random? generator = null) => Randn(like.Shape.ToArray(), seed, generator);

    /// <summary>The n×n identity matrix.</summary>
    public static Tensor Eye(int n)
    {
        var t = Zeros(n, n);
        for (int i = 0; i < n; i++) t.data[i * n + i] = 1f;
        return t;
    }

    /// <summary><paramref name="steps"/> evenly spaced values from <paramref name="start"/> to <paramref name="end"/> inclusive.</summary>
    public static Tensor Linspace(float start, float end, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), $"Linspace: steps must be at least 1, got {steps}.");
        var d = new float[steps];
        for (int i = 0; i < steps; i++) d[i] = steps == 1 ? start : start + (end - start) * i / (steps - 1);
        return new Tensor(d, new Shape(steps));
    }
}
