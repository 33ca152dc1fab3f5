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

    /// <summary>Loads a model saved from a <see cref="Sequential"/>: rebuilds it from its architecture and fills in the weights.</summary>
    public static (Sequential Model, Dictionary<string, string> Metadata) Load(string path)
    {
        var (tensors, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue(ArchitectureKey, out var arch))
            throw new Data.InvalidDataFileException(path, 8, $"the file holds weights but no '{ArchitectureKey}' metadata; build the model in code and use LoadWeights.");
        var model = Build(JsonNode.Parse(arch)!.AsArray(), path);
        model.LoadStateDict(tensors.Where(kv => !kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).ToDictionary());
        return (model, meta);
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
        foreach (var node in layers)
        {
            var o = node!.AsObject();
            string type = o["type"]!.GetValue<string>();
            model.Add(type switch
            {
                "Linear" => new Linear(o["in"]!.GetValue<int>(), o["out"]!.GetValue<int>(), o["bias"]!.GetValue<bool>(), rng: rng),
                "LeakyReLU" => new LeakyReLU(o["slope"]!.GetValue<float>()),
                "Dropout" => new Dropout(o["p"]!.GetValue<float>()),
                "GaussianNoise" => new GaussianNoise(o["std"]!.GetValue<float>()),
                "ReLU" => new ReLU(),
                "Sigmoid" => new Sigmoid(),
                "Tanh" => new Tanh(),
                "Step" => new Step(),
                "Softmax" => new Softmax(),
                "LogSoftmax" => new LogSoftmax(),
                "Flatten" => new Flatten(),
                "Identity" => new Identity(),
                _ => throw new Data.InvalidDataFileException(path, 8, $"unknown layer type '{type}' in the architecture."),
            });
        }
        return model;
    }

    /// <summary>Formats a float for metadata (invariant culture).</summary>
    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
