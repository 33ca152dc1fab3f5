using System.Numerics.Tensors;
using Nabla.Autograd;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over the channel axis 1 of x [N, C], [N, C, L] or [N, C, H, W]:
    /// y = γ·(x − μ)/√(σ² + ε) + β per channel. In training μ and σ² are the batch's mean and biased
    /// variance over N and the spatial positions, and the running statistics (when given) move
    /// towards them: r ← (1 − momentum)·r + momentum·batch, the variance unbiased (·M/(M − 1)) as
    /// PyTorch does. In evaluation the running statistics are used. γ (weight) and β (bias) are
    /// optional [C] tensors. Backward (training): dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)),
    /// dγ = Σ dy·x̂, dβ = Σ dy.
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        const string op = "BatchNorm";
        if (x.Rank < 2 || x.Rank > 4) throw new ShapeMismatchException(op, x.Shape, null, "input must be [N, C], [N, C, L] or [N, C, H, W]");
        int n = x.Shape[0], c = x.Shape[1], s = x.Shape.Product(2, x.Rank), m = n * s;
        foreach (var (t, name) in new[] { (runningMean, "running_mean"), (runningVar, "running_var"), (weight, "weight"), (bias, "bias") })
            if (t is not null && (t.Rank != 1 || t.Shape[0] != c))
                throw new ShapeMismatchException($"{op} ({name})", x.Shape, t.Shape, $"must be [{c}] for {c} channels");
        if (!training && (runningMean is null || runningVar is null))
            throw new ArgumentException($"{op}: evaluation mode needs running statistics.");
        if (training && m <= 1)
            throw new ShapeMismatchException(op, x.Shape, null, "training needs more than one value per channel");
        if (eps <= 0 || !float.IsFinite(eps)) throw new ArgumentException($"{op}: eps {eps} must be positive.");

        var mean = new float[c];
        var invStd = new float[c];
        var xhat = Tensor.Uninitialized(x.Shape);
        var y = Tensor.Uninitialized(x.Shape);
        for (int ch = 0; ch < c; ch++)
        {
            float mu, variance;
            if (training)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += TensorPrimitives.Sum(x.Data.Slice((i * c + ch) * s, s));
                mu = (float)(sum / m);
                double sq = 0;
                for (int i = 0; i < n; i++)
                {
                    var dst = xhat.Data.Slice((i * c + ch) * s, s);
                    TensorPrimitives.Subtract(x.Data.Slice((i * c + ch) * s, s), mu, dst);
                    sq += TensorPrimitives.SumOfSquares(dst);
                }
                variance = (float)(sq / m);
                if (runningMean is not null) runningMean.Data[ch] = (1 - momentum) * runningMean.Data[ch] + momentum * mu;
                if (runningVar is not null) runningVar.Data[ch] = (1 - momentum) * runningVar.Data[ch] + momentum * (float)(sq / (m - 1));
            }
            else
            {
                mu = runningMean!.Data[ch];
                variance = runningVar!.Data[ch];
                for (int i = 0; i < n; i++) TensorPrimitives.Subtract(x.Data.Slice((i * c + ch) * s, s), mu, xhat.Data.Slice((i * c + ch) * s, s));
            }
            mean[ch] = mu;
            float inv = 1f / MathF.Sqrt(variance + eps);
            invStd[ch] = inv;
            float gamma = weight?.Data[ch] ?? 1f, beta = bias?.Data[ch] ?? 0f;
            for (int i = 0; i < n; i++)
            {
                var xh = xhat.Data.Slice((i * c + ch) * s, s);
                var yd = y.Data.Slice((i * c + ch) * s, s);
                TensorPrimitives.Multiply(xh, inv, xh);
                TensorPrimitives.Multiply(xh, gamma, yd);
                TensorPrimitives.Add(yd, beta, yd);
            }
        }
        bool needs = GradMode.IsEnabled && (x.RequiresGrad || (weight?.RequiresGrad ?? false) || (bias?.RequiresGrad ?? false));
        if (!needs) return y;
        var parents = new List<Tensor> { x };
        if (weight is not null) parents.Add(weight);
        if (bias is not null) parents.Add(bias);
        return Graph.Record(y, op, parents.ToArray(), gy =>
        {
            var dx = x.RequiresGrad ? x.GradBuffer().Data : default;
            var dgamma = weight is { RequiresGrad: true } ? weight.GradBuffer().Data : default;
            var dbeta = bias is { RequiresGrad: true } ? bias.GradBuffer().Data : default;
            for (int ch = 0; ch < c; ch++)
            {
                double sdy = 0, sdyx = 0;
                for (int i = 0; i < n; i++)
                {
                    int off = (i * c + ch) * s;
                    sdy += TensorPrimitives.Sum(gy.Data.Slice(off, s));
                    sdyx += TensorPrimitives.Dot(gy.Data.Slice(off, s), xhat.Data.Slice(off, s));
                }
                if (!dgamma.IsEmpty) dgamma[ch] += (float)sdyx;
                if (!dbeta.IsEmpty) dbeta[ch] += (float)sdy;
                if (dx.IsEmpty) continue;
                float scale = (weight?.Data[ch] ?? 1f) * invStd[ch];
                float meanDy = (float)(sdy / m), meanDyx = (float)(sdyx / m);
                for (int i = 0; i < n; i++)
                {
                    int off = (i * c + ch) * s;
                    var d = dx.Slice(off, s);
                    var g = gy.Data.Slice(off, s);
                    var xh = xhat.Data.Slice(off, s);
                    if (training)
                        for (int k = 0; k < s; k++) d[k] += scale * (g[k] - meanDy - xh[k] * meanDyx);
                    else
                        TensorPrimitives.MultiplyAdd(g, scale, d, d);
                }
            }
        });
    }
}
