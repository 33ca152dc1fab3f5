using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// Implicit-GEMM convolution: the GEMM's B operand is read straight from a zero-padded copy of the
/// image (split into phase planes for strides, see <see cref="Phases"/>) instead of an unfolded
/// (im2col) matrix.
/// </summary>
/// <remarks>
/// <para>
/// With the image padded to [C, Hp, Wp] (Wp = OW + (KW − 1)·DW), output position (r, v) is taken
/// on the padded grid as p = r·Wp + v; the input tap (c, i, j) it reads is then
/// <c>pad[c·Hp·Wp + p + i·DH·Wp + j·DW]</c>: for every tap the row of B is the padded image shifted
/// by a constant. So a register tile of MR output channels × NR consecutive grid positions is a
/// GEMM micro-kernel whose B row for (tap, c) is an unaligned vector load at a fixed offset: no
/// unfolding, no packing of B, and the image (tens of KiB) stays in L1/L2. The Wp − OW columns of
/// each grid row past OW are computed and dropped: 2 of 30 for a 3×3 layer on 28×28, 2 of 9 on 7×7.
/// </para>
/// <para>
/// The weights are packed once per call into MR-row panels ordered (tap, channel), as the packed
/// GEMM packs A. The input gradient is the same correlation of the padded output gradient with the
/// weights rotated by 180° and their channel axes swapped (the notes' full convolution), so one
/// kernel serves the forward pass, the input gradient and the transposed convolution. The tile is
/// 8×32 with 512-bit vectors where the GEMM runs its AVX-512 path and 6×16 with 256-bit vectors on
/// its AVX2 path (the same tiles as its micro-kernels). Tiles are stored whole into a grid-shaped
/// buffer, and one vectorised pass moves the valid columns into the output with the bias.
/// </para>
/// <para>
/// The weight gradient dw[o, c, t] = Σₙ Σ_p dy[n, o, p] · pad[n, c, p + offset(t)] is a set of
/// dot products along the grid: a tile of 4 output channels × 4 consecutive (channel, tap) rows of
/// dw (2 × 4 with 256-bit vectors; the x rows are planes shifted by a tap, so one input channel
/// fills a tile too) keeps its vector accumulators over a few images' grids (the output gradient laid on the same
/// grid with zeros in the dropped columns), then sums each across its lanes once.
/// </para>
/// </remarks>
internal static unsafe class ConvImplicit
{
    private static GemmPath Path => Gemm.Resolve(Gemm.ForcedPath);

    /// <summary>
    /// Whether the implicit kernel can run <paramref name="pass"/> of <paramref name="g"/> here: any
    /// stride forward and for the weight gradient (a strided image is split into phase planes, see
    /// <see cref="Phases"/>), unit stride for the input gradient.
    /// </summary>
    public static bool Supports(in ConvGeometry g, ConvPass pass) =>
        (pass != ConvPass.BackwardData || (g.SH == 1 && g.SW == 1)) && Path is GemmPath.Avx512 or GemmPath.Avx2;

    /// <summary>
    /// Whether <paramref name="pass"/> of <paramref name="g"/> runs here: when forced
    /// (<see cref="ConvPath.Implicit"/>), or by default when the channels fill a tile and the grid's
    /// dropped columns do not outweigh what the unfolding costs. Forward and input gradient: a depth
    /// K ≥ 16 to amortise the tile's write-out, and at least half of the kernel's multiply-adds
    /// needed, counting empty tile rows, dropped grid columns and, for the input gradient, the
    /// padding a full correlation multiplies (LeNet's second layer keeps 100 of 160 forward and
    /// runs 1.9× faster than im2col + GEMM on Zen 4; its input gradient would keep 29 % and runs
    /// 15 % slower, so it stays on the GEMM). Weight gradient: at least a tile of output channels, two thirds
    /// of the grid kept (its lane sums cost more per dropped column) and a grid of at least 128
    /// floats per image (at most 8 images per pass). A 1×1 convolution stays a plain GEMM on the image.
    /// </summary>
    public static bool Choose(in ConvGeometry g, ConvPass pass)
    {
        if (!Supports(in g, pass)) return false;
        var mode = ConvDirect.Override;
        if (mode != ConvPath.Auto) return mode == ConvPath.Implicit;
        if (g.IsPointwise) return false; // a plain GEMM on the image already
        if (pass == ConvPass.BackwardWeight)
        {
            // Tiles of 4 output × 4 input channels (2 × 4 with 256-bit vectors), vectors along the grid.
            var (to, tc) = WeightTileShape;
            int wpw = g.OW + (g.KW - 1) * g.DW / g.SW, v = WeightVector;
            long gridW = (long)g.OH * wpw;
            long rounded = (gridW + v - 1) / v * v;
            double usefulW = (double)g.P / rounded;
            // A grid under 128 floats needs more than 8 images per pass to amortise the lane sums,
            // and their data no longer stays in L1 (64-channel 7×7 on Zen 4: 52–60 GFLOP/s here,
            // 62 on im2col + GEMM).
            return usefulW >= 2.0 / 3 && rounded >= 128 && g.Og >= to && g.K >= tc;
        }
        var (mr, nr) = Tile;
        bool data = pass == ConvPass.BackwardData;
        int rows = data ? g.Cg : g.Og, depth = (data ? g.Og : g.Cg) * g.KH * g.KW;
        int oh = data ? g.H : g.OH, ow = data ? g.W : g.OW;
        int wp = ow + (g.KW - 1) * g.DW / g.SW;
        long grid = (long)oh * wp, tiles = (grid + nr - 1) / nr;
        // The share of the kernel's multiply-adds that the convolution needs: the grid's kept
        // columns (for the input gradient, the forward pass's positions: a full correlation over an
        // unpadded layer's gradient multiplies mostly padding) times the tile rows filled.
        double filled = (double)rows / (((rows + mr - 1) / mr) * mr);
        double needed = (double)g.P / (tiles * nr) * filled;
        return needed >= 0.5 && depth >= 16;
    }

