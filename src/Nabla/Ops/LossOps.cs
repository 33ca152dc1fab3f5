using System.Numerics.Tensors;
using Nabla.Autograd;

namespace Nabla;

/// <summary>How a loss over a batch is reduced to one number.</summary>
public enum Reduction
{
    /// <summary>The average over all elements (PyTorch's default).</summary>
    Mean,
    /// <summary>The sum over all elements.</summary>
    Sum,
}

public static partial class Ops
{
    /// <summary>Mean (or summed) squared error between <paramref name="prediction"/> and <paramref name="target"/> (same shapes).</summary>
    public static Tensor MseLoss(Tensor prediction, Tensor target, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("MseLoss", prediction, target);
        var diff = prediction - target;
        var sq = diff * diff;
        return reduction == Reduction.Mean ? Mean(sq) : Sum(sq);
    }

    /// <summary>The notes' cost C = ½ Σ (t − y)², whose gradient with respect to y is simply y − t.</summary>
    public static Tensor HalfSumSquaredError(Tensor prediction, Tensor target)
    {
        RequireSameShape("HalfSumSquaredError", prediction, target);
        var diff = prediction - target;
        return Sum(diff * diff) * 0.5f;
    }

    /// <summary>
    /// Binary cross-entropy on probabilities p ∈ (0,1): −mean[t·log p + (1−t)·log(1−p)]. Probabilities
    /// are clamped to [1e-7, 1−1e-7] so that a saturated sigmoid gives a large finite loss, not ∞.
    /// Prefer <see cref="BinaryCrossEntropyWithLogits"/> when the logits are available.
    /// </summary>
    public static Tensor BinaryCrossEntropy(Tensor probabilities, Tensor target, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("BinaryCrossEntropy", probabilities, target);
        const float eps = 1e-7f;
        int n = probabilities.Length;
        var p = probabilities.Data;
        var t = target.Data;
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            float pi = Math.Clamp(p[i], eps, 1 - eps);
            loss -= t[i] * Math.Log(pi) + (1 - t[i]) * Math.Log(1 - pi);
        }
        float scale = reduction == Reduction.Mean ? 1f / n : 1f;
        var r = Tensor.Scalar((float)(loss * scale));
        if (Graph.NeedsGrad(probabilities, target))
            Graph.Record(r, "BinaryCrossEntropy", [probabilities, target], g =>
            {
                var pp = probabilities.Data;
                var tt = target.Data;
                float s = g.Data[0] * scale;
                if (probabilities.RequiresGrad)
                {
                    var gp = probabilities.GradBuffer().Data;
                    for (int i = 0; i < n; i++)
                    {
                        float pi = Math.Clamp(pp[i], eps, 1 - eps);
                        gp[i] += s * (pi - tt[i]) / (pi * (1 - pi));
                    }
                }
                if (target.RequiresGrad)
                {
                    // ∂/∂t = log(1 − p) − log p (soft targets, e.g. distillation)
                    var gt = target.GradBuffer().Data;
                    for (int i = 0; i < n; i++)
                    {
                        float pi = Math.Clamp(pp[i], eps, 1 - eps);
                        gt[i] += s * (MathF.Log(1 - pi) - MathF.Log(pi));
                    }
                }
            });
        return r;
    }

    /// <summary>
    /// Binary cross-entropy on logits z, stable for any z: max(z,0) − z·t + log(1 + e^−|z|).
    /// Its gradient is σ(z) − t.
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("BinaryCrossEntropyWithLogits", logits, target);
        int n = logits.Length;
        var z = logits.Data;
        var t = target.Data;
        double loss = 0;
        for (int i = 0; i < n; i++)
            loss += Math.Max(z[i], 0f) - z[i] * t[i] + Math.Log(1 + Math.Exp(-Math.Abs(z[i])));
        float scale = reduction == Reduction.Mean ? 1f / n : 1f;
        var r = Tensor.Scalar((float)(loss * scale));
        if (Graph.NeedsGrad(logits, target))
            Graph.Record(r, "BinaryCrossEntropyWithLogits", [logits, target], g =>
            {
                if (logits.RequiresGrad)
                {
                    var gz = logits.GradBuffer().Data;
                    var sig = TensorArena.Allocate(n, clear: false);
                    TensorPrimitives.Sigmoid(logits.Data, sig);
                    TensorPrimitives.Subtract(sig, target.Data, sig);
                    TensorPrimitives.MultiplyAdd(sig, g.Data[0] * scale, gz, gz);
                }
                if (target.RequiresGrad)
                {
                    var gt = target.GradBuffer().Data; // ∂/∂t = −z
                    TensorPrimitives.MultiplyAdd(logits.Data, -g.Data[0] * scale, gt, gt);
                }
            });
        return r;
    }

    /// <summary>
    /// Softmax cross-entropy on logits [N, C] against class indices, fused and stable (log-sum-exp
    /// with the maximum subtracted; fine for logits of ±1e4). Gradient: (softmax(z) − onehot(t)) / N.
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c) = CheckClassTargets("CrossEntropy", logits, targets);
        var probs = TensorArena.Allocate(n * c, clear: false);
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Data.Slice(i * c, c);
            var lp = probs.AsSpan(i * c, c);
            LogSoftmaxRow(row, lp);
            loss -= lp[targets[i]];
            TensorPrimitives.Exp(lp, lp);
        }
        float scale = reduction == Reduction.Mean ? 1f / n : 1f;
        var r = Tensor.Scalar((float)(loss * scale));
        if (Graph.NeedsGrad(logits))
            Graph.Record(r, "CrossEntropy", [logits], g =>
            {
                float s = g.Data[0] * scale;
                var gz = logits.GradBuffer().Data;
                for (int i = 0; i < n; i++) probs[i * c + targets[i]] -= 1f;
                TensorPrimitives.MultiplyAdd(probs, s, gz, gz);
                for (int i = 0; i < n; i++) probs[i * c + targets[i]] += 1f;
            });
        return r;
    }

    /// <summary>Softmax cross-entropy on logits [N, C] against target distributions [N, C] (e.g. one-hot).</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor targetDistribution, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("CrossEntropy", logits, targetDistribution);
        var lp = LogSoftmax(logits, -1);
        var total = Neg(Sum(Mul(lp, targetDistribution)));
        int n = logits.Rank >= 2 ? logits.Length / logits.Shape.Last : 1;
        return reduction == Reduction.Mean ? Mul(total, 1f / n) : total;
    }

    /// <summary>Negative log-likelihood of class indices given log-probabilities [N, C]: −mean log p[t].</summary>
    public static Tensor NllLoss(Tensor logProbabilities, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c) = CheckClassTargets("NllLoss", logProbabilities, targets);
        double loss = 0;
        for (int i = 0; i < n; i++) loss -= logProbabilities.Data[i * c + targets[i]];
        float scale = reduction == Reduction.Mean ? 1f / n : 1f;
        var r = Tensor.Scalar((float)(loss * scale));
        if (Graph.NeedsGrad(logProbabilities))
            Graph.Record(r, "NllLoss", [logProbabilities], g =>
            {
                var gx = logProbabilities.GradBuffer().Data;
                for (int i = 0; i < n; i++) gx[i * c + targets[i]] -= g.Data[0] * scale;
            });
        return r;
    }

    /// <summary>
    /// The multiclass SVM (hinge) loss of the notes: Σ_{j≠t} max(0, s_j − s_t + margin), averaged
    /// over the batch.
    /// </summary>
    public static Tensor MultiClassHingeLoss(Tensor scores, int[] targets, float margin = 1f)
    {
        var (n, c) = CheckClassTargets("MultiClassHingeLoss", scores, targets);
        var s = scores.Data;
        var active = new bool[n * c];
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            float st = s[i * c + targets[i]];
            for (int j = 0; j < c; j++)
            {
                if (j == targets[i]) continue;
                float m = s[i * c + j] - st + margin;
                if (m > 0) { loss += m; active[i * c + j] = true; }
            }
        }
        var r = Tensor.Scalar((float)(loss / n));
        if (Graph.NeedsGrad(scores))
            Graph.Record(r, "MultiClassHingeLoss", [scores], g =>
            {
                var gs = scores.GradBuffer().Data;
                float w = g.Data[0] / n;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < c; j++)
                        if (active[i * c + j]) { gs[i * c + j] += w; gs[i * c + targets[i]] -= w; }
            });
        return r;
    }

    /// <summary>Smooth L1 (Huber with β): ½x²/β where |x| &lt; β, |x| − ½β elsewhere; mean over elements.</summary>
    public static Tensor SmoothL1Loss(Tensor prediction, Tensor target, float beta = 1f)
    {
        RequireSameShape("SmoothL1Loss", prediction, target);
        int n = prediction.Length;
        var d = TensorArena.Allocate(n, clear: false);
        TensorPrimitives.Subtract(prediction.Data, target.Data, d);
        double loss = 0;
        foreach (float x in d) loss += Math.Abs(x) < beta ? 0.5 * x * x / beta : Math.Abs(x) - 0.5 * beta;
        var r = Tensor.Scalar((float)(loss / n));
        if (Graph.NeedsGrad(prediction, target))
            Graph.Record(r, "SmoothL1Loss", [prediction, target], g =>
            {
                float w = g.Data[0] / n;
                var dd = TensorArena.Allocate(n, clear: false);
                for (int i = 0; i < n; i++) dd[i] = w * (Math.Abs(d[i]) < beta ? d[i] / beta : SignOrNaN(d[i]));
                if (prediction.RequiresGrad) AddInPlace(prediction.GradBuffer().Data, dd);
                if (target.RequiresGrad) TensorPrimitives.Subtract(target.GradBuffer().Data, dd, target.GradBuffer().Data);
            });
        return r;
    }

    /// <summary>The L2 penalty λ·Σ‖w‖² over <paramref name="weights"/> (add it to a data loss).</summary>
    public static Tensor L2Penalty(IEnumerable<Tensor> weights, float lambda)
    {
        Tensor? total = null;
        foreach (var w in weights)
        {
            var term = Sum(w * w);
            total = total is null ? term : total + term;
        }
        return (total ?? Tensor.Scalar(0f)) * lambda;
    }

    private static void RequireSameShape(string op, Tensor a, Tensor b)
    {
        if (a.Shape != b.Shape) throw new ShapeMismatchException(op, a.Shape, b.Shape, "prediction and target shapes differ");
    }

    private static (int n, int c) CheckClassTargets(string op, Tensor scores, int[] targets)
    {
        if (scores.Rank != 2) throw new ShapeMismatchException(op, scores.Shape, null, "expects scores of shape [N, C]");
        int n = scores.Shape[0], c = scores.Shape[1];
        if (targets.Length != n)
            throw new ArgumentException($"{op}: {targets.Length} targets for {n} rows of scores {scores.Shape}.");
        for (int i = 0; i < n; i++)
            if ((uint)targets[i] >= (uint)c)
                throw new ArgumentOutOfRangeException(nameof(targets), $"{op}: target {targets[i]} at row {i} is not a class in [0, {c}).");
        return (n, c);
    }
}
