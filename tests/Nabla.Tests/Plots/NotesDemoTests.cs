using Nabla.Cli;
using Nabla.Cli.Commands;
using Nabla.Cli.Demos;
using Nabla.Cli.Plots;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Tests.Plots;

/// <summary>
/// The demos of the notes' remaining worked examples (issue 15): each runs from the command line
/// and writes its figures, prints the notes' numbers next to Nabla's, and those numbers are the
/// notes' (max pooling 6×6 → 3×3, the CTC "affe" α/β tables, convolution sizes, BPTT, the 2-layer
/// network); <c>demo all</c> writes index.html; the confusion table has precision and F1.
/// </summary>
// The demos reseed the shared RandomSource: keep them away from tests that depend on it.
[Collection("WorkerPoolSettingsCollection")]
public sealed class NotesDemoTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("nabla-notes-demo-").FullName;
    private readonly StringWriter output = new();

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private DemoRun NewRun() => new(CliContext.ForWriters(output, new StringWriter()), dir, seed: 1, fast: true);

    [Theory]
    [InlineData("maxpool", new[] { "maxpool.png" })]
    [InlineData("ctc", new[] { "ctc-probabilities.png", "ctc-alpha-beta.png" })]
    [InlineData("twolayer", new[] { "twolayer-boundaries.png", "twolayer-loss.png" })]
    // conv and rnn train briefly: their files are checked where their numbers are, and in DemoAllWritesAnIndexReferencingEveryPng.
    public void EachNotesDemoRunsFromTheCommandLineAndWritesItsPngs(string name, string[] files)
    {
        string outDir = Path.Combine(dir, name);
        var error = new StringWriter();
        int code = Program.Run(["demo", name, "--out", outDir, "--fast"], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
        foreach (var f in files)
        {
            PngFile.AssertValid(Path.Combine(outDir, f));
            Assert.Contains(f, output.ToString());
        }
        Assert.Equal(files.Length, Directory.GetFiles(outDir, "*.png").Length);
        Assert.False(File.Exists(Path.Combine(outDir, DemoIndex.FileName))); // only demo all writes the index
    }

    [Fact]
    public void MaxPoolingIsTheNotesExampleAndRoutesEachDeltaToItsMaximum()
    {
        var r = MaxPoolDemo.Run(NewRun());
        Assert.Equal(new double[,] { { 8, 5, 4 }, { 8, 9, 8 }, { 9, 9, 7 } }, r.Output);
        // δxᵢ = δy of its window where xᵢ is the window's maximum, 0 elsewhere.
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                int wi = i / 2, wj = j / 2;
                bool isMax = r.Input[i, j] == r.Output[wi, wj];
                Assert.Equal(isMax ? r.GradOutput[wi, wj] : 0, r.GradInput[i, j]);
            }
        Assert.Equal(45, r.GradInput.Cast<double>().Sum()); // every δy (1 + … + 9) arrives exactly once
        Assert.Contains("[8, 9, 8]                  [8, 9, 8]", output.ToString());
        Assert.Contains("identical", output.ToString());
    }

    [Fact]
    public void CtcAlphaBetaAndProbabilityAreTheNotesAffeExample()
    {
        var r = CtcDemo.Run(NewRun());
        // The first α values of the notes: .9, .36, .036, .029, .009 (blank), .09, .495, .684, .108 (a), .036, .053, .590 (blank).
        double[] blank = [0.9, 0.36, 0.036, 0.029, 0.009];
        for (int t = 0; t < blank.Length; t++) Assert.Equal(blank[t], r.Alpha[0, t], 3);
        double[] a = [0.09, 0.495, 0.684, 0.108, 0.014, 0.002];
        for (int t = 0; t < a.Length; t++) Assert.Equal(a[t], r.Alpha[1, t], 3);
        Assert.Equal(0.590, r.Alpha[2, 3], 3);
        Assert.Equal(0.419, r.Alpha[3, 4], 3);
        // β of the last steps: .99 and .01 at t = 8, .594, .297, .535 before.
        Assert.Equal(0.99, r.Beta[7, 8], 4);
        Assert.Equal(0.01, r.Beta[8, 8], 4);
        Assert.Equal(0.594, r.Beta[5, 7], 3);
        Assert.Equal(0.297, r.Beta[6, 7], 3);
        Assert.Equal(0.535, r.Beta[4, 6], 3);
        // P(l|x) = Σᵤ α β / y is the same at every t and equals exp(−CtcLoss).
        Assert.All(r.ProbabilityPerStep, p => Assert.Equal(r.ProbabilityPerStep[0], p, 4));
        Assert.Equal(r.LossProbability, r.ProbabilityPerStep[0], 4);
        Assert.Equal(0.1894, r.LossProbability, 3);
        // The notes' cells differ in exactly the six cells of their two slips: α(f, 1) and α(−, 5) with what follows from it.
        Assert.Equal(57, r.NotesCellsCompared);
        Assert.Equal([(3, 1), (4, 5), (4, 6), (5, 6), (5, 7), (6, 7)], r.Differences.Select(d => (d.State, d.Step)).ToArray());
        Assert.All(r.Differences, d => Assert.Equal("α", d.Table));
        Assert.InRange(r.Alpha[3, 4] * CtcDemo.Probabilities[6, 5], 0.167, 0.169); // the notes' 0.168: α(f, 4) multiplied by P(f, 5) = 0.4
        Assert.Equal(r.Alpha[3, 4] * CtcDemo.Probabilities[0, 5], r.Alpha[4, 5], 4); // the recursion by the blank's P(−, 5) = 0.2
        Assert.Equal(0.243, r.NotesProbabilityAtT6, 3);
        // B on the notes' strings, and the greedy decoding of the same output.
        Assert.Equal(["aab", "aab"], r.Collapsed);
        Assert.Equal("-aa-ff-fe", r.GreedyPath);
        Assert.Equal("affe", r.GreedyLabel);
        Assert.Equal("affe", r.BeamLabel);
        string text = output.ToString();
        Assert.Contains("B(a-ab-) = aab", text);
        Assert.Contains("B(-aa--aabb) = aab", text);
        Assert.Contains("notes  0.900 0.360 0.036 0.029 0.009", text);
        Assert.Contains("Nabla  0.900 0.360 0.036 0.029 0.009", text);
        Assert.Contains("exp(−CtcLoss) = 0.1894", text);
    }

    [Fact]
    public void ConvolutionSizesFollowTheNotesAndTransposedConvolutionIsTheBackwardPass()
    {
        var r = ConvDemo.Run(NewRun());
        Assert.Equal([3, 5, 7, 3, 3], r.Cases.Select(c => c.OutputSize));
        Assert.All(r.Cases, c => Assert.Equal(c.FormulaSize, c.OutputSize));
        Assert.All(r.Cases, c => Assert.Equal(0, c.MaxDifference, 5));
        Assert.Equal(r.Cases[1].InputSize, r.Cases[1].OutputSize); // half padding keeps the size
        Assert.True(r.Cases[2].OutputSize > r.Cases[2].InputSize); // full padding enlarges it
        Assert.Equal(2, r.ConvSize);
        Assert.Equal(4, r.TransposedSize);
        Assert.Equal(0, r.TransposedVsFullConvolution, 4);
        Assert.Equal(0, r.TransposedVsGradient, 4);
        Assert.True(r.LeNetTestAccuracy > 0.5, $"LeNet after brief training: {r.LeNetTestAccuracy}");
        Assert.Contains("5×5 → 7×7 (formula 7)", output.ToString());
        foreach (var f in new[] { "conv-padding.png", "conv-transposed.png", "conv-lenet-filters.png", "conv-lenet-maps.png" })
            PngFile.AssertValid(Path.Combine(dir, f));
    }

    [Fact]
    public void BpttByTheNotesFormulasMatchesAutogradAndGatesAreProbabilities()
    {
        var r = RnnDemo.Run(NewRun());
        Assert.True(r.MaxGradientDifference < 1e-5, $"BPTT vs autograd: {r.MaxGradientDifference}");
        Assert.Equal(["δWₓ", "δWₕ", "δWₒ", "δb", "δx"], r.HandGradients.Keys);
        Assert.Equal(RnnDemo.Steps, r.DeltaHNorms.Length);
        Assert.All(r.DeltaHNorms, v => Assert.True(v > 0));
        foreach (var trace in new[] { r.Lstm, r.Gru })
        {
            Assert.True(trace.MaxStateDifference < 1e-4, $"{trace.Name}: states from gates vs layer {trace.MaxStateDifference}");
            Assert.All(trace.Gates.Values.SelectMany(g => g.Cast<double>()), v => Assert.InRange(v, 0, 1));
            Assert.True(trace.LastLoss < trace.FirstLoss, $"{trace.Name}: CTC loss {trace.FirstLoss} → {trace.LastLoss}");
        }
        Assert.Equal(["input gate i", "forget gate f", "output gate o"], r.Lstm.Gates.Keys);
        Assert.Equal(["reset gate r", "update gate z"], r.Gru.Gates.Keys);
        PngFile.AssertValid(Path.Combine(dir, "rnn-bptt.png"));
        PngFile.AssertValid(Path.Combine(dir, "rnn-gates.png"));
        var series = RnnDemo.DeltaXSeries(r.DeltaXNorms.Hand, r.DeltaXNorms.Autograd);
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(series, "t", "t", "δx", integerX: true), series);
    }

    [Fact]
    public void TwoLayerNetworkLearnsTheMoonsAndItsBackwardPassPassesTheGradientCheck()
    {
        var r = TwoLayerDemo.Run(NewRun());
        Assert.Equal((240, 60), (r.TrainCount, r.ValidationCount));
        Assert.Equal(TwoLayerDemo.HiddenSizes, r.Runs.Select(x => x.HiddenUnits));
        Assert.True(r.MaxAutogradDifference < 1e-3, $"hand-written backward vs autograd: {r.MaxAutogradDifference}");
        Assert.True(r.MaxNumericalRelativeError < 1e-6, $"vs central differences: {r.MaxNumericalRelativeError}");
        Assert.All(r.Runs, x => Assert.True(x.LastLoss < x.FirstLoss));
        // One hidden unit gives a (nearly) straight boundary; five and more bend round the moons.
        Assert.True(r.Runs[0].TrainAccuracy < 0.9, $"hidden 1: {r.Runs[0].TrainAccuracy}");
        Assert.All(r.Runs.Skip(3), x => Assert.True(x.TrainAccuracy > 0.95 && x.ValidationAccuracy > 0.9, $"hidden {x.HiddenUnits}: {x.TrainAccuracy}, {x.ValidationAccuracy}"));
        var series = TwoLayerDemo.LossSeries(r.Runs);
        ChartsTests.AssertOneLegendEntryPerSeries(Charts.BuildLines(series, "t", "e", "l", integerX: true), series);
        Assert.All(series, s => Assert.Equal(TwoLayerDemo.Epochs + 1, s.Y.Length));
    }

    [Fact]
    public void DemoAllWritesAnIndexReferencingEveryPng()
    {
        string outDir = Path.Combine(dir, "all");
        var error = new StringWriter();
        int code = Program.Run(["demo", "all", "--out", outDir, "--fast"], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}\n{output}");
        string index = Path.Combine(outDir, DemoIndex.FileName);
        Assert.True(File.Exists(index));
        string html = File.ReadAllText(index);
        var pngs = Directory.GetFiles(outDir, "*.png", SearchOption.AllDirectories);
        Assert.True(pngs.Length >= 20, $"{pngs.Length} PNGs");
        foreach (var png in pngs) Assert.Contains($"src=\"{Path.GetRelativePath(outDir, png).Replace('\\', '/')}\"", html);
        // Every demo that wrote a figure has its section, under the notes' heading.
        foreach (var demo in DemoCatalog.All.Where(d => html.Contains($"nabla demo {d.Name}</code>", StringComparison.Ordinal)))
            Assert.Contains(DemoIndex.Encode(demo.Section ?? demo.Description), html);
        Assert.Contains("Note 004 §2.6: pooling", html);
        Assert.Contains(index, output.ToString());
    }

    [Fact]
    public void IndexIsBuiltFromTheCatalogEntriesSoNewDemosNeedNoChangesThere()
    {
        var demos = new List<DemoEntry>
        {
            new("first", "First <demo>", _ => { }, "Note 9: a section", "What the notes say."),
            new("plain", "A demo without notes metadata", _ => { }),
        };
        string outDir = Path.Combine(dir, "idx");
        var figures = new List<DemoFigure>
        {
            new("plain", Path.Combine(outDir, "b.png"), null),
            new("first", Path.Combine(outDir, "a.png"), "caption & more"),
            new(null, Path.Combine(outDir, "sub", "c d.png"), null),
        };
        string html = DemoIndex.Html(outDir, demos, figures);
        Assert.True(html.IndexOf("Note 9: a section", StringComparison.Ordinal) < html.IndexOf("A demo without notes metadata", StringComparison.Ordinal));
        Assert.Contains("<h2>A demo without notes metadata</h2>", html); // the description heads a demo without a section
        Assert.Contains("What the notes say.", html);
        Assert.Contains("First &lt;demo&gt;", html);
        Assert.Contains("caption &amp; more", html);
        Assert.Contains("src=\"a.png\"", html);
        Assert.Contains("src=\"b.png\"", html);
        Assert.Contains("src=\"sub/c%20d.png\"", html);
        Assert.Contains("Other figures", html);
    }

    [Fact]
    public void ConfusionTableHasTotalsPrecisionAndF1()
    {
        var m = new ConfusionMatrix(2);
        foreach (var (a, p, n) in new[] { (0, 0, 3), (0, 1, 1), (1, 0, 2), (1, 1, 4) })
            for (int i = 0; i < n; i++) m.Add(a, p);
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 200;
        console.Write(Render.Confusion(m, ["cat", "dog"]));
        var lines = writer.ToString().Split('\n');
        string Row(string head) => lines.Single(l => l.TrimStart('│', ' ').StartsWith(head, StringComparison.Ordinal));
        Assert.Contains("75.00%", Row("cat"));            // recall of cat: 3/4
        Assert.Contains("66.67%", Row("dog"));            // recall of dog: 4/6
        Assert.Matches(@"total\W+5\W+5\W+10", Row("total"));
        var precision = Row("precision");
        Assert.True(precision.IndexOf("60.00%", StringComparison.Ordinal) < precision.IndexOf("80.00%", StringComparison.Ordinal), precision); // 3/5, 4/5
        Assert.Contains("70.00%", precision);              // accuracy 7/10
        var f1 = Row("F1");
        Assert.Contains("66.67%", f1);                     // 2·0.6·0.75/1.35
        Assert.Contains("72.73%", f1);                     // 2·0.8·(2/3)/(0.8 + 2/3)
        Assert.Equal(2 * 0.6 * 0.75 / 1.35, m.F1(0), 12);
    }
}
