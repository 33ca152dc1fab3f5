using System.Reflection;
using Module = Nabla.Nn.Module;
using Google.Protobuf;
using Nabla.Autograd;
using Nabla.Nn;
using Proto = global::Onnx;

namespace Nabla.Onnx;

/// <summary>
/// An export function: adds the ONNX nodes that compute <paramref name="layer"/> on
/// <paramref name="input"/> to the graph and returns the name of the output value (as
/// torch.onnx's symbolic functions do, one per layer type).
/// </summary>
public delegate string OnnxLayerExport<in T>(OnnxExportContext context, T layer, OnnxValue input) where T : Module;

/// <summary>An export function for any module (the untyped form kept by the registry).</summary>
public delegate string OnnxLayerExport(OnnxExportContext context, Module layer, OnnxValue input);

/// <summary>What <see cref="OnnxExporter.Export"/> wrote.</summary>
/// <param name="InputName">The graph input's name.</param>
/// <param name="InputDims">The input's dimensions ("batch" for the dynamic one).</param>
/// <param name="OutputName">The graph output's name.</param>
/// <param name="OutputDims">The output's dimensions ("batch" for the dynamic one).</param>
/// <param name="Nodes">Number of nodes in the graph.</param>
/// <param name="Operators">The ONNX operators used.</param>
/// <param name="Weights">Number of float weight values stored.</param>
/// <param name="Bytes">Size of the file.</param>
public sealed record OnnxExportSummary(string InputName, string[] InputDims, string OutputName, string[] OutputDims, int Nodes,
    string[] Operators, long Weights, long Bytes);

/// <summary>Settings of <see cref="OnnxExporter.Export(Module, string, Tensor, OnnxExportOptions?)"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>Name of the graph's input.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>Name of the graph's output.</summary>
    public string OutputName { get; init; } = "output";

    /// <summary>The axis of the input that holds the batch (made dynamic, named <c>batch</c>): 0, as in PyTorch's default layouts.</summary>
    public int BatchAxis { get; init; }

    /// <summary>Whether the batch dimension is dynamic (default); if false the graph has the sample's exact shapes.</summary>
    public bool DynamicBatch { get; init; } = true;

    /// <summary>
    /// An axis of the input that holds time steps (made dynamic, named <c>sequence</c>), for
    /// sequence models that take any length; null (default) keeps the sample's length.
    /// </summary>
    public int? SequenceAxis { get; init; }

    /// <summary>The graph's name (default: the model's type name).</summary>
    public string? GraphName { get; init; }
}

/// <summary>
/// Exports Nabla models to ONNX (opset <see cref="Opset"/>, IR version <see cref="IrVersion"/>), so
/// that ONNX Runtime and other ONNX tools run them. Each layer type has an export function in a
/// registry keyed by the layer registry's type name (<see cref="LayerRegistry"/>); the library's
/// layers are registered here, and a user's own layer joins with <see cref="Register{T}"/>.
/// </summary>
/// <example>
/// <code>
/// OnnxExporter.Export(model, "model.onnx", Tensor.Zeros(1, 784));
/// // In Python: onnxruntime.InferenceSession("model.onnx").run(None, {"input": x})
/// </code>
/// </example>
public static partial class OnnxExporter
{
    /// <summary>The ONNX operator set the exporter writes (the default domain's version 17).</summary>
    public const int Opset = 17;

    /// <summary>The ONNX IR version written (8: the version that goes with opset 17, read by ONNX 1.12 and later).</summary>
    public const int IrVersion = 8;

    private static readonly object gate = new();
    private static readonly Dictionary<string, (Type Type, OnnxLayerExport Export)> exports = new(StringComparer.Ordinal);

    static OnnxExporter()
    {
        RegisterBasic();
        RegisterConvolution();
        RegisterRecurrent();
        RegisterModels();
        RegisterDetection();
        RegisterSegmentation();
    }

    static partial void RegisterBasic();
    static partial void RegisterConvolution();
    static partial void RegisterRecurrent();
    static partial void RegisterModels();
    static partial void RegisterDetection();
    static partial void RegisterSegmentation();

    /// <summary>
    /// Registers (or replaces) the export function of layer type <paramref name="typeName"/> — the
    /// name the layer has in <see cref="LayerRegistry"/>. A layer of class
    /// <typeparamref name="T"/> that is not in the layer registry is found by its class.
    /// </summary>
    public static void Register<T>(string typeName, OnnxLayerExport<T> export) where T : Module
    {
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        ArgumentNullException.ThrowIfNull(export);
        lock (gate) exports[typeName] = (typeof(T), (ctx, layer, input) => export(ctx, (T)layer, input));
    }

