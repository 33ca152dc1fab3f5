namespace Nabla.Vision;

/// <summary>
/// The accumulating form of <see cref="SegmentationMetrics"/> (which scores one set of masks):
/// accumulates a confusion matrix of per-pixel classes over any number of masks and reports the
/// usual segmentation metrics: pixel accuracy, the IoU of each class, TP / (TP + FP + FN), and the
/// mean IoU over the classes that occur (in the truth or the prediction) — classes with an empty
/// union have no IoU and do not count, as in the PASCAL VOC and Cityscapes evaluations.
/// </summary>
public sealed class SegmentationConfusion
{
    private readonly long[] confusion;

    /// <summary>Creates an empty accumulator for <paramref name="numClasses"/> classes (background included).</summary>
    public SegmentationConfusion(int numClasses)
    {
        if (numClasses is < 1 or > 4096) throw new ArgumentOutOfRangeException(nameof(numClasses), $"SegmentationConfusion: {numClasses} classes is outside [1, 4096].");
        NumClasses = numClasses;
        confusion = new long[numClasses * numClasses];
    }

    /// <summary>Number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>Pixels counted so far.</summary>
    public long Pixels { get; private set; }

    /// <summary>Pixels of true class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => confusion[truth * NumClasses + predicted];

    /// <summary>Adds one mask (or a batch of masks, flat): the predicted and the true class of every pixel.</summary>
    public void Add(ReadOnlySpan<int> predicted, ReadOnlySpan<int> truth)
    {
        if (predicted.Length != truth.Length)
            throw new ArgumentException($"SegmentationConfusion: {predicted.Length} predicted pixels but {truth.Length} true ones.");
        for (int i = 0; i < truth.Length; i++)
        {
            int t = truth[i], p = predicted[i];
            if ((uint)t >= (uint)NumClasses) throw new ArgumentOutOfRangeException(nameof(truth), $"SegmentationConfusion: true class {t} at pixel {i} is not in [0, {NumClasses}).");
            if ((uint)p >= (uint)NumClasses) throw new ArgumentOutOfRangeException(nameof(predicted), $"SegmentationConfusion: predicted class {p} at pixel {i} is not in [0, {NumClasses}).");
        }
        for (int i = 0; i < truth.Length; i++) confusion[truth[i] * NumClasses + predicted[i]]++;
        Pixels += truth.Length;
    }

    /// <summary>Adds per-pixel logits [N, C, H, W] (the arg max over C is the prediction) against true masks [N·H·W].</summary>
    public void Add(Tensor logits, ReadOnlySpan<int> truth) => Add(ArgMaxClasses(logits), truth);

    /// <summary>Fraction of pixels whose predicted class is right (NaN before any pixel).</summary>
    public double PixelAccuracy
    {
        get
        {
            long right = 0;
            for (int c = 0; c < NumClasses; c++) right += this[c, c];
            return Pixels == 0 ? double.NaN : (double)right / Pixels;
        }
    }

    /// <summary>The IoU of class <paramref name="cls"/>: TP / (TP + FP + FN); NaN where it occurs in neither truth nor prediction.</summary>
    public double Iou(int cls)
    {
        if ((uint)cls >= (uint)NumClasses) throw new ArgumentOutOfRangeException(nameof(cls), $"SegmentationConfusion: class {cls} is not in [0, {NumClasses}).");
        long tp = this[cls, cls], truthCount = 0, predCount = 0;
        for (int k = 0; k < NumClasses; k++) { truthCount += this[cls, k]; predCount += this[k, cls]; }
        long union = truthCount + predCount - tp;
        return union == 0 ? double.NaN : (double)tp / union;
    }

    /// <summary>The IoU of every class (NaN for classes that never occur).</summary>
    public double[] PerClassIou() => Enumerable.Range(0, NumClasses).Select(Iou).ToArray();

    /// <summary>The mean IoU over the classes that occur (NaN before any pixel).</summary>
    public double MeanIou
    {
        get
        {
            double sum = 0;
            int n = 0;
            foreach (double v in PerClassIou())
                if (!double.IsNaN(v)) { sum += v; n++; }
            return n == 0 ? double.NaN : sum / n;
        }
    }

    /// <summary>The class with the largest logit at every position of [N, C, d1, …] logits, flat [N·d1·…] (first on ties).</summary>
    public static int[] ArgMaxClasses(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank < 3) throw new ShapeMismatchException("SegmentationConfusion.ArgMaxClasses", logits.Shape, null, "expects logits [N, C, H, W]");
        int n = logits.Shape[0], c = logits.Shape[1], s = logits.Length / Math.Max(1, n * c);
        var z = logits.Data;
        var result = new int[n * s];
        var best = new float[s];
        for (int b = 0; b < n; b++)
        {
            z.Slice(b * c * s, s).CopyTo(best);
            for (int k = 1; k < c; k++)
            {
                var row = z.Slice((b * c + k) * s, s);
                for (int i = 0; i < s; i++)
                    if (row[i] > best[i]) { best[i] = row[i]; result[b * s + i] = k; }
            }
        }
        return result;
    }
}
