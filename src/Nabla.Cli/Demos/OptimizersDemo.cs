using System.Diagnostics;
using Nabla.Cli.Commands;
using Nabla.Cli.Plots;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Cli.Demos;

/// <summary>One optimiser's run in <see cref="OptimizersDemo"/>.</summary>
/// <param name="Name">The optimiser's name for <see cref="Optimizers.Create"/>.</param>
/// <param name="LearningRate">Its learning rate.</param>
/// <param name="ValidationAccuracy">Validation accuracy before training (index 0) and after each epoch.</param>
/// <param name="TrainLoss">Mean training loss of each epoch.</param>
/// <param name="TestAccuracy">Accuracy on the test part after training.</param>
/// <param name="Seconds">Wall time of the training.</param>
public sealed record OptimizerRun(string Name, float LearningRate, double[] ValidationAccuracy, double[] TrainLoss, double TestAccuracy, double Seconds);

/// <summary>
/// Note 004's optimisers side by side: the same small MLP (784-128-10, ReLU, same initial weights)
/// trained on the shipped digits with SGD, momentum, Nesterov momentum, Adagrad, RMSProp and Adam,
/// each at a learning rate that suits it; validation accuracy per epoch in one plot.
/// </summary>
public static class OptimizersDemo
{
    /// <summary>The optimisers compared and their learning rates.</summary>
    public static IReadOnlyList<(string Name, string Label, float LearningRate)> Settings { get; } =
    [
        ("sgd", "SGD", 0.1f),
        ("momentum", "momentum 0.9", 0.01f),
        ("nesterov", "Nesterov 0.9", 0.01f),
        ("adagrad", "Adagrad", 0.05f),
        ("rmsprop", "RMSProp", 0.001f),
        ("adam", "Adam", 0.001f),
    ];

    /// <summary>Hidden units of the MLP.</summary>
    public const int Hidden = 128;

    /// <summary>Trains the MLP with each optimiser, prints a table and writes optimizers-accuracy.png and optimizers-loss.png.</summary>
    /// <param name="run">The demo run.</param>
    /// <param name="dataFolder">An MNIST-style folder (default: the shipped digits).</param>
    public static IReadOnlyList<OptimizerRun> Run(DemoRun run, string? dataFolder = null)
    {
        int epochs = run.Fast ? 2 : 10, batch = 64;
        var data = DataLoading.Load(dataFolder, run.Seed, run.Fast ? 3000 : null);
        int inputs = data.Height * data.Width;
        run.Heading($"Optimisers on {data.Name}");
        run.Line($"{inputs}-{Hidden}-{data.Classes} MLP (ReLU), cross-entropy, batch {batch}, {epochs} epochs, same initial weights");
        run.Line(data.Split);

        var results = new List<OptimizerRun>();
        var loss = new CrossEntropyLoss();
        foreach (var (name, label, lr) in Settings)
        {
            RandomSource.ManualSeed(run.Seed);
            var rng = new Random(run.Seed);
            var model = new Sequential(new Linear(inputs, Hidden, rng: rng), new ReLU(), new Linear(Hidden, data.Classes, rng: rng));
            var optimizer = Optimizers.Create(name, model.Parameters(), lr);
            double start = Trainer.Evaluate(model, data.Validation, loss).Accuracy;
            var clock = Stopwatch.StartNew();
            var history = Trainer.Fit(model, data.Train, loss, optimizer,
                new FitOptions { Epochs = epochs, BatchSize = batch, Seed = run.Seed, Validation = data.Validation });
            double seconds = clock.Elapsed.TotalSeconds;
            double test = Trainer.Evaluate(model, data.Test, loss).Accuracy;
            var val = new[] { start }.Concat(history.Epochs.Select(e => e.ValidationAccuracy ?? double.NaN)).ToArray();
            results.Add(new OptimizerRun(label, lr, val, history.Epochs.Select(e => e.Loss).ToArray(), test, seconds));
            run.Line($"  {label,-13} η = {DemoRun.F(lr),-6} validation {Pct(val[0])} → {Pct(val[^1])} (best {Pct(val.Max())}), test {Pct(test)}, {DemoRun.F(seconds, "F1")} s");
        }

        run.Wrote(Charts.Lines(AccuracySeries(results), run.PathOf("optimizers-accuracy.png"), $"Optimisers on {data.Name}: validation accuracy",
            "epoch", "validation accuracy (%)", legend: ScottPlot.Alignment.LowerRight, integerX: true));
        run.Wrote(Charts.Lines(LossSeries(results), run.PathOf("optimizers-loss.png"), $"Optimisers on {data.Name}: training loss",
            "epoch", "mean cross-entropy", logY: true, integerX: true));
        return results;
    }

    // One style per optimiser in both figures. SGD, momentum and Nesterov (the same effective step
    // η/(1 − β) = 0.1) nearly coincide, so besides colour they differ in line pattern and marker.
    private static readonly (ScottPlot.LinePattern Pattern, ScottPlot.MarkerShape Marker)[] styles =
    [
        (ScottPlot.LinePattern.Solid, ScottPlot.MarkerShape.FilledCircle),
        (ScottPlot.LinePattern.Dashed, ScottPlot.MarkerShape.OpenSquare),
        (ScottPlot.LinePattern.Dotted, ScottPlot.MarkerShape.FilledTriangleUp),
        (ScottPlot.LinePattern.Solid, ScottPlot.MarkerShape.FilledDiamond),
        (ScottPlot.LinePattern.DenselyDashed, ScottPlot.MarkerShape.OpenCircle),
        (ScottPlot.LinePattern.Solid, ScottPlot.MarkerShape.FilledSquare),
    ];

    private static Series Styled(int i, OptimizerRun r, double[] y) => new(
        $"{r.Name} (η = {DemoRun.F(r.LearningRate)})", y, Enumerable.Range(1, y.Length).Select(e => (double)e).ToArray(),
        Color: i, Pattern: styles[i % styles.Length].Pattern, Marker: styles[i % styles.Length].Marker, Width: i is 1 or 2 ? 2.5f : 2f);

    /// <summary>The series of optimizers-accuracy.png (epoch 0, about 10 %, left out so the differences after training show).</summary>
    public static List<Series> AccuracySeries(IReadOnlyList<OptimizerRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return runs.Select((r, i) => Styled(i, r, r.ValidationAccuracy.Skip(1).Select(a => 100 * a).ToArray())).ToList();
    }

    /// <summary>The series of optimizers-loss.png, styled as in the accuracy figure.</summary>
    public static List<Series> LossSeries(IReadOnlyList<OptimizerRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return runs.Select((r, i) => Styled(i, r, r.TrainLoss)).ToList();
    }

    private static string Pct(double fraction) => DemoRun.F(100 * fraction, "0.0") + "%";
}
