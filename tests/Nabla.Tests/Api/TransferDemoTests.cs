using Nabla.Cli.Demos;
using Nabla.Tests.Data;

namespace Nabla.Tests.Api;

/// <summary>The transfer-learning demo's claim: pre-training on Fashion-MNIST beats training from scratch on 10 % of the digits' labels.</summary>
public class TransferDemoTests
{
    [Fact]
    public void Fine_tuning_from_fashion_mnist_beats_training_from_scratch()
    {
        // As the Fashion-MNIST reader test: .ci/run installs the Debian package dataset-fashion-mnist.
        if (!Directory.Exists(TransferDemo.FashionFolder)) return;
        var r = TransferDemo.Experiment(TransferDemo.FashionFolder, DataTestUtil.Mnist10kDir, seed: 1, fast: true);
        Assert.Equal(600, r.LabelledDigits);
        Assert.True(r.PretrainAccuracy > 0.7, $"pre-training reached only {r.PretrainAccuracy:P1} on Fashion-MNIST");
        Assert.True(r.ScratchAccuracy > 0.75, $"scratch {r.ScratchAccuracy:P1}");
        Assert.True(r.FineTunedAccuracy > r.ScratchAccuracy, $"fine-tuned {r.FineTunedAccuracy:P2} vs scratch {r.ScratchAccuracy:P2}");
    }
}