    private static (int MR, int NR) Tile => Path == GemmPath.Avx512 ? (8, 32) : (6, 16);

    // ------------------------------------------------------------------ entry points

    /// <summary>y = conv(x, w) + bias, then the activation (overwrites y); any stride (phase planes).</summary>
    /// <remarks>
    /// <paramref name="cache"/>, when given, keeps the packed weights between calls: its owner
    /// promises that <paramref name="w"/> holds the same values every time it passes the same cache
    /// (inference with frozen weights); packing was a fifth of a batch-1 ResNet forward.
    /// <paramref name="residual"/>, when not empty, has y's shape and is added with the bias before
    /// the activation (a ResNet block's shortcut, in the same pass).
    /// </remarks>
    public static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, Activation activation,
        PackedWeightCache? cache = null, ReadOnlySpan<float> residual = default)
    {
        var (mr, nr) = Tile;
        var packed = cache is null ? PackWeights(in g, w, rotate: false, mr) : cache.Get(in g, w, mr);
        var job = new Job
        {
            MR = mr, NR = nr,
            N = g.N, Groups = g.Groups, Cin = g.Cg, Cout = g.Og, H = g.H, W = g.W, OH = g.OH, OW = g.OW,
            KH = g.KH, KW = g.KW, SH = g.SH, SW = g.SW, DH = g.DH, DW = g.DW, Top = g.PH, Left = g.PW, Accumulate = false, Act = activation,
        };
        fixed (float* px = x, pb = bias, py = y, pp = packed, pr = residual)
        {
            job.In = px; job.Bias = bias.IsEmpty ? null : pb; job.Out = py; job.Packed = pp; job.Residual = residual.IsEmpty ? null : pr;
            Run(ref job, g.Macs);
        }
    }

    /// <summary>dx += convᵀ(dy, w) (dx = … with <paramref name="overwrite"/>) for unit stride (also the forward pass of a transposed convolution).</summary>
    public static void BackwardData(in ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, bool overwrite = false)
    {
        var (mr, nr) = Tile;
        var packed = PackWeights(in g, w, rotate: true, mr);
        var job = new Job
        {
            MR = mr, NR = nr,
            N = g.N, Groups = g.Groups, Cin = g.Og, Cout = g.Cg, H = g.OH, W = g.OW, OH = g.H, OW = g.W,
            KH = g.KH, KW = g.KW, SH = 1, SW = 1, DH = g.DH, DW = g.DW,
            Top = (g.KH - 1) * g.DH - g.PH, Left = (g.KW - 1) * g.DW - g.PW, Accumulate = !overwrite, Act = Activation.None,
        };
        fixed (float* pdy = dy, pdx = dx, pp = packed)
        {
            job.In = pdy; job.Bias = null; job.Out = pdx; job.Packed = pp;
            Run(ref job, g.Macs);
        }
    }

    // Every group's weights packed for the correlation: output channels (input channels when
    // rotated for the input gradient) in panels of MR rows.
    private static float[] PackWeights(in ConvGeometry g, ReadOnlySpan<float> w, bool rotate, int mr)
    {
        var packed = PackBuffer(PackedLength(in g, rotate, mr));
        PackWeights(in g, w, rotate, mr, packed);
        return packed;
    }

    private static int PackedPerGroup(in ConvGeometry g, bool rotate, int mr) =>
        ((rotate ? g.Cg : g.Og) + mr - 1) / mr * g.KH * g.KW * (rotate ? g.Og : g.Cg) * mr;

    private static int PackedLength(in ConvGeometry g, bool rotate, int mr) => g.Groups * PackedPerGroup(in g, rotate, mr);

    private static void PackWeights(in ConvGeometry g, ReadOnlySpan<float> w, bool rotate, int mr, float[] packed)
    {
        int perGroup = PackedPerGroup(in g, rotate, mr);
        fixed (float* pw = w, pp = packed)
            for (int gi = 0; gi < g.Groups; gi++)
                Pack(pw + (long)gi * g.Og * g.K, g.Og, g.Cg, g.KH * g.KW, rotate, pp + (long)gi * perGroup, mr);
    }

    /// <summary>
    /// The forward pass's packed weights of one convolution, kept for as long as its weights do not
    /// change (see <see cref="Forward"/>). Safe to share between threads: a refill publishes a new array.
    /// </summary>
    internal sealed class PackedWeightCache
    {
        private sealed record Entry(float[] Packed, int MR, int Groups, int O, int Cg, int Taps);
        private volatile Entry? entry;

        /// <summary>The weights packed for <paramref name="g"/>'s shape and an MR-row tile, packed on first use.</summary>
        public float[] Get(in ConvGeometry g, ReadOnlySpan<float> w, int mr)
        {
            var e = entry;
            if (e is not null && e.MR == mr && e.Groups == g.Groups && e.O == g.Og && e.Cg == g.Cg && e.Taps == g.KH * g.KW) return e.Packed;
            var packed = GC.AllocateUninitializedArray<float>(PackedLength(in g, rotate: false, mr), pinned: true);
            PackWeights(in g, w, rotate: false, mr, packed);
            entry = new Entry(packed, mr, g.Groups, g.Og, g.Cg, g.KH * g.KW);
            return packed;
        }
    }

    [ThreadStatic] private static float[]? packBuffer;

    // The calling thread's buffer for packed weights, kept between calls (it only grows) so that a
    // warm call allocates nothing; separate from the padded-image scratch, which the calling thread
    // also uses while the packed weights are being read.
    private static float[] PackBuffer(int length)
    {
        if (length > 1 << 22) return GC.AllocateUninitializedArray<float>(length, pinned: true);
        var b = packBuffer;
        if (b is null || b.Length < length) packBuffer = b = GC.AllocateUninitializedArray<float>(Math.Max(length, 256), pinned: true);
        return b;
    }

    /// <summary>
    /// Packs w [O, C, taps] (or, rotated, the filter of the input gradient: [C, O, taps] with the
    /// taps reversed) into panels of MR output rows: panel[(c·taps + t)·MR + r] = w'[ob + r, c, t],
    /// zero for rows past the last channel.
    /// </summary>
    private static void Pack(float* w, int o, int c, int taps, bool rotate, float* dst, int mr)
    {
        int rows = rotate ? c : o, depth = rotate ? o : c;
        long k = (long)depth * taps;
        // Row by row: each source row is read in order and scattered MR apart (branch-free; the
        // element-wise version was a fifth of a batch-1 ResNet forward).
        for (int rb = 0; rb < rows; rb += mr, dst += k * mr)
        {
            int live = Math.Min(mr, rows - rb);
            if (live < mr) new Span<float>(dst, checked((int)(k * mr))).Clear();
            for (int r = 0; r < live; r++)
            {
                int row = rb + r;
                if (!rotate)
                {
                    float* s = w + row * k;
                    for (long i = 0; i < k; i++) dst[i * mr + r] = s[i];
                }
                else
                    for (int d = 0; d < depth; d++)
                    {
                        float* s = w + ((long)d * c + row) * taps + taps - 1;
                        float* p = dst + (long)d * taps * mr + r;
                        for (int t = 0; t < taps; t++) p[(long)t * mr] = s[-t];
                    }
            }
        }
    }

    // ------------------------------------------------------------------ phase planes

    /// <summary>
    /// The padded image as the kernels read it. With unit stride it is one zero-padded plane per
    /// channel, [Hq, Wq] = [OH + (KH − 1)·DH, OW + (KW − 1)·DW]. With stride (SH, SW) the padded image
    /// is split into SH·SW phase planes (rows ≡ a mod SH, columns ≡ b mod SW, a space-to-depth
    /// split): output (r, v) reads padded pixel (r·SH + i·DH, v·SW + j·DW), which is phase
    /// ((i·DH) mod SH, (j·DW) mod SW) at (r + ⌊i·DH/SH⌋, v + ⌊j·DW/SW⌋). So every tap is again a
    /// constant shift of one plane on the grid p = r·Wq + v, and a strided convolution runs the
    /// unit-stride kernels. Layout: [phase][channel][Hq, Wq], planes <c>planeStride</c> apart.
    /// </summary>
    private readonly struct Phases(int oh, int ow, int kh, int kw, int sh, int sw, int dh, int dw)
    {
        /// <summary>Rows of a plane.</summary>
        public int Hq => oh + (kh - 1) * dh / sh;
        /// <summary>Columns of a plane (the grid's row length).</summary>
        public int Wq => ow + MaxColumnShift;
        /// <summary>The largest column shift of a tap.</summary>
        public int MaxColumnShift => (kw - 1) * dw / sw;
        /// <summary>Phase planes per channel.</summary>
        public int Count => sh * sw;

        /// <summary>Where tap (i, j) of channel c starts, in floats from the first plane.</summary>
        public long Offset(int i, int j, int c, int channels, long planeStride)
        {
            int phase = (i * dh % sh) * sw + j * dw % sw;
            return ((long)phase * channels + c) * planeStride + (long)(i * dh / sh) * Wq + j * dw / sw;
        }

        /// <summary>
        /// Fills the planes of <paramref name="channels"/> channels of src [channels, h, w] padded by
        /// <paramref name="top"/>/<paramref name="left"/> zeros; with <paramref name="bordersClear"/>
        /// the zeros are already there (the same geometry was filled into this buffer before).
        /// </summary>
        public void Fill(float* src, int channels, int h, int w, float* dst, long planeStride, int top, int left, bool bordersClear)
        {
            if (sh == 1 && sw == 1)
            {
                ConvDirect.Pad(src, channels, h, w, dst, Hq, Wq, top, left, planeStride, bordersClear);
                return;
            }
            int hq = Hq, wq = Wq;
            for (int a = 0; a < sh; a++)
                for (int b = 0; b < sw; b++)
                {
                    // Plane rows r and columns v whose padded pixel (r·sh + a, v·sw + b) lies in the image.
                    int r0 = Math.Max(0, CeilDiv(top - a, sh)), r1 = Math.Min(hq, CeilDiv(h + top - a, sh));
                    int v0 = Math.Max(0, CeilDiv(left - b, sw)), v1 = Math.Min(wq, CeilDiv(w + left - b, sw));
                    bool empty = r0 >= r1 || v0 >= v1;
                    for (int c = 0; c < channels; c++)
                    {
                        float* d = dst + ((long)(a * sw + b) * channels + c) * planeStride;
                        if (!bordersClear)
                        {
                            if (empty) { new Span<float>(d, hq * wq).Clear(); continue; }
                            new Span<float>(d, r0 * wq).Clear();
                            new Span<float>(d + (long)r1 * wq, (hq - r1) * wq).Clear();
                        }
                        if (empty) continue;
                        for (int r = r0; r < r1; r++)
                        {
                            float* row = d + (long)r * wq;
                            float* s = src + ((long)c * h + r * sh + a - top) * w + b - left;
                            if (!bordersClear)
                            {
                                for (int q = 0; q < v0; q++) row[q] = 0f;
                                for (int q = v1; q < wq; q++) row[q] = 0f;
                            }
                            int v = v0;
                            if (sw == 2 && Avx2.IsSupported)
                            {
                                // Every other float of the row, eight at a time (a 16-float read that must
                                // stay inside the source row: its last float is at s + 2v + 15).
                                long room = w - 1 - (b - left); // the last index of s inside the row
                                for (; v + 8 <= v1 && 2L * v + 15 <= room; v += 8) Evens(s + 2L * v).Store(row + v);
                            }
                            for (; v < v1; v++) row[v] = s[(long)v * sw];
                        }
                    }
                }
        }

        private static int CeilDiv(int x, int y) => x >= 0 ? (x + y - 1) / y : -(-x / y);

        // The even-indexed floats of p[0, 16).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Evens(float* p)
        {
            var even = Avx.Shuffle(Avx.LoadVector256(p), Avx.LoadVector256(p + 8), 0b10_00_10_00);
            return Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle();
        }
    }

    // ------------------------------------------------------------------ the job

    /// <summary>One correlation over a batch: Out[n, g, co, OH, OW] (=|+=) bias + Σ packed · pad(In[n, g]).</summary>
    private struct Job
    {
        public int MR, NR; // the register tile the weights were packed for
        public int N, Groups, Cin, Cout, H, W, OH, OW, KH, KW, SH, SW, DH, DW, Top, Left;
        public bool Accumulate;
        public Activation Act;
        public float* In, Out, Bias, Packed, Residual; // Residual: null, or added with the bias (forward only)
        public int Parts; // grid slices per image (several only when there are fewer images than threads)
    }

    private static void Run(ref Job job, long macs)
    {
        int threads = WorkerPool.Threads;
        int chunks = ConvKernels.Chunks(job.N, macs / Math.Max(job.N, 1));
        // Fewer images than threads (batch-1 inference): split each image's grid instead.
        job.Parts = threads > 1 && job.N < threads && macs >= 65536 ? threads : 1;
        int units = job.Parts > 1 ? job.N * job.Parts : chunks;
        var body = new Body { J = job, Units = units };
        if (units == 1) body.Invoke(0);
        else WorkerPool.ParallelFor(units, body);
    }

    private struct Body : IParallelForBody
    {
        public Job J;
        public int Units;

        public readonly void Invoke(int index)
        {
            var j = J;
            int n0, n1, part = 0;
            if (j.Parts > 1) { n0 = index / j.Parts; n1 = n0 + 1; part = index % j.Parts; }
            else { n0 = (int)((long)j.N * index / Units); n1 = (int)((long)j.N * (index + 1) / Units); }
            int mr = j.MR, nr = j.NR;
            var ph = new Phases(j.OH, j.OW, j.KH, j.KW, j.SH, j.SW, j.DH, j.DW);
            int hp = ph.Hq, wp = ph.Wq;
            int plane = hp * wp;
            int grid = j.OH * wp;
            int tiles = (grid + nr - 1) / nr;
            int t0 = (int)((long)tiles * part / j.Parts), t1 = (int)((long)tiles * (part + 1) / j.Parts);
            // Tiles read up to the widest column shift + NR floats past the last plane (into dropped columns only).
            long planes = (long)ph.Count * j.Cin * plane;
            long padLength = planes + ph.MaxColumnShift + nr;
            int taps = j.KH * j.KW, depth = taps * j.Cin;
            // Where each of the K rows of B starts: channel plane plus tap shift, in the packed order
            // (channel-major, so consecutive rows read the same plane shifted: the lines stay in L1).
            // One flat loop over K, not a short channel loop per tap whose exits mispredict.
            // (A pinned array where the table is too large for the stack, kept alive to the end.)
            int[]? big = depth > 4096 ? GC.AllocateUninitializedArray<int>(depth, pinned: true) : null;
            int* small = stackalloc int[big is null ? depth : 1];
            int* offsets = big is null ? small : (int*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref big[0]);
            if (j.SH == 1 && j.SW == 1)
            {
                // Unit stride: no phases, so no divisions (they were most of a batch-1 call's set-up).
                int* o = offsets;
                for (int c = 0; c < j.Cin; c++)
                    for (int i = 0; i < j.KH; i++)
                        for (int k = 0, row = c * plane + i * j.DH * wp; k < j.KW; k++) *o++ = row + k * j.DW;
            }
            else
                for (int c = 0; c < j.Cin; c++)
                    for (int i = 0; i < j.KH; i++)
                        for (int k = 0; k < j.KW; k++) offsets[(c * j.KH + i) * j.KW + k] = (int)ph.Offset(i, k, c, j.Cin, plane);
            int blocks = (j.Cout + mr - 1) / mr;
            long panel = (long)taps * j.Cin * mr;
            long inImage = (long)j.Groups * j.Cin * j.H * j.W, outImage = (long)j.Groups * j.Cout * j.OH * j.OW;
            // The kernel stores whole tiles into a grid-shaped buffer ([blocks·MR, tiles·NR]); one
            // vectorised pass then moves the valid columns into the output, adding the bias.
            int ldc = tiles * nr;
            fixed (float* buf = ConvDirect.Scratch(padLength + (long)blocks * mr * ldc))
            {
                float* ybuf = buf + padLength;
                new Span<float>(buf + planes, (int)(padLength - planes)).Clear();
                int g0 = t0 * nr, g1 = Math.Min(t1 * nr, grid);
                for (int n = n0; n < n1; n++)
                {
                    for (int gi = 0; gi < j.Groups; gi++)
                    {
                        // The zeros around the image stay from the first image padded here.
                        ph.Fill(j.In + n * inImage + (long)gi * j.Cin * j.H * j.W, j.Cin, j.H, j.W, buf, plane, j.Top, j.Left,
                            bordersClear: n > n0 || gi > 0);
                        float* packed = j.Packed + (long)gi * blocks * panel;
                        for (int t = t0; t < t1; t++)
                        {
                            int p0 = t * nr;
                            for (int b = 0; b < blocks; b++)
                            {
                                if (mr == 8) Kernel8x32(packed + b * panel, buf + p0, offsets, depth, ybuf + (long)b * mr * ldc + p0, ldc);
                                else Kernel6x16(packed + b * panel, buf + p0, offsets, depth, ybuf + (long)b * mr * ldc + p0, ldc);
                            }
                        }
                        long at = n * outImage + (long)gi * j.Cout * j.OH * j.OW;
                        Compact(ybuf, ldc, g0, g1, wp, j.OH, j.OW, j.Cout, j.Out + at,
                            j.Bias == null ? null : j.Bias + gi * j.Cout, j.Accumulate, j.Residual == null ? null : j.Residual + at);
                    }
                    if (j.Act != Activation.None && j.Parts == 1)
                        ConvKernels.Activate(new Span<float>(j.Out + n * outImage, (int)outImage), j.Act);
                }
            }
            // With the grid split, each part activates the positions it wrote (whole rows of its tiles).
            if (j.Act != Activation.None && j.Parts > 1) ActivateParts(j, n0, t0 * nr, Math.Min(t1 * nr, grid), wp);
            GC.KeepAlive(big);
        }
    }

    // output[o, r, v] (= s + bias[o] (+ residual[o, r, v]) | += s) for the grid positions p = r·wp + v
    // in [g0, g1) with v < ow, s = ybuf[o·ldc + p].
    private static void Compact(float* ybuf, int ldc, int g0, int g1, int wp, int oh, int ow, int cout, float* output, float* bias, bool accumulate,
        float* residual)
    {
        long plane = (long)oh * ow;
        for (int o = 0; o < cout; o++)
        {
            float* src = ybuf + (long)o * ldc;
            float* dst = output + o * plane;
            float b = bias == null ? 0f : bias[o];
            for (int p = g0; p < g1;)
            {
                int r = p / wp, v = p - r * wp, run = Math.Min(wp - v, g1 - p);
                if (v < ow)
                {
                    int len = Math.Min(run, ow - v);
                    if (accumulate) AddRun(src + p, dst + r * ow + v, len);
                    else if (residual != null) CopyRun(src + p, residual + o * plane + r * ow + v, dst + r * ow + v, len, b);
                    else CopyRun(src + p, dst + r * ow + v, len, b);
                }
                p += run;
            }
        }
    }

    // d[0, n) = s[0, n) + b.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* s, float* d, int n, float b)
    {
        int i = 0;
        var vb = Vector256.Create(b);
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(s + i) + vb, d + i);
        for (; i < n; i++) d[i] = s[i] + b;
    }

    // d[0, n) = s[0, n) + b + t[0, n).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(float* s, float* t, float* d, int n, float b)
    {
        int i = 0;
        var vb = Vector256.Create(b);
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(s + i) + vb + Vector256.Load(t + i), d + i);
        for (; i < n; i++) d[i] = s[i] + b + t[i];
    }

    // d[0, n) += s[0, n).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRun(float* s, float* d, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(d + i) + Vector256.Load(s + i), d + i);
        for (; i < n; i++) d[i] += s[i];
    }

    private static void ActivateParts(in Job j, int n, int g0, int g1, int wp)
    {
        long outImage = (long)j.Groups * j.Cout * j.OH * j.OW, plane = (long)j.OH * j.OW;
        for (int c = 0; c < j.Groups * j.Cout; c++)
        {
            float* o = j.Out + n * outImage + c * plane;
            for (int p = g0; p < g1;)
            {
                int r = p / wp, v = p % wp, run = Math.Min(wp - v, g1 - p);
                if (v < j.OW) ConvKernels.Activate(new Span<float>(o + r * j.OW + v, Math.Min(run, j.OW - v)), j.Act);
                p += run;
            }
        }
    }

    // ------------------------------------------------------------------ micro-kernels

    // y[i·ldc + 0..32) = Σ_k a[k·8 + i] · b[offsets[k] + 0..32), i < 8.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel8x32(float* a, float* b, int* offsets, int depth, float* y, nint ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < depth; k++)
        {
            float* bt = b + offsets[k];
            Vector512<float> b0 = Vector512.Load(bt);
            Vector512<float> b1 = Vector512.Load(bt + 16);
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
        }
        Vector512.Store(c00, y); Vector512.Store(c01, y + 16); y += ldc;
        Vector512.Store(c10, y); Vector512.Store(c11, y + 16); y += ldc;
        Vector512.Store(c20, y); Vector512.Store(c21, y + 16); y += ldc;
        Vector512.Store(c30, y); Vector512.Store(c31, y + 16); y += ldc;
        Vector512.Store(c40, y); Vector512.Store(c41, y + 16); y += ldc;
        Vector512.Store(c50, y); Vector512.Store(c51, y + 16); y += ldc;
        Vector512.Store(c60, y); Vector512.Store(c61, y + 16); y += ldc;
        Vector512.Store(c70, y); Vector512.Store(c71, y + 16);
    }

    // y[i·ldc + 0..16) = Σ_k a[k·6 + i] · b[offsets[k] + 0..16), i < 6.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16(float* a, float* b, int* offsets, int depth, float* y, nint ldc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < depth; k++)
        {
            float* bt = b + offsets[k];
            Vector256<float> b0 = Vector256.Load(bt);
            Vector256<float> b1 = Vector256.Load(bt + 8);
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
        }
        Vector256.Store(c00, y); Vector256.Store(c01, y + 8); y += ldc;
        Vector256.Store(c10, y); Vector256.Store(c11, y + 8); y += ldc;
        Vector256.Store(c20, y); Vector256.Store(c21, y + 8); y += ldc;
        Vector256.Store(c30, y); Vector256.Store(c31, y + 8); y += ldc;
        Vector256.Store(c40, y); Vector256.Store(c41, y + 8); y += ldc;
        Vector256.Store(c50, y); Vector256.Store(c51, y + 8);
    }

    // ------------------------------------------------------------------ weight gradient

    private static int WeightVector => Path == GemmPath.Avx512 ? 16 : 8;

    private static (int O, int C) WeightTileShape => Path == GemmPath.Avx512 ? (4, 4) : (2, 4);

    /// <summary>
    /// dw[O, Cg, KH, KW] += Σₙ Σ_{r,v} dy[n, o, r, v] · x[n, c, r + i·DH − PH, v + j·DW − PW] for unit
    /// stride; each chunk of the batch sums into its own buffer, added at the end (the result does
    /// not depend on scheduling).
    /// </summary>
    public static void BackwardWeight(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        int chunks = ConvKernels.Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        int wLen = g.O * g.K;
        var partial = new float[chunks][];
        for (int i = 1; i < chunks; i++) partial[i] = TensorArena.Allocate(wLen, clear: true);
        fixed (float* px = x, pdy = dy, pdw = dw)
        {
            var body = new WeightBody { G = g, X = px, Dy = pdy, Dw = pdw, Chunks = chunks, Partial = partial };
            if (chunks == 1) body.Invoke(0);
            else WorkerPool.ParallelFor(chunks, body);
        }
        for (int i = 1; i < chunks; i++)
            System.Numerics.Tensors.TensorPrimitives.Add(dw[..wLen], partial[i].AsSpan(0, wLen), dw[..wLen]);
    }

    private struct WeightBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* X, Dy, Dw;
        public int Chunks;
        public float[][] Partial;

        public readonly void Invoke(int index)
        {
            var g = G;
            int start = (int)((long)g.N * index / Chunks), end = (int)((long)g.N * (index + 1) / Chunks);
            int v = WeightVector;
            int to = WeightTileShape.O;
            var ph = new Phases(g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW);
            int hp = ph.Hq, wp = ph.Wq;
            int plane = hp * wp;
            int grid = (g.OH * wp + v - 1) / v * v;
            // Reads reach (KW − 1)·DW + V floats past a plane (multiplied by zeros of the gradient).
            int planeS = plane + ph.MaxColumnShift + v;
            // Images per pass: enough grid (≥ 1024 floats, 64 vector steps of 16 multiply-adds) to
            // amortise the tile's 16 lane sums and its scatter into dw, at most 32 images.
            int nb = Math.Clamp((1024 + grid - 1) / grid, 1, 32);
            int taps = g.KH * g.KW;
            long xImage = (long)ph.Count * g.Cg * planeS, dImage = (long)g.Og * grid;
            long inImage = (long)g.C * g.H * g.W, outImage = (long)g.O * g.P;
            float* sums = stackalloc float[16];
            int* xo = stackalloc int[4];
            fixed (float* buf = ConvDirect.Scratch(nb * (xImage + dImage)), part = Partial[index])
            {
                float* dwBase = index == 0 ? Dw : part;
                float* xs = buf, ds = buf + nb * xImage;
                int cleanSlots = 0;
                for (int gi = 0; gi < g.Groups; gi++)
                    for (int n0 = start; n0 < end; n0 += nb)
                    {
                        int count = Math.Min(nb, end - n0);
                        for (int b = 0; b < count; b++)
                        {
                            long n = n0 + b;
                            // A slot's zeros (borders, slack, dropped grid columns) stay from its first use.
                            bool clean = b < cleanSlots;
                            float* xb = xs + b * xImage;
                            if (!clean)
                                for (int c = 0; c < ph.Count * g.Cg; c++) new Span<float>(xb + c * planeS + plane, planeS - plane).Clear();
                            ph.Fill(X + n * inImage + (long)gi * g.Cg * g.H * g.W, g.Cg, g.H, g.W, xb, planeS, g.PH, g.PW, clean);
                            float* db = ds + b * dImage;
                            if (!clean) new Span<float>(db, (int)dImage).Clear();
                            for (int o = 0; o < g.Og; o++)
                            {
                                float* src = Dy + n * outImage + ((long)gi * g.Og + o) * g.P;
                                float* dst = db + (long)o * grid;
                                for (int r = 0; r < g.OH; r++) ConvKernels.CopyRun(src + r * g.OW, dst + r * wp, g.OW);
                            }
                        }
                        cleanSlots = Math.Max(cleanSlots, count);
                        float* dwg = dwBase + (long)gi * g.Og * g.K;
                        // dw[o, k] for k = c·taps + t (PyTorch's layout flattened): tiles of `to`
                        // output channels × 4 consecutive k, whose x rows are planes shifted by a tap.
                        for (int o0 = 0; o0 < g.Og; o0 += to)
                            for (int k0 = 0; k0 < g.K; k0 += 4)
                            {
                                // Rows past the last channel or k repeat the last one; their sums are dropped.
                                for (int q = 0; q < 4; q++)
                                {
                                    int k = Math.Min(k0 + q, g.K - 1);
                                    xo[q] = (int)ph.Offset(k % taps / g.KW, k % g.KW, k / taps, g.Cg, planeS);
                                }
                                if (to == 4) WeightTile4x4(ds, o0, g.Og - 1, grid, dImage, xs, xo, xImage, count, sums);
                                else WeightTile2x4(ds, o0, g.Og - 1, grid, dImage, xs, xo, xImage, count, sums);
                                for (int r = 0; r < to && o0 + r < g.Og; r++)
                                    for (int q = 0; q < 4 && k0 + q < g.K; q++)
                                        dwg[(long)(o0 + r) * g.K + k0 + q] += sums[r * 4 + q];
                            }
                    }
            }
        }
    }

    // sums[r·4 + q] = Σ_b Σ_p d[b, o0 + r, p] · x[b·xImage + xo[q] + p] over `count` images of `len` grid floats.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightTile4x4(float* d, int o0, int oLast, int len, long dImage, float* x, int* xo, long xImage, int count, float* sums)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        nint d0 = (nint)o0 * len, d1 = (nint)Math.Min(o0 + 1, oLast) * len, d2 = (nint)Math.Min(o0 + 2, oLast) * len, d3 = (nint)Math.Min(o0 + 3, oLast) * len;
        nint x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        for (int b = 0; b < count; b++, d += dImage, x += xImage)
            for (nint p = 0; p < len; p += 16)
            {
                var a0 = Vector512.Load(d + d0 + p); var a1 = Vector512.Load(d + d1 + p);
                var a2 = Vector512.Load(d + d2 + p); var a3 = Vector512.Load(d + d3 + p);
                var b0 = Vector512.Load(x + x0 + p);
                s00 = Vector512.FusedMultiplyAdd(a0, b0, s00); s10 = Vector512.FusedMultiplyAdd(a1, b0, s10);
                s20 = Vector512.FusedMultiplyAdd(a2, b0, s20); s30 = Vector512.FusedMultiplyAdd(a3, b0, s30);
                var b1 = Vector512.Load(x + x1 + p);
                s01 = Vector512.FusedMultiplyAdd(a0, b1, s01); s11 = Vector512.FusedMultiplyAdd(a1, b1, s11);
                s21 = Vector512.FusedMultiplyAdd(a2, b1, s21); s31 = Vector512.FusedMultiplyAdd(a3, b1, s31);
                var b2 = Vector512.Load(x + x2 + p);
                s02 = Vector512.FusedMultiplyAdd(a0, b2, s02); s12 = Vector512.FusedMultiplyAdd(a1, b2, s12);
                s22 = Vector512.FusedMultiplyAdd(a2, b2, s22); s32 = Vector512.FusedMultiplyAdd(a3, b2, s32);
                var b3 = Vector512.Load(x + x3 + p);
                s03 = Vector512.FusedMultiplyAdd(a0, b3, s03); s13 = Vector512.FusedMultiplyAdd(a1, b3, s13);
                s23 = Vector512.FusedMultiplyAdd(a2, b3, s23); s33 = Vector512.FusedMultiplyAdd(a3, b3, s33);
            }
        sums[0] = Vector512.Sum(s00); sums[1] = Vector512.Sum(s01); sums[2] = Vector512.Sum(s02); sums[3] = Vector512.Sum(s03);
        sums[4] = Vector512.Sum(s10); sums[5] = Vector512.Sum(s11); sums[6] = Vector512.Sum(s12); sums[7] = Vector512.Sum(s13);
        sums[8] = Vector512.Sum(s20); sums[9] = Vector512.Sum(s21); sums[10] = Vector512.Sum(s22); sums[11] = Vector512.Sum(s23);
        sums[12] = Vector512.Sum(s30); sums[13] = Vector512.Sum(s31); sums[14] = Vector512.Sum(s32); sums[15] = Vector512.Sum(s33);
    }

    // The 256-bit tile: 2 output × 4 input channels (8 accumulators + 6 operands of 16 registers).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightTile2x4(float* d, int o0, int oLast, int len, long dImage, float* x, int* xo, long xImage, int count, float* sums)
    {
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        nint d0 = (nint)o0 * len, d1 = (nint)Math.Min(o0 + 1, oLast) * len;
        nint x0 = xo[0], x1 = xo[1], x2 = xo[2], x3 = xo[3];
        for (int b = 0; b < count; b++, d += dImage, x += xImage)
            for (nint p = 0; p < len; p += 8)
            {
                var a0 = Vector256.Load(d + d0 + p); var a1 = Vector256.Load(d + d1 + p);
                var b0 = Vector256.Load(x + x0 + p);
                s00 = Vector256.FusedMultiplyAdd(a0, b0, s00); s10 = Vector256.FusedMultiplyAdd(a1, b0, s10);
                var b1 = Vector256.Load(x + x1 + p);
                s01 = Vector256.FusedMultiplyAdd(a0, b1, s01); s11 = Vector256.FusedMultiplyAdd(a1, b1, s11);
                var b2 = Vector256.Load(x + x2 + p);
                s02 = Vector256.FusedMultiplyAdd(a0, b2, s02); s12 = Vector256.FusedMultiplyAdd(a1, b2, s12);
                var b3 = Vector256.Load(x + x3 + p);
                s03 = Vector256.FusedMultiplyAdd(a0, b3, s03); s13 = Vector256.FusedMultiplyAdd(a1, b3, s13);
            }
        sums[0] = Vector256.Sum(s00); sums[1] = Vector256.Sum(s01); sums[2] = Vector256.Sum(s02); sums[3] = Vector256.Sum(s03);
        sums[4] = Vector256.Sum(s10); sums[5] = Vector256.Sum(s11); sums[6] = Vector256.Sum(s12); sums[7] = Vector256.Sum(s13);
    }
}
