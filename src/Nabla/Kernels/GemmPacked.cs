using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Nabla.Kernels;

/// <summary>The operands of one GEMM call, as raw pointers (the spans are pinned by the caller).</summary>
internal readonly unsafe struct GemmArgs
{
    public readonly bool TransA, TransB;
    public readonly int M, N, K;
    public readonly float Alpha, Beta;
    public readonly float* A, B, C;
    public readonly nint Lda, Ldb, Ldc;
    /// <summary>Epilogue of the packed kernel (null: none): added to every row of C once its sum is complete.</summary>
    public readonly float* Bias;
    /// <summary>Epilogue of the packed kernel: max(0, ·) after the bias.</summary>
    public readonly bool Relu;

    public GemmArgs(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, float* bias = null, bool relu = false)
    {
        TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
        A = a; B = b; C = c; Lda = lda; Ldb = ldb; Ldc = ldc; Bias = bias; Relu = relu;
    }

    /// <summary>Whether the packed kernel has an epilogue to apply to each finished C tile.</summary>
    public bool HasEpilogue => Bias != null || Relu;

    /// <summary>Address of op(A)(i, p).</summary>
    public float* AAt(int i, int p) => TransA ? A + (nint)p * Lda + i : A + (nint)i * Lda + p;

    /// <summary>Address of op(B)(p, j).</summary>
    public float* BAt(int p, int j) => TransB ? B + (nint)j * Ldb + p : B + (nint)p * Ldb + j;
}

/// <summary>
/// The GotoBLAS/BLIS five-loop SGEMM, specialised per micro-kernel:
/// <code>
/// for jc in N step NC            (B block kc×nc → L3)
///   for pc in K step KC          pack B[pc.., jc..] once, shared by all threads
///     for ic in M step MC        pack A[ic.., pc..] per thread (→ L2)
///       for jr in nc step NR     B micro-panel stays in L1 …
///         for ir in mc step MR   … while A micro-panels stream from L2
///           micro-kernel(kc)     MR×NR tile of C in registers
/// </code>
/// Threads take work units of the ic loop (rows) and, when there are too few row tiles, of the jr
/// loop (columns); they share the packed B block (see <see cref="Units"/>). When the whole packed B
/// is small, a parallel call packs it all at once and each unit runs the pc loop itself (the
/// "k-inner" schedule: two dispatches per call). The first pc block applies beta, later ones
/// accumulate (beta 1).
/// </summary>
internal static unsafe class PackedGemm<TK> where TK : struct, IMicroKernel
{
    /// <param name="g">Operands; alpha ≠ 0, m, n, k &gt; 0.</param>
    /// <param name="threads">Threads to use (1 = serial on the caller).</param>
    /// <param name="packB">
    /// False to read B in place (row-major B only): only the last, partial NR panel is packed.
    /// Cheaper for small or skinny products where packing B would cost as much as using it.
    /// </param>
    public static void Run(in GemmArgs g, int threads, bool packB)
    {
        int nr = TK.NR;
        packB |= g.TransB;

        // Balance the blocks: k = 300 runs as 150 + 150, not 256 + 44.
        int kBlocks = DivUp(g.K, TK.KC);
        int kcMax = DivUp(g.K, kBlocks);
        int nBlocks = DivUp(g.N, TK.NC);
        int ncMax = RoundUp(DivUp(g.N, nBlocks), nr);

        // Parallel products whose whole packed B is small (e.g. 128×784×256: 784×256 floats) pack
        // all of B in one dispatch and let each unit run the whole k loop for its rows: 2
        // dispatches per call instead of 2 per k block, each of which ends with some idle time,
        // and a unit's rows of C stay in its own core's cache across the k blocks.
        long wholeB = (long)kBlocks * kcMax * ncMax;
        bool kInnerShape = packB && nBlocks == 1 && kBlocks > 1 && wholeB <= WholeBLimit;
        bool kInner = threads > 1 && kInnerShape;
        int blocksPerPass = kInner ? kBlocks : 1;
        // Scratch sizes depend on the shape only, never on the thread count or on which work units
        // this thread happens to run: otherwise a call that finds the pool busy (and runs every unit
        // here), or a different thread count, grows the buffers again in steady state (issue #16).
        float* bp = GemmScratch.Current.PackB(kInnerShape ? wholeB : (long)kcMax * ncMax);
        int mcMax = Math.Min(TK.MC, RoundUp(g.M, TK.MR));
        // The caller reserves its packed-A buffer even when the workers take every unit of this call,
        // so that a later call that runs all units here (pool busy, one thread) does not allocate it.
        GemmScratch.Current.PackA((long)mcMax * kcMax);

        for (int jc = 0; jc < g.N; jc += ncMax)
        {
            int nc = Math.Min(ncMax, g.N - jc);
            int panels = DivUp(nc, nr);
            var units = Units.Choose(threads, g.M, DivUp(g.M, TK.MR), panels);
            int packUnits = Math.Min(blocksPerPass * panels, threads == 1 ? 1 : 4 * threads);
            for (int pc = 0; pc < g.K; pc += blocksPerPass * kcMax)
            {
                if (packB)
                {
                    var pack = new PackBBody(g, bp, pc, blocksPerPass, kcMax, ncMax, jc, nc, panels, packUnits);
                    if (packUnits > 1) WorkerPool.ParallelFor(packUnits, pack, threads);
                    else pack.Invoke(0);
                }
                else if (nc % nr != 0)
                {
                    // Reading B in place works for full panels only: the kernel loads NR columns.
                    int last = panels - 1;
                    GemmPacking.PackB<TK>(false, g.B, g.Ldb, pc, Math.Min(kcMax, g.K - pc), jc, nc, last, panels, bp);
                }

                var body = new ComputeBody(g, bp, packB, pc, blocksPerPass, kcMax, ncMax, mcMax, jc, nc, panels, units);
                if (units.Count > 1) WorkerPool.ParallelFor(units.Count, body, threads);
                else body.Invoke(0);
            }
        }
    }

