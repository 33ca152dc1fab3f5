namespace Nabla.Vision;

/// <summary>
/// An axis-aligned box in corner form (x1, y1) – (x2, y2), in pixels or any unit, x to the right and
/// y downwards (torchvision's <c>xyxy</c>). A box with x2 ≤ x1 or y2 ≤ y1 has zero area.
/// </summary>
public readonly record struct Box(float X1, float Y1, float X2, float Y2)
{
    /// <summary>Width (0 for an empty box).</summary>
    public float Width => MathF.Max(0f, X2 - X1);

    /// <summary>Height (0 for an empty box).</summary>
    public float Height => MathF.Max(0f, Y2 - Y1);

    /// <summary>Width × height.</summary>
    public float Area => Width * Height;

    /// <summary>Centre x.</summary>
    public float CenterX => 0.5f * (X1 + X2);

    /// <summary>Centre y.</summary>
    public float CenterY => 0.5f * (Y1 + Y2);

    /// <summary>The box with centre (cx, cy), width w and height h.</summary>
    public static Box FromCenter(float cx, float cy, float w, float h) => new(cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h);

    /// <summary>The box scaled by (sx, sy), e.g. from relative coordinates to pixels.</summary>
    public Box Scale(float sx, float sy) => new(X1 * sx, Y1 * sy, X2 * sx, Y2 * sy);

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"[{X1:0.##}, {Y1:0.##}, {X2:0.##}, {Y2:0.##}]");
}

/// <summary>
/// Box utilities of a single-shot detector as the notes describe it: overlap (IoU), the encoding of a
/// box relative to a default box (centre offsets scaled by the default box's size, log-scale width and
/// height), and non-maximum suppression (per class, IoU threshold, score threshold, top-k).
/// </summary>
public static class Boxes
{
    /// <summary>
    /// Intersection over union: area(a ∩ b) / area(a ∪ b); 0 when the union is empty (two zero-area boxes)
    /// or the boxes only touch along an edge.
    /// </summary>
    public static float Iou(Box a, Box b)
    {
        float iw = MathF.Min(a.X2, b.X2) - MathF.Max(a.X1, b.X1);
        float ih = MathF.Min(a.Y2, b.Y2) - MathF.Max(a.Y1, b.Y1);
        if (iw <= 0f || ih <= 0f) return 0f;
        float inter = iw * ih;
        float union = a.Area + b.Area - inter;
        return union > 0f ? inter / union : 0f;
    }

    /// <summary>The pairwise IoU matrix [a.Count, b.Count] (torchvision's <c>box_iou</c>).</summary>
    public static float[,] IouMatrix(IReadOnlyList<Box> a, IReadOnlyList<Box> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var m = new float[a.Count, b.Count];
        for (int i = 0; i < a.Count; i++)
            for (int j = 0; j < b.Count; j++) m[i, j] = Iou(a[i], b[j]);
        return m;
    }

    /// <summary>The variances SSD divides the encoded offsets by (centre, size), so that they have unit scale.</summary>
    public static readonly (float Center, float Size) SsdVariances = (0.1f, 0.2f);

    /// <summary>
    /// Encodes <paramref name="target"/> relative to the default box <paramref name="prior"/>:
    /// ((cx − pcx)/pw, (cy − pcy)/ph, log(w/pw), log(h/ph)), each divided by its variance.
    /// </summary>
    /// <exception cref="ArgumentException">The prior or the target has zero width or height.</exception>
    public static (float Dx, float Dy, float Dw, float Dh) Encode(Box target, Box prior, (float Center, float Size)? variances = null)
    {
        var (vc, vs) = variances ?? SsdVariances;
        if (prior.Width <= 0f || prior.Height <= 0f) throw new ArgumentException($"Boxes.Encode: default box {prior} has zero width or height.");
        if (target.Width <= 0f || target.Height <= 0f) throw new ArgumentException($"Boxes.Encode: box {target} has zero width or height (its log-size is undefined).");
        return ((target.CenterX - prior.CenterX) / prior.Width / vc,
                (target.CenterY - prior.CenterY) / prior.Height / vc,
                MathF.Log(target.Width / prior.Width) / vs,
                MathF.Log(target.Height / prior.Height) / vs);
    }

