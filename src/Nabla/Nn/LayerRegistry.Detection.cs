using System.Text.Json.Nodes;
using Nabla.Models;

namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // The single-shot detector.
    static partial void RegisterDetection()
    {
        Register("Ssd", c => new Ssd(c.Int("in_channels", 1, min: 1, max: 4096), c.Int("num_classes", 10, min: 1, max: 1 << 16),
            c.Int("input_size", 64, min: 8, max: 4096), c.Int("width", 16, min: 1, max: 4096),
            c.Float("min_scale", 0.2f, min: 1e-4f, max: 16f), c.Float("max_scale", 0.35f, min: 1e-4f, max: 16f), AspectRatios(c)));
    }

    // aspect_ratios: an array of up to 16 positive numbers (absent: the model's default).
    private static float[]? AspectRatios(LayerConfig c)
    {
        const string key = "aspect_ratios";
        var node = c.Json[key];
        if (node is null) return null;
        if (node is not JsonArray arr) throw new LayerConfigException($"{c.Path}.{key}", $"expected an array of numbers, found {Kind(node)}.");
        if (arr.Count > 16) throw new LayerConfigException($"{c.Path}.{key}", $"{arr.Count} values; at most 16 expected.");
        var values = new float[arr.Count];
        for (int i = 0; i < arr.Count; i++)
        {
            if (arr[i] is not JsonValue v || !v.TryGetValue<float>(out float r))
                throw new LayerConfigException($"{c.Path}.{key}[{i}]", $"expected a number, found {Kind(arr[i])}.");
            if (!(r >= 1e-3f && r <= 1e3f)) throw new LayerConfigException($"{c.Path}.{key}[{i}]", $"{r} is outside [0.001, 1000].");
            values[i] = r;
        }
        return values;
    }
}
