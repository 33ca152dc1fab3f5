using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>
/// The row passes around a dense layer's forward GEMM (<see cref="Ops.Linear(Tensor, Tensor, Tensor?, Activation)"/>):
/// the bias written into every row of the output before the product accumulates onto it, and the
/// activation after. The packed kernel applies the bias and a ReLU to each tile itself
/// (Gemm.SgemmBiasRelu); these passes serve the other kernels (batch 1, a narrow output) and the
/// activations it does not fuse. Large outputs split their rows over the <see cref="WorkerPool"/> threads as the
/// GEMM's row units do, so each thread touches the rows its own core computes.
/// </summary>
/// <remarks>
/// At batch 1000 (784-256-128-10 inference, 2 threads) splitting them took the forward pass from 2,487–2,548 µs
/// to 2,372–2,499 (10 interleaved pairs, session 11): the passes themselves halve, and the next layer reads rows
/// its own core wrote. Below
/// 2 × <see cref="ParallelElementwise.MinChunk"/> elements (a training batch of 128) they stay on the
/// calling thread: there a split measured no gain (session 11). Each element gets the same operation
/// either way, so the split changes no result.
/// </remarks>
internal static unsafe class DenseRows
{
    /// <summary>Copies <paramref name="bias"/> into each of the <paramref name="rows"/> rows of <paramref name="z"/> ([rows, bias.Length]).</summary>
    public static void FillBias(Span<float> z, ReadOnlySpan<float> bias, int rows)
    {
        int cols = bias.Length;
        if (z.Length < rows * cols) throw new ArgumentException($"DenseRows.FillBias: {z.Length} floats cannot hold [{rows}, {cols}].");
        Run(z, z, bias, rows, cols, Activation.None, fill: true);
    }

    /// <summary>y = act(z) over [rows, cols] (y may be z); nothing for <see cref="Activation.None"/>.</summary>
    public static void Activate(Span<float> z, Span<float> y, int rows, int cols, Activation activation)
    {
        if (z.Length < rows * cols || y.Length < rows * cols) throw new ArgumentException($"DenseRows.Activate: spans too short for [{rows}, {cols}].");
        if (activation == Activation.None) return;
        Run(z, y, default, rows, cols, activation, fill: false);
    }

    private static void Run(Span<float> z, Span<float> y, ReadOnlySpan<float> bias, int rows, int cols, Activation activation, bool fill)
    {
        long n = (long)rows * cols;
        int threads = WorkerPool.Threads;
        int parts = threads <= 1 || n < 2L * ParallelElementwise.MinChunk ? 1 : Math.Min(threads, rows);
        fixed (float* pz = z, py = y, pb = bias)
        {
            var body = new Body { Z = pz, Y = py, Bias = pb, Rows = rows, Cols = cols, Parts = parts, Activation = activation, Fill = fill };
            if (parts <= 1) body.Invoke(0);
            else WorkerPool.ParallelFor(parts, body);
        }
    }

    private struct Body : IParallelForBody
    {
        public float* Z, Y, Bias;
        public int Rows, Cols, Parts;
        public Activation Activation;
        public bool Fill;

        public readonly void Invoke(int index)
        {
            int r0 = (int)((long)Rows * index / Parts), r1 = (int)((long)Rows * (index + 1) / Parts);
            if (Fill)
            {
                var b = new ReadOnlySpan<float>(Bias, Cols);
                for (int r = r0; r < r1; r++) b.CopyTo(new Span<float>(Z + (nint)r * Cols, Cols));
                return;
            }
            var z = new ReadOnlySpan<float>(Z + (nint)r0 * Cols, (r1 - r0) * Cols);
            var y = new Span<float>(Y + (nint)r0 * Cols, (r1 - r0) * Cols);
            switch (Activation)
            {
                case Activation.Relu: TensorPrimitives.Max(z, 0f, y); break;
                case Activation.Sigmoid: TensorPrimitives.Sigmoid(z, y); break;
                case Activation.Tanh: TensorPrimitives.Tanh(z, y); break;
            }
        }
    }
}
