using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>Helpers shared by the convolution layers' configs and descriptions.</summary>
internal static class ConvConfig
{
    public static JsonArray Pair((int H, int W) p) => new(p.H, p.W);

    public static JsonNode PaddingNode(Padding p) => p.Kind switch
    {
        PaddingKind.Explicit => new JsonArray(p.H, p.W),
        _ => JsonValue.Create(p.ToString())!,
    };

    public static Padding ParsePadding(JsonNode? node, string key)
    {
        switch (node)
        {
            case null: return 0;
            case JsonArray a when a.Count == 2: return Padding.Explicit(a[0]!.GetValue<int>(), a[1]!.GetValue<int>());
            case JsonArray a when a.Count == 1: return a[0]!.GetValue<int>();
            case JsonValue v when v.TryGetValue(out int i): return i;
            case JsonValue v when v.TryGetValue(out string? s):
                return s switch
                {
                    "same" => Padding.Same,
                    "valid" => Padding.Valid,
                    "full" => Padding.Full,
                    _ => throw new LayerConfigException(key, $"unknown padding '{s}' (expected numbers, 'same', 'valid' or 'full')."),
                };
            default: throw new LayerConfigException(key, "padding must be numbers or 'same', 'valid', 'full'.");
        }
    }

    public static string Fmt((int H, int W) p) => $"({p.H}, {p.W})";

    /// <summary>PyTorch's default initialisation of convolutions: weight and bias U(±1/√fan_in).</summary>
    public static void DefaultInit(Tensor weight, Tensor? bias, int fanIn, Random rng)
    {
        float bound = 1f / MathF.Sqrt(fanIn);
        Init.FillUniform(weight, rng, -bound, bound);
        if (bias is not null) Init.FillUniform(bias, rng, -bound, bound);
    }

    public static void Check(bool ok, string what)
    {
        if (!ok) throw new ArgumentException(what);
    }
}

/// <summary>
/// 2-D convolution over [N, C, H, W] images (PyTorch's <c>nn.Conv2d</c>): weight
/// [out, in/groups, KH, KW], bias [out]; output [N, out, OH, OW]. Padding is numbers or
/// <see cref="Padding.Same"/>/<see cref="Padding.Valid"/>/<see cref="Padding.Full"/>.
/// Initialised as PyTorch does (U(±1/√fan_in)).
/// </summary>
public sealed class Conv2d : Module, IConfigurable
{
    /// <summary>Creates the layer with a square kernel.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding padding = default, int dilation = 1,
        int groups = 1, bool bias = true, Random? rng = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), padding, (dilation, dilation), groups, bias, rng) { }

    /// <summary>Creates the layer with per-axis kernel, stride and dilation.</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, Padding padding, (int H, int W) dilation,
        int groups = 1, bool bias = true, Random? rng = null)
    {
        string name = $"Conv2d({inChannels}, {outChannels})";
        ConvConfig.Check(inChannels > 0 && outChannels > 0 && groups > 0, $"{name}: channel and group counts must be positive.");
        ConvConfig.Check(inChannels % groups == 0 && outChannels % groups == 0, $"{name}: groups={groups} must divide both channel counts.");
        ConvConfig.Check(kernelSize.H > 0 && kernelSize.W > 0 && stride.H > 0 && stride.W > 0 && dilation.H > 0 && dilation.W > 0,
            $"{name}: kernel {kernelSize}, stride {stride} and dilation {dilation} must be positive.");
        ConvConfig.Check(padding.Kind != PaddingKind.Same || (stride.H == 1 && stride.W == 1), $"{name}: padding 'same' needs stride 1.");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize; Stride = stride;
        Padding = padding; Dilation = dilation; Groups = groups;
        Weight = RegisterParameter("weight", new Parameter(outChannels, inChannels / groups, kernelSize.H, kernelSize.W));
        Bias = bias ? RegisterParameter("bias", new Parameter(outChannels)) : null;
        ResetParameters(rng ?? RandomSource.Shared);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels (filters).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel height and width.</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride along height and width.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Zero padding.</summary>
    public Padding Padding { get; }
    /// <summary>Dilation along height and width.</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups (in and out channels are split into this many independent convolutions).</summary>
    public int Groups { get; }
    /// <summary>The filters [out, in/groups, KH, KW].</summary>
    public Parameter Weight { get; }
    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Re-draws weight and bias from U(±1/√fan_in).</summary>
    public void ResetParameters(Random rng) => ConvConfig.DefaultInit(Weight, Bias, InChannels / Groups * KernelSize.H * KernelSize.W, rng);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, Activation.None);

    /// <summary>This layer with the batch norm after it folded in, kept for inference (see <see cref="ConvBatchNormFusion"/>).</summary>
    internal FoldedConv? Folded { get; set; }

    /// <summary>The convolution followed by <paramref name="activation"/>, fused into one op.</summary>
    public Tensor Forward(Tensor input, Activation activation)
    {
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw new ShapeMismatchException(Describe(), input.Shape, Weight.Shape, $"expects input [N, {InChannels}, H, W]");
        return Ops.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups, activation);
    }

    /// <summary>The constructor arguments as JSON (PyTorch's argument names).</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_channels"] = InChannels, ["out_channels"] = OutChannels, ["kernel_size"] = ConvConfig.Pair(KernelSize),
        ["stride"] = ConvConfig.Pair(Stride), ["padding"] = ConvConfig.PaddingNode(Padding), ["dilation"] = ConvConfig.Pair(Dilation),
        ["groups"] = Groups, ["bias"] = Bias is not null,
    };

    /// <inheritdoc/>
    public override string Describe() =>
        $"Conv2d({InChannels}, {OutChannels}, kernel_size={ConvConfig.Fmt(KernelSize)}, stride={ConvConfig.Fmt(Stride)}"
        + (Padding == default ? "" : $", padding={Padding}") + (Dilation == (1, 1) ? "" : $", dilation={ConvConfig.Fmt(Dilation)}")
        + (Groups == 1 ? "" : $", groups={Groups}") + (Bias is null ? ", bias=False" : "") + ")";
}

