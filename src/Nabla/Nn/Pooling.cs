using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// 2-D max pooling (PyTorch's <c>nn.MaxPool2d</c>): the maximum of each window; stride defaults
/// to the kernel. <see cref="ForwardWithIndices"/> also returns where each maximum was, for
/// <see cref="MaxUnpool2d"/>.
/// </summary>
public sealed class MaxPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false)
        : this((kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode) { }

    /// <summary>Creates the layer with per-axis settings.</summary>
    public MaxPool2d((int H, int W) kernelSize, (int H, int W)? stride, (int H, int W) padding, bool ceilMode = false)
    {
        var s = stride ?? kernelSize;
        ConvConfig.Check(kernelSize.H > 0 && kernelSize.W > 0 && s.H > 0 && s.W > 0, $"MaxPool2d: kernel {kernelSize} and stride {s} must be positive.");
        ConvConfig.Check(padding.H >= 0 && padding.W >= 0 && 2 * padding.H <= kernelSize.H && 2 * padding.W <= kernelSize.W,
            $"MaxPool2d: padding {padding} must be between 0 and half the kernel {kernelSize}.");
        KernelSize = kernelSize; Stride = s; Padding = padding; CeilMode = ceilMode;
    }

    /// <summary>Window height and width.</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Implicit −∞ padding on each side.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Whether the output size rounds up (a partial last window counts).</summary>
    public bool CeilMode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.MaxPool2d(Check(input), KernelSize, Stride, Padding, CeilMode);

    /// <summary>The pooled output and the flat in-plane index of each maximum (PyTorch's <c>return_indices=True</c>).</summary>
    public (Tensor Output, Tensor Indices) ForwardWithIndices(Tensor input) => Ops.MaxPool2dWithIndices(Check(input), KernelSize, Stride, Padding, CeilMode);

    private Tensor Check(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException(Describe(), input.Shape, null, "expects input [N, C, H, W]");
        return input;
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new()
    {
        ["kernel_size"] = ConvConfig.Pair(KernelSize), ["stride"] = ConvConfig.Pair(Stride), ["padding"] = ConvConfig.Pair(Padding), ["ceil_mode"] = CeilMode,
    };

    /// <inheritdoc/>
    public override string Describe() =>
        $"MaxPool2d(kernel_size={ConvConfig.Fmt(KernelSize)}, stride={ConvConfig.Fmt(Stride)}, padding={ConvConfig.Fmt(Padding)}{(CeilMode ? ", ceil_mode=True" : "")})";
}

/// <summary>2-D average pooling (PyTorch's <c>nn.AvgPool2d</c>); stride defaults to the kernel.</summary>
public sealed class AvgPool2d : Module
{
    /// <summary>Creates the layer with a square window.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
        : this((kernelSize, kernelSize), stride is int s ? (s, s) : null, (padding, padding), ceilMode, countIncludePad) { }

    /// <summary>Creates the layer with per-axis settings.</summary>
    public AvgPool2d((int H, int W) kernelSize, (int H, int W)? stride, (int H, int W) padding, bool ceilMode = false, bool countIncludePad = true)
    {
        var s = stride ?? kernelSize;
        ConvConfig.Check(kernelSize.H > 0 && kernelSize.W > 0 && s.H > 0 && s.W > 0, $"AvgPool2d: kernel {kernelSize} and stride {s} must be positive.");
        ConvConfig.Check(padding.H >= 0 && padding.W >= 0 && 2 * padding.H <= kernelSize.H && 2 * padding.W <= kernelSize.W,
            $"AvgPool2d: padding {padding} must be between 0 and half the kernel {kernelSize}.");
        KernelSize = kernelSize; Stride = s; Padding = padding; CeilMode = ceilMode; CountIncludePad = countIncludePad;
    }

    /// <summary>Window height and width.</summary>
    public (int H, int W) KernelSize { get; }
    /// <summary>Stride.</summary>
    public (int H, int W) Stride { get; }
    /// <summary>Zero padding on each side.</summary>
    public (int H, int W) Padding { get; }
    /// <summary>Whether the output size rounds up.</summary>
    public bool CeilMode { get; }
    /// <summary>Whether padding zeros count in the mean.</summary>
    public bool CountIncludePad { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException(Describe(), input.Shape, null, "expects input [N, C, H, W]");
        return Ops.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new()
    {
        ["kernel_size"] = ConvConfig.Pair(KernelSize), ["stride"] = ConvConfig.Pair(Stride), ["padding"] = ConvConfig.Pair(Padding),
        ["ceil_mode"] = CeilMode, ["count_include_pad"] = CountIncludePad,
    };

    /// <inheritdoc/>
    public override string Describe() => $"AvgPool2d(kernel_size={ConvConfig.Fmt(KernelSize)}, stride={ConvConfig.Fmt(Stride)}, padding={ConvConfig.Fmt(Padding)})";
}

/// <summary>
/// Max unpooling (PyTorch's <c>nn.MaxUnpool2d</c>; the notes' unpooling): puts each value back
/// where <see cref="MaxPool2d.ForwardWithIndices"/> found its maximum, zeros elsewhere. Needs the
/// indices, so call <see cref="Forward(Tensor, Tensor, ValueTuple{int, int}?)"/>.
/// </summary>
public sealed class MaxUnpool2d : Module
{
    /// <summary>Creates the layer for a max pooling with this square window.</summary>
    public MaxUnpool2d(int kernelSize, int? stride = null, int padding = 0)
    {
        int s = stride ?? kernelSize;
        ConvConfig.Check(kernelSize > 0 && s > 0 && padding >= 0, $"MaxUnpool2d: kernel {kernelSize}, stride {s} must be positive, padding {padding} non-negative.");
        KernelSize = kernelSize; Stride = s; Padding = padding;
    }

    /// <summary>Window size of the pooling being undone.</summary>
    public int KernelSize { get; }
    /// <summary>Its stride.</summary>
    public int Stride { get; }
    /// <summary>Its padding.</summary>
    public int Padding { get; }

    /// <summary>Always fails: unpooling needs the indices of the pooling.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException("MaxUnpool2d needs the indices of the max pooling: call Forward(input, indices).");

    /// <summary>
    /// Unpools <paramref name="input"/> [N, C, H, W] with <paramref name="indices"/> of the same
    /// shape to <paramref name="outputSize"/> (default (H − 1)·stride − 2·padding + kernel).
    /// </summary>
    public Tensor Forward(Tensor input, Tensor indices, (int H, int W)? outputSize = null)
    {
        if (input.Rank != 4) throw new ShapeMismatchException("MaxUnpool2d", input.Shape, indices.Shape, "expects input [N, C, H, W]");
        var size = outputSize ?? ((input.Shape[2] - 1) * Stride - 2 * Padding + KernelSize, (input.Shape[3] - 1) * Stride - 2 * Padding + KernelSize);
        return Ops.MaxUnpool2d(input, indices, size);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new() { ["kernel_size"] = KernelSize, ["stride"] = Stride, ["padding"] = Padding };

    /// <inheritdoc/>
    public override string Describe() => $"MaxUnpool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding})";
}

/// <summary>Average pooling to a fixed output size (PyTorch's <c>nn.AdaptiveAvgPool2d</c>); (1, 1) is global average pooling.</summary>
public sealed class AdaptiveAvgPool2d : Module
{
    /// <summary>Creates the layer for a square output.</summary>
    public AdaptiveAvgPool2d(int outputSize) : this((outputSize, outputSize)) { }

    /// <summary>Creates the layer.</summary>
    public AdaptiveAvgPool2d((int H, int W) outputSize)
    {
        ConvConfig.Check(outputSize.H > 0 && outputSize.W > 0, $"AdaptiveAvgPool2d: output size {outputSize} must be positive.");
        OutputSize = outputSize;
    }

    /// <summary>Output height and width.</summary>
    public (int H, int W) OutputSize { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException(Describe(), input.Shape, null, "expects input [N, C, H, W]");
        return Ops.AdaptiveAvgPool2d(input, OutputSize);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new() { ["output_size"] = ConvConfig.Pair(OutputSize) };

    /// <inheritdoc/>
    public override string Describe() => $"AdaptiveAvgPool2d(output_size={ConvConfig.Fmt(OutputSize)})";
}

/// <summary>Global average pooling [N, C, H, W] → [N, C] (Keras's <c>GlobalAveragePooling2D</c>): the mean of each plane.</summary>
public sealed class GlobalAvgPool2d : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException("GlobalAvgPool2d", input.Shape, null, "expects input [N, C, H, W]");
        return Ops.GlobalAvgPool2d(input);
    }

    /// <summary>No arguments.</summary>
    public JsonObject GetConfig() => new();
}

/// <summary>
/// Upsampling of [N, C, H, W] images (PyTorch's <c>nn.Upsample</c>) by an integer-or-fractional
/// scale factor or to a fixed size, nearest or bilinear (align_corners = false).
/// </summary>
public sealed class Upsample : Module
{
    /// <summary>Scales both axes by <paramref name="scaleFactor"/> (output size ⌊H·scale⌋).</summary>
    public Upsample(float scaleFactor, UpsampleMode mode = UpsampleMode.Nearest)
    {
        ConvConfig.Check(scaleFactor > 0 && float.IsFinite(scaleFactor), $"Upsample: scale factor {scaleFactor} must be positive.");
        ScaleFactor = scaleFactor; Mode = mode;
    }

    /// <summary>Resizes to <paramref name="size"/>.</summary>
    public Upsample((int H, int W) size, UpsampleMode mode = UpsampleMode.Nearest)
    {
        ConvConfig.Check(size.H > 0 && size.W > 0, $"Upsample: size {size} must be positive.");
        Size = size; Mode = mode;
    }

    /// <summary>The scale factor, or null when a size is given.</summary>
    public float? ScaleFactor { get; }
    /// <summary>The output size, or null when a scale factor is given.</summary>
    public (int H, int W)? Size { get; }
    /// <summary>Interpolation.</summary>
    public UpsampleMode Mode { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException(Describe(), input.Shape, null, "expects input [N, C, H, W]");
        var size = Size ?? ((int)MathF.Floor(input.Shape[2] * ScaleFactor!.Value), (int)MathF.Floor(input.Shape[3] * ScaleFactor!.Value));
        return Ops.Upsample(input, size, Mode);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig()
    {
        var o = new JsonObject { ["mode"] = Mode == UpsampleMode.Nearest ? "nearest" : "bilinear" };
        if (Size is { } s) o["size"] = ConvConfig.Pair(s);
        else o["scale_factor"] = ScaleFactor!.Value;
        return o;
    }

    /// <inheritdoc/>
    public override string Describe() =>
        $"Upsample({(Size is { } s ? "size=" + ConvConfig.Fmt(s) : "scale_factor=" + ScaleFactor!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))}, mode='{Mode.ToString().ToLowerInvariant()}')";
}

/// <summary>
/// Spatial dropout (PyTorch's <c>nn.Dropout2d</c>): in training mode each whole channel of
/// [N, C, H, W] is zeroed with probability p and the others scaled by 1/(1 − p); identity in
/// evaluation. Neighbouring pixels are correlated, so dropping single pixels regularises little.
/// </summary>
public sealed class Dropout2d : Module
{
    private readonly Random? rng;

    /// <summary>Creates the layer; <paramref name="rng"/> defaults to <see cref="RandomSource.Shared"/>.</summary>
    public Dropout2d(float p = 0.5f, Random? rng = null)
    {
        if (p is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout2d: probability {p} must be in [0, 1).");
        P = p;
        this.rng = rng;
    }

    /// <summary>Probability of dropping a channel.</summary>
    public float P { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank is not (3 or 4)) throw new ShapeMismatchException(Describe(), input.Shape, null, "expects input [N, C, H, W] or [N, C, L]");
        if (!IsTraining || P == 0f) return input;
        var r = rng ?? RandomSource.Shared;
        var dims = input.Shape.ToArray();
        for (int i = 2; i < dims.Length; i++) dims[i] = 1;
        var mask = new Tensor(new Shape(dims));
        float keep = 1f / (1f - P);
        var m = mask.Data;
        for (int i = 0; i < m.Length; i++) m[i] = r.NextSingle() >= P ? keep : 0f;
        return input * mask;
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new() { ["p"] = P };

    /// <inheritdoc/>
    public override string Describe() => $"Dropout2d(p={P})";
}
