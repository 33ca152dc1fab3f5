using System.Text.Json.Nodes;
using Nabla.Nn;
using Nabla.Sequences;

namespace Nabla.Models;

/// <summary>
/// A small CNN + LSTM line reader (a CRNN, Shi et al. 2015): three 3×3 convolutions with batch
/// norm and ReLU over the line image [N, 1, H, W], the first two followed by 2×2 max-pooling, so
/// that each of the W/4 output columns becomes one step whose features are the channels × the
/// remaining H/4 rows; a bidirectional LSTM over the steps and a linear layer to the classes give
/// per-step log-probabilities [T, N, C] (T = ⌊W/4⌋) for CTC training
/// (<see cref="Ops.CtcLoss(Tensor, IReadOnlyList{int[]}, int[], int, Reduction, bool)"/>) and
/// decoding (<see cref="CtcDecoder"/>). Class 0 is the blank.
/// </summary>
/// <remarks>
/// The convolutions learn local stroke features shared by every column, so the recurrent part sees
/// 4× fewer, richer steps than a reader of raw pixel columns (<see cref="LineReader"/>).
/// Convolutions followed by batch norm carry no bias (the norm's shift replaces it), as in PyTorch
/// CRNNs.
/// </remarks>
public sealed class CrnnReader : Module, IConfigurable
{
    /// <summary>Columns of the image per output step (the two 2×2 poolings).</summary>
    public const int ColumnsPerStep = 4;

    /// <summary>Creates the reader.</summary>
    /// <param name="height">Height of the line images in pixels (at least 4).</param>
    /// <param name="classes">Output classes including the blank (11 for digits).</param>
    /// <param name="hidden">Hidden size of each LSTM direction.</param>
    /// <param name="layers">Stacked bidirectional LSTM layers.</param>
    /// <param name="channels">Output channels of the three convolutions (default 32, 64, 64).</param>
    /// <param name="rng">Initialisation generator.</param>
    public CrnnReader(int height = 28, int classes = 11, int hidden = 128, int layers = 2, int[]? channels = null, Random? rng = null)
    {
        channels ??= [32, 64, 64];
        if (height < ColumnsPerStep)
            throw new ArgumentException($"CrnnReader: height {height} is too small (at least {ColumnsPerStep} pixels, the two 2×2 poolings).", nameof(height));
        if (channels.Length != 3 || channels.Any(c => c < 1))
            throw new ArgumentException($"CrnnReader: channels [{string.Join(", ", channels)}] must be three positive counts.", nameof(channels));
        if (classes < 2 || hidden < 1 || layers < 1)
            throw new ArgumentException($"CrnnReader: classes {classes} (at least 2 with the blank), hidden {hidden} and layers {layers} must be positive.");
        var r = rng ?? RandomSource.Shared;
        Height = height; Classes = classes; Hidden = hidden; Layers = layers; Channels = [.. channels];
        Cnn = RegisterModule("cnn", new Sequential(
            new Conv2d(1, channels[0], 3, padding: 1, bias: false, rng: r), new BatchNorm2d(channels[0]), new ReLU(), new MaxPool2d(2),
            new Conv2d(channels[0], channels[1], 3, padding: 1, bias: false, rng: r), new BatchNorm2d(channels[1]), new ReLU(), new MaxPool2d(2),
            new Conv2d(channels[1], channels[2], 3, padding: 1, bias: false, rng: r), new BatchNorm2d(channels[2]), new ReLU()));
        Features = channels[2] * (height / 2 / 2);
        Lstm = RegisterModule("lstm", new Lstm(Features, hidden, layers, bidirectional: true, rng: r));
        Head = RegisterModule("head", new Linear(2 * hidden, classes, rng: r));
    }

    /// <summary>Height of the line images.</summary>
    public int Height { get; }
    /// <summary>Classes including the blank.</summary>
    public int Classes { get; }
    /// <summary>Hidden size per LSTM direction.</summary>
    public int Hidden { get; }
    /// <summary>LSTM layers.</summary>
    public int Layers { get; }
    /// <summary>Output channels of the three convolutions.</summary>
    public IReadOnlyList<int> Channels { get; }
    /// <summary>Features per step fed to the LSTM: last channels × ⌊⌊H/2⌋/2⌋ rows.</summary>
    public int Features { get; }
    /// <summary>The convolutional front end (conv, batch norm, ReLU, pool ×2, conv, batch norm, ReLU).</summary>
    public Sequential Cnn { get; }
    /// <summary>The bidirectional LSTM over the columns.</summary>
    public Lstm Lstm { get; }
    /// <summary>The per-step classifier.</summary>
    public Linear Head { get; }

