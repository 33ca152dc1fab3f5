using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla train --checkpoint DIR</c> and <c>--resume DIR</c>: the run's settings are kept in DIR/train-settings.json
/// beside the library's checkpoint (see <see cref="CheckpointOptions"/>), so that <c>--resume DIR</c> needs nothing else.
/// </summary>
public static class TrainCheckpoint
{
    /// <summary>The settings file in a checkpoint folder.</summary>
    public const string SettingsFile = "train-settings.json";

    /// <summary>Writes <paramref name="s"/> (paths made absolute) to DIR/train-settings.json atomically.</summary>
    public static void SaveSettings(string dir, TrainSettings s)
    {
        var o = new JsonObject
        {
            ["data"] = s.Data is null ? null : Path.GetFullPath(s.Data),
            ["layers"] = new JsonArray(s.Layers.Select(l => (JsonNode)JsonValue.Create(l)).ToArray()),
            ["activation"] = s.Activation,
            ["epochs"] = s.Epochs,
            ["batch"] = s.Batch,
            ["optimizer"] = s.Optimizer,
            ["lr"] = s.LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["momentum"] = s.Momentum.ToString("R", CultureInfo.InvariantCulture),
            ["momentum_given"] = s.MomentumGiven,
            ["dropout"] = s.Dropout.ToString("R", CultureInfo.InvariantCulture),
            ["early_stop"] = s.EarlyStop,
            ["plot"] = s.Plot is null ? null : Path.GetFullPath(s.Plot),
            ["schedule"] = s.Schedule,
            ["augment"] = s.Augment,
            ["flip"] = s.Flip,
            ["seed"] = s.Seed,
            ["out"] = Path.GetFullPath(s.Out),
            ["limit"] = s.Limit,
            ["classes"] = s.Classes,
            ["skip_divergent_steps"] = s.SkipDivergentSteps,
            ["checkpoint_every"] = s.CheckpointEvery,
            ["model"] = s.Model,
            ["task"] = s.Task,
            ["target"] = s.Target,
            ["init"] = s.Init is null ? null : Path.GetFullPath(s.Init),
            ["freeze"] = new JsonArray(s.Freeze.Select(f => (JsonNode)JsonValue.Create(f)).ToArray()),
        };
        Directory.CreateDirectory(dir);
        AtomicFile.Write(Path.Combine(dir, SettingsFile), stream =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(o.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            stream.Write(bytes);
        });
    }

    /// <summary>Reads the settings of the run checkpointed in <paramref name="dir"/>, for <c>--resume</c>.</summary>
    public static TrainSettings LoadSettings(string dir, int? threads)
    {
        if (string.IsNullOrWhiteSpace(dir)) throw new UsageException("--resume: the folder is empty; give the --checkpoint folder of the run.");
        string full = Path.GetFullPath(dir);
        string file = Path.Combine(full, SettingsFile);
        if (!File.Exists(file))
            throw new UsageException($"--resume {full}: no {SettingsFile} there; give the folder a run was started with (nabla train --checkpoint DIR).");
        JsonObject o;
        try
        {
            o = JsonNode.Parse(Data.SafeFile.ReadAllBytes(file, "settings file", 1 << 20))?.AsObject()
                ?? throw new UsageException($"{file}: not a JSON object.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new UsageException($"{file}: not valid JSON: {e.Message}");
        }
        T Get<T>(string key)
        {
            if (o[key] is JsonValue v && v.TryGetValue<T>(out var t)) return t;
            throw new UsageException($"{file}: '{key}' is missing or of the wrong type.");
        }
        T? Opt<T>(string key) where T : struct => o[key] is null ? null : Get<T>(key);
        float Float(string key) => float.Parse(Get<string>(key), NumberStyles.Float, CultureInfo.InvariantCulture);
        return new TrainSettings
        {
            Data = o["data"] is null ? null : Get<string>("data"),
            Layers = (o["layers"] as JsonArray ?? throw new UsageException($"{file}: 'layers' is missing.")).Select(n => n!.GetValue<int>()).ToArray(),
            Activation = Get<string>("activation"),
            Epochs = Get<int>("epochs"),
            Batch = Get<int>("batch"),
            Optimizer = Get<string>("optimizer"),
            LearningRate = Float("lr"),
            Momentum = Float("momentum"),
            MomentumGiven = Get<bool>("momentum_given"),
            Dropout = Float("dropout"),
            EarlyStop = Opt<int>("early_stop"),
            Plot = o["plot"] is null ? null : Get<string>("plot"),
            Schedule = Get<string>("schedule"),
            Augment = Get<bool>("augment"),
            Flip = o["flip"] is not null && Get<bool>("flip"),
            Seed = Get<int>("seed"),
            Out = Get<string>("out"),
            Threads = threads,
            Limit = Opt<int>("limit"),
            Classes = Opt<int>("classes"),
            SkipDivergentSteps = Get<bool>("skip_divergent_steps"),
            Checkpoint = full,
            CheckpointEvery = Get<int>("checkpoint_every"),
            Resume = true,
            Model = o["model"] is null ? new TrainSettings().Model : Get<string>("model"),
            Task = o["task"] is null ? "classification" : Get<string>("task"),
            Target = o["target"] is null ? null : Get<string>("target"),
            Init = o["init"] is null ? null : Get<string>("init"),
            Freeze = (o["freeze"] as JsonArray)?.Select(n => n!.GetValue<string>()).ToArray() ?? [],
        };
    }
}
