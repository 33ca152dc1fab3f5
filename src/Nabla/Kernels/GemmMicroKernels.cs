using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// A register micro-kernel and the cache blocking that feeds it. The packed driver
/// (<see cref="PackedGemm{TKernel}"/>) is generic over a struct implementing this, so the JIT
/// compiles one copy of the driver per kernel with MR/NR/KC folded into constants.
/// </summary>
/// <remarks>
/// Operand layout the kernel expects (GotoBLAS/BLIS):
/// <list type="bullet">
/// <item>A micro-panel: kc columns of MR rows, interleaved: <c>a[p·MR + i]</c> = A(i, p).</item>
/// <item>B micro-panel: kc rows of NR contiguous floats, <c>b[p·ldb + j]</c> = B(p, j); a packed
/// panel has ldb = NR, the unpacked path passes the caller's row stride.</item>
/// </list>
/// The kernel keeps the whole MR×NR tile of C in registers for the kc loop, then writes
/// C = alpha·acc + beta·C (beta = 0: C is not read, so NaNs in C do not propagate).
/// </remarks>
internal unsafe interface IMicroKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }

    /// <summary>Rows of A packed at once (a multiple of MR): the packed A block stays in L2.</summary>
    static abstract int MC { get; }

    /// <summary>Depth of one packed block: a B micro-panel (KC×NR) stays in L1.</summary>
    static abstract int KC { get; }

    /// <summary>Columns of B packed at once (a multiple of NR): the packed B block stays in L3.</summary>
    static abstract int NC { get; }

    /// <summary>C[0..MR, 0..NR) = alpha·Σ_p a[p·MR + i]·b[p·ldb + j] + beta·C (see the type remarks).</summary>
    static abstract void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta);
}

/// <summary>
/// 8×32 tile with 512-bit vectors: 16 zmm accumulators (8 rows × 2 vectors) + 2 for B + 1
/// broadcast, 19 of the 32 zmm registers. Each k step is 2 loads of B, 8 broadcasts of A and 16
/// FMAs: more than the 8 independent FMAs needed to cover the 4-cycle latency on 2 pipes.
/// Chosen over the classic 6×32 because batch sizes (32, 64, 128, …) are multiples of 8, not of 6:
/// a 128-row product runs 16 full tiles instead of 21 and a 2-row edge tile (measured on Zen 5:
/// 188 vs 183 GFLOP/s at 128×784×256, equal at 1024², ~93 % of the 220 GFLOP/s peak).
/// </summary>
internal readonly unsafe struct Avx512Kernel : IMicroKernel
{
    public static int MR => 8;
    public static int NR => 32;
    // From the caches (GemmBlocks.For): on a 32 KiB or larger L1d KC = 384, MC = 336 with a 1 MiB L2.
    // Static readonly ints: tier-1 code sees them as constants, as it did the literals before.
    private static readonly int Mc = GemmBlocks.Current(8, 32).MC, Kc = GemmBlocks.Current(8, 32).KC, Nc = GemmBlocks.Current(8, 32).NC;
    public static int MC => Mc;
    public static int KC => Kc;
    public static int NC => Nc;

    public static void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        // The C tile is read and written only after the k loop; on large products it has left the
        // caches since the previous k block, and its 16-24 lines would then arrive from L3 or memory
        // one latency after another. Asking for them now hides that behind the FMAs: 2048³ on one
        // thread went from 95 to 104-106 GFLOP/s (Zen 4; docs/BENCHMARKS.md, session 12).
        for (int i = 0; i < 8; i++)
        {
            Sse.Prefetch0(c + i * ldc);
            Sse.Prefetch0(c + i * ldc + 16);
            Sse.Prefetch0(c + i * ldc + 31);
        }
        for (; kc > 0; kc--)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> av = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            a += 8;
            b += ldb;
        }

        Vector512<float> va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            Vector512.Store(c00 * va, c); Vector512.Store(c01 * va, c + 16); c += ldc;
            Vector512.Store(c10 * va, c); Vector512.Store(c11 * va, c + 16); c += ldc;
            Vector512.Store(c20 * va, c); Vector512.Store(c21 * va, c + 16); c += ldc;
            Vector512.Store(c30 * va, c); Vector512.Store(c31 * va, c + 16); c += ldc;
            Vector512.Store(c40 * va, c); Vector512.Store(c41 * va, c + 16); c += ldc;
            Vector512.Store(c50 * va, c); Vector512.Store(c51 * va, c + 16); c += ldc;
            Vector512.Store(c60 * va, c); Vector512.Store(c61 * va, c + 16); c += ldc;
            Vector512.Store(c70 * va, c); Vector512.Store(c71 * va, c + 16);
        }
        else
        {
            Vector512<float> vb = Vector512.Create(beta);
            Update(c, c00, c01, va, vb); c += ldc;
            Update(c, c10, c11, va, vb); c += ldc;
            Update(c, c20, c21, va, vb); c += ldc;
            Update(c, c30, c31, va, vb); c += ldc;
            Update(c, c40, c41, va, vb); c += ldc;
            Update(c, c50, c51, va, vb); c += ldc;
            Update(c, c60, c61, va, vb); c += ldc;
            Update(c, c70, c71, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> vb)
    {
        Vector512.Store(Vector512.FusedMultiplyAdd(x0, va, Vector512.Load(c) * vb), c);
        Vector512.Store(Vector512.FusedMultiplyAdd(x1, va, Vector512.Load(c + 16) * vb), c + 16);
    }
}

