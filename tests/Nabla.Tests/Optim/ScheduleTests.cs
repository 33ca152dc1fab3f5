using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests.Optim;

/// <summary>The learning-rate schedules give the expected sequences (worked out here by hand).</summary>
public class ScheduleTests
{
    private static Sgd Optimizer(float lr = 1f) => new([new Parameter(1)], lr);

    private static float[] Sequence(LearningRateSchedule schedule, int epochs, float lr = 1f, double[]? metrics = null)
    {
        var opt = Optimizer(lr);
        var rates = new List<float> { opt.LearningRate };   // the rate of epoch 1
        for (int e = 0; e < epochs - 1; e++) rates.Add(schedule.Step(opt, metrics?[e]));
        return rates.ToArray();
    }

    private static void AssertRates(double[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 6);
    }

    [Fact]
    public void StepLR_DropsEveryStepSizeEpochs()
    {
        AssertRates([1, 1, 0.5, 0.5, 0.25, 0.25, 0.125], Sequence(new StepLR(2, 0.5f), 7));
        AssertRates([0.1, 0.1, 0.1, 0.01, 0.01], Sequence(new StepLR(3), 5, 0.1f));
    }

    [Fact]
    public void ExponentialLR_MultipliesEveryEpoch()
    {
        AssertRates([2, 1.8, 1.62, 1.458], Sequence(new ExponentialLR(0.9f), 4, 2f));
    }

    [Fact]
    public void CosineAnnealingLR_FollowsHalfACosine()
    {
        // 0.1 + 0.9·(1 + cos(πe/4))/2 for e = 0…4: cos = 1, 0.7071, 0, −0.7071, −1.
        AssertRates([1, 0.868198, 0.55, 0.231802, 0.1], Sequence(new CosineAnnealingLR(4, 0.1f), 5));
    }

    [Fact]
    public void ReduceLROnPlateau_ReducesAfterPatience_AndRespectsTheMinimum()
    {
        double[] losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8];
        // Epochs 3, 4 are bad (≤ patience 2), epoch 5 is the third: the rate halves for epoch 6.
        // Epoch 6 improves; 7, 8, 9 are bad: it halves again for epoch 10, then is clamped at 0.3.
        var plateau = new ReduceLROnPlateau(MetricMode.Min, factor: 0.5f, patience: 2, minLearningRate: 0.3f);
        AssertRates([1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3], Sequence(plateau, 12, metrics: losses));
        Assert.Equal(0.8, plateau.Best);
    }

    [Fact]
    public void ReduceLROnPlateau_MaxMode_Cooldown_AndThreshold()
    {
        // Accuracy rising by less than the relative threshold 1% does not count as improvement.
        double[] acc = [0.5, 0.6, 0.605, 0.604, 0.9, 0.9, 0.9, 0.9, 0.9];
        var plateau = new ReduceLROnPlateau(MetricMode.Max, factor: 0.1f, patience: 1, threshold: 0.01, cooldown: 2);
        // After epoch 2 the best is 0.6; epochs 3, 4 are bad (> patience 1): the rate drops for
        // epoch 5 and a cooldown of 2 epochs starts. Epoch 5 improves, epoch 6 is bad but in the
        // cooldown; epochs 7 and 8 are bad: the rate drops again for epoch 9.
        AssertRates([1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01], Sequence(plateau, 10, metrics: acc));
        Assert.Throws<ArgumentException>(() => plateau.Step(Optimizer()));
    }

    [Fact]
    public void Schedule_KeepsItsBaseRate_AndCountsEpochs()
    {
        var s = new StepLR(1, 0.5f, baseLearningRate: 4f);
        var opt = Optimizer(1f);
        Assert.Equal(2f, s.Step(opt));
        Assert.Equal(1f, s.Step(opt));
        Assert.Equal(2, s.Epoch);
        Assert.Equal(4f, s.BaseLearningRate);
    }

    [Fact]
    public void InsideFit_TheCallbackSetsTheRateOfEachEpoch()
    {
        var data = Synthetic.Xor();
        var model = new Sequential(new Linear(2, 2, rng: new Random(1)), new Sigmoid());
        var opt = new Sgd(model.Parameters(), 0.8f);
        var options = new FitOptions { Epochs = 5, BatchSize = 4, Shuffle = false };
        options.Callbacks.Add(new LearningRateScheduler(new StepLR(2, 0.5f), MonitoredMetric.Loss));
        var history = Trainer.Fit(model, data, new CrossEntropyLoss(), opt, options);
        AssertRates([0.8, 0.8, 0.4, 0.4, 0.2], history.Epochs.Select(e => e.LearningRate).ToArray());
        Assert.Equal(0.2f, opt.LearningRate, 6);

        var plateau = new LearningRateScheduler(new ReduceLROnPlateau(MetricMode.Min), MonitoredMetric.ValidationLoss);
        var noValidation = new FitOptions { Epochs = 1, BatchSize = 4 };
        noValidation.Callbacks.Add(plateau);
        var e = Assert.Throws<InvalidOperationException>(() => Trainer.Fit(model, data, new CrossEntropyLoss(), opt, noValidation));
        Assert.Contains("validation", e.Message);
        Assert.Throws<ArgumentException>(() => new LearningRateScheduler(new ReduceLROnPlateau(MetricMode.Min), MonitoredMetric.ValidationAccuracy));
    }
}
