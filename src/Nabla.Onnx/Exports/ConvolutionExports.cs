using Nabla.Nn;

namespace Nabla.Onnx;

/// <summary>
/// The indices of a max pooling in the ONNX graph (<see cref="OnnxExporter.MaxPoolWithIndices"/>),
/// for <see cref="OnnxExporter.MaxUnpool"/>.
/// </summary>
/// <param name="Name">The graph value: ONNX's int64 indices, flat over the whole pooled input.</param>
/// <param name="Sample">Nabla's indices on the sample input (flat within each plane).</param>
/// <param name="InputSize">Height and width of the pooled input.</param>
public sealed record OnnxMaxPoolIndices(string Name, Tensor Sample, (int H, int W) InputSize);

// Export functions of the convolution, pooling, upsampling and batch-norm layers.
public static partial class OnnxExporter
{
    static partial void RegisterConvolution()
    {
        Register<Conv2d>("Conv2d", (ctx, c, x) => Conv(ctx, x, c.Weight, c.Bias, [c.KernelSize.H, c.KernelSize.W], [c.Stride.H, c.Stride.W],
            [c.Dilation.H, c.Dilation.W], c.Groups, [Pads(c.Padding, c.Padding.H, c.Dilation.H * (c.KernelSize.H - 1) + 1), Pads(c.Padding, c.Padding.W, c.Dilation.W * (c.KernelSize.W - 1) + 1)]));
        Register<Conv1d>("Conv1d", (ctx, c, x) => Conv(ctx, x, c.Weight, c.Bias, [c.KernelSize], [c.Stride], [c.Dilation], c.Groups,
            [Pads(c.Padding, c.Padding.W, c.Dilation * (c.KernelSize - 1) + 1)]));
        Register<ConvTranspose2d>("ConvTranspose2d", ExportConvTranspose2d);
        Register<MaxPool2d>("MaxPool2d", (ctx, p, x) => ctx.Node("MaxPool", [Rank4(ctx, x, "MaxPool2d")], PoolAttributes(p.KernelSize, p.Stride, p.Padding, p.CeilMode)));
        Register<AvgPool2d>("AvgPool2d", (ctx, p, x) => ctx.Node("AveragePool", [Rank4(ctx, x, "AvgPool2d")],
            [.. PoolAttributes(p.KernelSize, p.Stride, p.Padding, p.CeilMode), OnnxAttribute.Int("count_include_pad", p.CountIncludePad ? 1 : 0)]));
        Register<AdaptiveAvgPool2d>("AdaptiveAvgPool2d", ExportAdaptiveAvgPool2d);
        Register<GlobalAvgPool2d>("GlobalAvgPool2d", (ctx, _, x) =>
            ctx.Node("Flatten", [ctx.Node("GlobalAveragePool", [Rank4(ctx, x, "GlobalAvgPool2d")])], OnnxAttribute.Int("axis", 1)));
        Register<Upsample>("Upsample", ExportUpsample);
        Register<Dropout2d>("Dropout2d", (_, _, x) => x.Name); // evaluation mode: the identity
        Register<BatchNorm1d>("BatchNorm1d", ExportBatchNorm);
        Register<BatchNorm2d>("BatchNorm2d", ExportBatchNorm);
        // MaxUnpool2d needs the pooling's indices as a second input: a model that holds both exports
        // them with MaxPoolWithIndices and MaxUnpool below.
        Register<MaxUnpool2d>("MaxUnpool2d", (ctx, _, _) => throw new OnnxExportException(
            $"ONNX export of MaxUnpool2d at '{ctx.Scope}': it needs the indices of a max pooling; the export function of the model that holds both calls OnnxExporter.MaxPoolWithIndices and OnnxExporter.MaxUnpool."));
    }