    /// <summary>Steps the reader gives a line <paramref name="width"/> pixels wide: ⌊width/4⌋.</summary>
    public static int StepsOf(int width) => width / ColumnsPerStep;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>
    /// Log-probabilities [T, N, C] of line images [N, 1, H, W] (or [N, H, W]); sequence n has
    /// <paramref name="lengths"/>[n] valid steps (null: all T = ⌊W/4⌋).
    /// </summary>
    public Tensor Forward(Tensor input, int[]? lengths)
    {
        var x = input.Rank == 3 ? Ops.Reshape(input, input.Shape[0], 1, input.Shape[1], input.Shape[2]) : input;
        if (x.Rank != 4 || x.Shape[1] != 1 || x.Shape[2] != Height || x.Shape[3] < ColumnsPerStep)
            throw new ShapeMismatchException(Describe(), input.Shape, null, $"expects line images [N, 1, {Height}, W] or [N, {Height}, W] with W ≥ {ColumnsPerStep}");
        int N = x.Shape[0];
        var f = Cnn.Forward(x);                               // [N, C, H/4, T]
        int T = f.Shape[3];
        // Each column becomes a step: [N, C, H', T] → [T, N, C, H'] → [T, N, C·H'].
        var steps = Ops.Reshape(Ops.Permute(f, 3, 0, 1, 2), T, N, Features);
        if (lengths is not null)
        {
            if (lengths.Length != N) throw new ArgumentException($"CrnnReader: {lengths.Length} lengths for a batch of {N}.", nameof(lengths));
            for (int n = 0; n < N; n++)
                if (lengths[n] < 1 || lengths[n] > T)
                    throw new ArgumentOutOfRangeException(nameof(lengths), $"CrnnReader: length {lengths[n]} of sequence {n} is outside 1..{T} (the steps of width {x.Shape[3]}).");
        }
        var (y, _, _) = Lstm.Forward(steps, null, null, lengths);
        var logits = Head.Forward(Ops.Reshape(y, T * N, 2 * Hidden));
        return Ops.Reshape(Ops.LogSoftmax(logits, -1), T, N, Classes);
    }

    /// <summary>Greedy readings (class labels 1..C−1, blanks and repeats removed) of a batch of line images.</summary>
    public int[][] Read(Tensor images, int[] lengths)
    {
        using var _ = Autograd.GradMode.NoGrad();
        bool training = IsTraining;
        Eval();
        var lp = Forward(images, lengths);
        Train(training);
        return CtcDecoder.GreedyBatch(lp, 0, lengths);
    }

    /// <summary>
    /// A batch of lines as images [N, 1, H, W] (W the widest line rounded up to a multiple of 4,
    /// paper beyond each line's end), the steps of each line (⌈width/4⌉) and the CTC targets
    /// (digit d → class d + 1).
    /// </summary>
    public static (Tensor Images, int[] Steps, int[][] Targets) Batch(IReadOnlyList<DigitLine> lines)
    {
        if (lines.Count == 0) throw new ArgumentException("CrnnReader.Batch: no lines.", nameof(lines));
        int H = lines[0].Height, N = lines.Count;
        if (lines.Any(l => l.Height != H)) throw new ArgumentException("CrnnReader.Batch: lines of different heights.", nameof(lines));
        int W = (lines.Max(l => l.Width) + ColumnsPerStep - 1) / ColumnsPerStep * ColumnsPerStep;
        var x = new Tensor(new Shape(N, 1, H, W));
        var d = x.Data;
        for (int n = 0; n < N; n++)
        {
            var l = lines[n];
            for (int r = 0; r < H; r++) l.Image.AsSpan(r * l.Width, l.Width).CopyTo(d.Slice((n * H + r) * W, l.Width));
        }
        var steps = lines.Select(l => (l.Width + ColumnsPerStep - 1) / ColumnsPerStep).ToArray();
        return (x, steps, lines.Select(l => l.Digits.Select(v => v + 1).ToArray()).ToArray());
    }

    /// <inheritdoc/>
    public JsonObject GetConfig() => new()
    {
        ["height"] = Height, ["classes"] = Classes, ["hidden"] = Hidden, ["layers"] = Layers,
        ["channels"] = new JsonArray(Channels.Select(c => (JsonNode)c).ToArray()),
    };

    /// <inheritdoc/>
    public override string Describe() => $"CrnnReader(H {Height}, conv {string.Join("-", Channels)} => BiLSTM {Hidden}x{Layers} => {Classes})";
}
