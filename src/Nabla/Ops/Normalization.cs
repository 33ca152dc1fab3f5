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
    /// dγ = Σ dy·x̂, dβ = Σ dy. <paramref name="activation"/> (none or ReLU) is applied in the same
    /// pass, and its backward inside the batch norm's (the ResNet's batch norm → ReLU: two passes
    /// over the activations fewer each way).
    /// </summary>
    public static Tensor BatchNorm(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        bool training, float momentum = 0.1f, float eps = 1e-5f, Activation activation = Activation.None)
    {
        const string op = "BatchNorm";
        if (activation is not (Activation.None or Activation.Relu))
            throw new ArgumentException($"{op}: only ReLU is fused (got {activation}); apply other activations after it.");
        bool relu = activation == Activation.Relu;
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
        Kernels.BatchNormKernels.Forward(x.data, xhat.data, y.data, n, c, s, weight?.data, bias?.data,
            runningMean?.data, runningVar?.data, training, momentum, eps, mean, invStd, relu);
        bool needs = GradMode.IsEnabled && (x.RequiresGrad || (weight?.RequiresGrad ?? false) || (bias?.RequiresGrad ?? false));
        if (!needs) return y;
        var parents = new List<Tensor> { x };
        if (weight is not null) parents.Add(weight);
        if (bias is not null) parents.Add(bias);
        return Graph.Record(y, relu ? op + "+Relu" : op, parents.ToArray(), gy =>
        {
            var (dx, overwrite) = x.RequiresGrad ? x.GradTarget() : (null, false);
            var dgamma = weight is { RequiresGrad: true } ? weight.GradBuffer().data : null;
            var dbeta = bias is { RequiresGrad: true } ? bias.GradBuffer().data : null;
            Kernels.BatchNormKernels.Backward(gy.data, xhat.data, dx?.data, dgamma, dbeta, n, c, s, weight?.data, invStd, training, overwrite,
                relu, bias?.data);
        });
    }
}
