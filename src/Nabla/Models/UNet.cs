using System.Text.Json.Nodes;
using Nabla.Nn;

namespace Nabla.Models;

/// <summary>How a <see cref="UNet"/> decoder doubles the resolution.</summary>
public enum UNetDecoder
{
    /// <summary>A learned 2×2 transposed convolution with stride 2 (Ronneberger et al. 2015).</summary>
    Transpose,
    /// <summary>
    /// Max-unpooling with the indices of the matching encoder pooling (SegNet, Badrinarayanan et al.
    /// 2017), after a 1×1 convolution that brings the channels down to the skip's.
    /// </summary>
    Unpool,
}

/// <summary>
/// A U-Net for semantic segmentation (Ronneberger et al. 2015; the notes' fully convolutional
/// encoder–decoder): <c>depth</c> encoder blocks (conv 3×3 → batch norm → ReLU, twice) each
/// followed by 2×2 max pooling, a bottleneck block, then <c>depth</c> decoder steps that double the
/// resolution (transposed convolution or max-unpooling with the pooling's indices), concatenate the
/// encoder's feature map of that resolution along the channels (the skip connection) and run a block;
/// a 1×1 convolution gives per-pixel class logits [N, num_classes, H, W]. Widths are
/// base_channels·2^level. Any H, W ≥ 2^depth work: where a pooling drops an odd row or column, the
/// decoder puts it back (output padding of the transposed convolution, or the unpooling's output size).
/// Names follow the common PyTorch U-Net: encoder1…, bottleneck, upconv1…, decoder1…, conv.
/// </summary>
public sealed class UNet : Module, IConfigurable
{
    private readonly Sequential[] encoders, decoders;
    private readonly Sequential bottleneck;
    private readonly Module[] upconvs;
    private readonly MaxPool2d pool;
    private readonly MaxUnpool2d unpool;
    private readonly Conv2d conv;

    /// <summary>Creates the network.</summary>
    /// <param name="inChannels">Channels of the input images.</param>
    /// <param name="numClasses">Classes per pixel (background included).</param>
    /// <param name="baseChannels">Channels of the first encoder block; each level doubles them.</param>
    /// <param name="depth">Poolings (and decoder steps), 1–8.</param>
    /// <param name="decoder">Transposed convolution or max-unpooling.</param>
    /// <param name="rng">Initialisation randomness.</param>
    public UNet(int inChannels = 1, int numClasses = 2, int baseChannels = 16, int depth = 3, UNetDecoder decoder = UNetDecoder.Transpose, Random? rng = null)
    {
        if (inChannels <= 0 || numClasses <= 0 || baseChannels <= 0)
            throw new ArgumentException($"UNet: in_channels {inChannels}, num_classes {numClasses} and base_channels {baseChannels} must be positive.");
        if (depth is < 1 or > 8) throw new ArgumentException($"UNet: depth {depth} must be between 1 and 8.");
        if ((long)baseChannels << depth > 1 << 16) throw new ArgumentException($"UNet: base_channels {baseChannels} · 2^{depth} exceeds 65536 channels.");
        var r = rng ?? RandomSource.Shared;
        InChannels = inChannels; NumClasses = numClasses; BaseChannels = baseChannels; Depth = depth; Decoder = decoder;
        encoders = new Sequential[depth];
        decoders = new Sequential[depth];
        upconvs = new Module[depth];
        int c = inChannels;
        for (int i = 0; i < depth; i++)
        {
            encoders[i] = RegisterModule($"encoder{i + 1}", Block(c, Width(i), r));
            c = Width(i);
        }
        pool = RegisterModule("pool", new MaxPool2d(2));
        bottleneck = RegisterModule("bottleneck", Block(c, Width(depth), r));
        if (decoder == UNetDecoder.Unpool) unpool = RegisterModule("unpool", new MaxUnpool2d(2));
        else unpool = new MaxUnpool2d(2);
        for (int i = depth - 1; i >= 0; i--)
        {
            upconvs[i] = decoder == UNetDecoder.Transpose
                ? RegisterModule($"upconv{i + 1}", new ConvTranspose2d(Width(i + 1), Width(i), 2, 2, rng: r))
                : RegisterModule($"upconv{i + 1}", new Conv2d(Width(i + 1), Width(i), 1, rng: r));
            decoders[i] = RegisterModule($"decoder{i + 1}", Block(2 * Width(i), Width(i), r));
        }
        conv = RegisterModule("conv", new Conv2d(baseChannels, numClasses, 1, rng: r));
    }

