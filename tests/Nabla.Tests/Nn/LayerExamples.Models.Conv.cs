using Nabla.Models;

namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    private static void AddConvModels(Dictionary<string, LayerExample> t)
    {
        // Set up away from ReLU and max-pool kinks, as the ReLU example keeps its input away from 0
        // (see ModelGradientTests; tiny ReLU networks otherwise cross kinks within the check's step).
        t["LeNet5"] = new(() => Conv.ModelGradientTests.SmallLeNet(Core.Gen.N(1, 1, 1, 12, 12)), [1, 1, 12, 12], [1, 1, 13, 13]);
        // With batch norm the training-mode output depends on the whole batch and its small batch
        // deviations magnify the check's step; these are checked in evaluation mode here, and in
        // training mode with a smaller step by ModelGradientTests.
        t["ResNet"] = new(() => Conv.ModelGradientTests.AwayFromKinks(new ResNet(2, 3, 6, blocks: 1, width: 2, rng: new Random(4))), [3, 2, 6, 6], [3, 1, 6, 6], Stochastic: true);
        t["BasicBlock"] = new(() => Conv.ModelGradientTests.AwayFromKinks(new BasicBlock(2, 4, 2, new Random(5))), [2, 2, 5, 5], [2, 3, 5, 5], Stochastic: true);
        t["Mlp"] = new(() => new Mlp(6, [5, 4], 3, "tanh", rng: new Random(6)), [3, 6], [3, 7]);
    }
}
