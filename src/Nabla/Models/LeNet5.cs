using System.Text.Json.Nodes;
using Nabla.Nn;

namespace Nabla.Models;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) as it is trained today: conv 5×5 → 6, ReLU, max-pool 2,
/// conv 5×5 → 16, ReLU, max-pool 2, then dense 120 → 84 → classes with ReLU. Inputs smaller than
/// 32×32 (28×28 MNIST, Fashion-MNIST) are padded by 2, so a 28×28 digit sits in LeNet's original
/// 32×32 layout; 32×32 and larger (CIFAR-10) run unpadded. Accepts [N, C, H, W] or flat [N, C·H·W] input.
/// </summary>
public sealed class LeNet5 : Module, IConfigurable
{
    private readonly Conv2d conv1, conv2;
    private readonly Linear fc1, fc2, fc3;
    private readonly int featureSide;

    /// <summary>
    /// Creates the network for square <paramref name="inputSize"/>² images with
    /// <paramref name="inChannels"/> channels; the layer widths default to LeNet-5's (6, 16, 120, 84).
    /// </summary>
    public LeNet5(int inChannels = 1, int numClasses = 10, int inputSize = 28, Random? rng = null,
        int conv1Channels = 6, int conv2Channels = 16, int fc1Features = 120, int fc2Features = 84)
    {
        if (inChannels <= 0 || numClasses <= 0 || conv1Channels <= 0 || conv2Channels <= 0 || fc1Features <= 0 || fc2Features <= 0)
            throw new ArgumentException($"LeNet5: channels {inChannels}, classes {numClasses} and widths ({conv1Channels}, {conv2Channels}, {fc1Features}, {fc2Features}) must be positive.");
        int pad = inputSize < 32 ? 2 : 0;
        featureSide = ((inputSize + 2 * pad - 4) / 2 - 4) / 2;
        if (featureSide < 1) throw new ArgumentException($"LeNet5: input size {inputSize} is too small (at least 12 pixels).");
        var r = rng ?? RandomSource.Shared;
        InChannels = inChannels; NumClasses = numClasses; InputSize = inputSize;
        Widths = (conv1Channels, conv2Channels, fc1Features, fc2Features);
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, conv1Channels, 5, padding: pad, rng: r));
        conv2 = RegisterModule("conv2", new Conv2d(conv1Channels, conv2Channels, 5, rng: r));
        fc1 = RegisterModule("fc1", new Linear(conv2Channels * featureSide * featureSide, fc1Features, rng: r));
        fc2 = RegisterModule("fc2", new Linear(fc1Features, fc2Features, rng: r));
        fc3 = RegisterModule("fc3", new Linear(fc2Features, numClasses, rng: r));
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output classes.</summary>
    public int NumClasses { get; }
    /// <summary>Side of the square input images.</summary>
    public int InputSize { get; }
    /// <summary>Channels of the two convolutions and features of the two hidden dense layers.</summary>
    public (int Conv1, int Conv2, int Fc1, int Fc2) Widths { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = ZooInput.ToImages(input, InChannels, InputSize, "LeNet5");
        x = Ops.MaxPool2d(conv1.Forward(x, Activation.Relu), 2);
        x = Ops.MaxPool2d(conv2.Forward(x, Activation.Relu), 2);
        x = Ops.Flatten(x, 1);
        x = fc1.Forward(x, Activation.Relu);
        x = fc2.Forward(x, Activation.Relu);
        return fc3.Forward(x);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_channels"] = InChannels, ["num_classes"] = NumClasses, ["input_size"] = InputSize,
        ["conv1_channels"] = Widths.Conv1, ["conv2_channels"] = Widths.Conv2, ["fc1_features"] = Widths.Fc1, ["fc2_features"] = Widths.Fc2,
    };
}

/// <summary>Helpers shared by the zoo models.</summary>
internal static class ZooInput
{
    /// <summary>[N, C·S·S] → [N, C, S, S] (a view); [N, C, S, S] passes; anything else is a clear error.</summary>
    public static Tensor ToImages(Tensor input, int channels, int size, string model)
    {
        if (input.Rank == 2 && input.Shape[1] == channels * size * size) return Ops.Reshape(input, input.Shape[0], channels, size, size);
        if (input.Rank == 4 && input.Shape[1] == channels && input.Shape[2] == size && input.Shape[3] == size) return input;
        throw new ShapeMismatchException(model, input.Shape, null, $"expects images [N, {channels}, {size}, {size}] or [N, {channels * size * size}]");
    }
}
