namespace Nabla.Nn;

/// <summary>
/// The source of randomness for initialisation and dropout when no generator is passed. Call
/// <see cref="ManualSeed"/> once to make a whole run reproducible (like <c>torch.manual_seed</c>).
/// </summary>
public static class RandomSource
{
    // Locked: System.Random is not thread-safe, and two threads drawing from one instance at once can
    // leave it returning 0 forever (e.g. layers built on two threads without a seed).
    private static Random shared = new LockedRandom(0);

    // The generator of the innermost Seeded scope of this logical flow of control (thread or async flow), if any.
    private static readonly AsyncLocal<Random?> scoped = new();

    /// <summary>
    /// The shared generator: the generator of the innermost <see cref="Seeded"/> scope of the calling code (its
    /// thread, or its async flow) while one is active, else the process-wide one.
    /// </summary>
    public static Random Shared => scoped.Value ?? shared;

    /// <summary>Resets the process-wide shared generator to <paramref name="seed"/>.</summary>
    public static void ManualSeed(int seed) => shared = new LockedRandom(seed);

    /// <summary>
    /// Until the returned scope is disposed, <see cref="Shared"/> is, for the calling code only (its thread and the
    /// tasks it starts, not other threads), a new generator
    /// seeded with <paramref name="seed"/> (like PyTorch's <c>torch.random.fork_rng()</c> followed by
    /// <c>manual_seed</c>): layers built in the scope get the same initial weights whatever other threads draw
    /// from the process-wide generator meanwhile. Scopes nest; disposing one restores the previous generator.
    /// </summary>
    /// <example><code>using (RandomSource.Seeded(1)) model = new Lstm(3, 4);</code></example>
    public static SeededScope Seeded(int seed)
    {
        var previous = scoped.Value;
        scoped.Value = new Random(seed);
        return new SeededScope(previous);
    }

    /// <summary>The scope of <see cref="Seeded"/>: disposing it restores the calling thread's previous generator.</summary>
    public readonly struct SeededScope : IDisposable
    {
        private readonly Random? previous;

        internal SeededScope(Random? previous) => this.previous = previous;

        /// <summary>Restores the generator that was shared on this thread before the scope began.</summary>
        public void Dispose() => scoped.Value = previous;
    }
}

/// <summary>
/// <c>new Random(seed)</c>'s sequence, safe to draw from on several threads at once (each call takes a
/// lock): the process-wide generator, which any thread may use.
/// </summary>
internal sealed class LockedRandom(int seed) : Random
{
    private readonly Random inner = new(seed);
    private readonly Lock gate = new();

    /// <summary>The generator behind the lock, whose state a checkpoint saves and restores (see Training.StateSnapshot).</summary>
    internal Random Inner => inner;

    public override int Next() { lock (gate) return inner.Next(); }
    public override int Next(int maxValue) { lock (gate) return inner.Next(maxValue); }
    public override int Next(int minValue, int maxValue) { lock (gate) return inner.Next(minValue, maxValue); }
    public override long NextInt64() { lock (gate) return inner.NextInt64(); }
    public override long NextInt64(long maxValue) { lock (gate) return inner.NextInt64(maxValue); }
    public override long NextInt64(long minValue, long maxValue) { lock (gate) return inner.NextInt64(minValue, maxValue); }
    public override float NextSingle() { lock (gate) return inner.NextSingle(); }
    public override double NextDouble() { lock (gate) return inner.NextDouble(); }
    public override void NextBytes(byte[] buffer) { lock (gate) inner.NextBytes(buffer); }
    public override void NextBytes(Span<byte> buffer) { lock (gate) inner.NextBytes(buffer); }
    protected override double Sample() { lock (gate) return inner.NextDouble(); }
}

/// <summary>Weight initialisers. All fill the tensor in place from a seeded generator.</summary>
public static class Init
{
    /// <summary>Normal values with a small standard deviation (the notes' "small random weights").</summary>
    public static void SmallNormal(Tensor w, Random rng, float std = 0.01f) => Tensor.FillNormal(w.Data, 0f, std, rng);

    /// <summary>Xavier/Glorot uniform: U(±√(6/(fan_in+fan_out))), keeps activation variance for tanh/sigmoid.</summary>
    public static void XavierUniform(Tensor w, Random rng, float gain = 1f)
    {
        var (fin, fout) = Fans(w);
        float a = gain * MathF.Sqrt(6f / (fin + fout));
        FillUniform(w, rng, -a, a);
    }

    /// <summary>Xavier/Glorot normal: N(0, 2/(fan_in+fan_out)).</summary>
    public static void XavierNormal(Tensor w, Random rng, float gain = 1f)
    {
        var (fin, fout) = Fans(w);
        Tensor.FillNormal(w.Data, 0f, gain * MathF.Sqrt(2f / (fin + fout)), rng);
    }

    /// <summary>He/Kaiming normal: N(0, 2/fan_in), for ReLU networks.</summary>
    public static void HeNormal(Tensor w, Random rng)
    {
        var (fin, _) = Fans(w);
        Tensor.FillNormal(w.Data, 0f, MathF.Sqrt(2f / fin), rng);
    }

    /// <summary>He/Kaiming uniform: U(±√(6/fan_in)).</summary>
    public static void HeUniform(Tensor w, Random rng)
    {
        var (fin, _) = Fans(w);
        float a = MathF.Sqrt(6f / fin);
        FillUniform(w, rng, -a, a);
    }

    /// <summary>Uniform values in [low, high).</summary>
    public static void FillUniform(Tensor w, Random rng, float low, float high)
    {
        var d = w.Data;
        for (int i = 0; i < d.Length; i++) d[i] = low + (high - low) * (float)rng.NextDouble();
    }

    /// <summary>Fan-in and fan-out of a weight [out, in, (kernel…)].</summary>
    public static (int FanIn, int FanOut) Fans(Tensor w)
    {
        if (w.Rank < 2) return (w.Length, w.Length);
        int receptive = w.Shape.Product(2, w.Rank);
        return (w.Shape[1] * receptive, w.Shape[0] * receptive);
    }
}

/// <summary>Names an initialiser for layers and the command line.</summary>
public enum Initializer
{
    /// <summary>PyTorch's default for Linear: U(±1/√fan_in).</summary>
    Default,
    /// <summary>N(0, 0.01²).</summary>
    SmallNormal,
    /// <summary>Glorot uniform.</summary>
    XavierUniform,
    /// <summary>Glorot normal.</summary>
    XavierNormal,
    /// <summary>Kaiming normal.</summary>
    HeNormal,
    /// <summary>Kaiming uniform.</summary>
    HeUniform,
}