    /// <summary>
    /// All of op(B) [k, n] packed in the k-inner layout that <see cref="Run"/> uses (k blocks of KC×NC
    /// one after the other, NR-wide panels in each), for <see cref="RunPrepacked"/>; the storage comes
    /// from <see cref="TensorArena.Allocate"/>, so an arena-backed training step reuses it. Null when n
    /// needs more than one NC block.
    /// </summary>
    public static (float[] Data, int KcMax, int NcMax)? PackWhole(bool transB, float* b, nint ldb, int k, int n)
    {
        int nr = TK.NR;
        int kBlocks = DivUp(k, TK.KC), kcMax = DivUp(k, kBlocks);
        int nBlocks = DivUp(n, TK.NC), ncMax = RoundUp(DivUp(n, nBlocks), nr);
        if (nBlocks != 1) return null;
        var dst = TensorArena.Allocate(checked(kBlocks * kcMax * ncMax), clear: false);
        int panels = DivUp(n, nr);
        fixed (float* bp = dst)
            for (int blk = 0; blk < kBlocks; blk++)
            {
                int pc = blk * kcMax;
                GemmPacking.PackB<TK>(transB, b, ldb, pc, Math.Min(kcMax, k - pc), 0, n, 0, panels, bp + (nint)blk * kcMax * ncMax);
            }
        return (dst, kcMax, ncMax);
    }

    /// <summary>
    /// <see cref="Run"/> with B already packed by <see cref="PackWhole"/> (g.B is not read): every unit
    /// runs all k blocks for its rows, one dispatch per call.
    /// </summary>
    public static void RunPrepacked(in GemmArgs g, int threads, float* bp, int kcMax, int ncMax)
    {
        int kBlocks = DivUp(g.K, kcMax);
        int mcMax = Math.Min(TK.MC, RoundUp(g.M, TK.MR));
        GemmScratch.Current.PackA((long)mcMax * kcMax);
        int panels = DivUp(g.N, TK.NR);
        var units = Units.Choose(threads, g.M, DivUp(g.M, TK.MR), panels);
        var body = new ComputeBody(g, bp, true, 0, kBlocks, kcMax, ncMax, mcMax, 0, g.N, panels, units);
        if (units.Count > 1) WorkerPool.ParallelFor(units.Count, body, threads);
        else body.Invoke(0);
    }

