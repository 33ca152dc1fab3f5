using Nabla.Models;

namespace Nabla.Onnx;

// Export function of the CNN + LSTM line reader (issue 8).
public static partial class OnnxExporter
{
    private static void RegisterReaderModels() => Register<CrnnReader>("CrnnReader", ExportCrnnReader);

    // Images [N, 1, H, W] (or [N, H, W]) through the convolutional front end; its columns
    // [N, C, H', T] become steps [T, N, C·H'] (Transpose, then Reshape keeping T and N); the
    // bidirectional LSTM, the head on every step and log-softmax; [T·N, C] is shaped back with T and
    // N read from the steps at run time.
    private static string ExportCrnnReader(OnnxExportContext ctx, CrnnReader m, OnnxValue input)
    {
        var x = input;
        if (x.Rank == 3)
            x = ctx.Define(ctx.Node("Unsqueeze", [x.Name, ctx.Int64Constant("channel_axis", 1)]),
                Ops.Reshape(x.Sample, x.Shape[0], 1, x.Shape[1], x.Shape[2]));
        if (x.Rank != 4 || x.Shape[1] != 1 || x.Shape[2] != m.Height)
            throw new OnnxExportException($"ONNX export of CrnnReader at '{ctx.Scope}': input {input.Shape} is not [N, 1, {m.Height}, W] or [N, {m.Height}, W].");
        var f = ctx.Export(m.Cnn, x, "cnn");
        int T = f.Shape[3], N = f.Shape[0];
        string stepsName = ctx.Node("Reshape", [ctx.Node("Transpose", [f.Name], OnnxAttribute.Ints("perm", 3, 0, 1, 2)), ctx.Int64Constant("steps_shape", 0, 0, -1)]);
        var steps = ctx.Define(stepsName, Ops.Reshape(Ops.Permute(f.Sample, 3, 0, 1, 2), T, N, m.Features));
        var y = ctx.Export(m.Lstm, steps, "lstm");
        var frames = ctx.Define(ctx.Node("Reshape", [y.Name, ctx.Int64Constant("frames_shape", -1, 2 * m.Hidden)]),
            Ops.Reshape(y.Sample, y.Shape[0] * y.Shape[1], 2 * m.Hidden));
        var logits = ctx.Export(m.Head, frames, "head");
        string logProbabilities = ctx.Node("LogSoftmax", [logits.Name], OnnxAttribute.Int("axis", -1));
        string tn = ctx.Node("Slice", [ctx.Node("Shape", [steps.Name]), ctx.Int64Constant("starts", 0), ctx.Int64Constant("ends", 2)]);
        string shape = ctx.Node("Concat", [tn, ctx.Int64Constant("classes", m.Classes)], OnnxAttribute.Int("axis", 0));
        return ctx.Node("Reshape", [logProbabilities, shape]);
    }
}
