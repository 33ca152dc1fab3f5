using System.Globalization;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Serialization;

namespace Nabla.Cli.Commands;

/// <summary>The metadata the tool writes into model files, and reads back.</summary>
public sealed class ModelInfo
{
    /// <summary>Metadata keys.</summary>
    public static class Keys
    {
        /// <summary>Samples' shape as the model sees them, e.g. "784".</summary>
        public const string InputShape = "nabla.input_shape";
        /// <summary>Image height and width, e.g. "28,28".</summary>
        public const string ImageShape = "nabla.image_shape";
        /// <summary>Number of classes.</summary>
        public const string Classes = "nabla.classes";
        /// <summary>Class names, separated by '|'.</summary>
        public const string ClassNames = "nabla.class_names";
        /// <summary>The data folder (full path) or <see cref="ShippedData.Marker"/>.</summary>
        public const string Data = "nabla.data";
        /// <summary>How pixels were scaled.</summary>
        public const string Normalization = "nabla.normalization";
        /// <summary>The seed of initialisation, splits and shuffles.</summary>
        public const string Seed = "nabla.seed";
        /// <summary>The --limit used, if any.</summary>
        public const string Limit = "nabla.limit";
        /// <summary>How the data was split.</summary>
        public const string Split = "nabla.split";
        /// <summary>Test accuracy measured right after training.</summary>
        public const string TestAccuracy = "nabla.test_accuracy";
        /// <summary>The training command's settings.</summary>
        public const string Training = "nabla.training";
    }

    /// <summary>The loaded model.</summary>
    public required Module Model { get; init; }

