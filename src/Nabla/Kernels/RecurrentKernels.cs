using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// The elementwise part of one time step of the recurrent cells, for one batch row at a time
/// (the matrix products around them are GEMMs issued by the op). Gate layouts follow PyTorch:
/// LSTM rows hold [i | f | g | o], GRU rows [r | z | n], each block H wide.
/// </summary>
/// <remarks>
/// Forward kernels turn the pre-activation gate row in place into the activated gates, which is
/// what their backward twins read. Backward kernels write the pre-activation gate gradients
/// (overwriting) and update the carried state gradients in place.
/// </remarks>
public static class RecurrentKernels
{
    // ------------------------------------------------------------------ vanilla RNN

    /// <summary>h = tanh(g) or relu(g) for one row; <paramref name="g"/> holds x·Wᵢₕᵀ + h₋₁·Wₕₕᵀ + b.</summary>
    public static void RnnForward(ReadOnlySpan<float> g, Span<float> h, bool relu)
    {
        if (relu) TensorPrimitives.Max(g, 0f, h);
        else FastMath.Tanh(g, h);
    }

    /// <summary>dg = dh·(1 − h²) for tanh, dh·[h &gt; 0] for ReLU (overwrites <paramref name="dg"/>).</summary>
    public static void RnnBackward(ReadOnlySpan<float> h, ReadOnlySpan<float> dh, Span<float> dg, bool relu)
    {
        int n = h.Length, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            for (; i <= n - w; i += w)
            {
                var hv = new Vector<float>(h.Slice(i));
                var dv = new Vector<float>(dh.Slice(i));
                Vector<float> r = relu
                    ? Vector.ConditionalSelect(Vector.GreaterThan(hv, Vector<float>.Zero), dv, Vector<float>.Zero)
                    : dv * (Vector<float>.One - hv * hv);
                r.CopyTo(dg.Slice(i));
            }
        }
        for (; i < n; i++) dg[i] = relu ? (h[i] > 0f ? dh[i] : 0f) : dh[i] * (1f - h[i] * h[i]);
    }

    // ------------------------------------------------------------------ LSTM

    /// <summary>
    /// One LSTM row: gates [i|f|g|o] (4H, pre-activation in, activated out), c = f⊙c₋₁ + i⊙g,
    /// tc = tanh(c), h = o⊙tc.
    /// </summary>
    public static void LstmForward(Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> tc, Span<float> h)
    {
        int hs = c.Length;
        var ifg = gates.Slice(0, 2 * hs);
        FastMath.Sigmoid(ifg, ifg);
        var g = gates.Slice(2 * hs, hs);
        FastMath.Tanh(g, g);
        var o = gates.Slice(3 * hs, hs);
        FastMath.Sigmoid(o, o);
        var i = gates.Slice(0, hs);
        var f = gates.Slice(hs, hs);
        TensorPrimitives.Multiply(f, cPrev, c);
        TensorPrimitives.FusedMultiplyAdd(i, g, c, c);
        FastMath.Tanh(c, tc);
        TensorPrimitives.Multiply(o, tc, h);
    }

    /// <summary>
    /// <see cref="LstmForward"/> for a whole step of <paramref name="rows"/> rows at once, with
    /// three long vector calls instead of seven short ones per row: the g block is doubled so that
    /// one sigmoid over the whole gate buffer serves all four gates (tanh(x) = 2σ(2x) − 1), then a
    /// fused pass forms g and c, one tanh covers every c, and a last pass forms h.
    /// </summary>
    public static void LstmForwardStep(Span<float> gates, ReadOnlySpan<float> cPrev, Span<float> c, Span<float> tc, Span<float> h, int rows, int hidden)
    {
        int H = hidden, G = 4 * H;
        for (int b = 0; b < rows; b++)
        {
            var g = gates.Slice(b * G + 2 * H, H);
            TensorPrimitives.Multiply(g, 2f, g);
        }
        FastMath.Sigmoid(gates.Slice(0, rows * G), gates.Slice(0, rows * G));
        for (int b = 0; b < rows; b++)
        {
            var row = gates.Slice(b * G, G);
            var cp = cPrev.Slice(b * H, H);
            var cb = c.Slice(b * H, H);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                int w = Vector<float>.Count;
                var two = new Vector<float>(2f);
                for (; j <= H - w; j += w)
                {
                    var gv = two * new Vector<float>(row.Slice(2 * H + j)) - Vector<float>.One;
                    gv.CopyTo(row.Slice(2 * H + j));
                    (new Vector<float>(row.Slice(H + j)) * new Vector<float>(cp.Slice(j)) + new Vector<float>(row.Slice(j)) * gv).CopyTo(cb.Slice(j));
                }
            }
            for (; j < H; j++)
            {
                float gv = 2f * row[2 * H + j] - 1f;
                row[2 * H + j] = gv;
                cb[j] = row[H + j] * cp[j] + row[j] * gv;
            }
        }
        FastMath.Tanh(c.Slice(0, rows * H), tc.Slice(0, rows * H));
        for (int b = 0; b < rows; b++)
            TensorPrimitives.Multiply(gates.Slice(b * G + 3 * H, H), tc.Slice(b * H, H), h.Slice(b * H, H));
    }

    /// <summary>
    /// Backward of <see cref="LstmForward"/> for one row. <paramref name="dh"/> is the total
    /// gradient reaching h; <paramref name="dc"/> holds the gradient reaching c from the next
    /// step and is replaced by the gradient reaching c₋₁. Writes the pre-activation gate gradients.
    /// </summary>
    public static void LstmBackward(ReadOnlySpan<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> tc,
        ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGates)
    {
        int hs = tc.Length, j = 0;
        if (cPrev.Length < hs || dh.Length < hs || dc.Length < hs) throw new ArgumentException($"LstmBackward: states of {hs} expected, got cPrev {cPrev.Length}, dh {dh.Length}, dc {dc.Length}.");
        var gi = gates.Slice(0, hs); var gf = gates.Slice(hs, hs); var gg = gates.Slice(2 * hs, hs); var go = gates.Slice(3 * hs, hs);
        var di = dGates.Slice(0, hs); var df = dGates.Slice(hs, hs); var dgg = dGates.Slice(2 * hs, hs); var dout = dGates.Slice(3 * hs, hs);
        if (Avx512F.IsSupported)
        {
            // Vector<float> is 256 bits on AVX-512 machines by .NET's default: this path takes twice
            // as many lanes (the kernel is 6 % of a 1-thread LSTM step).
            ref float a = ref MemoryMarshal.GetReference(gates);
            ref float pc = ref MemoryMarshal.GetReference(cPrev); ref float ptc = ref MemoryMarshal.GetReference(tc);
            ref float pdh = ref MemoryMarshal.GetReference(dh); ref float pdc = ref MemoryMarshal.GetReference(dc);
            ref float d = ref MemoryMarshal.GetReference(dGates);
            nuint H = (nuint)hs;
            var one = Vector512<float>.One;
            for (; j <= hs - 16; j += 16)
            {
                nuint u = (nuint)j;
                var i = Vector512.LoadUnsafe(ref a, u); var f = Vector512.LoadUnsafe(ref a, H + u);
                var g = Vector512.LoadUnsafe(ref a, 2 * H + u); var o = Vector512.LoadUnsafe(ref a, 3 * H + u);
                var t = Vector512.LoadUnsafe(ref ptc, u); var dhv = Vector512.LoadUnsafe(ref pdh, u);
                var dct = Vector512.LoadUnsafe(ref pdc, u) + dhv * o * (one - t * t);
                (dhv * t * o * (one - o)).StoreUnsafe(ref d, 3 * H + u);
                (dct * g * i * (one - i)).StoreUnsafe(ref d, u);
                (dct * Vector512.LoadUnsafe(ref pc, u) * f * (one - f)).StoreUnsafe(ref d, H + u);
                (dct * i * (one - g * g)).StoreUnsafe(ref d, 2 * H + u);
                (dct * f).StoreUnsafe(ref pdc, u);
            }
        }
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            var one = Vector<float>.One;
            for (; j <= hs - w; j += w)
            {
                var i = new Vector<float>(gi.Slice(j)); var f = new Vector<float>(gf.Slice(j));
                var g = new Vector<float>(gg.Slice(j)); var o = new Vector<float>(go.Slice(j));
                var t = new Vector<float>(tc.Slice(j)); var dhv = new Vector<float>(dh.Slice(j));
                var cp = new Vector<float>(cPrev.Slice(j));
                var dct = new Vector<float>(dc.Slice(j)) + dhv * o * (one - t * t);
                (dhv * t * o * (one - o)).CopyTo(dout.Slice(j));
                (dct * g * i * (one - i)).CopyTo(di.Slice(j));
                (dct * cp * f * (one - f)).CopyTo(df.Slice(j));
                (dct * i * (one - g * g)).CopyTo(dgg.Slice(j));
                (dct * f).CopyTo(dc.Slice(j));
            }
        }
        for (; j < hs; j++)
        {
            float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
            float dct = dc[j] + dh[j] * o * (1f - t * t);
            dout[j] = dh[j] * t * o * (1f - o);
            di[j] = dct * g * i * (1f - i);
            df[j] = dct * cPrev[j] * f * (1f - f);
            dgg[j] = dct * i * (1f - g * g);
            dc[j] = dct * f;
        }
    }

    // ------------------------------------------------------------------ GRU

    /// <summary>
    /// One GRU row as PyTorch computes it: xg = x·Wᵢₕᵀ + bᵢₕ and hg = h₋₁·Wₕₕᵀ + bₕₕ (3H each, [r|z|n]);
    /// r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r⊙hn), h = (1 − z)⊙n + z⊙h₋₁.
    /// <paramref name="xg"/> is replaced by [r|z|n]; <paramref name="hg"/> is kept (hn is needed backward).
    /// </summary>
    public static void GruForward(Span<float> xg, ReadOnlySpan<float> hg, ReadOnlySpan<float> hPrev, Span<float> h)
    {
        // One pass over the row (r, z, n and h together) instead of six span calls of H each: the
        // calls' overhead was most of the work at H = 128 (session 8 profile).
        int hs = h.Length, j = 0;
        if (xg.Length < 3 * hs || hg.Length < 3 * hs || hPrev.Length < hs) throw new ArgumentException($"GruForward: rows of {3 * hs} gates and {hs} states expected, got xg {xg.Length}, hg {hg.Length}, hPrev {hPrev.Length}.");
        ref float x = ref MemoryMarshal.GetReference(xg);
        ref float g = ref MemoryMarshal.GetReference(hg);
        ref float p = ref MemoryMarshal.GetReference(hPrev);
        ref float o = ref MemoryMarshal.GetReference(h);
        nuint H = (nuint)hs;
        if (Avx512F.IsSupported)
            for (; j <= hs - 16; j += 16)
            {
                nuint u = (nuint)j;
                var r = FastMath.Sigmoid(Vector512.LoadUnsafe(ref x, u) + Vector512.LoadUnsafe(ref g, u));
                var z = FastMath.Sigmoid(Vector512.LoadUnsafe(ref x, H + u) + Vector512.LoadUnsafe(ref g, H + u));
                var n = FastMath.Tanh(Vector512.FusedMultiplyAdd(r, Vector512.LoadUnsafe(ref g, 2 * H + u), Vector512.LoadUnsafe(ref x, 2 * H + u)));
                r.StoreUnsafe(ref x, u); z.StoreUnsafe(ref x, H + u); n.StoreUnsafe(ref x, 2 * H + u);
                Vector512.FusedMultiplyAdd(z, Vector512.LoadUnsafe(ref p, u) - n, n).StoreUnsafe(ref o, u);
            }
        else if (Avx2.IsSupported && Fma.IsSupported)
            for (; j <= hs - 8; j += 8)
            {
                nuint u = (nuint)j;
                var r = FastMath.Sigmoid(Vector256.LoadUnsafe(ref x, u) + Vector256.LoadUnsafe(ref g, u));
                var z = FastMath.Sigmoid(Vector256.LoadUnsafe(ref x, H + u) + Vector256.LoadUnsafe(ref g, H + u));
                var n = FastMath.Tanh(Vector256.FusedMultiplyAdd(r, Vector256.LoadUnsafe(ref g, 2 * H + u), Vector256.LoadUnsafe(ref x, 2 * H + u)));
                r.StoreUnsafe(ref x, u); z.StoreUnsafe(ref x, H + u); n.StoreUnsafe(ref x, 2 * H + u);
                Vector256.FusedMultiplyAdd(z, Vector256.LoadUnsafe(ref p, u) - n, n).StoreUnsafe(ref o, u);
            }
        // The same operations in the same order, so a value does not depend on its lane.
        for (; j < hs; j++)
        {
            float r = FastMath.Sigmoid(xg[j] + hg[j]);
            float z = FastMath.Sigmoid(xg[hs + j] + hg[hs + j]);
            float n = FastMath.Tanh(MathF.FusedMultiplyAdd(r, hg[2 * hs + j], xg[2 * hs + j]));
            xg[j] = r; xg[hs + j] = z; xg[2 * hs + j] = n;
            h[j] = MathF.FusedMultiplyAdd(z, hPrev[j] - n, n);
        }
    }

    /// <summary>
    /// Backward of <see cref="GruForward"/> for one row. Writes the input-side gate gradients
    /// <paramref name="dx"/> ([dr|dz|dn] before activation), the hidden-side ones <paramref name="dhg"/>
    /// (the same but dn⊙r for the n block), and the direct part of dh₋₁ (dh⊙z) into <paramref name="dhPrev"/>.
    /// </summary>
    public static void GruBackward(ReadOnlySpan<float> gates, ReadOnlySpan<float> hg, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dh, Span<float> dx, Span<float> dhg, Span<float> dhPrev)
    {
        int hs = dh.Length, j = 0;
        if (hg.Length < 3 * hs || hPrev.Length < hs || dx.Length < 3 * hs || dhg.Length < 3 * hs || dhPrev.Length < hs)
            throw new ArgumentException($"GruBackward: rows of {3 * hs} gates and {hs} states expected, got hg {hg.Length}, hPrev {hPrev.Length}, dx {dx.Length}, dhg {dhg.Length}, dhPrev {dhPrev.Length}.");
        var gr = gates.Slice(0, hs); var gz = gates.Slice(hs, hs); var gn = gates.Slice(2 * hs, hs);
        var hn = hg.Slice(2 * hs, hs);
        if (Avx512F.IsSupported)
        {
            // Twice Vector<float>'s lanes, as in LstmBackward (the kernel is 8 % of a 1-thread GRU step).
            ref float a = ref MemoryMarshal.GetReference(gates); ref float phg = ref MemoryMarshal.GetReference(hg);
            ref float php = ref MemoryMarshal.GetReference(hPrev); ref float pdh = ref MemoryMarshal.GetReference(dh);
            ref float pdx = ref MemoryMarshal.GetReference(dx); ref float pdhg = ref MemoryMarshal.GetReference(dhg);
            ref float pdp = ref MemoryMarshal.GetReference(dhPrev);
            nuint H = (nuint)hs;
            var one = Vector512<float>.One;
            for (; j <= hs - 16; j += 16)
            {
                nuint u = (nuint)j;
                var r = Vector512.LoadUnsafe(ref a, u); var z = Vector512.LoadUnsafe(ref a, H + u); var n = Vector512.LoadUnsafe(ref a, 2 * H + u);
                var d = Vector512.LoadUnsafe(ref pdh, u);
                var dn = d * (one - z) * (one - n * n);
                var dz = d * (Vector512.LoadUnsafe(ref php, u) - n) * z * (one - z);
                var dr = dn * Vector512.LoadUnsafe(ref phg, 2 * H + u) * r * (one - r);
                dr.StoreUnsafe(ref pdx, u); dr.StoreUnsafe(ref pdhg, u);
                dz.StoreUnsafe(ref pdx, H + u); dz.StoreUnsafe(ref pdhg, H + u);
                dn.StoreUnsafe(ref pdx, 2 * H + u); (dn * r).StoreUnsafe(ref pdhg, 2 * H + u);
                (d * z).StoreUnsafe(ref pdp, u);
            }
        }
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            var one = Vector<float>.One;
            for (; j <= hs - w; j += w)
            {
                var r = new Vector<float>(gr.Slice(j)); var z = new Vector<float>(gz.Slice(j)); var n = new Vector<float>(gn.Slice(j));
                var d = new Vector<float>(dh.Slice(j)); var hp = new Vector<float>(hPrev.Slice(j));
                var dn = d * (one - z) * (one - n * n);
                var dz = d * (hp - n) * z * (one - z);
                var dr = dn * new Vector<float>(hn.Slice(j)) * r * (one - r);
                dr.CopyTo(dx.Slice(j)); dr.CopyTo(dhg.Slice(j));
                dz.CopyTo(dx.Slice(hs + j)); dz.CopyTo(dhg.Slice(hs + j));
                dn.CopyTo(dx.Slice(2 * hs + j)); (dn * r).CopyTo(dhg.Slice(2 * hs + j));
                (d * z).CopyTo(dhPrev.Slice(j));
            }
        }
        for (; j < hs; j++)
        {
            float r = gr[j], z = gz[j], n = gn[j], d = dh[j];
            float dn = d * (1f - z) * (1f - n * n);
            float dz = d * (hPrev[j] - n) * z * (1f - z);
            float dr = dn * hn[j] * r * (1f - r);
            dx[j] = dhg[j] = dr;
            dx[hs + j] = dhg[hs + j] = dz;
            dx[2 * hs + j] = dn;
            dhg[2 * hs + j] = dn * r;
            dhPrev[j] = d * z;
        }
    }
}
