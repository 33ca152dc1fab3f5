using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// The sizes of a 2-D pooling window over planes of H×W: kernel, stride and zero/−∞ padding
/// (before the first row/column; the output size implies the rest).
/// </summary>
internal readonly record struct PoolGeometry(int Planes, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW)
{
    /// <summary>Output size along one axis, PyTorch's rule: ⌊ or ⌈(in + 2p − k)/s⌉ + 1, and with ceil mode a
    /// last window that would start inside the right padding is dropped.</summary>
    public static int OutSize(int input, int kernel, int stride, int pad, bool ceil)
    {
        int span = input + 2 * pad - kernel;
        if (span < 0) return 0;
        int o = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceil && (o - 1) * stride >= input + pad) o--;
        return o;
    }
}

/// <summary>Max, average, adaptive-average pooling, max unpooling and upsampling on NCHW spans, with their backward passes.</summary>
internal static class PoolKernels
{
    // Planes are independent: split them over threads when there is enough work to pay for it.
    private static void ForPlanes(int planes, long workPerPlane, Action<int, int> body)
    {
        int threads = WorkerPool.Threads;
        if (threads <= 1 || planes < 2 || workPerPlane * planes < 32768) { body(0, planes); return; }
        int chunks = Math.Min(planes, threads * 4);
        WorkerPool.ParallelFor(chunks, i => body((int)((long)planes * i / chunks), (int)((long)planes * (i + 1) / chunks)));
    }

