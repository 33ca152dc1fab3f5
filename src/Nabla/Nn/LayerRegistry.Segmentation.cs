using Nabla.Models;

namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // Semantic segmentation: the U-Net encoder–decoder.
    static partial void RegisterSegmentation()
    {
        Register("UNet", c => new UNet(c.Int("in_channels", 1, min: 1, max: 4096), c.Int("num_classes", 2, min: 1, max: 1 << 16),
            c.Int("base_channels", 16, min: 1, max: 4096), c.Int("depth", 3, min: 1, max: 8),
            UNet.ParseDecoder(c.String("decoder", "transpose", "transpose", "unpool"))));
    }
}
