using System.Numerics.Tensors;
using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// <see cref="DenseRows"/>: the bias and activation passes of a dense layer give the same bits whether their rows
/// are split over threads (large outputs) or not, and a whole batch-1000 layer agrees between 1 and 2 threads.
/// </summary>
[Trait("Category", "Kernels")]
[Collection(nameof(WorkerPoolSettingsCollection))]
public class DenseRowsTests
{
    private static T WithThreads<T>(int threads, Func<T> f)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try { return f(); }
        finally { WorkerPool.Threads = saved; }
    }

    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Tanh)]
    public void Split_rows_give_the_serial_bits(Activation activation)
    {
        // 1000 × 131 is above the split threshold (2 × MinChunk), with rows that are not a multiple of a vector.
        const int rows = 1000, cols = 131;
        Assert.True(rows * cols >= 2 * ParallelElementwise.MinChunk);
        var rng = new Random(5);
        var bias = Enumerable.Range(0, cols).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var z0 = Enumerable.Range(0, rows * cols).Select(i => i % 97 == 0 ? 0f : (float)(rng.NextDouble() * 6 - 3)).ToArray();

        float[] Run(int threads) => WithThreads(threads, () =>
        {
            var z = new float[rows * cols];
            DenseRows.FillBias(z, bias, rows);
            TensorPrimitives.Add(z, z0, z);
            var y = new float[rows * cols];
            DenseRows.Activate(z, y, rows, cols, activation);
            return z.Concat(y).ToArray();
        });

        var serial = Run(1);
        Assert.Equal(serial, Run(2));
        // And the serial passes are what they say: every row starts as the bias, y = act(z).
        float z7 = bias[7] + z0[3 * cols + 7];
        Assert.Equal(z7, serial[3 * cols + 7]);
        float expected = activation switch { Activation.Relu => MathF.Max(z7, 0f), Activation.Sigmoid => 1f / (1f + MathF.Exp(-z7)), _ => MathF.Tanh(z7) };
        Assert.Equal(expected, serial[rows * cols + 3 * cols + 7], 5);
    }

    [Fact]
    public void A_batch_1000_dense_layer_agrees_bit_for_bit_on_1_and_2_threads()
    {
        var rng = new Random(6);
        var layer = new Nabla.Nn.Linear(200, 96, rng: rng);
        var x = Tensor.FromArray(Enumerable.Range(0, 1000 * 200).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), 1000, 200);
        float[] Run(int threads) => WithThreads(threads, () =>
        {
            using var _ = Nabla.Autograd.GradMode.NoGrad();
            return layer.Forward(x, Activation.Relu).Data.ToArray();
        });
        Assert.Equal(Run(1), Run(2));
    }
}
