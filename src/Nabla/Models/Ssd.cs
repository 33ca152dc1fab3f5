using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Vision;

namespace Nabla.Models;

/// <summary>
/// A small single-shot detector (SSD, Liu et al. 2016) as the notes describe it: a convolutional
/// backbone whose feature maps at 1/4 and 1/8 of the input size carry a 3×3 convolutional head each;
/// every cell of a map predicts, for each of its default boxes (several scales and aspect ratios),
/// the class scores (background + <see cref="NumClasses"/>) and the four offsets of the object's box
/// relative to the default box (<see cref="Boxes.Encode"/>). The default boxes follow from the
/// configuration (<see cref="DefaultBoxes"/>). Train it with <see cref="Losses.MultiBoxLoss"/>,
/// decode and suppress with <see cref="SsdPostprocess"/> (or <see cref="Detector"/>).
/// </summary>
/// <remarks>
/// Layers (PyTorch names): <c>backbone</c> = conv 3×3 → width, conv 3×3 stride 2 → 2·width, conv 3×3
/// stride 2 → 4·width, conv 3×3 → 4·width (each conv without bias, then batch norm and ReLU): the
/// first feature map; <c>extra</c> = conv 3×3 stride 2 → 8·width + batch norm + ReLU: the second;
/// <c>cls_heads.k</c> and <c>box_heads.k</c> the heads of map k. Strided convolutions rather than
/// pooling make the resolution steps. <see cref="Forward(Tensor)"/> returns one tensor
/// [N, A, C + 1 + 4] (class logits then box offsets per default box) so that the model works in
/// <see cref="Sequential"/>, the model file and ONNX; <see cref="ForwardHeads"/> gives the two parts.
/// </remarks>
public sealed class Ssd : Module, IConfigurable
{
    private readonly Sequential backbone, extra;
    private readonly ModuleList clsHeads, boxHeads;
    private readonly FeatureMapSpec[] maps;
    private readonly Box[] priors;

    /// <summary>The aspect ratios (width / height) used besides 1 when none are given: digits are taller than wide.</summary>
    public static readonly float[] DefaultAspectRatios = [0.5f, 1f / 3f];

    /// <summary>Creates the detector.</summary>
    /// <param name="inChannels">Channels of the input images.</param>
    /// <param name="numClasses">Object classes (without the background, which the heads add as class 0).</param>
    /// <param name="inputSize">Side of the square input images (at least 8).</param>
    /// <param name="width">Channels of the first convolution; the later ones have 2, 4 and 8 times as many.</param>
    /// <param name="minScale">Size of the square default box on the finer map, relative to the image.</param>
    /// <param name="maxScale">Size of the square default box on the coarser map.</param>
    /// <param name="aspectRatios">Width/height ratios of the further default boxes per cell (1 is always there, plus one square of SSD's extra scale); default <see cref="DefaultAspectRatios"/>.</param>
    /// <param name="rng">Initialisation.</param>
    public Ssd(int inChannels = 1, int numClasses = 10, int inputSize = 64, int width = 16, float minScale = 0.2f, float maxScale = 0.35f,
        float[]? aspectRatios = null, Random? rng = null)
    {
        if (inChannels <= 0 || numClasses <= 0 || width <= 0)
            throw new ArgumentException($"Ssd: channels {inChannels}, classes {numClasses} and width {width} must be positive.");
        if (inputSize < 8) throw new ArgumentException($"Ssd: input size {inputSize} is too small (at least 8 pixels).");
        if (!(minScale > 0) || !(maxScale >= minScale) || !float.IsFinite(maxScale))
            throw new ArgumentException($"Ssd: default box scales from {minScale} to {maxScale} must be positive and increasing.");
        var ratios = (aspectRatios ?? DefaultAspectRatios).ToArray();
        if (ratios.Length > 16) throw new ArgumentException($"Ssd: {ratios.Length} aspect ratios; at most 16.");
        foreach (float r in ratios)
            if (!(r > 0) || !float.IsFinite(r)) throw new ArgumentException($"Ssd: aspect ratio {r} must be positive and finite.");
        var r0 = rng ?? RandomSource.Shared;
        InChannels = inChannels; NumClasses = numClasses; InputSize = inputSize; Width = width;
        MinScale = minScale; MaxScale = maxScale; AspectRatios = ratios;

        backbone = RegisterModule("backbone", new Sequential(new[]
        {
            ConvBnRelu(inChannels, width, 1, r0), ConvBnRelu(width, 2 * width, 2, r0),
            ConvBnRelu(2 * width, 4 * width, 2, r0), ConvBnRelu(4 * width, 4 * width, 1, r0),
        }.SelectMany(g => g).ToArray()));
        extra = RegisterModule("extra", new Sequential(ConvBnRelu(4 * width, 8 * width, 2, r0)));

        // The feature map sizes: a 3×3 conv with stride 2 and padding 1 makes ⌈n/2⌉.
        int side1 = (inputSize + 3) / 4, side2 = (side1 + 1) / 2;
        var scales = DefaultBoxes.SsdScales(2, minScale, maxScale);
        maps =
        [
            new FeatureMapSpec(side1, side1, scales[0].Scale, ratios, scales[0].Extra),
            new FeatureMapSpec(side2, side2, scales[1].Scale, ratios, scales[1].Extra),
        ];
        priors = DefaultBoxes.Generate(maps);
        int[] channels = [4 * width, 8 * width];
        clsHeads = RegisterModule("cls_heads", new ModuleList(maps.Select((m, k) =>
            (Module)new Conv2d(channels[k], DefaultBoxes.PerCell(m) * (numClasses + 1), 3, padding: 1, rng: r0))));
        boxHeads = RegisterModule("box_heads", new ModuleList(maps.Select((m, k) =>
            (Module)new Conv2d(channels[k], DefaultBoxes.PerCell(m) * 4, 3, padding: 1, rng: r0))));
    }

