using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>Which algorithm a convolution pass runs.</summary>
internal enum ConvPath
{
    /// <summary>Chosen per shape (see <see cref="ConvDirect.Choose"/>).</summary>
    Auto,
    /// <summary>im2col (or none for 1×1) onto the packed GEMM.</summary>
    Gemm,
    /// <summary>The direct kernel of <see cref="ConvDirect"/> (where the shape allows it).</summary>
    Direct,
    /// <summary>The implicit GEMM of <see cref="ConvImplicit"/> (unit stride, forward and input gradient).</summary>
    Implicit,
}

/// <summary>The three passes of a convolution, each chosen separately.</summary>
internal enum ConvPass { Forward, BackwardData, BackwardWeight }

/// <summary>
/// Direct convolution for shapes where lowering to a GEMM wastes most of its work: depthwise
/// convolutions (one input channel and a few output channels per group), where each group's GEMM
/// has K = KH·KW and a mostly empty register tile. Each image's group is copied once into a
/// zero-padded buffer, so every tap is an unconditional vector load along an output row; up to eight
/// accumulators (four output channels × two vectors, two channels × four vectors, or one channel ×
/// four vectors) take a broadcast weight each. Unit column stride only (the vector runs along the
/// row); any row stride forward. dX is the same correlation of the padded dy with the
/// 180°-rotated, channel-transposed filter (stride 1); dW sums dy row vectors times shifted input
/// rows. Vectors are 256-bit: rows in these layers are 5–32 wide, where 512-bit vectors would
/// mostly hold padding. Any shape can be forced onto it (tests, NABLA_CONV_PATH=direct).
/// </summary>
internal static unsafe class ConvDirect
{
    private const int L = 8; // floats per Vector256

    /// <summary>Whether the direct kernel handles <paramref name="pass"/> of this geometry.</summary>
    public static bool Supports(in ConvGeometry g, ConvPass pass) =>
        Vector256.IsHardwareAccelerated && Fma.IsSupported && g.SW == 1 && (pass != ConvPass.BackwardData || g.SH == 1);

    // ------------------------------------------------------------------ choice

    // NABLA_CONV_PATH=gemm|direct|implicit|auto, read once.
    private static readonly ConvPath EnvOverride =
        Enum.TryParse(Environment.GetEnvironmentVariable("NABLA_CONV_PATH"), ignoreCase: true, out ConvPath p) ? p : ConvPath.Auto;

    [ThreadStatic] private static ConvPath? threadOverride;

    /// <summary>
    /// The path forced on this thread (tests force each one; per thread, so tests running beside
    /// each other are not affected), else NABLA_CONV_PATH=gemm|direct|implicit|auto, else
    /// <see cref="ConvPath.Auto"/>, which measures.
    /// </summary>
    internal static ConvPath Override => threadOverride ?? EnvOverride;

    /// <summary>Forces <paramref name="path"/> on this thread until the scope is disposed.</summary>
    internal static ForceScope Force(ConvPath path)
    {
        var previous = threadOverride;
        threadOverride = path;
        return new ForceScope(previous);
    }

