using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// GEMM paths without block packing, for shapes where packing would cost as much as the product:
/// matrix-vector products (m = 1, e.g. batch-1 inference, or n = 1) and outputs at most one vector
/// wide (n ≤ 16, e.g. a 10-class output layer or 6 convolution filters over an im2col matrix).
/// </summary>
internal static unsafe class SmallGemm
{
    // ---------------------------------------------------------------- GEMV (m = 1 or n = 1)

    /// <summary>m = 1 or n = 1: dot products or AXPYs over contiguous rows, gathering a strided vector first.</summary>
    public static void Gemv(in GemmArgs g, GemmPath path, int threads)
    {
        if (g.M == 1 && g.N == 1)
        {
            float* x = Contiguous(g.A, g.TransA ? g.Lda : 1, g.K, 0);
            float* y = Contiguous(g.B, g.TransB ? 1 : g.Ldb, g.K, g.K);
            float dot = TensorPrimitives.Dot(new ReadOnlySpan<float>(x, g.K), new ReadOnlySpan<float>(y, g.K));
            g.C[0] = g.Beta == 0f ? g.Alpha * dot : g.Alpha * dot + g.Beta * g.C[0];
            return;
        }

        if (g.M == 1)
        {
            if (!g.TransB)
            {
                // c[0, :] = alpha·Σ_p a_p·B[p, :] + beta·c: one AXPY per row of B (each row read once).
                var body = new RowAxpyBody(g.A, g.TransA ? g.Lda : 1, g.B, g.Ldb, g.K, g.C, 1, g.N, g.Alpha, g.Beta, Chunks(g.N, threads), path);
                Run(body, body.Chunks, threads);
            }
            else
            {
                // B stored [n, k]: c[0, j] = alpha·dot(a, B[j, :]) + beta·c[0, j].
                float* x = Contiguous(g.A, g.TransA ? g.Lda : 1, g.K, 0);
                var body = new DotsBody(g.B, g.Ldb, x, g.K, g.C, 1, g.N, g.Alpha, g.Beta, Chunks(g.N, threads), path);
                Run(body, body.Chunks, threads);
            }
            return;
        }

        // n = 1: c[:, 0] has stride ldc.
        if (!g.TransA)
        {
            // A stored [m, k]: c[i] = alpha·dot(A[i, :], b) + beta·c[i].
            float* x = Contiguous(g.B, g.TransB ? 1 : g.Ldb, g.K, 0);
            var body = new DotsBody(g.A, g.Lda, x, g.K, g.C, g.Ldc, g.M, g.Alpha, g.Beta, Chunks(g.M, threads), path);
            Run(body, body.Chunks, threads);
        }
        else
        {
            // A stored [k, m]: c = Σ_p b_p·A[p, :], an AXPY per row of A.
            var body = new RowAxpyBody(g.B, g.TransB ? 1 : g.Ldb, g.A, g.Lda, g.K, g.C, g.Ldc, g.M, g.Alpha, g.Beta, Chunks(g.M, threads), path);
            // The caller reserves its own scratch even if the workers run every chunk this time, so
            // that a later call that runs them all here (pool busy, one thread) finds it (issue #16).
            if (g.Ldc != 1) GemmScratch.Current.Temp(g.M);
            Run(body, body.Chunks, threads);
        }
    }

    // Chunks of at least 128 columns (one full register strip), up to 4 per thread: the pool hands
    // them out dynamically, so a thread slowed by another process on its core does fewer.
    private static int Chunks(int length, int threads) => threads <= 1 ? 1 : Math.Max(1, Math.Min(4 * threads, length / 128));

    private static void Run<TBody>(TBody body, int chunks, int threads) where TBody : struct, IParallelForBody
    {
        if (chunks > 1) WorkerPool.ParallelFor(chunks, body, threads);
        else body.Invoke(0);
    }

    /// <summary>A vector of <paramref name="count"/> floats with the given stride, gathered into scratch if strided.</summary>
    /// <remarks>The buffer is sized for two vectors so a second gather never moves the first.</remarks>
    private static float* Contiguous(float* x, nint stride, int count, int scratchOffset)
    {
        if (stride == 1) return x;
        float* t = GemmScratch.Current.Temp(2L * count) + scratchOffset;
        for (int i = 0; i < count; i++) t[i] = x[i * stride];
        return t;
    }

