using Nabla.Nn;
using Nabla.Tests.Core;

namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    static partial void AddConvolution(Dictionary<string, LayerExample> t)
    {
        t["Conv2d"] = new(() => new Conv2d(2, 3, (3, 2), (2, 1), (1, 1), (1, 2), groups: 1), [2, 2, 5, 6], [2, 3, 5, 6]);
        t["Conv1d"] = new(() => new Conv1d(4, 2, 3, padding: Padding.Same, groups: 2), [2, 4, 7], [2, 3, 7]);
        t["ConvTranspose2d"] = new(() => new ConvTranspose2d(2, 4, 3, stride: 2, padding: 1, outputPadding: 1, groups: 2), [2, 2, 3, 4], [2, 3, 3, 4]);
        t["MaxPool2d"] = new(() => new MaxPool2d(3, 2, 1, ceilMode: true), [2, 2, 5, 6], [2, 5, 6], MakeInput: s => Gen.Distinct(s, 2, 2, 5, 6));
        t["AvgPool2d"] = new(() => new AvgPool2d(3, 2, 1, countIncludePad: false), [2, 2, 5, 6], [2, 5, 6]);
        t["AdaptiveAvgPool2d"] = new(() => new AdaptiveAvgPool2d((2, 3)), [2, 2, 5, 7], [2, 5, 7]);
        t["GlobalAvgPool2d"] = new(() => new GlobalAvgPool2d(), [2, 3, 4, 5], [3, 4, 5]);
        t["Upsample"] = new(() => new Upsample(2f, UpsampleMode.Bilinear), [1, 2, 3, 4], [2, 3, 4]);
        t["Dropout2d"] = new(() => new Dropout2d(0.3f), [2, 3, 4, 4], [4, 4], Stochastic: true);
        t["BatchNorm1d"] = new(() => new BatchNorm1d(3), [4, 3, 5], [4, 2, 5]);
        t["BatchNorm2d"] = new(() => new BatchNorm2d(3, momentum: null), [2, 3, 4, 3], [2, 3, 4]);
    }
}
