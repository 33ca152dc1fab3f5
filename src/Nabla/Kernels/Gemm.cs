using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>Instruction-set paths of <see cref="Gemm"/>, fastest first.</summary>
public enum GemmPath
{
    /// <summary>The fastest path this machine supports (<see cref="Gemm.BestPath"/>).</summary>
    Auto = 0,

    /// <summary>512-bit vectors (<c>Vector512</c>, AVX-512): an 8×32 register tile.</summary>
    Avx512,

    /// <summary>256-bit vectors with FMA (<c>Vector256</c>, AVX2): a 6×16 register tile.</summary>
    Avx2,

    /// <summary>Portable <c>Vector&lt;float&gt;</c> (SSE, NEON): a 4×(2·Count) register tile.</summary>
    Vector,

    /// <summary>Scalar code (hardware intrinsics disabled): a 4×4 register tile.</summary>
    Scalar,
}

/// <summary>Which algorithm a call uses; <see cref="Auto"/> picks by shape. Forced values are for tests and benchmarks.</summary>
internal enum GemmAlgorithm
{
    Auto,
    /// <summary>Packed A and B blocks, register micro-kernel (large products).</summary>
    Packed,
    /// <summary>Packed A, B read in place (row-major B; small or skinny products).</summary>
    Unpacked,
    /// <summary>m = 1 or n = 1: dot products / AXPYs, no packing.</summary>
    Gemv,
    /// <summary>n at most one vector wide: one vector of C per row, B packed into k vectors.</summary>
    NarrowN,
}

/// <summary>
/// Single-precision general matrix multiply on row-major spans:
/// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, where op(X) is X or Xᵀ.
/// </summary>
/// <remarks>
/// <para>
/// A is stored as [m,k] (or [k,m] when <c>transA</c>), B as [k,n] (or [n,k] when <c>transB</c>);
/// lda/ldb/ldc are the row strides. When beta is 0, C is overwritten (NaNs in C do not propagate).
/// When k is 0 (or alpha is 0), C = beta·C.
/// </para>
/// <para>
/// Large products run a GotoBLAS/BLIS packed algorithm (see <c>PackedGemm</c>) with a register
/// micro-kernel chosen once per process from the instruction sets available (<see cref="BestPath"/>),
/// on the threads of <see cref="WorkerPool"/>. Vectors (m = 1 or n = 1), very narrow outputs and
/// small products take paths without the packing overhead. Transposes are never materialised:
/// they only change how operands are read while packing.
/// </para>
/// </remarks>
public static unsafe partial class Gemm
{
    /// <summary>
    /// The path <see cref="GemmPath.Auto"/> runs, decided once at start-up: NABLA_GEMM_PATH if set,
    /// else the path <c>nabla bench --tune</c> measured fastest on this CPU model (cached in the
    /// user's cache folder, see <see cref="GemmTuning"/>), else the widest vectors the CPU has.
    /// </summary>
    public static readonly GemmPath BestPath = Detect();

    /// <summary>
    /// Forces <see cref="Sgemm"/> onto a slower path (for tests and benchmarks).
    /// <see cref="GemmPath.Auto"/> (the default) uses <see cref="BestPath"/>; a path this machine
    /// does not support falls back to the fastest one it does.
    /// </summary>
    public static GemmPath ForcedPath { get; set; }

