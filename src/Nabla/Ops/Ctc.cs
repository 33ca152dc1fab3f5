using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// The CTC loss −log P(l|x) of every sequence of a batch (PyTorch's <c>ctc_loss</c> with
    /// <c>reduction='none'</c>): [N].
    /// </summary>
    /// <param name="logProbs">Log-probabilities [T, N, C] (log-softmax over C), sequence first.</param>
    /// <param name="targets">The labels, either concatenated (Σ targetLengths entries) or padded [N, max length] row by row.</param>
    /// <param name="inputLengths">Valid steps per sequence (each in [0, T]).</param>
    /// <param name="targetLengths">Label length per sequence.</param>
    /// <param name="blank">The blank class.</param>
    /// <param name="zeroInfinity">Whether an impossible alignment (a label that needs more steps than the
    /// input has) gives loss 0 instead of +∞. Either way its gradient is 0.</param>
    /// <remarks>
    /// Computed in log space with the α/β forward–backward recursion (<see cref="CtcKernels"/>),
    /// sequences in parallel. The gradient is the exact derivative with respect to
    /// <paramref name="logProbs"/>: −Σ_{s: l'ₛ = k} α(t,s)β(t,s) / (y(t,k)·P); chained through a
    /// log-softmax it becomes softmax − occupancy, the familiar CTC gradient.
    /// </remarks>
    public static Tensor CtcLossPerSample(Tensor logProbs, int[] targets, int[] inputLengths, int[] targetLengths, int blank = 0, bool zeroInfinity = false) =>
        CtcCore(logProbs, targets, inputLengths, targetLengths, blank, zeroInfinity, null);

    /// <summary>
    /// The CTC loss reduced over the batch: <see cref="Reduction.Mean"/> divides each sequence's loss
    /// by its label length (at least 1) and averages, as PyTorch does; <see cref="Reduction.Sum"/> adds.
    /// Arguments as <see cref="CtcLossPerSample"/>.
    /// </summary>
    public static Tensor CtcLoss(Tensor logProbs, int[] targets, int[] inputLengths, int[] targetLengths, int blank = 0,
        Reduction reduction = Reduction.Mean, bool zeroInfinity = false) =>
        CtcCore(logProbs, targets, inputLengths, targetLengths, blank, zeroInfinity, reduction);

    /// <summary>CTC loss with one label array per sequence; all inputs run the full T steps unless <paramref name="inputLengths"/> is given.</summary>
    public static Tensor CtcLoss(Tensor logProbs, IReadOnlyList<int[]> targets, int[]? inputLengths = null, int blank = 0,
        Reduction reduction = Reduction.Mean, bool zeroInfinity = false)
    {
        if (logProbs.Rank != 3) throw new ShapeMismatchException("CtcLoss", logProbs.Shape, null, "expects log-probabilities [T, N, C]");
        inputLengths ??= Enumerable.Repeat(logProbs.Shape[0], logProbs.Shape[1]).ToArray();
        return CtcCore(logProbs, targets.SelectMany(t => t).ToArray(), inputLengths, targets.Select(t => t.Length).ToArray(), blank, zeroInfinity, reduction);
    }

    private static Tensor CtcCore(Tensor logProbs, int[] targets, int[] inputLengths, int[] targetLengths, int blank, bool zeroInfinity, Reduction? reduction)
    {
        const string op = "CtcLoss";
        if (logProbs.Rank != 3) throw new ShapeMismatchException(op, logProbs.Shape, null, "expects log-probabilities [T, N, C]");
        int T = logProbs.Shape[0], N = logProbs.Shape[1], C = logProbs.Shape[2];
        if ((uint)blank >= (uint)C) throw new ArgumentOutOfRangeException(nameof(blank), $"{op}: blank {blank} is outside the {C} classes.");
        if (inputLengths.Length != N || targetLengths.Length != N)
            throw new ArgumentException($"{op}: {inputLengths.Length} input lengths and {targetLengths.Length} target lengths for a batch of {N}.");
        long total = 0;
        int maxLen = 0;
        for (int n = 0; n < N; n++)
        {
            if ((uint)inputLengths[n] > (uint)T) throw new ArgumentOutOfRangeException(nameof(inputLengths), $"{op}: input length {inputLengths[n]} of sequence {n} is outside [0, {T}].");
            if (targetLengths[n] < 0) throw new ArgumentOutOfRangeException(nameof(targetLengths), $"{op}: target length {targetLengths[n]} of sequence {n} is negative.");
            total += targetLengths[n];
            maxLen = Math.Max(maxLen, targetLengths[n]);
        }
        bool padded = targets.Length != total;
        if (padded && targets.Length != (long)N * maxLen)
            throw new ArgumentException($"{op}: {targets.Length} targets are neither the concatenated labels ({total}) nor padded [N={N}, {maxLen}].");
        var offsets = new int[N];
        for (int n = 0, off = 0; n < N; n++)
        {
            offsets[n] = padded ? n * maxLen : off;
            off += targetLengths[n];
            for (int j = 0; j < targetLengths[n]; j++)
            {
                int k = targets[offsets[n] + j];
                if ((uint)k >= (uint)C || k == blank)
                    throw new ArgumentOutOfRangeException(nameof(targets), $"{op}: label {k} at position {j} of sequence {n} is {(k == blank ? "the blank" : $"outside the {C} classes")}.");
            }
        }

        // α of every sequence is kept for backward; one table per sequence, sized [T, 2L+1].
        var tableOffsets = new long[N + 1];
        for (int n = 0; n < N; n++) tableOffsets[n + 1] = tableOffsets[n] + (long)inputLengths[n] * (2 * targetLengths[n] + 1);
        if (tableOffsets[N] > int.MaxValue / 2) throw new ArgumentException($"{op}: α/β tables of {tableOffsets[N]} entries are too large.");
        var alpha = TensorArena.Allocate((int)tableOffsets[N], clear: false);
        var logP = new float[N];
        var lpArr = logProbs.data;
        int stride = N * C;
        WorkerPool.ParallelFor(N, n =>
        {
            var lab = targets.AsSpan(offsets[n], targetLengths[n]);
            var a = alpha.AsSpan((int)tableOffsets[n], (int)(tableOffsets[n + 1] - tableOffsets[n]));
            logP[n] = CtcKernels.Alpha(lpArr.AsSpan(n * C), stride, inputLengths[n], lab, blank, a);
        });

        var perSample = new float[N];
        for (int n = 0; n < N; n++)
        {
            float l = -logP[n];
            if (float.IsPositiveInfinity(l) && zeroInfinity) l = 0f;
            perSample[n] = l;
        }
        Tensor result;
        if (reduction is null) result = new Tensor(perSample, new Shape(N));
        else
        {
            double s = 0;
            for (int n = 0; n < N; n++) s += reduction == Reduction.Mean ? perSample[n] / Math.Max(targetLengths[n], 1) : perSample[n];
            result = Tensor.Scalar((float)(reduction == Reduction.Mean ? s / Math.Max(N, 1) : s));
        }
        if (!Graph.NeedsGrad(logProbs)) return result;
        return Graph.Record(result, op, [logProbs], g =>
        {
            var grad = logProbs.GradBuffer().data;
            int maxS = 2 * maxLen + 1;
            var beta = TensorArena.Allocate((int)tableOffsets[N], clear: false);
            var scratch = TensorArena.Allocate(N * C, clear: false);
            var gd = g.data;
            WorkerPool.ParallelFor(N, n =>
            {
                if (float.IsNegativeInfinity(logP[n])) return; // impossible alignment: no gradient
                float scale = reduction switch
                {
                    null => gd[n],
                    Reduction.Mean => gd[0] / Math.Max(targetLengths[n], 1) / N,
                    _ => gd[0],
                };
                var lab = targets.AsSpan(offsets[n], targetLengths[n]);
                int len = (int)(tableOffsets[n + 1] - tableOffsets[n]);
                var b = beta.AsSpan((int)tableOffsets[n], len);
                var lp = lpArr.AsSpan(n * C);
                CtcKernels.Beta(lp, stride, inputLengths[n], lab, blank, b);
                CtcKernels.Gradient(lp, stride, inputLengths[n], C, lab, blank, alpha.AsSpan((int)tableOffsets[n], len), b, logP[n], scale,
                    grad.AsSpan(n * C), scratch.AsSpan(n * C, C));
            });
        });
    }
}