    // conv 3×3 → BN → ReLU, twice; the convolutions have no bias (batch norm's β replaces it) and
    // Conv2d's own initialisation, PyTorch's U(±1/√fan_in). Not He's fan-out normal: before batch
    // norm a weight's scale changes nothing but how far Adam's steps (about lr each) move it relative
    // to its size, and He's weights are up to 3.5× larger here (a decoder conv halves the channels),
    // so the U-Net learnt that much slower — mean IoU 0.21 against 0.42 after the same 3600 steps
    // of the segment demo (docs/BENCHMARKS.md).
    private static Sequential Block(int inC, int outC, Random r)
    {
        var c1 = new Conv2d(inC, outC, 3, 1, 1, bias: false, rng: r);
        var c2 = new Conv2d(outC, outC, 3, 1, 1, bias: false, rng: r);
        return new Sequential(c1, new BatchNorm2d(outC), new ReLU(), c2, new BatchNorm2d(outC), new ReLU());
    }

    /// <summary>Channels at <paramref name="level"/> (0 = full resolution, <see cref="Depth"/> = bottleneck).</summary>
    public int Width(int level) => BaseChannels << level;

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Classes per pixel.</summary>
    public int NumClasses { get; }
    /// <summary>Channels of the first encoder block.</summary>
    public int BaseChannels { get; }
    /// <summary>Number of poolings.</summary>
    public int Depth { get; }
    /// <summary>How the decoder upsamples.</summary>
    public UNetDecoder Decoder { get; }
    /// <summary>The smallest input side: 2^depth.</summary>
    public int MinimumSize => 1 << Depth;

    /// <summary>Per-pixel class logits [N, num_classes, H, W] for images [N, in_channels, H, W].</summary>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw new ShapeMismatchException("UNet", input.Shape, null, $"expects images [N, {InChannels}, H, W]");
        if (input.Shape[2] < MinimumSize || input.Shape[3] < MinimumSize)
            throw new ShapeMismatchException("UNet", input.Shape, null, $"expects H and W of at least 2^depth = {MinimumSize}");
        var skips = new Tensor[Depth];
        var indices = new Tensor[Depth];
        var x = input;
        for (int i = 0; i < Depth; i++)
        {
            skips[i] = encoders[i].Forward(x);
            if (Decoder == UNetDecoder.Unpool) (x, indices[i]) = pool.ForwardWithIndices(skips[i]);
            else x = pool.Forward(skips[i]);
        }
        x = bottleneck.Forward(x);
        for (int i = Depth - 1; i >= 0; i--)
        {
            var skip = skips[i];
            (int H, int W) size = (skip.Shape[2], skip.Shape[3]);
            x = Decoder == UNetDecoder.Transpose
                ? UpTranspose((ConvTranspose2d)upconvs[i], x, size)
                : unpool.Forward(upconvs[i].Forward(x), indices[i], size);
            x = decoders[i].Forward(Ops.Concat([skip, x], 1));
        }
        return conv.Forward(x);
    }

    /// <summary>
    /// The transposed convolution to exactly <paramref name="size"/>: a pooled odd side gives 2·⌊H/2⌋ = H − 1,
    /// so the missing row or column comes from output padding 1 (PyTorch's <c>output_size</c> argument).
    /// </summary>
    public static Tensor UpTranspose(ConvTranspose2d up, Tensor x, (int H, int W) size)
    {
        var pad = OutputPadding(x, size);
        return Ops.ConvTranspose2d(x, up.Weight, up.Bias, up.Stride, up.Padding, pad, up.Dilation, up.Groups);
    }

    /// <summary>The output padding a stride-2, kernel-2 transposed convolution of <paramref name="x"/> needs to reach <paramref name="size"/>.</summary>
    public static (int H, int W) OutputPadding(Tensor x, (int H, int W) size) => (size.H - 2 * x.Shape[2], size.W - 2 * x.Shape[3]);

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_channels"] = InChannels, ["num_classes"] = NumClasses, ["base_channels"] = BaseChannels, ["depth"] = Depth,
        ["decoder"] = DecoderName(Decoder),
    };

    /// <summary>The configuration name of a decoder: "transpose" or "unpool".</summary>
    public static string DecoderName(UNetDecoder decoder) => decoder == UNetDecoder.Unpool ? "unpool" : "transpose";

    /// <summary>Parses "transpose" or "unpool".</summary>
    public static UNetDecoder ParseDecoder(string name) => name.ToLowerInvariant() switch
    {
        "transpose" or "transposed" or "convtranspose" => UNetDecoder.Transpose,
        "unpool" or "unpooling" or "maxunpool" => UNetDecoder.Unpool,
        _ => throw new ArgumentException($"UNet: unknown decoder '{name}'; expected 'transpose' or 'unpool'."),
    };
}
