using Nabla.Nn;

namespace Nabla.Onnx;

// Export functions of the dense layers, activations and containers.
public static partial class OnnxExporter
{
    static partial void RegisterBasic()
    {
        Register<Linear>("Linear", ExportLinear);
        Register<ReLU>("ReLU", (ctx, _, x) => ctx.Node("Relu", [x.Name]));
        Register<LeakyReLU>("LeakyReLU", (ctx, l, x) => ctx.Node("LeakyRelu", [x.Name], OnnxAttribute.Float("alpha", l.Slope)));
        Register<Sigmoid>("Sigmoid", (ctx, _, x) => ctx.Node("Sigmoid", [x.Name]));
        Register<Tanh>("Tanh", (ctx, _, x) => ctx.Node("Tanh", [x.Name]));
        // Softmax and LogSoftmax of opset 13+ normalise along one axis, as Nabla's do (the last).
        Register<Softmax>("Softmax", (ctx, _, x) => ctx.Node("Softmax", [x.Name], OnnxAttribute.Int("axis", -1)));
        Register<LogSoftmax>("LogSoftmax", (ctx, _, x) => ctx.Node("LogSoftmax", [x.Name], OnnxAttribute.Int("axis", -1)));
        // Nabla's step is 1 where x > 0, else 0 (a float mask).
        Register<Step>("Step", (ctx, _, x) =>
            ctx.Node("Cast", [ctx.Node("Greater", [x.Name, ctx.Constant("zero", 0f)])], OnnxAttribute.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Float)));
        // [N, d1, d2, …] → [N, d1·d2·…]; a rank-1 or rank-2 input passes through, as in Nabla.
        Register<Flatten>("Flatten", (ctx, _, x) => x.Rank <= 2 ? x.Name : ctx.Node("Flatten", [x.Name], OnnxAttribute.Int("axis", 1)));
        Register<Identity>("Identity", (_, _, x) => x.Name);
        // Exported in evaluation mode, where dropout and noise are the identity.
        Register<Dropout>("Dropout", (_, _, x) => x.Name);
        Register<GaussianNoise>("GaussianNoise", (_, _, x) => x.Name);
        Register<Sequential>("Sequential", (ctx, seq, x) =>
        {
            var value = x;
            for (int i = 0; i < seq.Layers.Count; i++) value = ctx.Export(seq.Layers[i], value, i);
            return value.Name;
        });
    }

    // y = x·Wᵀ + b as one Gemm (transB=1 reads the [out, in] weight as PyTorch stores it).
    private static string ExportLinear(OnnxExportContext ctx, Linear l, OnnxValue x)
    {
        if (x.Rank != 2)
            throw new OnnxExportException($"ONNX export of Linear at '{ctx.Scope}': input {x.Shape} is not [N, {l.InFeatures}].");
        string w = ctx.Weight("weight", l.Weight);
        string[] inputs = l.Bias is null ? [x.Name, w] : [x.Name, w, ctx.Weight("bias", l.Bias)];
        return ctx.Node("Gemm", inputs, OnnxAttribute.Int("transB", 1));
    }
}
