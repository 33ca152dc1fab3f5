namespace Nabla.Vision;

/// <summary>
/// The training targets of a single-shot detector for a batch: for every default box of every image
/// its class (0 = background, c + 1 for object class c) and, for the matched ones, the encoded offsets
/// of their ground-truth box (<see cref="Boxes.Encode"/>). Made by <see cref="Build"/> from the
/// ground truth with <see cref="DefaultBoxes.Match"/>.
/// </summary>
public sealed class MultiBoxTargets
{
    private MultiBoxTargets(int images, int priors, int[] classes, float[] offsets, int[] positivesPerImage)
    {
        Images = images; Priors = priors; Classes = classes; Offsets = offsets; PositivesPerImage = positivesPerImage;
    }

    /// <summary>Images in the batch (N).</summary>
    public int Images { get; }

    /// <summary>Default boxes per image (A).</summary>
    public int Priors { get; }

    /// <summary>The class of each default box, [N·A] row-major: 0 background, c + 1 for object class c.</summary>
    public int[] Classes { get; }

    /// <summary>The encoded ground-truth offsets of each default box, [N·A·4] (zero for the background ones).</summary>
    public float[] Offsets { get; }

    /// <summary>Matched default boxes per image.</summary>
    public int[] PositivesPerImage { get; }

    /// <summary>Matched default boxes in the whole batch (the N of the loss's 1/N).</summary>
    public int Positives => PositivesPerImage.Sum();

    /// <summary>
    /// Matches each image's ground truth to the default boxes (IoU ≥ <paramref name="threshold"/>, and every
    /// object takes its best default box) and encodes the matched boxes.
    /// </summary>
    /// <param name="priors">The default boxes, relative coordinates.</param>
    /// <param name="boxes">Per image its objects' boxes, in the priors' coordinates (relative: divide pixels by the image size).</param>
    /// <param name="labels">Per image its objects' classes, 0 … <paramref name="numClasses"/> − 1.</param>
    /// <param name="numClasses">Object classes (without the background).</param>
    /// <param name="threshold">IoU at which a default box is matched.</param>
    /// <param name="variances">The encoding's variances (default <see cref="Boxes.SsdVariances"/>).</param>
    /// <exception cref="ArgumentException">Counts disagree, a label is out of range or a box is empty or not finite.</exception>
    public static MultiBoxTargets Build(IReadOnlyList<Box> priors, IReadOnlyList<IReadOnlyList<Box>> boxes, IReadOnlyList<IReadOnlyList<int>> labels,
        int numClasses, float threshold = 0.5f, (float Center, float Size)? variances = null)
    {
        ArgumentNullException.ThrowIfNull(priors);
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(labels);
        if (boxes.Count != labels.Count) throw new ArgumentException($"MultiBoxTargets: boxes for {boxes.Count} images but labels for {labels.Count}.");
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), $"MultiBoxTargets: {numClasses} classes; at least 1.");
        if (!(threshold > 0 && threshold <= 1)) throw new ArgumentOutOfRangeException(nameof(threshold), $"MultiBoxTargets: IoU threshold {threshold} must be in (0, 1].");
        int n = boxes.Count, a = priors.Count;
        if ((long)n * a * 4 > Array.MaxLength) throw new ArgumentException($"MultiBoxTargets: {n} images × {a} default boxes is too many.");
        var classes = new int[n * a];
        var offsets = new float[n * a * 4];
        var positives = new int[n];
        for (int i = 0; i < n; i++)
        {
            var b = boxes[i] ?? throw new ArgumentNullException(nameof(boxes), $"MultiBoxTargets: the boxes of image {i} are null.");
            var l = labels[i] ?? throw new ArgumentNullException(nameof(labels), $"MultiBoxTargets: the labels of image {i} are null.");
            if (b.Count != l.Count) throw new ArgumentException($"MultiBoxTargets: image {i} has {b.Count} boxes but {l.Count} labels.");
            for (int g = 0; g < b.Count; g++)
            {
                if ((uint)l[g] >= (uint)numClasses) throw new ArgumentException($"MultiBoxTargets: image {i}, object {g} has class {l[g]} outside [0, {numClasses}).");
                var box = b[g];
                if (!(float.IsFinite(box.X1) && float.IsFinite(box.Y1) && float.IsFinite(box.X2) && float.IsFinite(box.Y2)) || box.Area <= 0)
                    throw new ArgumentException($"MultiBoxTargets: image {i}, object {g} has the empty or non-finite box {box}.");
            }
            var match = DefaultBoxes.Match(priors, b, threshold);
            for (int p = 0; p < a; p++)
            {
                int g = match[p];
                if (g < 0) continue;
                int row = i * a + p;
                classes[row] = l[g] + 1;
                var (dx, dy, dw, dh) = Boxes.Encode(b[g], priors[p], variances);
                offsets[row * 4] = dx; offsets[row * 4 + 1] = dy; offsets[row * 4 + 2] = dw; offsets[row * 4 + 3] = dh;
                positives[i]++;
            }
        }
        return new MultiBoxTargets(n, a, classes, offsets, positives);
    }
}
