using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>The fused span kernels against plain scalar references, on every instruction-set path CI forces.</summary>
[Trait("Category", "Kernels")]
public class FusedKernelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(1000)]
    public void AdamStep_matches_the_formula(int n)
    {
        var rng = new Random(n);
        float[] R() => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var w = R(); var g = R(); var m = R(); var v = R().Select(Math.Abs).ToArray();
        var (w0, m0, v0) = ((float[])w.Clone(), (float[])m.Clone(), (float[])v.Clone());
        const float b1 = 0.9f, b2 = 0.999f, step = 0.01f, inv = 3f, eps = 1e-8f, l2 = 0.1f;

        OptimizerKernels.AdamStep(w, g, m, v, b1, b2, step, inv, eps, l2);

        for (int i = 0; i < n; i++)
        {
            double gi = g[i] + l2 * (double)w0[i];
            double mi = b1 * (double)m0[i] + (1 - b1) * gi;
            double vi = b2 * (double)v0[i] + (1 - b2) * gi * gi;
            double wi = w0[i] - step * mi / (Math.Sqrt(vi) * inv + eps);
            Assert.Equal(mi, m[i], 1e-5);
            Assert.Equal(vi, v[i], 1e-5);
            Assert.Equal(wi, w[i], 1e-5);
        }
    }

    [Fact]
    public void AdamStep_gives_every_element_the_same_bits_wherever_it_sits()
    {
        // Vector body or scalar tail, 512- or 256-bit: an element's update may not depend on its position,
        // or a parallel split (which moves where the tails fall) would change results.
        const int n = 200;
        var rng = new Random(3);
        float[] R() => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var w = R(); var g = R(); var m = R(); var v = R().Select(Math.Abs).ToArray();
        const float b1 = 0.9f, b2 = 0.999f, step = 0.01f, inv = 3f, eps = 1e-8f, l2 = 0.1f;
        var (wa, ma, va) = ((float[])w.Clone(), (float[])m.Clone(), (float[])v.Clone());
        OptimizerKernels.AdamStep(wa, g, ma, va, b1, b2, step, inv, eps, l2);
        for (int offset = 1; offset < 40; offset += 3)
        {
            var (wb, mb, vb) = ((float[])w.Clone(), (float[])m.Clone(), (float[])v.Clone());
            // Two pieces cut at an odd offset: elements that were in the vector body now fall in a tail and back.
            OptimizerKernels.AdamStep(wb.AsSpan(0, offset), g.AsSpan(0, offset), mb.AsSpan(0, offset), vb.AsSpan(0, offset), b1, b2, step, inv, eps, l2);
            OptimizerKernels.AdamStep(wb.AsSpan(offset), g.AsSpan(offset), mb.AsSpan(offset), vb.AsSpan(offset), b1, b2, step, inv, eps, l2);
            Assert.Equal(wa, wb);
            Assert.Equal(ma, mb);
            Assert.Equal(va, vb);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(100)]
    public void ReluBackward_matches_the_subgradient(int n)
    {
        var rng = new Random(n);
        var z = Enumerable.Range(0, n).Select(i => i % 5 == 0 ? 0f : (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var g = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var dz = Enumerable.Repeat(1f, n).ToArray();
        ActivationKernels.ReluBackward(z, g, dz, accumulate: true);
        for (int i = 0; i < n; i++)
            Assert.Equal(1f + (z[i] > 0 ? g[i] : z[i] == 0 ? 0.5f * g[i] : 0f), dz[i]);
    }
}
