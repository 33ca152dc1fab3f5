namespace Nabla.Vision;

/// <summary>A detection: a box with its class and confidence, found in image <paramref name="Image"/>.</summary>
/// <param name="Image">Index of the image.</param>
/// <param name="Class">The predicted class.</param>
/// <param name="Score">The confidence.</param>
/// <param name="Box">Where.</param>
public sealed record Detection(int Image, int Class, float Score, Box Box);

/// <summary>A ground-truth object: a box and its class in image <paramref name="Image"/>.</summary>
/// <param name="Image">Index of the image.</param>
/// <param name="Class">The true class.</param>
/// <param name="Box">Where.</param>
public sealed record GroundTruth(int Image, int Class, Box Box);

/// <summary>
/// Mean average precision as PASCAL VOC (2010 and later) computes it: per class, detections sorted by
/// score are matched greedily to unmatched ground truth of the same image at IoU ≥ the threshold; the
/// precision–recall curve is made monotone and integrated at every recall step ("all-point
/// interpolation"); mAP averages over the classes that have ground truth.
/// </summary>
public static class DetectionMetrics
{
    /// <summary>Average precision of one class.</summary>
    public static double AveragePrecision(IEnumerable<Detection> detections, IEnumerable<GroundTruth> truths, int cls, double iouThreshold = 0.5)
    {
        var gts = truths.Where(t => t.Class == cls).ToList();
        if (gts.Count == 0) return double.NaN;
        var byImage = gts.GroupBy(g => g.Image).ToDictionary(g => g.Key, g => (Boxes: g.Select(x => x.Box).ToArray(), Used: new bool[g.Count()]));
        var dets = detections.Where(d => d.Class == cls).OrderByDescending(d => d.Score).ToList();
        var tp = new double[dets.Count];
        for (int i = 0; i < dets.Count; i++)
        {
            if (!byImage.TryGetValue(dets[i].Image, out var img)) continue;
            int best = -1;
            double bestIou = -1;
            for (int j = 0; j < img.Boxes.Length; j++)
            {
                double iou = Boxes.Iou(dets[i].Box, img.Boxes[j]);
                if (iou > bestIou) { bestIou = iou; best = j; }
            }
            if (best >= 0 && bestIou >= iouThreshold && !img.Used[best]) { img.Used[best] = true; tp[i] = 1; }
        }
        // Precision/recall after each detection, then VOC's all-point interpolation.
        var recall = new double[dets.Count + 2];
        var precision = new double[dets.Count + 2];
        double cumTp = 0;
        for (int i = 0; i < dets.Count; i++)
        {
            cumTp += tp[i];
            recall[i + 1] = cumTp / gts.Count;
            precision[i + 1] = cumTp / (i + 1);
        }
        recall[^1] = 1;   // VOC's sentinels: recall 0 … 1, precision … 0
        precision[^1] = 0;
        for (int i = precision.Length - 2; i >= 0; i--) precision[i] = Math.Max(precision[i], precision[i + 1]);
        double ap = 0;
        for (int i = 1; i < recall.Length; i++)
            if (recall[i] != recall[i - 1]) ap += (recall[i] - recall[i - 1]) * precision[i];
        return ap;
    }

    /// <summary>The mean of <see cref="AveragePrecision"/> over the classes that have ground truth.</summary>
    public static double MeanAveragePrecision(IReadOnlyCollection<Detection> detections, IReadOnlyCollection<GroundTruth> truths, double iouThreshold = 0.5)
    {
        var classes = truths.Select(t => t.Class).Distinct().Order().ToList();
        if (classes.Count == 0) return double.NaN;
        return classes.Average(c => AveragePrecision(detections, truths, c, iouThreshold));
    }
}

/// <summary>Segmentation metrics over per-pixel class maps.</summary>
public static class SegmentationMetrics
{
    /// <summary>The share of pixels whose predicted class is the true one.</summary>
    public static double PixelAccuracy(ReadOnlySpan<int> predicted, ReadOnlySpan<int> truth)
    {
        if (predicted.Length != truth.Length) throw new ArgumentException($"PixelAccuracy: {predicted.Length} predictions for {truth.Length} pixels.");
        if (truth.Length == 0) return double.NaN;
        int right = 0;
        for (int i = 0; i < truth.Length; i++) if (predicted[i] == truth[i]) right++;
        return (double)right / truth.Length;
    }

    /// <summary>
    /// Intersection over union per class, |pred = c ∧ truth = c| / |pred = c ∨ truth = c|; NaN for a class
    /// that appears in neither.
    /// </summary>
    public static double[] IouPerClass(ReadOnlySpan<int> predicted, ReadOnlySpan<int> truth, int classes)
    {
        if (predicted.Length != truth.Length) throw new ArgumentException($"IouPerClass: {predicted.Length} predictions for {truth.Length} pixels.");
        var inter = new long[classes];
        var union = new long[classes];
        for (int i = 0; i < truth.Length; i++)
        {
            int p = predicted[i], t = truth[i];
            if ((uint)p >= (uint)classes || (uint)t >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(predicted), $"IouPerClass: pixel {i} has class {p} / {t} outside [0, {classes}).");
            if (p == t) { inter[p]++; union[p]++; }
            else { union[p]++; union[t]++; }
        }
        return Enumerable.Range(0, classes).Select(c => union[c] == 0 ? double.NaN : (double)inter[c] / union[c]).ToArray();
    }

    /// <summary>The mean of <see cref="IouPerClass"/> over the classes present in the prediction or the truth.</summary>
    public static double MeanIou(ReadOnlySpan<int> predicted, ReadOnlySpan<int> truth, int classes)
    {
        var per = IouPerClass(predicted, truth, classes).Where(v => !double.IsNaN(v)).ToList();
        return per.Count == 0 ? double.NaN : per.Average();
    }
}