    /// <summary>
    /// The smallest packed product (multiply-adds) that runs on more than one thread; smaller ones
    /// stay on the calling thread, where two dispatches and the packed B moving between the cores'
    /// caches would cost more than the second core gains. NABLA_GEMM_PARALLEL_MACS if set, else the
    /// threshold recorded for this CPU model in the user's cache folder (see <see cref="GemmTuning"/>;
    /// <c>nabla bench --tune</c> measures it again), else measured once, at the first product of the
    /// process that could use several threads (about 0.3 s, <see cref="GemmTuning.MeasureParallelMacs"/>),
    /// and recorded there for later processes. <see cref="DefaultParallelMacs"/> while it cannot be
    /// measured (one thread configured, or the call made inside another parallel loop). The split is
    /// over rows and column panels only (never over k), so it changes the speed of a product, not its
    /// result.
    /// </summary>
    /// <remarks>
    /// Measured rather than assumed because CPUs disagree (see <see cref="DefaultParallelMacs"/>): on a
    /// fresh Zen 4 machine, without a recorded threshold, the MLP's 128×256×128 products stayed on one
    /// thread and 2-thread training ran at 1.36× the 1-thread rate instead of 1.6-1.7× (session 12).
    /// </remarks>
    public static long ParallelMacs
    {
        get
        {
            long v = Volatile.Read(ref _parallelMacs);
            if (v >= 0) return v;
            // Nothing recorded and no measurement possible now: the default, without the lock or the cache file.
            if (Volatile.Read(ref _nothingRecorded) && !CanMeasureNow) return DefaultParallelMacs;
            return ResolveParallelMacs();
        }
    }

    /// <summary><see cref="ParallelMacs"/> if it has been resolved, else null (reading this measures nothing).</summary>
    public static long? ResolvedParallelMacs => Volatile.Read(ref _parallelMacs) is var v && v >= 0 ? v : null;

    /// <summary>Where <see cref="ParallelMacs"/> came from: "NABLA_GEMM_PARALLEL_MACS", "cache", "measured", or "default" (not resolved yet, or a measurement that found no gain).</summary>
    public static string ParallelMacsSource => Volatile.Read(ref _parallelMacsSource);

    private static long _parallelMacs = -1;
    private static string _parallelMacsSource = "default";
    // Set once neither NABLA_GEMM_PARALLEL_MACS nor the cache gave a threshold: only a measurement can.
    private static bool _nothingRecorded;
    private static readonly object ParallelMacsLock = new();

    // Without a measurement: the 2-core Zen 5 machines (1 vs 2 threads, idle) ran packed 128×256×128
    // and 160³ (4 M) 5-15 % slower on two threads and 256³ (17 M) 1.34× faster; the 2-core Zen 4
    // ran 128×256×128 1.6-1.8× faster on two. The CPUs disagree, hence the measurement.
    internal const long DefaultParallelMacs = 8L << 20;

    // The narrow-N path reads A once and is bound by memory: 18432×25×6 (2.8 M) ran slower on two
    // threads, so it needs a much larger product before a second thread helps.
    internal const long ParallelNarrowMacs = 32L << 20;

    // Reading B in place with a few rows of A (m ≤ 24) splits the columns with no shared packed
    // block: 6×25×18432 (2.8 M) gained 1.1-1.3× from a second thread.
    internal const long ParallelUnpackedMacs = 2L << 20;

    // A GEMV reads each matrix element once; 1×784×256 (0.2 M) gained ~1.1-1.2× on two threads.
    internal const long ParallelGemvMacs = 64 * 1024;

    /// <summary>
    /// Whether the CPU has AVX-512 (F): the 512-bit kernels run whenever it does. .NET's
    /// <c>Vector512.IsHardwareAccelerated</c> only says whether the runtime <em>prefers</em> 512-bit
    /// vectors (false on Intel by default, DOTNET_PreferredVectorBitWidth=256); the Vector512
    /// operations still compile to zmm instructions when the ISA is there (checked with
    /// DOTNET_JitDisasm), so that preference is not a reason to give up half the FMA width.
    /// </summary>
    internal static bool HasAvx512 => Avx512F.IsSupported;

    /// <summary>Whether the CPU has AVX2 and FMA (256-bit kernels).</summary>
    internal static bool HasAvx2 => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>The fastest path by capability alone (before any measured preference).</summary>
    internal static GemmPath Capable()
    {
        if (HasAvx512) return GemmPath.Avx512;
        if (HasAvx2) return GemmPath.Avx2;
        if (Vector.IsHardwareAccelerated) return GemmPath.Vector;
        return GemmPath.Scalar;
    }

