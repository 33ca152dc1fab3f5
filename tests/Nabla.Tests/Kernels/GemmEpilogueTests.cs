using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// The packed GEMM's epilogue (<see cref="Gemm.SgemmBiasRelu(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, bool, Span{float}, int)"/>):
/// bias and ReLU applied to each finished C tile, against the double-precision product, on every path,
/// with edge tiles, several k blocks and both thread counts; and the dense layer giving the same bits
/// whether it fuses the ReLU (no gradient) or keeps the pre-activation for the backward pass.
/// </summary>
[Trait("Category", "Kernels")]
public class GemmEpilogueTests
{
    private static GemmPath[] SupportedPaths() =>
        [.. new[] { GemmPath.Avx512, GemmPath.Avx2, GemmPath.Vector, GemmPath.Scalar }.Where(Gemm.IsSupported)];

    private static float[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    [Theory]
    [InlineData(37, 70, 800)]   // edge tiles in both directions, k over several KC blocks
    [InlineData(130, 33, 17)]
    [InlineData(260, 100, 300)] // more than MC rows
    [InlineData(16, 64, 1)]
    public void MatchesTheProductPlusBiasThenRelu(int m, int n, int k)
    {
        // x [m, k] times Wᵀ with W [n, k]: the dense layer's forward.
        float[] x = Random(m * k, 1), w = Random(n * k, 2), bias = Random(n, 3);
        var reference = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = bias[j];
                for (int p = 0; p < k; p++) s += (double)x[i * k + p] * w[j * k + p];
                reference[i * n + j] = s;
            }
        foreach (var path in SupportedPaths())
            foreach (int threads in new[] { 1, Math.Max(2, Environment.ProcessorCount) })
                foreach (bool relu in new[] { false, true })
                    foreach (bool withBias in new[] { false, true })
                    {
                        var c = new float[m * n];
                        Array.Fill(c, float.NaN); // beta = 0: the old C must not be read
                        Assert.True(Gemm.SgemmBiasRelu(path, threads, false, true, m, n, k, x, k, w, k, withBias ? bias : default, relu, c, n));
                        for (int e = 0; e < c.Length; e++)
                        {
                            double want = reference[e] - (withBias ? 0 : bias[e % n]);
                            if (relu) want = Math.Max(want, 0);
                            Assert.True(Math.Abs(c[e] - want) <= 1e-5 * (1 + Math.Sqrt(k)),
                                $"{path}, {threads} threads, relu {relu}, bias {withBias}: C[{e / n}, {e % n}] = {c[e]}, want {want}");
                        }
                    }
    }

    [Fact]
    public void ReluKeepsNaN()
    {
        // A NaN input row stays NaN through the ReLU, as TensorPrimitives.Max gives in the row pass.
        int m = 24, n = 64, k = 40;
        float[] x = Random(m * k, 4), w = Random(n * k, 5);
        x[5 * k + 3] = float.NaN;
        var c = new float[m * n];
        Assert.True(Gemm.SgemmBiasRelu(false, true, m, n, k, x, k, w, k, default, true, c, n));
        for (int j = 0; j < n; j++) Assert.True(float.IsNaN(c[5 * n + j]), $"C[5, {j}] = {c[5 * n + j]}");
        Assert.All(c.AsSpan(0, 5 * n).ToArray(), v => Assert.True(v >= 0));
    }

    [Theory]
    [InlineData(1, 256, 784)] // a row vector: dot products
    [InlineData(128, 1, 128)] // a column vector (a narrow C is packed on paths narrower than 10)
    public void OtherKernelsLeaveItToTheCaller(int m, int n, int k)
    {
        float[] x = Random(m * k, 6), w = Random(n * k, 7);
        var c = new float[m * n];
        Assert.False(Gemm.SgemmBiasRelu(false, true, m, n, k, x, k, w, k, new float[n], true, c, n));
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void BiasOfTheWrongLengthIsAnError()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Gemm.SgemmBiasRelu(false, true, 32, 64, 8, new float[32 * 8], 8, new float[64 * 8], 8, new float[63], false, new float[32 * 64], 64));
        Assert.Contains("63 values for 64 columns", ex.Message);
    }

    [Theory]
    [InlineData(128)]
    [InlineData(1000)]
    [InlineData(1)]
    public void DenseLayerGivesTheSameBitsWithAndWithoutGradient(int batch)
    {
        var x = Tensor.FromArray(Random(batch * 300, 8), batch, 300);
        var w = Tensor.FromArray(Random(96 * 300, 9), 96, 300);
        var b = Tensor.FromArray(Random(96, 10), 96);
        float[] fused;
        using (GradMode.NoGrad()) fused = Ops.Linear(x, w, b, Activation.Relu).Data.ToArray();
        w.RequiresGrad = true;
        float[] kept = Ops.Linear(x, w, b, Activation.Relu).Data.ToArray();
        Assert.Equal(fused, kept);
        using (GradMode.NoGrad())
        {
            float[] plain = Ops.Relu(Ops.Linear(x, w, b)).Data.ToArray();
            Assert.Equal(fused, plain);
        }
    }
}