    /// <summary>Restores the previous forced path.</summary>
    internal readonly struct ForceScope(ConvPath? previous) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose() => threadOverride = previous;
    }

    /// <summary>
    /// Whether <paramref name="pass"/> of <paramref name="g"/> runs the direct kernel: when the
    /// shape allows it, each group has one input channel and at most three output channels —
    /// depthwise convolutions (groups = channels, multiplier ≤ 3). Then each group's GEMM has an
    /// inner dimension of only KH·KW and fills at most half of the GEMM's register tile (6 or 8
    /// rows), so im2col and the tile's empty rows cost more than the multiply-adds. A rule from the
    /// shape, not a timing constant. LeNet's first layer (1 → 6, one group) runs its forward pass and
    /// weight gradient on the implicit GEMM (<see cref="ConvImplicit"/>), its input gradient (when
    /// one is needed) on im2col + GEMM (on Zen 4 2.3× faster than here); without the implicit kernel
    /// its weight gradient runs here (1.6× faster than the GEMM: the 6×25 result is less than one
    /// tile). Checked before <see cref="ConvImplicit.Choose"/>.
    /// </summary>
    public static bool Choose(in ConvGeometry g, ConvPass pass)
    {
        if (!Supports(in g, pass)) return false;
        var mode = Override;
        if (mode != ConvPath.Auto) return mode == ConvPath.Direct;
        if (g.Cg == 1 && 2 * g.Og <= 6) return true;
        // The weight gradient of a one-input-channel group whose whole [Og, KH·KW] result is smaller
        // than one register tile (8×32 floats; LeNet's first layer: 6×25): the GEMM would run a
        // single, mostly empty tile per step of its long inner dimension (every output position).
        // Where the implicit kernel runs, its dot-product tiles do better (51 vs 25 GFLOP/s on Zen 4).
        return pass == ConvPass.BackwardWeight && g.Cg == 1 && g.Og * g.K <= 256 && !ConvImplicit.Choose(in g, pass);
    }

    // ------------------------------------------------------------------ scratch

    [ThreadStatic] private static float[]? scratch;

    // Per-thread scratch that only grows: a kernel call allocates nothing once warm.
    internal static float[] Scratch(long length)
    {
        // A very large image's buffer is not kept for the thread's lifetime.
        if (length > 1 << 22) return GC.AllocateUninitializedArray<float>((int)length, pinned: true);
        var s = scratch;
        if (s is null || s.Length < length) scratch = s = GC.AllocateUninitializedArray<float>((int)Math.Max(length, 256), pinned: true);
        return s;
    }

    private static int RoundUp(int v, int m) => (v + m - 1) / m * m;

    // dst[p, r, c] = src[p, r − top, c − left] inside src, 0 elsewhere (top/left may be negative: crop).
    internal static void Pad(float* src, int planes, int h, int w, float* dst, int hp, int wp, int top, int left) =>
        Pad(src, planes, h, w, dst, hp, wp, top, left, (long)hp * wp, bordersClear: false);

    /// <summary>
    /// dst[p·planeStride + r·wp + c] = src[p, r − top, c − left] inside src, 0 elsewhere. With
    /// <paramref name="bordersClear"/> the zeros around the image are already there (the same
    /// geometry was padded into this buffer before) and only the image rows are copied: the
    /// convolutions pad every image of a batch into one buffer, and clearing it whole each time cost
    /// as much as the copy (13 % of a ResNet training step, profiled).
    /// </summary>
    internal static void Pad(float* src, int planes, int h, int w, float* dst, int hp, int wp, int top, int left, long planeStride, bool bordersClear)
    {
        int r0 = Math.Max(0, top), r1 = Math.Min(hp, h + top);
        int c0 = Math.Max(0, left), c1 = Math.Min(wp, w + left);
        bool empty = r0 >= r1 || c0 >= c1;
        for (int p = 0; p < planes; p++)
        {
            float* d = dst + p * planeStride;
            if (empty)
            {
                if (!bordersClear) new Span<float>(d, hp * wp).Clear();
                continue;
            }
            if (!bordersClear)
            {
                new Span<float>(d, r0 * wp).Clear();
                new Span<float>(d + (long)r1 * wp, (hp - r1) * wp).Clear();
            }
            float* s = src + ((long)p * h + r0 - top) * w + c0 - left;
            for (int r = r0; r < r1; r++, s += w)
            {
                float* row = d + (long)r * wp;
                if (!bordersClear)
                {
                    for (int c = 0; c < c0; c++) row[c] = 0f;
                    for (int c = c1; c < wp; c++) row[c] = 0f;
                }
                ConvKernels.CopyRun(s, row + c0, c1 - c0);
            }
        }
    }

    // ------------------------------------------------------------------ the correlation core

    /// <summary>
    /// o[co, r, v] (= or +=) bias[co] + Σ_{c,i,j} w[co, c, i, j] · inp[c, r·sh + i·dh, v + j·dw] for
    /// r &lt; oh, v &lt; ow; inp is [cin, hp, wp] with wp ≥ RoundUp(ow, 4·8) + (kw − 1)·dw.
    /// </summary>
    private static void Correlate(float* inp, int cin, int hp, int wp, float* w, int cout, int kh, int kw,
        int sh, int dh, int dw, float* bias, float* o, int oh, int ow, bool accumulate)
    {
        int taps = kh * kw, plane = hp * wp, outPlane = oh * ow;
        int co = 0;
        // Four channels × two vectors: eight independent accumulators, enough to cover the FMA
        // latency on two pipes (four accumulators left the kernel latency-bound at half speed).
        for (; co + 4 <= cout; co += 4)
        {
            float* w0 = w + (long)co * cin * taps, w1 = w0 + cin * taps, w2 = w1 + cin * taps, w3 = w2 + cin * taps;
            for (int r = 0; r < oh; r++)
                for (int v = 0; v < ow; v += 2 * L)
                {
                    Vector256<float> a0, a1, a2, a3;
                    if (bias != null) { a0 = Vector256.Create(bias[co]); a1 = Vector256.Create(bias[co + 1]); a2 = Vector256.Create(bias[co + 2]); a3 = Vector256.Create(bias[co + 3]); }
                    else a0 = a1 = a2 = a3 = Vector256<float>.Zero;
                    Vector256<float> b0 = a0, b1 = a1, b2 = a2, b3 = a3;
                    for (int c = 0; c < cin; c++)
                    {
                        float* row = inp + (long)c * plane + (long)r * sh * wp + v;
                        int wo = c * taps;
                        for (int i = 0; i < kh; i++, row += dh * wp)
                            for (int j = 0; j < kw; j++, wo++)
                            {
                                var xv = Vector256.Load(row + j * dw);
                                var xu = Vector256.Load(row + j * dw + L);
                                var k0 = Vector256.Create(w0[wo]);
                                a0 = Vector256.FusedMultiplyAdd(xv, k0, a0);
                                b0 = Vector256.FusedMultiplyAdd(xu, k0, b0);
                                var k1 = Vector256.Create(w1[wo]);
                                a1 = Vector256.FusedMultiplyAdd(xv, k1, a1);
                                b1 = Vector256.FusedMultiplyAdd(xu, k1, b1);
                                var k2 = Vector256.Create(w2[wo]);
                                a2 = Vector256.FusedMultiplyAdd(xv, k2, a2);
                                b2 = Vector256.FusedMultiplyAdd(xu, k2, b2);
                                var k3 = Vector256.Create(w3[wo]);
                                a3 = Vector256.FusedMultiplyAdd(xv, k3, a3);
                                b3 = Vector256.FusedMultiplyAdd(xu, k3, b3);
                            }
                    }
                    float* d = o + (long)co * outPlane + r * ow + v;
                    int n = Math.Min(L, ow - v), m = Math.Min(L, ow - v - L);
                    Store(a0, d, n, accumulate);
                    Store(a1, d + outPlane, n, accumulate);
                    Store(a2, d + 2 * outPlane, n, accumulate);
                    Store(a3, d + 3 * outPlane, n, accumulate);
                    if (m > 0)
                    {
                        Store(b0, d + L, m, accumulate);
                        Store(b1, d + outPlane + L, m, accumulate);
                        Store(b2, d + 2 * outPlane + L, m, accumulate);
                        Store(b3, d + 3 * outPlane + L, m, accumulate);
                    }
                }
        }
        // Two or three channels left (LeNet's 6 = 4 + 2): two channels × four vectors, eight accumulators.
        for (; co + 2 <= cout; co += 2)
        {
            float* w0 = w + (long)co * cin * taps, w1 = w0 + cin * taps;
            for (int r = 0; r < oh; r++)
                for (int v = 0; v < ow; v += 4 * L)
                {
                    var a0 = bias != null ? Vector256.Create(bias[co]) : Vector256<float>.Zero;
                    var b0 = bias != null ? Vector256.Create(bias[co + 1]) : Vector256<float>.Zero;
                    Vector256<float> a1 = a0, a2 = a0, a3 = a0, b1 = b0, b2 = b0, b3 = b0;
                    for (int c = 0; c < cin; c++)
                    {
                        float* row = inp + (long)c * plane + (long)r * sh * wp + v;
                        int wo = c * taps;
                        for (int i = 0; i < kh; i++, row += dh * wp)
                            for (int j = 0; j < kw; j++, wo++)
                            {
                                var k0 = Vector256.Create(w0[wo]);
                                var k1 = Vector256.Create(w1[wo]);
                                float* p = row + j * dw;
                                var x0 = Vector256.Load(p); var x1 = Vector256.Load(p + L);
                                var x2 = Vector256.Load(p + 2 * L); var x3 = Vector256.Load(p + 3 * L);
                                a0 = Vector256.FusedMultiplyAdd(x0, k0, a0); b0 = Vector256.FusedMultiplyAdd(x0, k1, b0);
                                a1 = Vector256.FusedMultiplyAdd(x1, k0, a1); b1 = Vector256.FusedMultiplyAdd(x1, k1, b1);
                                a2 = Vector256.FusedMultiplyAdd(x2, k0, a2); b2 = Vector256.FusedMultiplyAdd(x2, k1, b2);
                                a3 = Vector256.FusedMultiplyAdd(x3, k0, a3); b3 = Vector256.FusedMultiplyAdd(x3, k1, b3);
                            }
                    }
                    float* d = o + (long)co * outPlane + r * ow + v;
                    int left = ow - v;
                    Store(a0, d, Math.Min(L, left), accumulate);
                    Store(b0, d + outPlane, Math.Min(L, left), accumulate);
                    if (left > L) { Store(a1, d + L, Math.Min(L, left - L), accumulate); Store(b1, d + outPlane + L, Math.Min(L, left - L), accumulate); }
                    if (left > 2 * L) { Store(a2, d + 2 * L, Math.Min(L, left - 2 * L), accumulate); Store(b2, d + outPlane + 2 * L, Math.Min(L, left - 2 * L), accumulate); }
                    if (left > 3 * L) { Store(a3, d + 3 * L, Math.Min(L, left - 3 * L), accumulate); Store(b3, d + outPlane + 3 * L, Math.Min(L, left - 3 * L), accumulate); }
                }
        }
        // One channel left (every group when depthwise): four vectors along the row.
        for (; co < cout; co++)
        {
            float* w0 = w + (long)co * cin * taps;
            for (int r = 0; r < oh; r++)
                for (int v = 0; v < ow; v += 4 * L)
                {
                    var a0 = bias != null ? Vector256.Create(bias[co]) : Vector256<float>.Zero;
                    Vector256<float> a1 = a0, a2 = a0, a3 = a0;
                    for (int c = 0; c < cin; c++)
                    {
                        float* row = inp + (long)c * plane + (long)r * sh * wp + v;
                        int wo = c * taps;
                        for (int i = 0; i < kh; i++, row += dh * wp)
                            for (int j = 0; j < kw; j++, wo++)
                            {
                                var wv = Vector256.Create(w0[wo]);
                                float* p = row + j * dw;
                                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(p), wv, a0);
                                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(p + L), wv, a1);
                                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 2 * L), wv, a2);
                                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(p + 3 * L), wv, a3);
                            }
                    }
                    float* d = o + (long)co * outPlane + r * ow + v;
                    int left = ow - v;
                    Store(a0, d, Math.Min(L, left), accumulate);
                    if (left > L) Store(a1, d + L, Math.Min(L, left - L), accumulate);
                    if (left > 2 * L) Store(a2, d + 2 * L, Math.Min(L, left - 2 * L), accumulate);
                    if (left > 3 * L) Store(a3, d + 3 * L, Math.Min(L, left - 3 * L), accumulate);
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> a, float* d, int n, bool accumulate)
    {
        if (n == L)
        {
            if (accumulate) a += Vector256.Load(d);
            a.Store(d);
            return;
        }
        float* t = stackalloc float[L];
        a.Store(t);
        if (accumulate) for (int k = 0; k < n; k++) d[k] += t[k];
        else for (int k = 0; k < n; k++) d[k] = t[k];
    }

    // ------------------------------------------------------------------ forward

    // Padded input of one group for the forward pass and dW: rows reaching the last output row's
    // last tap, columns covering the 4-vector row blocks plus the kernel's reach.
    private static (int Hp, int Wp) ForwardPad(in ConvGeometry g) =>
        ((g.OH - 1) * g.SH + (g.KH - 1) * g.DH + 1, RoundUp(g.OW, 4 * L) + (g.KW - 1) * g.DW);

    /// <summary>y = conv(x, w) + bias, then the activation, image by image (overwrites y).</summary>
    public static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, Activation activation)
    {
        int chunks = ConvKernels.Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            var body = new ForwardBody { G = g, X = px, Wt = pw, Bias = bias.IsEmpty ? null : pb, Y = py, Act = activation, Chunks = chunks };
            if (chunks == 1) body.Invoke(0);
            else WorkerPool.ParallelFor(chunks, body);
        }
    }

    private struct ForwardBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* X, Wt, Bias, Y;
        public Activation Act;
        public int Chunks;

        public readonly void Invoke(int index)
        {
            var g = G;
            int start = (int)((long)g.N * index / Chunks), end = (int)((long)g.N * (index + 1) / Chunks);
            var (hp, wp) = ForwardPad(in g);
            int inImage = g.C * g.H * g.W, outImage = g.O * g.P, inGroup = g.Cg * g.H * g.W;
            fixed (float* buf = Scratch((long)g.Cg * hp * wp))
                for (int n = start; n < end; n++)
                {
                    float* yn = Y + (long)n * outImage;
                    for (int gi = 0; gi < g.Groups; gi++)
                    {
                        Pad(X + (long)n * inImage + (long)gi * inGroup, g.Cg, g.H, g.W, buf, hp, wp, g.PH, g.PW, (long)hp * wp, bordersClear: n > start || gi > 0);
                        Correlate(buf, g.Cg, hp, wp, Wt + (long)gi * g.Og * g.K, g.Og, g.KH, g.KW, g.SH, g.DH, g.DW,
                            Bias == null ? null : Bias + gi * g.Og, yn + (long)gi * g.Og * g.P, g.OH, g.OW, accumulate: false);
                    }
                    ConvKernels.Activate(new Span<float>(yn, outImage), Act);
                }
        }
    }

    // ------------------------------------------------------------------ backward data

    /// <summary>
    /// dx += convᵀ(dy, w) for stride 1: the correlation of dy, padded by the kernel extent − 1 −
    /// padding on each side, with w rotated by 180° and its channel axes swapped.
    /// </summary>
    public static void BackwardData(in ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx)
    {
        int chunks = ConvKernels.Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        // wT[group][c, o, i, j] = w[group][o, c, KH−1−i, KW−1−j], built once per call.
        int taps = g.KH * g.KW;
        var wt = GC.AllocateUninitializedArray<float>(g.O * g.K);
        for (int gi = 0; gi < g.Groups; gi++)
            for (int o = 0; o < g.Og; o++)
                for (int c = 0; c < g.Cg; c++)
                {
                    var src = w.Slice(((gi * g.Og + o) * g.Cg + c) * taps, taps);
                    var dst = wt.AsSpan(((gi * g.Cg + c) * g.Og + o) * taps, taps);
                    for (int t = 0; t < taps; t++) dst[t] = src[taps - 1 - t];
                }
        fixed (float* pdy = dy, pw = wt, pdx = dx)
        {
            var body = new DataBody { G = g, Dy = pdy, WT = pw, Dx = pdx, Chunks = chunks };
            if (chunks == 1) body.Invoke(0);
            else WorkerPool.ParallelFor(chunks, body);
        }
    }

    private struct DataBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* Dy, WT, Dx;
        public int Chunks;

        public readonly void Invoke(int index)
        {
            var g = G;
            int start = (int)((long)g.N * index / Chunks), end = (int)((long)g.N * (index + 1) / Chunks);
            int hp = g.H + (g.KH - 1) * g.DH, wp = RoundUp(g.W, 4 * L) + (g.KW - 1) * g.DW;
            int top = (g.KH - 1) * g.DH - g.PH, left = (g.KW - 1) * g.DW - g.PW;
            int inImage = g.C * g.H * g.W, outImage = g.O * g.P, inGroup = g.Cg * g.H * g.W;
            fixed (float* buf = Scratch((long)g.Og * hp * wp))
                for (int n = start; n < end; n++)
                    for (int gi = 0; gi < g.Groups; gi++)
                    {
                        Pad(Dy + (long)n * outImage + (long)gi * g.Og * g.P, g.Og, g.OH, g.OW, buf, hp, wp, top, left, (long)hp * wp, bordersClear: n > start || gi > 0);
                        Correlate(buf, g.Og, hp, wp, WT + (long)gi * g.Og * g.K, g.Cg, g.KH, g.KW, 1, g.DH, g.DW,
                            null, Dx + (long)n * inImage + (long)gi * inGroup, g.H, g.W, accumulate: true);
                    }
        }
    }

    // ------------------------------------------------------------------ backward weights

    /// <summary>
    /// dw[O, Cg, KH, KW] += Σₙ Σ_{r,v} dy[n, o, r, v] · x[n, c, r·SH + i·DH − PH, v + j·DW − PW];
    /// each chunk of the batch sums into its own buffer, added at the end (scheduling-independent).
    /// </summary>
    public static void BackwardWeight(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        int chunks = ConvKernels.Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        int wLen = g.O * g.K;
        var partial = chunks == 1 ? null : new float[(chunks - 1) * wLen];
        fixed (float* px = x, pdy = dy, pdw = dw, pp = partial)
        {
            var body = new WeightBody { G = g, X = px, Dy = pdy, Dw = pdw, Partial = pp, Chunks = chunks };
            if (chunks == 1) body.Invoke(0);
            else WorkerPool.ParallelFor(chunks, body);
        }
        for (int i = 1; i < chunks; i++)
            System.Numerics.Tensors.TensorPrimitives.Add(dw[..wLen], partial.AsSpan((i - 1) * wLen, wLen), dw[..wLen]);
    }

    private struct WeightBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* X, Dy, Dw, Partial;
        public int Chunks;

        public readonly void Invoke(int index)
        {
            var g = G;
            int start = (int)((long)g.N * index / Chunks), end = (int)((long)g.N * (index + 1) / Chunks);
            var (hp, wp) = ForwardPad(in g);
            int owp = RoundUp(g.OW, L);
            int inImage = g.C * g.H * g.W, outImage = g.O * g.P, inGroup = g.Cg * g.H * g.W;
            float* dw = index == 0 ? Dw : Partial + (long)(index - 1) * g.O * g.K;
            long xLen = (long)g.Cg * hp * wp;
            fixed (float* buf = Scratch(xLen + (long)g.Og * g.OH * owp))
            {
                float* dyp = buf + xLen;
                for (int n = start; n < end; n++)
                    for (int gi = 0; gi < g.Groups; gi++)
                    {
                        bool clean = n > start || gi > 0; // the zeros stay from the first image padded here
                        Pad(X + (long)n * inImage + (long)gi * inGroup, g.Cg, g.H, g.W, buf, hp, wp, g.PH, g.PW, (long)hp * wp, clean);
                        // dy rows widened to whole vectors with zeros, so the tail lanes add nothing.
                        Pad(Dy + (long)n * outImage + (long)gi * g.Og * g.P, g.Og, g.OH, g.OW, dyp, g.OH, owp, 0, 0, (long)g.OH * owp, clean);
                        WeightCore(buf, g.Cg, hp, wp, dyp, g.Og, g.OH, owp, g.KH, g.KW, g.SH, g.DH, g.DW, dw + (long)gi * g.Og * g.K);
                    }
            }
        }
    }

    // dw[o, c, i, j] += Σ_{r, v} dy[o, r, v] · inp[c, r·sh + i·dh, v + j·dw] (dy rows owp wide, zero tails).
    private static void WeightCore(float* inp, int cin, int hp, int wp, float* dy, int cout, int oh, int owp,
        int kh, int kw, int sh, int dh, int dwid, float* dw)
    {
        int taps = kh * kw, plane = hp * wp, dyPlane = oh * owp;
        int co = 0;
        for (; co + 4 <= cout; co += 4)
        {
            float* d0 = dy + (long)co * dyPlane;
            for (int c = 0; c < cin; c++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                    {
                        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                        for (int r = 0; r < oh; r++)
                        {
                            float* xr = inp + (long)c * plane + (long)(r * sh + i * dh) * wp + j * dwid;
                            float* dr = d0 + r * owp;
                            for (int v = 0; v < owp; v += L)
                            {
                                var xv = Vector256.Load(xr + v);
                                a0 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(dr + v), a0);
                                a1 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(dr + dyPlane + v), a1);
                                a2 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(dr + 2 * dyPlane + v), a2);
                                a3 = Vector256.FusedMultiplyAdd(xv, Vector256.Load(dr + 3 * dyPlane + v), a3);
                            }
                        }
                        long at = ((long)co * cin + c) * taps + i * kw + j, step = (long)cin * taps;
                        dw[at] += Vector256.Sum(a0);
                        dw[at + step] += Vector256.Sum(a1);
                        dw[at + 2 * step] += Vector256.Sum(a2);
                        dw[at + 3 * step] += Vector256.Sum(a3);
                    }
        }
        for (; co < cout; co++)
        {
            float* d0 = dy + (long)co * dyPlane;
            for (int c = 0; c < cin; c++)
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++)
                    {
                        Vector256<float> a0 = default, a1 = default;
                        for (int r = 0; r < oh; r++)
                        {
                            float* xr = inp + (long)c * plane + (long)(r * sh + i * dh) * wp + j * dwid;
                            float* dr = d0 + r * owp;
                            int v = 0;
                            for (; v + 2 * L <= owp; v += 2 * L)
                            {
                                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(xr + v), Vector256.Load(dr + v), a0);
                                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(xr + v + L), Vector256.Load(dr + v + L), a1);
                            }
                            if (v < owp) a0 = Vector256.FusedMultiplyAdd(Vector256.Load(xr + v), Vector256.Load(dr + v), a0);
                        }
                        dw[((long)co * cin + c) * taps + i * kw + j] += Vector256.Sum(a0 + a1);
                    }
        }
    }
}
