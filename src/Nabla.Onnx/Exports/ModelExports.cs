using Nabla.Models;
using Nabla.Nn;

namespace Nabla.Onnx;

// Export functions of the zoo models: their children through the registry, the glue (ReLU,
// pooling, reshapes, the residual sum) as ONNX nodes whose values Nabla computes alongside.
public static partial class OnnxExporter
{
    static partial void RegisterModels()
    {
        Register<Mlp>("Mlp", (ctx, m, x) =>
        {
            var flat = x.Rank == 2 ? x : ctx.Define(ctx.Node("Flatten", [x.Name], OnnxAttribute.Int("axis", 1)), Ops.Flatten(x.Sample, 1));
            return ctx.Export(Child(ctx, m, "layers"), flat, "layers").Name;
        });
        Register<LeNet5>("LeNet5", ExportLeNet5);
        Register<BasicBlock>("BasicBlock", ExportBasicBlock);
        Register<ResNet>("ResNet", ExportResNet);
        RegisterReaderModels();
    }

    private static string ExportLeNet5(OnnxExportContext ctx, LeNet5 m, OnnxValue input)
    {
        var x = ToImages(ctx, input, m.InChannels, m.InputSize, "LeNet5");
        x = MaxPool2(ctx, Relu(ctx, ctx.Export(Child(ctx, m, "conv1"), x, "conv1")));
        x = MaxPool2(ctx, Relu(ctx, ctx.Export(Child(ctx, m, "conv2"), x, "conv2")));
        x = ctx.Define(ctx.Node("Flatten", [x.Name], OnnxAttribute.Int("axis", 1)), Ops.Flatten(x.Sample, 1));
        x = Relu(ctx, ctx.Export(Child(ctx, m, "fc1"), x, "fc1"));
        x = Relu(ctx, ctx.Export(Child(ctx, m, "fc2"), x, "fc2"));
        return ctx.Export(Child(ctx, m, "fc3"), x, "fc3").Name;
    }

    // relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut), the shortcut being x or downsample(x).
    private static string ExportBasicBlock(OnnxExportContext ctx, BasicBlock b, OnnxValue x)
    {
        var y = Relu(ctx, ctx.Export(Child(ctx, b, "bn1"), ctx.Export(Child(ctx, b, "conv1"), x, "conv1"), "bn1"));
        y = ctx.Export(Child(ctx, b, "bn2"), ctx.Export(Child(ctx, b, "conv2"), y, "conv2"), "bn2");
        var shortcut = b.NamedChildren().Any(c => c.Name == "downsample") ? ctx.Export(Child(ctx, b, "downsample"), x, "downsample") : x;
        var sum = ctx.Define(ctx.Node("Add", [y.Name, shortcut.Name]), y.Sample + shortcut.Sample);
        return Relu(ctx, sum).Name;
    }

    private static string ExportResNet(OnnxExportContext ctx, ResNet m, OnnxValue input)
    {
        var x = ToImages(ctx, input, m.InChannels, m.InputSize, "ResNet");
        x = Relu(ctx, ctx.Export(Child(ctx, m, "bn1"), ctx.Export(Child(ctx, m, "conv1"), x, "conv1"), "bn1"));
        foreach (var stage in new[] { "layer1", "layer2", "layer3" }) x = ctx.Export(Child(ctx, m, stage), x, stage);
        string pooled = ctx.Node("Flatten", [ctx.Node("GlobalAveragePool", [x.Name])], OnnxAttribute.Int("axis", 1));
        x = ctx.Define(pooled, Ops.GlobalAvgPool2d(x.Sample));
        return ctx.Export(Child(ctx, m, "fc"), x, "fc").Name;
    }

    /// <summary>The child module <paramref name="name"/> of <paramref name="parent"/> (for model export functions).</summary>
    private static Module Child(OnnxExportContext ctx, Module parent, string name) =>
        parent.NamedChildren().FirstOrDefault(c => c.Name == name).Module
        ?? throw new OnnxExportException($"ONNX export at '{ctx.Scope}': {parent.GetType().Name} has no child '{name}'.");

    private static OnnxValue Relu(OnnxExportContext ctx, OnnxValue x) => ctx.Define(ctx.Node("Relu", [x.Name]), Ops.Relu(x.Sample));

    private static OnnxValue MaxPool2(OnnxExportContext ctx, OnnxValue x) =>
        ctx.Define(ctx.Node("MaxPool", [x.Name], OnnxAttribute.Ints("kernel_shape", 2, 2), OnnxAttribute.Ints("strides", 2, 2)), Ops.MaxPool2d(x.Sample, 2));

    // The zoo's image models take [N, C, S, S] or flat [N, C·S·S].
    private static OnnxValue ToImages(OnnxExportContext ctx, OnnxValue x, int channels, int size, string model)
    {
        if (x.Rank == 4) return x;
        if (x.Rank == 2 && x.Shape[1] == channels * size * size)
            return ctx.Define(ctx.Node("Reshape", [x.Name, ctx.Int64Constant("image_shape", 0, channels, size, size)]),
                Ops.Reshape(x.Sample, x.Shape[0], channels, size, size));
        throw new OnnxExportException($"ONNX export of {model} at '{ctx.Scope}': input {x.Shape} is not [N, {channels}, {size}, {size}] or [N, {channels * size * size}].");
    }
}
