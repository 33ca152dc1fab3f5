using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;

// The random generators of a model are found by walking its modules' fields at run time (see StateSnapshot).
#pragma warning disable IL2075

namespace Nabla.Training;

/// <summary>
/// Checkpoints of a training run (<see cref="FitOptions.Checkpoint"/>): every <see cref="EverySteps"/> steps and
/// at the end of every epoch, <see cref="Trainer.Fit"/> writes one file, <c>checkpoint.safetensors</c> in
/// <see cref="Directory"/>, holding everything the run needs to go on exactly where it was: the weights and
/// buffers, the optimiser's state, the callbacks' state (schedules, early stopping with its best weights), the
/// epoch, step and position in the epoch's data order (which is a function of the seed and the epoch), the
/// partial sums of the epoch, the history so far, the divergence watch's running level and every random
/// generator's state (augmentation, dropout and noise layers, <see cref="RandomSource.Shared"/>). The file is
/// written atomically (temporary file, flush, rename); temporary files a killed writer left behind are deleted
/// at the next start. With <see cref="Resume"/>, Fit continues from the checkpoint if there is one, and the
/// finished run's weights are bit for bit those of an uninterrupted run (on one thread, where the kernels'
/// sums are deterministic).
/// </summary>
public sealed class CheckpointOptions(string directory)
{
    /// <summary>The checkpoint file's name in <see cref="Directory"/>.</summary>
    public const string FileName = "checkpoint.safetensors";

    /// <summary>The folder of the checkpoint (created if missing).</summary>
    public string Directory { get; } = string.IsNullOrWhiteSpace(directory)
        ? throw new ArgumentException("CheckpointOptions: the checkpoint folder is empty.", nameof(directory))
        : Path.GetFullPath(directory);

    /// <summary>Write a checkpoint every this many optimisation steps (0: only at the end of each epoch).</summary>
    public int EverySteps { get; init; }

    /// <summary>Continue from the checkpoint in <see cref="Directory"/> when there is one (else start afresh).</summary>
    public bool Resume { get; init; }

    /// <summary>The checkpoint file.</summary>
    public string FilePath => Path.Combine(Directory, FileName);

    /// <summary>Deletes temporary files that killed writers left in <paramref name="directory"/> (Fit does this at its start); returns how many.</summary>
    public static int CleanStaleTemporaries(string directory) => CheckpointRunner.CleanStaleTemporaries(directory);
}

/// <summary>Where a resumed run starts: the epoch, the batches of it already done and the epoch's partial sums.</summary>
internal sealed record ResumePoint(int Epoch, int BatchesDone, double LossSum, long Correct, long Seen);

/// <summary>Writes and reads the checkpoint of one <see cref="Trainer.Fit"/> run.</summary>
internal sealed class CheckpointRunner
{
    private const string StateKey = "nabla.checkpoint";
    // 2: a schedule's base learning rate (a nullable field) is part of the callbacks' state; format 1 left it out.
    private const int FormatVersion = 2;
    private readonly CheckpointOptions options;
    private readonly Module model;
    private readonly Optimizer optimizer;
    private readonly FitOptions fit;
    private readonly Dataset train;
    private readonly List<(string Name, Random Rng)> rngs;

    public CheckpointRunner(CheckpointOptions options, Module model, Optimizer optimizer, FitOptions fit, Dataset train, Random augmentRng)
    {
        this.options = options;
        this.model = model;
        this.optimizer = optimizer;
        this.fit = fit;
        this.train = train;
        rngs = FindRandoms(model, augmentRng);
        System.IO.Directory.CreateDirectory(options.Directory);
        CleanStaleTemporaries(options.Directory);
    }