/// <summary>
/// 6×16 tile with 256-bit vectors and FMA (AVX2 machines): 12 ymm accumulators + 2 for B + 1
/// broadcast = 15 of the 16 ymm registers.
/// </summary>
internal readonly unsafe struct Avx2Kernel : IMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;
    // From the caches (GemmBlocks.For): on a 32 KiB L1d KC = 384.
    // Static readonly ints: tier-1 code sees them as constants, as it did the literals before.
    private static readonly int Mc = GemmBlocks.Current(6, 16).MC, Kc = GemmBlocks.Current(6, 16).KC, Nc = GemmBlocks.Current(6, 16).NC;
    public static int MC => Mc;
    public static int KC => Kc;
    public static int NC => Nc;

    public static void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        // As in Avx512Kernel: fetch the C tile's lines (2 per row when unaligned) during the k loop.
        for (int i = 0; i < 6; i++)
        {
            Sse.Prefetch0(c + i * ldc);
            Sse.Prefetch0(c + i * ldc + 15);
        }
        for (; kc > 0; kc--)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> av = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            a += 6;
            b += ldb;
        }

        Vector256<float> va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            Vector256.Store(c00 * va, c); Vector256.Store(c01 * va, c + 8); c += ldc;
            Vector256.Store(c10 * va, c); Vector256.Store(c11 * va, c + 8); c += ldc;
            Vector256.Store(c20 * va, c); Vector256.Store(c21 * va, c + 8); c += ldc;
            Vector256.Store(c30 * va, c); Vector256.Store(c31 * va, c + 8); c += ldc;
            Vector256.Store(c40 * va, c); Vector256.Store(c41 * va, c + 8); c += ldc;
            Vector256.Store(c50 * va, c); Vector256.Store(c51 * va, c + 8);
        }
        else
        {
            Vector256<float> vb = Vector256.Create(beta);
            Update(c, c00, c01, va, vb); c += ldc;
            Update(c, c10, c11, va, vb); c += ldc;
            Update(c, c20, c21, va, vb); c += ldc;
            Update(c, c30, c31, va, vb); c += ldc;
            Update(c, c40, c41, va, vb); c += ldc;
            Update(c, c50, c51, va, vb);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> vb)
    {
        Vector256.Store(Vector256.FusedMultiplyAdd(x0, va, Vector256.Load(c) * vb), c);
        Vector256.Store(Vector256.FusedMultiplyAdd(x1, va, Vector256.Load(c + 8) * vb), c + 8);
    }
}

