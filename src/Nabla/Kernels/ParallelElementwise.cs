using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>
/// Elementwise span operations (the <see cref="TensorPrimitives"/> ones that optimisers use) split
/// into chunks across <see cref="WorkerPool"/> threads when the spans are long enough to pay for it;
/// shorter spans run on the calling thread exactly as <see cref="TensorPrimitives"/> would.
/// </summary>
/// <remarks>
/// Every operation is elementwise (element j of the output depends on element j of the inputs only),
/// so the split changes no result bit and the inputs may alias the output as in
/// <see cref="TensorPrimitives"/>. Nothing is allocated: the loop body is a struct holding pointers to
/// the pinned spans.
/// </remarks>
public static unsafe class ParallelElementwise
{
    /// <summary>
    /// The fewest elements a chunk gets. A parallel loop costs about a microsecond to hand out
    /// (see <see cref="WorkerPool"/>), and 32K floats of a three-stream operation move 384 KB, at
    /// least ~10 µs at the memory bandwidth any current core reaches; below that a split saves less
    /// than it costs. The split itself follows <see cref="WorkerPool.Threads"/>, so one-thread runs
    /// are unchanged.
    /// </summary>
    public const int MinChunk = 1 << 15;

    private enum Op { MultiplyAddScalar, Multiply, MultiplyScalar, Add, AddScalar, Subtract, Sqrt, Divide, DivideScalar, LerpScalar, MaxScalar, Max, Adam }

    /// <summary>dst = x·s + addend.</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> x, float s, ReadOnlySpan<float> addend, Span<float> dst) => Run(Op.MultiplyAddScalar, x, addend, dst, s);

