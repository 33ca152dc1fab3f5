using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Serialization;

/// <summary>
/// Saves and loads whole models: the weights (parameters and buffers) as safetensors under their
/// dotted PyTorch names, and — for any model built from registered layers (<see cref="LayerRegistry"/>)
/// — the architecture as a JSON tree in the file's metadata (key <c>nabla.architecture</c>), so that
/// <see cref="Load(string, bool)"/> rebuilds the model without code. A model holding an unregistered layer
/// is saved as weights only (rebuild it in code and use <see cref="LoadWeights"/>). Optimiser state
/// can travel in the same file (names prefixed <c>optimizer.</c>) to resume training.
/// </summary>
public static class ModelFile
{
    /// <summary>The metadata key of the architecture JSON.</summary>
    public const string ArchitectureKey = "nabla.architecture";
    private const string OptimizerPrefix = "optimizer.";

    /// <summary>Writes the model (and optionally the optimiser state and extra metadata) atomically.</summary>
    public static void Save(string path, Module model, Optimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new Dictionary<string, Tensor>(model.StateDict());
        if (optimizer is not null)
            foreach (var (k, v) in optimizer.StateDict()) tensors[OptimizerPrefix + k] = v;
        var meta = new Dictionary<string, string> { ["format"] = "nabla" };
        if (LayerRegistry.CanDescribe(model)) meta[ArchitectureKey] = LayerRegistry.ToJson(model).ToJsonString();
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Loads a model saved by <see cref="Save"/>: rebuilds it from its architecture and fills in the
    /// weights. Parameter memory is capped by what the file holds while the model is built, so a
    /// small file cannot make the loader allocate a huge layer.
    /// </summary>
    /// <exception cref="Data.InvalidDataFileException">The file is malformed, has no architecture, or the architecture does not match its tensors.</exception>
    /// <param name="path">The model file.</param>
    /// <param name="allowNonFinite">Accept NaN or infinite weights (rejected by default).</param>
    public static (Module Model, Dictionary<string, string> Metadata) Load(string path, bool allowNonFinite = false)
    {
        var (tensors, meta) = SafeTensors.Load(path, allowNonFinite);
        if (!meta.TryGetValue(ArchitectureKey, out var arch))
            throw new Data.InvalidDataFileException(path, 8,
                $"the file holds weights but no '{ArchitectureKey}' metadata; give the architecture separately (ModelFile.Load(path, architectureJson), nabla --arch FILE) or build the model in code and use LoadWeights.");
        return (Build(path, arch, "metadata " + ArchitectureKey, tensors), meta);
    }

    /// <summary>
    /// Loads plain safetensors weights (for instance written by PyTorch's <c>save_file(model.state_dict())</c>)
    /// into the model described by <paramref name="architectureJson"/> (a node as written by
    /// <see cref="LayerRegistry.ToJson"/>, or the contents of a file saved from <see cref="Architecture"/>).
    /// </summary>
    public static (Module Model, Dictionary<string, string> Metadata) Load(string path, string architectureJson, bool allowNonFinite = false)
    {
        var (tensors, meta) = SafeTensors.Load(path, allowNonFinite);
        return (Build(path, architectureJson, "the architecture given", tensors), meta);
    }

    /// <summary>The architecture of <paramref name="model"/> as JSON text (for <c>--arch</c> files).</summary>
    public static string Architecture(Module model) =>
        LayerRegistry.ToJson(model).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

    private static Module Build(string path, string arch, string where, Dictionary<string, Tensor> tensors)
    {
        var weights = tensors.Where(kv => !kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).ToDictionary();
        long available = weights.Values.Sum(t => (long)t.Length);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(arch, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new Data.InvalidDataFileException(path, 8, $"{where} is not valid JSON: {e.Message}");
        }
        Module model;
        try
        {
            model = BuildWithinBudget(path, weights, () => root is JsonArray legacy ? LegacySequential(legacy) : LayerRegistry.FromJson(root));
        }
        catch (LayerConfigException e)
        {
            throw new Data.InvalidDataFileException(path, 8, $"{where}: {e.Message}");
        }
        LoadChecked(path, model, weights);
        return model;
    }

    // Files written before the layer registry hold a flat array of layer objects with short keys.
    private static Sequential LegacySequential(JsonArray layers)
    {
        var converted = new JsonArray();
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is not JsonObject o) throw new LayerConfigException($"architecture[{i}]", $"expected a layer object, found {LayerRegistry.Kind(layers[i])}.");
            var n = (JsonObject)o.DeepClone();
            void Rename(string from, string to) { if (n[from] is { } v) { n.Remove(from); n[to] = v; } }
            Rename("in", "in_features");
            Rename("out", "out_features");
            Rename("slope", "negative_slope");
            converted.Add((JsonNode)n);
        }
        return (Sequential)LayerRegistry.FromJson(new JsonObject { ["type"] = "Sequential", ["layers"] = converted });
    }

    /// <summary>
    /// Runs <paramref name="build"/> with allocations capped by the elements of <paramref name="weights"/> (plus a
    /// little for layers' unsaved scratch), turning an over-budget layer into a clear file error.
    /// </summary>
    internal static T BuildWithinBudget<T>(string path, IReadOnlyDictionary<string, Tensor> weights, Func<T> build)
    {
        long held = 0;
        foreach (var t in weights.Values) held += t.Length;
        long budget = held + BuildSlack;
        try
        {
            using var _ = AllocationBudget.Limit(budget);
            return build();
        }
        catch (AllocationBudgetExceededException e)
        {
            throw new Data.InvalidDataFileException(path, 8,
                $"{path}: metadata '{ArchitectureKey}' describes a model that needs more than the {held} weights the file holds " +
                $"(a layer asked for {(e.Shape is null ? "" : $"a parameter of shape {e.Shape}, ")}{e.Requested} more values after {e.Used}); the architecture does not match the tensors.");
        }
    }

    // Scratch a layer may allocate beyond its saved tensors (unsaved tables, caches): 256 K floats (1 MiB),
    // so that a file of a few hundred bytes cannot make the loader allocate more than about a MiB
    // before the architecture is found not to match (the fuzz tests cap loading at 16× the file + 2 MiB).
    private const long BuildSlack = 1 << 18;

    /// <summary>Copies <paramref name="weights"/> into <paramref name="model"/>, every name and shape checked, as a file error.</summary>
    internal static void LoadChecked(string path, Module model, IReadOnlyDictionary<string, Tensor> weights)
    {
        var own = model.StateDict();
        foreach (var (name, t) in own)
        {
            if (!weights.TryGetValue(name, out var w))
                throw new Data.InvalidDataFileException(path, 8, $"{path}: the architecture has '{name}' of shape {t.Shape} but the file holds no tensor '{name}'.");
            if (w.Shape != t.Shape)
                throw new Data.InvalidDataFileException(path, 8, $"{path}: tensor '{name}': the architecture expects shape {t.Shape}, the file holds {w.Shape}.");
        }
        var extra = weights.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new Data.InvalidDataFileException(path, 8, $"{path}: tensor '{extra[0]}' belongs to no layer of the architecture{(extra.Count > 1 ? $" (and {extra.Count - 1} more)" : "")}.");
        model.LoadStateDict(weights);
    }

    /// <summary>Loads weights (and optimiser state, if present and <paramref name="optimizer"/> is given) into an existing model.</summary>
    public static Dictionary<string, string> LoadWeights(string path, Module model, Optimizer? optimizer = null)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        model.LoadStateDict(tensors.Where(kv => !kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).ToDictionary());
        if (optimizer is not null)
            optimizer.LoadStateDict(tensors.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value));
        return meta;
    }

    /// <summary>Formats a float for metadata (invariant culture).</summary>
    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