    /// <summary>Whether layer type <paramref name="typeName"/> has an export function.</summary>
    public static bool HasExport(string typeName)
    {
        lock (gate) return exports.ContainsKey(typeName);
    }

    /// <summary>The layer types that have an export function.</summary>
    public static IReadOnlyList<string> ExportableTypeNames
    {
        get { lock (gate) return exports.Keys.Order(StringComparer.Ordinal).ToList(); }
    }

    /// <summary>
    /// The type name the exporter looks <paramref name="layer"/> up by: its name in the
    /// <see cref="LayerRegistry"/>, else its class name.
    /// </summary>
    public static string TypeNameOf(Module layer) => LayerRegistry.NameOf(layer.GetType()) ?? layer.GetType().Name;

    internal static OnnxLayerExport? FindExport(Module layer)
    {
        lock (gate)
        {
            if (exports.TryGetValue(TypeNameOf(layer), out var e) && e.Type.IsInstanceOfType(layer)) return e.Export;
            foreach (var (_, entry) in exports)
                if (entry.Type == layer.GetType()) return entry.Export;
            return null;
        }
    }

    /// <summary>
    /// Exports <paramref name="model"/> to the ONNX file <paramref name="path"/> (written atomically),
    /// tracing it on <paramref name="sampleInput"/> (any batch size: the batch dimension stays
    /// dynamic). The model is exported in evaluation mode (dropout and noise layers are the
    /// identity); its training flags are left as they were. Returns what was written.
    /// </summary>
    public static OnnxExportSummary Export(Module model, string path, Tensor sampleInput, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
            throw new DirectoryNotFoundException($"ONNX export: the folder '{dir}' of '{path}' does not exist.");
        var proto = BuildModel(model, sampleInput, options ?? new OnnxExportOptions());
        byte[] bytes = proto.ToByteArray();
        string temp = full + ".tmp-" + Environment.ProcessId;
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        return Summarize(proto, bytes.Length);
    }

    /// <summary>The ONNX model (a serialized <c>onnx.ModelProto</c>) of <paramref name="model"/>; see <see cref="Export"/>.</summary>
    public static byte[] ExportToBytes(Module model, Tensor sampleInput, OnnxExportOptions? options = null) =>
        BuildModel(model, sampleInput, options ?? new OnnxExportOptions()).ToByteArray();

    private static OnnxExportSummary Summarize(Proto.ModelProto proto, long bytes)
    {
        static string[] Dims(Proto.ValueInfoProto v) => v.Type.TensorType.Shape.Dim
            .Select(d => d.ValueCase == Proto.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : d.ValueCase == Proto.TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : "?").ToArray();
        var g = proto.Graph;
        return new OnnxExportSummary(g.Input[0].Name, Dims(g.Input[0]), g.Output[0].Name, Dims(g.Output[0]), g.Node.Count,
            g.Node.Select(n => n.OpType).Distinct().Order(StringComparer.Ordinal).ToArray(),
            g.Initializer.Where(i => i.DataType == (int)Proto.TensorProto.Types.DataType.Float).Sum(i => i.Dims.Aggregate(1L, (a, d) => a * d)),
            bytes);
    }

