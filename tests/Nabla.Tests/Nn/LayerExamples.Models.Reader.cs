using Nabla.Models;

namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    static partial void AddReaderModels(Dictionary<string, LayerExample> t)
    {
        // Checked in evaluation mode (batch norm's batch statistics magnify the check's step), with
        // the norms set so that every ReLU input sits well above 0 (0.1·z + 1): no ReLU kink within the
        // step. A line image [2, 1, 8, 12] gives 3 steps; a height other than 8 is the wrong shape.
        t["CrnnReader"] = new(() => Recurrent.CrnnReaderTests.AwayFromKinks(new CrnnReader(8, classes: 4, hidden: 3, layers: 1, channels: [2, 3, 2], rng: new Random(3))),
            [2, 1, 8, 12], [2, 1, 7, 12], Stochastic: true);
    }
}
