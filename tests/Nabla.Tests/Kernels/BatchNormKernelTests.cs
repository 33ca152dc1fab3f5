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
