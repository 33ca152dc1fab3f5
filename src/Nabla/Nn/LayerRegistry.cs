using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// A layer whose constructor arguments can be written down, so that the layer registry can save
/// the architecture of a model holding it and rebuild it (Keras's <c>get_config</c>).
/// </summary>
public interface IConfigurable
{
    /// <summary>
    /// The constructor arguments as JSON, under PyTorch's argument names where there is one
    /// (<c>in_features</c>, <c>kernel_size</c>…). Containers write their children with
    /// <see cref="LayerRegistry.ToJson"/>. The <c>type</c> key is added by the registry.
    /// </summary>
    JsonObject GetConfig();
}

/// <summary>
/// The one registry of layer types: each registers a type name and how to rebuild it from its
/// configuration, so that one model-file format saves and rebuilds any model built from registered
/// layers (<see cref="Serialization.ModelFile"/>), the ONNX exporter finds each layer's export by
/// the same name, the layer conformance test covers every layer, and a user's own layer can join
/// with <see cref="Register{T}"/>.
/// </summary>
/// <remarks>
/// An architecture is a JSON tree: each node is <c>{"type": name, ...config}</c>, children sit inside
/// their container's config (e.g. <c>{"type": "Sequential", "layers": [...]}</c>). The library's own
/// layers register in one partial method per family (core here, convolution, recurrent, models…)
/// with explicit lambdas, which trimming and native AOT keep.
/// </remarks>
public static partial class LayerRegistry
{
    private sealed record Entry(string Name, Type Type, Func<LayerConfig, Module> Build);

    private static readonly object gate = new();
    private static readonly Dictionary<string, Entry> byName = new(StringComparer.Ordinal);
    private static readonly Dictionary<Type, Entry> byType = new();

    static LayerRegistry()
    {
        RegisterCore();
        RegisterConvolution();
        RegisterRecurrent();
        RegisterModels();
        RegisterVision();
        RegisterSequences();
        RegisterExtras();
    }

    static partial void RegisterConvolution();
    static partial void RegisterRecurrent();
    static partial void RegisterModels();
    static partial void RegisterVision();
    static partial void RegisterSequences();
    static partial void RegisterExtras();

