using Nabla.Autograd;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Tests.Nn;

/// <summary>
/// The one conformance test every registered layer type passes (Keras's <c>run_layer_test</c>):
/// its gradients against central differences, its state dict and architecture round trips, the
/// model-file round trip, and a clear error for a wrong input shape.
/// </summary>
public class LayerConformanceTests
{
    /// <summary>Every registered layer type name.</summary>
    public static TheoryData<string> RegisteredTypes()
    {
        var data = new TheoryData<string>();
        foreach (var name in LayerRegistry.TypeNames) data.Add(name);
        return data;
    }

    private static LayerExample ExampleOf(string type) =>
        LayerExamples.Get(type) ?? throw new Xunit.Sdk.XunitException(
            $"layer type '{type}' is registered but has no example in tests/Nabla.Tests/Nn/LayerExamples*.cs; add one so the conformance test covers it.");

    private static Module Prepare(LayerExample example)
    {
        var m = example.Build();
        if (example.Stochastic) m.Eval();
        return m;
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Has_an_example_and_its_type_is_registered_under_its_name(string type)
    {
        var m = ExampleOf(type).Build();
        Assert.Equal(type, LayerRegistry.NameOf(m.GetType()));
        Assert.Equal(m.GetType(), LayerRegistry.TypeOf(type));
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Gradients_match_central_differences(string type)
    {
        var example = ExampleOf(type);
        var m = Prepare(example);
        var x = example.Input(1);
        var inputs = new List<Tensor>();
        if (example.InputIsDifferentiable) inputs.Add(x);
        inputs.AddRange(m.Parameters());
        if (inputs.Count == 0) return; // a layer without parameters whose input is an index: nothing differentiable
        var result = GradCheck.Check(_ => m.Forward(x), inputs.ToArray(), step: example.GradStep);
        Assert.True(result.Passed, $"{type}: {result}");
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Architecture_and_state_dict_round_trip(string type)
    {
        var example = ExampleOf(type);
        var m = example.Build().Eval();
        var json = LayerRegistry.ToJson(m);
        var rebuilt = LayerRegistry.FromJson(json).Eval();
        Assert.Equal(json.ToJsonString(), LayerRegistry.ToJson(rebuilt).ToJsonString());
        var state = m.StateDict();
        Assert.Equal(state.Keys.Order(), rebuilt.StateDict().Keys.Order());
        rebuilt.LoadStateDict(state);
        var x = example.Input(2);
        using (GradMode.NoGrad())
            Assert.Equal(m.Forward(x).ToArray(), rebuilt.Forward(x).ToArray());
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Model_file_round_trip(string type)
    {
        var example = ExampleOf(type);
        var m = example.Build().Eval();
        string dir = Directory.CreateTempSubdirectory("nabla-conformance-").FullName;
        try
        {
            string file = Path.Combine(dir, "m.safetensors");
            ModelFile.Save(file, m);
            var (loaded, meta) = ModelFile.Load(file);
            Assert.IsType(m.GetType(), loaded);
            Assert.Equal("nabla", meta["format"]);
            loaded.Eval();
            var x = example.Input(3);
            using (GradMode.NoGrad())
                Assert.Equal(m.Forward(x).ToArray(), loaded.Forward(x).ToArray());

            // The same weights without the architecture load when it is given separately.
            var (fromArch, _) = ModelFile.Load(file, ModelFile.Architecture(m));
            fromArch.Eval();
            using (GradMode.NoGrad())
                Assert.Equal(m.Forward(x).ToArray(), fromArch.Forward(x).ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void A_wrong_input_shape_is_a_clear_error(string type)
    {
        var example = ExampleOf(type);
        if (example.BadInputShape is null)
        {
            // Elementwise layers accept any shape: show it on a shape of another rank.
            var any = Prepare(example);
            var y = any.Forward(Core.Gen.AwayFromZero(4, 0.1f, 2, 3, 5));
            Assert.Equal(type == "Flatten" ? [2, 15] : new[] { 2, 3, 5 }, y.Shape.ToArray());
            return;
        }
        var m = Prepare(example);
        var bad = Core.Gen.N(5, example.BadInputShape);
        var e = Assert.ThrowsAny<Exception>(() => m.Forward(bad));
        Assert.True(e is ShapeMismatchException or ArgumentException,
            $"{type}: a wrong input shape {bad.Shape} threw {e.GetType().Name} ({e.Message}); expected a ShapeMismatchException or ArgumentException naming the shapes.");
    }

    [Fact]
    public void A_users_own_layer_joins_the_registry_and_saves_with_the_model()
    {
        LayerRegistry.Register("Test.Scale", c => new ScaleLayer(c.Float("factor")));
        var model = new Sequential(new Linear(3, 2), new ScaleLayer(2.5f));
        string dir = Directory.CreateTempSubdirectory("nabla-conformance-").FullName;
        try
        {
            string file = Path.Combine(dir, "m.safetensors");
            ModelFile.Save(file, model);
            var (loaded, _) = ModelFile.Load(file);
            var x = Core.Gen.N(1, 4, 3);
            using (GradMode.NoGrad())
                Assert.Equal(model.Forward(x).ToArray(), loaded.Forward(x).ToArray());
            Assert.Equal(2.5f, ((ScaleLayer)((Sequential)loaded)[1]).Factor);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void An_unregistered_layer_is_named_in_the_error()
    {
        var e = Assert.Throws<NotSupportedException>(() => LayerRegistry.ToJson(new Sequential(new Linear(2, 2), new Unregistered())));
        Assert.Contains("Unregistered", e.Message);
    }

    [Fact]
    public void Malformed_architectures_name_the_key()
    {
        var e = Assert.Throws<LayerConfigException>(() => LayerRegistry.FromJson(System.Text.Json.Nodes.JsonNode.Parse(
            """{"type": "Sequential", "layers": [{"type": "Linear", "in_features": 3, "out_features": -4}]}""")));
        Assert.Equal("architecture.layers[0].out_features", e.Key);
        e = Assert.Throws<LayerConfigException>(() => LayerRegistry.FromJson(System.Text.Json.Nodes.JsonNode.Parse("""{"type": "Nope"}""")));
        Assert.Contains("unknown layer type 'Nope'", e.Message);
        e = Assert.Throws<LayerConfigException>(() => LayerRegistry.FromJson(System.Text.Json.Nodes.JsonNode.Parse("""{"type": "Linear", "in_features": "3", "out_features": 4}""")));
        Assert.Equal("architecture.in_features", e.Key);
    }

    [Fact]
    public void A_small_file_cannot_declare_a_huge_layer()
    {
        string dir = Directory.CreateTempSubdirectory("nabla-conformance-").FullName;
        try
        {
            string file = Path.Combine(dir, "m.safetensors");
            ModelFile.Save(file, new Sequential(new Linear(3, 2)));
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<Nabla.Data.InvalidDataFileException>(() => ModelFile.Load(file,
                """{"type": "Sequential", "layers": [{"type": "Linear", "in_features": 20000, "out_features": 20000}]}"""));
            Assert.Contains("architecture does not match", e.Message);
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 10_000_000, "the loader allocated the declared layer before checking it");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Buffers_are_saved_and_loaded_with_the_parameters_but_not_trained()
    {
        var m = new WithBuffer();
        Assert.Contains("running", m.StateDict().Keys);
        Assert.DoesNotContain(m.Parameters(), p => ReferenceEquals(p, m.Running));
        var other = new WithBuffer();
        m.Running.Data.Fill(7f);
        other.LoadStateDict(m.StateDict());
        Assert.All(other.Running.ToArray(), v => Assert.Equal(7f, v));
    }

    private sealed class ScaleLayer(float factor) : Module, IConfigurable
    {
        public float Factor { get; } = factor;
        public override Tensor Forward(Tensor input) => input * Tensor.Scalar(Factor);
        public System.Text.Json.Nodes.JsonObject GetConfig() => new() { ["factor"] = Factor };
    }

    private sealed class Unregistered : Module
    {
        public override Tensor Forward(Tensor input) => input;
    }

    private sealed class WithBuffer : Module
    {
        public WithBuffer()
        {
            RegisterParameter("weight", new Parameter(2));
            Running = RegisterBuffer("running", Tensor.Zeros(2));
        }

        public Tensor Running { get; }
        public override Tensor Forward(Tensor input) => input;
    }
}
