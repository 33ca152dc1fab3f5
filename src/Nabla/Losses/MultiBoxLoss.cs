using Nabla.Vision;

namespace Nabla.Losses;

/// <summary>What <see cref="MultiBoxLoss.Forward(Tensor, Tensor, MultiBoxTargets)"/> computed.</summary>
/// <param name="Loss">The scalar to minimise, (L_conf + α·L_loc) / N, differentiable.</param>
/// <param name="Confidence">L_conf / N (the classification part), for logging.</param>
/// <param name="Localization">L_loc / N (the box part, before α), for logging.</param>
/// <param name="Positives">N: the matched default boxes in the batch.</param>
/// <param name="Negatives">The background default boxes kept by hard-negative mining.</param>
public sealed record MultiBoxLossResult(Tensor Loss, float Confidence, float Localization, int Positives, int Negatives);

/// <summary>
/// The single-shot detector's loss as the notes write it, L = (L_conf + α·L_loc) / N: N matched
/// default boxes; L_loc the smooth-L1 loss (β = 1) between the predicted and the encoded
/// ground-truth offsets of the matched default boxes (<see cref="Boxes.Encode"/>: centre offsets
/// relative to the default box, log-scale width and height); L_conf the softmax cross-entropy over the
/// classes of the matched default boxes and of the hardest background ones — per image the
/// <see cref="NegativeRatio"/> (3) times as many as it has matches, those whose background
/// probability is lowest (hard-negative mining, as SSD does). Built from differentiable ops
/// (index selection, cross-entropy, smooth L1), so autograd gives the gradient.
/// </summary>
/// <remarks>
/// The selection of matches and hard negatives is not differentiated (it is a piecewise-constant
/// choice, as in every SSD implementation). With no match in the whole batch the loss divides by 1
/// (and an image without objects contributes no negatives), as torchvision's SSD does.
/// </remarks>
public sealed class MultiBoxLoss
{
    private readonly Box[] priors;