    /// <summary>Largest whole packed B (floats) for the k-inner parallel schedule: ~1 MB, the L2 of a Zen 5 core.</summary>
    private const long WholeBLimit = 256 * 1024;

    private static int DivUp(int x, int y) => (x + y - 1) / y;
    private static int RoundUp(int x, int y) => DivUp(x, y) * y;

    /// <summary>
    /// The work units of one dispatch: Um row ranges × Un column-panel ranges, handed out to
    /// the threads dynamically. There are several units per thread, so a thread that is slowed
    /// down (the other core busy with another process, a page fault) does less of the work instead
    /// of holding everybody up; units are row ranges first (each packs its own A rows and reads the
    /// shared packed B) and split columns only when there are too few row tiles.
    /// </summary>
    internal readonly struct Units(int um, int un)
    {
        public readonly int Um = um, Un = un;
        public int Count => Um * Un;

        public static Units Choose(int threads, int m, int rowTiles, int panels)
        {
            if (threads <= 1) return new Units(1, 1);
            // ~4 units per thread, at most MC rows each, and a multiple of the thread count so
            // that an even machine divides evenly.
            int target = Math.Max(4 * threads, DivUp(m, TK.MC));
            target = DivUp(target, threads) * threads;
            int um = Math.Min(rowTiles, target);
            int un = Math.Min(panels, DivUp(target, um));
            return new Units(um, un);
        }
    }

    /// <summary>
    /// Packs <c>blocks</c> k blocks of B starting at pc0 (block b at bp + b·kcMax·ncMax); the
    /// (panel, block) pairs, panel-major, are split into <c>parts</c> ranges.
    /// </summary>
    private readonly struct PackBBody(GemmArgs g, float* bp, int pc0, int blocks, int kcMax, int ncMax,
        int jc, int nc, int panels, int parts) : IParallelForBody
    {
        public void Invoke(int index)
        {
            long total = (long)blocks * panels;
            int l0 = (int)(total * index / parts), l1 = (int)(total * (index + 1) / parts);
            for (int l = l0; l < l1; l++)
            {
                // Panel-major: a part packs whole panels (all their k blocks), so with homed parts
                // (see WorkerPool) the thread that packs a panel of op(B) is the one whose rows of a
                // transposed B (a weight matrix [out, in]) the optimiser updates (see ParallelSegments).
                // Block-major order had each thread read half of every row, and Adam's writes then
                // had to take the lines back from the other core (session 11: Adam 140–159 µs a
                // step on 2 threads, 118–125 µs panel-major).
                int q = l / blocks, b = l % blocks;
                int pc = pc0 + b * kcMax;
                if (pc >= g.K) continue;
                int kc = Math.Min(kcMax, g.K - pc);
                GemmPacking.PackB<TK>(g.TransB, g.B, g.Ldb, pc, kc, jc, nc, q, q + 1, bp + (nint)b * kcMax * ncMax);
            }
        }
    }

    /// <summary>
    /// One work unit: a range of rows × a range of column panels, for <c>blocks</c> k blocks from
    /// pc0 (one, or all of them in the k-inner schedule). The first k block of the whole product
    /// applies beta, the later ones accumulate.
    /// </summary>
    private readonly struct ComputeBody(GemmArgs g, float* bp, bool packedB, int pc0, int blocks, int kcMax, int ncMax,
        int mcMax, int jc, int nc, int panels, Units units) : IParallelForBody
    {
        public void Invoke(int index)
        {
            int mr = TK.MR;
            int rowTiles = DivUp(g.M, mr);
            int ui = index % units.Um, uj = index / units.Um;
            int r0 = (int)((long)rowTiles * ui / units.Um) * mr;
            int r1 = Math.Min(g.M, (int)((long)rowTiles * (ui + 1) / units.Um) * mr);
            int q0 = (int)((long)panels * uj / units.Un);
            int q1 = (int)((long)panels * (uj + 1) / units.Un);
            if (r0 >= r1 || q0 >= q1) return;

            int rows = r1 - r0;
            int mcStep = RoundUp(DivUp(rows, DivUp(rows, TK.MC)), mr);
            // mcStep ≤ mcMax for every unit: the buffer is sized for the largest one.
            float* ap = GemmScratch.Current.PackA((long)mcMax * kcMax);
            float* edge = stackalloc float[TK.MR * TK.NR];
            for (int ic = r0; ic < r1; ic += mcStep)
            {
                int mc = Math.Min(mcStep, r1 - ic);
                for (int b = 0; b < blocks; b++)
                {
                    int pc = pc0 + b * kcMax;
                    if (pc >= g.K) break;
                    int kc = Math.Min(kcMax, g.K - pc);
                    GemmPacking.PackA<TK>(g.TransA, g.A, g.Lda, ic, mc, pc, kc, ap);
                    Macro(in g, ap, bp + (nint)b * kcMax * ncMax, packedB, pc, kc, jc, nc, edge, ic, mc, q0, q1,
                        pc == 0 ? g.Beta : 1f);
                }
            }
        }
    }

