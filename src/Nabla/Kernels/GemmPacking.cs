using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// Per-thread scratch memory for GEMM: pinned, 64-byte aligned, grown on demand and then reused,
/// so steady-state calls allocate nothing. Pool workers are persistent threads, so their buffers
/// live as long as the pool; a buffer of an ordinary thread is collected with the thread.
/// </summary>
internal sealed unsafe class GemmScratch
{
    [ThreadStatic] private static GemmScratch? _current;

    /// <summary>This thread's scratch.</summary>
    public static GemmScratch Current => _current ??= new GemmScratch();

    private float[]? _packA, _packB, _temp;

    /// <summary>Buffer for a packed A block (private to one thread).</summary>
    public float* PackA(long floats) => Get(ref _packA, floats);

    /// <summary>Buffer for a packed B block (owned by the calling thread, read by the workers).</summary>
    public float* PackB(long floats) => Get(ref _packB, floats);

    /// <summary>Buffer for small gathers (GEMV vectors, narrow-N packed B).</summary>
    public float* Temp(long floats) => Get(ref _temp, floats);

    private static float* Get(ref float[]? buffer, long floats)
    {
        // +16 floats of slack for the alignment, +16 for packers that store a full vector past the end.
        long need = floats + 32;
        if (buffer is null || buffer.Length < need)
        {
            if (need > Array.MaxLength) throw new OutOfMemoryException("GEMM scratch buffer too large.");
            buffer = GC.AllocateUninitializedArray<float>((int)need, pinned: true);
        }
        nint p = (nint)Unsafe.AsPointer(ref buffer[0]);
        return (float*)((p + 63) & ~(nint)63);
    }
}

