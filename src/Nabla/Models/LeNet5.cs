using System.Text.Json.Nodes;
using Nabla.Nn;

namespace Nabla.Models;

/// <summary>
/// LeNet-5 (LeCun et al. 1998) as it is trained today: conv 5×5 → 6, ReLU, max-pool 2,
/// conv 5×5 → 16, ReLU, max-pool 2, then dense 120 → 84 → classes with ReLU. A 28×28 input (MNIST,
/// Fashion-MNIST) is padded by 2 so that the first convolution sees the original 32×32 layout;
/// other sizes (32×32 CIFAR-10) run unpadded. Accepts [N, C, H, W] or flat [N, C·H·W] input.
/// </summary>
public sealed class LeNet5 : Module
{
    private readonly Conv2d conv1, conv2;
    private readonly Linear fc1, fc2, fc3;
    private readonly int featureSide;

    /// <summary>Creates the network for square <paramref name="inputSize"/>² images with <paramref name="inChannels"/> channels.</summary>
    public LeNet5(int inChannels = 1, int numClasses = 10, int inputSize = 28, Random? rng = null)
    {
        if (inChannels <= 0 || numClasses <= 0) throw new ArgumentException($"LeNet5: channels {inChannels} and classes {numClasses} must be positive.");
        int pad = inputSize < 32 ? (32 - inputSize + 1) / 2 : 0;
        featureSide = ((inputSize + 2 * pad - 4) / 2 - 4) / 2;
        if (featureSide < 1) throw new ArgumentException($"LeNet5: input size {inputSize} is too small (at least 12 pixels).");
        var r = rng ?? RandomSource.Shared;
        InChannels = inChannels; NumClasses = numClasses; InputSize = inputSize;
        conv1 = new Conv2d(inChannels, 6, 5, padding: pad, rng: r);
        conv2 = new Conv2d(6, 16, 5, rng: r);
        fc1 = new Linear(16 * featureSide * featureSide, 120, rng: r);
        fc2 = new Linear(120, 84, rng: r);
        fc3 = new Linear(84, numClasses, rng: r);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output classes.</summary>
    public int NumClasses { get; }
    /// <summary>Side of the square input images.</summary>
    public int InputSize { get; }

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
    public JsonObject GetConfig() => new() { ["in_channels"] = InChannels, ["num_classes"] = NumClasses, ["input_size"] = InputSize };
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
