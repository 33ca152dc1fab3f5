namespace Nabla.Vision;

/// <summary>A feature map of a single-shot detector and the default boxes of each of its cells.</summary>
/// <param name="Height">Rows of the feature map.</param>
/// <param name="Width">Columns of the feature map.</param>
/// <param name="Scale">Size of the square default box relative to the image (e.g. 0.2).</param>
/// <param name="AspectRatios">Width/height ratios of the further boxes per cell (1 is always included).</param>
/// <param name="ExtraScale">
/// The size of one more square box per cell (SSD's s′ₖ = √(sₖ·sₖ₊₁), between this map's scale and the
/// next one's), or null for none.
/// </param>
public sealed record FeatureMapSpec(int Height, int Width, float Scale, float[] AspectRatios, float? ExtraScale = null);

/// <summary>
/// The default ("prior") boxes of a single-shot detector, as the notes and the SSD paper place them:
/// on each feature map, one box per aspect ratio (and optionally one more square box of the extra
/// scale) centred on every cell, in coordinates relative to the image ([0, 1]), ordered cell by cell
/// (row-major) and then by aspect ratio (1 first, the others in the given order, the extra square
/// last), the order the detector's convolutional heads emit their predictions in.
/// </summary>
public static class DefaultBoxes
{
    /// <summary>How many boxes each cell of <paramref name="map"/> has.</summary>
    public static int PerCell(FeatureMapSpec map)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(map.AspectRatios);
        return 1 + map.AspectRatios.Count(r => r != 1f) + (map.ExtraScale is null ? 0 : 1);
    }

    /// <summary>
    /// SSD's scales for <paramref name="maps"/> feature maps: sₖ spaced evenly from
    /// <paramref name="minScale"/> (the finest map) to <paramref name="maxScale"/> (the coarsest), and
    /// the extra square box of each map at √(sₖ·sₖ₊₁), with sₘ₊₁ one step beyond the last.
    /// </summary>
    public static (float Scale, float Extra)[] SsdScales(int maps, float minScale, float maxScale)
    {
        if (maps < 1) throw new ArgumentOutOfRangeException(nameof(maps), $"DefaultBoxes.SsdScales: {maps} feature maps; at least 1.");
        if (!(minScale > 0) || !(maxScale >= minScale) || !float.IsFinite(maxScale))
            throw new ArgumentException($"DefaultBoxes.SsdScales: scales from {minScale} to {maxScale} must be positive, finite and increasing.");
        float step = maps == 1 ? maxScale - minScale : (maxScale - minScale) / (maps - 1);
        var result = new (float, float)[maps];
        for (int k = 0; k < maps; k++)
        {
            float s = maps == 1 ? minScale : minScale + step * k;
            float next = maps == 1 ? maxScale : minScale + step * (k + 1);
            result[k] = (s, MathF.Sqrt(s * next));
        }
        return result;
    }

    /// <summary>The most default boxes <see cref="Generate"/> makes (a guard against a mistyped map size).</summary>
    public const int MaxBoxes = 1 << 22;

    /// <summary>The default boxes of all maps, in relative coordinates.</summary>
    public static Box[] Generate(IReadOnlyList<FeatureMapSpec> maps)
    {
        ArgumentNullException.ThrowIfNull(maps);
        var boxes = new List<Box>();
        foreach (var m in maps)
        {
            ArgumentNullException.ThrowIfNull(m);
            ArgumentNullException.ThrowIfNull(m.AspectRatios);
            if (m.Height < 1 || m.Width < 1 || !(m.Scale > 0) || !float.IsFinite(m.Scale))
                throw new ArgumentException($"DefaultBoxes: feature map {m.Height}x{m.Width} with scale {m.Scale} is not valid.");
            if (m.ExtraScale is float e && (!(e > 0) || !float.IsFinite(e)))
                throw new ArgumentException($"DefaultBoxes: feature map {m.Height}x{m.Width} has extra scale {e}; it must be positive.");
            if ((long)m.Height * m.Width * PerCell(m) + boxes.Count > MaxBoxes)
                throw new ArgumentException($"DefaultBoxes: feature map {m.Height}x{m.Width} with {PerCell(m)} boxes per cell would make more than {MaxBoxes} default boxes.");
            foreach (float r in m.AspectRatios)
                if (!(r > 0) || !float.IsFinite(r)) throw new ArgumentException($"DefaultBoxes: aspect ratio {r} is not positive.");
            var ratios = new[] { 1f }.Concat(m.AspectRatios.Where(r => r != 1f)).ToArray();
            for (int i = 0; i < m.Height; i++)
                for (int j = 0; j < m.Width; j++)
                {
                    float cx = (j + 0.5f) / m.Width, cy = (i + 0.5f) / m.Height;
                    foreach (float r in ratios)
                    {
                        float sr = MathF.Sqrt(r);
                        boxes.Add(Box.FromCenter(cx, cy, m.Scale * sr, m.Scale / sr));
                    }
                    if (m.ExtraScale is float extra) boxes.Add(Box.FromCenter(cx, cy, extra, extra));
                }
        }
        return boxes.ToArray();
    }

    /// <summary>
    /// Matches ground-truth boxes to default boxes as SSD does: every default box whose best IoU with a
    /// ground-truth box is at least <paramref name="threshold"/> takes that box; and every ground-truth
    /// box also takes its own best default box (so that no object is left without one).
    /// </summary>
    /// <returns>For each default box, the index of its ground-truth box, or −1 for background.</returns>
    public static int[] Match(IReadOnlyList<Box> priors, IReadOnlyList<Box> truths, float threshold = 0.5f)
    {
        ArgumentNullException.ThrowIfNull(priors);
        ArgumentNullException.ThrowIfNull(truths);
        var match = new int[priors.Count];
        Array.Fill(match, -1);
        if (truths.Count == 0) return match;
        var iou = Boxes.IouMatrix(priors, truths);
        for (int p = 0; p < priors.Count; p++)
        {
            int best = -1;
            float bestIou = 0f;
            for (int g = 0; g < truths.Count; g++)
                if (iou[p, g] > bestIou) { bestIou = iou[p, g]; best = g; }
            if (best >= 0 && bestIou >= threshold) match[p] = best;
        }
        for (int g = 0; g < truths.Count; g++)
        {
            int bestPrior = -1;
            float bestIou = 0f;
            for (int p = 0; p < priors.Count; p++)
                if (iou[p, g] > bestIou) { bestIou = iou[p, g]; bestPrior = p; }
            if (bestPrior >= 0) match[bestPrior] = g;
        }
        return match;
    }
}
