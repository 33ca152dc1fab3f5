using Nabla.Models;
using Nabla.Nn;

namespace Nabla.Onnx;

// Export function of the U-Net: encoder and decoder blocks through the registry; the pooling (with
// indices in the unpooling variant), the upsampling and the skip concatenation as ONNX nodes.
public static partial class OnnxExporter
{
    static partial void RegisterSegmentation()
    {
        Register<UNet>("UNet", ExportUNet);
    }

    private static string ExportUNet(OnnxExportContext ctx, UNet m, OnnxValue input)
    {
        if (input.Rank != 4 || input.Shape[1] != m.InChannels)
            throw new OnnxExportException($"ONNX export of UNet at '{ctx.Scope}': input {input.Shape} is not [N, {m.InChannels}, H, W].");
        var pool = (MaxPool2d)Child(ctx, m, "pool");
        var skips = new OnnxValue[m.Depth];
        var indices = new OnnxMaxPoolIndices[m.Depth];
        var x = input;
        for (int i = 0; i < m.Depth; i++)
        {
            skips[i] = ctx.Export(Child(ctx, m, $"encoder{i + 1}"), x, $"encoder{i + 1}");
            if (m.Decoder == UNetDecoder.Unpool) (x, indices[i]) = MaxPoolWithIndices(ctx, pool, skips[i]);
            else x = ctx.Define(ctx.Node("MaxPool", [skips[i].Name], PoolAttributes(pool.KernelSize, pool.Stride, pool.Padding, pool.CeilMode)), pool.Forward(skips[i].Sample));
        }
        x = ctx.Export(Child(ctx, m, "bottleneck"), x, "bottleneck");
        for (int i = m.Depth - 1; i >= 0; i--)
        {
            var skip = skips[i];
            (int H, int W) size = (skip.Shape[2], skip.Shape[3]);
            if (m.Decoder == UNetDecoder.Transpose)
            {
                var up = (ConvTranspose2d)Child(ctx, m, $"upconv{i + 1}");
                var pad = UNet.OutputPadding(x.Sample, size);
                string w = ctx.Weight($"upconv{i + 1}.weight", up.Weight);
                string[] inputs = up.Bias is null ? [x.Name, w] : [x.Name, w, ctx.Weight($"upconv{i + 1}.bias", up.Bias)];
                string node = ctx.Node("ConvTranspose", inputs, OnnxAttribute.Ints("kernel_shape", up.KernelSize.H, up.KernelSize.W),
                    OnnxAttribute.Ints("strides", up.Stride.H, up.Stride.W), OnnxAttribute.Ints("output_padding", pad.H, pad.W));
                x = ctx.Define(node, UNet.UpTranspose(up, x.Sample, size));
            }
            else
            {
                x = ctx.Export(Child(ctx, m, $"upconv{i + 1}"), x, $"upconv{i + 1}");
                x = MaxUnpool(ctx, (MaxUnpool2d)Child(ctx, m, "unpool"), x, indices[i], size);
            }
            x = ctx.Define(ctx.Node("Concat", [skip.Name, x.Name], OnnxAttribute.Int("axis", 1)), Ops.Concat([skip.Sample, x.Sample], 1));
            x = ctx.Export(Child(ctx, m, $"decoder{i + 1}"), x, $"decoder{i + 1}");
        }
        return ctx.Export(Child(ctx, m, "conv"), x, "conv").Name;
    }
}