/// <summary>
/// Packing of A and B blocks into the micro-panel layouts of <see cref="IMicroKernel"/>. Transposed
/// operands are handled here (by reading with the other stride), so the kernels never see a
/// transpose and no transposed copy of a whole matrix is ever made. Edge panels are zero-padded to
/// the full MR/NR so the kernel can always run a full tile.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[i0..i0+mc, p0..p0+kc) into ceil(mc/MR) micro-panels of kc×MR (interleaved).
    /// A(i,p) is at a[i·lda + p], or a[p·lda + i] when transA.
    /// </summary>
    public static void PackA<TK>(bool transA, float* a, nint lda, int i0, int mc, int p0, int kc, float* dst)
        where TK : struct, IMicroKernel
    {
        int mr = TK.MR;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            if (transA)
            {
                // Stored [k, m]: the MR values for one p are contiguous.
                float* src = a + (nint)(p0) * lda + i0 + ir;
                if (rows == mr)
                    for (int p = 0; p < kc; p++, src += lda, dst += mr) CopyRow(src, dst, mr);
                else
                    for (int p = 0; p < kc; p++, src += lda, dst += mr)
                    {
                        int r = 0;
                        for (; r < rows; r++) dst[r] = src[r];
                        for (; r < mr; r++) dst[r] = 0f;
                    }
            }
            else
            {
                // Stored [m, k]: MR rows read side by side and interleaved (a transpose of MR×kc).
                float* src = a + (nint)(i0 + ir) * lda + p0;
                if (rows == mr && mr == 6 && Avx.IsSupported)
                {
                    PackA6Avx(src, lda, kc, dst);
                    dst += 6 * kc;
                }
                else if (rows == mr && mr == 8 && Avx.IsSupported)
                {
                    PackA8Avx(src, lda, kc, dst);
                    dst += 8 * kc;
                }
                else
                {
                    for (int r = 0; r < mr; r++)
                    {
                        float* d = dst + r;
                        if (r < rows)
                        {
                            float* s = src + r * lda;
                            for (int p = 0; p < kc; p++) d[p * mr] = s[p];
                        }
                        else
                        {
                            for (int p = 0; p < kc; p++) d[p * mr] = 0f;
                        }
                    }
                    dst += mr * kc;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRow(float* src, float* dst, int count)
    {
        if (count == 8)
        {
            Unsafe.WriteUnaligned(dst, Unsafe.ReadUnaligned<Vector256<float>>(src));
        }
        else if (count == 6)
        {
            // 4 + 2 floats: two moves instead of six.
            Unsafe.WriteUnaligned(dst, Unsafe.ReadUnaligned<Vector128<float>>(src));
            Unsafe.WriteUnaligned(dst + 4, Unsafe.ReadUnaligned<long>(src + 4));
        }
        else
        {
            for (int i = 0; i < count; i++) dst[i] = src[i];
        }
    }

    /// <summary>
    /// Interleaves 6 rows of kc floats (row stride lda) into dst[p·6 + r] with 8×8 in-register
    /// transposes (rows 6 and 7 are copies and discarded). Each transposed column holds 8 floats of
    /// which 6 belong to step p; it is stored whole and its 2 extra floats are overwritten by the
    /// next column's store. The eighth column is stored as 4 + 2 so nothing lands past the block.
    /// </summary>
    private static void PackA6Avx(float* src, nint lda, int kc, float* dst)
    {
        float* r0 = src, r1 = src + lda, r2 = src + 2 * lda, r3 = src + 3 * lda, r4 = src + 4 * lda, r5 = src + 5 * lda;
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            Vector256<float> x0 = Avx.LoadVector256(r0 + p), x1 = Avx.LoadVector256(r1 + p);
            Vector256<float> x2 = Avx.LoadVector256(r2 + p), x3 = Avx.LoadVector256(r3 + p);
            Vector256<float> x4 = Avx.LoadVector256(r4 + p), x5 = Avx.LoadVector256(r5 + p);
            Transpose8(x0, x1, x2, x3, x4, x5, x5, x5,
                out var y0, out var y1, out var y2, out var y3, out var y4, out var y5, out var y6, out var y7);
            float* d = dst + p * 6;
            Avx.Store(d, y0);
            Avx.Store(d + 6, y1);
            Avx.Store(d + 12, y2);
            Avx.Store(d + 18, y3);
            Avx.Store(d + 24, y4);
            Avx.Store(d + 30, y5);
            Avx.Store(d + 36, y6);
            Avx.Store(d + 42, y7.GetLower());
            Unsafe.WriteUnaligned(d + 46, y7.GetUpper().AsDouble().ToScalar());
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * 6;
            d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p]; d[4] = r4[p]; d[5] = r5[p];
        }
    }

    /// <summary>Interleaves 8 rows of kc floats into dst[p·8 + r]: one 8×8 register transpose per 8 steps.</summary>
    private static void PackA8Avx(float* src, nint lda, int kc, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            float* s = src + p;
            Transpose8(
                Avx.LoadVector256(s), Avx.LoadVector256(s + lda),
                Avx.LoadVector256(s + 2 * lda), Avx.LoadVector256(s + 3 * lda),
                Avx.LoadVector256(s + 4 * lda), Avx.LoadVector256(s + 5 * lda),
                Avx.LoadVector256(s + 6 * lda), Avx.LoadVector256(s + 7 * lda),
                out var y0, out var y1, out var y2, out var y3, out var y4, out var y5, out var y6, out var y7);
            float* d = dst + p * 8;
            Avx.Store(d, y0);
            Avx.Store(d + 8, y1);
            Avx.Store(d + 16, y2);
            Avx.Store(d + 24, y3);
            Avx.Store(d + 32, y4);
            Avx.Store(d + 40, y5);
            Avx.Store(d + 48, y6);
            Avx.Store(d + 56, y7);
        }
        for (; p < kc; p++)
            for (int r = 0; r < 8; r++) dst[p * 8 + r] = src[r * lda + p];
    }

    /// <summary>Standard 8×8 float transpose (unpack, shuffle, 128-bit lane permute).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(
        Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, Vector256<float> x6, Vector256<float> x7,
        out Vector256<float> y0, out Vector256<float> y1, out Vector256<float> y2, out Vector256<float> y3,
        out Vector256<float> y4, out Vector256<float> y5, out Vector256<float> y6, out Vector256<float> y7)
    {
        var t0 = Avx.UnpackLow(x0, x1);
        var t1 = Avx.UnpackHigh(x0, x1);
        var t2 = Avx.UnpackLow(x2, x3);
        var t3 = Avx.UnpackHigh(x2, x3);
        var t4 = Avx.UnpackLow(x4, x5);
        var t5 = Avx.UnpackHigh(x4, x5);
        var t6 = Avx.UnpackLow(x6, x7);
        var t7 = Avx.UnpackHigh(x6, x7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        y0 = Avx.Permute2x128(s0, s4, 0x20);
        y1 = Avx.Permute2x128(s1, s5, 0x20);
        y2 = Avx.Permute2x128(s2, s6, 0x20);
        y3 = Avx.Permute2x128(s3, s7, 0x20);
        y4 = Avx.Permute2x128(s0, s4, 0x31);
        y5 = Avx.Permute2x128(s1, s5, 0x31);
        y6 = Avx.Permute2x128(s2, s6, 0x31);
        y7 = Avx.Permute2x128(s3, s7, 0x31);
    }

    /// <summary>
    /// Packs micro-panels [panel0, panel1) of op(B)[p0..p0+kc, j0..j0+nc) into kc×NR panels, panel q
    /// at dst + q·NR·kc. B(p,j) is at b[p·ldb + j], or b[j·ldb + p] when transB.
    /// </summary>
    public static void PackB<TK>(bool transB, float* b, nint ldb, int p0, int kc, int j0, int nc,
        int panel0, int panel1, float* dst)
        where TK : struct, IMicroKernel
    {
        int nr = TK.NR;
        for (int q = panel0; q < panel1; q++)
        {
            int jj = q * nr;
            int cols = Math.Min(nr, nc - jj);
            float* d = dst + (nint)q * nr * kc;
            int j = j0 + jj;
            if (!transB)
                PackBRows(b + (nint)p0 * ldb + j, ldb, kc, cols, nr, d);
            else
                PackBTransposed(b + (nint)j * ldb + p0, ldb, kc, cols, nr, d);
        }
    }

    /// <summary>Row-major B: each step p is a contiguous run of NR floats.</summary>
    public static void PackBRows(float* src, nint ldb, int kc, int cols, int nr, float* d)
    {
        if (cols == nr)
        {
            if (nr == 32 && Gemm.HasAvx512)
            {
                for (int p = 0; p < kc; p++, src += ldb, d += 32)
                {
                    Vector512.Store(Vector512.Load(src), d);
                    Vector512.Store(Vector512.Load(src + 16), d + 16);
                }
                return;
            }
            for (int p = 0; p < kc; p++, src += ldb, d += nr)
                new ReadOnlySpan<float>(src, nr).CopyTo(new Span<float>(d, nr));
            return;
        }
        for (int p = 0; p < kc; p++, src += ldb, d += nr)
        {
            int x = 0;
            for (; x < cols; x++) d[x] = src[x];
            for (; x < nr; x++) d[x] = 0f;
        }
    }

    /// <summary>
    /// Transposed B (stored [n, k]): column j of op(B) is row j of the storage. Blocks of 8 stored
    /// rows × 8 steps go through an 8×8 register transpose.
    /// </summary>
    public static void PackBTransposed(float* src, nint ldb, int kc, int cols, int nr, float* d)
    {
        int x = 0;
        if (Avx.IsSupported && nr % 8 == 0)
        {
            for (; x + 8 <= cols; x += 8)
            {
                float* s = src + x * ldb;
                float* dd = d + x;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                {
                    Transpose8(
                        Avx.LoadVector256(s + p), Avx.LoadVector256(s + ldb + p),
                        Avx.LoadVector256(s + 2 * ldb + p), Avx.LoadVector256(s + 3 * ldb + p),
                        Avx.LoadVector256(s + 4 * ldb + p), Avx.LoadVector256(s + 5 * ldb + p),
                        Avx.LoadVector256(s + 6 * ldb + p), Avx.LoadVector256(s + 7 * ldb + p),
                        out var y0, out var y1, out var y2, out var y3, out var y4, out var y5, out var y6, out var y7);
                    float* o = dd + p * nr;
                    Avx.Store(o, y0);
                    Avx.Store(o + nr, y1);
                    Avx.Store(o + 2 * nr, y2);
                    Avx.Store(o + 3 * nr, y3);
                    Avx.Store(o + 4 * nr, y4);
                    Avx.Store(o + 5 * nr, y5);
                    Avx.Store(o + 6 * nr, y6);
                    Avx.Store(o + 7 * nr, y7);
                }
                for (; p < kc; p++)
                    for (int r = 0; r < 8; r++) dd[p * nr + r] = s[r * ldb + p];
            }
        }
        for (; x < cols; x++)
        {
            float* s = src + x * ldb;
            for (int p = 0; p < kc; p++) d[p * nr + x] = s[p];
        }
        for (; x < nr; x++)
            for (int p = 0; p < kc; p++) d[p * nr + x] = 0f;
    }
}
