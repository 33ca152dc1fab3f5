using Nabla.Nn;
using Nabla.Onnx;
using Nabla.Tests.Data;
using static Nabla.Tests.Onnx.OnnxTestSupport;
using Proto = global::Onnx;

namespace Nabla.Tests.Onnx;

public class OnnxExportTests
{
    /// <summary>Small models covering every dense layer and activation, with an input maker.</summary>
    public static TheoryData<string> BasicModels => new(BasicCases.Keys);

    private static readonly Dictionary<string, Func<(Module Model, Func<int, Tensor> Input)>> BasicCases = new()
    {
        ["linear"] = () => (new Linear(5, 3, rng: new Random(1)), Normal(10, 5)),
        ["linear-no-bias"] = () => (new Linear(5, 3, bias: false, rng: new Random(2)), Normal(11, 5)),
        ["relu"] = () => (new Sequential(new Linear(4, 6, rng: new Random(3)), new ReLU()), Normal(12, 4)),
        ["leaky-relu"] = () => (new Sequential(new Linear(4, 6, rng: new Random(3)), new LeakyReLU(0.2f)), Normal(13, 4)),
        ["sigmoid"] = () => (new Sequential(new Linear(4, 6, rng: new Random(4)), new Sigmoid()), Normal(14, 4)),
        ["tanh"] = () => (new Sequential(new Linear(4, 6, rng: new Random(5)), new Tanh()), Normal(15, 4)),
        ["softmax"] = () => (new Sequential(new Linear(4, 6, rng: new Random(6)), new Softmax()), Normal(16, 4)),
        ["log-softmax"] = () => (new Sequential(new Linear(4, 6, rng: new Random(7)), new LogSoftmax()), Normal(17, 4)),
        ["step"] = () => (new Sequential(new Linear(4, 6, rng: new Random(8)), new Step()), Normal(18, 4)),
        ["flatten"] = () => (new Sequential(new Flatten(), new Linear(12, 3, rng: new Random(9))), Normal(19, 3, 2, 2)),
        ["flatten-rank2"] = () => (new Sequential(new Flatten(), new Linear(4, 3, rng: new Random(9))), Normal(20, 4)),
        ["identity"] = () => (new Identity(), Normal(21, 3, 2)),
        ["dropout"] = () => (new Sequential(new Linear(4, 6, rng: new Random(10)), new Dropout(0.5f), new Linear(6, 2, rng: new Random(11))), Normal(22, 4)),
        ["gaussian-noise"] = () => (new Sequential(new GaussianNoise(0.3f), new Linear(4, 2, rng: new Random(12))), Normal(23, 4)),
        ["mlp"] = () => (new Sequential(new Linear(8, 16, rng: new Random(13)), new ReLU(), new Linear(16, 16, rng: new Random(14)), new Tanh(),
            new Linear(16, 4, rng: new Random(15)), new LogSoftmax()), Normal(24, 8)),
        ["nested-sequential"] = () => (new Sequential(new Sequential(new Linear(3, 5, rng: new Random(16)), new Sigmoid()),
            new Sequential(new Sequential(new Linear(5, 2, rng: new Random(17))), new Softmax())), Normal(25, 3)),
    };

    [Theory]
    [MemberData(nameof(BasicModels))]
    public void Basic_layers_match_onnx_runtime_at_other_batch_sizes(string name)
    {
        var (model, input) = BasicCases[name]();
        AssertRoundTrip(model, input, sampleBatch: 2, batches: [1, 3, 7]);
    }

    [SkippableFact]
    public void Exported_models_pass_the_onnx_checker() =>
        AssertCheckerAccepts(BasicCases.Select(kv =>
        {
            var (model, input) = kv.Value();
            return (kv.Key, model, input(2));
        }));

    [SkippableFact]
    public void The_checker_harness_reports_a_broken_model()
    {
        Skip.If(CheckerPython is null, "python3 with the onnx package (Debian: apt-get install python3-onnx) is not installed; the ONNX checker was not run");
        var proto = Proto.ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(new Linear(3, 2, rng: new Random(1)), Tensor.Zeros(2, 3)));
        proto.Graph.Node[0].Input[1] = "no_such_weight";
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("broken.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(proto));
        var failures = Check(CheckerPython!, [dir.File("broken.onnx")]);
        Assert.Contains("no_such_weight", Assert.Single(failures));
    }

