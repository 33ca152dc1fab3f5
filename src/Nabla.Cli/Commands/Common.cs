using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Serialization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>The tool's exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>An unexpected error (a bug): the message names the exception type.</summary>
    public const int Internal = 1;

    /// <summary>Bad usage or input: unknown option, missing folder or file, malformed file, wrong shapes.</summary>
    public const int Usage = 2;

    /// <summary>Training diverged (the loss became NaN or infinite).</summary>
    public const int Diverged = 3;
}

/// <summary>A problem with what the user asked for or gave us; printed as one red line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Where a command writes: <see cref="Out"/> (Spectre.Console, for tables, bars and progress) and
/// <see cref="ErrWriter"/> (one red line per error). Commands never touch <see cref="Console"/> directly,
/// so tests can run them in-process.
/// </summary>
public sealed class CliContext
{
    private readonly bool errorColor;

    private CliContext(IAnsiConsole output, TextWriter outWriter, TextWriter errWriter, bool interactive, bool errorColor)
    {
        Out = output;
        OutWriter = outWriter;
        ErrWriter = errWriter;
        Interactive = interactive;
        this.errorColor = errorColor;
    }

    /// <summary>Rich output (tables, charts, progress bars).</summary>
    public IAnsiConsole Out { get; }

    /// <summary>The writer behind <see cref="Out"/> (System.CommandLine's help goes here).</summary>
    public TextWriter OutWriter { get; }

    /// <summary>Standard error.</summary>
    public TextWriter ErrWriter { get; }

    /// <summary>Whether live progress bars can be drawn (a terminal); otherwise commands print plain lines.</summary>
    public bool Interactive { get; }

    /// <summary>The process's console: live progress on a terminal, plain lines when redirected.</summary>
    public static CliContext ForConsole()
    {
        var output = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        bool interactive = !Console.IsOutputRedirected && output.Profile.Capabilities.Interactive && output.Profile.Capabilities.Ansi;
        if (Console.IsOutputRedirected) output.Profile.Width = 120; // a file or pipe: no terminal width to respect
        return new CliContext(output, Console.Out, Console.Error, interactive, errorColor: !Console.IsErrorRedirected && !noColor);
    }

    /// <summary>Plain text to the given writers (no colours, no live display): for tests and embedding.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 120;
        return new CliContext(console, output, error, interactive: false, errorColor: false);
    }

    /// <summary>Writes one error line ("error: …") to standard error, in red on a terminal.</summary>
    public void Error(string message)
    {
        if (errorColor) ErrWriter.WriteLine($"\u001b[31merror: {message}\u001b[0m");
        else ErrWriter.WriteLine($"error: {message}");
        ErrWriter.Flush();
    }

    /// <summary>Writes a line of plain text (no markup).</summary>
    public void Line(string text = "") => Out.WriteLine(text);

    /// <summary>Writes a line of Spectre markup.</summary>
    public void Markup(string markup) => Out.MarkupLine(markup);
}