    /// <summary>
    /// Registers layer type <typeparamref name="T"/> under <paramref name="typeName"/> with the
    /// function that rebuilds it from its configuration. Registering the same name again for the
    /// same type replaces the builder; for another type it is an error.
    /// </summary>
    public static void Register<T>(string typeName, Func<LayerConfig, T> build) where T : Module, IConfigurable
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(build);
        lock (gate)
        {
            if (byName.TryGetValue(typeName, out var existing) && existing.Type != typeof(T))
                throw new ArgumentException($"LayerRegistry: '{typeName}' is already registered for {existing.Type.FullName}.", nameof(typeName));
            if (byType.TryGetValue(typeof(T), out var other) && other.Name != typeName)
                throw new ArgumentException($"LayerRegistry: {typeof(T).FullName} is already registered as '{other.Name}'.", nameof(typeName));
            var entry = new Entry(typeName, typeof(T), c => build(c));
            byName[typeName] = entry;
            byType[typeof(T)] = entry;
        }
    }

    /// <summary>Every registered type name, sorted.</summary>
    public static IReadOnlyList<string> TypeNames
    {
        get { lock (gate) return byName.Keys.Order(StringComparer.Ordinal).ToList(); }
    }

    /// <summary>The CLR type registered under <paramref name="typeName"/>, or null.</summary>
    public static Type? TypeOf(string typeName)
    {
        lock (gate) return byName.TryGetValue(typeName, out var e) ? e.Type : null;
    }

    /// <summary>The registered name of <paramref name="type"/>, or null when it is not registered.</summary>
    public static string? NameOf(Type type)
    {
        lock (gate) return byType.TryGetValue(type, out var e) ? e.Name : null;
    }

    /// <summary>Whether <paramref name="module"/> and all its descendants can be saved by architecture.</summary>
    public static bool CanDescribe(Module module)
    {
        try { ToJson(module); return true; }
        catch (NotSupportedException) { return false; }
    }

    /// <summary>The architecture of <paramref name="module"/> as a JSON node <c>{"type": ..., ...config}</c>.</summary>
    /// <exception cref="NotSupportedException">The module's type (or a child's) is not registered.</exception>
    public static JsonObject ToJson(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        string? name = NameOf(module.GetType());
        if (name is null || module is not IConfigurable configurable)
            throw new NotSupportedException(
                $"LayerRegistry: {module.GetType().Name} is not a registered layer type; implement IConfigurable and call " +
                $"LayerRegistry.Register(\"{module.GetType().Name}\", cfg => new {module.GetType().Name}(...)) so that models holding it can be saved and rebuilt.");
        var node = new JsonObject { ["type"] = name };
        foreach (var (key, value) in configurable.GetConfig())
        {
            if (key == "type") throw new InvalidOperationException($"{module.GetType().Name}.GetConfig() must not set 'type'.");
            node[key] = value?.DeepClone();
        }
        return node;
    }

    /// <summary>Rebuilds a module (with freshly initialised weights) from a node written by <see cref="ToJson"/>.</summary>
    /// <param name="node">The architecture node.</param>
    /// <param name="path">Where the node sits in the tree, for error messages (e.g. <c>layers[2]</c>).</param>
    /// <exception cref="LayerConfigException">The node is malformed or names an unknown type; the message names the key.</exception>
    public static Module FromJson(JsonNode? node, string path = "architecture")
    {
        if (node is not JsonObject obj)
            throw new LayerConfigException(path, $"expected a layer object {{\"type\": ...}}, found {Kind(node)}.");
        var config = new LayerConfig(obj, path);
        string type = config.String("type");
        Entry? entry;
        lock (gate) byName.TryGetValue(type, out entry);
        if (entry is null)
            throw new LayerConfigException(path + ".type", $"unknown layer type '{type}' (registered: {string.Join(", ", TypeNames)}).");
        try
        {
            return entry.Build(config);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or ShapeMismatchException)
        {
            throw new LayerConfigException(path, $"{type}: {e.Message}", e);
        }
    }

    internal static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => $"the value {v.ToJsonString()}",
        _ => node.GetType().Name,
    };

    // ---------------------------------------------------------------- the core layers

    private static void RegisterCore()
    {
        Register("Sequential", c => new Sequential(c.Children("layers").ToArray()));
        Register("Linear", c => new Linear(c.Int("in_features", min: 1), c.Int("out_features", min: 1), c.Bool("bias", true)));
        Register("ReLU", _ => new ReLU());
        Register("LeakyReLU", c => new LeakyReLU(c.Float("negative_slope", 0.01f)));
        Register("Sigmoid", _ => new Sigmoid());
        Register("Tanh", _ => new Tanh());
        Register("Step", _ => new Step());
        Register("Softmax", _ => new Softmax());
        Register("LogSoftmax", _ => new LogSoftmax());
        Register("Flatten", _ => new Flatten());
        Register("Identity", _ => new Identity());
        Register("Dropout", c => new Dropout(c.Float("p", 0.5f, min: 0f, max: 0.999999f)));
        Register("GaussianNoise", c => new GaussianNoise(c.Float("std", min: 0f)));
    }
}

/// <summary>A layer configuration in an architecture is malformed; the message names the key.</summary>
public sealed class LayerConfigException(string key, string message, Exception? inner = null)
    : FormatException($"{key}: {message}", inner)
{
    /// <summary>The dotted path of the offending key, e.g. <c>architecture.layers[2].kernel_size</c>.</summary>
    public string Key { get; } = key;
}

/// <summary>
/// Read access to one layer's configuration object, with types and ranges checked and errors that
/// name the key (<see cref="LayerConfigException"/>). Optional arguments take a default.
/// </summary>
public sealed class LayerConfig
{
    private readonly JsonObject obj;