/// <summary>
/// Portable 4×(2·Vector&lt;float&gt;.Count) tile for hardware without AVX2/FMA (SSE-only x86, Arm
/// NEON). 8 accumulators fit in the 16 SSE registers. Uses a fused multiply-add only where the
/// hardware has one (NEON); on SSE a separate multiply and add is faster than emulated FMA.
/// </summary>
internal readonly unsafe struct VectorKernel : IMicroKernel
{
    public static int MR => 4;
    public static int NR => 2 * Vector<float>.Count;
    public static int MC => 128;
    public static int KC => 256;
    public static int NC => 4096;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> MulAdd(Vector<float> x, Vector<float> y, Vector<float> acc)
        => Fma.IsSupported || AdvSimd.IsSupported ? Vector.FusedMultiplyAdd(x, y, acc) : x * y + acc;

    public static void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        int w = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (; kc > 0; kc--)
        {
            Vector<float> b0 = Vector.Load(b);
            Vector<float> b1 = Vector.Load(b + w);
            Vector<float> av = new(a[0]);
            c00 = MulAdd(av, b0, c00);
            c01 = MulAdd(av, b1, c01);
            av = new(a[1]);
            c10 = MulAdd(av, b0, c10);
            c11 = MulAdd(av, b1, c11);
            av = new(a[2]);
            c20 = MulAdd(av, b0, c20);
            c21 = MulAdd(av, b1, c21);
            av = new(a[3]);
            c30 = MulAdd(av, b0, c30);
            c31 = MulAdd(av, b1, c31);
            a += 4;
            b += ldb;
        }

        var va = new Vector<float>(alpha);
        var vb = new Vector<float>(beta);
        bool readC = beta != 0f;
        Write(c, w, c00, c01, va, vb, readC); c += ldc;
        Write(c, w, c10, c11, va, vb, readC); c += ldc;
        Write(c, w, c20, c21, va, vb, readC); c += ldc;
        Write(c, w, c30, c31, va, vb, readC);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(float* c, int w, Vector<float> x0, Vector<float> x1, Vector<float> va, Vector<float> vb, bool readC)
    {
        if (readC)
        {
            Vector.Store(x0 * va + Vector.Load(c) * vb, c);
            Vector.Store(x1 * va + Vector.Load(c + w) * vb, c + w);
        }
        else
        {
            Vector.Store(x0 * va, c);
            Vector.Store(x1 * va, c + w);
        }
    }
}

/// <summary>
/// Scalar 4×4 tile for runs with hardware intrinsics disabled: 16 accumulators in locals, which the
/// JIT keeps in registers; still far ahead of an unblocked triple loop because of the packing.
/// </summary>
internal readonly unsafe struct ScalarKernel : IMicroKernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static int MC => 128;
    public static int KC => 256;
    public static int NC => 2048;

    public static void Run(nint kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (; kc > 0; kc--)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float a0 = a[0];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            float a1 = a[1];
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            float a2 = a[2];
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            float a3 = a[3];
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            a += 4;
            b += ldb;
        }

        Write(c, c00, c01, c02, c03, alpha, beta); c += ldc;
        Write(c, c10, c11, c12, c13, alpha, beta); c += ldc;
        Write(c, c20, c21, c22, c23, alpha, beta); c += ldc;
        Write(c, c30, c31, c32, c33, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(float* c, float x0, float x1, float x2, float x3, float alpha, float beta)
    {
        if (beta == 0f)
        {
            c[0] = alpha * x0; c[1] = alpha * x1; c[2] = alpha * x2; c[3] = alpha * x3;
        }
        else
        {
            c[0] = alpha * x0 + beta * c[0]; c[1] = alpha * x1 + beta * c[1];
            c[2] = alpha * x2 + beta * c[2]; c[3] = alpha * x3 + beta * c[3];
        }
    }
}
