using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// Sgemm against the double-precision triple loop (<see cref="Gemm.Reference"/>) on every
/// instruction-set path this machine supports, every algorithm, all four transpose combinations,
/// awkward sizes around the tile and block edges, strided operands, alpha/beta ≠ 1/0, NaN in C with
/// beta = 0, on one thread and on all threads. CI runs this class once per path with
/// DOTNET_EnableAVX512=0 / DOTNET_EnableAVX2=0 / DOTNET_EnableHWIntrinsic=0.
/// </summary>
[Trait("Category", "Kernels")]
public class GemmTests
{
    private static readonly int[] Awkward = [1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 65, 127, 129, 257];

    private static readonly GemmAlgorithm[] Algorithms =
        [GemmAlgorithm.Auto, GemmAlgorithm.Packed, GemmAlgorithm.Unpacked, GemmAlgorithm.Gemv, GemmAlgorithm.NarrowN];

    // Without hardware intrinsics every kernel is scalar (and Vector<T> is emulated): keep the
    // sizes down so the class stays fast there too.
    private static readonly bool Slow = !System.Numerics.Vector.IsHardwareAccelerated;

    private static GemmPath[] SupportedPaths() =>
        [.. new[] { GemmPath.Avx512, GemmPath.Avx2, GemmPath.Vector, GemmPath.Scalar }.Where(Gemm.IsSupported)];

    private static int[] ThreadCounts() => Environment.ProcessorCount > 1 ? [1, Environment.ProcessorCount] : [1];