/// <summary>
/// 1-D convolution over [N, C, L] sequences (PyTorch's <c>nn.Conv1d</c>; the notes' sentence
/// classifier slides it over word embeddings): weight [out, in/groups, K], bias [out].
/// </summary>
public sealed class Conv1d : Module, IConfigurable
{
    /// <summary>Creates the layer.</summary>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding padding = default, int dilation = 1,
        int groups = 1, bool bias = true, Random? rng = null)
    {
        string name = $"Conv1d({inChannels}, {outChannels})";
        ConvConfig.Check(inChannels > 0 && outChannels > 0 && groups > 0, $"{name}: channel and group counts must be positive.");
        ConvConfig.Check(inChannels % groups == 0 && outChannels % groups == 0, $"{name}: groups={groups} must divide both channel counts.");
        ConvConfig.Check(kernelSize > 0 && stride > 0 && dilation > 0, $"{name}: kernel {kernelSize}, stride {stride} and dilation {dilation} must be positive.");
        ConvConfig.Check(padding.Kind != PaddingKind.Same || stride == 1, $"{name}: padding 'same' needs stride 1.");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize; Stride = stride;
        Padding = padding; Dilation = dilation; Groups = groups;
        Weight = RegisterParameter("weight", new Parameter(outChannels, inChannels / groups, kernelSize));
        Bias = bias ? RegisterParameter("bias", new Parameter(outChannels)) : null;
        ConvConfig.DefaultInit(Weight, Bias, inChannels / groups * kernelSize, rng ?? RandomSource.Shared);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels (filters).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel length.</summary>
    public int KernelSize { get; }
    /// <summary>Stride.</summary>
    public int Stride { get; }
    /// <summary>Zero padding (numbers: the W value applies).</summary>
    public Padding Padding { get; }
    /// <summary>Dilation.</summary>
    public int Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The filters [out, in/groups, K].</summary>
    public Parameter Weight { get; }
    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 3 || input.Shape[1] != InChannels)
            throw new ShapeMismatchException(Describe(), input.Shape, Weight.Shape, $"expects input [N, {InChannels}, L]");
        return Ops.Conv1d(input, Weight, Bias, Stride, Padding, Dilation, Groups);
    }

    /// <summary>The constructor arguments as JSON (PyTorch's argument names).</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_channels"] = InChannels, ["out_channels"] = OutChannels, ["kernel_size"] = KernelSize, ["stride"] = Stride,
        ["padding"] = Padding.Kind == PaddingKind.Explicit ? JsonValue.Create(Padding.W) : ConvConfig.PaddingNode(Padding),
        ["dilation"] = Dilation, ["groups"] = Groups, ["bias"] = Bias is not null,
    };

    /// <inheritdoc/>
    public override string Describe() =>
        $"Conv1d({InChannels}, {OutChannels}, kernel_size={KernelSize}, stride={Stride}"
        + (Padding == default ? "" : $", padding={(Padding.Kind == PaddingKind.Explicit ? Padding.W.ToString() : Padding.ToString())}")
        + (Dilation == 1 ? "" : $", dilation={Dilation}") + (Groups == 1 ? "" : $", groups={Groups}") + (Bias is null ? ", bias=False" : "") + ")";
}

