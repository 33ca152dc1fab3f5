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

    /// <summary>Run a shorter version (fewer epochs, less data), for tests (<c>demo all</c> sets it per demo).</summary>
    public bool Fast { get; internal set; }

    /// <summary>
    /// Run the long recipe of the demos that have one (segment: the U-Net recipe that reaches the issue's
    /// mean IoU of 0.80, about an hour of a 2-core machine); demos without one ignore it.
    /// </summary>
    public bool Long { get; internal set; }

    /// <summary>The PNGs written so far (full paths).</summary>
    public IReadOnlyList<string> Files => files;

    /// <summary>The full path of a PNG called <paramref name="name"/> in <see cref="OutDir"/>.</summary>
    public string PathOf(string name) => Path.Combine(OutDir, name);

    /// <summary>Records and announces a written PNG; returns its path.</summary>
    public string Wrote(string path) => Wrote(path, null);

    /// <summary>Records and announces a written PNG with a caption for index.html; returns its path.</summary>
    public string Wrote(string path, string? caption)
    {
        files.Add(path);
        figures.Add(new DemoFigure(CurrentDemo, path, caption));
        Line($"  wrote {path}");
        return path;
    }

    private readonly List<DemoFigure> figures = new();

    /// <summary>The PNGs written so far with the demo that wrote them and their captions (for index.html).</summary>
    public IReadOnlyList<DemoFigure> Figures => figures;

    /// <summary>The name of the demo now running (set by <c>nabla demo</c>), recorded with each PNG.</summary>
    public string? CurrentDemo { get; set; }

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
/// <param name="Section">The notes' section it belongs to, the heading in index.html (default: the description).</param>
/// <param name="Sentence">What the notes say there, in a sentence, shown under the heading in index.html.</param>
/// <param name="FullInAll">Whether <c>demo all</c> runs it at full length (it takes seconds, not minutes); the others run their short version there unless --full.</param>
public sealed record DemoEntry(string Name, string Description, Action<DemoRun> Run, string? Section = null, string? Sentence = null, bool FullInAll = false);

/// <summary>A PNG written by a demo.</summary>
/// <param name="Demo">The demo that wrote it (null outside <c>nabla demo</c>).</param>
/// <param name="Path">Its full path.</param>
/// <param name="Caption">What it shows (null: the file name).</param>
public sealed record DemoFigure(string? Demo, string Path, string? Caption);