    private static (int Start, int End) Slice(int length, int index, int chunks)
    {
        // Chunk boundaries on multiples of 128 floats: every chunk but the last is made of whole
        // register strips (RowAxpyBody).
        int start = (int)((long)length * index / chunks) & ~127;
        int end = index == chunks - 1 ? length : (int)((long)length * (index + 1) / chunks) & ~127;
        return (start, end);
    }

    /// <summary>
    /// y = alpha·Σ_p x_p·M[p, :] + beta·y, where y has <paramref name="len"/> elements with stride
    /// <paramref name="ldy"/>; the columns are split between threads (on multiples of 128).
    /// </summary>
    /// <remarks>
    /// Register-blocked: a strip of 128 columns keeps 8 vector accumulators while p walks down the
    /// rows, so each element of M is loaded once and y is written once (1×784×256: ~48 GFLOP/s on
    /// one Zen 5 core, against ~2 for a loop of TensorPrimitives.MultiplyAdd calls). A strided y
    /// is accumulated in scratch and scattered at the end.
    /// </remarks>
    private readonly struct RowAxpyBody(float* x, nint incx, float* mat, nint ldm, int k, float* y, nint ldy,
        int len, float alpha, float beta, int chunks, GemmPath path) : IParallelForBody
    {
        public int Chunks => chunks;

        public void Invoke(int index)
        {
            var (j0, j1) = Slice(len, index, chunks);
            int w = j1 - j0;
            if (w <= 0) return;
            if (ldy == 1)
            {
                Strip(x, incx, mat + j0, ldm, k, y + j0, w, alpha, beta, path);
                return;
            }
            // Sized for the whole vector, not this chunk: the same size whichever chunks this thread runs.
            float* acc = GemmScratch.Current.Temp(len);
            Strip(x, incx, mat + j0, ldm, k, acc, w, alpha, 0f, path);
            float* yp = y + j0 * ldy;
            for (int j = 0; j < w; j++, yp += ldy)
                *yp = beta == 0f ? acc[j] : acc[j] + beta * *yp;
        }
    }

