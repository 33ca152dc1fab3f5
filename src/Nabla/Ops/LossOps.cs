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
    /// <summary>No reduction: one loss per element (per sample for class losses), as PyTorch's <c>reduction='none'</c>.</summary>
    None,
}

public static partial class Ops
{
    /// <summary>Mean (or summed) squared error between <paramref name="prediction"/> and <paramref name="target"/> (same shapes).</summary>
    public static Tensor MseLoss(Tensor prediction, Tensor target, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("MseLoss", prediction, target);
        var diff = prediction - target;
        var sq = diff * diff;
        return Reduce(sq, reduction);
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
        if (reduction == Reduction.None) return BinaryCrossEntropyElements(probabilities, target);
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
        if (reduction == Reduction.None) return BinaryCrossEntropyWithLogitsElements(logits, target);
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
    /// Logits [N, C, d1, …] take one class per position (<see cref="SpatialCrossEntropy"/>).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, Reduction reduction = Reduction.Mean)
    {
        // [N, C, d1, …] with one class per position: per-pixel cross-entropy, as PyTorch's.
        if (logits.Rank > 2) return SpatialCrossEntropy(logits, targets, reduction);
        var (n, c) = CheckClassTargets("CrossEntropy", logits, targets);
        if (reduction == Reduction.None) return Neg(PickPerRow(LogSoftmax(logits, -1), targets));
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
        if (reduction == Reduction.None) return Neg(Sum(Mul(lp, targetDistribution), -1));
        var total = Neg(Sum(Mul(lp, targetDistribution)));
        int n = logits.Rank >= 2 ? logits.Length / logits.Shape.Last : 1;
        return reduction == Reduction.Mean ? Mul(total, 1f / n) : total;
    }

    /// <summary>Negative log-likelihood of class indices given log-probabilities [N, C]: −mean log p[t].</summary>
    public static Tensor NllLoss(Tensor logProbabilities, int[] targets, Reduction reduction = Reduction.Mean)
    {
        var (n, c) = CheckClassTargets("NllLoss", logProbabilities, targets);
        if (reduction == Reduction.None) return Neg(PickPerRow(logProbabilities, targets));
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
    /// The multiclass SVM (hinge) loss of the notes, per sample Lᵢ = Σ_{j≠tᵢ} max(0, s_j − s_tᵢ + margin),
    /// then averaged over the batch (<see cref="Reduction.Mean"/>: (1/N)·Σᵢ Lᵢ), summed, or kept per sample.
    /// This is C times PyTorch's <c>multi_margin_loss</c> (which also divides by the number of classes C):
    /// use <see cref="MultiMarginLoss"/> for PyTorch's definition.
    /// </summary>
    public static Tensor MultiClassHingeLoss(Tensor scores, int[] targets, float margin = 1f, Reduction reduction = Reduction.Mean) =>
        Reduce(HingeRows(scores, targets, margin, 1, 1f, "MultiClassHingeLoss"), reduction);

    /// <summary>
    /// PyTorch's <c>multi_margin_loss</c>: per sample Lᵢ = (1/C)·Σ_{j≠tᵢ} max(0, margin − x_tᵢ + x_j)ᵖ with p = 1 or 2,
    /// then the mean over the batch (default), the sum, or one value per sample. With p = 1 it is the notes'
    /// hinge (<see cref="MultiClassHingeLoss"/>) divided by C.
    /// </summary>
    public static Tensor MultiMarginLoss(Tensor input, int[] targets, int p = 1, float margin = 1f, Reduction reduction = Reduction.Mean)
    {
        if (p is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(p), $"MultiMarginLoss: p must be 1 or 2, got {p}.");
        var (_, c) = CheckClassTargets("MultiMarginLoss", input, targets);
        return Reduce(HingeRows(input, targets, margin, p, 1f / c, "MultiMarginLoss"), reduction);
    }

    /// <summary>Per-row scale·Σ_{j≠t} max(0, s_j − s_t + margin)^p as a [N] tensor.</summary>
    private static Tensor HingeRows(Tensor scores, int[] targets, float margin, int p, float scale, string op)
    {
        var (n, c) = CheckClassTargets(op, scores, targets);
        var s = scores.Data;
        var active = new float[n * c]; // the positive margins (0 where inactive)
        var r = new Tensor(new Shape(n));
        var rd = r.Data;
        for (int i = 0; i < n; i++)
        {
            float st = s[i * c + targets[i]];
            double loss = 0;
            for (int j = 0; j < c; j++)
            {
                if (j == targets[i]) continue;
                float m = s[i * c + j] - st + margin;
                if (m > 0) { loss += p == 1 ? m : (double)m * m; active[i * c + j] = m; }
            }
            rd[i] = (float)(loss * scale);
        }
        if (Graph.NeedsGrad(scores))
            Graph.Record(r, op, [scores], g =>
            {
                var gs = scores.GradBuffer().Data;
                var gd = g.Data;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < c; j++)
                        if (active[i * c + j] > 0)
                        {
                            // d/ds_j of m^p is p·m^(p−1); s_t gets the opposite.
                            float w = gd[i] * scale * (p == 1 ? 1f : 2f * active[i * c + j]);
                            gs[i * c + j] += w;
                            gs[i * c + targets[i]] -= w;
                        }
            });
        return r;
    }

    /// <summary>
    /// Smooth L1 (Huber with β), per element ½x²/β where |x| &lt; β and |x| − ½β elsewhere (x = prediction − target);
    /// the mean over elements by default (PyTorch's <c>smooth_l1_loss</c>), or the sum, or every element.
    /// </summary>
    public static Tensor SmoothL1Loss(Tensor prediction, Tensor target, float beta = 1f, Reduction reduction = Reduction.Mean)
    {
        RequireSameShape("SmoothL1Loss", prediction, target);
        if (!(beta > 0)) throw new ArgumentOutOfRangeException(nameof(beta), $"SmoothL1Loss: beta must be positive, got {beta}.");
        int n = prediction.Length;
        var d = TensorArena.Allocate(n, clear: false);
        TensorPrimitives.Subtract(prediction.Data, target.Data, d);
        var r = Tensor.Uninitialized(prediction.Shape);
        var rd = r.Data;
        for (int i = 0; i < n; i++) { float x = d[i]; rd[i] = Math.Abs(x) < beta ? 0.5f * x * x / beta : Math.Abs(x) - 0.5f * beta; }
        if (Graph.NeedsGrad(prediction, target))
            Graph.Record(r, "SmoothL1Loss", [prediction, target], g =>
            {
                var gd = g.Data;
                var dd = TensorArena.Allocate(n, clear: false);
                for (int i = 0; i < n; i++) dd[i] = gd[i] * (Math.Abs(d[i]) < beta ? d[i] / beta : SignOrNaN(d[i]));
                if (prediction.RequiresGrad) AddInPlace(prediction.GradBuffer().Data, dd);
                if (target.RequiresGrad) TensorPrimitives.Subtract(target.GradBuffer().Data, dd, target.GradBuffer().Data);
            });
        return Reduce(r, reduction);
    }

    /// <summary>Applies a <see cref="Reduction"/> to per-element losses.</summary>
    private static Tensor Reduce(Tensor losses, Reduction reduction) => reduction switch
    {
        Reduction.Mean => Mean(losses),
        Reduction.Sum => Sum(losses),
        Reduction.None => losses,
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), $"Unknown reduction {reduction}."),
    };

    /// <summary>x[i, t_i] for each row, as a [N] tensor (differentiable).</summary>
    private static Tensor PickPerRow(Tensor x, int[] targets)
    {
        int c = x.Shape[1];
        var offsets = new int[targets.Length];
        for (int i = 0; i < targets.Length; i++) offsets[i] = i * c + targets[i];
        return GatherOffsets(x, new Shape(targets.Length), offsets, "PickPerRow");
    }

    /// <summary>Per-element binary cross-entropy on probabilities clamped to [1e-7, 1 − 1e-7].</summary>
    private static Tensor BinaryCrossEntropyElements(Tensor p, Tensor t)
    {
        var pc = Clamp(p, 1e-7f, 1 - 1e-7f);
        return Neg(Add(Mul(t, Log(pc)), Mul(Add(Neg(t), 1f), Log(Add(Neg(pc), 1f)))));
    }

    /// <summary>Per-element max(z,0) − z·t + log(1 + e^−|z|), composed of differentiable ops.</summary>
    private static Tensor BinaryCrossEntropyWithLogitsElements(Tensor z, Tensor t) =>
        Add(Sub(Relu(z), Mul(z, t)), Log(Add(Exp(Neg(Abs(z))), 1f)));

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