    /// <summary>Every distinct random generator the run draws from, with a stable name.</summary>
    private static List<(string, Random)> FindRandoms(Module model, Random augmentRng)
    {
        var list = new List<(string, Random)> { ("augment", augmentRng), ("shared", RandomSource.Shared) };
        var seen = new HashSet<Random>(ReferenceEqualityComparer.Instance) { augmentRng, RandomSource.Shared };
        var modules = new List<(string, Module)>();
        void Walk(string prefix, Module m)
        {
            modules.Add((prefix, m));
            foreach (var (child, c) in m.NamedChildren()) Walk(prefix.Length == 0 ? child : prefix + "." + child, c);
        }
        Walk("", model);
        foreach (var (name, m) in modules)
        {
            for (var t = m.GetType(); t is not null && t != typeof(object); t = t.BaseType)
                foreach (var f in t.GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.DeclaredOnly).OrderBy(f => f.Name, StringComparer.Ordinal))
                    if (f.GetValue(m) is Random r && seen.Add(r)) list.Add(($"{(name.Length == 0 ? "model" : name)}.{f.Name}", r));
        }
        return list;
    }

    /// <summary>
    /// Deletes the temporary files a writer killed mid-write left in the checkpoint folder (AtomicFile names them
    /// .NAME.PID.GUID.tmp): the checkpoint's and those of files the caller keeps beside it.
    /// </summary>
    public static int CleanStaleTemporaries(string dir)
    {
        int removed = 0;
        if (!System.IO.Directory.Exists(dir)) return 0;
        foreach (var f in System.IO.Directory.EnumerateFiles(dir, ".*.*.tmp"))
        {
            try { File.Delete(f); removed++; }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary>Writes the state after <paramref name="point"/> (the epoch and the batches of it done) atomically.</summary>
    public void Save(ResumePoint point, long step, double level, int skipped, History history)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (k, v) in model.StateDict()) tensors["model." + k] = v;
        foreach (var (k, v) in optimizer.StateDict()) tensors["optimizer." + k] = v;
        var callbacks = new JsonArray();
        foreach (var cb in fit.Callbacks) callbacks.Add((JsonNode)JsonValue.Create(Convert.ToBase64String(StateSnapshot.Save(cb))));
        var rngState = new JsonObject();
        foreach (var (name, r) in rngs) rngState[name] = Convert.ToBase64String(StateSnapshot.Save(r));
        var epochs = new JsonArray();
        foreach (var e in history.Epochs)
            epochs.Add((JsonNode)new JsonObject
            {
                ["epoch"] = e.Epoch, ["loss"] = R(e.Loss), ["accuracy"] = R(e.Accuracy),
                ["val_loss"] = e.ValidationLoss is double vl ? R(vl) : null, ["val_accuracy"] = e.ValidationAccuracy is double va ? R(va) : null,
                ["lr"] = R(e.LearningRate), ["seconds"] = R(e.Seconds),
            });
        var state = new JsonObject
        {
            ["version"] = FormatVersion,
            ["epoch"] = point.Epoch,
            ["batches_done"] = point.BatchesDone,
            ["loss_sum"] = R(point.LossSum),
            ["correct"] = point.Correct,
            ["seen"] = point.Seen,
            ["step"] = step,
            ["level"] = R(level),
            ["skipped"] = skipped,
            ["stopped_reason"] = history.StoppedReason,
            ["samples"] = train.Count,
            ["batch_size"] = fit.BatchSize,
            ["seed"] = fit.Seed,
            ["epochs"] = fit.Epochs,
            ["history"] = epochs,
            ["callbacks"] = callbacks,
            ["rngs"] = rngState,
        };
        SafeTensors.Save(options.FilePath, tensors, new Dictionary<string, string> { [StateKey] = state.ToJsonString() });
    }

    private static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static double D(JsonNode? n, string key, string path) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d
        : throw new InvalidDataFileException(path, 8, $"{path}: checkpoint value '{key}' is missing or not a number.");

    private static T V<T>(JsonObject o, string key, string path)
    {
        if (o[key] is JsonValue v && v.TryGetValue<T>(out var t)) return t;
        throw new InvalidDataFileException(path, 8, $"{path}: checkpoint value '{key}' is missing or of the wrong type.");
    }

    /// <summary>Restores the run from the checkpoint, if there is one; returns where to go on, or null to start afresh.</summary>
    public (ResumePoint Point, long Step, double Level, int Skipped)? TryRestore(History history)
    {
        if (!options.Resume || !File.Exists(options.FilePath)) return null;
        string path = options.FilePath;
        var (tensors, meta) = SafeTensors.Load(path);
        if (!meta.TryGetValue(StateKey, out var json))
            throw new InvalidDataFileException(path, 8, $"{path}: not a training checkpoint (no '{StateKey}' metadata).");
        JsonObject s;
        try { s = JsonNode.Parse(json)?.AsObject() ?? throw new InvalidDataFileException(path, 8, $"{path}: '{StateKey}' is not a JSON object."); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataFileException(path, 8, $"{path}: '{StateKey}' is not valid JSON: {e.Message}"); }
        if (V<int>(s, "version", path) != FormatVersion)
            throw new InvalidDataFileException(path, 8, $"{path}: checkpoint format {s["version"]}, this version of Nabla reads {FormatVersion}.");
        void Same(string key, long expected)
        {
            long found = V<long>(s, key, path);
            if (found != expected)
                throw new InvalidDataFileException(path, 8, $"{path}: the checkpoint was made with {key} {found}, this run has {expected}; resume with the same data and settings.");
        }
        Same("samples", train.Count);
        Same("batch_size", fit.BatchSize);
        Same("seed", fit.Seed);
        Same("epochs", fit.Epochs);

        var weights = tensors.Where(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[6..], kv => kv.Value);
        try
        {
            model.LoadStateDict(weights);
            optimizer.LoadStateDict(tensors.Where(kv => kv.Key.StartsWith("optimizer.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[10..], kv => kv.Value));
        }
        catch (Exception e) when (e is KeyNotFoundException or ArgumentException or ShapeMismatchException)
        {
            throw new InvalidDataFileException(path, 8, $"{path}: the checkpoint does not fit this model: {e.Message}");
        }
        var callbacks = s["callbacks"] as JsonArray ?? throw new InvalidDataFileException(path, 8, $"{path}: checkpoint value 'callbacks' is missing.");
        if (callbacks.Count != fit.Callbacks.Count)
            throw new InvalidDataFileException(path, 8, $"{path}: the checkpoint holds the state of {callbacks.Count} callbacks, this run has {fit.Callbacks.Count}.");
        var rngState = s["rngs"] as JsonObject ?? throw new InvalidDataFileException(path, 8, $"{path}: checkpoint value 'rngs' is missing.");
        try
        {
            for (int i = 0; i < callbacks.Count; i++) StateSnapshot.Restore(fit.Callbacks[i], Convert.FromBase64String(callbacks[i]!.GetValue<string>()));
            foreach (var (name, r) in rngs)
            {
                if (rngState[name] is not JsonValue v) throw new InvalidDataFileException(path, 8, $"{path}: the checkpoint has no state for the random generator '{name}'.");
                StateSnapshot.Restore(r, Convert.FromBase64String(v.GetValue<string>()));
            }
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or EndOfStreamException)
        {
            throw new InvalidDataFileException(path, 8, $"{path}: the checkpoint's state does not fit this run: {e.Message}");
        }
        history.Epochs.Clear();
        foreach (var node in s["history"] as JsonArray ?? [])
        {
            var e = node!.AsObject();
            history.Epochs.Add(new EpochResult(V<int>(e, "epoch", path), D(e["loss"], "loss", path), D(e["accuracy"], "accuracy", path),
                e["val_loss"] is null ? null : D(e["val_loss"], "val_loss", path), e["val_accuracy"] is null ? null : D(e["val_accuracy"], "val_accuracy", path),
                (float)D(e["lr"], "lr", path), D(e["seconds"], "seconds", path)));
        }
        history.StoppedReason = s["stopped_reason"]?.GetValue<string>();
        int skipped = V<int>(s, "skipped", path);
        history.SkippedSteps = skipped;
        var point = new ResumePoint(V<int>(s, "epoch", path), V<int>(s, "batches_done", path), D(s["loss_sum"], "loss_sum", path), V<long>(s, "correct", path), V<long>(s, "seen", path));
        return (point, V<long>(s, "step", path), D(s["level"], "level", path), skipped);
    }
}
