using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// A B operand packed once and used by several products (an RNN's recurrent weights over its time
/// steps) gives the reference product: both transposes, k over several packed blocks, edge panels,
/// beta 0 and 1, one and two threads; where it does not fit a call, the call falls back to B itself.
/// </summary>
[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class PackedBTests
{
    [Theory]
    [InlineData(true, 128, 512, 128)]   // the LSTM's step: h·Wₕₕᵀ
    [InlineData(false, 128, 128, 512)]  // its backward: dG·Wₕₕ
    [InlineData(false, 130, 100, 900)]  // k over three blocks, a partial last panel
    [InlineData(true, 3, 70, 700)]
    [InlineData(true, 2, 17, 33)]
    public void Packed_once_gives_the_reference_product(bool transB, int m, int n, int k)
    {
        var rng = new Random(m * 7 + n + k);
        float[] R(int len) => Enumerable.Range(0, len).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var a = R(m * k);
        var b = R(n * k);
        int ldb = transB ? k : n;
        var packed = Gemm.PackB(transB, k, n, b, ldb, m);
        Assert.NotNull(packed);
        int saved = WorkerPool.Threads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
                foreach (float beta in new[] { 0f, 1f })
                {
                    WorkerPool.Threads = threads;
                    var c0 = R(m * n);
                    var expected = (float[])c0.Clone();
                    Gemm.Reference(false, transB, m, n, k, 1f, a, k, b, ldb, beta, expected, n);
                    // Several products with the same packed B, as over an RNN's steps.
                    for (int use = 0; use < 2; use++)
                    {
                        var c = (float[])c0.Clone();
                        Gemm.SgemmPacked(false, transB, m, n, k, 1f, a, k, b, ldb, beta, c, n, packed);
                        for (int i = 0; i < c.Length; i++)
                            Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i])),
                                $"threads {threads} beta {beta}: c[{i}] = {c[i]}, expected {expected[i]}");
                    }
                }
        }
        finally { WorkerPool.Threads = saved; }
    }

    [Fact]
    public void A_packing_that_does_not_fit_the_call_is_not_used()
    {
        var rng = new Random(3);
        float[] R(int len) => Enumerable.Range(0, len).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        int m = 40, n = 64, k = 50;
        var a = R(m * k);
        var b = R(n * k);
        var a2 = R(m * (k + 1));
        var other = R(n * (k + 1));
        var packed = Gemm.PackB(true, k, n, b, k, m);
        // Another k (and another B) with this packing: the call must use its own B.
        var expected = new float[m * n];
        Gemm.Reference(false, true, m, n, k + 1, 1f, a2, k + 1, other, k + 1, 0f, expected, n);
        var c = new float[m * n];
        Gemm.SgemmPacked(false, true, m, n, k + 1, 1f, a2, k + 1, other, k + 1, 0f, c, n, packed);
        for (int i = 0; i < c.Length; i++) Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-4f * (1 + Math.Abs(expected[i])));
        // A single row, or products the packed kernel does not run, are not packed at all.
        Assert.Null(Gemm.PackB(true, k, n, b, k, m: 1));
        Assert.Null(Gemm.PackB(false, k, n, b, n, m: 8));
    }
}
