using Nabla.Nn;
using Nabla.Onnx;
using Nabla.Tests.Nn;
using static Nabla.Tests.Onnx.OnnxTestSupport;

namespace Nabla.Tests.Onnx;

/// <summary>
/// Every type in the layer registry has an ONNX export function, and its conformance example
/// (tests/Nabla.Tests/Nn/LayerExamples*.cs) runs in ONNX Runtime like in Nabla at other batch sizes.
/// </summary>
public class OnnxLayerCoverageTests
{
    /// <summary>Every registered layer type name.</summary>
    public static TheoryData<string> RegisteredTypes() => LayerConformanceTests.RegisteredTypes();

    [Theory]
    [MemberData(nameof(RegisteredTypes))]
    public void Every_registered_layer_type_exports_and_matches_onnx_runtime(string type)
    {
        Assert.True(OnnxExporter.HasExport(type),
            $"layer type '{type}' is registered but has no ONNX export function; add one in src/Nabla.Onnx/Exports (OnnxExporter.Register).");
        var example = LayerExamples.Get(type) ?? throw new Xunit.Sdk.XunitException($"layer type '{type}' has no example in LayerExamples.");
        var model = example.Build();
        var sample = example.Input(1);
        int axis = BatchAxisOf(model, sample);
        int b = sample.Shape[axis];
        AssertRoundTrip(model, n => n == b ? sample : Batch(example, axis, n), sampleBatch: b, batches: [1, b + 2],
            options: new OnnxExportOptions { BatchAxis = axis });
    }

    [SkippableFact]
    public void Every_registered_layer_example_passes_the_onnx_checker() =>
        AssertCheckerAccepts(LayerRegistry.TypeNames.Where(OnnxExporter.HasExport).Select(type =>
        {
            var example = LayerExamples.Get(type)!;
            var model = example.Build();
            var sample = example.Input(1);
            return (type, model, sample);
        }));

    /// <summary>The input axis that holds the batch: 1 for sequence-first layouts [T, B, F], else 0.</summary>
    internal static int BatchAxisOf(Module model, Tensor input) =>
        (model is RecurrentBase { BatchFirst: false } && input.Rank == 3) || model is Sequences.LineReader ? 1 : 0;

    /// <summary>An input of batch <paramref name="n"/> made from the example's inputs (seeds 2, 3, …) along <paramref name="axis"/>.</summary>
    internal static Tensor Batch(LayerExample example, int axis, int n)
    {
        var parts = new List<Tensor>();
        int have = 0;
        for (int seed = 2; have < n; seed++)
        {
            var part = example.Input(seed);
            parts.Add(part);
            have += part.Shape[axis];
        }
        var all = parts.Count == 1 ? parts[0] : Ops.Concat(parts, axis);
        return Ops.Narrow(all, axis, 0, n).Clone();
    }
}