    private static Module[] ConvBnRelu(int inC, int outC, int stride, Random r)
    {
        var conv = new Conv2d(inC, outC, 3, stride, 1, bias: false, rng: r);
        ResNet.HeInit(conv, r);
        return [conv, new BatchNorm2d(outC), new ReLU()];
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Object classes (the heads predict one more: the background, class 0).</summary>
    public int NumClasses { get; }
    /// <summary>Side of the square input images.</summary>
    public int InputSize { get; }
    /// <summary>Channels of the first convolution.</summary>
    public int Width { get; }
    /// <summary>Size of the square default box on the finer map, relative to the image.</summary>
    public float MinScale { get; }
    /// <summary>Size of the square default box on the coarser map.</summary>
    public float MaxScale { get; }
    /// <summary>The further aspect ratios of the default boxes (besides 1 and the extra square).</summary>
    public IReadOnlyList<float> AspectRatios { get; }

    /// <summary>The feature maps the heads sit on, with their default-box layout.</summary>
    public IReadOnlyList<FeatureMapSpec> FeatureMaps => maps;

    /// <summary>The default boxes, in image-relative coordinates, in the order of the predictions.</summary>
    public IReadOnlyList<Box> Priors => priors;

    /// <summary>Number of default boxes A (predictions per image).</summary>
    public int PriorCount => priors.Length;

    /// <inheritdoc/>
    /// <returns>[N, A, C + 1 + 4]: per default box the C + 1 class logits, then the 4 box offsets.</returns>
    public override Tensor Forward(Tensor input)
    {
        var (cls, box) = ForwardHeads(input);
        return Ops.Concat([cls, box], 2);
    }

    /// <summary>The class logits [N, A, C + 1] (class 0 = background) and box offsets [N, A, 4] of every default box.</summary>
    public (Tensor ClassLogits, Tensor BoxOffsets) ForwardHeads(Tensor input)
    {
        var x = ZooInput.ToImages(input, InChannels, InputSize, "Ssd");
        var f1 = backbone.Forward(x);
        var f2 = extra.Forward(f1);
        var features = new[] { f1, f2 };
        var cls = new Tensor[maps.Length];
        var box = new Tensor[maps.Length];
        for (int k = 0; k < maps.Length; k++)
        {
            cls[k] = PerBox(clsHeads[k].Forward(features[k]), NumClasses + 1);
            box[k] = PerBox(boxHeads[k].Forward(features[k]), 4);
        }
        return (Ops.Concat(cls, 1), Ops.Concat(box, 1));
    }

    /// <summary>Splits <see cref="Forward(Tensor)"/>'s output [N, A, C + 1 + 4] into class logits and box offsets.</summary>
    public (Tensor ClassLogits, Tensor BoxOffsets) Split(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (output.Rank != 3 || output.Shape[1] != PriorCount || output.Shape[2] != NumClasses + 5)
            throw new ShapeMismatchException("Ssd.Split", output.Shape, null, $"expects [N, {PriorCount}, {NumClasses + 5}]");
        return (Ops.Narrow(output, 2, 0, NumClasses + 1), Ops.Narrow(output, 2, NumClasses + 1, 4));
    }

    // A head's [N, P·K, H, W] as [N, H·W·P, K]: cell by cell (row-major), then default box by default box,
    // the order of DefaultBoxes.Generate.
    private static Tensor PerBox(Tensor head, int k)
    {
        int n = head.Shape[0];
        var t = Ops.Permute(head, 0, 2, 3, 1);
        return Ops.Reshape(t, n, t.Length / (n * k), k);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig()
    {
        var ratios = new JsonArray();
        foreach (float r in AspectRatios) ratios.Add((JsonNode)r);
        return new()
        {
            ["in_channels"] = InChannels, ["num_classes"] = NumClasses, ["input_size"] = InputSize, ["width"] = Width,
            ["min_scale"] = MinScale, ["max_scale"] = MaxScale, ["aspect_ratios"] = ratios,
        };
    }

    /// <inheritdoc/>
    public override string Describe() =>
        $"Ssd(in_channels={InChannels}, num_classes={NumClasses}, input_size={InputSize}, width={Width}, default boxes={PriorCount})";
}
