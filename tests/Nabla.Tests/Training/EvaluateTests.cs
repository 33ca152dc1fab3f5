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