    /// <summary>Wraps <paramref name="obj"/>, found at <paramref name="path"/> in the tree.</summary>
    public LayerConfig(JsonObject obj, string path)
    {
        this.obj = obj ?? throw new ArgumentNullException(nameof(obj));
        Path = path;
    }

    /// <summary>Where this object sits in the architecture tree.</summary>
    public string Path { get; }

    /// <summary>The raw JSON object.</summary>
    public JsonObject Json => obj;

    /// <summary>Whether the key is present (and not null).</summary>
    public bool Has(string key) => obj[key] is not null;

    private JsonNode? Get(string key, bool required)
    {
        var node = obj[key];
        if (node is null && required) throw new LayerConfigException($"{Path}.{key}", "missing.");
        return node;
    }

    private T Value<T>(string key, JsonNode node, string expected)
    {
        if (node is JsonValue v && v.TryGetValue<T>(out var result)) return result;
        throw new LayerConfigException($"{Path}.{key}", $"expected {expected}, found {LayerRegistry.Kind(node)}.");
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; <paramref name="default"/> when absent (required when null).</summary>
    public int Int(string key, int? @default = null, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Get(key, @default is null);
        int value = node is null ? @default!.Value : Value<int>(key, node, "an integer");
        if (value < min || value > max)
            throw new LayerConfigException($"{Path}.{key}", $"{value} is outside [{min}, {max}].");
        return value;
    }

    /// <summary>An array of integers, each in [<paramref name="min"/>, <paramref name="max"/>]; a single integer is read as a one-element array.</summary>
    public int[] Ints(string key, int[]? @default = null, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Get(key, @default is null);
        if (node is null) return (int[])@default!.Clone();
        int[] values = node is JsonArray arr
            ? arr.Select((n, i) => n is null ? throw new LayerConfigException($"{Path}.{key}[{i}]", "null.") : Value<int>($"{key}[{i}]", n, "an integer")).ToArray()
            : [Value<int>(key, node, "an integer or an array of integers")];
        if (values.Length > 16) throw new LayerConfigException($"{Path}.{key}", $"{values.Length} values; at most 16 expected.");
        foreach (int v in values)
            if (v < min || v > max) throw new LayerConfigException($"{Path}.{key}", $"{v} is outside [{min}, {max}].");
        return values;
    }

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public float Float(string key, float? @default = null, float min = float.MinValue, float max = float.MaxValue)
    {
        var node = Get(key, @default is null);
        float value = node is null ? @default!.Value : Value<float>(key, node, "a number");
        if (!float.IsFinite(value) || value < min || value > max)
            throw new LayerConfigException($"{Path}.{key}", $"{value} is not a finite number in [{min}, {max}].");
        return value;
    }

    /// <summary>A boolean.</summary>
    public bool Bool(string key, bool? @default = null)
    {
        var node = Get(key, @default is null);
        return node is null ? @default!.Value : Value<bool>(key, node, "true or false");
    }

    /// <summary>A string, optionally one of <paramref name="allowed"/>.</summary>
    public string String(string key, string? @default = null, params string[] allowed)
    {
        var node = Get(key, @default is null);
        string value = node is null ? @default! : Value<string>(key, node, "a string");
        if (allowed.Length > 0 && !allowed.Contains(value))
            throw new LayerConfigException($"{Path}.{key}", $"'{value}' is not one of {string.Join(", ", allowed)}.");
        return value;
    }

    /// <summary>A nested layer, rebuilt through the registry.</summary>
    public Module Child(string key) => LayerRegistry.FromJson(Get(key, true), $"{Path}.{key}");

    /// <summary>An array of nested layers, rebuilt through the registry.</summary>
    public IEnumerable<Module> Children(string key)
    {
        if (Get(key, true) is not JsonArray arr)
            throw new LayerConfigException($"{Path}.{key}", $"expected an array of layers, found {LayerRegistry.Kind(obj[key])}.");
        return arr.Select((n, i) => LayerRegistry.FromJson(n, $"{Path}.{key}[{i}]")).ToList();
    }
}
