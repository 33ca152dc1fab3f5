using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// Batch normalisation split over channels gives the same bits on one and two threads (each
/// channel is computed whole by one thread), in training and evaluation, forward and backward, and
/// matches the formulas computed in double precision.
/// </summary>
[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class BatchNormKernelTests
{
    private static (float[] Y, float[] Dx, float[] Dgamma, float[] Dbeta, float[] Rm, float[] Rv) Run(int threads, bool training)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            // [6, 5, 41·29]: above the split threshold, odd sizes leave vector tails.
            var x = Tests.Core.Gen.N(51, 6, 5, 41, 29);
            Assert.True(x.Length >= BatchNormKernels.ParallelElements);
            x.Data[7] += 3f;
            var gamma = Tests.Core.Gen.N(52, 5);
            var beta = Tests.Core.Gen.N(53, 5);
            var rm = Tensor.FromArray([0.1f, -0.2f, 0.3f, 0f, 0.5f]);
            var rv = Tensor.FromArray([1.5f, 0.7f, 1f, 2f, 0.9f]);
            x.RequiresGrad = gamma.RequiresGrad = beta.RequiresGrad = true;
            var y = Ops.BatchNorm(x, rm, rv, gamma, beta, training);
            y.Backward(Tests.Core.Gen.N(54, 6, 5, 41, 29));
            return (y.ToArray(), x.Grad!.ToArray(), gamma.Grad!.ToArray(), beta.Grad!.ToArray(), rm.ToArray(), rv.ToArray());
        }
        finally { WorkerPool.Threads = saved; }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Two_threads_give_the_same_bits_as_one(bool training)
    {
        var one = Run(1, training);
        var two = Run(2, training);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.Dx, two.Dx);
        Assert.Equal(one.Dgamma, two.Dgamma);
        Assert.Equal(one.Dbeta, two.Dbeta);
        Assert.Equal(one.Rm, two.Rm);
        Assert.Equal(one.Rv, two.Rv);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Fused_relu_gives_the_bits_of_batch_norm_then_relu(bool training, bool affine)
    {
        // Odd sizes leave vector tails; exact zeros before the ReLU (β = 0 and x = μ) take the ½ rule.
        (float[] Y, float[] Dx, float[]? Dg, float[]? Db) Run(bool fused)
        {
            var x = Tests.Core.Gen.N(71, 3, 4, 9, 7);
            for (int i = 0; i < x.Length; i += 13) x.Data[i] = 0f;
            var gamma = affine ? Tests.Core.Gen.N(72, 4) : null;
            var beta = affine ? Tensor.FromArray([0.2f, 0f, -0.3f, 0.1f]) : null;
            var rm = Tensor.FromArray([0f, 0.1f, -0.2f, 0f]);
            var rv = Tensor.FromArray([1f, 0.7f, 1.5f, 2f]);
            x.RequiresGrad = true;
            if (affine) gamma!.RequiresGrad = beta!.RequiresGrad = true;
            var y = fused
                ? Ops.BatchNorm(x, rm, rv, gamma, beta, training, activation: Activation.Relu)
                : Ops.Relu(Ops.BatchNorm(x, rm, rv, gamma, beta, training));
            y.Backward(Tests.Core.Gen.N(73, 3, 4, 9, 7));
            return (y.ToArray(), x.Grad!.ToArray(), gamma?.Grad!.ToArray(), beta?.Grad!.ToArray());
        }
        var a = Run(fused: true);
        var b = Run(fused: false);
        Assert.Contains(0f, a.Y);
        Assert.Equal(b.Y, a.Y);
        Assert.Equal(b.Dx, a.Dx);
        Assert.Equal(b.Dg, a.Dg);
        Assert.Equal(b.Db, a.Db);
    }

    [Fact]
    public void Training_forward_matches_the_formula_in_double_precision()
    {
        var x = Tests.Core.Gen.N(61, 4, 3, 21, 19);
        var y = Ops.BatchNorm(x, null, null, null, null, training: true).ToArray();
        int n = 4, c = 3, s = 21 * 19;
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++) for (int k = 0; k < s; k++) sum += x.Data[(i * c + ch) * s + k];
            double mu = sum / (n * s);
            for (int i = 0; i < n; i++) for (int k = 0; k < s; k++) sq += Math.Pow(x.Data[(i * c + ch) * s + k] - mu, 2);
            double inv = 1 / Math.Sqrt(sq / (n * s) + 1e-5);
            for (int i = 0; i < n; i++)
                for (int k = 0; k < s; k++)
                {
                    int at = (i * c + ch) * s + k;
                    Assert.True(Math.Abs(y[at] - (x.Data[at] - mu) * inv) < 1e-4, $"channel {ch} element {at}: {y[at]} vs {(x.Data[at] - mu) * inv}");
                }
        }
    }
}
