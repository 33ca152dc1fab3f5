using Nabla.Models;

namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    static partial void AddSegmentation(Dictionary<string, LayerExample> t)
    {
        // The unpooling decoder (the harder one to export: MaxPool's indices feed MaxUnpool) on an odd
        // size; evaluation mode with batch norm set away from the ReLU kinks, as for ResNet. The
        // transposed-convolution decoder is checked in tests/Nabla.Tests/Vision/SegmentationTests.cs.
        t["UNet"] = new(() => Vision.SegmentationTests.AwayFromKinks(new UNet(1, 3, 2, 1, UNetDecoder.Unpool, new Random(7))), [2, 1, 5, 6], [2, 2, 5, 6], Stochastic: true);
    }
}
