using Nabla.Nn;
using Nabla.Sequences;

namespace Nabla.Onnx;

// Export functions of the recurrent layers, Embedding and Highway.
public static partial class OnnxExporter
{
    static partial void RegisterRecurrent()
    {
        Register<Rnn>("Rnn", ExportRecurrent);
        Register<Gru>("Gru", ExportRecurrent);
        Register<Lstm>("Lstm", ExportRecurrent);
        Register<RnnCell>("RnnCell", ExportCell);
        Register<GruCell>("GruCell", ExportCell);
        Register<LstmCell>("LstmCell", ExportCell);
        Register<LineReader>("LineReader", ExportLineReader);
        Register<Embedding>("Embedding", ExportEmbedding);
        Register<Highway>("Highway", ExportHighway);
    }

    // ONNX stacks the gate blocks of W, R and B in another order than PyTorch (whose layout Nabla
    // keeps): LSTM i,o,f,c against PyTorch's i,f,g,o; GRU z,r,h against r,z,n. Entry j is the
    // PyTorch block that goes to ONNX position j.
    private static readonly int[] LstmGateOrder = [0, 3, 1, 2];
    private static readonly int[] GruGateOrder = [1, 0, 2];

    // Each layer of the stack is one ONNX RNN/GRU/LSTM node (direction forward or bidirectional) on
    // [T, B, features]; Y [T, D, B, H] becomes the next layer's [T, B, D·H] as Nabla concatenates.
    private static string ExportRecurrent(OnnxExportContext ctx, RecurrentBase r, OnnxValue input)
    {
        if (input.Rank is not (2 or 3))
            throw new OnnxExportException($"ONNX export of {r.GetType().Name} at '{ctx.Scope}': input {input.Shape} is not [T, B, {r.InputSize}], [B, T, {r.InputSize}] or [T, {r.InputSize}].");
        bool unbatched = input.Rank == 2;
        string x = input.Name;
        if (unbatched) x = ctx.Node("Unsqueeze", [x, ctx.Int64Constant("axes", 1)]);
        else if (r.BatchFirst) x = ctx.Node("Transpose", [x], OnnxAttribute.Ints("perm", 1, 0, 2));

        for (int l = 0; l < r.NumLayers; l++)
        {
            var dirs = Enumerable.Range(0, r.Directions).Select(d => r.Weights(l, d)).ToArray();
            string y = RecurrentNode(ctx, r.Mode, dirs, r.HasBias, r.HiddenSize, x, $"_l{l}")[0];
            // Y [T, D, B, H] → [T, B, D·H]
            x = r.Directions == 1
                ? ctx.Node("Squeeze", [y, ctx.Int64Constant("axes", 1)])
                : ctx.Node("Reshape", [ctx.Node("Transpose", [y], OnnxAttribute.Ints("perm", 0, 2, 1, 3)), ctx.Int64Constant("shape", 0, 0, -1)]);
        }
        if (unbatched) return ctx.Node("Squeeze", [x, ctx.Int64Constant("axes", 1)]);
        return r.BatchFirst ? ctx.Node("Transpose", [x], OnnxAttribute.Ints("perm", 1, 0, 2)) : x;
    }

    // One ONNX RNN/GRU/LSTM node over x [T, B, I] with the weights of each direction (the gate
    // blocks reordered for ONNX); returns its outputs Y [T, D, B, H], Y_h [D, B, H] (and Y_c).
    private static string[] RecurrentNode(OnnxExportContext ctx, RecurrentMode mode, RecurrentWeights[] dirs, bool hasBias, int hidden, string x, string suffix)
    {
        int D = dirs.Length, H = hidden;
        (string op, int[] order, OnnxAttribute[] extra) = mode switch
        {
            RecurrentMode.Lstm => ("LSTM", LstmGateOrder, Array.Empty<OnnxAttribute>()),
            // linear_before_reset=1 is PyTorch's GRU: the reset gate multiplies (W_hn·h + b_hn).
            RecurrentMode.Gru => ("GRU", GruGateOrder, [OnnxAttribute.Int("linear_before_reset", 1)]),
            RecurrentMode.RnnRelu => ("RNN", [0], [OnnxAttribute.Strings("activations", Enumerable.Repeat("Relu", D).ToArray())]),
            _ => ("RNN", [0], [OnnxAttribute.Strings("activations", Enumerable.Repeat("Tanh", D).ToArray())]),
        };
        string w = ctx.Weight("W" + suffix, Stack(dirs.Select(d => Reorder(d.WeightIh, order, H))));
        string r = ctx.Weight("R" + suffix, Stack(dirs.Select(d => Reorder(d.WeightHh, order, H))));
        string b = hasBias
            ? ctx.Weight("B" + suffix, Stack(dirs.Select(d => Ops.Concat([Reorder(d.BiasIh!, order, H), Reorder(d.BiasHh!, order, H)], 0))))
            : "";
        var attributes = new List<OnnxAttribute>
        {
            OnnxAttribute.Int("hidden_size", H),
            OnnxAttribute.String("direction", D == 2 ? "bidirectional" : "forward"),
        };
        attributes.AddRange(extra);
        return ctx.Node(op, [x, w, r, b], mode == RecurrentMode.Lstm ? 3 : 2, attributes.ToArray());
    }

