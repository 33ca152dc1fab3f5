using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Models;

namespace Nabla.Vision;

/// <summary>The detections in one image: parallel arrays, highest score first.</summary>
/// <param name="Boxes">The boxes (in the coordinates the post-processing was asked for, e.g. pixels).</param>
/// <param name="Labels">The object class of each box, 0 … C − 1 (the background is not a label).</param>
/// <param name="Scores">The softmax probability of that class.</param>
public sealed record DetectionResult(Box[] Boxes, int[] Labels, float[] Scores)
{
    /// <summary>Number of detections.</summary>
    public int Count => Boxes.Length;

    /// <summary>The detections as <see cref="Detection"/> records of image <paramref name="image"/> (for <see cref="DetectionMetrics"/>).</summary>
    public IEnumerable<Detection> AsDetections(int image) =>
        Enumerable.Range(0, Boxes.Length).Select(i => new Detection(image, Labels[i], Scores[i], Boxes[i]));
}

/// <summary>
/// The inference end of a single-shot detector as the notes describe it: softmax over each default
/// box's class logits, decoding of its offsets into a box (<see cref="Boxes.Decode"/>), then per class
/// the boxes scoring at least <see cref="ScoreThreshold"/> (at most <see cref="PreNmsTopK"/> of them)
/// go through non-maximum suppression at <see cref="IouThreshold"/>, and the best
/// <see cref="TopK"/> over all classes are kept (torchvision's SSD post-processing).
/// </summary>
public sealed class SsdPostprocess
{
    private readonly Box[] priors;

