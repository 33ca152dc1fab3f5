using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Nabla.Kernels;

namespace Nabla.Bench;

/// <summary>
/// One GEMM problem. Names read M×K×N (op(A) is M×K, op(B) is K×N); ".dW" and ".dX" are the
/// backward products of a fully connected layer Y[128,out] = X[128,in]·W[in,out]:
/// dW = Xᵀ·dY (transA) and dX = dY·Wᵀ (transB).
/// </summary>
public sealed record GemmShape(string Name, bool TransA, bool TransB, int M, int K, int N)
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => Name;

    public static readonly GemmShape[] All =
    [
        new("sq256", false, false, 256, 256, 256),
        new("sq512", false, false, 512, 512, 512),
        new("sq1024", false, false, 1024, 1024, 1024),
        new("sq2048", false, false, 2048, 2048, 2048),
        new("128x784x256", false, false, 128, 784, 256),
        new("128x784x256.dW", true, false, 784, 128, 256),
        new("128x784x256.dX", false, true, 128, 256, 784),
        new("128x256x128", false, false, 128, 256, 128),
        new("128x256x128.dW", true, false, 256, 128, 128),
        new("128x256x128.dX", false, true, 128, 128, 256),
        new("128x128x10", false, false, 128, 128, 10),
        new("128x128x10.dW", true, false, 128, 128, 10),
        new("128x128x10.dX", false, true, 128, 10, 128),
        new("18432x25x6", false, false, 18432, 25, 6),
        new("6x25x18432", false, false, 6, 25, 18432),
        new("1x784x256", false, false, 1, 784, 256),
    ];
}

/// <summary>Operands for one shape, filled with small random values.</summary>
public sealed class GemmOperands
{
    public readonly float[] A, B, C;
    public readonly int Lda, Ldb, Ldc;
    public readonly GemmShape Shape;

    public GemmOperands(GemmShape s, int seed = 1)
    {
        Shape = s;
        var rng = new Random(seed);
        Lda = s.TransA ? s.M : s.K;
        Ldb = s.TransB ? s.K : s.N;
        Ldc = s.N;
        A = new float[s.M * s.K];
        B = new float[s.K * s.N];
        C = new float[s.M * s.N];
        for (int i = 0; i < A.Length; i++) A[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < B.Length; i++) B[i] = (float)(rng.NextDouble() - 0.5);
    }

    internal void Run(GemmPath path, int threads, GemmAlgorithm algorithm = GemmAlgorithm.Auto, bool exactThreads = false)
    {
        var s = Shape;
        Gemm.SgemmCore(path, threads, algorithm, s.TransA, s.TransB, s.M, s.N, s.K,
            1f, A, Lda, B, Ldb, 0f, C, Ldc, exactThreads);
    }
}

/// <summary>BenchmarkDotNet suite: every shape on 1 and 2 threads (`-- --filter *GemmBench*`).</summary>
public class GemmBench
{
    private GemmOperands _ops = null!;

    public static IEnumerable<GemmShape> Shapes => GemmShape.All;

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = GemmShape.All[0];

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup() => _ops = new GemmOperands(Shape);

    [Benchmark]
    public void Sgemm() => _ops.Run(GemmPath.Auto, Threads);
}

/// <summary>
/// Hand-run measurement: GFLOP/s per shape and thread count, median of several timed batches after
/// a warm-up (tier-up takes ~200 calls). Options: --shape NAME (substring), --threads 1,2,
/// --path Avx512|Avx2|Vector|Scalar, --algo Packed|Unpacked|Gemv|NarrowN, --repeats N,
/// --exact-threads (use the thread count given even below the sizes at which a call stays on one thread).
/// </summary>
public static class GemmQuick
{
    public static void Run(string[] args)
    {
        string? filter = Option(args, "--shape");
        int[] threads = (Option(args, "--threads") ?? "1,2").Split(',').Select(int.Parse).ToArray();
        var path = Enum.Parse<GemmPath>(Option(args, "--path") ?? "Auto", ignoreCase: true);
        var algo = Enum.Parse<GemmAlgorithm>(Option(args, "--algo") ?? "Auto", ignoreCase: true);
        int repeats = int.Parse(Option(args, "--repeats") ?? "15");
        bool exact = args.Contains("--exact-threads");

        Console.WriteLine($"path {Gemm.Resolve(path)}, algorithm {algo}, {Environment.ProcessorCount} cores");
        // Median and best of the timed batches: on a shared machine the best batch is the closer
        // estimate of what the kernel does on an idle one.
        Console.WriteLine($"{"shape",-18} {"threads",7} {"GFLOP/s",9} {"best",7} {"µs/call",10}");
        foreach (var shape in GemmShape.All)
        {
            if (filter is not null && !filter.Split(',').Any(f => shape.Name.Contains(f, StringComparison.Ordinal))) continue;
            var ops = new GemmOperands(shape);
            foreach (int t in threads)
            {
                // Warm up: tier-up (300 calls, or 2 s for the big shapes) plus at least 0.2 s; size a batch to ~20 ms.
                var sw = Stopwatch.StartNew();
                int calls = 0;
                while ((calls < 300 && sw.Elapsed.TotalSeconds < 2) || sw.Elapsed.TotalSeconds < 0.2) { ops.Run(path, t, algo, exact); calls++; }
                int batch = Math.Max(1, (int)(calls * 0.02 / sw.Elapsed.TotalSeconds));
                var samples = new double[repeats];
                for (int r = 0; r < repeats; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < batch; i++) ops.Run(path, t, algo, exact);
                    samples[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds / batch;
                }
                Array.Sort(samples);
                double sec = samples[repeats / 2];
                Console.WriteLine($"{shape.Name,-18} {t,7} {shape.Flops / sec / 1e9,9:F1} {shape.Flops / samples[0] / 1e9,7:F1} {sec * 1e6,10:F1}");
            }
        }
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