    // A cell is one step of its layer from a zero state: [B, I] → [1, B, I], the node's Y_h
    // [1, B, H] → [B, H] (an unbatched [I] → [H] likewise).
    private static string ExportCell(OnnxExportContext ctx, RecurrentCellBase cell, OnnxValue input)
    {
        if (input.Rank is not (1 or 2) || input.Shape[^1] != cell.InputSize)
            throw new OnnxExportException($"ONNX export of {cell.GetType().Name} at '{ctx.Scope}': input {input.Shape} is not [B, {cell.InputSize}] or [{cell.InputSize}].");
        long[] axes = input.Rank == 1 ? [0, 1] : [0];
        string x = ctx.Node("Unsqueeze", [input.Name, ctx.Int64Constant("axes", axes)]);
        string h = RecurrentNode(ctx, cell.Mode, [cell.Weights], cell.HasBias, cell.HiddenSize, x, "")[1];
        return ctx.Node("Squeeze", [h, ctx.Int64Constant("axes", axes)]);
    }

    // LineReader: the bidirectional LSTM over [T, N, F], its head on every frame, log-softmax over
    // the classes; [T·N, C] is shaped back with T and N read from the input at run time.
    private static string ExportLineReader(OnnxExportContext ctx, LineReader m, OnnxValue input)
    {
        if (input.Rank != 3 || input.Shape[2] != m.Features)
            throw new OnnxExportException($"ONNX export of LineReader at '{ctx.Scope}': input {input.Shape} is not [T, N, {m.Features}].");
        var y = ctx.Export(m.Lstm, input, "lstm");
        var frames = ctx.Define(ctx.Node("Reshape", [y.Name, ctx.Int64Constant("frames_shape", -1, 2 * m.Hidden)]),
            Ops.Reshape(y.Sample, y.Shape[0] * y.Shape[1], 2 * m.Hidden));
        var logits = ctx.Export(m.Head, frames, "head");
        string logProbabilities = ctx.Node("LogSoftmax", [logits.Name], OnnxAttribute.Int("axis", -1));
        string tn = ctx.Node("Slice", [ctx.Node("Shape", [input.Name]), ctx.Int64Constant("starts", 0), ctx.Int64Constant("ends", 2)]);
        string shape = ctx.Node("Concat", [tn, ctx.Int64Constant("classes", m.Classes)], OnnxAttribute.Int("axis", 0));
        return ctx.Node("Reshape", [logProbabilities, shape]);
    }

    // Rows of a [G·H, …] weight or [G·H] bias, gate block j taken from PyTorch's block order[j].
    private static Tensor Reorder(Tensor w, int[] order, int hidden)
    {
        if (order.Length == 1) return w.Clone();
        int rowSize = w.Length / w.Shape[0], block = hidden * rowSize;
        var result = new Tensor(w.Shape);
        for (int j = 0; j < order.Length; j++)
            w.Data.Slice(order[j] * block, block).CopyTo(result.Data.Slice(j * block, block));
        return result;
    }

    private static Tensor Stack(IEnumerable<Tensor> parts)
    {
        var list = parts.Select(p => Ops.Reshape(p, [1, .. p.Shape])).ToList();
        return list.Count == 1 ? list[0] : Ops.Concat(list, 0);
    }

    // Indices arrive as floats holding whole numbers (Nabla's Embedding.Forward(Tensor)); Gather
    // wants integers.
    private static string ExportEmbedding(OnnxExportContext ctx, Embedding e, OnnxValue input)
    {
        string idx = ctx.Node("Cast", [input.Name], OnnxAttribute.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Int64));
        return ctx.Node("Gather", [ctx.Weight("weight", e.Weight), idx], OnnxAttribute.Int("axis", 0));
    }

    // y = x + T·(h − x), h = act(x·Wᵀ + b), T = σ(x·W_Tᵀ + b_T), on any rank [..., F] (MatMul
    // broadcasts over the leading axes).
    private static string ExportHighway(OnnxExportContext ctx, Highway hw, OnnxValue input)
    {
        if (input.Rank < 1 || input.Shape[^1] != hw.Features)
            throw new OnnxExportException($"ONNX export of Highway at '{ctx.Scope}': input {input.Shape} is not [..., {hw.Features}].");
        string x = input.Name;
        string h = ctx.Node("Add", [ctx.Node("MatMul", [x, ctx.Weight("weight_t", Ops.Transpose(hw.Weight, 0, 1))]), ctx.Weight("bias", hw.Bias)]);
        h = Activate(ctx, h, hw.Activation);
        string t = ctx.Node("Sigmoid", [ctx.Node("Add", [ctx.Node("MatMul", [x, ctx.Weight("gate_weight_t", Ops.Transpose(hw.GateWeight, 0, 1))]), ctx.Weight("gate_bias", hw.GateBiasParameter)])]);
        return ctx.Node("Add", [x, ctx.Node("Mul", [t, ctx.Node("Sub", [h, x])])]);
    }

    private static string Activate(OnnxExportContext ctx, string x, Activation activation) => activation switch
    {
        Activation.None => x,
        Activation.Relu => ctx.Node("Relu", [x]),
        Activation.Sigmoid => ctx.Node("Sigmoid", [x]),
        Activation.Tanh => ctx.Node("Tanh", [x]),
        _ => throw new OnnxExportException($"ONNX export at '{ctx.Scope}': activation {activation} has no ONNX form here."),
    };
}
