using System.Text.Json.Nodes;
using Nabla.Nn;

namespace Nabla.Sequences;

/// <summary>
/// Reads a line column by column: a bidirectional LSTM over the column frames [T, N, F] and a
/// linear layer to the classes, giving per-step log-probabilities [T, N, C] for CTC training
/// (<see cref="Ops.CtcLoss(Tensor, IReadOnlyList{int[]}, int[], int, Reduction, bool)"/>) and decoding
/// (<see cref="CtcDecoder"/>). Class 0 is the blank.
/// </summary>
public sealed class LineReader : Module, IConfigurable
{
    /// <summary>Creates the reader.</summary>
    /// <param name="features">Features per step (e.g. line height × columns per step).</param>
    /// <param name="hidden">Hidden size of each LSTM direction.</param>
    /// <param name="layers">Stacked bidirectional LSTM layers.</param>
    /// <param name="classes">Output classes including the blank (11 for digits).</param>
    /// <param name="rng">Initialisation generator.</param>
    public LineReader(int features, int hidden = 128, int layers = 2, int classes = 11, Random? rng = null)
    {
        Features = features;
        Hidden = hidden;
        Layers = layers;
        Classes = classes;
        Lstm = RegisterModule("lstm", new Lstm(features, hidden, layers, bidirectional: true, rng: rng));
        Head = RegisterModule("head", new Linear(2 * hidden, classes, rng: rng));
    }

    /// <summary>Features per step.</summary>
    public int Features { get; }
    /// <summary>Hidden size per direction.</summary>
    public int Hidden { get; }
    /// <summary>LSTM layers.</summary>
    public int Layers { get; }
    /// <summary>Classes including the blank.</summary>
    public int Classes { get; }
    /// <summary>The bidirectional LSTM.</summary>
    public Lstm Lstm { get; }
    /// <summary>The per-step classifier.</summary>
    public Linear Head { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>Log-probabilities [T, N, C] of frames [T, N, F] whose sequences have <paramref name="lengths"/> valid steps.</summary>
    public Tensor Forward(Tensor input, int[]? lengths)
    {
        if (input.Rank != 3 || input.Shape[2] != Features)
            throw new ShapeMismatchException(Describe(), input.Shape, null, $"expects frames [T, N, {Features}]");
        int T = input.Shape[0], N = input.Shape[1];
        var (y, _, _) = Lstm.Forward(input, null, null, lengths);
        var logits = Head.Forward(Ops.Reshape(y, T * N, 2 * Hidden));
        return Ops.Reshape(Ops.LogSoftmax(logits, -1), T, N, Classes);
    }

    /// <summary>Greedy readings of a batch of frames (class k − 1 is digit k−1 … as labels 1..C−1).</summary>
    public int[][] Read(Tensor frames, int[] lengths)
    {
        using var _ = Autograd.GradMode.NoGrad();
        bool training = IsTraining;
        Eval();
        var lp = Forward(frames, lengths);
        Train(training);
        return CtcDecoder.GreedyBatch(lp, 0, lengths);
    }

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["features"] = Features, ["hidden"] = Hidden, ["layers"] = Layers, ["classes"] = Classes };

    /// <inheritdoc/>
    public override string Describe() => $"LineReader({Features} => BiLSTM {Hidden}x{Layers} => {Classes})";
}
