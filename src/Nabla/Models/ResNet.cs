using System.Text.Json.Nodes;
using Nabla.Nn;

namespace Nabla.Models;

/// <summary>
/// The basic residual block of He et al. (2016): conv 3×3 → batch norm → ReLU → conv 3×3 → batch
/// norm, added to the shortcut (the input itself, or a strided 1×1 conv + batch norm where the
/// size or width changes), then ReLU. Names follow torchvision: conv1, bn1, conv2, bn2, downsample.
/// </summary>
public sealed class BasicBlock : Module, IConfigurable
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d bn1, bn2;
    private readonly Sequential? downsample;

    /// <summary>Creates the block from <paramref name="inChannels"/> to <paramref name="outChannels"/> with <paramref name="stride"/> in its first conv.</summary>
    public BasicBlock(int inChannels, int outChannels, int stride = 1, Random? rng = null)
    {
        var r = rng ?? RandomSource.Shared;
        InChannels = inChannels; OutChannels = outChannels; Stride = stride;
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, outChannels, 3, stride, 1, bias: false, rng: r));
        bn1 = RegisterModule("bn1", new BatchNorm2d(outChannels));
        conv2 = RegisterModule("conv2", new Conv2d(outChannels, outChannels, 3, 1, 1, bias: false, rng: r));
        bn2 = RegisterModule("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels)
            downsample = RegisterModule("downsample", new Sequential(new Conv2d(inChannels, outChannels, 1, stride, bias: false, rng: r), new BatchNorm2d(outChannels)));
        foreach (var c in new[] { conv1, conv2 }) ResNet.HeInit(c, r);
        if (downsample is not null) ResNet.HeInit((Conv2d)downsample[0], r);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Stride of the first convolution (2 halves the size).</summary>
    public int Stride { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        // Folded into one convolution each in inference (ConvBatchNormFusion), as written otherwise.
        var y = ConvBatchNormFusion.Forward(conv1, bn1, input, Activation.Relu);
        var shortcut = downsample is null ? input : downsample.Forward(input);
        // relu(bn2(conv2(y)) + shortcut); in inference the addition and the ReLU are in the conv's write-back.
        return ConvBatchNormFusion.Forward(conv2, bn2, y, Activation.Relu, shortcut);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new() { ["in_channels"] = InChannels, ["out_channels"] = OutChannels, ["stride"] = Stride };
}

/// <summary>
/// A small ResNet for 28×28 and 32×32 images (the CIFAR variant of He et al. 2016): a 3×3 stem
/// conv + batch norm + ReLU to <c>width</c> channels, three stages of <c>blocks</c> basic blocks
/// with widths width, 2·width, 4·width (the second and third stage halve the size), global average
/// pooling and a dense classifier. blocks = 3 is ResNet-20; the default (2) is ResNet-14. Accepts
/// [N, C, H, W] or flat [N, C·H·W] input.
/// </summary>
public sealed class ResNet : Module, IConfigurable
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3;
    private readonly Linear fc;

    /// <summary>Creates the network.</summary>
    public ResNet(int inChannels = 1, int numClasses = 10, int inputSize = 28, int blocks = 2, int width = 16, Random? rng = null)
    {
        if (inChannels <= 0 || numClasses <= 0 || blocks <= 0 || width <= 0 || inputSize < 4)
            throw new ArgumentException($"ResNet: channels {inChannels}, classes {numClasses}, blocks {blocks}, width {width} must be positive and input size {inputSize} at least 4.");
        var r = rng ?? RandomSource.Shared;
        InChannels = inChannels; NumClasses = numClasses; InputSize = inputSize; Blocks = blocks; Width = width;
        conv1 = RegisterModule("conv1", new Conv2d(inChannels, width, 3, 1, 1, bias: false, rng: r));
        HeInit(conv1, r);
        bn1 = RegisterModule("bn1", new BatchNorm2d(width));
        layer1 = RegisterModule("layer1", Stage(width, width, 1, blocks, r));
        layer2 = RegisterModule("layer2", Stage(width, 2 * width, 2, blocks, r));
        layer3 = RegisterModule("layer3", Stage(2 * width, 4 * width, 2, blocks, r));
        fc = RegisterModule("fc", new Linear(4 * width, numClasses, rng: r));
    }

    private static Sequential Stage(int inC, int outC, int stride, int blocks, Random r)
    {
        var s = new Sequential(new BasicBlock(inC, outC, stride, r));
        for (int i = 1; i < blocks; i++) s.Add(new BasicBlock(outC, outC, 1, r));
        return s;
    }

    // Kaiming normal (fan_out, ReLU), as torchvision initialises ResNets.
    internal static void HeInit(Conv2d c, Random r)
    {
        int fanOut = c.OutChannels * c.KernelSize.H * c.KernelSize.W;
        Tensor.FillNormal(c.Weight.Data, 0f, MathF.Sqrt(2f / fanOut), r);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output classes.</summary>
    public int NumClasses { get; }
    /// <summary>Side of the square input images.</summary>
    public int InputSize { get; }
    /// <summary>Basic blocks per stage.</summary>
    public int Blocks { get; }
    /// <summary>Channels of the first stage.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = ZooInput.ToImages(input, InChannels, InputSize, "ResNet");
        x = ConvBatchNormFusion.Forward(conv1, bn1, x, Activation.Relu);
        x = layer3.Forward(layer2.Forward(layer1.Forward(x)));
        return fc.Forward(Ops.GlobalAvgPool2d(x));
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_channels"] = InChannels, ["num_classes"] = NumClasses, ["input_size"] = InputSize, ["blocks"] = Blocks, ["width"] = Width,
    };
}