    internal static Proto.ModelProto BuildModel(Module model, Tensor sampleInput, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleInput);
        ArgumentException.ThrowIfNullOrEmpty(options.InputName);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputName);
        if (options.InputName == options.OutputName)
            throw new ArgumentException($"ONNX export: input and output names must differ (both '{options.InputName}').");
        if (sampleInput.Rank == 0)
            throw new ArgumentException("ONNX export: the sample input must have a batch dimension (it is a scalar).");
        var dynamicAxes = new List<(int Axis, string Name)>();
        if (options.DynamicBatch) dynamicAxes.Add((CheckAxis(options.BatchAxis, sampleInput, "batch"), "batch"));
        if (options.SequenceAxis is int seqAxis)
        {
            int axis = CheckAxis(seqAxis, sampleInput, "sequence");
            if (dynamicAxes.Any(d => d.Axis == axis))
                throw new ArgumentException($"ONNX export: the sequence axis {seqAxis} is also the batch axis.", nameof(options));
            dynamicAxes.Add((axis, "sequence"));
        }

        var modes = new List<(Module, bool)>();
        Collect(model, modes);
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var graph = new Proto.GraphProto { Name = options.GraphName ?? TypeNameOf(model) };
            var ctx = new OnnxExportContext(graph, FindExport);
            var sample = sampleInput.Detach();
            ctx.AddInput(options.InputName, sample);
            var output = ctx.Export(model, new OnnxValue(options.InputName, sample), "");

            // The graph's output takes its name from the node that computes it; a model that returns
            // its input or a weight unchanged gets an Identity node instead.
            string outName = output.Name;
            if (ctx.ProducerOf(outName) is not null && !ctx.IsUsedAsInput(outName))
                ctx.Rename(outName, options.OutputName);
            else
            {
                ctx.Reserve(options.OutputName);
                graph.Node.Add(new Proto.NodeProto { OpType = "Identity", Name = "output_identity", Input = { outName }, Output = { options.OutputName } });
            }

            int[] inputDims = sample.Shape.ToArray();
            var outputNames = DynamicOutputAxes(model, sample, dynamicAxes, output.Sample);
            graph.Input.Add(ValueInfo(options.InputName, inputDims, i => dynamicAxes.FirstOrDefault(d => d.Axis == i).Name));
            graph.Output.Add(ValueInfo(options.OutputName, output.Shape.ToArray(), i => outputNames[i]));

            var proto = new Proto.ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = "Nabla",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
                Graph = graph,
            };
            proto.OpsetImport.Add(new Proto.OperatorSetIdProto { Domain = "", Version = Opset });
            return proto;
        }
        finally
        {
            foreach (var (m, training) in modes) m.Train(training);
        }
    }

    // Saves every module's training flag: Train() sets a whole subtree, so flags are restored
    // parents first, children after.
    private static void Collect(Module m, List<(Module, bool)> modes)
    {
        modes.Add((m, m.IsTraining));
        foreach (var (_, child) in m.NamedChildren()) Collect(child, modes);
    }

    private static int CheckAxis(int axis, Tensor sample, string what)
    {
        int a = axis < 0 ? axis + sample.Rank : axis;
        if (a < 0 || a >= sample.Rank)
            throw new ArgumentOutOfRangeException("options", $"ONNX export: {what} axis {axis} is outside the sample input's shape {sample.Shape}.");
        if (sample.Shape[a] == 0)
            throw new ArgumentException($"ONNX export: the sample input {sample.Shape} is empty along its {what} axis {a}; give at least one example.", "sampleInput");
        return a;
    }

    // Which output axes follow the dynamic input axes: the model is run once more per dynamic axis
    // on the sample grown by one along it (its first slice repeated). An output axis that grows from
    // n to n+1 with an input axis of size n takes that axis's name; one that changes otherwise (a
    // flattened time axis, say) is dynamic without a name (""); the rest keep the sample's sizes
    // (null).
    private static string?[] DynamicOutputAxes(Module model, Tensor sample, List<(int Axis, string Name)> dynamicAxes, Tensor output)
    {
        var names = new string?[output.Rank];
        foreach (var (axis, name) in dynamicAxes)
        {
            int n = sample.Shape[axis];
            var grown = Ops.Concat([sample, Ops.Narrow(sample, axis, 0, 1)], axis);
            var other = model.Forward(grown);
            if (other.Rank != output.Rank)
                throw new OnnxExportException($"ONNX export: the model's output has rank {output.Rank} for {name} size {n} but rank {other.Rank} for {n + 1}; an ONNX graph's output rank is fixed.");
            for (int i = 0; i < output.Rank; i++)
            {
                if (other.Shape[i] == output.Shape[i]) continue;
                names[i] = names[i] is null && output.Shape[i] == n && other.Shape[i] == n + 1 ? name : "";
            }
        }
        return names;
    }

    // A dimension named by dynamicName(i) is dynamic: with that name, or unnamed for "".
    private static Proto.ValueInfoProto ValueInfo(string name, int[] dims, Func<int, string?> dynamicName)
    {
        var shape = new Proto.TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(dynamicName(i) switch
            {
                null => new Proto.TensorShapeProto.Types.Dimension { DimValue = dims[i] },
                "" => new Proto.TensorShapeProto.Types.Dimension(),
                var param => new Proto.TensorShapeProto.Types.Dimension { DimParam = param },
            });
        return new Proto.ValueInfoProto
        {
            Name = name,
            Type = new Proto.TypeProto { TensorType = new Proto.TypeProto.Types.Tensor { ElemType = (int)Proto.TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