    [Fact]
    public void The_file_declares_opset_17_a_dynamic_batch_and_state_dict_names()
    {
        var model = new Sequential(new Linear(784, 32, rng: new Random(1)), new ReLU(), new Linear(32, 10, rng: new Random(2)));
        var proto = Proto.ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(model, Tensor.Zeros(4, 784)));
        Assert.Equal(8, proto.IrVersion);
        Assert.Equal(17, Assert.Single(proto.OpsetImport, o => o.Domain == "").Version);
        var input = Assert.Single(proto.Graph.Input);
        Assert.Equal("input", input.Name);
        Assert.Equal("batch", input.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(784, input.Type.TensorType.Shape.Dim[1].DimValue);
        var output = Assert.Single(proto.Graph.Output);
        Assert.Equal("output", output.Name);
        Assert.Equal("batch", output.Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(10, output.Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], proto.Graph.Initializer.Select(i => i.Name));
        Assert.Equal(["Gemm", "Relu", "Gemm"], proto.Graph.Node.Select(n => n.OpType));
        Assert.Equal("output", proto.Graph.Node[^1].Output[0]);
    }

    [Fact]
    public void A_fixed_batch_export_keeps_the_sample_shape()
    {
        var model = new Linear(3, 2, rng: new Random(1));
        var proto = Proto.ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(model, Tensor.Zeros(4, 3), new OnnxExportOptions { DynamicBatch = false }));
        Assert.Equal(4, proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue);
        Assert.Equal(4, proto.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimValue);
    }

    [Fact]
    public void Export_uses_evaluation_mode_and_restores_the_training_flags()
    {
        var inner = new Sequential(new Dropout(0.5f), new Linear(4, 2, rng: new Random(3)));
        var model = new Sequential(new Linear(4, 4, rng: new Random(2)), inner);
        model.Train();
        inner.Eval(); // a mixed state must come back as it was
        OnnxExporter.ExportToBytes(model, Tensor.Zeros(2, 4));
        Assert.True(model.IsTraining);
        Assert.True(model[0].IsTraining);
        Assert.False(inner.IsTraining);
        Assert.False(inner[0].IsTraining);
        AssertRoundTrip(model, Normal(30, 4));
    }

    [Fact]
    public void A_model_returning_its_input_gets_an_identity_node()
    {
        var proto = Proto.ModelProto.Parser.ParseFrom(OnnxExporter.ExportToBytes(new Sequential(new Dropout(0.1f)), Tensor.Zeros(2, 3)));
        var node = Assert.Single(proto.Graph.Node);
        Assert.Equal("Identity", node.OpType);
        Assert.Equal(["input"], node.Input);
        Assert.Equal(["output"], node.Output);
    }

    private sealed class Scale(float factor) : Module
    {
        public float Factor { get; } = factor;
        public override Tensor Forward(Tensor input) => input * Factor;
    }

    private sealed class Unexportable : Module
    {
        public override Tensor Forward(Tensor input) => input;
    }

    [Fact]
    public void A_layer_without_an_export_function_is_named_with_its_path()
    {
        var model = new Sequential(new Linear(3, 3, rng: new Random(1)), new Sequential(new ReLU(), new Unexportable()));
        var e = Assert.Throws<OnnxExportException>(() => OnnxExporter.ExportToBytes(model, Tensor.Zeros(1, 3)));
        Assert.Contains("'Unexportable'", e.Message);
        Assert.Contains("'1.1'", e.Message);
        Assert.Contains("OnnxExporter.Register", e.Message);
    }

    [Fact]
    public void A_user_layer_joins_with_its_own_export_function()
    {
        OnnxExporter.Register<Scale>("TestScale", (ctx, layer, x) => ctx.Node("Mul", [x.Name, ctx.Constant("factor", layer.Factor)]));
        Assert.True(OnnxExporter.HasExport("TestScale"));
        var model = new Sequential(new Linear(3, 4, rng: new Random(1)), new Scale(2.5f), new Tanh());
        AssertRoundTrip(model, Normal(40, 3));
    }

    [Fact]
    public void Bad_arguments_fail_with_clear_errors()
    {
        var model = new Linear(3, 2, rng: new Random(1));
        Assert.Throws<ArgumentException>(() => OnnxExporter.ExportToBytes(model, Tensor.Scalar(1f)));
        Assert.Throws<ArgumentOutOfRangeException>(() => OnnxExporter.ExportToBytes(model, Tensor.Zeros(2, 3), new OnnxExportOptions { BatchAxis = 2 }));
        var shape = Assert.ThrowsAny<ArgumentException>(() => OnnxExporter.ExportToBytes(model, Tensor.Zeros(2, 4)));
        Assert.Contains("Linear", shape.Message);
        string missing = Path.Combine(Path.GetTempPath(), "nabla-no-such-dir-" + Guid.NewGuid().ToString("N"), "m.onnx");
        var dirError = Assert.Throws<DirectoryNotFoundException>(() => OnnxExporter.Export(model, missing, Tensor.Zeros(2, 3)));
        Assert.Contains("does not exist", dirError.Message);
    }
}