    private static GemmPath Detect()
    {
        // NABLA_GEMM_PATH forces a path (avx512, avx2, vector, scalar); else a preference measured by
        // `nabla bench --tune` on this CPU model, if any; else the widest vectors the CPU has.
        if (Enum.TryParse(Environment.GetEnvironmentVariable("NABLA_GEMM_PATH"), ignoreCase: true, out GemmPath forced)
            && forced != GemmPath.Auto && IsSupported(forced))
            return forced;
        if (GemmTuning.CachedPath() is GemmPath tuned && IsSupported(tuned)) return tuned;
        return Capable();
    }

    // Inside another parallel loop the pool would run the measurement's products serially and find no
    // gain; with one thread configured there is nothing to measure.
    private static bool CanMeasureNow => WorkerPool.ConfiguredThreads >= 2 && !WorkerPool.IsBusy;

    private static long ResolveParallelMacs()
    {
        lock (ParallelMacsLock)
        {
            if (_parallelMacs >= 0) return _parallelMacs;
            long v;
            string source;
            if (long.TryParse(Environment.GetEnvironmentVariable("NABLA_GEMM_PARALLEL_MACS"), out long forced) && forced >= 0)
                (v, source) = (forced, "NABLA_GEMM_PARALLEL_MACS");
            else if (!_nothingRecorded && GemmTuning.CachedParallelMacs() is long cached)
                (v, source) = (cached, "cache");
            else
            {
                Volatile.Write(ref _nothingRecorded, true);
                if (!CanMeasureNow) return DefaultParallelMacs; // asked again by a later product
                var (measured, ladder) = GemmTuning.MeasureParallelMacs(BestPath, WorkerPool.ConfiguredThreads);
                if (ladder.Count > 0 && measured > ladder[^1].Macs)
                {
                    // Not even 256³ gained: the cores were busy with something else (measured so on the
                    // 2-core Zen 4 while another benchmark ran). Not worth recording; this process keeps the default.
                    (v, source) = (DefaultParallelMacs, "default; the measurement found no gain, not recorded");
                }
                else
                {
                    GemmTuning.RecordParallelMacs(measured);
                    (v, source) = (measured, "measured");
                }
            }
            Volatile.Write(ref _parallelMacsSource, source);
            Volatile.Write(ref _parallelMacs, v);
            return v;
        }
    }

