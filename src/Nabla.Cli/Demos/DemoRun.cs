using System.Globalization;
using Nabla.Cli.Commands;

namespace Nabla.Cli.Demos;

/// <summary>What a demo needs: where to print, where to write its PNGs, the seed and whether to run short.</summary>
public sealed class DemoRun
{
    private readonly List<string> files = new();

    /// <summary>Creates the run; <paramref name="outDir"/> is created if needed.</summary>
    public DemoRun(CliContext io, string outDir, int seed = 1, bool fast = false)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        Io = io;
        OutDir = Path.GetFullPath(outDir);
        if (File.Exists(OutDir)) throw new UsageException($"--out {OutDir} is a file; give a folder for the PNGs.");
        Directory.CreateDirectory(OutDir);
        Seed = seed;
        Fast = fast;
    }

    /// <summary>The console.</summary>
    public CliContext Io { get; }

    /// <summary>The folder the PNGs go to (full path).</summary>
    public string OutDir { get; }

    /// <summary>Seed of initialisation, shuffling and sampling.</summary>
    public int Seed { get; }

    /// <summary>Run a shorter version (fewer epochs, less data), for tests.</summary>
    public bool Fast { get; }

    /// <summary>The PNGs written so far (full paths).</summary>
    public IReadOnlyList<string> Files => files;

    /// <summary>The full path of a PNG called <paramref name="name"/> in <see cref="OutDir"/>.</summary>
    public string PathOf(string name) => Path.Combine(OutDir, name);

    /// <summary>Records and announces a written PNG; returns its path.</summary>
    public string Wrote(string path)
    {
        files.Add(path);
        Line($"  wrote {path}");
        return path;
    }

    /// <summary>Prints a line of plain text.</summary>
    public void Line(string text = "") => Io.Line(text);

    /// <summary>Prints a heading.</summary>
    public void Heading(string text)
    {
        Io.Line();
        Io.Markup($"[bold]{Spectre.Console.Markup.Escape(text)}[/]");
    }

    /// <summary>Formats a number with the invariant culture.</summary>
    public static string F(double value, string format = "G4") => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Formats a vector like [1, 0.5, −2].</summary>
    public static string Vec(ReadOnlySpan<float> values, string format = "G4")
    {
        var parts = new string[values.Length];
        for (int i = 0; i < values.Length; i++) parts[i] = values[i].ToString(format, CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }
}

/// <summary>One demo of <c>nabla demo</c>.</summary>
/// <param name="Name">The name on the command line.</param>
/// <param name="Description">One line for the help.</param>
/// <param name="Run">Runs it; returns the PNGs written.</param>
public sealed record DemoEntry(string Name, string Description, Action<DemoRun> Run);

/// <summary>The demos of the notes' experiments, by name.</summary>
public static class DemoCatalog
{
    /// <summary>All demos, in the order <c>nabla demo all</c> runs them.</summary>
    public static IReadOnlyList<DemoEntry> All { get; } =
    [
        new("perceptron", "The perceptron learns AND and OR but not XOR; an MLP learns XOR (decision boundaries)", r => PerceptronDemo.Run(r)),
        new("toy", "The notes' 4-3-2 sigmoid network on the bright/dark toy problem: success rate before and after training", r => ToyDemo.Run(r)),
        new("relu1", "The one-neuron ReLU model: (sub)gradient descent, Nesterov, SGD; the loss is not convex; its global minima", r => Relu1Demo.Run(r)),
        new("lr", "Learning rates too small, right and too large on the one-neuron ReLU model", r => LearningRateDemo.Run(r)),
        new("optimizers", "SGD, momentum, Nesterov, Adagrad, RMSProp and Adam on the shipped digits: validation accuracy per epoch", r => OptimizersDemo.Run(r)),
        new("sequence", "Lines of handwritten digits read column by column by a BiLSTM trained with CTC: character error rate", r => SequenceDemo.Run(r)),
        new("transfer", "Pre-train on Fashion-MNIST, replace the head, fine-tune on 10 % of the digits' labels: against training from scratch", r => TransferDemo.Run(r)),
        new("segment", "Digit scenes labelled per pixel: a U-Net (encoder-decoder, skip connections) against a sliding-window CNN: mean IoU and time", r => SegmentDemo.Run(r)),
    ];

    /// <summary>The demo called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static DemoEntry? Find(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));
}