    /// <summary>
    /// Exports <paramref name="pool"/> with its indices (<see cref="MaxPool2d.ForwardWithIndices"/>),
    /// for a model export function that unpools later with <see cref="MaxUnpool"/>; the export function
    /// of such a model calls this and <see cref="MaxUnpool"/> in place of exporting the two layers.
    /// </summary>
    /// <param name="context">The graph being built.</param>
    /// <param name="pool">The pooling layer.</param>
    /// <param name="input">Its input [N, C, H, W].</param>
    public static (OnnxValue Output, OnnxMaxPoolIndices Indices) MaxPoolWithIndices(OnnxExportContext context, MaxPool2d pool, OnnxValue input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(input);
        string x = Rank4(context, input, "MaxPool2d");
        var outputs = context.Node("MaxPool", [x], 2, PoolAttributes(pool.KernelSize, pool.Stride, pool.Padding, pool.CeilMode));
        var (y, indices) = pool.ForwardWithIndices(input.Sample);
        return (context.Define(outputs[0], y), new OnnxMaxPoolIndices(outputs[1], indices, (input.Shape[2], input.Shape[3])));
    }

    /// <summary>
    /// Exports <paramref name="unpool"/> on <paramref name="input"/> with the indices of
    /// <see cref="MaxPoolWithIndices"/> (see <see cref="MaxUnpool2d.Forward(Tensor, Tensor, ValueTuple{int, int}?)"/>).
    /// </summary>
    /// <param name="context">The graph being built.</param>
    /// <param name="unpool">The unpooling layer.</param>
    /// <param name="input">Its input [N, C, H, W].</param>
    /// <param name="indices">The indices of the max pooling being undone.</param>
    /// <param name="outputSize">The output height and width (default (H − 1)·stride − 2·padding + kernel).</param>
    public static OnnxValue MaxUnpool(OnnxExportContext context, MaxUnpool2d unpool, OnnxValue input, OnnxMaxPoolIndices indices, (int H, int W)? outputSize = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(unpool);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(indices);
        string x = Rank4(context, input, "MaxUnpool2d");
        var sample = unpool.Forward(input.Sample, indices.Sample, outputSize);
        int oh = sample.Shape[2], ow = sample.Shape[3], planeIn = indices.InputSize.H * indices.InputSize.W, planeOut = oh * ow;
        // ONNX's indices count over the whole pooled input (plane p starts at p·H·W); in an output of
        // another plane size each index moves to plane p of the output: idx + p·(OH·OW − H·W).
        string idx = indices.Name;
        if (planeOut != planeIn)
        {
            string plane = context.Node("Div", [idx, context.Int64Constant("plane_size", planeIn)]);
            idx = context.Node("Add", [idx, context.Node("Mul", [plane, context.Int64Constant("plane_shift", planeOut - planeIn)])]);
        }
        string nc = context.Node("Slice", [context.Node("Shape", [x]), context.Int64Constant("starts", 0), context.Int64Constant("ends", 2)]);
        string shape = context.Node("Concat", [nc, context.Int64Constant("size", oh, ow)], OnnxAttribute.Int("axis", 0));
        string y = context.Node("MaxUnpool", [x, idx, shape], OnnxAttribute.Ints("kernel_shape", unpool.KernelSize, unpool.KernelSize),
            OnnxAttribute.Ints("strides", unpool.Stride, unpool.Stride), OnnxAttribute.Ints("pads", unpool.Padding, unpool.Padding, unpool.Padding, unpool.Padding));
        return context.Define(y, sample);
    }

    private static string Rank4(OnnxExportContext ctx, OnnxValue x, string layer) => x.Rank == 4 ? x.Name
        : throw new OnnxExportException($"ONNX export of {layer} at '{ctx.Scope}': input {x.Shape} is not [N, C, H, W].");

    // The zeros before and after along one axis, as Nabla resolves them (PyTorch's 'same' puts the odd one after).
    private static (int Before, int After) Pads(Padding p, int explicitPad, int extent) => p.Kind switch
    {
        PaddingKind.Explicit => (explicitPad, explicitPad),
        PaddingKind.Same => ((extent - 1) / 2, extent - 1 - (extent - 1) / 2),
        PaddingKind.Full => (extent - 1, extent - 1),
        _ => (0, 0),
    };

    // ONNX lists pads as all the befores, then all the afters.
    private static OnnxAttribute PadsAttribute((int Before, int After)[] pads) =>
        OnnxAttribute.Ints("pads", pads.Select(p => p.Before).Concat(pads.Select(p => p.After)));