    /// <summary>Whether <paramref name="path"/> can run on this machine.</summary>
    public static bool IsSupported(GemmPath path) => path switch
    {
        GemmPath.Auto or GemmPath.Scalar => true,
        GemmPath.Avx512 => HasAvx512,
        GemmPath.Avx2 => HasAvx2,
        GemmPath.Vector => Vector.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>
    /// The path a request for <paramref name="path"/> actually runs: <see cref="BestPath"/> for
    /// <see cref="GemmPath.Auto"/>, itself when supported, else the fastest supported path below it
    /// (never faster than asked for, so forcing tests the slow path).
    /// </summary>
    public static GemmPath Resolve(GemmPath path)
    {
        if (path == GemmPath.Auto) return BestPath;
        while (!IsSupported(path)) path++;
        return path;
    }

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C (row-major), where op(A) is m×k and op(B) is k×n.
    /// </summary>
    /// <param name="transA">A is stored as [k, m] (op(A) = Aᵀ) instead of [m, k].</param>
    /// <param name="transB">B is stored as [n, k] (op(B) = Bᵀ) instead of [k, n].</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A's storage.</param>
    /// <param name="lda">Row stride of A's storage (≥ its width: k, or m when transA).</param>
    /// <param name="b">B's storage.</param>
    /// <param name="ldb">Row stride of B's storage (≥ its width: n, or k when transB).</param>
    /// <param name="beta">Scale of the old C; 0 overwrites C without reading it.</param>
    /// <param name="c">C's storage, [m, n] with row stride <paramref name="ldc"/>.</param>
    /// <param name="ldc">Row stride of C (≥ n).</param>
    /// <exception cref="ArgumentException">A size or stride is negative or too small for its span.</exception>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
        => SgemmCore(ForcedPath, WorkerPool.Threads, GemmAlgorithm.Auto,
            transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>
    /// <see cref="Sgemm"/> with the instruction-set path, thread count and algorithm given
    /// explicitly instead of read from global settings (tests and benchmarks). A forced algorithm
    /// that does not apply to the shape falls back to the packed one. With
    /// <paramref name="exactThreads"/> the size thresholds below which a product stays on one
    /// thread are ignored (so tests can exercise the parallel split on small matrices).
    /// </summary>
    internal static void SgemmCore(GemmPath path, int threads, GemmAlgorithm algorithm,
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc, bool exactThreads = false)
        => SgemmCore(path, threads, algorithm, exactThreads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    private static void SgemmCore(GemmPath path, int threads, GemmAlgorithm algorithm, bool exactThreads,
        bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }

        path = Resolve(path);
        threads = Math.Max(1, threads);
        fixed (float* pa = a, pb = b, pc = c)
        {
            var g = new GemmArgs(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            if (algorithm == GemmAlgorithm.Auto) algorithm = Choose(in g, path);
            long macs = (long)m * n * k;

            switch (algorithm)
            {
                case GemmAlgorithm.Gemv when m == 1 || n == 1:
                    if (!exactThreads && macs < ParallelGemvMacs) threads = 1;
                    SmallGemm.Gemv(in g, path, threads);
                    return;
                case GemmAlgorithm.NarrowN when NarrowWidth(path) >= n:
                    if (!exactThreads && macs < ParallelNarrowMacs) threads = 1;
                    SmallGemm.NarrowN(in g, path, threads);
                    return;
                case GemmAlgorithm.Unpacked when !transB:
                    if (!exactThreads && macs < ParallelUnpackedMacs) threads = 1;
                    RunPacked(in g, path, threads, packB: false);
                    return;
                default:
                    if (!exactThreads && threads > 1 && macs < ParallelMacs) threads = 1;
                    RunPacked(in g, path, threads, packB: true);
                    return;
            }
        }
    }

    /// <summary>
    /// C = op(A)·op(B) + bias (one value per column of C, null for none), then max(0, ·) where
    /// <paramref name="relu"/>: the dense layer's forward. Where the product runs the packed kernel, the
    /// bias and the ReLU are applied to each C tile as its last k block finishes it, while the tile is
    /// in L1, instead of in a pass over C before the product and another after it (at batch 1000
    /// those passes cost as much as 4 % of the forward). Returns false, having done nothing, where
    /// the product would take another kernel (a row or column vector, a narrow C); the caller then
    /// does it in passes.
    /// </summary>
    internal static bool SgemmBiasRelu(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, bool relu,
        Span<float> c, int ldc)
        => SgemmBiasRelu(ForcedPath, WorkerPool.Threads, transA, transB, m, n, k, a, lda, b, ldb, bias, relu, c, ldc);

    /// <summary><see cref="SgemmBiasRelu(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, bool, Span{float}, int)"/> on a given path and thread count (tests).</summary>
    internal static bool SgemmBiasRelu(GemmPath path, int threads, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, ReadOnlySpan<float> bias, bool relu,
        Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!bias.IsEmpty && bias.Length != n)
            throw new ArgumentException($"Gemm.SgemmBiasRelu: bias has {bias.Length} values for {n} columns of C.", nameof(bias));
        if (m == 0 || n == 0 || k == 0) return false;
        path = Resolve(path);
        threads = Math.Max(1, threads);
        fixed (float* pa = a, pb = b, pc = c, pbias = bias)
        {
            var g = new GemmArgs(transA, transB, m, n, k, 1f, pa, lda, pb, ldb, 0f, pc, ldc, bias.IsEmpty ? null : pbias, relu);
            if (Choose(in g, path) != GemmAlgorithm.Packed) return false;
            if (threads > 1 && (long)m * n * k < ParallelMacs) threads = 1;
            RunPacked(in g, path, threads, packB: true);
        }
        return true;
    }

    /// <summary>
    /// A B operand packed once for several products that share it (an RNN's recurrent weights over
    /// the time steps: packing them again every step was 9 % of an LSTM training step). Valid only
    /// while B's values do not change; made by <see cref="PackB"/>.
    /// </summary>
    internal sealed class PackedB
    {
        internal PackedB(float[] data, bool transB, int k, int n, GemmPath path, int kcMax, int ncMax)
        {
            Data = data; TransB = transB; K = k; N = n; Path = path; KcMax = kcMax; NcMax = ncMax;
        }

        internal float[] Data { get; }
        internal bool TransB { get; }
        internal int K { get; }
        internal int N { get; }
        internal GemmPath Path { get; }
        internal int KcMax { get; }
        internal int NcMax { get; }
    }

    /// <summary>
    /// op(B) [k, n] packed for the current path, for products with <paramref name="m"/> rows (storage
    /// from the active arena, if any). Null where packing once does not apply: the products with m
    /// rows would not run the packed kernel, or n is wider than one block.
    /// </summary>
    internal static PackedB? PackB(bool transB, int k, int n, ReadOnlySpan<float> b, int ldb, int m)
    {
        var path = Resolve(ForcedPath);
        if (k <= 0 || m <= 1 || n <= NarrowWidth(path) || n == 1 || (!transB && m <= 24)) return null;
        CheckOperand("b", "ldb", transB ? n : k, transB ? k : n, b.Length, ldb);
        (float[] Data, int KcMax, int NcMax)? whole;
        fixed (float* pb = b)
            whole = path switch
            {
                GemmPath.Avx512 => PackedGemm<Avx512Kernel>.PackWhole(transB, pb, ldb, k, n),
                GemmPath.Avx2 => PackedGemm<Avx2Kernel>.PackWhole(transB, pb, ldb, k, n),
                GemmPath.Vector => PackedGemm<VectorKernel>.PackWhole(transB, pb, ldb, k, n),
                _ => PackedGemm<ScalarKernel>.PackWhole(transB, pb, ldb, k, n),
            };
        return whole is { } w ? new PackedB(w.Data, transB, k, n, path, w.KcMax, w.NcMax) : null;
    }

    /// <summary>
    /// <see cref="Sgemm"/> taking B from <paramref name="packed"/> where it fits the call (same
    /// transpose, k, n and path, a product the packed kernel runs); <paramref name="b"/> is the same
    /// matrix, used where it does not.
    /// </summary>
    internal static void SgemmPacked(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc, PackedB? packed)
    {
        var path = Resolve(ForcedPath);
        if (packed is null || packed.TransB != transB || packed.K != k || packed.N != n || packed.Path != path || m <= 1 || alpha == 0f)
        {
            Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!transB && m <= 24)
        {
            // Few row tiles: reading B in place beats packed panels (see Choose).
            Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        int threads = Math.Max(1, WorkerPool.Threads);
        if (threads > 1 && (long)m * n * k < ParallelMacs) threads = 1;
        fixed (float* pa = a, pb = b, pc = c, pp = packed.Data)
        {
            var g = new GemmArgs(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            switch (path)
            {
                case GemmPath.Avx512: PackedGemm<Avx512Kernel>.RunPrepacked(in g, threads, pp, packed.KcMax, packed.NcMax); break;
                case GemmPath.Avx2: PackedGemm<Avx2Kernel>.RunPrepacked(in g, threads, pp, packed.KcMax, packed.NcMax); break;
                case GemmPath.Vector: PackedGemm<VectorKernel>.RunPrepacked(in g, threads, pp, packed.KcMax, packed.NcMax); break;
                default: PackedGemm<ScalarKernel>.RunPrepacked(in g, threads, pp, packed.KcMax, packed.NcMax); break;
            }
        }
    }

    /// <summary>Widest n the narrow-N kernel of <paramref name="path"/> handles (0: none).</summary>
    internal static int NarrowWidth(GemmPath path) => path switch
    {
        GemmPath.Avx512 => 16,
        GemmPath.Avx2 => 8,
        _ => 0,
    };

    /// <summary>The algorithm for a shape; thresholds measured with <c>Nabla.Bench gemm-quick</c>.</summary>
    internal static GemmAlgorithm Choose(in GemmArgs g, GemmPath path)
    {
        if (g.M == 1 || g.N == 1) return GemmAlgorithm.Gemv;
        if (g.N <= NarrowWidth(path)) return GemmAlgorithm.NarrowN;
        // Packing B costs about as much as streaming it once through the kernel; it pays off when
        // each packed panel is reused by many row tiles. With a few row tiles only (m ≤ 24) reading
        // B in place wins (6×25×18432: 55 vs 38 GFLOP/s); at m = 128 packing wins (129 vs 100).
        if (!g.TransB && g.M <= 24) return GemmAlgorithm.Unpacked;
        return GemmAlgorithm.Packed;
    }

    private static void RunPacked(in GemmArgs g, GemmPath path, int threads, bool packB)
    {
        switch (path)
        {
            case GemmPath.Avx512: PackedGemm<Avx512Kernel>.Run(in g, threads, packB); break;
            case GemmPath.Avx2: PackedGemm<Avx2Kernel>.Run(in g, threads, packB); break;
            case GemmPath.Vector: PackedGemm<VectorKernel>.Run(in g, threads, packB); break;
            default: PackedGemm<ScalarKernel>.Run(in g, threads, packB); break;
        }
    }

    private static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be non-negative.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be non-negative.");
        CheckOperand("c", "ldc", m, n, cLength, ldc);
        if (m == 0 || n == 0 || k == 0) return;
        CheckOperand("a", "lda", transA ? k : m, transA ? m : k, aLength, lda);
        CheckOperand("b", "ldb", transB ? n : k, transB ? k : n, bLength, ldb);
    }

    private static void CheckOperand(string name, string strideName, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentOutOfRangeException(strideName, ld, $"{strideName} must be at least {Math.Max(1, cols)} (the row width of {name}).");
        if (rows == 0 || cols == 0) return;
        long need = (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"{name} holds {length} floats but a {rows}×{cols} matrix with row stride {ld} needs {need}.", name);
    }

    /// <summary>C = beta·C over the m×n window (beta 0 clears, so NaNs are dropped).</summary>
    private static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>
    /// Reference GEMM for tests: the same contract as <see cref="Sgemm"/>, computed by a plain triple
    /// loop with double-precision accumulation. Slow (O(m·n·k) scalar work, B walked by column).
    /// </summary>
    /// <param name="transA">A is stored as [k, m].</param>
    /// <param name="transB">B is stored as [n, k].</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The inner dimension.</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">A's storage.</param>
    /// <param name="lda">Row stride of A's storage.</param>
    /// <param name="b">B's storage.</param>
    /// <param name="ldb">Row stride of B's storage.</param>
    /// <param name="beta">Scale of the old C; 0 overwrites C without reading it.</param>
    /// <param name="c">C's storage.</param>
    /// <param name="ldc">Row stride of C.</param>
    public static void Reference(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = transA ? a[p * lda + i] : a[i * lda + p];
                    double bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                ref float cij = ref c[i * ldc + j];
                double result = alpha * sum;
                if (beta != 0f) result += (double)beta * cij;
                cij = (float)result;
            }
        }
    }
}