    /// <summary>
    /// y = the maximum of each window (padding never wins); indices = the flat position ih·W + iw of
    /// that maximum within its plane (PyTorch's convention; the first one on ties).
    /// </summary>
    public static void MaxForward(PoolGeometry g, float[] x, float[] y, int[]? indices)
    {
        if (g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.PH == 0 && g.PW == 0 && 2 * g.OH <= g.H && 2 * g.OW <= g.W)
        {
            MaxForward2x2(g, x, y, indices);
            return;
        }
        if (indices is null) indices = new int[y.Length];
        ForPlanes(g.Planes, (long)g.OH * g.OW * g.KH * g.KW, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                var plane = x.AsSpan(p * g.H * g.W, g.H * g.W);
                int ob = p * g.OH * g.OW;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    int h0 = oh * g.SH - g.PH, h1 = Math.Min(h0 + g.KH, g.H);
                    h0 = Math.Max(h0, 0);
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int w0 = ow * g.SW - g.PW, w1 = Math.Min(w0 + g.KW, g.W);
                        w0 = Math.Max(w0, 0);
                        float best = float.NegativeInfinity;
                        int arg = h0 * g.W + w0;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++)
                            {
                                float v = plane[ih * g.W + iw];
                                if (v > best || float.IsNaN(v)) { best = v; arg = ih * g.W + iw; if (float.IsNaN(v)) goto done; }
                            }
                        done:
                        y[ob + oh * g.OW + ow] = best;
                        indices[ob + oh * g.OW + ow] = arg;
                    }
                }
            }
        });
    }

    // The common 2×2, stride-2 pool (LeNet, U-Net, VGG): four loads per output and no window loops;
    // without indices (inference) just three MathF.Max, which propagate NaN as the general loop does.
    // With indices: the first maximum in row-major order, a NaN winning at once, as in the general loop.
    private static void MaxForward2x2(PoolGeometry g, float[] x, float[] y, int[]? indices)
    {
        ForPlanes(g.Planes, (long)g.OH * g.OW * 4, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                var plane = x.AsSpan(p * g.H * g.W, g.H * g.W);
                int ob = p * g.OH * g.OW;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    var r0 = plane.Slice(2 * oh * g.W, 2 * g.OW);
                    var r1 = plane.Slice((2 * oh + 1) * g.W, 2 * g.OW);
                    var yo = y.AsSpan(ob + oh * g.OW, g.OW);
                    if (indices is null)
                    {
                        for (int ow = 0; ow < yo.Length; ow++)
                            yo[ow] = MathF.Max(MathF.Max(r0[2 * ow], r0[2 * ow + 1]), MathF.Max(r1[2 * ow], r1[2 * ow + 1]));
                        continue;
                    }
                    var io = indices.AsSpan(ob + oh * g.OW, g.OW);
                    int i0 = 2 * oh * g.W, i1 = i0 + g.W;
                    int done = Avx2.IsSupported ? MaxWithIndices8(r0, r1, yo, io, i0, g.W) : 0;
                    for (int ow = done; ow < yo.Length; ow++)
                    {
                        float best = r0[2 * ow];
                        int arg = i0 + 2 * ow;
                        if (!float.IsNaN(best))
                        {
                            float v = r0[2 * ow + 1];
                            if (v > best || float.IsNaN(v)) { best = v; arg = i0 + 2 * ow + 1; }
                            if (!float.IsNaN(best))
                            {
                                v = r1[2 * ow];
                                if (v > best || float.IsNaN(v)) { best = v; arg = i1 + 2 * ow; }
                                if (!float.IsNaN(best))
                                {
                                    v = r1[2 * ow + 1];
                                    if (v > best || float.IsNaN(v)) { best = v; arg = i1 + 2 * ow + 1; }
                                }
                            }
                        }
                        yo[ow] = best;
                        io[ow] = arg;
                    }
                }
            }
        });
    }

    // Eight outputs at a time of the 2×2 pool with indices, branch-free (the scalar compares mispredict
    // on real data: the pool was 12 % of a LeNet training step): the rows are split into even and odd
    // columns and the four candidates compared in row-major order with the scalar rule, a candidate
    // taken when it is greater or NaN while the best so far is not NaN. Returns how many outputs it
    // wrote: all of them from eight on, none below.
    private static unsafe int MaxWithIndices8(ReadOnlySpan<float> r0, ReadOnlySpan<float> r1, Span<float> y, Span<int> idx, int i0, int w)
    {
        int n = y.Length;
        if (n < 4) return 0;
        if (n < 8) return MaxWithIndices4(r0, r1, y, idx, i0, w);
        fixed (float* a = r0, b = r1, py = y)
        fixed (int* pi = idx)
        {
            var lane2 = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
            var one = Vector256.Create(1);
            var down = Vector256.Create(w);
            var downRight = Vector256.Create(w + 1);
            // A ragged end is done by one more vector overlapping the last full one (same outputs again).
            for (int ow = 0; ow < n; ow = ow + 16 <= n || ow + 8 == n ? ow + 8 : n - 8)
            {
                var (e0, o0) = EvenOdd(a + 2 * ow);
                var (e1, o1) = EvenOdd(b + 2 * ow);
                var best = e0;
                var off = Vector256<int>.Zero;
                Take(ref best, ref off, o0, one);
                Take(ref best, ref off, e1, down);
                Take(ref best, ref off, o1, downRight);
                best.Store(py + ow);
                (Vector256.Create(i0 + 2 * ow) + lane2 + off).Store(pi + ow);
            }
        }
        return n;
    }

    // Rows of 4 to 7 outputs (LeNet's second pool: 10 -> 5) four at a time, as above; they took the
    // branchy scalar loop before, 8 % of a LeNet training step.
    private static unsafe int MaxWithIndices4(ReadOnlySpan<float> r0, ReadOnlySpan<float> r1, Span<float> y, Span<int> idx, int i0, int w)
    {
        int n = y.Length;
        fixed (float* a = r0, b = r1, py = y)
        fixed (int* pi = idx)
        {
            var lane2 = Vector128.Create(0, 2, 4, 6);
            var one = Vector128.Create(1);
            var down = Vector128.Create(w);
            var downRight = Vector128.Create(w + 1);
            for (int ow = 0; ow < n; ow = ow + 8 <= n || ow + 4 == n ? ow + 4 : n - 4)
            {
                var (e0, o0) = EvenOdd4(a + 2 * ow);
                var (e1, o1) = EvenOdd4(b + 2 * ow);
                var best = e0;
                var off = Vector128<int>.Zero;
                Take(ref best, ref off, o0, one);
                Take(ref best, ref off, e1, down);
                Take(ref best, ref off, o1, downRight);
                best.Store(py + ow);
                (Vector128.Create(i0 + 2 * ow) + lane2 + off).Store(pi + ow);
            }
        }
        return n;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Take(ref Vector128<float> best, ref Vector128<int> off, Vector128<float> v, Vector128<int> at)
    {
        var take = Vector128.GreaterThan(v, best) | (~Vector128.Equals(v, v) & Vector128.Equals(best, best));
        best = Vector128.ConditionalSelect(take, v, best);
        off = Vector128.ConditionalSelect(take.AsInt32(), at, off);
    }

    // The even and odd columns of 8 consecutive floats.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector128<float> Even, Vector128<float> Odd) EvenOdd4(float* p)
    {
        var lo = Sse.LoadVector128(p);
        var hi = Sse.LoadVector128(p + 4);
        return (Sse.Shuffle(lo, hi, 0b10_00_10_00), Sse.Shuffle(lo, hi, 0b11_01_11_01));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Take(ref Vector256<float> best, ref Vector256<int> off, Vector256<float> v, Vector256<int> at)
    {
        var take = Vector256.GreaterThan(v, best) | (~Vector256.Equals(v, v) & Vector256.Equals(best, best));
        best = Vector256.ConditionalSelect(take, v, best);
        off = Vector256.ConditionalSelect(take.AsInt32(), at, off);
    }

    // The even and odd columns of 16 consecutive floats.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float> Even, Vector256<float> Odd) EvenOdd(float* p)
    {
        var lo = Avx.LoadVector256(p);
        var hi = Avx.LoadVector256(p + 8);
        // Per 128-bit lane [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6]; the 64-bit permute restores the order.
        var even = Avx.Shuffle(lo, hi, 0b10_00_10_00);
        var odd = Avx.Shuffle(lo, hi, 0b11_01_11_01);
        return (Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(odd.AsDouble(), 0b11_01_10_00).AsSingle());
    }

    /// <summary>dx[plane][indices] += dy (the maximum gets all of the window's gradient, the others nothing).</summary>
    public static void MaxBackward(PoolGeometry g, ReadOnlySpan<float> dy, int[] indices, Span<float> dx)
    {
        int outPlane = g.OH * g.OW, inPlane = g.H * g.W;
        for (int p = 0; p < g.Planes; p++)
            for (int i = 0; i < outPlane; i++) dx[p * inPlane + indices[p * outPlane + i]] += dy[p * outPlane + i];
    }

    // PyTorch's divisor: the window clipped to the padded input, or to the input itself.
    private static int Divisor(PoolGeometry g, int oh, int ow, bool countIncludePad, out int h0, out int h1, out int w0, out int w1)
    {
        h0 = oh * g.SH - g.PH; w0 = ow * g.SW - g.PW;
        h1 = Math.Min(h0 + g.KH, g.H + g.PH); w1 = Math.Min(w0 + g.KW, g.W + g.PW);
        int padded = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, g.H); w1 = Math.Min(w1, g.W);
        return countIncludePad ? padded : Math.Max((h1 - h0) * (w1 - w0), 1);
    }

    /// <summary>y = the mean of each window (zeros of the padding counted when <paramref name="countIncludePad"/>).</summary>
    public static void AvgForward(PoolGeometry g, float[] x, float[] y, bool countIncludePad)
    {
        ForPlanes(g.Planes, (long)g.OH * g.OW * g.KH * g.KW, (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                var plane = x.AsSpan(p * g.H * g.W, g.H * g.W);
                for (int oh = 0; oh < g.OH; oh++)
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int div = Divisor(g, oh, ow, countIncludePad, out int h0, out int h1, out int w0, out int w1);
                        float s = 0;
                        for (int ih = h0; ih < h1; ih++)
                            for (int iw = w0; iw < w1; iw++) s += plane[ih * g.W + iw];
                        y[(p * g.OH + oh) * g.OW + ow] = s / div;
                    }
            }
        });
    }

    /// <summary>dx += each window's dy / divisor spread over the window.</summary>
    public static void AvgBackward(PoolGeometry g, ReadOnlySpan<float> dy, Span<float> dx, bool countIncludePad)
    {
        for (int p = 0; p < g.Planes; p++)
        {
            var plane = dx.Slice(p * g.H * g.W, g.H * g.W);
            for (int oh = 0; oh < g.OH; oh++)
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int div = Divisor(g, oh, ow, countIncludePad, out int h0, out int h1, out int w0, out int w1);
                    float v = dy[(p * g.OH + oh) * g.OW + ow] / div;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++) plane[ih * g.W + iw] += v;
                }
        }
    }

    /// <summary>Window [start, end) of adaptive pooling output i along an axis: ⌊i·in/out⌋ to ⌈(i+1)·in/out⌉.</summary>
    public static (int Start, int End) AdaptiveWindow(int i, int input, int output) =>
        ((int)((long)i * input / output), (int)(((long)(i + 1) * input + output - 1) / output));

    /// <summary>y[planes, OH, OW] = the mean of each adaptive window of x[planes, H, W].</summary>
    public static void AdaptiveAvgForward(int planes, int h, int w, int oh, int ow, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * h * w, h * w);
            if (oh == 1 && ow == 1) { y[p] = TensorPrimitives.Sum(plane) / (h * w); continue; }
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1) = AdaptiveWindow(i, h, oh);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1) = AdaptiveWindow(j, w, ow);
                    float s = 0;
                    for (int ih = h0; ih < h1; ih++) s += TensorPrimitives.Sum(plane.Slice(ih * w + w0, w1 - w0));
                    y[(p * oh + i) * ow + j] = s / ((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>dx += each adaptive window's dy / window size.</summary>
    public static void AdaptiveAvgBackward(int planes, int h, int w, int oh, int ow, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int p = 0; p < planes; p++)
        {
            var plane = dx.Slice(p * h * w, h * w);
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1) = AdaptiveWindow(i, h, oh);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1) = AdaptiveWindow(j, w, ow);
                    float v = dy[(p * oh + i) * ow + j] / ((h1 - h0) * (w1 - w0));
                    for (int ih = h0; ih < h1; ih++)
                    {
                        var row = plane.Slice(ih * w + w0, w1 - w0);
                        TensorPrimitives.Add(row, v, row);
                    }
                }
            }
        }
    }

    /// <summary>y[planes, OH, OW] = 0 except y[plane][indices] = x (max unpooling; overwrites y).</summary>
    public static void MaxUnpoolForward(int planes, int inPlane, int outPlane, ReadOnlySpan<float> x, ReadOnlySpan<float> indices, Span<float> y)
    {
        y.Clear();
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < inPlane; i++) y[p * outPlane + (int)indices[p * inPlane + i]] = x[p * inPlane + i];
    }

    /// <summary>
    /// Source position and weights along one axis for resizing <paramref name="input"/> to
    /// <paramref name="output"/>: nearest (PyTorch's ⌊dst·in/out⌋) or linear with
    /// align_corners = false (src = (dst + ½)·in/out − ½, clamped at 0).
    /// </summary>
    public static (int[] I0, int[] I1, float[] L1) ResizeTable(int input, int output, bool linear)
    {
        var i0 = new int[output];
        var i1 = new int[output];
        var l1 = new float[output];
        double scale = (double)input / output;
        for (int d = 0; d < output; d++)
        {
            if (!linear) { i0[d] = i1[d] = Math.Min((int)Math.Floor(d * scale), input - 1); continue; }
            double src = Math.Max((d + 0.5) * scale - 0.5, 0);
            int a = Math.Min((int)src, input - 1);
            i0[d] = a;
            i1[d] = Math.Min(a + 1, input - 1);
            l1[d] = (float)(src - a);
        }
        return (i0, i1, l1);
    }

    /// <summary>y = the separable resize of x by the row and column tables (nearest or bilinear).</summary>
    public static void ResizeForward(int planes, int h, int w, int oh, int ow, (int[] I0, int[] I1, float[] L1) rows, (int[] I0, int[] I1, float[] L1) cols,
        ReadOnlySpan<float> x, Span<float> y)
    {
        for (int p = 0; p < planes; p++)
        {
            var src = x.Slice(p * h * w, h * w);
            var dst = y.Slice(p * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
            {
                float ly = rows.L1[i];
                var r0 = src.Slice(rows.I0[i] * w, w);
                var r1 = src.Slice(rows.I1[i] * w, w);
                for (int j = 0; j < ow; j++)
                {
                    float lx = cols.L1[j];
                    int c0 = cols.I0[j], c1 = cols.I1[j];
                    float top = r0[c0] + lx * (r0[c1] - r0[c0]);
                    float bottom = r1[c0] + lx * (r1[c1] - r1[c0]);
                    dst[i * ow + j] = top + ly * (bottom - top);
                }
            }
        }
    }

    /// <summary>dx += the adjoint of <see cref="ResizeForward"/> applied to dy.</summary>
    public static void ResizeBackward(int planes, int h, int w, int oh, int ow, (int[] I0, int[] I1, float[] L1) rows, (int[] I0, int[] I1, float[] L1) cols,
        ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int p = 0; p < planes; p++)
        {
            var dst = dx.Slice(p * h * w, h * w);
            var src = dy.Slice(p * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
            {
                float ly = rows.L1[i];
                int r0 = rows.I0[i] * w, r1 = rows.I1[i] * w;
                for (int j = 0; j < ow; j++)
                {
                    float lx = cols.L1[j], v = src[i * ow + j];
                    int c0 = cols.I0[j], c1 = cols.I1[j];
                    dst[r0 + c0] += (1 - ly) * (1 - lx) * v;
                    dst[r0 + c1] += (1 - ly) * lx * v;
                    dst[r1 + c0] += ly * (1 - lx) * v;
                    dst[r1 + c1] += ly * lx * v;
                }
            }
        }
    }
}
