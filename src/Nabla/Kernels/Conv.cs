using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// The sizes of one 2-D convolution in NCHW: input [N, C, H, W], weight [O, C/G, KH, KW] (PyTorch's
/// layout), output [N, O, OH, OW]. <see cref="PH"/>/<see cref="PW"/> are the zeros added before the
/// first row/column; the padding after the last one is implied by <see cref="OH"/>/<see cref="OW"/>
/// (so asymmetric "same" padding needs no special case). A transposed convolution is described by
/// the convolution it transposes: its input is this geometry's output and its output this input.
/// </summary>
internal readonly record struct ConvGeometry(
    int N, int C, int H, int W, int O, int KH, int KW,
    int SH, int SW, int PH, int PW, int DH, int DW, int Groups, int OH, int OW)
{
    /// <summary>Input channels per group.</summary>
    public int Cg => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int Og => O / Groups;
    /// <summary>Rows of the unfolded input of one group: Cg·KH·KW (the GEMM's inner dimension).</summary>
    public int K => Cg * KH * KW;
    /// <summary>Output positions per image: OH·OW.</summary>
    public int P => OH * OW;
    /// <summary>Whether the unfolded input is the input itself (1×1, stride 1, no padding).</summary>
    public bool IsPointwise => KH == 1 && KW == 1 && SH == 1 && SW == 1 && PH == 0 && PW == 0 && OH == H && OW == W;
    /// <summary>Multiply-adds of the forward pass.</summary>
    public long Macs => (long)N * O * P * K;
}

/// <summary>
/// Convolution on spans by lowering to the packed GEMM: each image (and group) is unfolded into a
/// [K, OH·OW] column matrix (im2col) that one GEMM multiplies by the [Og, K] weights; a 1×1
/// stride-1 convolution skips the unfolding. Only one image's columns exist at a time per thread,
/// so a large batch never materialises the whole unfolded input. With several threads and several
/// images the batch is split into one chunk per thread (each GEMM then runs on its own thread,
/// which beats splitting these small products); a single image lets the GEMM use every thread.
/// </summary>
internal static class ConvKernels
{
    // ------------------------------------------------------------------ unfolding