/// <summary>Parsing, invocation and error handling shared by all commands.</summary>
public static class Common
{
    /// <summary>
    /// The root command, named "nabla" whatever the executable is called (a RootCommand takes the name of
    /// the running assembly, Nabla.Cli), with --help and --version.
    /// </summary>
    public static Command Root(string description)
    {
        var root = new Command("nabla", description);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the chosen command; parse errors give exit code 2.</summary>
    public static int Invoke(Command root, string[] args, CliContext io)
    {
        var config = new InvocationConfiguration { Output = io.OutWriter, Error = io.ErrWriter, EnableDefaultExceptionHandler = false };
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke(config);
            return ExitCodes.Usage;
        }
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) io.Error(e.Message);
            var command = parse.CommandResult.Command;
            io.ErrWriter.WriteLine(command == root ? "Run 'nabla --help' for the commands." : $"Run 'nabla {command.Name} --help' for its options.");
            return ExitCodes.Usage;
        }
        return parse.Invoke(config);
    }

    /// <summary>
    /// Runs a command body and turns exceptions into one error line and an exit code: 2 for usage and
    /// input errors, 3 for divergence, 1 for anything unexpected. Set NABLA_DEBUG=1 to see stack traces.
    /// </summary>
    public static int Guard(CliContext io, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            var (code, message) = Describe(e);
            io.Error(message);
            if (Environment.GetEnvironmentVariable("NABLA_DEBUG") is "1" or "true") io.ErrWriter.WriteLine(e.ToString());
            return code;
        }
    }

    private static (int Code, string Message) Describe(Exception e) => e switch
    {
        UsageException => (ExitCodes.Usage, e.Message),
        TrainingDivergedException => (ExitCodes.Diverged, e.Message),
        InvalidDataFileException d => (ExitCodes.Usage, d.Message.Contains(d.Path, StringComparison.Ordinal) ? d.Message : $"{d.Path}: {d.Message}"),
        DirectoryNotFoundException or FileNotFoundException => (ExitCodes.Usage, e.Message),
        UnauthorizedAccessException or IOException => (ExitCodes.Usage, e.Message),
        ShapeMismatchException => (ExitCodes.Usage, e.Message),
        _ => (ExitCodes.Internal, $"unexpected {e.GetType().Name}: {e.Message}"),
    };

    /// <summary>Adds a validator that rejects values below <paramref name="min"/>.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, T min) where T : IComparable<T>
    {
        option.Validators.Add(r =>
        {
            if (TryGetValue(r, out T? v) && v is not null && v.CompareTo(min) < 0) r.AddError($"{option.Name} must be at least {min}, got {v}.");
        });
        return option;
    }

    /// <summary>The value of an option in a validator, or false when it did not parse (that error is already reported).</summary>
    public static bool TryGetValue<T>(OptionResult result, out T? value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default;
            return false;
        }
    }

    /// <summary>Adds a validator that requires a positive, finite value.</summary>
    public static Option<float> Positive(this Option<float> option)
    {
        option.Validators.Add(r =>
        {
            if (!TryGetValue(r, out float v)) return;
            if (!(v > 0) || !float.IsFinite(v)) r.AddError($"{option.Name} must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}.");
        });
        return option;
    }

    /// <summary>Formats a fraction as a percentage, e.g. 0.9531 → "95.31%".</summary>
    public static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>Formats a number with invariant culture.</summary>
    public static string F(double value, string format = "F4") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>Finds the repository's shipped data set (data/mnist10k).</summary>
public static class ShippedData
{
    /// <summary>The name recorded in model metadata for the shipped digits.</summary>
    public const string Marker = "shipped:mnist10k";

    /// <summary>
    /// The data/mnist10k folder of the repository: found by walking up from the current directory, then
    /// from the tool's own folder, to a folder holding Nabla.slnx and data/mnist10k; else the copy that
    /// ships beside the tool (an installed tool). Null if there is none.
    /// </summary>
    public static string? Find()
    {
        string? beside = Beside();
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string data = Path.Combine(d.FullName, "data", "mnist10k");
                if (File.Exists(Path.Combine(d.FullName, "Nabla.slnx")) && Directory.Exists(data)) return data;
            }
        }
        return beside;
    }

    private static string? Beside()
    {
        string data = Path.Combine(AppContext.BaseDirectory, "data", "mnist10k");
        return File.Exists(Path.Combine(data, "images.idx3-ubyte.gz")) ? data : null;
    }

    /// <summary>Like <see cref="Find"/>, but a clear error when the repository is not found.</summary>
    public static string FindOrThrow() => Find() ?? throw new UsageException(
        "the shipped digits (data/mnist10k) were not found: run nabla inside the Nabla repository " +
        "(a folder holding Nabla.slnx and data/mnist10k) or pass --data DIR with a folder of MNIST-style IDX files.");
}