    /// <summary>Creates the loss for <paramref name="priors"/> (e.g. <c>Ssd.Priors</c>) and <paramref name="numClasses"/> object classes.</summary>
    /// <param name="priors">The default boxes, relative coordinates, in the order of the predictions.</param>
    /// <param name="numClasses">Object classes (the predictions have one more, the background).</param>
    /// <param name="alpha">Weight α of the localisation term.</param>
    /// <param name="negativeRatio">Hard negatives per match.</param>
    /// <param name="iouThreshold">IoU at which a default box is matched.</param>
    public MultiBoxLoss(IReadOnlyList<Box> priors, int numClasses, float alpha = 1f, int negativeRatio = 3, float iouThreshold = 0.5f)
    {
        ArgumentNullException.ThrowIfNull(priors);
        if (priors.Count == 0) throw new ArgumentException("MultiBoxLoss: no default boxes.");
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), $"MultiBoxLoss: {numClasses} classes; at least 1.");
        if (!(alpha >= 0) || !float.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), $"MultiBoxLoss: α = {alpha} must be finite and not negative.");
        if (negativeRatio < 0) throw new ArgumentOutOfRangeException(nameof(negativeRatio), $"MultiBoxLoss: negative ratio {negativeRatio} is negative.");
        if (!(iouThreshold > 0 && iouThreshold <= 1)) throw new ArgumentOutOfRangeException(nameof(iouThreshold), $"MultiBoxLoss: IoU threshold {iouThreshold} must be in (0, 1].");
        this.priors = priors.ToArray();
        NumClasses = numClasses; Alpha = alpha; NegativeRatio = negativeRatio; IouThreshold = iouThreshold;
    }

    /// <summary>Object classes.</summary>
    public int NumClasses { get; }
    /// <summary>Weight α of the localisation term.</summary>
    public float Alpha { get; }
    /// <summary>Hard negatives kept per match (3 in SSD).</summary>
    public int NegativeRatio { get; }
    /// <summary>IoU at which a default box is matched.</summary>
    public float IouThreshold { get; }
    /// <summary>The encoding's variances.</summary>
    public (float Center, float Size) Variances { get; init; } = Boxes.SsdVariances;

    /// <summary>The default boxes.</summary>
    public IReadOnlyList<Box> Priors => priors;

    /// <summary>Matches <paramref name="boxes"/> (relative coordinates) and <paramref name="labels"/> (0 … C − 1) to the default boxes.</summary>
    public MultiBoxTargets Targets(IReadOnlyList<IReadOnlyList<Box>> boxes, IReadOnlyList<IReadOnlyList<int>> labels) =>
        MultiBoxTargets.Build(priors, boxes, labels, NumClasses, IouThreshold, Variances);

    /// <summary>The loss of the predictions for the ground truth given as boxes (relative coordinates) and labels per image.</summary>
    public MultiBoxLossResult Forward(Tensor classLogits, Tensor boxOffsets, IReadOnlyList<IReadOnlyList<Box>> boxes, IReadOnlyList<IReadOnlyList<int>> labels) =>
        Forward(classLogits, boxOffsets, Targets(boxes, labels));

    /// <summary>The loss of class logits [N, A, C + 1] and box offsets [N, A, 4] against <paramref name="targets"/>.</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit the default boxes, the classes or the targets.</exception>
    public MultiBoxLossResult Forward(Tensor classLogits, Tensor boxOffsets, MultiBoxTargets targets)
    {
        ArgumentNullException.ThrowIfNull(classLogits);
        ArgumentNullException.ThrowIfNull(boxOffsets);
        ArgumentNullException.ThrowIfNull(targets);
        int a = priors.Length, k = NumClasses + 1;
        if (classLogits.Rank != 3 || classLogits.Shape[1] != a || classLogits.Shape[2] != k)
            throw new ShapeMismatchException("MultiBoxLoss", classLogits.Shape, null, $"expects class logits [N, {a}, {k}]");
        int n = classLogits.Shape[0];
        if (boxOffsets.Rank != 3 || boxOffsets.Shape[0] != n || boxOffsets.Shape[1] != a || boxOffsets.Shape[2] != 4)
            throw new ShapeMismatchException("MultiBoxLoss", boxOffsets.Shape, classLogits.Shape, $"expects box offsets [{n}, {a}, 4]");
        if (targets.Images != n || targets.Priors != a)
            throw new ShapeMismatchException("MultiBoxLoss", classLogits.Shape, null, $"the targets are for {targets.Images} images × {targets.Priors} default boxes");

        var (selected, negatives) = SelectRows(classLogits.Data, targets, n, a, k);
        var positives = new List<int>(targets.Positives);
        for (int r = 0; r < n * a; r++) if (targets.Classes[r] > 0) positives.Add(r);
        int matched = positives.Count;

        var logits2d = Ops.Reshape(classLogits, n * a, k);
        var conf = selected.Length == 0
            ? Ops.Mul(Ops.Sum(logits2d), 0f)
            : Ops.CrossEntropy(Ops.IndexSelect(logits2d, 0, selected), selected.Select(r => targets.Classes[r]).ToArray(), Reduction.Sum);
        Tensor loc;
        if (matched == 0) loc = Ops.Mul(Ops.Sum(boxOffsets), 0f);
        else
        {
            var wanted = new float[matched * 4];
            for (int i = 0; i < matched; i++) Array.Copy(targets.Offsets, positives[i] * 4, wanted, i * 4, 4);
            var predicted = Ops.IndexSelect(Ops.Reshape(boxOffsets, n * a, 4), 0, positives.ToArray());
            loc = Ops.SmoothL1Loss(predicted, Tensor.FromArray(wanted, matched, 4), 1f, Reduction.Sum);
        }
        float scale = 1f / Math.Max(1, matched);
        var loss = Ops.Mul(Ops.Add(conf, Ops.Mul(loc, Alpha)), scale);
        return new MultiBoxLossResult(loss, conf.Item() * scale, loc.Item() * scale, matched, negatives);
    }

    /// <summary>
    /// The rows (image·A + default box) the confidence loss sums over: every match, and per image the
    /// <see cref="NegativeRatio"/>·matches background default boxes with the largest background loss
    /// −log softmax(z)₀ (ties: the lower index first).
    /// </summary>
    private (int[] Rows, int Negatives) SelectRows(ReadOnlySpan<float> logits, MultiBoxTargets targets, int n, int a, int k)
    {
        var rows = new List<int>();
        int negatives = 0;
        var background = new List<(float Loss, int Row)>();
        for (int i = 0; i < n; i++)
        {
            background.Clear();
            for (int p = 0; p < a; p++)
            {
                int row = i * a + p;
                if (targets.Classes[row] > 0) { rows.Add(row); continue; }
                var z = logits.Slice(row * k, k);
                float max = float.NegativeInfinity;
                foreach (float v in z) max = MathF.Max(max, v);
                double sum = 0;
                foreach (float v in z) sum += Math.Exp(v - max);
                background.Add(((float)(max + Math.Log(sum) - z[0]), row));
            }
            int take = (int)Math.Min((long)NegativeRatio * targets.PositivesPerImage[i], background.Count);
            if (take == 0) continue;
            // NaN logits sort first so that they reach the loss and show, rather than hide.
            background.Sort((x, y) => float.IsNaN(x.Loss) != float.IsNaN(y.Loss) ? (float.IsNaN(x.Loss) ? -1 : 1)
                : y.Loss != x.Loss ? y.Loss.CompareTo(x.Loss) : x.Row.CompareTo(y.Row));
            for (int j = 0; j < take; j++) rows.Add(background[j].Row);
            negatives += take;
        }
        rows.Sort();
        return (rows.ToArray(), negatives);
    }

    /// <summary>The hard negatives <see cref="Forward(Tensor, Tensor, MultiBoxTargets)"/> would pick for each image (default box indices), for inspection and tests.</summary>
    public int[][] HardNegatives(Tensor classLogits, MultiBoxTargets targets)
    {
        ArgumentNullException.ThrowIfNull(classLogits);
        ArgumentNullException.ThrowIfNull(targets);
        int a = priors.Length, k = NumClasses + 1, n = targets.Images;
        if (classLogits.Rank != 3 || classLogits.Shape[0] != n || classLogits.Shape[1] != a || classLogits.Shape[2] != k)
            throw new ShapeMismatchException("MultiBoxLoss.HardNegatives", classLogits.Shape, null, $"expects class logits [{n}, {a}, {k}]");
        var (rows, _) = SelectRows(classLogits.Data, targets, n, a, k);
        return Enumerable.Range(0, n).Select(i => rows.Where(r => r / a == i && targets.Classes[r] == 0).Select(r => r % a).ToArray()).ToArray();
    }
}