/// <summary>
/// Transposed 2-D convolution (PyTorch's <c>nn.ConvTranspose2d</c>; the notes' learnable
/// upsampling for decoders): weight [in, out/groups, KH, KW], bias [out]; output size
/// (H − 1)·stride − 2·padding + dilation·(KH − 1) + outputPadding + 1.
/// </summary>
public sealed class ConvTranspose2d : Module, IConfigurable
{
    /// <summary>Creates the layer with a square kernel.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int outputPadding = 0,
        int groups = 1, bool bias = true, int dilation = 1, Random? rng = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (outputPadding, outputPadding),
            groups, bias, (dilation, dilation), rng) { }

    /// <summary>Creates the layer with per-axis settings.</summary>
    public ConvTranspose2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding,
        (int H, int W) outputPadding, int groups, bool bias, (int H, int W) dilation, Random? rng = null)
    {
        string name = $"ConvTranspose2d({inChannels}, {outChannels})";
        ConvConfig.Check(inChannels > 0 && outChannels > 0 && groups > 0, $"{name}: channel and group counts must be positive.");
        ConvConfig.Check(inChannels % groups == 0 && outChannels % groups == 0, $"{name}: groups={groups} must divide both channel counts.");
        ConvConfig.Check(kernelSize.H > 0 && kernelSize.W > 0 && stride.H > 0 && stride.W > 0 && dilation.H > 0 && dilation.W > 0
            && padding.H >= 0 && padding.W >= 0, $"{name}: kernel {kernelSize}, stride {stride}, dilation {dilation} must be positive, padding {padding} non-negative.");
        ConvConfig.Check(outputPadding.H >= 0 && outputPadding.W >= 0 && (outputPadding.H < stride.H || outputPadding.H < dilation.H)
            && (outputPadding.W < stride.W || outputPadding.W < dilation.W), $"{name}: output padding {outputPadding} must be smaller than the stride or the dilation.");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize; Stride = stride; Padding = padding;
        OutputPadding = outputPadding; Dilation = dilation; Groups = groups;
        Weight = RegisterParameter("weight", new Parameter(inChannels, outChannels / groups, kernelSize.H, kernelSize.W));
        Bias = bias ? RegisterParameter("bias", new Parameter(outChannels)) : null;
        // PyTorch computes the fan-in from the weight's dimension 1: out/groups·KH·KW.
        ConvConfig.DefaultInit(Weight, Bias, outChannels / groups * kernelSize.H * kernelSize.W, rng ?? RandomSource.Shared);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Output channels.</summary>
    public int OutChannels { get; }
    /// <summary>Kernel height and width.</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Padding removed from each side of the output.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Extra rows/columns added at the bottom/right of the output.</summary>
    public (int H, int W) OutputPadding { get; }
    /// <summary>Dilation.</summary>
    public (int H, int W) Dilation { get; }
    /// <summary>Channel groups.</summary>
    public int Groups { get; }
    /// <summary>The filters [in, out/groups, KH, KW].</summary>
    public Parameter Weight { get; }
    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4 || input.Shape[1] != InChannels)
            throw new ShapeMismatchException(Describe(), input.Shape, Weight.Shape, $"expects input [N, {InChannels}, H, W]");
        return Ops.ConvTranspose2d(input, Weight, Bias, Stride, Padding, OutputPadding, Dilation, Groups);
    }

    /// <summary>The constructor arguments as JSON (PyTorch's argument names).</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_channels"] = InChannels, ["out_channels"] = OutChannels, ["kernel_size"] = ConvConfig.Pair(KernelSize),
        ["stride"] = ConvConfig.Pair(Stride), ["padding"] = ConvConfig.Pair(Padding), ["output_padding"] = ConvConfig.Pair(OutputPadding),
        ["groups"] = Groups, ["bias"] = Bias is not null, ["dilation"] = ConvConfig.Pair(Dilation),
    };

    /// <inheritdoc/>
    public override string Describe() =>
        $"ConvTranspose2d({InChannels}, {OutChannels}, kernel_size={ConvConfig.Fmt(KernelSize)}, stride={ConvConfig.Fmt(Stride)}"
        + (Padding == (0, 0) ? "" : $", padding={ConvConfig.Fmt(Padding)}") + (OutputPadding == (0, 0) ? "" : $", output_padding={ConvConfig.Fmt(OutputPadding)}")
        + (Dilation == (1, 1) ? "" : $", dilation={ConvConfig.Fmt(Dilation)}") + (Groups == 1 ? "" : $", groups={Groups}") + (Bias is null ? ", bias=False" : "") + ")";
}