/// <summary>The data a model is trained and tested on.</summary>
/// <param name="Train">Training samples, flattened to [H·W].</param>
/// <param name="Validation">Validation samples.</param>
/// <param name="Test">Test samples.</param>
/// <param name="Folder">Full path of the data folder.</param>
/// <param name="Shipped">Whether this is the repository's data/mnist10k.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Split">How the parts were made, for the log and the metadata.</param>
public sealed record DataSplits(Dataset Train, Dataset Validation, Dataset Test, string Folder, bool Shipped, int Height, int Width, string Split)
{
    /// <summary>A short name: "mnist10k (shipped digits)" or the folder.</summary>
    public string Name => Shipped ? "mnist10k (shipped digits)" : Folder;

    /// <summary>What metadata records as the source: <see cref="ShippedData.Marker"/> or the full folder path.</summary>
    public string Source => Shipped ? ShippedData.Marker : Folder;

    /// <summary>Number of classes.</summary>
    public int Classes => Train.NumClasses;

    /// <summary>Class names: Fashion-MNIST's when the folder looks like it, else the label numbers.</summary>
    public string[] ClassNames => DataLoading.ClassNames(Folder, Classes);
}

/// <summary>Loads MNIST-style folders and splits them reproducibly.</summary>
public static class DataLoading
{
    /// <summary>Fraction of a single-set folder used for training, validation and test.</summary>
    public static readonly double[] SingleSetSplit = [0.6, 0.2, 0.2];

    /// <summary>Fraction of the training file held out for validation when the folder has its own test set.</summary>
    public const double ValidationFraction = 0.2;

    /// <summary>How images are scaled; recorded in model files and applied to images given to predict.</summary>
    public const string Normalization = "pixel/255 (0 = background, 1 = ink)";

    private static readonly string[] FashionNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Resolves <paramref name="dataOption"/> (null: the shipped digits; <see cref="ShippedData.Marker"/> is accepted too)
    /// to a full folder path, failing with a message that names the folder when it does not exist.
    /// </summary>
    public static (string Folder, bool Shipped) Resolve(string? dataOption)
    {
        if (dataOption is null || dataOption == ShippedData.Marker) return (ShippedData.FindOrThrow(), true);
        if (string.IsNullOrWhiteSpace(dataOption)) throw new UsageException("--data: the path is empty; give a folder of MNIST-style IDX files.");
        string full = Path.GetFullPath(dataOption);
        if (!Directory.Exists(full))
            throw new UsageException(File.Exists(full)
                ? $"data folder {full} is a file; --data takes the folder that holds the IDX files."
                : $"data folder {full} does not exist (--data takes a folder of MNIST-style IDX files, e.g. /usr/share/datasets/fashion-mnist).");
        string? shipped = ShippedData.Find();
        bool isShipped = shipped is not null && string.Equals(Path.TrimEndingDirectorySeparator(full), Path.TrimEndingDirectorySeparator(shipped), StringComparison.Ordinal);
        return (full, isShipped);
    }

    /// <summary>
    /// Loads a folder and makes the train/validation/test parts. A single-set folder (like the shipped
    /// digits) is shuffled with <paramref name="seed"/> and cut 60/20/20; a folder with its own test set keeps
    /// it as the test part and holds out 20 % of the training file (seeded) for validation.
    /// <paramref name="limit"/> first keeps a seeded random subset of at most that many samples of each file.
    /// </summary>
    public static DataSplits Load(string? dataOption, int seed, int? limit)
    {
        var (folder, shipped) = Resolve(dataOption);
        var data = MnistFolder.Load(folder);
        int[] shape = data.Train.SampleShape; // [1, H, W]
        int h = shape[^2], w = shape[^1];
        var all = Limit(data.Train.Reshape(h * w), limit, seed);
        if (data.Test is null)
        {
            if (all.Count < 3) throw new UsageException($"{folder} holds {all.Count} samples; at least 3 are needed to split off validation and test sets.");
            var parts = all.Split(SingleSetSplit, seed);
            return new DataSplits(parts[0], parts[1], parts[2], folder, shipped, h, w,
                $"one set of {all.Count} shuffled with seed {seed} and cut 60/20/20: {parts[0].Count} train, {parts[1].Count} validation, {parts[2].Count} test");
        }
        if (all.Count < 2) throw new UsageException($"{folder}: the training file holds {all.Count} samples; at least 2 are needed to split off a validation set.");
        var (train, validation) = all.Split(1 - ValidationFraction, seed);
        var test = Limit(data.Test.Reshape(h * w), limit, seed);
        return new DataSplits(train, validation, test, folder, shipped, h, w,
            $"training file split 80/20 with seed {seed}: {train.Count} train, {validation.Count} validation; test file: {test.Count} test");
    }

