using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Training;

namespace Nabla.Tests.Training;

public class EvaluateTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(64)]
    public void Evaluate_reports_the_mean_loss_per_sample_for_mean_and_summed_losses(int batchSize)
    {
        var data = Synthetic.Blobs(20, 3, 1.0, 2, dims: 4);
        var model = new Sequential(new Linear(4, 3, rng: new Random(1)), new Sigmoid());
        var all = data.ToTensor();
        var output = Trainer.Predict(model, all);
        var target = OneHot.Encode(data.Labels, 3);
        double halfSse = Ops.HalfSumSquaredError(output, target).Item() / data.Count;
        double ce = Ops.CrossEntropy(output, data.Labels).Item();

        Assert.Equal(halfSse, Trainer.Evaluate(model, data, new HalfSumSquaredErrorLoss(), batchSize).Loss, 5);
        Assert.Equal(ce, Trainer.Evaluate(model, data, new CrossEntropyLoss(), batchSize).Loss, 5);
    }
}

public class KerasStyleTests
{
    [Fact]
    public void Sequential_fits_evaluates_and_predicts_keras_style()
    {
        var data = Synthetic.Spirals(300, 0.05, 3);
        var (train, test) = data.Split(0.8, 1);
        var model = new Sequential(new Linear(2, 32, rng: new Random(2)), new Tanh(), new Linear(32, 32, rng: new Random(3)), new Tanh(), new Linear(32, 2, rng: new Random(4)));
        var history = model.Fit(train, new CrossEntropyLoss(), new Nabla.Optim.Adam(model.Parameters(), 0.02f), new FitOptions { Epochs = 150, BatchSize = 32, Seed = 1 });
        Assert.True(history.Last.Loss < history.Epochs[0].Loss / 4, $"loss {history.Epochs[0].Loss} → {history.Last.Loss}");
        var result = model.Evaluate(test, new CrossEntropyLoss());
        Assert.True(result.Accuracy >= 0.9, $"test accuracy {result.Accuracy} (training accuracy {history.Last.Accuracy})");
        Assert.Equal([test.Count, 2], model.Predict(test.ToTensor()).Shape.ToArray());
    }
}