/// <summary>The demos of the notes' experiments, by name.</summary>
public static class DemoCatalog
{
    /// <summary>All demos, in the order <c>nabla demo all</c> runs them.</summary>
    public static IReadOnlyList<DemoEntry> All { get; } =
    [
        new("perceptron", "The perceptron learns AND and OR but not XOR; an MLP learns XOR (decision boundaries)", r => PerceptronDemo.Run(r),
            "Note 002: the perceptron and the XOR network", "A single perceptron converges on linearly separable data such as AND and OR, but no line separates XOR; two stacked layers do.", FullInAll: true),
        new("toy", "The notes' 4-3-2 sigmoid network on the bright/dark toy problem: success rate before and after training", r => ToyDemo.Run(r),
            "Note 000: training a 4-3-2 sigmoid network by backpropagation", "Gradient descent on C = ½Σ(t − y)² raises the network's success rate on the bright/dark toy problem.", FullInAll: true),
        new("relu1", "The one-neuron ReLU model: (sub)gradient descent, Nesterov, SGD; the loss is not convex; its global minima", r => Relu1Demo.Run(r),
            "Note 001: the one-neuron ReLU model g(x, w) = r(w₁x + w₂)w₃ + w₄", "The loss of this tiny model is not convex and has whole families of global minima; (sub)gradient descent, Nesterov's method and SGD find one of them or get stuck.", FullInAll: true),
        new("lr", "Learning rates too small, right and too large on the one-neuron ReLU model", r => LearningRateDemo.Run(r),
            "Note 003: the learning rate", "Too small a learning rate crawls, too large a one makes the weights oscillate or diverge.", FullInAll: true),
        new("optimizers", "SGD, momentum, Nesterov, Adagrad, RMSProp and Adam on the shipped digits: validation accuracy per epoch", r => OptimizersDemo.Run(r),
            "Note 004: optimisers", "Gradient descent, momentum, Adagrad, RMSProp and Adam differ in how they turn the gradient into a weight update."),
        new("sequence", "Lines of handwritten digits read by a BiLSTM and by a CNN + LSTM trained with CTC: character error rates side by side", r => SequenceDemo.Run(r),
            "Note 004 §5: sequence to sequence", "An LSTM reads a line column by column; the CTC loss sums over all alignments, so the labels need no positions."),
        new("transfer", "Pre-train on Fashion-MNIST, replace the head, fine-tune on 10 % of the digits' labels: against training from scratch", r => TransferDemo.Run(r),
            "Note 004: pre-training and transfer learning", "Weights learnt on one task are a better start for a related task with few labels than random ones."),
        new("twolayer", "The notes' 2-layer tanh + softmax network (numpy style) on two half-moons: hidden sizes 1 to 50, gradient check", r => TwoLayerDemo.Run(r),
            "Note 003: a 2-layer tanh + softmax network with its backward pass", "The network is written out by hand (forward pass, backward pass, L2 term, parameter update); more hidden units bend the decision boundary further.", FullInAll: true),
        new("maxpool", "The notes' max-pooling example 6×6 → 3×3 and its backward routing", r => MaxPoolDemo.Run(r),
            "Note 004 §2.6: pooling", "Max pooling keeps the largest value of each 2×2 window; in the backward pass only that element receives the window's delta.", FullInAll: true),
        new("conv", "Convolution: valid, half and full padding, stride, dilation, transposed convolution 2×2 → 4×4; a trained LeNet's filters and feature maps", r => ConvDemo.Run(r),
            "Note 004 §2.5 and §4.2: convolution and transposed convolution", "Padding, stride and dilation set the output size; a transposed convolution enlarges its input as the backward pass of a convolution does.", FullInAll: true),
        new("ctc", "The notes' CTC example \"affe\": probability table, α and β tables, P(l|x), the collapse B, greedy decoding", r => CtcDemo.Run(r),
            "Note 004 §5: the CTC loss", "P(l|x) sums the probabilities of all paths that collapse to the label; the α/β recursions compute it, and Σᵤ α(u,t)β(u,t)/y is the same at every t.", FullInAll: true),
        new("rnn", "A vanilla RNN unrolled with its BPTT gradients (notes' formulas against autograd); LSTM and GRU gate activations over a line of digits", r => RnnDemo.Run(r),
            "Note 004 §2.7-2.9: vanilla RNN, GRU and LSTM", "Backpropagation through time sends δh back through every step; GRU and LSTM gates decide what the state keeps and what it takes from the input.", FullInAll: true),
        new("detect", "Digit scenes: a single-shot detector (default boxes, multibox loss, non-maximum suppression): mAP@0.5 and boxes drawn", r => DetectDemo.Run(r),
            "Note 004 §4.3: object detection", "A single-shot detector predicts class scores and box offsets for default boxes of several scales on a feature map; matching, hard-negative mining and non-maximum suppression turn them into detections."),
        new("segment", "Digit scenes labelled per pixel: a U-Net (encoder-decoder, skip connections) against a sliding-window CNN: mean IoU and time", r => SegmentDemo.Run(r),
            "Note 004 §4.2: segmentation", "A fully convolutional encoder-decoder labels every pixel at once; the sliding window classifies the patch around each pixel, one pixel at a time."),
    ];

    /// <summary>The demo called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static DemoEntry? Find(string name) =>
        All.FirstOrDefault(d => string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase));
}