    /// <summary>dst = x ⊙ y.</summary>
    public static void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst) => Run(Op.Multiply, x, y, dst);

    /// <summary>dst = x·s.</summary>
    public static void Multiply(ReadOnlySpan<float> x, float s, Span<float> dst) => Run(Op.MultiplyScalar, x, default, dst, s);

    /// <summary>dst = x + y.</summary>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst) => Run(Op.Add, x, y, dst);

    /// <summary>dst = x + s.</summary>
    public static void Add(ReadOnlySpan<float> x, float s, Span<float> dst) => Run(Op.AddScalar, x, default, dst, s);

    /// <summary>dst = x − y.</summary>
    public static void Subtract(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst) => Run(Op.Subtract, x, y, dst);

    /// <summary>dst = √x.</summary>
    public static void Sqrt(ReadOnlySpan<float> x, Span<float> dst) => Run(Op.Sqrt, x, default, dst);

    /// <summary>dst = x / y.</summary>
    public static void Divide(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst) => Run(Op.Divide, x, y, dst);

    /// <summary>dst = x / s.</summary>
    public static void Divide(ReadOnlySpan<float> x, float s, Span<float> dst) => Run(Op.DivideScalar, x, default, dst, s);

    /// <summary>dst = x + (y − x)·s (linear interpolation, as TensorPrimitives.Lerp).</summary>
    public static void Lerp(ReadOnlySpan<float> x, ReadOnlySpan<float> y, float s, Span<float> dst) => Run(Op.LerpScalar, x, y, dst, s);

    /// <summary>dst = max(x, s).</summary>
    public static void Max(ReadOnlySpan<float> x, float s, Span<float> dst) => Run(Op.MaxScalar, x, default, dst, s);

    /// <summary>dst = max(x, y).</summary>
    public static void Max(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst) => Run(Op.Max, x, y, dst);

    /// <summary>
    /// <see cref="OptimizerKernels.AdamStep"/> split across threads: w, m and v are updated in place
    /// from <paramref name="grad"/>.
    /// </summary>
    public static void AdamStep(Span<float> w, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float beta1, float beta2, float stepSize, float invSqrtBias2, float epsilon, float l2)
    {
        int n = w.Length;
        if (grad.Length != n || m.Length != n || v.Length != n) throw new ArgumentException("AdamStep: spans differ in length.");
        int chunks = ChunkCount(n, out int chunk);
        if (chunks <= 1)
        {
            OptimizerKernels.AdamStep(w, grad, m, v, beta1, beta2, stepSize, invSqrtBias2, epsilon, l2);
            return;
        }
        fixed (float* pw = w, pg = grad, pm = m, pv = v)
        {
            var body = new Body
            {
                Op = Op.Adam, X = pg, Y = pm, Z = pv, Dst = pw, N = n, Chunk = chunk,
                S = beta1, T = beta2, U = stepSize, V = invSqrtBias2, E = epsilon, L2 = l2,
            };
            WorkerPool.ParallelFor(chunks, body);
        }
    }

    /// <summary>How many chunks a span of <paramref name="n"/> elements is split into now (1: not split).</summary>
    public static int ChunkCount(int n, out int chunk)
    {
        int chunks = ChunkCount((long)n, out long per);
        chunk = (int)per;
        return chunks;
    }

    /// <summary><see cref="ChunkCount(int, out int)"/> for a total length that may exceed an int (several spans together).</summary>
    internal static int ChunkCount(long n, out long chunk)
    {
        int threads = WorkerPool.Threads;
        chunk = n;
        if (threads <= 1 || n < 2L * MinChunk) return 1;
        // Whole 64-float lines per chunk, at least MinChunk, and no more chunks than threads.
        long per = Math.Max(MinChunk, (n + threads - 1) / threads);
        per = (per + 63) & ~63L;
        chunk = per;
        return (int)((n + per - 1) / per);
    }

    private static void Run(Op op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst, float s = 0f)
    {
        int n = dst.Length;
        if (x.Length != n || (!y.IsEmpty && y.Length != n))
            throw new ArgumentException($"ParallelElementwise.{op}: spans differ in length ({x.Length}, {y.Length}, destination {n}).");
        int chunks = ChunkCount(n, out int chunk);
        if (chunks <= 1)
        {
            Apply(op, x, y, dst, s);
            return;
        }
        fixed (float* px = x, py = y, pd = dst)
        {
            WorkerPool.ParallelFor(chunks, new Body { Op = op, X = px, Y = py, Dst = pd, N = n, Chunk = chunk, S = s });
        }
    }

    private static void Apply(Op op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst, float s)
    {
        switch (op)
        {
            case Op.MultiplyAddScalar: TensorPrimitives.MultiplyAdd(x, s, y, dst); break;
            case Op.Multiply: TensorPrimitives.Multiply(x, y, dst); break;
            case Op.MultiplyScalar: TensorPrimitives.Multiply(x, s, dst); break;
            case Op.Add: TensorPrimitives.Add(x, y, dst); break;
            case Op.AddScalar: TensorPrimitives.Add(x, s, dst); break;
            case Op.Subtract: TensorPrimitives.Subtract(x, y, dst); break;
            case Op.Sqrt: TensorPrimitives.Sqrt(x, dst); break;
            case Op.Divide: TensorPrimitives.Divide(x, y, dst); break;
            case Op.DivideScalar: TensorPrimitives.Divide(x, s, dst); break;
            case Op.LerpScalar: TensorPrimitives.Lerp(x, y, s, dst); break;
            case Op.MaxScalar: TensorPrimitives.Max(x, s, dst); break;
            case Op.Max: TensorPrimitives.Max(x, y, dst); break;
            default: throw new InvalidOperationException($"ParallelElementwise: no single-span form of {op}.");
        }
    }

    private struct Body : IParallelForBody
    {
        public Op Op;
        public float* X, Y, Z, Dst;
        public int N, Chunk;
        public float S, T, U, V, E, L2;

        public readonly void Invoke(int index)
        {
            int start = index * Chunk;
            int length = Math.Min(Chunk, N - start);
            var dst = new Span<float>(Dst + start, length);
            var x = new ReadOnlySpan<float>(X + start, length);
            if (Op == Op.Adam)
            {
                OptimizerKernels.AdamStep(dst, x, new Span<float>(Y + start, length), new Span<float>(Z + start, length), S, T, U, V, E, L2);
                return;
            }
            var y = Y is null ? default : new ReadOnlySpan<float>(Y + start, length);
            Apply(Op, x, y, dst, S);
        }
    }
}
