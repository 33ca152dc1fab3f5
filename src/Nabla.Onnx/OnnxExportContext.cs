using System.Globalization;
using Google.Protobuf;
using Nabla.Nn;
using Proto = global::Onnx;

namespace Nabla.Onnx;

/// <summary>
/// The ONNX graph being built by <see cref="OnnxExporter"/>, handed to every layer's export function:
/// it adds nodes, weights (initializers) and constants, and exports child layers. Names are scoped by
/// the layer's path in the model (<c>features.0</c>), so weights keep their state-dict names
/// (<c>features.0.weight</c>).
/// </summary>
/// <remarks>
/// The batch dimension of the exported graph is dynamic: an export function must not bake the
/// sample's batch size into a constant. Use ONNX ops that keep it (Flatten, Reshape with 0 to copy a
/// dimension or -1 to infer one, Shape/Gather when a size has to be read at run time).
/// </remarks>
public sealed class OnnxExportContext
{
    private readonly Proto.GraphProto graph;
    private readonly HashSet<string> usedNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> usedNodeNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Proto.NodeProto> producers = new(StringComparer.Ordinal);
    private readonly Stack<string> scopes = new();
    private readonly Func<Module, OnnxLayerExport?> findExport;

    internal OnnxExportContext(Proto.GraphProto graph, Func<Module, OnnxLayerExport?> findExport)
    {
        this.graph = graph;
        this.findExport = findExport;
        scopes.Push("");
    }

    /// <summary>The path of the layer being exported in the model, e.g. <c>features.0</c> (empty at the root).</summary>
    public string Scope => scopes.Peek();