    /// <summary>A seeded random subset of at most <paramref name="limit"/> samples (all of them when null).</summary>
    public static Dataset Limit(Dataset data, int? limit, int seed)
    {
        if (limit is not int n || n >= data.Count) return data;
        int[] order = Dataset.SplitIndices(data.Count, [1.0], seed)[0];
        return data.Subset(order[..n]);
    }

    /// <summary>Fashion-MNIST's class names for a folder whose path says "fashion", else "0", "1", ….</summary>
    public static string[] ClassNames(string folder, int classes)
    {
        if (classes == FashionNames.Length && folder.Contains("fashion", StringComparison.OrdinalIgnoreCase)) return (string[])FashionNames.Clone();
        return Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }
}

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
    public required Sequential Model { get; init; }

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
            [Keys.InputShape] = (data.Height * data.Width).ToString(CultureInfo.InvariantCulture),
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
    public static ModelInfo Load(string path)
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
            (loaded, meta) = ModelFile.Load(full);
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
        var data = DataLoading.Load(source, Seed, Limit);
        if (data.Height * data.Width != Inputs)
            throw new UsageException($"{data.Folder} holds {data.Height}x{data.Width} images ({data.Height * data.Width} values) but the model {Path} takes {Inputs} inputs ({Image.Height}x{Image.Width}).");
        if (data.Classes > Outputs)
            throw new UsageException($"{data.Folder} has labels up to {data.Classes - 1} but the model {Path} has only {Outputs} outputs.");
        return data;
    }
}

/// <summary>Spectre renderings shared by the commands.</summary>
public static class Render
{
    /// <summary>A confusion matrix as a table: rows = actual class, columns = predicted; the diagonal in green.</summary>
    public static Table Confusion(ConfusionMatrix m, IReadOnlyList<string> names)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("confusion matrix (rows: actual, columns: predicted)");
        table.AddColumn(new TableColumn("[bold]actual[/]"));
        for (int j = 0; j < m.Classes; j++) table.AddColumn(new TableColumn(Spectre.Console.Markup.Escape(Short(names, j))).RightAligned());
        table.AddColumn(new TableColumn("[bold]recall[/]").RightAligned());
        for (int i = 0; i < m.Classes; i++)
        {
            var cells = new List<string> { Spectre.Console.Markup.Escape(Short(names, i)) };
            for (int j = 0; j < m.Classes; j++)
            {
                long c = m.Counts[i, j];
                string s = c.ToString(CultureInfo.InvariantCulture);
                cells.Add(i == j ? $"[green]{s}[/]" : c == 0 ? $"[grey]{s}[/]" : $"[red]{s}[/]");
            }
            double r = m.Recall(i);
            cells.Add(double.IsNaN(r) ? "-" : Common.Percent(r));
            table.AddRow(cells.ToArray());
        }
        return table;
    }

    private static string Short(IReadOnlyList<string> names, int i)
    {
        string n = i < names.Count ? names[i] : i.ToString(CultureInfo.InvariantCulture);
        return n.Length <= 8 ? n : n[..7] + "…";
    }
}
