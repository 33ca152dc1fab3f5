using Nabla.Cli.Plots;
using Nabla.Data;
using Nabla.Training;

namespace Nabla.Tests.Plots;

/// <summary>Every chart renders to a complete PNG of the expected size, with text in the embedded font.</summary>
public sealed class ChartsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("nabla-plots-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private static History SampleHistory(bool validation)
    {
        var h = new History();
        for (int e = 1; e <= 8; e++)
            h.Epochs.Add(new EpochResult(e, 2.0 / e, 1 - 0.5 / e, validation ? 2.2 / e : null, validation ? 1 - 0.6 / e : null, 0.1f, 0.5));
        return h;
    }

    [Fact]
    public void TrainingCurvesAreTwoPanelsSideBySide()
    {
        string path = Charts.TrainingCurves(SampleHistory(validation: true), Path.Combine(dir, "curves.png"), "test");
        var (w, h) = PngFile.AssertValid(path, 20 * 1024);
        Assert.Equal(2 * Charts.Width - 200, w);
        Assert.Equal(Charts.Height, h);
    }

    [Fact]
    public void TrainingCurvesWithoutValidationAndOneEpoch()
    {
        var h = new History();
        h.Epochs.Add(new EpochResult(1, 0.5, 0.8, null, null, 0.1f, 1));
        PngFile.AssertValid(Charts.TrainingCurves(h, Path.Combine(dir, "one.png")));
        Assert.Throws<ArgumentException>(() => Charts.TrainingCurves(new History(), Path.Combine(dir, "none.png")));
    }

    [Fact]
    public void ConfusionMatrixHeatMapWithCounts()
    {
        var cm = new ConfusionMatrix(10);
        var rng = new Random(3);
        for (int i = 0; i < 1000; i++)
        {
            int a = rng.Next(10);
            cm.Add(a, rng.NextDouble() < 0.8 ? a : rng.Next(10));
        }
        var (w, h) = PngFile.AssertValid(Charts.ConfusionMatrix(cm, Path.Combine(dir, "sub", "cm.png")), 20 * 1024);
        Assert.True(w > h && h >= 520, $"{w}x{h}");

        var two = new ConfusionMatrix(2);
        two.Add(0, 0);
        two.Add(1, 0);
        PngFile.AssertValid(Charts.ConfusionMatrix(two, Path.Combine(dir, "cm2.png"), "two", ["dark", "bright"]));
        Assert.Throws<ArgumentException>(() => Charts.ConfusionMatrix(two, Path.Combine(dir, "bad.png"), "x", ["only one"]));
    }

    [Fact]
    public void DecisionBoundaryOfA2DClassifier()
    {
        var data = Synthetic.Spirals(50, 0.05, seed: 2);
        int calls = 0;
        string path = Charts.DecisionBoundary(x =>
        {
            calls++;
            var d = x.ToArray();
            return Enumerable.Range(0, x.Shape[0]).Select(i => d[2 * i] > 0 ? 1f : 0f).ToArray();
        }, data, Path.Combine(dir, "db.png"), resolution: 100);
        Assert.Equal(2, calls); // the whole grid in one batch, then the data points (to ring the misclassified ones)
        Assert.Equal((720, 640), PngFile.AssertValid(path, 10 * 1024));

        Assert.Throws<ArgumentException>(() => Charts.DecisionBoundary(x => [], Synthetic.BrightDark(10, 1), Path.Combine(dir, "x.png")));
        Assert.Throws<InvalidOperationException>(() => Charts.DecisionBoundary(x => new float[3], data, Path.Combine(dir, "y.png")));
    }

    [Fact]
    public void LogScaleLinesMarkDivergenceInsteadOfPlottingInfinity()
    {
        var x = Enumerable.Range(0, 101).Select(i => (double)i).ToArray();
        var series = new List<Series>
        {
            new("decays", x.Select(i => Math.Exp(-i / 10)).ToArray(), x),
            new("reaches zero", x.Select(i => i < 50 ? 1.0 / (i + 1) : 0.0).ToArray(), x),
            new("diverges", x.Select(i => i < 20 ? Math.Exp(i) : double.PositiveInfinity).ToArray(), x),
            new("NaN", x.Select(i => i < 30 ? 1.0 : double.NaN).ToArray(), x),
        };
        var (w, h) = PngFile.AssertValid(Charts.Lines(series, Path.Combine(dir, "log.png"), "log", "iteration", "loss", logY: true, clipAbove: 1e4));
        Assert.Equal((Charts.Width, Charts.Height), (w, h));
        Assert.Throws<ArgumentException>(() => Charts.Lines([], Path.Combine(dir, "none.png"), "t", "x", "y"));
        Assert.Throws<ArgumentException>(() => Charts.Lines([new Series("bad", [1, 2], [1])], Path.Combine(dir, "bad.png"), "t", "x", "y"));
    }

    [Fact]
    public void SimpleLineAndDashedChord()
    {
        var t = Enumerable.Range(0, 51).Select(i => i / 50.0).ToArray();
        PngFile.AssertValid(Charts.Line(t, t.Select(v => v * v).ToArray(), Path.Combine(dir, "line.png"), "square", "t", "t²"));
        PngFile.AssertValid(Charts.Lines(
            [new Series("f", t.Select(Math.Sin).ToArray(), t), new Series("chord", [0, Math.Sin(1)], [0, 1], Dashed: true),
             new Series("points", [0.1, 0.2], [0.3, 0.6], PointsOnly: true)],
            Path.Combine(dir, "chord.png"), "chord", "t", "f", width: 500, height: 300), minBytes: 4 * 1024);
    }

    [Fact]
    public void TextUsesTheEmbeddedFontWhateverTheSystemHas()
    {
        PlotFonts.Install();
        PlotFonts.Install(); // idempotent
        Assert.Equal(PlotFonts.Family, ScottPlot.Fonts.Default);
        using var regular = ScottPlot.Fonts.FontResolvers[0].CreateTypeface(PlotFonts.Family, false, false);
        using var bold = ScottPlot.Fonts.FontResolvers[0].CreateTypeface(PlotFonts.Family, true, false);
        Assert.NotNull(regular);
        Assert.NotNull(bold);
        Assert.Equal("DejaVu Sans", regular!.FamilyName);
        Assert.True(bold!.FontStyle.Weight > regular.FontStyle.Weight);
        // The glyphs the plots use: Greek, subscripts, superscripts, minus, arrows.
        foreach (char c in "ηαβ₁₂ⁿ⁻¹⁰−→½∇")
            Assert.True(regular.ContainsGlyph(c), $"DejaVu Sans has no glyph for '{c}'");
        Assert.Null(ScottPlot.Fonts.FontResolvers[0].CreateTypeface("Some Other Font", false, false));
    }

    [Theory]
    [InlineData(-6, "10⁻⁶")]
    [InlineData(-3, "10⁻³")]
    [InlineData(-2, "0.01")]
    [InlineData(0, "1")]
    [InlineData(2, "100")]
    [InlineData(3, "10³")]
    [InlineData(12, "10¹²")]
    public void DecadeLabels(double exponent, string label) => Assert.Equal(label, Charts.DecadeLabel(exponent));

    [Fact]
    public void ClassOneScoreFromProbabilitiesLogitsAndTwoColumns()
    {
        Assert.Equal([0f, 1f, 0.25f], Charts.ClassOneScore(Tensor.FromArray([0f, 1f, 0.25f], 3, 1)));
        var logits = Charts.ClassOneScore(Tensor.FromArray([-10f, 0f, 10f], 3, 1));
        Assert.True(logits[0] < 0.001f && Math.Abs(logits[1] - 0.5f) < 1e-6f && logits[2] > 0.999f);
        var two = Charts.ClassOneScore(Tensor.FromArray([0f, 0f, 2f, -2f], 2, 2));
        Assert.Equal(0.5f, two[0], 1e-6f);
        Assert.True(two[1] < 0.02f);
        Assert.Throws<ArgumentException>(() => Charts.ClassOneScore(Tensor.Zeros(2, 3)));
    }

    /// <summary>The legend texts of a plot, in order (empty texts are not legend entries).</summary>
    internal static List<string> LegendLabels(ScottPlot.Plot plot) =>
        plot.GetPlottables().SelectMany(p => p.LegendItems).Select(i => i.LabelText).Where(t => !string.IsNullOrEmpty(t)).ToList();

    /// <summary>Each series is one line with one legend entry (its name, maybe with a divergence note), in order, in its style.</summary>
    internal static void AssertOneLegendEntryPerSeries(ScottPlot.Plot plot, IReadOnlyList<Series> series)
    {
        var labels = LegendLabels(plot);
        Assert.Equal(series.Count, labels.Count);
        var lines = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(series.Count, lines.Count);
        for (int i = 0; i < series.Count; i++)
        {
            Assert.StartsWith(series[i].Name, labels[i]);
            Assert.Equal(labels[i], lines[i].LegendText);
            Assert.Equal(Charts.ColorOf(series[i].Color ?? i), lines[i].LineColor);
            if (series[i].Pattern is ScottPlot.LinePattern p) Assert.Equal(p, lines[i].LinePattern);
        }
    }

    [Fact]
    public void LinesHaveOneLegendEntryPerSeriesWithItsStyle()
    {
        var x = Enumerable.Range(0, 10).Select(i => (double)i).ToArray();
        var series = new List<Series>
        {
            new("a", x.Select(v => v + 1).ToArray(), x, Color: 3, Pattern: ScottPlot.LinePattern.Dotted, Marker: ScottPlot.MarkerShape.OpenSquare),
            new("b", x.Select(v => Math.Exp(v)).ToArray(), x),
            new("chord", [1, 10], [0, 9], Dashed: true),
        };
        var plot = Charts.BuildLines(series, "t", "x", "y", logY: true, clipAbove: 1e3);
        AssertOneLegendEntryPerSeries(plot, series);
        Assert.Equal("b (diverged at 7)", LegendLabels(plot)[1]);
        var lines = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(ScottPlot.MarkerShape.OpenSquare, lines[0].MarkerShape);
        Assert.Equal(ScottPlot.LinePattern.Dashed, lines[2].LinePattern);
    }

    [Fact]
    public void ShortLogAxesAreLabelledAtOneTwoAndFive()
    {
        var ticks = Charts.LogTicks(Math.Log10(0.04), Math.Log10(2.5));
        Assert.Equal(["0.05", "0.1", "0.2", "0.5", "1", "2"], ticks.Select(t => t.Label));
        Assert.Equal(Math.Log10(0.2), ticks[2].At, 12);
        Assert.Equal(["2·10⁵", "5·10⁵", "10⁶"], Charts.LogTicks(Math.Log10(1.5e5), 6).Select(t => t.Label));
    }

    [Theory]
    [InlineData("momentum", 0.9f, "cosine", "sgd momentum 0.9, cosine")]
    [InlineData("nesterov", 0.95f, "step", "sgd nesterov momentum 0.95, step")]
    [InlineData("sgd", null, "constant", "sgd, constant")]
    [InlineData("adam", null, "cosine", "adam, cosine")]
    [InlineData("rmsprop", 0.5f, "plateau", "rmsprop momentum 0.5, plateau")]
    public void TrainingTitleNamesOptimizerMomentumAndSchedule(string optimizer, float? momentum, string schedule, string title) =>
        Assert.Equal(title, Charts.OptimizerTitle(optimizer, momentum, schedule));

    [Fact]
    public void DecisionBoundaryRingsMisclassifiedPointsAndShowsAColourBarForProbabilities()
    {
        var xor = Synthetic.Xor();
        // A line through (1, 0) and (1, 1): class 1 for x₁ ≥ 1, so (0,1) and (1,1) are wrong.
        var plot = Charts.BuildDecisionBoundary(x =>
        {
            var d = x.ToArray();
            return Enumerable.Range(0, x.Shape[0]).Select(i => d[2 * i] >= 1f ? 1f : 0f).ToArray();
        }, xor, resolution: 20);
        Assert.Equal(["class 0", "class 1", "misclassified"], LegendLabels(plot));
        var ring = plot.GetPlottables().OfType<ScottPlot.Plottables.Markers>().Single(m => m.LegendText == "misclassified");
        Assert.Equal([(0.0, 1.0), (1.0, 1.0)], ring.Data.GetScatterPoints().Select(c => (c.X, c.Y)).Order());

        string path = Charts.DecisionBoundary(x => Enumerable.Repeat(0.3f, x.Shape[0]).ToArray(), xor, Path.Combine(dir, "p.png"), resolution: 20, scoreName: "P(class 1)");
        Assert.Equal((800, 640), PngFile.AssertValid(path));
    }
}
