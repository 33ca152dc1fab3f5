using System.Runtime.InteropServices;
using Nabla.Autograd;
using Nabla.Kernels;

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
    /// activation(bn(conv(x))): folded when <see cref="CanFold"/>, else the conv and the batch norm
    /// (with a ReLU fused into it) as written (same values within float rounding).
    /// </summary>
    public static Tensor Forward(Conv2d conv, BatchNormBase bn, Tensor x, Activation activation = Activation.None)
    {
        if (!CanFold(conv, bn, x))
        {
            if (activation is Activation.None or Activation.Relu) return bn.Forward(conv.Forward(x), activation);
            var y = bn.Forward(conv.Forward(x));
            return activation switch
            {
                Activation.Sigmoid => Ops.Sigmoid(y),
                Activation.Tanh => Ops.Tanh(y),
                _ => y,
            };
        }
        return Folded(conv, bn, x, activation, residual: null);
    }

    /// <summary>
    /// activation(bn(conv(x)) + <paramref name="residual"/>): the addition in the convolution's
    /// write-back when folded (inference; a ResNet block's end), three ops as written otherwise.
    /// </summary>
    public static Tensor Forward(Conv2d conv, BatchNormBase bn, Tensor x, Activation activation, Tensor residual)
    {
        if (CanFold(conv, bn, x) && !(GradMode.IsEnabled && residual.RequiresGrad)) return Folded(conv, bn, x, activation, residual);
        var y = Forward(conv, bn, x) + residual;
        return activation switch
        {
            Activation.None => y,
            Activation.Relu => Ops.Relu(y),
            Activation.Sigmoid => Ops.Sigmoid(y),
            Activation.Tanh => Ops.Tanh(y),
            _ => throw new ArgumentOutOfRangeException(nameof(activation)),
        };
    }

    private static Tensor Folded(Conv2d conv, BatchNormBase bn, Tensor x, Activation activation, Tensor? residual)
    {
        if (x.Rank != 4 || x.Shape[1] != conv.InChannels)
            throw new ShapeMismatchException(conv.Describe(), x.Shape, conv.Weight.Shape, $"expects input [N, {conv.InChannels}, H, W]");
        var folded = conv.Folded;
        if (folded is null || !folded.Matches(conv, bn)) conv.Folded = folded = new FoldedConv(conv, bn);
        return Ops.Conv2d(x, folded.Weight, folded.Bias, conv.Stride, conv.Padding, conv.Dilation, conv.Groups, activation, folded.Packed, residual);
    }
}

/// <summary>
/// A convolution with the batch norm after it folded in, and the values it was folded from. The
/// fold (and the kernel's packing of the folded weights) is kept between inference calls, as long
/// as every source value is bit for bit what it was: weights change in place (an optimizer step, a
/// loaded state dict), so they are compared on every call, a read of the weights that costs a small
/// part of folding and packing them again (which was a third of a batch-1 ResNet forward).
/// Immutable once built, so that threads sharing a model may use and replace it freely.
/// </summary>
internal sealed class FoldedConv
{
    private readonly BatchNormBase bn;
    private readonly float[] weight, mean, variance;
    private readonly float[]? convBias, gamma, beta;
    private readonly float eps;

    /// <summary>Folds <paramref name="bn"/> into <paramref name="conv"/> as they are now.</summary>
    public FoldedConv(Conv2d conv, BatchNormBase bn)
    {
        this.bn = bn;
        weight = conv.Weight.Data.ToArray();
        convBias = conv.Bias?.Data.ToArray();
        gamma = bn.Weight?.Data.ToArray();
        beta = bn.Bias?.Data.ToArray();
        mean = bn.RunningMean!.Data.ToArray();
        variance = bn.RunningVar!.Data.ToArray();
        eps = bn.Eps;
        int o = conv.OutChannels, per = weight.Length / o;
        // Plain arrays, never an active arena's: the fold outlives the step that made it.
        Weight = new Tensor(new float[weight.Length], conv.Weight.Shape);
        Bias = new Tensor(new float[o], new Shape(o));
        var dst = Weight.Data;
        for (int c = 0; c < o; c++)
        {
            double g = gamma is null ? 1 : gamma[c], b = beta is null ? 0 : beta[c];
            double s = g / Math.Sqrt(variance[c] + (double)eps);
            double bias = convBias is null ? 0 : convBias[c];
            Bias.Data[c] = (float)((bias - mean[c]) * s + b);
            for (int k = c * per; k < (c + 1) * per; k++) dst[k] = (float)(weight[k] * s);
        }
    }

    /// <summary>The folded weight w·s.</summary>
    public Tensor Weight { get; }

    /// <summary>The folded bias (b − μ)·s + β.</summary>
    public Tensor Bias { get; }

    /// <summary>The convolution kernel's packing of <see cref="Weight"/>, filled on first use.</summary>
    public ConvImplicit.PackedWeightCache Packed { get; } = new();

    /// <summary>Whether every value this was folded from is unchanged, bit for bit.</summary>
    public bool Matches(Conv2d conv, BatchNormBase norm) =>
        ReferenceEquals(norm, bn) && norm.Eps == eps
        && Same(conv.Weight.Data, weight) && Same(conv.Bias, convBias) && Same(norm.Weight, gamma) && Same(norm.Bias, beta)
        && Same(norm.RunningMean!.Data, mean) && Same(norm.RunningVar!.Data, variance);

    private static bool Same(Tensor? now, float[]? then) => now is null ? then is null : then is not null && Same(now.Data, then);

    // Bitwise (a memcmp): any change refolds, NaN included.
    private static bool Same(ReadOnlySpan<float> now, float[] then) =>
        MemoryMarshal.AsBytes(now).SequenceEqual(MemoryMarshal.AsBytes(then.AsSpan()));
}