    /// <summary>
    /// Exports a child layer on <paramref name="input"/> through its registered export function and
    /// returns its output. <paramref name="name"/> is the child's name under the current layer
    /// (its state-dict prefix, e.g. "0" in a Sequential).
    /// </summary>
    public OnnxValue Export(Module layer, OnnxValue input, string name)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(input);
        string scope = Scope.Length == 0 ? name : name.Length == 0 ? Scope : $"{Scope}.{name}";
        var export = findExport(layer) ?? throw new OnnxExportException(
            $"ONNX export: no export function for layer type '{OnnxExporter.TypeNameOf(layer)}' at '{(scope.Length == 0 ? "(model)" : scope)}'; " +
            "register one with OnnxExporter.Register.");
        scopes.Push(scope);
        try
        {
            string output = export(this, layer, input);
            if (!samples.TryGetValue(output, out var sample))
            {
                if (!IsDefined(output))
                    throw new OnnxExportException($"ONNX export of '{OnnxExporter.TypeNameOf(layer)}' at '{scope}': its export function returned '{output}', which no node, input or weight of the graph defines.");
                // A layer exported as plain ONNX nodes: Nabla's own forward pass gives the value (and shape).
                sample = layer.Forward(input.Sample);
                samples[output] = sample;
            }
            return new OnnxValue(output, sample);
        }
        finally
        {
            scopes.Pop();
        }
    }

    /// <summary>Exports a child layer whose name is its position in a container, e.g. "0".</summary>
    public OnnxValue Export(Module layer, OnnxValue input, int index) =>
        Export(layer, input, index.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Records the value Nabla computes for <paramref name="name"/> (for an export function that
    /// computes its output from its children's values itself, e.g. a residual sum), and returns it.
    /// Without this the exporter runs the layer's own <see cref="Module.Forward"/> to learn the value.
    /// </summary>
    public OnnxValue Define(string name, Tensor sample)
    {
        if (!IsDefined(name)) throw new OnnxExportException($"ONNX export at '{Scope}': '{name}' is not a value of the graph.");
        samples[name] = sample;
        return new OnnxValue(name, sample);
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, IReadOnlyList<string> inputs, params OnnxAttribute[] attributes) =>
        Node(opType, inputs, 1, attributes)[0];

    /// <summary>
    /// Adds a node with <paramref name="outputCount"/> outputs (ONNX operator <paramref name="opType"/>
    /// of the default domain, opset <see cref="OnnxExporter.Opset"/>) and returns their names. An
    /// empty string among <paramref name="inputs"/> leaves an optional input out.
    /// </summary>
    public string[] Node(string opType, IReadOnlyList<string> inputs, int outputCount, params OnnxAttribute[] attributes)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        if (outputCount < 1) throw new ArgumentOutOfRangeException(nameof(outputCount), "A node has at least one output.");
        foreach (var input in inputs)
            if (input.Length > 0 && !IsDefined(input))
                throw new OnnxExportException($"ONNX export at '{Scope}': input '{input}' of {opType} is not a value of the graph.");
        string baseName = Scope.Length == 0 ? opType : $"{Scope}/{opType}";
        var node = new Proto.NodeProto { OpType = opType, Name = Unique(usedNodeNames, baseName) };
        node.Input.AddRange(inputs);
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++)
        {
            outputs[i] = Unique(usedNames, $"{baseName}_output_{i}");
            producers[outputs[i]] = node;
        }
        node.Output.AddRange(outputs);
        foreach (var a in attributes) node.Attribute.Add(a.ProtoValue.Clone());
        graph.Node.Add(node);
        return outputs;
    }

    /// <summary>
    /// Adds a float weight named after the current layer (<c>{Scope}.{name}</c>, the state-dict name
    /// for a parameter stored as it is) and returns its graph name. The values are copied.
    /// </summary>
    public string Weight(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string full = Unique(usedNames, Scope.Length == 0 ? name : $"{Scope}.{name}");
        var t = new Proto.TensorProto { Name = full, DataType = (int)Proto.TensorProto.Types.DataType.Float };
        foreach (int d in value.Shape) t.Dims.Add(d);
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.Data));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        graph.Initializer.Add(t);
        samples[full] = value.Clone();
        return full;
    }

    /// <summary>Adds a float constant of the given shape (a weight that is not a parameter, e.g. a scale).</summary>
    public string Constant(string name, float[] values, params int[] shape) =>
        Weight(name, Tensor.FromArray(values, shape));

    /// <summary>Adds a scalar float constant.</summary>
    public string Constant(string name, float value) => Weight(name, Tensor.Scalar(value));

    /// <summary>
    /// Adds a 1-D int64 constant (shapes, axes, pads and the like) and returns its graph name.
    /// </summary>
    public string Int64Constant(string name, params long[] values)
    {
        string full = Unique(usedNames, Scope.Length == 0 ? name : $"{Scope}.{name}");
        var t = new Proto.TensorProto { Name = full, DataType = (int)Proto.TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        graph.Initializer.Add(t);
        return full;
    }

    /// <summary>Whether <paramref name="name"/> is a value of the graph (an input, weight or node output).</summary>
    public bool IsDefined(string name) => usedNames.Contains(name);

    internal void AddInput(string name, Tensor sample)
    {
        usedNames.Add(name);
        samples[name] = sample;
    }

    internal Proto.NodeProto? ProducerOf(string name) => producers.GetValueOrDefault(name);

    internal bool IsUsedAsInput(string name) => graph.Node.Any(n => n.Input.Contains(name));

    internal void Rename(string from, string to)
    {
        if (!usedNames.Add(to)) throw new OnnxExportException($"ONNX export: the name '{to}' is already taken in the graph.");
        var node = producers[from];
        for (int i = 0; i < node.Output.Count; i++)
            if (node.Output[i] == from) node.Output[i] = to;
        producers.Remove(from);
        producers[to] = node;
    }

    internal void Reserve(string name) => usedNames.Add(name);

    private static string Unique(HashSet<string> used, string name)
    {
        if (used.Add(name)) return name;
        for (int i = 1; ; i++)
        {
            string candidate = $"{name}_{i}";
            if (used.Add(candidate)) return candidate;
        }
    }
}

/// <summary>The model cannot be exported to ONNX (a layer without an export function, an unsupported setting).</summary>
public sealed class OnnxExportException : Exception
{
    /// <summary>Creates the error with its message.</summary>
    public OnnxExportException(string message) : base(message) { }
}