    /// <summary>The two inner loops (jr over B micro-panels, ir over A micro-panels) for one packed A block.</summary>
    private static void Macro(in GemmArgs g, float* ap, float* bp, bool packedB, int pc, int kc, int jc, int nc,
        float* edge, int ic, int mc, int q0, int q1, float beta)
    {
        int mr = TK.MR, nr = TK.NR;
        nint ldc = g.Ldc;
        float alpha = g.Alpha;
        for (int q = q0; q < q1; q++)
        {
            int jr = q * nr;
            int cols = Math.Min(nr, nc - jr);
            float* bpanel;
            nint ldb;
            if (packedB || cols < nr)
            {
                bpanel = bp + (nint)q * nr * kc;
                ldb = nr;
            }
            else
            {
                bpanel = g.B + (nint)pc * g.Ldb + jc + jr;
                ldb = g.Ldb;
            }
            float* cpanel = g.C + (nint)ic * ldc + jc + jr;
            // The epilogue runs on each tile as its last k block finishes it, while it is in L1.
            bool epilogue = g.HasEpilogue && pc + kc == g.K;
            float* bias = g.Bias == null ? null : g.Bias + jc + jr;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                float* ctile = cpanel + ir * ldc;
                if (rows == mr && cols == nr)
                {
                    TK.Run(kc, ap + (nint)ir * kc, bpanel, ldb, ctile, ldc, alpha, beta);
                }
                else
                {
                    // Edge tile: compute the full (zero-padded) tile aside, then write the part
                    // that exists, so nothing outside C is read or written.
                    TK.Run(kc, ap + (nint)ir * kc, bpanel, ldb, edge, nr, 1f, 0f);
                    MergeEdge(edge, nr, ctile, ldc, rows, cols, alpha, beta);
                }
                if (epilogue) Epilogue(ctile, ldc, rows, cols, bias, g.Relu);
            }
        }
    }

    /// <summary>
    /// C tile += bias (one value per column), then max(0, ·) where <paramref name="relu"/>: the dense
    /// layer's epilogue (Gemm.SgemmBiasRelu). Same operations, element by element, as the
    /// row passes it replaces (TensorPrimitives.Add and Max, which propagate NaN).
    /// </summary>
    private static void Epilogue(float* c, nint ldc, int rows, int cols, float* bias, bool relu)
    {
        int vec = Vector256.IsHardwareAccelerated ? cols / 8 * 8 : 0;
        for (int i = 0; i < rows; i++, c += ldc)
        {
            int j = 0;
            for (; j < vec; j += 8)
            {
                Vector256<float> v = Vector256.Load(c + j);
                if (bias != null) v += Vector256.Load(bias + j);
                if (relu) v = Vector256.Max(v, Vector256<float>.Zero);
                Vector256.Store(v, c + j);
            }
            for (; j < cols; j++)
            {
                float v = c[j];
                if (bias != null) v += bias[j];
                if (relu) v = MathF.Max(v, 0f);
                c[j] = v;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MergeEdge(float* t, int ldt, float* c, nint ldc, int rows, int cols, float alpha, float beta)
    {
        for (int i = 0; i < rows; i++, t += ldt, c += ldc)
        {
            if (beta == 0f)
                for (int j = 0; j < cols; j++) c[j] = alpha * t[j];
            else
                for (int j = 0; j < cols; j++) c[j] = alpha * t[j] + beta * c[j];
        }
    }
}