    /// <summary>y[0..w) = alpha·Σ_p x[p·incx]·m[p·ldm + j] + beta·y (beta 0: y not read).</summary>
    private static void Strip(float* x, nint incx, float* m, nint ldm, int k, float* y, int w, float alpha, float beta, GemmPath path)
    {
        if (path == GemmPath.Avx512 && Gemm.HasAvx512)
        {
            StripAvx512(x, incx, m, ldm, k, y, w, alpha, beta);
            return;
        }
        if (path == GemmPath.Avx2 && Gemm.HasAvx2)
        {
            StripAvx2(x, incx, m, ldm, k, y, w, alpha, beta);
            return;
        }
        // Portable: y accumulated in place, one pass over y per row of M. (Not a loop of
        // TensorPrimitives.MultiplyAdd with the destination aliasing the addend: that measured
        // ~250 ns per 256-float row, 20× slower than the strips above.)
        if (beta == 0f) new Span<float>(y, w).Clear();
        else if (beta != 1f) for (int j = 0; j < w; j++) y[j] *= beta;
        int vw = Vector<float>.Count;
        for (int p = 0; p < k; p++, x += incx, m += ldm)
        {
            float s = alpha * *x;
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var vs = new Vector<float>(s);
                for (; j + vw <= w; j += vw) Vector.Store(Vector.Load(y + j) + vs * Vector.Load(m + j), y + j);
            }
            for (; j < w; j++) y[j] += s * m[j];
        }
    }

    private static void StripAvx2(float* x, nint incx, float* m, nint ldm, int k, float* y, int w, float alpha, float beta)
    {
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        int j = 0;
        for (; j + 64 <= w; j += 64)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
            float* row = m + j;
            float* xp = x;
            for (int p = 0; p < k; p++, row += ldm, xp += incx)
            {
                var xv = Vector256.Create(*xp);
                a0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row), a0);
                a1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 8), a1);
                a2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 16), a2);
                a3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 24), a3);
                a4 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 32), a4);
                a5 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 40), a5);
                a6 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 48), a6);
                a7 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(row + 56), a7);
            }
            float* yj = y + j;
            Put(yj, a0, va, vb, beta); Put(yj + 8, a1, va, vb, beta);
            Put(yj + 16, a2, va, vb, beta); Put(yj + 24, a3, va, vb, beta);
            Put(yj + 32, a4, va, vb, beta); Put(yj + 40, a5, va, vb, beta);
            Put(yj + 48, a6, va, vb, beta); Put(yj + 56, a7, va, vb, beta);
        }
        for (; j < w; j += 8)
        {
            int rest = Math.Min(8, w - j);
            var mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(rest)).AsSingle();
            Vector256<float> e = default, o = default;
            float* row = m + j;
            float* xp = x;
            int p = 0;
            for (; p + 1 < k; p += 2, row += 2 * ldm, xp += 2 * incx)
            {
                e = Vector256.FusedMultiplyAdd(Vector256.Create(xp[0]), Avx.MaskLoad(row, mask), e);
                o = Vector256.FusedMultiplyAdd(Vector256.Create(xp[incx]), Avx.MaskLoad(row + ldm, mask), o);
            }
            if (p < k) e = Vector256.FusedMultiplyAdd(Vector256.Create(xp[0]), Avx.MaskLoad(row, mask), e);
            var r = (e + o) * va;
            if (beta != 0f) r = Vector256.FusedMultiplyAdd(Avx.MaskLoad(y + j, mask), vb, r);
            Avx.MaskStore(y + j, mask, r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* y, Vector256<float> acc, Vector256<float> va, Vector256<float> vb, float beta)
    {
        var r = acc * va;
        if (beta != 0f) r = Vector256.FusedMultiplyAdd(Vector256.Load(y), vb, r);
        Vector256.Store(r, y);
    }

    private static void StripAvx512(float* x, nint incx, float* m, nint ldm, int k, float* y, int w, float alpha, float beta)
    {
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        int j = 0;
        for (; j + 128 <= w; j += 128)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
            float* row = m + j;
            float* xp = x;
            for (int p = 0; p < k; p++, row += ldm, xp += incx)
            {
                var xv = Vector512.Create(*xp);
                a0 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row), a0);
                a1 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 16), a1);
                a2 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 32), a2);
                a3 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 48), a3);
                a4 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 64), a4);
                a5 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 80), a5);
                a6 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 96), a6);
                a7 = Vector512.FusedMultiplyAdd(xv, Vector512.Load(row + 112), a7);
            }
            float* yj = y + j;
            Put(yj, a0, va, vb, beta); Put(yj + 16, a1, va, vb, beta);
            Put(yj + 32, a2, va, vb, beta); Put(yj + 48, a3, va, vb, beta);
            Put(yj + 64, a4, va, vb, beta); Put(yj + 80, a5, va, vb, beta);
            Put(yj + 96, a6, va, vb, beta); Put(yj + 112, a7, va, vb, beta);
        }
        for (; j < w; j += 16)
        {
            // One vector wide: two accumulators (even/odd p) against the FMA latency; the last
            // strip is masked (fault-suppressing loads and stores), so nothing past w is touched.
            int rest = Math.Min(16, w - j);
            var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rest)).AsSingle();
            Vector512<float> e = default, o = default;
            float* row = m + j;
            float* xp = x;
            int p = 0;
            for (; p + 1 < k; p += 2, row += 2 * ldm, xp += 2 * incx)
            {
                e = Vector512.FusedMultiplyAdd(Vector512.Create(xp[0]), Avx512F.MaskLoad(row, mask, default), e);
                o = Vector512.FusedMultiplyAdd(Vector512.Create(xp[incx]), Avx512F.MaskLoad(row + ldm, mask, default), o);
            }
            if (p < k) e = Vector512.FusedMultiplyAdd(Vector512.Create(xp[0]), Avx512F.MaskLoad(row, mask, default), e);
            var r = (e + o) * va;
            if (beta != 0f) r = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(y + j, mask, default), vb, r);
            Avx512F.MaskStore(y + j, mask, r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(float* y, Vector512<float> acc, Vector512<float> va, Vector512<float> vb, float beta)
    {
        var r = acc * va;
        if (beta != 0f) r = Vector512.FusedMultiplyAdd(Vector512.Load(y), vb, r);
        Vector512.Store(r, y);
    }

    /// <summary>y[i] = alpha·dot(M[i, :], x) + beta·y[i] for i in a chunk of rows.</summary>
    private readonly struct DotsBody(float* mat, nint ldm, float* x, int k, float* y, nint ldy,
        int len, float alpha, float beta, int chunks, GemmPath path) : IParallelForBody
    {
        public int Chunks => chunks;

        public void Invoke(int index)
        {
            var (i0, i1) = Slice(len, index, chunks);
            if (path == GemmPath.Avx512 && Gemm.HasAvx512)
            {
                Dots512(mat, ldm, x, k, y, ldy, i0, i1, alpha, beta);
                return;
            }
            if (path == GemmPath.Avx2 && Gemm.HasAvx2)
            {
                Dots256(mat, ldm, x, k, y, ldy, i0, i1, alpha, beta);
                return;
            }
            var xs = new ReadOnlySpan<float>(x, k);
            for (int i = i0; i < i1; i++)
                Put(y + i * ldy, TensorPrimitives.Dot(new ReadOnlySpan<float>(mat + i * ldm, k), xs), alpha, beta);
        }
    }

    private static void Put(float* yp, float dot, float alpha, float beta) => *yp = beta == 0f ? alpha * dot : alpha * dot + beta * *yp;

    // Rows i0..i1 of mat dotted with x, four rows at a time, each with two FMA chains: eight FMAs in
    // flight, and each vector of x loaded once for four rows. Every row's sum is taken in the same order
    // (chains over alternate vectors, their sum reduced, then the scalar tail), whether it runs in a
    // block of four or alone and in either direction (DescendNext), so a result does not depend on how
    // the rows were split. Batch-1 inference of the 784-256-128-10 MLP on one Zen 4 core (session 9):
    // 17-19 µs with one TensorPrimitives.Dot per row, 12.3-13.3 µs with this. (15.3-16 µs while the
    // tail sum was a call: a call after the loop makes the JIT store every accumulator on each pass.)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots512(float* mat, nint ldm, float* x, int k, float* y, nint ldy, int i0, int i1, float alpha, float beta)
    {
        int kv = k & ~15;
        int blocks = (i1 - i0) >> 2;
        bool down = DescendNext();
        for (int bi = 0; bi < blocks; bi++)
        {
            int i = i0 + 4 * (down ? blocks - 1 - bi : bi);
            float* r0 = mat + i * ldm, r1 = r0 + ldm, r2 = r1 + ldm, r3 = r2 + ldm;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            int p = 0;
            for (; p + 32 <= kv; p += 32)
            {
                var xa = Vector512.Load(x + p);
                var xb = Vector512.Load(x + p + 16);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + p), xa, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + p), xa, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + p), xa, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + p), xa, a3);
                b0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + p + 16), xb, b0);
                b1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + p + 16), xb, b1);
                b2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + p + 16), xb, b2);
                b3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + p + 16), xb, b3);
            }
            if (p < kv)
            {
                var xa = Vector512.Load(x + p);
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + p), xa, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(r1 + p), xa, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Load(r2 + p), xa, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Load(r3 + p), xa, a3);
            }
            Put(y + i * ldy, Vector512.Sum(a0 + b0) + TailDot(r0, x, kv, k), alpha, beta);
            Put(y + (i + 1) * ldy, Vector512.Sum(a1 + b1) + TailDot(r1, x, kv, k), alpha, beta);
            Put(y + (i + 2) * ldy, Vector512.Sum(a2 + b2) + TailDot(r2, x, kv, k), alpha, beta);
            Put(y + (i + 3) * ldy, Vector512.Sum(a3 + b3) + TailDot(r3, x, kv, k), alpha, beta);
        }
        for (int i = i0 + 4 * blocks; i < i1; i++)
        {
            float* r0 = mat + i * ldm;
            Vector512<float> a0 = default, b0 = default;
            int p = 0;
            for (; p + 32 <= kv; p += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + p), Vector512.Load(x + p), a0);
                b0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + p + 16), Vector512.Load(x + p + 16), b0);
            }
            if (p < kv) a0 = Vector512.FusedMultiplyAdd(Vector512.Load(r0 + p), Vector512.Load(x + p), a0);
            Put(y + i * ldy, Vector512.Sum(a0 + b0) + TailDot(r0, x, kv, k), alpha, beta);
        }
    }

    /// <summary><see cref="Dots512"/> with 256-bit vectors, in the same order (written out twice, as in FastMath:
    /// .NET 10's Vector512 and Vector256 share no public generic interface).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots256(float* mat, nint ldm, float* x, int k, float* y, nint ldy, int i0, int i1, float alpha, float beta)
    {
        int kv = k & ~7;
        int blocks = (i1 - i0) >> 2;
        bool down = DescendNext();
        for (int bi = 0; bi < blocks; bi++)
        {
            int i = i0 + 4 * (down ? blocks - 1 - bi : bi);
            float* r0 = mat + i * ldm, r1 = r0 + ldm, r2 = r1 + ldm, r3 = r2 + ldm;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
            int p = 0;
            for (; p + 16 <= kv; p += 16)
            {
                var xa = Vector256.Load(x + p);
                var xb = Vector256.Load(x + p + 8);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p), xa, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + p), xa, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + p), xa, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + p), xa, a3);
                b0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p + 8), xb, b0);
                b1 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + p + 8), xb, b1);
                b2 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + p + 8), xb, b2);
                b3 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + p + 8), xb, b3);
            }
            if (p < kv)
            {
                var xa = Vector256.Load(x + p);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p), xa, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(r1 + p), xa, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(r2 + p), xa, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(r3 + p), xa, a3);
            }
            Put(y + i * ldy, Vector256.Sum(a0 + b0) + TailDot(r0, x, kv, k), alpha, beta);
            Put(y + (i + 1) * ldy, Vector256.Sum(a1 + b1) + TailDot(r1, x, kv, k), alpha, beta);
            Put(y + (i + 2) * ldy, Vector256.Sum(a2 + b2) + TailDot(r2, x, kv, k), alpha, beta);
            Put(y + (i + 3) * ldy, Vector256.Sum(a3 + b3) + TailDot(r3, x, kv, k), alpha, beta);
        }
        for (int i = i0 + 4 * blocks; i < i1; i++)
        {
            float* r0 = mat + i * ldm;
            Vector256<float> a0 = default, b0 = default;
            int p = 0;
            for (; p + 16 <= kv; p += 16)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p), Vector256.Load(x + p), a0);
                b0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p + 8), Vector256.Load(x + p + 8), b0);
            }
            if (p < kv) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(r0 + p), Vector256.Load(x + p), a0);
            Put(y + i * ldy, Vector256.Sum(a0 + b0) + TailDot(r0, x, kv, k), alpha, beta);
        }
    }

    [ThreadStatic] private static bool descending;

    // Alternates the direction in which successive calls walk the rows. A serving loop reads the same
    // weights call after call; when they are a little larger than the L2 cache (the MLP's 940 KB against
    // 1 MiB), walking them in the same order every time evicts each line just before it is needed again,
    // while walking back first meets the lines the last call left in the cache. Rows are independent,
    // so the direction changes no result.
    private static bool DescendNext() => descending = !descending;

    /// <summary>Σ r[p]·x[p] for p in [from, k), in order (the part of a dot past the last whole vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // must not be a call: see Dots512
    private static float TailDot(float* r, float* x, int from, int k)
    {
        float s = 0f;
        for (int p = from; p < k; p++) s = MathF.FusedMultiplyAdd(r[p], x[p], s);
        return s;
    }

    // ---------------------------------------------------------------- narrow N (n ≤ one vector)

    /// <summary>
    /// n ≤ vector width: B is packed into k vectors (zero-padded past n), then each row of C is one
    /// vector: c[i, :] = Σ_p A(i, p)·Bp[p]. Eight rows at a time give eight independent FMA chains.
    /// A is read in place with either stride order, so transA costs nothing.
    /// </summary>
    public static void NarrowN(in GemmArgs g, GemmPath path, int threads)
    {
        if (path == GemmPath.Avx512 && g.TransA && g.N >= 8 && g.M >= 16)
        {
            ColumnsOfA(in g, threads);
            return;
        }
        int width = Gemm.NarrowWidth(path);
        float* bp = GemmScratch.Current.Temp((long)g.K * width);
        // B into k vectors of `width` floats, zero past n. Row by row of B as stored (an element at a time
        // through BAt was a third of 128×128×10's time).
        int k = g.K, n = g.N;
        if (g.TransB)
        {
            new Span<float>(bp, k * width).Clear();
            for (int j = 0; j < n; j++)
            {
                float* row = g.B + (nint)j * g.Ldb;
                for (int p = 0; p < k; p++) bp[p * width + j] = row[p];
            }
        }
        else
        {
            for (int p = 0; p < k; p++)
            {
                float* d = bp + p * width;
                new ReadOnlySpan<float>(g.B + (nint)p * g.Ldb, n).CopyTo(new Span<float>(d, n));
                new Span<float>(d + n, width - n).Clear();
            }
        }

        int blocks = (g.M + 7) / 8;
        int chunks = threads <= 1 ? 1 : Math.Min(4 * threads, blocks);
        if (path == GemmPath.Avx512)
            Run(new NarrowBody<Narrow512>(g, bp, blocks, chunks), chunks, threads);
        else
            Run(new NarrowBody<Narrow256>(g, bp, blocks, chunks), chunks, threads);
    }

    // ------------------------------------------------ narrow N, A stored [k, m]: vectors along m

    // With A stored [k, m] (transA: the weight gradient Xᵀ·dY of a 10-class output layer), a column of A
    // is contiguous, so sixteen rows of C go in one vector and each of the n columns gets its own
    // accumulator: n FMAs per k step for 16 rows, none wasted, and B read in place. The kernel above puts
    // the n columns in one 16-lane vector instead, which leaves 6 of 16 lanes empty when n = 10 and first
    // copies B into padded vectors: 54.6 GFLOP/s for 128×128×10 on a Zen 4 core against OpenBLAS's 74.
    // Each C(i, j) is one chain of FMAs over p in order, as in the other kernel's groups of 8 rows.
    private static void ColumnsOfA(in GemmArgs g, int threads)
    {
        int blocks = (g.M + 15) / 16;
        int chunks = threads <= 1 ? 1 : Math.Min(4 * threads, blocks);
        switch (g.N)
        {
            case 8: Run(new ColumnsBody<C8>(g, blocks, chunks), chunks, threads); break;
            case 9: Run(new ColumnsBody<C9>(g, blocks, chunks), chunks, threads); break;
            case 10: Run(new ColumnsBody<C10>(g, blocks, chunks), chunks, threads); break;
            case 11: Run(new ColumnsBody<C11>(g, blocks, chunks), chunks, threads); break;
            case 12: Run(new ColumnsBody<C12>(g, blocks, chunks), chunks, threads); break;
            case 13: Run(new ColumnsBody<C13>(g, blocks, chunks), chunks, threads); break;
            case 14: Run(new ColumnsBody<C14>(g, blocks, chunks), chunks, threads); break;
            case 15: Run(new ColumnsBody<C15>(g, blocks, chunks), chunks, threads); break;
            default: Run(new ColumnsBody<C16>(g, blocks, chunks), chunks, threads); break;
        }
    }

    private interface IColumnCount { static abstract int N { get; } }
    private readonly struct C8 : IColumnCount { public static int N => 8; }
    private readonly struct C9 : IColumnCount { public static int N => 9; }
    private readonly struct C10 : IColumnCount { public static int N => 10; }
    private readonly struct C11 : IColumnCount { public static int N => 11; }
    private readonly struct C12 : IColumnCount { public static int N => 12; }
    private readonly struct C13 : IColumnCount { public static int N => 13; }
    private readonly struct C14 : IColumnCount { public static int N => 14; }
    private readonly struct C15 : IColumnCount { public static int N => 15; }
    private readonly struct C16 : IColumnCount { public static int N => 16; }

    private readonly struct ColumnsBody<TN>(GemmArgs g, int blocks, int chunks) : IParallelForBody where TN : struct, IColumnCount
    {
        public void Invoke(int index)
        {
            int b0 = (int)((long)blocks * index / chunks), b1 = (int)((long)blocks * (index + 1) / chunks);
            for (int blk = b0; blk < b1; blk++)
                ColumnsBlock<TN>(in g, blk * 16, Math.Min(16, g.M - blk * 16));
        }
    }

    // Rows [i0, i0 + rows) of C, rows ≤ 16; TN.N is a constant in each instantiation, so the JIT keeps
    // exactly that many accumulators and drops the other statements.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnsBlock<TN>(in GemmArgs g, int i0, int rows) where TN : struct, IColumnCount
    {
        // The transpose buffer is the thread's GEMM scratch, fetched before the loop: a stackalloc, or a call
        // after the loop, made the JIT store every accumulator to memory on each pass (a third of the speed).
        float* t = GemmScratch.Current.Temp(256);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        var rowMask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rows)).AsSingle();
        float* a = g.A + i0; // A(i0 + ii, p) = a[p·lda + ii]
        nint lda = g.Lda;
        nint bs = g.TransB ? g.Ldb : 1;          // B(p, j) = b[j·bs], b the start of row p of op(B)
        nint bp = g.TransB ? 1 : g.Ldb;
        float* b = g.B;
        int k = g.K;
        for (int p = 0; p < k; p++, a += lda, b += bp)
        {
            Vector512<float> av = Avx512F.MaskLoad(a, rowMask, default);
            c0 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[0]), c0);
            c1 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[bs]), c1);
            c2 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[2 * bs]), c2);
            c3 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[3 * bs]), c3);
            c4 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[4 * bs]), c4);
            c5 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[5 * bs]), c5);
            c6 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[6 * bs]), c6);
            c7 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[7 * bs]), c7);
            if (TN.N > 8) c8 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[8 * bs]), c8);
            if (TN.N > 9) c9 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[9 * bs]), c9);
            if (TN.N > 10) c10 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[10 * bs]), c10);
            if (TN.N > 11) c11 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[11 * bs]), c11);
            if (TN.N > 12) c12 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[12 * bs]), c12);
            if (TN.N > 13) c13 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[13 * bs]), c13);
            if (TN.N > 14) c14 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[14 * bs]), c14);
            if (TN.N > 15) c15 = Vector512.FusedMultiplyAdd(av, Vector512.Create(b[15 * bs]), c15);
        }
        // Column j of the block is accumulator j: transpose through a 16×16 buffer into the rows of C.
        c0.Store(t); c1.Store(t + 16); c2.Store(t + 32); c3.Store(t + 48);
        c4.Store(t + 64); c5.Store(t + 80); c6.Store(t + 96); c7.Store(t + 112);
        if (TN.N > 8) c8.Store(t + 128);
        if (TN.N > 9) c9.Store(t + 144);
        if (TN.N > 10) c10.Store(t + 160);
        if (TN.N > 11) c11.Store(t + 176);
        if (TN.N > 12) c12.Store(t + 192);
        if (TN.N > 13) c13.Store(t + 208);
        if (TN.N > 14) c14.Store(t + 224);
        if (TN.N > 15) c15.Store(t + 240);
        float alpha = g.Alpha, beta = g.Beta;
        float* c = g.C + (nint)i0 * g.Ldc;
        if (beta == 0f)
        {
            for (int ii = 0; ii < rows; ii++, c += g.Ldc)
                for (int j = 0; j < TN.N; j++) c[j] = t[j * 16 + ii] * alpha;
        }
        else
        {
            for (int ii = 0; ii < rows; ii++, c += g.Ldc)
                for (int j = 0; j < TN.N; j++) c[j] = MathF.FusedMultiplyAdd(c[j], beta, t[j * 16 + ii] * alpha);
        }
    }

    private interface INarrowKernel
    {
        /// <summary>Rows [i0, i0 + rows) of C, rows ≤ 8.</summary>
        static abstract void Rows(in GemmArgs g, float* bp, int i0, int rows);
    }

    private readonly struct NarrowBody<TK>(GemmArgs g, float* bp, int blocks, int chunks) : IParallelForBody
        where TK : struct, INarrowKernel
    {
        public void Invoke(int index)
        {
            int b0 = (int)((long)blocks * index / chunks), b1 = (int)((long)blocks * (index + 1) / chunks);
            for (int blk = b0; blk < b1; blk++)
            {
                int i0 = blk * 8;
                TK.Rows(in g, bp, i0, Math.Min(8, g.M - i0));
            }
        }
    }

    private readonly struct Narrow512 : INarrowKernel
    {
        public static void Rows(in GemmArgs g, float* bp, int i0, int rows)
        {
            nint rs = g.TransA ? 1 : g.Lda, cs = g.TransA ? g.Lda : 1;
            float* a = g.AAt(i0, 0);
            int k = g.K;
            if (rows == 8)
            {
                Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
                Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
                nint rs3 = 3 * rs, rs5 = 5 * rs, rs7 = 7 * rs;
                for (int p = 0; p < k; p++, a += cs)
                {
                    Vector512<float> b = Vector512.Load(bp + p * 16);
                    c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b, c0);
                    c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[rs]), b, c1);
                    c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2 * rs]), b, c2);
                    c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[rs3]), b, c3);
                    c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4 * rs]), b, c4);
                    c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[rs5]), b, c5);
                    c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6 * rs]), b, c6);
                    c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[rs7]), b, c7);
                }
                Store(in g, i0 + 0, c0); Store(in g, i0 + 1, c1); Store(in g, i0 + 2, c2); Store(in g, i0 + 3, c3);
                Store(in g, i0 + 4, c4); Store(in g, i0 + 5, c5); Store(in g, i0 + 6, c6); Store(in g, i0 + 7, c7);
                return;
            }
            for (int r = 0; r < rows; r++, a += rs)
            {
                // Two chains (even and odd p) to halve the FMA latency bound of a lone row.
                Vector512<float> e = default, o = default;
                float* ap = a;
                int p = 0;
                for (; p + 1 < k; p += 2, ap += 2 * cs)
                {
                    e = Vector512.FusedMultiplyAdd(Vector512.Create(ap[0]), Vector512.Load(bp + p * 16), e);
                    o = Vector512.FusedMultiplyAdd(Vector512.Create(ap[cs]), Vector512.Load(bp + p * 16 + 16), o);
                }
                if (p < k) e = Vector512.FusedMultiplyAdd(Vector512.Create(ap[0]), Vector512.Load(bp + p * 16), e);
                Store(in g, i0 + r, e + o);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(in GemmArgs g, int i, Vector512<float> acc)
        {
            float* c = g.C + i * g.Ldc;
            acc *= g.Alpha;
            if (g.N == 16)
            {
                if (g.Beta != 0f) acc = Vector512.FusedMultiplyAdd(Vector512.Load(c), Vector512.Create(g.Beta), acc);
                Vector512.Store(acc, c);
                return;
            }
            // Masked (fault-suppressing) load and store: only the n columns that exist are touched.
            var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(g.N)).AsSingle();
            if (g.Beta != 0f) acc = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(c, mask, default), Vector512.Create(g.Beta), acc);
            Avx512F.MaskStore(c, mask, acc);
        }
    }

    private readonly struct Narrow256 : INarrowKernel
    {
        public static void Rows(in GemmArgs g, float* bp, int i0, int rows)
        {
            nint rs = g.TransA ? 1 : g.Lda, cs = g.TransA ? g.Lda : 1;
            float* a = g.AAt(i0, 0);
            int k = g.K;
            if (rows == 8)
            {
                Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
                Vector256<float> c4 = default, c5 = default, c6 = default, c7 = default;
                nint rs3 = 3 * rs, rs5 = 5 * rs, rs7 = 7 * rs;
                for (int p = 0; p < k; p++, a += cs)
                {
                    Vector256<float> b = Vector256.Load(bp + p * 8);
                    c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b, c0);
                    c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[rs]), b, c1);
                    c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2 * rs]), b, c2);
                    c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[rs3]), b, c3);
                    c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4 * rs]), b, c4);
                    c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[rs5]), b, c5);
                    c6 = Vector256.FusedMultiplyAdd(Vector256.Create(a[6 * rs]), b, c6);
                    c7 = Vector256.FusedMultiplyAdd(Vector256.Create(a[rs7]), b, c7);
                }
                Store(in g, i0 + 0, c0); Store(in g, i0 + 1, c1); Store(in g, i0 + 2, c2); Store(in g, i0 + 3, c3);
                Store(in g, i0 + 4, c4); Store(in g, i0 + 5, c5); Store(in g, i0 + 6, c6); Store(in g, i0 + 7, c7);
                return;
            }
            for (int r = 0; r < rows; r++, a += rs)
            {
                Vector256<float> e = default, o = default;
                float* ap = a;
                int p = 0;
                for (; p + 1 < k; p += 2, ap += 2 * cs)
                {
                    e = Vector256.FusedMultiplyAdd(Vector256.Create(ap[0]), Vector256.Load(bp + p * 8), e);
                    o = Vector256.FusedMultiplyAdd(Vector256.Create(ap[cs]), Vector256.Load(bp + p * 8 + 8), o);
                }
                if (p < k) e = Vector256.FusedMultiplyAdd(Vector256.Create(ap[0]), Vector256.Load(bp + p * 8), e);
                Store(in g, i0 + r, e + o);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(in GemmArgs g, int i, Vector256<float> acc)
        {
            float* c = g.C + i * g.Ldc;
            acc *= g.Alpha;
            if (g.N == 8)
            {
                if (g.Beta != 0f) acc = Vector256.FusedMultiplyAdd(Vector256.Load(c), Vector256.Create(g.Beta), acc);
                Vector256.Store(acc, c);
                return;
            }
            var mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(g.N)).AsSingle();
            if (g.Beta != 0f) acc = Vector256.FusedMultiplyAdd(Avx.MaskLoad(c, mask), Vector256.Create(g.Beta), acc);
            Avx.MaskStore(c, mask, acc);
        }
    }
}
