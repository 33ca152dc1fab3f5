using Nabla.Cli.Plots;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Cli.Demos;

/// <summary>The figures of <see cref="ToyDemo"/>.</summary>
/// <param name="Before">Success rate on the test set before training.</param>
/// <param name="After">Success rate on the test set after training.</param>
/// <param name="History">Loss and accuracy per epoch (validation = the test set).</param>
public sealed record ToyDemoResult(double Before, double After, History History);

/// <summary>
/// Note 000's exercise: the 4-3-2 sigmoid network, trained by backpropagation on the cost
/// C = ½Σ(t − y)² with per-sample gradient descent, on the toy problem of 2×2 images that are
/// "bright" (mean pixel above ½) or "dark"; its success rate on test data before and after training.
/// </summary>
public static class ToyDemo
{
    /// <summary>The learning rate λ.</summary>
    public const float LearningRate = 0.5f;

    /// <summary>Runs the demo, prints the success rates and writes toy-curves.png and toy-confusion.png.</summary>
    public static ToyDemoResult Run(DemoRun run)
    {
        int trainCount = run.Fast ? 400 : 1000, epochs = run.Fast ? 5 : 20;
        var train = Synthetic.BrightDark(trainCount, run.Seed);
        var test = Synthetic.BrightDark(500, run.Seed + 1000);
        run.Heading("The notes' 4-3-2 sigmoid network on the bright/dark toy problem (note 000)");
        run.Line($"{trainCount} training and {test.Count} test images of 2×2 pixels; bright: mean pixel above ½");

        var rng = new Random(run.Seed);
        var model = new Sequential(new Linear(4, 3, rng: rng), new Sigmoid(), new Linear(3, 2, rng: rng), new Sigmoid());
        var loss = new HalfSumSquaredErrorLoss();
        var before = Measure(model, test, loss);
        run.Line("target t = [1, 0] for dark, [0, 1] for bright; cost C = ½Σ(t − y)²");
        run.Line($"gradient descent λ = {DemoRun.F(LearningRate)}, one sample per step, {epochs} epochs");
        run.Line($"  success rate before training: {Pct(before.Accuracy)} ({test.Count} test images)");

        // The test set is measured after every epoch here rather than by FitOptions.Validation, because
        // Trainer.Evaluate averages per batch and C is a sum over the batch, not a mean.
        var perEpoch = new List<(double Cost, double Accuracy)>();
        var fitted = Trainer.Fit(model, train, loss, new Sgd(model.Parameters(), LearningRate),
            new FitOptions { Epochs = epochs, BatchSize = 1, Seed = run.Seed, OnEpoch = _ => perEpoch.Add(Measure(model, test, loss)) });
        var history = new History();
        for (int i = 0; i < fitted.Epochs.Count; i++)
            history.Epochs.Add(fitted.Epochs[i] with { ValidationLoss = perEpoch[i].Cost, ValidationAccuracy = perEpoch[i].Accuracy });
        var after = Trainer.Evaluate(model, test, loss);
        run.Line($"  success rate after training:  {Pct(after.Accuracy)}");
        run.Line($"  mean cost per test image: {DemoRun.F(before.Cost, "F4")} → {DemoRun.F(perEpoch[^1].Cost, "F4")}");

        // The notes' worked example input, a bright image.
        var example = Tensor.FromArray([1.00f, 0.98f, 0.76f, 0.58f], 1, 4);
        var y = Trainer.Predict(model, example).ToArray();
        run.Line($"  x = [1.00, 0.98, 0.76, 0.58] (bright): y = {DemoRun.Vec(y, "F2")} → {(y[1] > y[0] ? "bright" : "dark")}");

        run.Wrote(Charts.TrainingCurves(history, run.PathOf("toy-curves.png"), "4-3-2 network, bright/dark (validation = test set)"));
        run.Wrote(Charts.ConfusionMatrix(after.Confusion, run.PathOf("toy-confusion.png"), "Bright/dark test set", ["dark", "bright"]));
        return new ToyDemoResult(before.Accuracy, after.Accuracy, history);
    }

    // Mean cost ½Σ(t − y)² per image and success rate, in evaluation mode.
    private static (double Cost, double Accuracy) Measure(Module model, Dataset data, Loss loss)
    {
        var output = Trainer.Predict(model, data.ToTensor());
        double cost;
        using (Autograd.GradMode.NoGrad()) cost = loss.Forward(output, data.Labels).Item() / data.Count;
        var predicted = Predictions.Classes(output);
        int correct = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == data.Labels[i]) correct++;
        return (cost, (double)correct / data.Count);
    }

    private static string Pct(double fraction) => DemoRun.F(100 * fraction, "0.0") + "%";
}
