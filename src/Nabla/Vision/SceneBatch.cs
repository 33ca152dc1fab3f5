namespace Nabla.Vision;

/// <summary>Turns generated <see cref="Scene"/>s into model inputs and targets for segmentation.</summary>
public static class SceneBatch
{
    /// <summary>The images as [N, 1, S, S] and the masks as one class per pixel, flat [N·S·S].</summary>
    public static (Tensor Images, int[] Masks) Stack(IReadOnlyList<Scene> scenes)
    {
        ArgumentNullException.ThrowIfNull(scenes);
        if (scenes.Count == 0) throw new ArgumentException("SceneBatch.Stack: no scenes.");
        int s = scenes[0].Size, plane = s * s;
        var x = new float[scenes.Count * plane];
        var masks = new int[scenes.Count * plane];
        for (int i = 0; i < scenes.Count; i++)
        {
            if (scenes[i].Size != s) throw new ArgumentException($"SceneBatch.Stack: scene {i} is {scenes[i].Size}² but scene 0 is {s}².");
            scenes[i].Image.CopyTo(x, i * plane);
            scenes[i].Mask.CopyTo(masks, i * plane);
        }
        return (Tensor.FromArray(x, scenes.Count, 1, s, s), masks);
    }

    /// <summary>
    /// Copies the <paramref name="patch"/>×<paramref name="patch"/> window centred on each pixel
    /// (<paramref name="pixels"/>: flat indices y·width + x) of a <paramref name="width"/>×<paramref name="height"/>
    /// image into <paramref name="destination"/> (patch² values each, row-major); outside the image
    /// is 0. The sliding-window classifier's input: the patch around the pixel it labels.
    /// </summary>
    public static void Patches(ReadOnlySpan<float> image, int width, int height, int patch, ReadOnlySpan<int> pixels, Span<float> destination)
    {
        if (patch < 1 || patch % 2 == 0) throw new ArgumentOutOfRangeException(nameof(patch), $"SceneBatch.Patches: patch side {patch} must be odd and positive (centred on the pixel).");
        if (image.Length != (long)width * height) throw new ArgumentException($"SceneBatch.Patches: {image.Length} pixels are not {width}×{height}.");
        int area = patch * patch, r = patch / 2;
        if (destination.Length < (long)pixels.Length * area)
            throw new ArgumentException($"SceneBatch.Patches: room for {destination.Length} values, {pixels.Length} patches of {area} need {(long)pixels.Length * area}.");
        for (int k = 0; k < pixels.Length; k++)
        {
            int p = pixels[k];
            if ((uint)p >= (uint)image.Length) throw new ArgumentOutOfRangeException(nameof(pixels), $"SceneBatch.Patches: pixel {p} is outside the {width}×{height} image.");
            int cy = p / width, cx = p % width;
            var dst = destination.Slice(k * area, area);
            dst.Clear();
            for (int dy = -r; dy <= r; dy++)
            {
                int y = cy + dy;
                if ((uint)y >= (uint)height) continue;
                int x0 = Math.Max(0, cx - r), x1 = Math.Min(width - 1, cx + r);
                if (x0 > x1) continue;
                image.Slice(y * width + x0, x1 - x0 + 1).CopyTo(dst.Slice((dy + r) * patch + (x0 - cx + r)));
            }
        }
    }
}
