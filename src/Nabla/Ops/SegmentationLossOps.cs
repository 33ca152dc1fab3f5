using System.Numerics.Tensors;
using Nabla.Autograd;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// Per-pixel softmax cross-entropy, as PyTorch's <c>cross_entropy</c> on logits [N, C, d1, …, dk]
    /// with class indices [N, d1, …, dk] (row-major, <paramref name="targets"/> flat): the softmax
    /// runs over axis 1 at every position. Mean: over all N·d1·…·dk positions; None: a loss per
    /// position, shape [N, d1, …, dk]. Fused and stable (the maximum over the classes is subtracted);
    /// gradient (softmax(z) − onehot(t)) times the reduction's scale.
    /// </summary>
    public static Tensor SpatialCrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c, s) = CheckSpatialTargets("CrossEntropy", logits, targets);
        // probs holds softmax(z) in the logits' layout [N, C, S] for the backward pass.
        var probs = TensorArena.Allocate(n * c * s, clear: false);
        var losses = new float[n * s];
        var max = new float[s];
        var sum = new float[s];
        var z = logits.Data;
        for (int b = 0; b < n; b++)
        {
            int baseOffset = b * c * s;
            z.Slice(baseOffset, s).CopyTo(max);
            for (int k = 1; k < c; k++) TensorPrimitives.Max(max, z.Slice(baseOffset + k * s, s), max);
            Array.Clear(sum);
            for (int k = 0; k < c; k++)
            {
                var p = probs.AsSpan(baseOffset + k * s, s);
                TensorPrimitives.Subtract(z.Slice(baseOffset + k * s, s), max, p);
                TensorPrimitives.Exp(p, p);
                TensorPrimitives.Add(sum, p, sum);
            }
            for (int i = 0; i < s; i++)
            {
                int t = targets[b * s + i];
                // −log softmax(z)[t] = log Σ e^(z − max) − (z[t] − max)
                losses[b * s + i] = MathF.Log(sum[i]) - (z[baseOffset + t * s + i] - max[i]);
            }
            for (int k = 0; k < c; k++)
            {
                var p = probs.AsSpan(baseOffset + k * s, s);
                TensorPrimitives.Divide(p, sum, p);
            }
        }
        Tensor r;
        if (reduction == Reduction.None)
        {
            var shape = new int[logits.Rank - 1];
            shape[0] = n;
            for (int d = 2; d < logits.Rank; d++) shape[d - 1] = logits.Shape[d];
            r = Tensor.FromArray(losses, shape);
        }
        else
        {
            double total = 0;
            foreach (float l in losses) total += l;
            r = Tensor.Scalar((float)(reduction == Reduction.Mean ? total / ((double)n * s) : total));
        }
        if (Graph.NeedsGrad(logits))
            Graph.Record(r, "CrossEntropy", [logits], g =>
            {
                var gz = logits.GradBuffer().Data;
                var scale = new float[s];
                for (int b = 0; b < n; b++)
                {
                    if (reduction == Reduction.None) g.Data.Slice(b * s, s).CopyTo(scale);
                    else Array.Fill(scale, reduction == Reduction.Mean ? g.Data[0] / ((float)n * s) : g.Data[0]);
                    int baseOffset = b * c * s;
                    for (int k = 0; k < c; k++)
                    {
                        var p = probs.AsSpan(baseOffset + k * s, s);
                        TensorPrimitives.MultiplyAdd(p, scale, gz.Slice(baseOffset + k * s, s), gz.Slice(baseOffset + k * s, s));
                    }
                    for (int i = 0; i < s; i++) gz[baseOffset + targets[b * s + i] * s + i] -= scale[i];
                }
            });
        return r;
    }

    /// <summary>
    /// Soft Dice loss on logits [N, C, d1, …, dk] against class indices [N, d1, …, dk] (flat): with
    /// p = softmax over axis 1 and t the one-hot targets, per class
    /// D_c = (2·Σ p_c·t_c + smooth) / (Σ p_c + Σ t_c + smooth) summed over the batch and all positions,
    /// and the loss 1 − mean_c D_c (Milletari et al. 2016, the multi-class form of segmentation
    /// libraries). Differentiable; <paramref name="smooth"/> keeps a class absent from both the
    /// targets and the prediction at D_c ≈ 1 rather than 0/0. It weighs every class equally however
    /// few pixels it has, so it pairs well with per-pixel cross-entropy, which background dominates.
    /// </summary>
    public static Tensor DiceLoss(Tensor logits, int[] targets, float smooth = 1f)
    {
        var (n, c, s) = CheckSpatialTargets("DiceLoss", logits, targets);
        if (!(smooth >= 0) || !float.IsFinite(smooth)) throw new ArgumentOutOfRangeException(nameof(smooth), $"DiceLoss: smooth {smooth} must be finite and non-negative.");
        var probs = TensorArena.Allocate(n * c * s, clear: false);
        SoftmaxAxis1(logits.Data, probs, n, c, s);
        var inter = new double[c];
        var predSum = new double[c];
        var count = new double[c];
        for (int b = 0; b < n; b++)
        {
            for (int k = 0; k < c; k++) predSum[k] += TensorPrimitives.Sum(probs.AsSpan((b * c + k) * s, s));
            for (int i = 0; i < s; i++)
            {
                int t = targets[b * s + i];
                inter[t] += probs[(b * c + t) * s + i];
                count[t] += 1;
            }
        }
        var dice = new double[c];
        var den = new double[c];
        double mean = 0;
        for (int k = 0; k < c; k++)
        {
            den[k] = predSum[k] + count[k] + smooth;
            if (den[k] <= 0) throw new ArgumentException("DiceLoss: smooth 0 with a class that is absent from both the targets and the prediction gives 0/0; use smooth > 0.");
            dice[k] = (2 * inter[k] + smooth) / den[k];
            mean += dice[k];
        }
        var r = Tensor.Scalar((float)(1 - mean / c));
        if (Graph.NeedsGrad(logits))
            Graph.Record(r, "DiceLoss", [logits], g =>
            {
                // ∂L/∂p_ci = −(2·t_ci − D_c) / (C·den_c); then back through the softmax:
                // ∂L/∂z_ki = p_ki·(∂L/∂p_ki − Σ_c p_ci·∂L/∂p_ci).
                float go = g.Data[0];
                var gz = logits.GradBuffer().Data;
                var gp = new float[c * s];
                var dot = new float[s];
                var coef = new float[c];
                var twice = new float[c];
                for (int k = 0; k < c; k++)
                {
                    coef[k] = (float)(dice[k] / (c * den[k]));
                    twice[k] = (float)(-2.0 / (c * den[k]));
                }
                for (int b = 0; b < n; b++)
                {
                    for (int k = 0; k < c; k++) Array.Fill(gp, coef[k], k * s, s);
                    for (int i = 0; i < s; i++) { int t = targets[b * s + i]; gp[t * s + i] += twice[t]; }
                    Array.Clear(dot);
                    for (int k = 0; k < c; k++)
                        TensorPrimitives.MultiplyAdd(probs.AsSpan((b * c + k) * s, s), gp.AsSpan(k * s, s), dot, dot);
                    for (int k = 0; k < c; k++)
                    {
                        var row = gp.AsSpan(k * s, s);
                        TensorPrimitives.Subtract(row, dot, row);
                        TensorPrimitives.Multiply(row, probs.AsSpan((b * c + k) * s, s), row);
                        var dst = gz.Slice((b * c + k) * s, s);
                        TensorPrimitives.MultiplyAdd(row, go, dst, dst);
                    }
                }
            });
        return r;
    }

    // Softmax over the class axis of [N, C, S] logits, stable.
    private static void SoftmaxAxis1(ReadOnlySpan<float> z, Span<float> probs, int n, int c, int s)
    {
        var max = new float[s];
        var sum = new float[s];
        for (int b = 0; b < n; b++)
        {
            int o = b * c * s;
            z.Slice(o, s).CopyTo(max);
            for (int k = 1; k < c; k++) TensorPrimitives.Max(max, z.Slice(o + k * s, s), max);
            Array.Clear(sum);
            for (int k = 0; k < c; k++)
            {
                var p = probs.Slice(o + k * s, s);
                TensorPrimitives.Subtract(z.Slice(o + k * s, s), max, p);
                TensorPrimitives.Exp(p, p);
                TensorPrimitives.Add(sum, p, sum);
            }
            for (int k = 0; k < c; k++) TensorPrimitives.Divide(probs.Slice(o + k * s, s), sum, probs.Slice(o + k * s, s));
        }
    }

    // Logits [N, C, d1, …] (rank ≥ 3) and one class index per [N, d1, …] position.
    private static (int N, int C, int S) CheckSpatialTargets(string op, Tensor logits, int[] targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (logits.Rank < 3) throw new ShapeMismatchException(op, logits.Shape, null, "expects logits [N, C, d1, …] with the classes on axis 1");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (c < 1) throw new ShapeMismatchException(op, logits.Shape, null, "needs at least one class on axis 1");
        long s = 1;
        for (int d = 2; d < logits.Rank; d++) s *= logits.Shape[d];
        if ((long)n * s != targets.Length)
            throw new ArgumentException($"{op}: {targets.Length} targets for logits {logits.Shape}, which need N·d1·…·dk = {(long)n * s} (one class per position).");
        for (int i = 0; i < targets.Length; i++)
            if ((uint)targets[i] >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{op}: target {targets[i]} at position {i} (sample {i / s}, offset {i % s}) is not a class in [0, {c}).");
        return (n, c, (int)s);
    }
}
