namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // Convolution, pooling, upsampling, spatial dropout and batch norm, under PyTorch's class and argument names.
    static partial void RegisterConvolution()
    {
        Register("Conv2d", c => new Conv2d(c.Int("in_channels", min: 1), c.Int("out_channels", min: 1), Pair(c, "kernel_size", null, 1),
            Pair(c, "stride", (1, 1), 1), Nn.ConvConfig.ParsePadding(c.Json["padding"], c.Path + ".padding"), Pair(c, "dilation", (1, 1), 1),
            c.Int("groups", 1, min: 1), c.Bool("bias", true)));
        Register("Conv1d", c => new Conv1d(c.Int("in_channels", min: 1), c.Int("out_channels", min: 1), c.Int("kernel_size", min: 1),
            c.Int("stride", 1, min: 1), Nn.ConvConfig.ParsePadding(c.Json["padding"], c.Path + ".padding") is var p && p.Kind == PaddingKind.Explicit ? Padding.Explicit(0, p.W) : p,
            c.Int("dilation", 1, min: 1), c.Int("groups", 1, min: 1), c.Bool("bias", true)));
        Register("ConvTranspose2d", c => new ConvTranspose2d(c.Int("in_channels", min: 1), c.Int("out_channels", min: 1), Pair(c, "kernel_size", null, 1),
            Pair(c, "stride", (1, 1), 1), Pair(c, "padding", (0, 0), 0), Pair(c, "output_padding", (0, 0), 0), c.Int("groups", 1, min: 1),
            c.Bool("bias", true), Pair(c, "dilation", (1, 1), 1)));
        Register("MaxPool2d", c => new MaxPool2d(Pair(c, "kernel_size", null, 1), c.Has("stride") ? Pair(c, "stride", null, 1) : null,
            Pair(c, "padding", (0, 0), 0), c.Bool("ceil_mode", false)));
        Register("AvgPool2d", c => new AvgPool2d(Pair(c, "kernel_size", null, 1), c.Has("stride") ? Pair(c, "stride", null, 1) : null,
            Pair(c, "padding", (0, 0), 0), c.Bool("ceil_mode", false), c.Bool("count_include_pad", true)));
        // MaxUnpool2d is not registered: it needs the pooling indices as a second input, so it cannot
        // stand in a Sequential or pass the one-input conformance test; models call it from their Forward.
        Register("AdaptiveAvgPool2d", c => new AdaptiveAvgPool2d(Pair(c, "output_size", null, 1)));
        Register("GlobalAvgPool2d", _ => new GlobalAvgPool2d());
        Register("Upsample", c =>
        {
            var mode = c.String("mode", "nearest", "nearest", "bilinear") == "nearest" ? UpsampleMode.Nearest : UpsampleMode.Bilinear;
            return c.Has("size") ? new Upsample(Pair(c, "size", null, 1), mode) : new Upsample(c.Float("scale_factor", min: 1e-6f, max: 1e6f), mode);
        });
        Register("Dropout2d", c => new Dropout2d(c.Float("p", 0.5f, min: 0f, max: 0.999999f)));
        Register("BatchNorm1d", c => new BatchNorm1d(c.Int("num_features", min: 1), c.Float("eps", 1e-5f, min: 1e-30f),
            Momentum(c), c.Bool("affine", true), c.Bool("track_running_stats", true)));
        Register("BatchNorm2d", c => new BatchNorm2d(c.Int("num_features", min: 1), c.Float("eps", 1e-5f, min: 1e-30f),
            Momentum(c), c.Bool("affine", true), c.Bool("track_running_stats", true)));
    }

    // PyTorch's default 0.1 when the key is absent; an explicit null means a cumulative average.
    private static float? Momentum(LayerConfig c) =>
        !c.Json.ContainsKey("momentum") ? 0.1f : c.Has("momentum") ? c.Float("momentum", min: 0f, max: 1f) : null;

    // An (H, W) pair written as [h, w] or a single number for both.
    private static (int H, int W) Pair(LayerConfig c, string key, (int H, int W)? @default, int min)
    {
        var v = c.Ints(key, @default is { } d ? [d.H, d.W] : null, min: min);
        return v.Length switch
        {
            1 => (v[0], v[0]),
            2 => (v[0], v[1]),
            _ => throw new LayerConfigException($"{c.Path}.{key}", $"expected one or two integers, found {v.Length}."),
        };
    }
}
