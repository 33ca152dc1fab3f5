using Nabla.Cli;
using Nabla.Cli.Commands;
using Nabla.Cli.Demos;
using Nabla.Cli.Plots;

namespace Nabla.Tests.Plots;

/// <summary>
/// `nabla demo`: each demo runs (short versions) and writes its PNGs, and the figures agree with what
/// the notes state (the one-neuron ReLU model's descent, non-convexity and global minima; the
/// perceptron on AND/OR/XOR; the toy problem's success rate).
/// </summary>
// The demos reseed the shared RandomSource: keep them away from tests that depend on it.
[Collection("WorkerPoolSettingsCollection")]
public sealed class DemoTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("nabla-demo-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private DemoRun NewRun(bool fast = true) => new(CliContext.ForWriters(new StringWriter(), new StringWriter()), dir, seed: 1, fast: fast);

    [Theory]
    [InlineData("perceptron", new[] { "perceptron-and.png", "perceptron-or.png", "perceptron-xor.png", "perceptron-xor-two-layers.png", "mlp-xor.png" })]
    [InlineData("toy", new[] { "toy-curves.png", "toy-confusion.png" })]
    [InlineData("relu1", new[] { "relu1-loss.png", "relu1-fit.png", "relu1-segment.png" })]
    [InlineData("lr", new[] { "lr-loss.png" })]
    [InlineData("optimizers", new[] { "optimizers-accuracy.png", "optimizers-loss.png" })]
    public void EachDemoRunsFromTheCommandLineAndWritesItsPngs(string name, string[] files)
    {
        string outDir = Path.Combine(dir, name);
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(["demo", name, "--out", outDir, "--fast"], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
        foreach (var f in files)
        {
            PngFile.AssertValid(Path.Combine(outDir, f));
            Assert.Contains(f, output.ToString());
        }
        Assert.Equal(files.Length, Directory.GetFiles(outDir, "*.png").Length);
        Assert.Contains($"{files.Length} PNG file(s)", output.ToString());
    }

    [Fact]
    public void UnknownDemoIsAUsageError()
    {
        var error = new StringWriter();
        int code = Program.Run(["demo", "nonsense"], new StringWriter(), error);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("nonsense", error.ToString());
    }

    [Fact]
    public void OutputFolderThatIsAFileIsAUsageError()
    {
        string file = Path.Combine(dir, "file.txt");
        File.WriteAllText(file, "x");
        var error = new StringWriter();
        int code = Program.Run(["demo", "lr", "--out", file], new StringWriter(), error);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is a file", error.ToString());
    }

    [Fact]
    public void Relu1FiguresMatchTheNotes()
    {
        var r = Relu1Demo.Run(NewRun());

        // Autograd's ReLU subgradient at −1, 0, 1 is the notes' choice 0, ½, 1.
        Assert.Equal([0f, 0.5f, 1f], r.ReluSubgradient);

        // Gradient descent from w = 0 with ReLU'(0) = ½ reduces the loss: 0.35 = mean(y²) falls to the variance 0.1.
        var fromZero = r.Traces[0];
        Assert.Equal(Relu1Demo.Iterations + 1, fromZero.Losses.Length);
        Assert.Equal(0.35, fromZero.Losses[0], 1e-6);
        Assert.True(fromZero.Final < fromZero.Losses[0]);
        Assert.Equal(0.1, fromZero.Final, 1e-4);
        for (int k = 1; k < fromZero.Losses.Length; k++) Assert.True(fromZero.Losses[k] <= fromZero.Losses[k - 1] + 1e-6, $"iteration {k}: {fromZero.Losses[k]} > {fromZero.Losses[k - 1]}");

        // From w = 1 gradient descent fits the data; Nesterov gets there much sooner; SGD gets close too.
        var gd = r.Traces[1];
        var nesterov = r.Traces[2];
        Assert.Equal(4.0, gd.Losses[0], 1e-6);
        Assert.True(gd.Final < 1e-3, $"GD from w = 1 ends at {gd.Final}");
        Assert.True(nesterov.Final < 1e-5, $"Nesterov ends at {nesterov.Final}");
        Assert.True(nesterov.FirstBelow(1e-4) < gd.FirstBelow(1e-4));
        Assert.True(r.Traces[3].Final < 0.01 && r.Traces[4].Final < 0.01);
        Assert.All(r.Traces, t => Assert.False(t.Diverged));

        // The listed global minima have loss ~0.
        Assert.Equal(9, r.Minima.Count);
        Assert.All(r.Minima, m => Assert.True(m.Loss < 1e-10, $"{m.Name}: l = {m.Loss}"));

        // Along the segment the loss is not convex: a midpoint above its chord. l(w(t)) = 0.35(4t² − 2t − 1)².
        var t = r.SegmentT;
        var l = r.SegmentLoss;
        for (int i = 0; i < t.Length; i++) Assert.Equal(0.35 * Math.Pow(4 * t[i] * t[i] - 2 * t[i] - 1, 2), l[i], 1e-5);
        Assert.True(l[25] > (l[0] + l[50]) / 2 + 0.1, $"l(0.25) = {l[25]}, chord {(l[0] + l[50]) / 2}");
    }

    [Fact]
    public void LearningRatesFromTooSmallToTooLarge()
    {
        var traces = LearningRateDemo.Run(NewRun());
        var rates = LearningRateDemo.Rates.Select(r => r.Rate).ToArray();
        Assert.Equal([0.01f, 0.1f, 0.5f, 1.0f, 1.5f], rates);
        var (small, right, dies, oscillates, diverges) = (traces[0], traces[1], traces[2], traces[3], traces[4]);
        Assert.True(small.Final > 100 * right.Final, $"too small {small.Final} vs right {right.Final}");
        Assert.True(right.Final < 1e-3);
        Assert.Equal(0.1, dies.Final, 1e-4);
        // η = 1: w₄ flips between two values, the loss stays put.
        Assert.False(oscillates.Diverged);
        Assert.Equal(oscillates.Weights[^1][3], oscillates.Weights[^3][3], 1e-5f);
        Assert.NotEqual(oscillates.Weights[^1][3], oscillates.Weights[^2][3], 1e-2f);
        Assert.True(diverges.Diverged);
        Assert.True(diverges.Losses.Length < LearningRateDemo.Iterations + 1);
        Assert.True(File.Exists(Path.Combine(dir, "lr-loss.png")));
    }

    [Fact]
    public void PerceptronLearnsAndAndOrButNotXorAndAnMlpLearnsXor()
    {
        var r = PerceptronDemo.Run(NewRun());
        Assert.Equal(["AND", "OR", "XOR"], r.Gates.Select(g => g.Gate));
        Assert.True(r.Gates[0].Result.Converged && r.Gates[0].Accuracy == 1.0);
        Assert.True(r.Gates[1].Result.Converged && r.Gates[1].Accuracy == 1.0);
        Assert.False(r.Gates[2].Result.Converged);
        Assert.True(r.Gates[2].Accuracy < 1.0);
        Assert.Equal(1.0, r.HandBuiltXorAccuracy);
        Assert.Equal(1.0, r.MlpXorAccuracy);
        Assert.True(r.MlpFinalLoss < 0.1, $"MLP loss {r.MlpFinalLoss}");
        Assert.NotNull(r.MlpEpochsToSolve);
    }

    [Fact]
    public void ToyNetworkImprovesItsSuccessRate()
    {
        var r = ToyDemo.Run(NewRun());
        Assert.True(r.After > 0.9, $"after training {r.After}");
        Assert.True(r.After > r.Before + 0.2, $"before {r.Before}, after {r.After}");
        Assert.All(r.History.Epochs, e => Assert.NotNull(e.ValidationLoss));
        Assert.True(r.History.Last.ValidationLoss < r.History.Epochs[0].ValidationLoss);
    }

    [Fact]
    public void OptimizersAllLearnTheDigits()
    {
        var runs = OptimizersDemo.Run(NewRun());
        Assert.Equal(OptimizersDemo.Settings.Count, runs.Count);
        foreach (var o in runs)
        {
            Assert.Equal(3, o.ValidationAccuracy.Length); // before training and 2 epochs (fast)
            Assert.True(o.ValidationAccuracy[^1] > 0.5, $"{o.Name}: {o.ValidationAccuracy[^1]}");
            Assert.True(o.ValidationAccuracy[^1] > o.ValidationAccuracy[0] + 0.3);
            Assert.True(o.TestAccuracy > 0.5, $"{o.Name}: test {o.TestAccuracy}");
        }
        // Same initial weights for every optimiser.
        Assert.Single(runs.Select(o => o.ValidationAccuracy[0]).Distinct());
    }

    [Fact]
    public void Relu1FiguresUseOneStylePerMethodAndOneLegendEntryPerSeries()
    {
        var output = new StringWriter();
        var r = Relu1Demo.Run(new DemoRun(CliContext.ForWriters(output, new StringWriter()), dir, seed: 1, fast: true));
        var loss = Relu1Demo.LossSeries(r.Traces);
        var fit = Relu1Demo.FitSeries(r.Traces);
        Assert.Equal(r.Traces.Count, loss.Count);
        Assert.Equal(r.Traces.Count + 1, fit.Count);
        // The same method has the same colour, pattern and marker in the loss and the fit plot; all differ.
        foreach (var s in loss)
        {
            var f = fit.Single(x => x.Name == s.Name);
            Assert.Equal((s.Color, s.Pattern, s.Marker), (f.Color, f.Pattern, f.Marker));
        }
        Assert.Equal(loss.Count, loss.Select(s => s.Color).Distinct().Count());
        Assert.Equal(loss.Count, loss.Select(s => (s.Pattern, s.Marker)).Distinct().Count());
        Assert.DoesNotContain(fit[0].Color, loss.Select(s => s.Color)); // the data points have a colour of their own
        // Gradient descent from w = 1 ends on the same line as the others: it is drawn last, on top, dashed.
        Assert.Equal(r.Traces[1].Name, loss[^1].Name);
        Assert.Equal(r.Traces[1].Name, fit[^1].Name);
        Assert.Equal(ScottPlot.LinePattern.Dashed, loss[^1].Pattern);
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(loss, "t", "k", "l", logY: true), loss);
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(fit, "t", "x", "g"), fit);
        // The chord is dashed, and so is its legend entry (a scatter's legend uses its line style), with its ends marked.
        var seg = Relu1Demo.SegmentSeries(r.SegmentT, r.SegmentLoss);
        var segPlot = Charts.BuildLines(seg, "t", "t", "l");
        ChartsTests.AssertOneLegendEntryPerSeries(segPlot, seg);
        var chord = segPlot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().Single(p => p.LegendText.StartsWith("chord", StringComparison.Ordinal));
        Assert.Equal(ScottPlot.LinePattern.Dashed, chord.LinePattern);
        Assert.True(chord.MarkerSize > 0);
        // The printed numbers are the notes': l falls from 0.35 to the variance 0.1 from w = 0, starts at 4 from w = 1.
        string text = output.ToString();
        Assert.Contains("l: 0.35 → 0.1", text);
        Assert.Contains("l: 4 → ", text);
    }

    [Fact]
    public void LearningRatesShareOneDivergenceAndShowW4Oscillating()
    {
        var output = new StringWriter();
        var traces = LearningRateDemo.Run(new DemoRun(CliContext.ForWriters(output, new StringWriter()), dir, seed: 1, fast: true));
        var diverges = traces[4];
        int k = LearningRateDemo.DivergedAt(diverges)!.Value;
        Assert.Equal(diverges.Losses.Length - 1, k);
        Assert.Null(LearningRateDemo.DivergedAt(traces[3]));
        // The printed text and the legend name the same iteration.
        Assert.Contains($"diverged at iteration {k}:", output.ToString());
        var lossSeries = LearningRateDemo.LossSeries(traces);
        var lossPlot = Charts.BuildLines(lossSeries, "t", "k", "l", logY: true, clipAbove: OneNeuron.DivergenceLevel);
        ChartsTests.AssertOneLegendEntryPerSeries(lossPlot, lossSeries);
        var labels = ChartsTests.LegendLabels(lossPlot);
        Assert.Single(labels, l => l.Contains("diverged", StringComparison.Ordinal));
        Assert.EndsWith($"(diverged at {k})", labels[4]);
        // The w₄ panel: the dead-neuron runs in the loss panel's colours; at η = 1 w₄ flips between two values.
        var w4 = LearningRateDemo.W4Series(traces);
        Assert.Equal([2, 3, 4], w4.Select(s => s.Color!.Value));
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(w4, "t", "k", "w"), w4);
        var flip = w4[1].Y;
        Assert.Equal(LearningRateDemo.W4Iterations + 1, flip.Length);
        for (int i = 3; i < flip.Length; i++)
        {
            Assert.Equal(flip[i - 2], flip[i], 1e-5);
            Assert.True(Math.Abs(flip[i] - flip[i - 1]) > 0.1, $"w₄ does not flip at {i}: {flip[i - 1]} → {flip[i]}");
        }
        Assert.Contains("(|w₄| > 20 from k = ", w4[2].Name);
        Assert.All(w4[2].Y, v => Assert.True(Math.Abs(v) <= LearningRateDemo.W4Limit));
    }

    [Fact]
    public void OptimizerFiguresTellSgdMomentumAndNesterovApart()
    {
        var runs = OptimizersDemo.Settings.Select((s, i) => new OptimizerRun(s.Label, s.LearningRate, [0.1, 0.8 + 0.01 * i, 0.9], [0.5, 0.3], 0.9, 1)).ToList();
        var acc = OptimizersDemo.AccuracySeries(runs);
        var loss = OptimizersDemo.LossSeries(runs);
        Assert.Equal(runs.Count, acc.Select(s => (s.Color, s.Pattern, s.Marker)).Distinct().Count());
        Assert.Equal(3, acc.Take(3).Select(s => (s.Pattern, s.Marker)).Distinct().Count());
        Assert.Equal(acc.Select(s => (s.Name, s.Color, s.Pattern, s.Marker)), loss.Select(s => (s.Name, s.Color, s.Pattern, s.Marker)));
        Assert.Equal([80.0, 90.0], acc[0].Y);
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(acc, "t", "e", "a"), acc);
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(loss, "t", "e", "l", logY: true), loss);
    }
}
