using Nabla.Models;

namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // The convolutional zoo models and the MLP.
    private static void RegisterConvModels()
    {
        Register("LeNet5", c => new LeNet5(c.Int("in_channels", 1, min: 1, max: 4096), c.Int("num_classes", 10, min: 1, max: 1 << 20), c.Int("input_size", 28, min: 12, max: 4096),
            null, c.Int("conv1_channels", 6, min: 1), c.Int("conv2_channels", 16, min: 1), c.Int("fc1_features", 120, min: 1), c.Int("fc2_features", 84, min: 1)));
        Register("ResNet", c => new ResNet(c.Int("in_channels", 1, min: 1, max: 4096), c.Int("num_classes", 10, min: 1, max: 1 << 20), c.Int("input_size", 28, min: 4, max: 4096),
            c.Int("blocks", 2, min: 1, max: 64), c.Int("width", 16, min: 1, max: 4096)));
        Register("BasicBlock", c => new BasicBlock(c.Int("in_channels", min: 1), c.Int("out_channels", min: 1), c.Int("stride", 1, min: 1)));
        Register("Mlp", c => new Mlp(c.Int("in_features", min: 1), c.Ints("hidden", [], min: 1), c.Int("num_classes", min: 1),
            c.String("activation", "relu", "relu", "tanh", "sigmoid", "leaky-relu"), c.Float("dropout", 0f, min: 0f, max: 0.999999f)));
    }
}