    private static string Conv(OnnxExportContext ctx, OnnxValue x, Tensor weight, Tensor? bias, int[] kernel, int[] strides, int[] dilations, int groups,
        (int Before, int After)[] pads)
    {
        if (x.Rank != kernel.Length + 2)
            throw new OnnxExportException($"ONNX export of a convolution at '{ctx.Scope}': input {x.Shape} is not [N, C, {(kernel.Length == 1 ? "L" : "H, W")}].");
        string w = ctx.Weight("weight", weight);
        string[] inputs = bias is null ? [x.Name, w] : [x.Name, w, ctx.Weight("bias", bias)];
        return ctx.Node("Conv", inputs, OnnxAttribute.Ints("kernel_shape", kernel), OnnxAttribute.Ints("strides", strides),
            OnnxAttribute.Ints("dilations", dilations), OnnxAttribute.Int("group", groups), PadsAttribute(pads));
    }

    // ONNX's ConvTranspose has PyTorch's weight layout [in, out/groups, KH, KW] and output size
    // stride·(H − 1) + output_padding + dilation·(K − 1) + 1 − pads.
    private static string ExportConvTranspose2d(OnnxExportContext ctx, ConvTranspose2d c, OnnxValue x)
    {
        string w = ctx.Weight("weight", c.Weight);
        string[] inputs = c.Bias is null ? [Rank4(ctx, x, "ConvTranspose2d"), w] : [Rank4(ctx, x, "ConvTranspose2d"), w, ctx.Weight("bias", c.Bias)];
        return ctx.Node("ConvTranspose", inputs, OnnxAttribute.Ints("kernel_shape", c.KernelSize.H, c.KernelSize.W),
            OnnxAttribute.Ints("strides", c.Stride.H, c.Stride.W), OnnxAttribute.Ints("dilations", c.Dilation.H, c.Dilation.W),
            OnnxAttribute.Int("group", c.Groups), OnnxAttribute.Ints("output_padding", c.OutputPadding.H, c.OutputPadding.W),
            PadsAttribute([(c.Padding.H, c.Padding.H), (c.Padding.W, c.Padding.W)]));
    }

    private static OnnxAttribute[] PoolAttributes((int H, int W) kernel, (int H, int W) stride, (int H, int W) padding, bool ceilMode) =>
    [
        OnnxAttribute.Ints("kernel_shape", kernel.H, kernel.W), OnnxAttribute.Ints("strides", stride.H, stride.W),
        PadsAttribute([(padding.H, padding.H), (padding.W, padding.W)]), OnnxAttribute.Int("ceil_mode", ceilMode ? 1 : 0),
    ];

    // Output cell (i, j) averages rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 and likewise columns (PyTorch's
    // adaptive windows). The mean over a rectangle is the mean over its rows of the means over its
    // columns, so the rows are pooled first, then the columns: one Slice + ReduceMean per output
    // row and per output column, a single AveragePool when the size divides evenly.
    private static string ExportAdaptiveAvgPool2d(OnnxExportContext ctx, AdaptiveAvgPool2d p, OnnxValue x)
    {
        string input = Rank4(ctx, x, "AdaptiveAvgPool2d");
        int h = x.Shape[2], w = x.Shape[3], oh = p.OutputSize.H, ow = p.OutputSize.W;
        if (oh == 1 && ow == 1) return ctx.Node("GlobalAveragePool", [input]);
        if (h % oh == 0 && w % ow == 0)
            return ctx.Node("AveragePool", [input], OnnxAttribute.Ints("kernel_shape", h / oh, w / ow), OnnxAttribute.Ints("strides", h / oh, w / ow));
        string rows = AdaptiveAxis(ctx, input, 2, h, oh);
        return AdaptiveAxis(ctx, rows, 3, w, ow);
    }

