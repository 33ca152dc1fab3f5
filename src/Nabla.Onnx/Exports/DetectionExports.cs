using Nabla.Models;
using Nabla.Nn;

namespace Nabla.Onnx;

// The single-shot detector: backbone and extra stage through the registry (Sequentials of Conv2d,
// BatchNorm2d, ReLU), each head's [N, P·K, H, W] transposed to [N, H, W, P·K] and reshaped to
// [N, H·W·P, K], the maps concatenated along the default boxes and the class logits and box offsets
// side by side: the one tensor [N, A, C + 1 + 4] of Ssd.Forward.
public static partial class OnnxExporter
{
    static partial void RegisterDetection()
    {
        Register<Ssd>("Ssd", ExportSsd);
    }

    private static string ExportSsd(OnnxExportContext ctx, Ssd m, OnnxValue input)
    {
        var x = ToImages(ctx, input, m.InChannels, m.InputSize, "Ssd");
        var f1 = ctx.Export(Child(ctx, m, "backbone"), x, "backbone");
        var f2 = ctx.Export(Child(ctx, m, "extra"), f1, "extra");
        var features = new[] { f1, f2 };
        var clsHeads = (ModuleList)Child(ctx, m, "cls_heads");
        var boxHeads = (ModuleList)Child(ctx, m, "box_heads");
        var cls = new OnnxValue[features.Length];
        var box = new OnnxValue[features.Length];
        for (int k = 0; k < features.Length; k++)
        {
            cls[k] = PerBox(ctx, ctx.Export(clsHeads[k], features[k], $"cls_heads.{k}"), m.NumClasses + 1);
            box[k] = PerBox(ctx, ctx.Export(boxHeads[k], features[k], $"box_heads.{k}"), 4);
        }
        var allCls = ConcatValues(ctx, cls, 1);
        var allBox = ConcatValues(ctx, box, 1);
        return ConcatValues(ctx, [allCls, allBox], 2).Name;
    }

    private static OnnxValue PerBox(OnnxExportContext ctx, OnnxValue head, int k)
    {
        var t = ctx.Define(ctx.Node("Transpose", [head.Name], OnnxAttribute.Ints("perm", 0, 2, 3, 1)), Ops.Permute(head.Sample, 0, 2, 3, 1));
        int n = t.Shape[0];
        return ctx.Define(ctx.Node("Reshape", [t.Name, ctx.Int64Constant("per_box_shape", 0, -1, k)]), Ops.Reshape(t.Sample, n, t.Sample.Length / (n * k), k));
    }

    private static OnnxValue ConcatValues(OnnxExportContext ctx, OnnxValue[] parts, int axis) =>
        ctx.Define(ctx.Node("Concat", parts.Select(p => p.Name).ToArray(), OnnxAttribute.Int("axis", axis)), Ops.Concat(parts.Select(p => p.Sample).ToArray(), axis));
}
