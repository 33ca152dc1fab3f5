using Nabla.Models;
using Nabla.Nn;

namespace Nabla.Onnx;

// Export functions of the convolution, pooling, upsampling and batch-norm layers, and of the
// convolutional zoo models (children exported through the context, skips as Add nodes).
public static partial class OnnxExporter
{
    static partial void RegisterConvolution()
    {
        Register<Conv2d>("Conv2d", (ctx, c, x) =>
        {
            var (t, b) = c.Padding.ResolveForExport(c.KernelSize.H, c.Dilation.H, c.Stride.H, true);
            var (l, r) = c.Padding.ResolveForExport(c.KernelSize.W, c.Dilation.W, c.Stride.W, false);
            return ConvNode(ctx, "Conv", x, c.Weight, c.Bias, [c.KernelSize.H, c.KernelSize.W], [c.Stride.H, c.Stride.W], [t, l, b, r],
                [c.Dilation.H, c.Dilation.W], c.Groups);
        });
        Register<Conv1d>("Conv1d", (ctx, c, x) =>
        {
            var (l, r) = c.Padding.ResolveForExport(c.KernelSize, c.Dilation, c.Stride, false);
            return ConvNode(ctx, "Conv", x, c.Weight, c.Bias, [c.KernelSize], [c.Stride], [l, r], [c.Dilation], c.Groups);
        });
        Register<ConvTranspose2d>("ConvTranspose2d", (ctx, c, x) =>
        {
            string w = ctx.Weight("weight", c.Weight);
            string[] inputs = c.Bias is null ? [x.Name, w] : [x.Name, w, ctx.Weight("bias", c.Bias)];
            return ctx.Node("ConvTranspose", inputs,
                OnnxAttribute.Ints("kernel_shape", c.KernelSize.H, c.KernelSize.W), OnnxAttribute.Ints("strides", c.Stride.H, c.Stride.W),
                OnnxAttribute.Ints("pads", c.Padding.H, c.Padding.W, c.Padding.H, c.Padding.W),
                OnnxAttribute.Ints("output_padding", c.OutputPadding.H, c.OutputPadding.W),
                OnnxAttribute.Ints("dilations", c.Dilation.H, c.Dilation.W), OnnxAttribute.Int("group", c.Groups));
        });
        Register<MaxPool2d>("MaxPool2d", (ctx, p, x) => ctx.Node("MaxPool", [x.Name],
            OnnxAttribute.Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W), OnnxAttribute.Ints("strides", p.Stride.H, p.Stride.W),
            OnnxAttribute.Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W), OnnxAttribute.Int("ceil_mode", p.CeilMode ? 1 : 0)));
        Register<AvgPool2d>("AvgPool2d", (ctx, p, x) => ctx.Node("AveragePool", [x.Name],
            OnnxAttribute.Ints("kernel_shape", p.KernelSize.H, p.KernelSize.W), OnnxAttribute.Ints("strides", p.Stride.H, p.Stride.W),
            OnnxAttribute.Ints("pads", p.Padding.H, p.Padding.W, p.Padding.H, p.Padding.W), OnnxAttribute.Int("ceil_mode", p.CeilMode ? 1 : 0),
            OnnxAttribute.Int("count_include_pad", p.CountIncludePad ? 1 : 0)));
        Register<AdaptiveAvgPool2d>("AdaptiveAvgPool2d", (ctx, p, x) =>
        {
            if (p.OutputSize == (1, 1)) return ctx.Node("GlobalAveragePool", [x.Name]);
            int h = x.Shape[2], w = x.Shape[3];
            if (h % p.OutputSize.H != 0 || w % p.OutputSize.W != 0)
                throw new OnnxExportException($"ONNX export of AdaptiveAvgPool2d at '{ctx.Scope}': {h}x{w} is not a multiple of the output size {p.OutputSize}; ONNX has no adaptive pooling.");
            int kh = h / p.OutputSize.H, kw = w / p.OutputSize.W;
            return ctx.Node("AveragePool", [x.Name], OnnxAttribute.Ints("kernel_shape", kh, kw), OnnxAttribute.Ints("strides", kh, kw));
        });
        Register<GlobalAvgPool2d>("GlobalAvgPool2d", (ctx, _, x) => ctx.Node("Flatten", [ctx.Node("GlobalAveragePool", [x.Name])], OnnxAttribute.Int("axis", 1)));
        Register<Upsample>("Upsample", (ctx, u, x) =>
        {
            int h = x.Shape[2], w = x.Shape[3];
            var (oh, ow) = u.Size ?? ((int)MathF.Floor(h * u.ScaleFactor!.Value), (int)MathF.Floor(w * u.ScaleFactor!.Value));
            string scales = ctx.Constant("scales", [1f, 1f, (float)oh / h, (float)ow / w], 4);
            return u.Mode == UpsampleMode.Nearest
                ? ctx.Node("Resize", [x.Name, "", scales], OnnxAttribute.String("mode", "nearest"),
                    OnnxAttribute.String("coordinate_transformation_mode", "asymmetric"), OnnxAttribute.String("nearest_mode", "floor"))
                : ctx.Node("Resize", [x.Name, "", scales], OnnxAttribute.String("mode", "linear"),
                    OnnxAttribute.String("coordinate_transformation_mode", "pytorch_half_pixel"));
        });
        // Exported in evaluation mode, where spatial dropout is the identity.
        Register<Dropout2d>("Dropout2d", (_, _, x) => x.Name);
        Register<BatchNorm1d>("BatchNorm1d", ExportBatchNorm);
        Register<BatchNorm2d>("BatchNorm2d", ExportBatchNorm);
    }

    static partial void RegisterModels()
    {
        RegisterConvModels();
    }

    private static void RegisterConvModels()
    {
        Register<Mlp>("Mlp", (ctx, m, x) =>
        {
            var input = x.Rank == 2 ? x : ctx.Define(ctx.Node("Flatten", [x.Name], OnnxAttribute.Int("axis", 1)), Ops.Flatten(x.Sample, 1));
            return ctx.Export(Child(m, "layers"), input, "layers").Name;
        });
        Register<LeNet5>("LeNet5", (ctx, m, x) =>
        {
            var v = Images(ctx, x, m.InChannels, m.InputSize);
            foreach (var name in new[] { "conv1", "conv2" })
            {
                v = ctx.Export(Child(m, name), v, name);
                v = Plain(ctx, "Relu", v, Ops.Relu(v.Sample));
                v = Plain(ctx, "MaxPool", v, Ops.MaxPool2d(v.Sample, 2), OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2));
            }
            v = Plain(ctx, "Flatten", v, Ops.Flatten(v.Sample, 1), OnnxAttribute.Int("axis", 1));
            v = ctx.Export(Child(m, "fc1"), v, "fc1");
            v = Plain(ctx, "Relu", v, Ops.Relu(v.Sample));
            v = ctx.Export(Child(m, "fc2"), v, "fc2");
            v = Plain(ctx, "Relu", v, Ops.Relu(v.Sample));
            return ctx.Export(Child(m, "fc3"), v, "fc3").Name;
        });
        Register<BasicBlock>("BasicBlock", (ctx, b, x) =>
        {
            var y = ctx.Export(Child(b, "bn1"), ctx.Export(Child(b, "conv1"), x, "conv1"), "bn1");
            y = Plain(ctx, "Relu", y, Ops.Relu(y.Sample));
            y = ctx.Export(Child(b, "bn2"), ctx.Export(Child(b, "conv2"), y, "conv2"), "bn2");
            var shortcut = b.NamedChildren().Any(c => c.Name == "downsample") ? ctx.Export(Child(b, "downsample"), x, "downsample") : x;
            var sum = Plain(ctx, "Add", y, y.Sample + shortcut.Sample, extra: shortcut.Name);
            return Plain(ctx, "Relu", sum, Ops.Relu(sum.Sample)).Name;
        });
        Register<ResNet>("ResNet", (ctx, m, x) =>
        {
            var v = Images(ctx, x, m.InChannels, m.InputSize);
            v = ctx.Export(Child(m, "bn1"), ctx.Export(Child(m, "conv1"), v, "conv1"), "bn1");
            v = Plain(ctx, "Relu", v, Ops.Relu(v.Sample));
            foreach (var name in new[] { "layer1", "layer2", "layer3" }) v = ctx.Export(Child(m, name), v, name);
            v = Plain(ctx, "Flatten", Plain(ctx, "GlobalAveragePool", v, Ops.AdaptiveAvgPool2d(v.Sample, (1, 1))), Ops.GlobalAvgPool2d(v.Sample), OnnxAttribute.Int("axis", 1));
            return ctx.Export(Child(m, "fc"), v, "fc").Name;
        });
    }

    private static Module Child(Module m, string name) =>
        m.NamedChildren().First(c => c.Name == name).Module;

    // One plain ONNX node whose value Nabla computed as `sample`.
    private static OnnxValue Plain(OnnxExportContext ctx, string op, OnnxValue x, Tensor sample, params OnnxAttribute[] attributes) =>
        ctx.Define(ctx.Node(op, [x.Name], attributes), sample);

    private static OnnxValue Plain(OnnxExportContext ctx, string op, OnnxValue x, Tensor sample, string extra) =>
        ctx.Define(ctx.Node(op, [x.Name, extra]), sample);

    // A flat [N, C·S·S] input reshaped to [N, C, S, S], as the zoo models accept both.
    private static OnnxValue Images(OnnxExportContext ctx, OnnxValue x, int channels, int size)
    {
        if (x.Rank == 4) return x;
        string shape = ctx.Int64Constant("image_shape", -1, channels, size, size);
        return ctx.Define(ctx.Node("Reshape", [x.Name, shape]), Ops.Reshape(x.Sample, x.Shape[0], channels, size, size));
    }

    private static string ConvNode(OnnxExportContext ctx, string op, OnnxValue x, Tensor weight, Tensor? bias, int[] kernel, int[] strides, int[] pads, int[] dilations, int groups)
    {
        string w = ctx.Weight("weight", weight);
        string[] inputs = bias is null ? [x.Name, w] : [x.Name, w, ctx.Weight("bias", bias)];
        return ctx.Node(op, inputs, OnnxAttribute.Ints("kernel_shape", kernel), OnnxAttribute.Ints("strides", strides),
            OnnxAttribute.Ints("pads", pads), OnnxAttribute.Ints("dilations", dilations), OnnxAttribute.Int("group", groups));
    }

    // Evaluation-mode batch norm: (x − running mean)/√(running var + ε)·γ + β.
    private static string ExportBatchNorm(OnnxExportContext ctx, BatchNormBase bn, OnnxValue x)
    {
        if (bn.RunningMean is null || bn.RunningVar is null)
            throw new OnnxExportException($"ONNX export of {bn.GetType().Name} at '{ctx.Scope}': without running statistics it normalises by each batch, which ONNX's BatchNormalization cannot do.");
        int c = bn.NumFeatures;
        string scale = bn.Weight is null ? ctx.Constant("scale", Enumerable.Repeat(1f, c).ToArray(), c) : ctx.Weight("weight", bn.Weight);
        string shift = bn.Bias is null ? ctx.Constant("shift", new float[c], c) : ctx.Weight("bias", bn.Bias);
        return ctx.Node("BatchNormalization", [x.Name, scale, shift, ctx.Weight("running_mean", bn.RunningMean), ctx.Weight("running_var", bn.RunningVar)],
            OnnxAttribute.Float("epsilon", bn.Eps));
    }
}
