using Nabla.Nn;
using Nabla.Onnx;
using static Nabla.Tests.Onnx.OnnxTestSupport;
using Proto = global::Onnx;

namespace Nabla.Tests.Onnx;

/// <summary>Recurrent layers, Embedding and Highway in ONNX Runtime: gate orders, directions, layouts, dynamic batch and length.</summary>
public class OnnxRecurrentTests
{
    private static readonly Dictionary<string, Func<Module>> Layers = new()
    {
        ["lstm"] = () => new Lstm(3, 4, rng: new Random(1)),
        ["lstm-2-layers-bidirectional"] = () => new Lstm(3, 4, numLayers: 2, bidirectional: true, rng: new Random(2)),
        ["lstm-no-bias"] = () => new Lstm(3, 5, bias: false, rng: new Random(3)),
        ["gru"] = () => new Gru(3, 4, rng: new Random(4)),
        ["gru-2-layers-bidirectional"] = () => new Gru(3, 4, numLayers: 2, bidirectional: true, rng: new Random(5)),
        ["rnn-tanh"] = () => new Rnn(3, 4, rng: new Random(6)),
        ["rnn-relu-bidirectional"] = () => new Rnn(3, 4, nonlinearity: "relu", bidirectional: true, rng: new Random(7)),
        ["rnn-3-layers-no-bias"] = () => new Rnn(3, 4, numLayers: 3, bias: false, rng: new Random(8)),
    };

    public static TheoryData<string> Names => new(Layers.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Sequence_first_layers_match_at_other_batch_sizes_and_lengths(string name)
    {
        var layer = Layers[name]();
        // [T, B, 3]: batch on axis 1, any length on axis 0.
        using var dir = new Data.TempDir();
        string path = dir.File("m.onnx");
        OnnxExporter.Export(layer, path, Seq(1, 5, 2, 3), new OnnxExportOptions { BatchAxis = 1, SequenceAxis = 0 });
        foreach (var (t, b) in new[] { (5, 2), (1, 1), (7, 3), (3, 6) })
            AssertClose(Reference(layer, Seq(10 + t, t, b, 3)), Run(path, Seq(10 + t, t, b, 3)), $"{name} T={t} B={b}");
    }

    [Fact]
    public void Batch_first_and_unbatched_inputs_match()
    {
        var lstm = new Lstm(3, 4, numLayers: 2, batchFirst: true, bidirectional: true, rng: new Random(9));
        AssertRoundTrip(lstm, b => Seq(20 + b, b, 6, 3), sampleBatch: 2, batches: [1, 4]);
        var gru = new Gru(3, 4, rng: new Random(10));
        using var dir = new Data.TempDir();
        string path = dir.File("unbatched.onnx");
        OnnxExporter.Export(gru, path, Seq(30, 5, 3), new OnnxExportOptions { BatchAxis = 0 }); // [T, I]: axis 0 is time
        AssertClose(Reference(gru, Seq(31, 8, 3)), Run(path, Seq(31, 8, 3)), "unbatched GRU");
    }

    [Fact]
    public void Onnx_gate_order_is_used_for_the_weights()
    {
        // The ONNX W of an LSTM holds PyTorch's blocks i, o, f, g in that order (i,o,f,c);
        // of a GRU, z, r, n (z,r,h).
        var lstm = new Lstm(2, 1, rng: new Random(11));
        var w = lstm.GetParameter("weight_ih_l0").ToArray(); // rows i, f, g, o
        var proto = Proto.ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(lstm, Seq(1, 3, 1, 2), new OnnxExportOptions { BatchAxis = 1 }));
        var onnxW = Floats(proto.Graph.Initializer.Single(i => i.Name == "W_l0"));
        Assert.Equal([.. w[0..2], .. w[6..8], .. w[2..4], .. w[4..6]], onnxW);
        var gru = new Gru(2, 1, rng: new Random(12));
        var gw = gru.GetParameter("weight_ih_l0").ToArray(); // rows r, z, n
        proto = Proto.ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(gru, Seq(1, 3, 1, 2), new OnnxExportOptions { BatchAxis = 1 }));
        Assert.Equal([.. gw[2..4], .. gw[0..2], .. gw[4..6]], Floats(proto.Graph.Initializer.Single(i => i.Name == "W_l0")));
        var node = proto.Graph.Node.Single(n => n.OpType == "GRU");
        Assert.Equal(1, node.Attribute.Single(a => a.Name == "linear_before_reset").I);
    }

    [Fact]
    public void An_embedding_and_lstm_sequence_model_matches()
    {
        var model = new Sequential(new Embedding(10, 4, paddingIndex: 0, rng: new Random(13)),
            new Lstm(4, 6, batchFirst: true, rng: new Random(14)), new Highway(6, Activation.Relu, rng: new Random(15)), new Tanh());
        AssertRoundTrip(model, b => Indices(40 + b, 10, b, 5), sampleBatch: 2, batches: [1, 3]);
    }

    [Fact]
    public void Highway_matches_on_rank_2_and_3()
    {
        AssertRoundTrip(new Highway(5, rng: new Random(16)), Normal(50, 5));
        AssertRoundTrip(new Highway(5, Activation.Tanh, rng: new Random(17)), Normal(51, 3, 5));
    }

    [SkippableFact]
    public void Recurrent_exports_pass_the_onnx_checker() =>
        AssertCheckerAccepts(Layers.Select(kv => (kv.Key, kv.Value(), Seq(1, 4, 2, 3)))
            .Append(("embedding", new Embedding(10, 4, rng: new Random(1)), Indices(2, 10, 2, 5))));

    private static Tensor Seq(int seed, params int[] shape) => Tensor.Normal(new Shape(shape), 0f, 1f, new Random(seed));

    private static Tensor Indices(int seed, int vocabulary, params int[] shape)
    {
        var rng = new Random(seed);
        var t = new Tensor(new Shape(shape));
        for (int i = 0; i < t.Length; i++) t.Data[i] = rng.Next(vocabulary);
        return t;
    }

    private static float[] Floats(Proto.TensorProto t) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.True(expected.Shape == actual.Shape, $"{what}: ONNX Runtime's output {actual.Shape}, Nabla's {expected.Shape}");
        for (int i = 0; i < expected.Length; i++)
            if (!(MathF.Abs(expected.Data[i] - actual.Data[i]) <= Tolerance))
                Assert.Fail($"{what}: element {i}: Nabla {expected.Data[i]}, ONNX Runtime {actual.Data[i]}");
    }
}