    /// <summary>
    /// cols[K, OH·OW] ← the patches of one group's input x[Cg, H, W] (zeros where a patch reaches
    /// into the padding). Row (c·KH + i)·KW + j holds x[c, oh·SH − PH + i·DH, ow·SW − PW + j·DW].
    /// </summary>
    public static unsafe void Im2Col(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> cols)
    {
        int H = g.H, W = g.W, OH = g.OH, OW = g.OW, P = g.P;
        for (int c = 0; c < g.Cg; c++)
        {
            var plane = x.Slice(c * H * W, H * W);
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    var row = cols.Slice(((c * g.KH + i) * g.KW + j) * P, P);
                    int dy = i * g.DH - g.PH, dx = j * g.DW - g.PW;
                    var (lo, hi) = ValidRange(dx, g.SW, W, OW);
                    if (g.SW == 1)
                    {
                        // Stride 1: each output row is a run of one input row. The runs are short
                        // (LeNet's 10 floats), so a span copy's fixed cost would dominate: copy with
                        // two overlapping vectors instead. Bounds: rows of `row` and `plane` checked once.
                        _ = row[OH * OW - 1];
                        _ = plane[H * W - 1];
                        fixed (float* pd = row, ps = plane)
                            for (int oh = 0; oh < OH; oh++)
                            {
                                float* d = pd + oh * OW;
                                int ih = oh * g.SH + dy;
                                if ((uint)ih >= (uint)H || lo >= hi) { Clear(d, OW); continue; }
                                Clear(d, lo);
                                Clear(d + hi, OW - hi);
                                CopyRun(ps + ih * W + lo + dx, d + lo, hi - lo);
                            }
                        continue;
                    }
                    for (int oh = 0; oh < OH; oh++)
                    {
                        var dst = row.Slice(oh * OW, OW);
                        int ih = oh * g.SH + dy;
                        if ((uint)ih >= (uint)H || lo >= hi) { dst.Clear(); continue; }
                        dst[..lo].Clear();
                        dst[hi..].Clear();
                        var src = plane.Slice(ih * W, W);
                        for (int ow = lo, iw = lo * g.SW + dx; ow < hi; ow++, iw += g.SW) dst[ow] = src[iw];
                    }
                }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: x[Cg, H, W] += the columns folded back (overlaps add up).</summary>
    public static unsafe void Col2Im(in ConvGeometry g, ReadOnlySpan<float> cols, Span<float> x)
    {
        if (Avx512F.IsSupported && g.W <= 16 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1)
        {
            Col2ImNarrow(in g, cols, x);
            return;
        }
        int H = g.H, W = g.W, OH = g.OH, OW = g.OW, P = g.P;
        for (int c = 0; c < g.Cg; c++)
        {
            var plane = x.Slice(c * H * W, H * W);
            for (int i = 0; i < g.KH; i++)
                for (int j = 0; j < g.KW; j++)
                {
                    var row = cols.Slice(((c * g.KH + i) * g.KW + j) * P, P);
                    int dy = i * g.DH - g.PH, dx = j * g.DW - g.PW;
                    var (lo, hi) = ValidRange(dx, g.SW, W, OW);
                    if (lo >= hi) continue;
                    if (g.SW == 1)
                    {
                        _ = row[OH * OW - 1];
                        _ = plane[H * W - 1];
                        fixed (float* ps = row, pd = plane)
                            for (int oh = 0; oh < OH; oh++)
                            {
                                int ih = oh * g.SH + dy;
                                if ((uint)ih >= (uint)H) continue;
                                AddRun(ps + oh * OW + lo, pd + ih * W + lo + dx, hi - lo);
                            }
                        continue;
                    }
                    for (int oh = 0; oh < OH; oh++)
                    {
                        int ih = oh * g.SH + dy;
                        if ((uint)ih >= (uint)H) continue;
                        var src = row.Slice(oh * OW, OW);
                        var dst = plane.Slice(ih * W, W);
                        for (int ow = lo, iw = lo * g.SW + dx; ow < hi; ow++, iw += g.SW) dst[iw] += src[ow];
                    }
                }
        }
    }

    // Col2Im for unit stride and dilation on images at most 16 wide (LeNet's second layer: 14): each
    // input row is summed in one register from its KH·KW contributions, each a masked load of one
    // output row shifted into place, and stored once. The row-by-row version added each
    // contribution in memory, in runs of 10 floats (9 % of a LeNet training step).
    private static unsafe void Col2ImNarrow(in ConvGeometry g, ReadOnlySpan<float> cols, Span<float> x)
    {
        int H = g.H, W = g.W, OH = g.OH, OW = g.OW, P = g.P, KH = g.KH, KW = g.KW;
        if (cols.Length < g.K * P || x.Length < g.Cg * H * W) throw new ArgumentException("Col2Im: buffers too short for the geometry.");
        var lanes = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        var rowMask = Vector512.LessThan(lanes, Vector512.Create((float)W));
        // Tap column j puts output column ow at input column ow − PW + j: lanes [j − PW, j − PW + OW) ∩ [0, W).
        var tapMasks = stackalloc Vector512<float>[KW];
        for (int j = 0; j < KW; j++)
        {
            int shift = j - g.PW;
            tapMasks[j] = rowMask & Vector512.GreaterThanOrEqual(lanes, Vector512.Create((float)shift))
                & Vector512.LessThan(lanes, Vector512.Create((float)(shift + OW)));
        }
        fixed (float* pc = cols, px = x)
            for (int c = 0; c < g.Cg; c++)
                for (int ih = 0; ih < H; ih++)
                {
                    float* dst = px + ((long)c * H + ih) * W;
                    var acc = Avx512F.MaskLoad(dst, rowMask, Vector512<float>.Zero);
                    for (int i = 0; i < KH; i++)
                    {
                        int oh = ih + g.PH - i;
                        if ((uint)oh >= (uint)OH) continue;
                        float* src = pc + (long)(c * KH + i) * KW * P + oh * OW + g.PW;
                        // Lane iw reads src[iw − j] (the masked-off lanes are not read, so the
                        // address may lie before the buffer).
                        for (int j = 0; j < KW; j++, src += P) acc += Avx512F.MaskLoad(src - j, tapMasks[j], Vector512<float>.Zero);
                    }
                    Avx512F.MaskStore(dst, rowMask, acc);
                }
    }

    // d[0, n) ← s[0, n) for the short runs of im2col: one or two (overlapping) vectors for up to 16
    // floats, a vector loop beyond, no call.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void CopyRun(float* s, float* d, int n)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector128.IsHardwareAccelerated)
        {
            // Emulated vectors (a browser, an old CPU) would be slower than the runtime's copy.
            new ReadOnlySpan<float>(s, n).CopyTo(new Span<float>(d, n));
            return;
        }
        if (n >= 8)
        {
            int i = 0;
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(s + i), d + i);
            if (i < n) Vector256.Store(Vector256.Load(s + n - 8), d + n - 8);
        }
        else if (n >= 4)
        {
            Vector128.Store(Vector128.Load(s), d);
            Vector128.Store(Vector128.Load(s + n - 4), d + n - 4);
        }
        else for (int i = 0; i < n; i++) d[i] = s[i];
    }

    // d[0, n) += s[0, n) for col2im's short runs (no overlapping trick: an element must be added once).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void AddRun(float* s, float* d, int n)
    {
        if (!Vector256.IsHardwareAccelerated || !Vector128.IsHardwareAccelerated)
        {
            var dd = new Span<float>(d, n);
            TensorPrimitives.Add(dd, new ReadOnlySpan<float>(s, n), dd);
            return;
        }
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(d + i) + Vector256.Load(s + i), d + i);
        if (i + 4 <= n)
        {
            Vector128.Store(Vector128.Load(d + i) + Vector128.Load(s + i), d + i);
            i += 4;
        }
        for (; i < n; i++) d[i] += s[i];
    }

    private static unsafe void Clear(float* d, int n)
    {
        for (int i = 0; i < n; i++) d[i] = 0f;
    }

    // Output columns [lo, hi) whose input column ow·s + offset lies inside [0, width).
    private static (int Lo, int Hi) ValidRange(int offset, int stride, int width, int outWidth)
    {
        int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int hi = width - offset <= 0 ? 0 : (width - offset + stride - 1) / stride;
        lo = Math.Min(lo, outWidth);
        hi = Math.Clamp(hi, lo, outWidth);
        return (lo, hi);
    }

    // ------------------------------------------------------------------ batch split

    /// <summary>How many chunks the batch is split into (1: serial images, each GEMM threaded itself).</summary>
    public static int Chunks(int n, long macsPerImage)
    {
        int threads = WorkerPool.Threads;
        // Below ~64k multiply-adds in all, waking a second thread costs more than it saves.
        if (threads <= 1 || n <= 1 || macsPerImage * n < 65536) return 1;
        return Math.Min(threads, n);
    }

    private static (int Start, int End) ChunkRange(int n, int chunks, int index)
    {
        int start = (int)((long)n * index / chunks), end = (int)((long)n * (index + 1) / chunks);
        return (start, end);
    }

    // ------------------------------------------------------------------ forward

    /// <summary>
    /// y[N, O, OH, OW] = conv(x[N, C, H, W], w[O, Cg·KH·KW]) (+ bias[O] when not empty), then
    /// <paramref name="activation"/> applied in place (ReLU, sigmoid or tanh), image by image while
    /// the output is still in cache. Overwrites y.
    /// </summary>
    public static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, Activation activation = Activation.None,
        ConvImplicit.PackedWeightCache? packed = null, ReadOnlySpan<float> residual = default)
    {
        bool direct = ConvDirect.Choose(in g, ConvPass.Forward);
        bool implicitPath = !direct && ConvImplicit.Choose(in g, ConvPass.Forward);
        if (!residual.IsEmpty && !implicitPath)
        {
            // Only the implicit kernel adds a residual in its write-back; elsewhere it is a pass of its own.
            Forward(in g, x, w, bias, y, Activation.None, packed);
            TensorPrimitives.Add(y, residual, y);
            Activate(y, activation);
            return;
        }
        if (direct) ConvDirect.Forward(in g, x, w, bias, y, activation);
        else if (implicitPath) ConvImplicit.Forward(in g, x, w, bias, y, activation, packed, residual);
        else ForwardGemm(in g, x, w, bias, y, activation);
    }

    /// <summary><see cref="Forward"/> by im2col + GEMM (or GEMM alone for 1×1).</summary>
    internal static void ForwardGemm(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y, Activation activation)
    {
        int chunks = Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        int scratch = g.IsPointwise ? 0 : g.K * g.P;
        unsafe
        {
            fixed (float* px = x, pw = w, pb = bias, py = y)
            {
                var body = new ForwardBody
                {
                    G = g, X = px, Wt = pw, Bias = bias.IsEmpty ? null : pb, Y = py, Act = activation,
                    Chunks = chunks, ScratchLength = scratch,
                };
                if (chunks == 1) body.Invoke(0);
                else WorkerPool.ParallelFor(chunks, body);
            }
        }
    }

    private unsafe struct ForwardBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* X, Wt, Bias, Y;
        public Activation Act;
        public int Chunks;
        public int ScratchLength;

        public readonly void Invoke(int index)
        {
            var g = G;
            var (start, end) = ChunkRange(g.N, Chunks, index);
            int inImage = g.C * g.H * g.W, outImage = g.O * g.P, inGroup = g.Cg * g.H * g.W;
            // Per-thread scratch kept between calls: a warm call allocates nothing (batch-1 inference).
            var cols = ScratchLength == 0 ? Span<float>.Empty : ConvDirect.Scratch(ScratchLength).AsSpan(0, ScratchLength);
            for (int n = start; n < end; n++)
            {
                var yn = new Span<float>(Y + (long)n * outImage, outImage);
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    var xg = new ReadOnlySpan<float>(X + (long)n * inImage + gi * inGroup, inGroup);
                    ReadOnlySpan<float> b = xg;
                    if (!g.IsPointwise) { Im2Col(in g, xg, cols); b = cols; }
                    var wg = new ReadOnlySpan<float>(Wt + (long)gi * g.Og * g.K, g.Og * g.K);
                    Gemm.Sgemm(false, false, g.Og, g.P, g.K, 1f, wg, g.K, b, g.P, 0f, yn.Slice(gi * g.Og * g.P, g.Og * g.P), g.P);
                }
                if (Bias != null)
                    for (int o = 0; o < g.O; o++) TensorPrimitives.Add(yn.Slice(o * g.P, g.P), Bias[o], yn.Slice(o * g.P, g.P));
                Activate(yn, Act);
            }
        }
    }

    /// <summary>Applies a fused activation in place.</summary>
    internal static void Activate(Span<float> y, Activation activation)
    {
        switch (activation)
        {
            case Activation.Relu: TensorPrimitives.Max(y, 0f, y); break;
            case Activation.Sigmoid: TensorPrimitives.Sigmoid(y, y); break;
            case Activation.Tanh: TensorPrimitives.Tanh(y, y); break;
        }
    }

    // ------------------------------------------------------------------ backward data

    /// <summary>
    /// dx[N, C, H, W] += convᵀ(dy[N, O, OH, OW], w): per image and group the columns Wᵀ·dy
    /// [K, OH·OW] are folded back by <see cref="Col2Im"/> — the notes' "full convolution with the
    /// 180°-rotated filter", computed without padding anything. Also the forward pass of a
    /// transposed convolution.
    /// </summary>
    public static void BackwardData(in ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, bool overwrite = false)
    {
        if (ConvDirect.Choose(in g, ConvPass.BackwardData))
        {
            if (overwrite) dx.Clear();
            ConvDirect.BackwardData(in g, dy, w, dx);
        }
        else if (ConvImplicit.Choose(in g, ConvPass.BackwardData)) ConvImplicit.BackwardData(in g, dy, w, dx, overwrite);
        else BackwardDataGemm(in g, dy, w, dx, overwrite);
    }

    /// <summary><see cref="BackwardData"/> by GEMM + col2im.</summary>
    internal static void BackwardDataGemm(in ConvGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, bool overwrite = false)
    {
        int chunks = Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        int scratch = g.IsPointwise ? 0 : g.K * g.P;
        unsafe
        {
            fixed (float* pdy = dy, pw = w, pdx = dx)
            {
                var body = new DataBody { G = g, Dy = pdy, Wt = pw, Dx = pdx, Chunks = chunks, ScratchLength = scratch, Overwrite = overwrite };
                if (chunks == 1) body.Invoke(0);
                else WorkerPool.ParallelFor(chunks, body);
            }
        }
    }

    private unsafe struct DataBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* Dy, Wt, Dx;
        public int Chunks;
        public int ScratchLength;
        public bool Overwrite; // dx holds garbage: assign instead of adding

        public readonly void Invoke(int index)
        {
            var g = G;
            var (start, end) = ChunkRange(g.N, Chunks, index);
            int inImage = g.C * g.H * g.W, outImage = g.O * g.P, inGroup = g.Cg * g.H * g.W;
            // Per-thread scratch kept between calls: a warm call allocates nothing (batch-1 inference).
            var cols = ScratchLength == 0 ? Span<float>.Empty : ConvDirect.Scratch(ScratchLength).AsSpan(0, ScratchLength);
            for (int n = start; n < end; n++)
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    var dyg = new ReadOnlySpan<float>(Dy + (long)n * outImage + gi * g.Og * g.P, g.Og * g.P);
                    var wg = new ReadOnlySpan<float>(Wt + (long)gi * g.Og * g.K, g.Og * g.K);
                    var dxg = new Span<float>(Dx + (long)n * inImage + gi * inGroup, inGroup);
                    if (g.IsPointwise)
                        Gemm.Sgemm(true, false, g.K, g.P, g.Og, 1f, wg, g.K, dyg, g.P, Overwrite ? 0f : 1f, dxg, g.P);
                    else
                    {
                        Gemm.Sgemm(true, false, g.K, g.P, g.Og, 1f, wg, g.K, dyg, g.P, 0f, cols, g.P);
                        if (Overwrite) dxg.Clear(); // per image, while it is in cache
                        Col2Im(in g, cols, dxg);
                    }
                }
        }
    }

    // ------------------------------------------------------------------ backward weights

    /// <summary>
    /// dw[O, Cg·KH·KW] += Σₙ dy[n]·im2col(x[n])ᵀ per group (the notes' channel-wise convolution
    /// of X with δY). With several threads each chunk of the batch sums into its own buffer and the
    /// buffers are added at the end, so the result does not depend on scheduling.
    /// </summary>
    public static void BackwardWeight(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        if (ConvDirect.Choose(in g, ConvPass.BackwardWeight)) ConvDirect.BackwardWeight(in g, x, dy, dw);
        else if (ConvImplicit.Choose(in g, ConvPass.BackwardWeight)) ConvImplicit.BackwardWeight(in g, x, dy, dw);
        else BackwardWeightGemm(in g, x, dy, dw);
    }

    /// <summary><see cref="BackwardWeight"/> by im2col + GEMM.</summary>
    internal static void BackwardWeightGemm(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw)
    {
        int chunks = Chunks(g.N, g.Macs / Math.Max(g.N, 1));
        int scratch = g.IsPointwise ? 0 : g.K * g.P;
        int wLen = g.O * g.K;
        var partial = new float[chunks][];
        for (int i = 1; i < chunks; i++) partial[i] = TensorArena.Allocate(wLen, clear: true);
        unsafe
        {
            fixed (float* px = x, pdy = dy, pdw = dw)
            {
                var body = new WeightBody { G = g, X = px, Dy = pdy, Dw = pdw, Chunks = chunks, ScratchLength = scratch, Partial = partial };
                if (chunks == 1) body.Invoke(0);
                else WorkerPool.ParallelFor(chunks, body);
            }
        }
        for (int i = 1; i < chunks; i++) TensorPrimitives.Add(dw[..wLen], partial[i].AsSpan(0, wLen), dw[..wLen]);
    }

    private unsafe struct WeightBody : IParallelForBody
    {
        public ConvGeometry G;
        public float* X, Dy, Dw;
        public int Chunks;
        public int ScratchLength;
        public float[][] Partial;

        public readonly void Invoke(int index)
        {
            var g = G;
            var (start, end) = ChunkRange(g.N, Chunks, index);
            int inImage = g.C * g.H * g.W, outImage = g.O * g.P, inGroup = g.Cg * g.H * g.W;
            // Per-thread scratch kept between calls: a warm call allocates nothing (batch-1 inference).
            var cols = ScratchLength == 0 ? Span<float>.Empty : ConvDirect.Scratch(ScratchLength).AsSpan(0, ScratchLength);
            var dw = index == 0 ? new Span<float>(Dw, g.O * g.K) : Partial[index].AsSpan(0, g.O * g.K);
            for (int n = start; n < end; n++)
                for (int gi = 0; gi < g.Groups; gi++)
                {
                    var xg = new ReadOnlySpan<float>(X + (long)n * inImage + gi * inGroup, inGroup);
                    ReadOnlySpan<float> b = xg;
                    if (!g.IsPointwise) { Im2Col(in g, xg, cols); b = cols; }
                    var dyg = new ReadOnlySpan<float>(Dy + (long)n * outImage + gi * g.Og * g.P, g.Og * g.P);
                    Gemm.Sgemm(false, true, g.Og, g.K, g.P, 1f, dyg, g.P, b, g.P, 1f, dw.Slice(gi * g.Og * g.K, g.Og * g.K), g.K);
                }
        }
    }

    /// <summary>db[O] += Σ over batch and positions of dy[N, O, P].</summary>
    public static void BackwardBias(ReadOnlySpan<float> dy, int n, int o, int p, Span<float> db)
    {
        for (int i = 0; i < n; i++)
            for (int c = 0; c < o; c++) db[c] += TensorPrimitives.Sum(dy.Slice((i * o + c) * p, p));
    }

    // ------------------------------------------------------------------ reference

    /// <summary>The seven-loop definition of the convolution (tests compare the fast path with it).</summary>
    public static void Reference(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.O; o++)
            {
                int gi = o / g.Og;
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        double s = bias.IsEmpty ? 0 : bias[o];
                        for (int c = 0; c < g.Cg; c++)
                            for (int i = 0; i < g.KH; i++)
                                for (int j = 0; j < g.KW; j++)
                                {
                                    int ih = oh * g.SH - g.PH + i * g.DH, iw = ow * g.SW - g.PW + j * g.DW;
                                    if ((uint)ih >= (uint)g.H || (uint)iw >= (uint)g.W) continue;
                                    s += (double)x[((n * g.C + gi * g.Cg + c) * g.H + ih) * g.W + iw] * w[((o * g.Cg + c) * g.KH + i) * g.KW + j];
                                }
                        y[((n * g.O + o) * g.OH + oh) * g.OW + ow] = (float)s;
                    }
            }
    }
}