    /// <summary>Each awkward size in each position, paired with two other sizes (a covering set, not the cube).</summary>
    public static IEnumerable<object[]> Shapes()
    {
        var seen = new HashSet<(int, int, int)>();
        int[] partners = [17, 33, 5, 64];
        for (int i = 0; i < Awkward.Length; i++)
        {
            int s = Awkward[i];
            if (Slow && s > 129) continue;
            int x = partners[i % partners.Length], y = partners[(i + 1) % partners.Length];
            foreach (var t in new[] { (s, x, y), (y, s, x), (x, y, s) })
                if (seen.Add(t)) yield return [t.Item1, t.Item2, t.Item3];
        }
        // A few random triples, fixed seed.
        var rng = new Random(12345);
        for (int r = 0; r < 6; r++)
        {
            int max = Slow ? 100 : 200;
            var t = (rng.Next(1, max), rng.Next(1, max), rng.Next(1, max));
            if (seen.Add(t)) yield return [t.Item1, t.Item2, t.Item3];
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference_AllPathsTransposesThreads(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                CheckAll(m, n, k, transA, transB, alpha: 1.5f, beta: -0.75f, pad: 0, nanC: false);
    }

    [Theory]
    [InlineData(33, 65, 31)]
    [InlineData(1, 129, 63)]
    [InlineData(65, 1, 17)]
    [InlineData(31, 10, 257)]
    [InlineData(127, 6, 25)]
    public void StridedOperands(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                CheckAll(m, n, k, transA, transB, alpha: -0.5f, beta: 2f, pad: 5, nanC: false);
    }

    [Fact]
    public void NarrowProductsGiveTheSameBitsWithAStoredEitherWay()
    {
        // n ≤ 16 with A stored [k, m] (a 10-class layer's weight gradient) puts 16 rows of C in a vector, one
        // accumulator per column; with A stored [m, k] 8 rows each hold all columns in one vector. Both sum
        // every C(i, j) over p in order with FMAs, so the two layouts of the same A give the same bits (when m
        // is a multiple of 8: the second kernel sums a last, partial group of rows as two chains).
        foreach (var path in SupportedPaths())
            foreach (int n in new[] { 8, 10, 13, 16 })
                foreach (int m in new[] { 16, 40 })
                    foreach (int k in new[] { 1, 31, 128 })
                        foreach (bool transB in new[] { false, true })
                            foreach (var (alpha, beta) in new[] { (1f, 0f), (0.5f, -1.5f) })
                            {
                                var a = Random(m * k, 31);           // [m, k]
                                var at = new float[k * m];           // the same values stored [k, m]
                                for (int i = 0; i < m; i++)
                                    for (int p = 0; p < k; p++) at[p * m + i] = a[i * k + p];
                                var b = Random(k * n, 32);
                                int ldb = transB ? k : n;
                                var c0 = Random(m * n, 33);
                                var c1 = (float[])c0.Clone();
                                Gemm.SgemmCore(path, 1, GemmAlgorithm.NarrowN, false, transB, m, n, k, alpha, a, k, b, ldb, beta, c0, n, exactThreads: true);
                                Gemm.SgemmCore(path, 2, GemmAlgorithm.NarrowN, true, transB, m, n, k, alpha, at, m, b, ldb, beta, c1, n, exactThreads: true);
                                Assert.True(c0.AsSpan().SequenceEqual(c1), $"{path}: {m}x{k}x{n}, transB {transB}, alpha {alpha}, beta {beta}");
                            }
    }

    [Theory]
    [InlineData(784, 256)] // batch-1 inference of the MLP's first layer
    [InlineData(33, 9)]
    [InlineData(15, 7)]
    public void RowDotsDoNotDependOnDirectionOrGrouping(int k, int n)
    {
        // x·Bᵀ with B [n, k] (batch-1 inference): rows go four at a time, in alternating directions from call
        // to call, the rest one at a time. A row's value must be the same bits however it was grouped.
        var x = Random(k, 21);
        var b = Random((n + 1) * k, 22);
        foreach (var path in SupportedPaths())
        {
            var first = new float[n];
            var second = new float[n];
            var shifted = new float[n + 1];
            Gemm.SgemmCore(path, 1, GemmAlgorithm.Gemv, false, true, 1, n, k, 1f, x, k, b.AsSpan(k).ToArray(), k, 0f, first, n, exactThreads: true);
            Gemm.SgemmCore(path, 1, GemmAlgorithm.Gemv, false, true, 1, n, k, 1f, x, k, b.AsSpan(k).ToArray(), k, 0f, second, n, exactThreads: true);
            // The same rows behind one more: every row falls in another group of four (or none).
            Gemm.SgemmCore(path, 1, GemmAlgorithm.Gemv, false, true, 1, n + 1, k, 1f, x, k, b, k, 0f, shifted, n + 1, exactThreads: true);
            Assert.True(first.AsSpan().SequenceEqual(second), $"{path}: a second call (other direction) differs");
            Assert.True(first.AsSpan().SequenceEqual(shifted.AsSpan(1)), $"{path}: rows grouped differently differ");
            var reference = new double[n];
            for (int j = 0; j < n; j++)
            {
                double d = 0;
                for (int p = 0; p < k; p++) d += (double)x[p] * b[k + j * k + p];
                Assert.True(Math.Abs(first[j] - d) <= 1e-4 * (1 + Math.Abs(d)), $"{path}: row {j} = {first[j]}, expected {d}");
            }
        }
    }

    [Theory]
    [InlineData(17, 33, 65)]
    [InlineData(1, 40, 9)]
    [InlineData(40, 1, 9)]
    [InlineData(70, 12, 30)]
    public void BetaZeroIgnoresNaNInC(int m, int n, int k)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                CheckAll(m, n, k, transA, transB, alpha: 0.7f, beta: 0f, pad: 3, nanC: true);
    }

    [Theory]
    [InlineData(1f, 1f)]
    [InlineData(2f, 0.5f)]
    [InlineData(1f, 0f)]
    public void AlphaBetaVariants(float alpha, float beta)
    {
        CheckAll(67, 45, 129, false, false, alpha, beta, pad: 0, nanC: false);
        CheckAll(67, 45, 129, true, true, alpha, beta, pad: 0, nanC: false);
    }

    [Fact]
    public void LargeEnoughForAllBlockLoops()
    {
        // m > MC, k > KC, several column panels, on the default path and all threads: the shape
        // the parallel split and the pc/ic blocking actually see in training.
        int m = Slow ? 130 : 260, n = Slow ? 70 : 100, k = Slow ? 260 : 300;
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                Check(GemmPath.Auto, Environment.ProcessorCount, GemmAlgorithm.Auto, m, n, k, transA, transB, 1f, 0.5f, 0, false, exact: true);
    }

    [Fact]
    public void LargeBUsesThePerKBlockParallelSchedule()
    {
        // Packed B of all k blocks too large for the k-inner schedule (k·n > 256 K floats): the
        // threads share one k block of B at a time.
        int m = Slow ? 20 : 40, n = Slow ? 300 : 1100, k = Slow ? 270 : 300;
        foreach (bool transB in new[] { false, true })
            Check(GemmPath.Auto, 2, GemmAlgorithm.Packed, m, n, k, false, transB, 1f, 0.5f, 0, false, exact: true);
    }

    [Fact]
    public void WideNSpansSeveralNcBlocks()
    {
        // n > NC (4096) with a small m and k: the jc loop and the unpacked B edge panel.
        foreach (var path in SupportedPaths())
            foreach (bool transB in new[] { false, true })
                foreach (var algo in new[] { GemmAlgorithm.Packed, GemmAlgorithm.Unpacked })
                    Check(path, 2, algo, 7, 4200, 5, false, transB, 1f, 0f, 0, false, exact: true);
    }

    [Fact]
    public void KZeroScalesC()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Sgemm(false, false, 2, 3, 0, 1f, [], 1, [], 3, 2f, c, 3);
        Assert.Equal(new float[] { 2, 4, 6, 8, 10, 12 }, c);

        var nan = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0f, nan, 2);
        Assert.Equal(new float[4], nan);
    }

    [Fact]
    public void EmptyOutputIsANoOp()
    {
        var c = new float[] { 1, 2 };
        Gemm.Sgemm(false, false, 0, 2, 3, 1f, [], 3, new float[6], 2, 0f, c, 2);
        Gemm.Sgemm(false, false, 1, 0, 3, 1f, new float[3], 3, [], 1, 0f, c, 1);
        Assert.Equal(new float[] { 1, 2 }, c);
    }

    [Fact]
    public void RejectsBadArguments()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, false, -1, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 2, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a.AsSpan(1), 3, b, 2, 0f, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, c.AsSpan(1), 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Sgemm(false, true, 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
    }

    [Fact]
    public void ForcedPathFallsBackToASupportedOne()
    {
        foreach (GemmPath p in Enum.GetValues<GemmPath>())
        {
            var resolved = Gemm.Resolve(p);
            Assert.True(Gemm.IsSupported(resolved));
            Assert.NotEqual(GemmPath.Auto, resolved);
            Assert.True(resolved >= p || p == GemmPath.Auto, $"{p} resolved to the faster {resolved}");
        }
        Assert.Equal(Gemm.BestPath, Gemm.Resolve(GemmPath.Auto));
        Assert.True(Gemm.IsSupported(GemmPath.Scalar));
    }

    [Theory]
    [InlineData(128, 256, 128, false, false)]
    [InlineData(256, 128, 128, true, false)]
    [InlineData(128, 128, 256, false, true)]
    [InlineData(128, 784, 256, false, false)] // whole packed B, each unit runs every k block
    [InlineData(45, 1100, 300, false, false)]
    [InlineData(20, 300, 1000, false, false)] // B read in place
    public void ThreadCountNeverChangesAProduct(int m, int k, int n, bool transA, bool transB)
    {
        // The split is over rows and column panels, never over k, so the sums run in the same
        // order on any thread count: which is what lets the thread threshold be tuned per CPU
        // (Gemm.ParallelMacs) without changing any result.
        var a = Random(m * k, 11);
        var b = Random(k * n, 12);
        int lda = transA ? m : k, ldb = transB ? k : n;
        foreach (var path in SupportedPaths())
        {
            var one = new float[m * n];
            Gemm.SgemmCore(path, 1, GemmAlgorithm.Auto, transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, one, n, exactThreads: true);
            foreach (int threads in new[] { 2, 3 })
            {
                var many = new float[m * n];
                Gemm.SgemmCore(path, threads, GemmAlgorithm.Auto, transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, many, n, exactThreads: true);
                Assert.True(one.AsSpan().SequenceEqual(many), $"{path}, {threads} threads: {m}x{k}x{n} differs from 1 thread");
            }
        }
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        // Several threads calling at once: one gets the pool, the others run serially.
        int m = 96, n = 80, k = 120;
        var a = Random(m * k, 3);
        var b = Random(k * n, 4);
        var expected = new float[m * n];
        Gemm.Reference(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        Parallel.For(0, 8, _ =>
        {
            var c = new float[m * n];
            for (int r = 0; r < 5; r++)
            {
                Gemm.SgemmCore(GemmPath.Auto, Environment.ProcessorCount, GemmAlgorithm.Packed,
                    false, false, m, n, k, 1f, a, k, b, n, 0f, c, n, exactThreads: true);
                AssertClose(expected, c, m, n, n, k, 1f, 0f, "concurrent");
            }
        });
    }

    private static void CheckAll(int m, int n, int k, bool transA, bool transB, float alpha, float beta, int pad, bool nanC)
    {
        var p = new Problem(m, n, k, transA, transB, alpha, beta, pad, nanC);
        foreach (var path in SupportedPaths())
            foreach (var algo in Algorithms)
                foreach (int threads in ThreadCounts())
                    p.Check(path, threads, algo, exact: true);
    }

    private static void Check(GemmPath path, int threads, GemmAlgorithm algo, int m, int n, int k,
        bool transA, bool transB, float alpha, float beta, int pad, bool nanC, bool exact)
        => new Problem(m, n, k, transA, transB, alpha, beta, pad, nanC).Check(path, threads, algo, exact);

    /// <summary>Random operands and the reference result, computed once and checked against many configurations.</summary>
    private sealed class Problem
    {
        private readonly int _m, _n, _k, _lda, _ldb, _ldc;
        private readonly bool _transA, _transB;
        private readonly float _alpha, _beta;
        private readonly float[] _a, _b, _c0, _expected;
        private readonly string _shape;

        public Problem(int m, int n, int k, bool transA, bool transB, float alpha, float beta, int pad, bool nanC)
        {
            (_m, _n, _k, _transA, _transB, _alpha, _beta) = (m, n, k, transA, transB, alpha, beta);
            _lda = (transA ? m : k) + pad;
            _ldb = (transB ? k : n) + pad;
            _ldc = n + pad;
            _a = Random((transA ? k : m) * _lda, 11 + m);
            _b = Random((transB ? n : k) * _ldb, 23 + n);
            _c0 = Random(m * _ldc, 37 + k);
            if (nanC) Array.Fill(_c0, float.NaN);
            _expected = (float[])_c0.Clone();
            Gemm.Reference(transA, transB, m, n, k, alpha, _a, _lda, _b, _ldb, beta, _expected, _ldc);
            _shape = $"m={m} n={n} k={k}, transA={transA} transB={transB}, alpha={alpha} beta={beta}, pad={pad}";
        }

        public void Check(GemmPath path, int threads, GemmAlgorithm algo, bool exact)
        {
            var c = (float[])_c0.Clone();
            Gemm.SgemmCore(path, threads, algo, _transA, _transB, _m, _n, _k, _alpha, _a, _lda, _b, _ldb, _beta, c, _ldc, exactThreads: exact);
            string what = $"path {path}, {algo}, {threads} thread(s), {_shape}";
            AssertClose(_expected, c, _m, _n, _ldc, _k, _alpha, _beta, what);
            // The padding between rows of C must be untouched.
            for (int i = 0; i < _m; i++)
                for (int j = _n; j < _ldc && i * _ldc + j < c.Length; j++)
                    Assert.True(_c0[i * _ldc + j].Equals(c[i * _ldc + j]), $"{what}: wrote padding C[{i},{j}]");
        }
    }

    private static void AssertClose(float[] expected, float[] actual, int m, int n, int ldc, int k, float alpha, float beta, string what)
    {
        // Inputs are in [-1, 1): rounding error grows with k (random-walk in practice, bounded
        // linearly here with a wide margin); a wrong or missing term is off by ~0.1 or more.
        double tol = 4e-7 * (k + 4) * Math.Abs(alpha) + 1e-6 * (1 + Math.Abs(beta));
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float e = expected[i * ldc + j], x = actual[i * ldc + j];
                if (!(Math.Abs(e - x) <= tol * Math.Max(1, Math.Abs(e))))
                    Assert.Fail($"{what}: C[{i},{j}] = {x}, expected {e} (tolerance {tol:G3})");
            }
    }

    private static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
