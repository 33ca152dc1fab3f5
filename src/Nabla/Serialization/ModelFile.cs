using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Serialization;

/// <summary>
/// Saves and loads whole models: the weights as safetensors under their dotted names, and — for a
/// <see cref="Sequential"/> of built-in layers — the architecture as JSON in the file's metadata
/// (key <c>nabla.architecture</c>), so that <see cref="Load"/> can rebuild the model without code.
/// Optimiser state can travel in the same file (names prefixed <c>optimizer.</c>) to resume training.
/// </summary>
public static class ModelFile
{
    private const string ArchitectureKey = "nabla.architecture";
    private const string OptimizerPrefix = "optimizer.";

    /// <summary>Writes the model (and optionally the optimiser state and extra metadata) atomically.</summary>
    public static void Save(string path, Module model, Optimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new Dictionary<string, Tensor>(model.StateDict());
        if (optimizer is not null)
            foreach (var (k, v) in optimizer.StateDict()) tensors[OptimizerPrefix + k] = v;
        var meta = new Dictionary<string, string> { ["format"] = "nabla" };
        if (model is Sequential seq) meta[ArchitectureKey] = Describe(seq).ToJsonString();
        if (metadata is not null) foreach (var (k, v) in metadata) meta[k] = v;
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Loads a model saved from a <see cref="Sequential"/>: checks the file (see <see cref="SafeTensors.Load"/>),
    /// rebuilds the model from its architecture under an allocation budget set by the tensors the file holds
    /// (so a forged architecture fails before its layers allocate), and fills in the weights, each checked by
    /// name and shape.
    /// </summary>
    /// <exception cref="Data.InvalidDataFileException">The file, its architecture or its tensors are not a consistent model.</exception>
    public static (Sequential Model, Dictionary<string, string> Metadata) Load(string path, bool allowNonFinite = false)
    {
        var (tensors, meta) = SafeTensors.Load(path, allowNonFinite);
        if (!meta.TryGetValue(ArchitectureKey, out var arch))
            throw new Data.InvalidDataFileException(path, 8, $"{path}: the file holds weights but no '{ArchitectureKey}' metadata; build the model in code and use LoadWeights.");
        JsonArray layers;
        try
        {
            layers = JsonNode.Parse(arch) as JsonArray
                ?? throw new Data.InvalidDataFileException(path, 8, $"{path}: metadata '{ArchitectureKey}' must be a JSON array of layers.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new Data.InvalidDataFileException(path, 8, $"{path}: metadata '{ArchitectureKey}' is not valid JSON: {e.Message}");
        }
        var weights = tensors.Where(kv => !kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).ToDictionary();
        var model = BuildWithinBudget(path, weights, () => Build(layers, path));
        LoadChecked(path, model, weights);
        return (model, meta);
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
                $"(a layer asked for {e.Requested} more after {e.Used}); the architecture does not match the tensors.");
        }
    }

    // Scratch a layer may allocate beyond its saved tensors (unsaved tables, caches): 1 M floats.
    private const long BuildSlack = 1 << 20;

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

    /// <summary>The architecture of a Sequential of built-in layers as a JSON array of layer configs.</summary>
    public static JsonArray Describe(Sequential model)
    {
        var arr = new JsonArray();
        foreach (var layer in model.Layers)
        {
            JsonObject o = layer switch
            {
                Linear l => new JsonObject { ["type"] = "Linear", ["in"] = l.InFeatures, ["out"] = l.OutFeatures, ["bias"] = l.Bias is not null },
                LeakyReLU lr => new JsonObject { ["type"] = "LeakyReLU", ["slope"] = lr.Slope },
                Dropout d => new JsonObject { ["type"] = "Dropout", ["p"] = d.P },
                GaussianNoise g => new JsonObject { ["type"] = "GaussianNoise", ["std"] = g.Std },
                ReLU or Sigmoid or Tanh or Step or Softmax or LogSoftmax or Flatten or Identity => new JsonObject { ["type"] = layer.GetType().Name },
                _ => throw new NotSupportedException($"ModelFile: layer {layer.GetType().Name} has no saved form yet; save its weights with SafeTensors and rebuild it in code."),
            };
            arr.Add(o);
        }
        return arr;
    }

    private static Sequential Build(JsonArray layers, string path)
    {
        var model = new Sequential();
        var rng = new Random(0); // weights are overwritten by the file
        for (int i = 0; i < layers.Count; i++)
        {
            string where = $"{path}: metadata '{ArchitectureKey}' layer {i}";
            var o = layers[i] as JsonObject ?? throw new Data.InvalidDataFileException(path, 8, $"{where} must be an object, found {layers[i]?.GetValueKind().ToString() ?? "null"}.");
            string type = Field(path, o, "type", where, n => n.GetValue<string>());
            int Size(string key) => Field(path, o, key, where, n => n.GetValue<int>() is int v && v is >= 1 and <= MaxFeatures ? v
                : throw new Data.InvalidDataFileException(path, 8, $"{where}: '{key}' must be from 1 to {MaxFeatures}, found {n.ToJsonString()}."));
            float Real(string key, float min, float max) => Field(path, o, key, where, n => n.GetValue<float>() is float v && v >= min && v <= max ? v
                : throw new Data.InvalidDataFileException(path, 8, $"{where}: '{key}' must be from {min} to {max}, found {n.ToJsonString()}."));
            model.Add(type switch
            {
                "Linear" => new Linear(Size("in"), Size("out"), Field(path, o, "bias", where, n => n.GetValue<bool>()), rng: rng),
                "LeakyReLU" => new LeakyReLU(Real("slope", -1e6f, 1e6f)),
                "Dropout" => new Dropout(Field(path, o, "p", where, n => n.GetValue<float>() is float p && p >= 0 && p < 1 ? p
                    : throw new Data.InvalidDataFileException(path, 8, $"{where}: 'p' must be in [0, 1), found {n.ToJsonString()}."))),
                "GaussianNoise" => new GaussianNoise(Real("std", 0f, 1e6f)),
                "ReLU" => new ReLU(),
                "Sigmoid" => new Sigmoid(),
                "Tanh" => new Tanh(),
                "Step" => new Step(),
                "Softmax" => new Softmax(),
                "LogSoftmax" => new LogSoftmax(),
                "Flatten" => new Flatten(),
                "Identity" => new Identity(),
                _ => throw new Data.InvalidDataFileException(path, 8, $"{where}: unknown layer type '{type}'."),
            });
        }
        return model;
    }

    // The largest feature count a saved layer may declare (the file's tensors bound the total anyway).
    private const int MaxFeatures = 1 << 24;

    private static T Field<T>(string path, JsonObject o, string key, string where, Func<JsonNode, T> read)
    {
        var n = o[key] ?? throw new Data.InvalidDataFileException(path, 8, $"{where}: missing '{key}'.");
        try
        {
            return read(n);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw new Data.InvalidDataFileException(path, 8, $"{where}: '{key}' has the wrong type: {n.ToJsonString()}.");
        }
    }

    /// <summary>Formats a float for metadata (invariant culture).</summary>
    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
