using Nabla.Kernels;

namespace Nabla.Cli.Bench;

/// <summary>
/// One GEMM problem, named M×K×N (op(A) is M×K, op(B) is K×N). ".dW" and ".dX" are the backward
/// products of a fully connected layer Y[batch,out] = X[batch,in]·W[in,out]: dW = Xᵀ·dY (A stored
/// transposed) and dX = dY·Wᵀ (B stored transposed). bench/compare/torch_bench.py runs the same list.
/// </summary>
public sealed record GemmCase(string Name, bool TransA, bool TransB, int M, int K, int N)
{
    /// <summary>Floating-point operations of one product (a multiply-add counts two).</summary>
    public double Flops => 2.0 * M * N * K;

    /// <summary>The shapes of the issue: square products, the MLP's layers forward and backward, and
    /// the skinny products of a small convolution lowered to GEMM.</summary>
    public static IReadOnlyList<GemmCase> Standard { get; } =
    [
        new("256x256x256", false, false, 256, 256, 256),
        new("512x512x512", false, false, 512, 512, 512),
        new("1024x1024x1024", false, false, 1024, 1024, 1024),
        new("2048x2048x2048", false, false, 2048, 2048, 2048),
        .. Layer(128, 784, 256),
        .. Layer(128, 256, 128),
        .. Layer(128, 128, 10),
        new("18432x25x6", false, false, 18432, 25, 6),
        new("6x25x18432", false, false, 6, 25, 18432),
    ];

    /// <summary>A few small shapes for tests (`--sizes tiny`).</summary>
    public static IReadOnlyList<GemmCase> Tiny { get; } =
    [
        new("16x16x16", false, false, 16, 16, 16),
        .. Layer(8, 20, 12),
    ];

    /// <summary>A fully connected layer's three products: forward, dW and dX.</summary>
    private static GemmCase[] Layer(int batch, int inputs, int outputs) =>
    [
        new($"{batch}x{inputs}x{outputs}", false, false, batch, inputs, outputs),
        new($"{batch}x{inputs}x{outputs}.dW", true, false, inputs, batch, outputs),
        new($"{batch}x{inputs}x{outputs}.dX", false, true, batch, outputs, inputs),
    ];
}

/// <summary>GFLOP/s of <see cref="Gemm.Sgemm"/> on one <see cref="GemmCase"/> at a given thread count.</summary>
public static class GemmWorkload
{
    /// <summary>Times C = op(A)·op(B) on <paramref name="threads"/> threads; returns seconds per call (median).</summary>
    public static double SecondsPerCall(GemmCase g, int threads, BenchSettings settings)
    {
        var rng = new Random(1);
        int lda = g.TransA ? g.M : g.K, ldb = g.TransB ? g.K : g.N, ldc = g.N;
        var a = new float[g.M * g.K];
        var b = new float[g.K * g.N];
        var c = new float[g.M * g.N];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() - 0.5);

        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            return Measure.SecondsPerCall(
                () => Gemm.Sgemm(g.TransA, g.TransB, g.M, g.N, g.K, 1f, a, lda, b, ldb, 0f, c, ldc),
                settings.Repeats, settings.WarmupCalls, settings.WarmupSeconds, settings.BatchSeconds);
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }
}
