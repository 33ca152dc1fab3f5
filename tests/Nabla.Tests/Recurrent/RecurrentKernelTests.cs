using Nabla.Kernels;

namespace Nabla.Tests.Recurrent;

/// <summary>
/// The recurrent cell kernels against plain scalar formulas, with hidden sizes that leave vector tails
/// (40: AVX-512 lanes, then 8-wide vectors, then scalars). In the Kernels category, so CI also runs it
/// with AVX-512, AVX2 and all intrinsics switched off.
/// </summary>
[Trait("Category", "Kernels")]
public class RecurrentKernelTests
{
    private static float[] Rand(Random r, int n, float scale = 1.5f) => Enumerable.Range(0, n).Select(_ => scale * (2 * r.NextSingle() - 1)).ToArray();
    private static float Sig(float x) => 1f / (1f + MathF.Exp(-x));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 13)]
    [InlineData(2, 40)]
    public void Lstm_step_over_the_batch_equals_the_row_kernel_and_the_scalar_formulas(int rows, int H)
    {
        var r = new Random(H);
        var pre = Rand(r, rows * 4 * H);
        var cPrev = Rand(r, rows * H);
        var g1 = (float[])pre.Clone();
        var (c1, tc1, h1) = (new float[rows * H], new float[rows * H], new float[rows * H]);
        RecurrentKernels.LstmForwardStep(g1, cPrev, c1, tc1, h1, rows, H);
        for (int b = 0; b < rows; b++)
        {
            var g2 = pre.AsSpan(b * 4 * H, 4 * H).ToArray();
            var (c2, tc2, h2) = (new float[H], new float[H], new float[H]);
            RecurrentKernels.LstmForward(g2, cPrev.AsSpan(b * H, H), c2, tc2, h2);
            for (int j = 0; j < H; j++)
            {
                int o = b * 4 * H;
                float i = Sig(pre[o + j]), f = Sig(pre[o + H + j]), g = MathF.Tanh(pre[o + 2 * H + j]), og = Sig(pre[o + 3 * H + j]);
                float c = f * cPrev[b * H + j] + i * g;
                Assert.Equal(c, c1[b * H + j], 2e-5f);
                Assert.Equal(c, c2[j], 2e-5f);
                Assert.Equal(og * MathF.Tanh(c), h1[b * H + j], 2e-5f);
                Assert.Equal(og * MathF.Tanh(c), h2[j], 2e-5f);
                Assert.Equal(g, g1[o + 2 * H + j], 2e-5f);
                Assert.Equal(g, g2[2 * H + j], 2e-5f);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(40)]
    public void Gru_forward_row_is_PyTorchs_GRU(int H)
    {
        var r = new Random(3 + H);
        var xg = Rand(r, 3 * H); var hg = Rand(r, 3 * H); var hp = Rand(r, H);
        var gates = (float[])xg.Clone(); var h = new float[H];
        RecurrentKernels.GruForward(gates, hg, hp, h);
        for (int j = 0; j < H; j++)
        {
            double rr = 1 / (1 + Math.Exp(-(xg[j] + hg[j]))), z = 1 / (1 + Math.Exp(-(xg[H + j] + hg[H + j])));
            double n = Math.Tanh(xg[2 * H + j] + rr * hg[2 * H + j]);
            Assert.Equal(rr, gates[j], 1e-6); Assert.Equal(z, gates[H + j], 1e-6); Assert.Equal(n, gates[2 * H + j], 1e-6);
            Assert.Equal((1 - z) * n + z * hp[j], h[j], 1e-6);
        }
    }

    [Fact]
    public void Short_spans_are_refused_with_their_sizes()
    {
        const int H = 37;
        var e = Assert.Throws<ArgumentException>(() => RecurrentKernels.GruForward(new float[3 * H], new float[3 * H - 1], new float[H], new float[H]));
        Assert.Contains("hg 110", e.Message);
        Assert.Throws<ArgumentException>(() => RecurrentKernels.LstmBackward(new float[4 * H], new float[H], new float[H], new float[H - 1], new float[H], new float[4 * H]));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.GruBackward(new float[3 * H], new float[3 * H], new float[H], new float[H], new float[3 * H], new float[3 * H], new float[H - 1]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(13)]
    [InlineData(40)]
    public void Backward_kernels_equal_the_scalar_formulas(int H)
    {
        var r = new Random(7 + H);
        // LSTM: activated gates in (0,1) / (−1,1).
        var gates = Enumerable.Range(0, 4 * H).Select(k => k / H == 2 ? MathF.Tanh(2 * r.NextSingle() - 1) : r.NextSingle()).ToArray();
        var cPrev = Rand(r, H); var tc = Rand(r, H, 0.9f); var dh = Rand(r, H); var dc = Rand(r, H);
        var dcIn = (float[])dc.Clone();
        var dG = new float[4 * H];
        RecurrentKernels.LstmBackward(gates, cPrev, tc, dh, dc, dG);
        for (int j = 0; j < H; j++)
        {
            float i = gates[j], f = gates[H + j], g = gates[2 * H + j], o = gates[3 * H + j], t = tc[j];
            float dct = dcIn[j] + dh[j] * o * (1 - t * t);
            Assert.Equal(dct * g * i * (1 - i), dG[j], 2e-5f);
            Assert.Equal(dct * cPrev[j] * f * (1 - f), dG[H + j], 2e-5f);
            Assert.Equal(dct * i * (1 - g * g), dG[2 * H + j], 2e-5f);
            Assert.Equal(dh[j] * t * o * (1 - o), dG[3 * H + j], 2e-5f);
            Assert.Equal(dct * f, dc[j], 2e-5f);
        }
        // GRU.
        var gg = Enumerable.Range(0, 3 * H).Select(k => k / H == 2 ? MathF.Tanh(2 * r.NextSingle() - 1) : r.NextSingle()).ToArray();
        var hg = Rand(r, 3 * H); var hPrev = Rand(r, H);
        var (dx, dhg, dhp) = (new float[3 * H], new float[3 * H], new float[H]);
        RecurrentKernels.GruBackward(gg, hg, hPrev, dh, dx, dhg, dhp);
        for (int j = 0; j < H; j++)
        {
            float rr = gg[j], z = gg[H + j], n = gg[2 * H + j];
            float dn = dh[j] * (1 - z) * (1 - n * n);
            Assert.Equal(dn, dx[2 * H + j], 2e-5f);
            Assert.Equal(dn * rr, dhg[2 * H + j], 2e-5f);
            Assert.Equal(dh[j] * (hPrev[j] - n) * z * (1 - z), dx[H + j], 2e-5f);
            Assert.Equal(dn * hg[2 * H + j] * rr * (1 - rr), dhg[j], 2e-5f);
            Assert.Equal(dh[j] * z, dhp[j], 2e-5f);
        }
        // RNN.
        var h = Rand(r, H, 0.9f); var dgT = new float[H]; var dgR = new float[H];
        RecurrentKernels.RnnBackward(h, dh, dgT, relu: false);
        RecurrentKernels.RnnBackward(h, dh, dgR, relu: true);
        for (int j = 0; j < H; j++)
        {
            Assert.Equal(dh[j] * (1 - h[j] * h[j]), dgT[j], 2e-5f);
            Assert.Equal(h[j] > 0 ? dh[j] : 0f, dgR[j]);
        }
    }
}