    /// <summary>Creates the post-processing for <paramref name="priors"/> (relative coordinates) and <paramref name="numClasses"/> object classes.</summary>
    public SsdPostprocess(IReadOnlyList<Box> priors, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(priors);
        if (priors.Count == 0) throw new ArgumentException("SsdPostprocess: no default boxes.");
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), $"SsdPostprocess: {numClasses} classes; at least 1.");
        this.priors = priors.ToArray();
        NumClasses = numClasses;
    }

    /// <summary>The post-processing of <paramref name="model"/>'s default boxes and classes.</summary>
    public SsdPostprocess(Ssd model) : this((model ?? throw new ArgumentNullException(nameof(model))).Priors, model.NumClasses) { }

    /// <summary>Object classes.</summary>
    public int NumClasses { get; }

    /// <summary>Lowest class probability a detection may have (0.01 for mAP, higher for pictures).</summary>
    public float ScoreThreshold { get; init; } = 0.01f;

    /// <summary>Boxes of one class overlapping a better one by more than this IoU are suppressed.</summary>
    public float IouThreshold { get; init; } = 0.45f;

    /// <summary>Candidates per class that enter the suppression (the best-scoring; ≤ 0: all).</summary>
    public int PreNmsTopK { get; init; } = 200;

    /// <summary>Detections kept per image over all classes (≤ 0: all).</summary>
    public int TopK { get; init; } = 100;

    /// <summary>The encoding's variances.</summary>
    public (float Center, float Size) Variances { get; init; } = Boxes.SsdVariances;

    /// <summary>
    /// Detections from class logits [N, A, C + 1] and box offsets [N, A, 4], with boxes scaled from the
    /// relative coordinates to <paramref name="width"/> × <paramref name="height"/> (e.g. the input's pixels)
    /// and clipped to the image.
    /// </summary>
    public DetectionResult[] Run(Tensor classLogits, Tensor boxOffsets, float width = 1f, float height = 1f)
    {
        ArgumentNullException.ThrowIfNull(classLogits);
        ArgumentNullException.ThrowIfNull(boxOffsets);
        int a = priors.Length, k = NumClasses + 1;
        if (classLogits.Rank != 3 || classLogits.Shape[1] != a || classLogits.Shape[2] != k)
            throw new ShapeMismatchException("SsdPostprocess", classLogits.Shape, null, $"expects class logits [N, {a}, {k}]");
        int n = classLogits.Shape[0];
        if (boxOffsets.Rank != 3 || boxOffsets.Shape[0] != n || boxOffsets.Shape[1] != a || boxOffsets.Shape[2] != 4)
            throw new ShapeMismatchException("SsdPostprocess", boxOffsets.Shape, classLogits.Shape, $"expects box offsets [{n}, {a}, 4]");
        if (!(width > 0) || !(height > 0) || !float.IsFinite(width) || !float.IsFinite(height))
            throw new ArgumentException($"SsdPostprocess: image size {width}x{height} must be positive and finite.");
        if (float.IsNaN(ScoreThreshold) || float.IsNaN(IouThreshold)) throw new ArgumentException("SsdPostprocess: a threshold is NaN.");
        var results = new DetectionResult[n];
        var probs = new float[k];
        var candidates = new List<(int Prior, int Class, float Score)>[NumClasses];
        for (int c = 0; c < NumClasses; c++) candidates[c] = new();
        var logits = classLogits.Data;
        var offsets = boxOffsets.Data;
        for (int i = 0; i < n; i++)
        {
            foreach (var list in candidates) list.Clear();
            for (int p = 0; p < a; p++)
            {
                TensorPrimitives.SoftMax(logits.Slice((i * a + p) * k, k), probs);
                for (int c = 1; c < k; c++)
                    if (probs[c] >= ScoreThreshold) candidates[c - 1].Add((p, c - 1, probs[c]));
            }
            var boxes = new List<Box>();
            var scores = new List<float>();
            var labels = new List<int>();
            foreach (var list in candidates)
            {
                // Stable: equal scores keep the default boxes' order.
                var best = list.OrderByDescending(x => x.Score).ThenBy(x => x.Prior);
                foreach (var (p, c, s) in PreNmsTopK > 0 ? best.Take(PreNmsTopK) : best)
                {
                    int o = (i * a + p) * 4;
                    var b = Boxes.Decode((offsets[o], offsets[o + 1], offsets[o + 2], offsets[o + 3]), priors[p], Variances);
                    boxes.Add(Clip(b).Scale(width, height));
                    scores.Add(s);
                    labels.Add(c);
                }
            }
            var keep = Boxes.BatchedNms(boxes, scores, labels, IouThreshold, ScoreThreshold, TopK);
            results[i] = new DetectionResult(keep.Select(j => boxes[j]).ToArray(), keep.Select(j => labels[j]).ToArray(), keep.Select(j => scores[j]).ToArray());
        }
        return results;
    }

    // Decoded boxes may reach past the image (and NaN offsets give NaN boxes, which IoU treats as empty).
    private static Box Clip(Box b) => new(Math.Clamp(b.X1, 0f, 1f), Math.Clamp(b.Y1, 0f, 1f), Math.Clamp(b.X2, 0f, 1f), Math.Clamp(b.Y2, 0f, 1f));
}

/// <summary>
/// A trained <see cref="Ssd"/> and its <see cref="SsdPostprocess"/>: images in, boxes with labels and
/// scores out (in the input's pixels), the model run in evaluation mode without recording gradients.
/// </summary>
public sealed class Detector
{
    /// <summary>Wraps <paramref name="model"/> with <paramref name="postprocess"/> (default settings when null).</summary>
    public Detector(Ssd model, SsdPostprocess? postprocess = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Postprocess = postprocess ?? new SsdPostprocess(model);
        if (Postprocess.NumClasses != model.NumClasses)
            throw new ArgumentException($"Detector: the post-processing is for {Postprocess.NumClasses} classes but the model has {model.NumClasses}.");
    }

    /// <summary>The detector network.</summary>
    public Ssd Model { get; }

    /// <summary>Decoding and suppression.</summary>
    public SsdPostprocess Postprocess { get; }

    /// <summary>The detections in images [N, C, S, S] (or flat [N, C·S·S]), boxes in pixels of the S × S input.</summary>
    public DetectionResult[] Detect(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        bool training = Model.IsTraining;
        Model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var (cls, box) = Model.ForwardHeads(images);
            return Postprocess.Run(cls, box, Model.InputSize, Model.InputSize);
        }
        finally
        {
            Model.Train(training);
        }
    }
}
