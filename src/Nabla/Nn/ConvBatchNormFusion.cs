using Nabla.Autograd;

namespace Nabla.Nn;

/// <summary>
/// Batch norm folded into the convolution before it for inference: in evaluation mode the batch
/// norm is the affine map y·s + (β − μ·s) per channel with s = γ/√(σ² + ε), so conv → batch norm
/// (→ activation) is one convolution with weight w·s, bias (b − μ)·s + β and the activation fused
/// — one pass over the output instead of three. Used by <see cref="Sequential"/> and the zoo's
/// ResNet. Folding happens only when nothing is being recorded for a backward pass (inference
/// under no-grad, as <c>evaluate</c>, <c>predict</c> and the trainer's validation run), so that
/// gradients keep flowing to γ, β and the weights exactly as without it.
/// </summary>
internal static class ConvBatchNormFusion
{
    /// <summary>Whether <paramref name="conv"/> → <paramref name="bn"/> can run folded on <paramref name="x"/> now.</summary>
    public static bool CanFold(Conv2d conv, BatchNormBase bn, Tensor x) =>
        !bn.IsTraining && bn.TrackRunningStats && bn.NumFeatures == conv.OutChannels
        && !(GradMode.IsEnabled && (x.RequiresGrad || conv.Weight.RequiresGrad || (conv.Bias?.RequiresGrad ?? false)
                                    || (bn.Weight?.RequiresGrad ?? false) || (bn.Bias?.RequiresGrad ?? false)));

    /// <summary>
    /// activation(bn(conv(x))): folded when <see cref="CanFold"/>, else the three steps as written
    /// (same values within float rounding).
    /// </summary>
    public static Tensor Forward(Conv2d conv, BatchNormBase bn, Tensor x, Activation activation = Activation.None)
    {
        if (!CanFold(conv, bn, x))
        {
            var y = bn.Forward(conv.Forward(x));
            return activation switch
            {
                Activation.Relu => Ops.Relu(y),
                Activation.Sigmoid => Ops.Sigmoid(y),
                Activation.Tanh => Ops.Tanh(y),
                _ => y,
            };
        }
        if (x.Rank != 4 || x.Shape[1] != conv.InChannels)
            throw new ShapeMismatchException(conv.Describe(), x.Shape, conv.Weight.Shape, $"expects input [N, {conv.InChannels}, H, W]");
        int o = conv.OutChannels, per = conv.Weight.Length / o;
        var w = Tensor.Uninitialized(conv.Weight.Shape);
        var b = Tensor.Uninitialized(new Shape(o));
        ReadOnlySpan<float> src = conv.Weight.Data, mean = bn.RunningMean!.Data, variance = bn.RunningVar!.Data;
        var dst = w.Data;
        for (int c = 0; c < o; c++)
        {
            double gamma = bn.Weight is null ? 1 : bn.Weight.Data[c], beta = bn.Bias is null ? 0 : bn.Bias.Data[c];
            double s = gamma / Math.Sqrt(variance[c] + (double)bn.Eps);
            double bias = conv.Bias is null ? 0 : conv.Bias.Data[c];
            b.Data[c] = (float)((bias - mean[c]) * s + beta);
            for (int k = c * per; k < (c + 1) * per; k++) dst[k] = (float)(src[k] * s);
        }
        return Ops.Conv2d(x, w, b, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, activation);
    }
}
