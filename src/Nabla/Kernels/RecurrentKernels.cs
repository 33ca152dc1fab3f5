using System.Numerics;
using System.Numerics.Tensors;

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
        var gi = gates.Slice(0, hs); var gf = gates.Slice(hs, hs); var gg = gates.Slice(2 * hs, hs); var go = gates.Slice(3 * hs, hs);
        var di = dGates.Slice(0, hs); var df = dGates.Slice(hs, hs); var dgg = dGates.Slice(2 * hs, hs); var dout = dGates.Slice(3 * hs, hs);
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
        int hs = h.Length;
        var rz = xg.Slice(0, 2 * hs);
        TensorPrimitives.Add(rz, hg.Slice(0, 2 * hs), rz);
        FastMath.Sigmoid(rz, rz);
        var r = xg.Slice(0, hs);
        var z = xg.Slice(hs, hs);
        var n = xg.Slice(2 * hs, hs);
        TensorPrimitives.FusedMultiplyAdd(r, hg.Slice(2 * hs, hs), n, n);
        FastMath.Tanh(n, n);
        // h = n + z⊙(h₋₁ − n)
        TensorPrimitives.Subtract(hPrev, n, h);
        TensorPrimitives.FusedMultiplyAdd(z, h, n, h);
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
        var gr = gates.Slice(0, hs); var gz = gates.Slice(hs, hs); var gn = gates.Slice(2 * hs, hs);
        var hn = hg.Slice(2 * hs, hs);
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