    /// <summary>The inverse of <see cref="Encode"/>: the box that the offsets describe relative to <paramref name="prior"/>.</summary>
    public static Box Decode((float Dx, float Dy, float Dw, float Dh) offsets, Box prior, (float Center, float Size)? variances = null)
    {
        var (vc, vs) = variances ?? SsdVariances;
        // Clamped so that a wild prediction gives a huge box, not an infinite one.
        float w = prior.Width * MathF.Exp(MathF.Min(offsets.Dw * vs, 10f));
        float h = prior.Height * MathF.Exp(MathF.Min(offsets.Dh * vs, 10f));
        return Box.FromCenter(prior.CenterX + offsets.Dx * vc * prior.Width, prior.CenterY + offsets.Dy * vc * prior.Height, w, h);
    }

    /// <summary>
    /// Greedy non-maximum suppression as the notes describe it: take the highest-scoring box, drop every
    /// remaining box that overlaps it by more than <paramref name="iouThreshold"/>, repeat. Boxes scoring
    /// below <paramref name="scoreThreshold"/> are dropped first; ties in score keep the lower index first.
    /// </summary>
    /// <returns>Indices of the kept boxes, highest score first, at most <paramref name="topK"/> (all when ≤ 0).</returns>
    public static int[] Nms(IReadOnlyList<Box> boxes, IReadOnlyList<float> scores, float iouThreshold, float scoreThreshold = float.NegativeInfinity, int topK = 0)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        if (boxes.Count != scores.Count) throw new ArgumentException($"Boxes.Nms: {boxes.Count} boxes but {scores.Count} scores.");
        if (float.IsNaN(iouThreshold)) throw new ArgumentException("Boxes.Nms: the IoU threshold is NaN.");
        var order = Enumerable.Range(0, boxes.Count)
            .Where(i => !float.IsNaN(scores[i]) && scores[i] >= scoreThreshold)
            .OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
        var keep = new List<int>();
        var suppressed = new bool[boxes.Count];
        foreach (int i in order)
        {
            if (suppressed[i]) continue;
            keep.Add(i);
            if (topK > 0 && keep.Count == topK) break;
            foreach (int j in order)
                if (!suppressed[j] && j != i && Iou(boxes[i], boxes[j]) > iouThreshold) suppressed[j] = true;
        }
        return keep.ToArray();
    }

    /// <summary>
    /// Non-maximum suppression within each class separately (torchvision's <c>batched_nms</c>): boxes of
    /// different classes never suppress each other.
    /// </summary>
    /// <returns>Indices of the kept boxes over all classes, highest score first, at most <paramref name="topK"/> (all when ≤ 0).</returns>
    public static int[] BatchedNms(IReadOnlyList<Box> boxes, IReadOnlyList<float> scores, IReadOnlyList<int> classes, float iouThreshold,
        float scoreThreshold = float.NegativeInfinity, int topK = 0)
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count != boxes.Count) throw new ArgumentException($"Boxes.BatchedNms: {boxes.Count} boxes but {classes.Count} classes.");
        var kept = new List<int>();
        foreach (var group in Enumerable.Range(0, boxes.Count).GroupBy(i => classes[i]))
        {
            var idx = group.ToArray();
            var local = Nms(idx.Select(i => boxes[i]).ToArray(), idx.Select(i => scores[i]).ToArray(), iouThreshold, scoreThreshold);
            kept.AddRange(local.Select(k => idx[k]));
        }
        var result = kept.OrderByDescending(i => scores[i]).ThenBy(i => i);
        return (topK > 0 ? result.Take(topK) : result).ToArray();
    }
}