    /// <summary>All metadata of the file.</summary>
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }

    /// <summary>The file.</summary>
    public required string Path { get; init; }

    /// <summary>Number of inputs the first layer takes.</summary>
    public required int Inputs { get; init; }

    /// <summary>Number of outputs (classes).</summary>
    public required int Outputs { get; init; }

    /// <summary>Image height and width recorded at training time (or a square guess from <see cref="Inputs"/>).</summary>
    public required (int Height, int Width) Image { get; init; }

    /// <summary>Class names (from the metadata, else "0", "1", …).</summary>
    public required string[] ClassNames { get; init; }

    /// <summary>The recorded data source, or null for a file saved outside the tool.</summary>
    public string? Data => Metadata.GetValueOrDefault(Keys.Data);

    /// <summary>The recorded seed (1 when absent).</summary>
    public int Seed => int.TryParse(Metadata.GetValueOrDefault(Keys.Seed), NumberStyles.Integer, CultureInfo.InvariantCulture, out int s) ? s : 1;

    /// <summary>The recorded --limit, if any (checked to be at least 3 by <see cref="Load"/>).</summary>
    public int? Limit => int.TryParse(Metadata.GetValueOrDefault(Keys.Limit), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : null;

    /// <summary>Rejects recorded numbers that are not whole numbers in range (a negative limit, an overflowing seed).</summary>
    private static void CheckNumber(string path, IReadOnlyDictionary<string, string> meta, string key, long min, long max)
    {
        if (!meta.TryGetValue(key, out var text)) return;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) || v < min || v > max)
            throw new UsageException($"{path}: metadata '{key}' must be a whole number from {min} to {max}, found '{text}'.");
    }

    /// <summary>The metadata train writes for a model trained on <paramref name="data"/>.</summary>
    public static Dictionary<string, string> Describe(DataSplits data, int seed, int? limit, string training, double testAccuracy)
    {
        var m = new Dictionary<string, string>
        {
            [Keys.InputShape] = (data.Channels * data.Height * data.Width).ToString(CultureInfo.InvariantCulture),
            [Keys.ImageShape] = FormattableString.Invariant($"{data.Height},{data.Width}"),
            [Keys.Classes] = data.Classes.ToString(CultureInfo.InvariantCulture),
            [Keys.ClassNames] = string.Join("|", data.ClassNames),
            [Keys.Data] = data.Source,
            [Keys.Normalization] = DataLoading.Normalization,
            [Keys.Seed] = seed.ToString(CultureInfo.InvariantCulture),
            [Keys.Split] = data.Split,
            [Keys.TestAccuracy] = ModelFile.Format(testAccuracy),
            [Keys.Training] = training,
        };
        if (limit is int n) m[Keys.Limit] = n.ToString(CultureInfo.InvariantCulture);
        return m;
    }

    /// <summary>Loads a model file written by <c>nabla train</c> (or any Sequential saved with <see cref="ModelFile"/>).</summary>
    /// <param name="path">The model file.</param>
    /// <param name="archPath">An architecture JSON file for a plain safetensors file without Nabla's metadata (e.g. written by PyTorch), or null.</param>
    public static ModelInfo Load(string path, string? archPath = null)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException("--model: the path is empty; give the .safetensors file written by 'nabla train'.");
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new UsageException($"model file {full} is a folder; give the .safetensors file written by 'nabla train'.");
        if (!File.Exists(full)) throw new UsageException($"model file {full} does not exist (train one with 'nabla train --out {path}').");
        Sequential model;
        Dictionary<string, string> meta;
        try
        {
            Module loaded;
            (loaded, meta) = archPath is null ? ModelFile.Load(full) : ModelFile.Load(full, ExportCommand.ReadArchitecture(archPath));
            if (loaded is not Sequential && ZooModels.Info(full, loaded, meta) is { } zoo) return zoo;
            model = loaded as Sequential
                ?? throw new UsageException($"{full}: the model is a {loaded.GetType().Name}; nabla's commands work with MLP classifiers made by 'nabla train'.");
        }
        catch (InvalidDataFileException e)
        {
            throw new UsageException($"{full} is not a usable Nabla model file: {(e.Message.StartsWith(full + ": ", StringComparison.Ordinal) ? e.Message[(full.Length + 2)..] : e.Message)}");
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or InvalidOperationException or FormatException
                                     or System.Text.Json.JsonException or NullReferenceException)
        {
            throw new UsageException($"{full} is not a usable Nabla model file: {e.Message}");
        }
        CheckNumber(full, meta, Keys.Seed, int.MinValue, int.MaxValue);
        CheckNumber(full, meta, Keys.Limit, 3, int.MaxValue);
        CheckNumber(full, meta, Keys.Classes, 2, 1 << 24);
        CheckNumber(full, meta, Keys.InputShape, 1, int.MaxValue);
        var linears = model.Layers.OfType<Linear>().ToList();
        if (linears.Count == 0 || model.Layers[0] is not (Linear or Flatten))
            throw new UsageException($"{full}: the model does not start with a Linear layer; nabla's commands work with MLP classifiers made by 'nabla train'.");
        if (meta.TryGetValue(Keys.Normalization, out var norm) && norm != DataLoading.Normalization)
            throw new UsageException($"{full}: the model was trained with normalization '{norm}', which this version of nabla does not know.");
        int inputs = linears[0].InFeatures, outputs = linears[^1].OutFeatures;
        var image = ParseImageShape(full, meta.GetValueOrDefault(Keys.ImageShape), inputs);
        if ((long)image.Height * image.Width != inputs)
            throw new UsageException($"{full}: the metadata says the images are {image.Height}x{image.Width} but the first layer takes {inputs} inputs.");
        var names = meta.GetValueOrDefault(Keys.ClassNames)?.Split('|');
        if (names is null || names.Length != outputs) names = Enumerable.Range(0, outputs).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        return new ModelInfo { Model = model, Metadata = meta, Path = full, Inputs = inputs, Outputs = outputs, Image = image, ClassNames = names };
    }

    private static (int Height, int Width) ParseImageShape(string path, string? s, int inputs)
    {
        if (s is not null)
        {
            var p = s.Split(',');
            if (p.Length == 2 && int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int h)
                && int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int w) && h > 0 && w > 0)
            {
                // Multiplied in 64 bits: 65536 x 65536 must not wrap around to a plausible count.
                if ((long)h * w != inputs)
                    throw new UsageException($"{path}: metadata '{Keys.ImageShape}' says {h}x{w} = {(long)h * w} pixels but the first layer takes {inputs} inputs.");
                return (h, w);
            }
            throw new UsageException($"{path}: metadata '{Keys.ImageShape}' must be 'HEIGHT,WIDTH' with positive whole numbers, found '{s}'.");
        }
        int side = (int)Math.Round(Math.Sqrt(inputs));
        return side * side == inputs ? (side, side) : (1, inputs);
    }

    /// <summary>Loads the data this model should be evaluated on: <paramref name="dataOption"/>, else the recorded source, with the recorded seed and limit.</summary>
    public DataSplits LoadData(string? dataOption)
    {
        string? source = dataOption ?? Data;
        if (dataOption is null && Data is not null && Data != ShippedData.Marker && !Directory.Exists(Data))
            throw new UsageException($"the model was trained on {Data}, which does not exist here; pass --data DIR.");
        // The model's outputs are the classes: a subset of them in the data is fine, a label beyond them an error.
        var data = DataLoading.Load(source, Seed, Limit, Outputs);
        if (data.Channels * data.Height * data.Width != Inputs)
            throw new UsageException($"{data.Folder} holds {data.Height}x{data.Width} images ({data.Height * data.Width} values) but the model {Path} takes {Inputs} inputs ({Image.Height}x{Image.Width}).");
        if (data.Classes > Outputs)
            throw new UsageException($"{data.Folder} has labels up to {data.Classes - 1} but the model {Path} has only {Outputs} outputs.");
        return data;
    }
}
