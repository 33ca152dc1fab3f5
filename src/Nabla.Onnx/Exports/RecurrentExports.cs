using Nabla.Nn;
using Nabla.Sequences;

namespace Nabla.Onnx;

// Export functions of the recurrent family: ONNX's LSTM, GRU and RNN operators, whose gate orders
// differ from PyTorch's (LSTM i,o,f,c instead of i,f,g,o; GRU z,r,h instead of r,z,n, with
// linear_before_reset=1 for the reset gate applied to the hidden projection as PyTorch does).
public static partial class OnnxExporter
{
    static partial void RegisterRecurrent()
    {
        Register<Rnn>("Rnn", (ctx, m, x) => ExportStack(ctx, m, x));
        Register<Gru>("Gru", (ctx, m, x) => ExportStack(ctx, m, x));
        Register<Lstm>("Lstm", (ctx, m, x) => ExportStack(ctx, m, x));
        Register<RnnCell>("RnnCell", ExportCell);
        Register<GruCell>("GruCell", ExportCell);
        Register<LstmCell>("LstmCell", ExportCell);
        Register<Highway>("Highway", ExportHighway);
        Register<Embedding>("Embedding", (ctx, e, x) =>
        {
            var idx = ctx.Node("Cast", [x.Name], OnnxAttribute.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Int64));
            return ctx.Node("Gather", [ctx.Weight("weight", e.Weight), idx], OnnxAttribute.Int("axis", 0));
        });
        Register<LineReader>("LineReader", (ctx, r, x) =>
        {
            if (x.Rank != 3) throw new OnnxExportException($"ONNX export of LineReader at '{ctx.Scope}': input {x.Shape} is not [T, N, {r.Features}].");
            string y = ExportLayers(ctx, r.Lstm, x.Name);
            // [T, N, 2H]·Wᵀ + b with MatMul (any leading dims), then log-softmax over the classes.
            var wt = r.Head.Weight.Transpose().Clone();
            string logits = ctx.Node("Add", [ctx.Node("MatMul", [y, ctx.Weight("head.weight_t", wt)]), ctx.Weight("head.bias", r.Head.Bias!)]);
            return ctx.Node("LogSoftmax", [logits], OnnxAttribute.Int("axis", -1));
        });
    }

    // PyTorch gate blocks in ONNX order.
    private static int[] GateOrder(RecurrentMode mode) => mode switch
    {
        RecurrentMode.Lstm => [0, 3, 1, 2],
        RecurrentMode.Gru => [1, 0, 2],
        _ => [0],
    };

    private static string OpOf(RecurrentMode mode) => mode switch { RecurrentMode.Lstm => "LSTM", RecurrentMode.Gru => "GRU", _ => "RNN" };

    private static float[] Reorder(ReadOnlySpan<float> w, int blocks, int blockSize, int[] order)
    {
        var o = new float[w.Length];
        for (int k = 0; k < blocks; k++) w.Slice(order[k] * blockSize, blockSize).CopyTo(o.AsSpan(k * blockSize, blockSize));
        return o;
    }

    /// <summary>One ONNX recurrent node over [T, B, I] (one layer, its directions); returns [T, B, D·H].</summary>
    private static string ExportLayer(OnnxExportContext ctx, RecurrentMode mode, Func<int, RecurrentWeights> weights, int dirs, int H, string x, string prefix)
    {
        var order = GateOrder(mode);
        int G = order.Length, GH = G * H;
        var first = weights(0);
        int I = first.WeightIh.Shape[1];
        var W = new float[dirs * GH * I];
        var R = new float[dirs * GH * H];
        var B = new float[dirs * 2 * GH];
        for (int d = 0; d < dirs; d++)
        {
            var w = weights(d);
            Reorder(w.WeightIh.Data, G, H * I, order).CopyTo(W, d * GH * I);
            Reorder(w.WeightHh.Data, G, H * H, order).CopyTo(R, d * GH * H);
            if (w.BiasIh is { } bi) Reorder(bi.Data, G, H, order).CopyTo(B, d * 2 * GH);
            if (w.BiasHh is { } bh) Reorder(bh.Data, G, H, order).CopyTo(B, d * 2 * GH + GH);
        }
        var attrs = new List<OnnxAttribute>
        {
            OnnxAttribute.Int("hidden_size", H),
            OnnxAttribute.String("direction", dirs == 2 ? "bidirectional" : "forward"),
        };
        if (mode == RecurrentMode.Gru) attrs.Add(OnnxAttribute.Int("linear_before_reset", 1));
        if (mode is RecurrentMode.RnnTanh or RecurrentMode.RnnRelu)
        {
            string act = mode == RecurrentMode.RnnRelu ? "Relu" : "Tanh";
            attrs.Add(OnnxAttribute.Strings("activations", dirs == 2 ? [act, act] : [act]));
        }
        string y = ctx.Node(OpOf(mode), [x, ctx.Constant(prefix + "W", W, dirs, GH, I), ctx.Constant(prefix + "R", R, dirs, GH, H), ctx.Constant(prefix + "B", B, dirs, 2 * GH)],
            attrs.ToArray());
        // Y is [T, D, B, H]: directions next to the features, then merged into them.
        string t = ctx.Node("Transpose", [y], OnnxAttribute.Ints("perm", 0L, 2, 1, 3));
        return ctx.Node("Reshape", [t, ctx.Int64Constant(prefix + "shape", 0, 0, -1)]);
    }

    private static string ExportLayers(OnnxExportContext ctx, RecurrentBase m, string x)
    {
        // Evaluation mode: the dropout between layers is the identity.
        for (int l = 0; l < m.NumLayers; l++)
        {
            int layer = l;
            x = ExportLayer(ctx, m.Mode, d => m.Weights(layer, d), m.Directions, m.HiddenSize, x, $"l{l}.");
        }
        return x;
    }

    private static string ExportStack(OnnxExportContext ctx, RecurrentBase m, OnnxValue x)
    {
        if (x.Rank != 3)
            throw new OnnxExportException($"ONNX export of {m.GetType().Name} at '{ctx.Scope}': input {x.Shape} must be [T, B, {m.InputSize}] (or batch-first); unbatched inputs are not exported.");
        string input = m.BatchFirst ? ctx.Node("Transpose", [x.Name], OnnxAttribute.Ints("perm", 1L, 0, 2)) : x.Name;
        string y = ExportLayers(ctx, m, input);
        return m.BatchFirst ? ctx.Node("Transpose", [y], OnnxAttribute.Ints("perm", 1L, 0, 2)) : y;
    }

    private static string ExportCell(OnnxExportContext ctx, RecurrentCellBase c, OnnxValue x)
    {
        if (x.Rank != 2)
            throw new OnnxExportException($"ONNX export of {c.GetType().Name} at '{ctx.Scope}': input {x.Shape} is not [B, {c.InputSize}].");
        // One step from a zero state: the sequence operator over a sequence of length 1.
        string seq = ctx.Node("Unsqueeze", [x.Name, ctx.Int64Constant("axes", 0)]);
        string y = ExportLayer(ctx, c.Mode, _ => c.Weights, 1, c.HiddenSize, seq, "");
        return ctx.Node("Reshape", [y, ctx.Int64Constant("out_shape", -1, c.HiddenSize)]);
    }

    // y = x + T·(h − x) with h = act(x·Wᵀ + b), T = σ(x·W_Tᵀ + b_T).
    private static string ExportHighway(OnnxExportContext ctx, Highway l, OnnxValue x)
    {
        if (x.Rank != 2)
            throw new OnnxExportException($"ONNX export of Highway at '{ctx.Scope}': input {x.Shape} is not [N, {l.Features}].");
        string h = ctx.Node("Gemm", [x.Name, ctx.Weight("weight", l.Weight), ctx.Weight("bias", l.Bias)], OnnxAttribute.Int("transB", 1));
        h = l.Activation switch
        {
            Activation.Relu => ctx.Node("Relu", [h]),
            Activation.Sigmoid => ctx.Node("Sigmoid", [h]),
            Activation.Tanh => ctx.Node("Tanh", [h]),
            _ => h,
        };
        string t = ctx.Node("Sigmoid", [ctx.Node("Gemm", [x.Name, ctx.Weight("gate_weight", l.GateWeight), ctx.Weight("gate_bias", l.GateBiasParameter)], OnnxAttribute.Int("transB", 1))]);
        return ctx.Node("Add", [x.Name, ctx.Node("Mul", [t, ctx.Node("Sub", [h, x.Name])])]);
    }
}
