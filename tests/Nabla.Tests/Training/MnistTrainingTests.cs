using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests.Training;

/// <summary>
/// The key end-to-end check: an MLP trained with the library on the repository's shipped digits
/// (data/mnist10k, 10,000 real MNIST images) classifies a held-out, seeded test split of 2,000 images
/// with at least 95 % accuracy — the same recipe as the default `nabla train`, in a few seconds.
/// </summary>
public class MnistTrainingTests
{
    private static string ShippedDigits()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Nabla.slnx"))) return Path.Combine(d.FullName, "data", "mnist10k");
        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds Nabla.slnx.");
    }

    [Fact]
    public void MlpReaches95PercentOnAHeldOutSplitAndTheLossFallsEveryEpoch()
    {
        var data = MnistFolder.Load(ShippedDigits(), flatten: true);
        Assert.Equal(10_000, data.Train.Count);
        var parts = data.Train.Split([0.6, 0.2, 0.2], seed: 1); // the file is sorted by class: Split shuffles first
        var (train, validation, test) = (parts[0], parts[1], parts[2]);
        Assert.Equal((6000, 2000, 2000), (train.Count, validation.Count, test.Count));

        var rng = new Random(1);
        var model = new Sequential(
            new Linear(784, 256, rng: rng), new ReLU(),
            new Linear(256, 128, rng: rng), new ReLU(),
            new Linear(128, 10, rng: rng));
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(model.Parameters(), learningRate: 0.1f, momentum: 0.9f);
        var options = new FitOptions
        {
            Epochs = 10,
            BatchSize = 64,
            Seed = 1,
            Validation = validation,
            Augment = new ImageAugmentation(28, 28).Shift(2).Rotate(10).AsAction(),
        };
        options.Callbacks.Add(new LearningRateScheduler(new CosineAnnealingLR(options.Epochs)));

        var history = Trainer.Fit(model, train, loss, optimizer, options);
        var result = Trainer.Evaluate(model, test, loss);

        string log = string.Join("\n", history.Epochs.Select(e => $"epoch {e.Epoch}: loss {e.Loss:F4}, val acc {e.ValidationAccuracy:P2}"));
        Assert.True(result.Accuracy >= 0.95, $"test accuracy {result.Accuracy:P2} < 95 %\n{log}");
        Assert.Equal(2000, result.Confusion.Total);
        for (int i = 1; i < history.Epochs.Count; i++)
            Assert.True(history.Epochs[i].Loss < history.Epochs[i - 1].Loss, $"the training loss rose in epoch {i + 1}\n{log}");
        Assert.True(history.Last.ValidationAccuracy >= 0.95, log);
    }
}