    private static string AdaptiveAxis(OnnxExportContext ctx, string x, int axis, int size, int outSize)
    {
        if (size == outSize) return x;
        var parts = new string[outSize];
        string axes = ctx.Int64Constant("axes", axis);
        for (int i = 0; i < outSize; i++)
        {
            int start = i * size / outSize, end = ((i + 1) * size + outSize - 1) / outSize;
            string slice = ctx.Node("Slice", [x, ctx.Int64Constant("starts", start), ctx.Int64Constant("ends", end), axes]);
            parts[i] = ctx.Node("ReduceMean", [slice], OnnxAttribute.Ints("axes", axis), OnnxAttribute.Int("keepdims", 1));
        }
        return outSize == 1 ? parts[0] : ctx.Node("Concat", parts, OnnxAttribute.Int("axis", axis));
    }

    // Resize to the layer's output size (the batch and channels read at run time, so the batch
    // stays dynamic): nearest picks ⌊dst·in/out⌋ (asymmetric + floor), bilinear is PyTorch's
    // align_corners=false (pytorch_half_pixel).
    private static string ExportUpsample(OnnxExportContext ctx, Upsample u, OnnxValue x)
    {
        string input = Rank4(ctx, x, "Upsample");
        var (oh, ow) = u.Size ?? ((int)MathF.Floor(x.Shape[2] * u.ScaleFactor!.Value), (int)MathF.Floor(x.Shape[3] * u.ScaleFactor!.Value));
        string nc = ctx.Node("Slice", [ctx.Node("Shape", [input]), ctx.Int64Constant("starts", 0), ctx.Int64Constant("ends", 2)]);
        string sizes = ctx.Node("Concat", [nc, ctx.Int64Constant("size", oh, ow)], OnnxAttribute.Int("axis", 0));
        OnnxAttribute[] attributes = u.Mode == UpsampleMode.Nearest
            ? [OnnxAttribute.String("mode", "nearest"), OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"), OnnxAttribute.String("nearest_mode", "floor")]
            : [OnnxAttribute.String("mode", "linear"), OnnxAttribute.String("coordinate_transformation_mode", "pytorch_half_pixel")];
        return ctx.Node("Resize", [input, "", "", sizes], attributes);
    }

    // Evaluation mode: the running statistics (ONNX BatchNormalization); a layer without them
    // normalises with the batch's own mean and biased variance in evaluation too, as PyTorch does.
    private static string ExportBatchNorm(OnnxExportContext ctx, BatchNormBase bn, OnnxValue x)
    {
        if (x.Rank < 2 || x.Shape[1] != bn.NumFeatures)
            throw new OnnxExportException($"ONNX export of {bn.GetType().Name} at '{ctx.Scope}': input {x.Shape} does not have {bn.NumFeatures} channels on axis 1.");
        int c = bn.NumFeatures;
        Tensor gamma = bn.Weight ?? Tensor.Ones(c), beta = bn.Bias ?? Tensor.Zeros(c);
        if (bn.TrackRunningStats)
            return ctx.Node("BatchNormalization", [x.Name, ctx.Weight("weight", gamma), ctx.Weight("bias", beta),
                ctx.Weight("running_mean", bn.RunningMean!), ctx.Weight("running_var", bn.RunningVar!)], OnnxAttribute.Float("epsilon", bn.Eps));
        long[] axes = [0, .. Enumerable.Range(2, x.Rank - 2).Select(i => (long)i)];
        int[] perChannel = [1, c, .. Enumerable.Repeat(1, x.Rank - 2)];
        string mean = ctx.Node("ReduceMean", [x.Name], OnnxAttribute.Ints("axes", axes), OnnxAttribute.Int("keepdims", 1));
        string centred = ctx.Node("Sub", [x.Name, mean]);
        string variance = ctx.Node("ReduceMean", [ctx.Node("Mul", [centred, centred])], OnnxAttribute.Ints("axes", axes), OnnxAttribute.Int("keepdims", 1));
        string std = ctx.Node("Sqrt", [ctx.Node("Add", [variance, ctx.Constant("eps", bn.Eps)])]);
        string normalised = ctx.Node("Div", [centred, std]);
        return ctx.Node("Add", [ctx.Node("Mul", [normalised, ctx.Weight("weight", Ops.Reshape(gamma, perChannel))]), ctx.Weight("bias", Ops.Reshape(beta, perChannel))]);
    }
}
