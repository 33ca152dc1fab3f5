using System.Globalization;
using Nabla.Training;
using ScottPlot;
using SkiaSharp;

namespace Nabla.Cli.Plots;

/// <summary>One named line of a <see cref="Charts.Lines"/> plot.</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Y">The values.</param>
/// <param name="X">The positions (default 0, 1, 2, …).</param>
/// <param name="Dashed">Draw the line dashed (e.g. a reference line such as a chord).</param>
/// <param name="PointsOnly">Draw markers only, no line (e.g. data points).</param>
/// <param name="Color">Palette index of the colour (default: the series' position), so that one method keeps one colour across the figures of a demo.</param>
/// <param name="Pattern">Line pattern (default solid, or dashed with <paramref name="Dashed"/>), to tell apart lines that overlap.</param>
/// <param name="Marker">Marker shape, drawn at every point when the series has at most 60 points (default: a circle at up to 40 points).</param>
/// <param name="Width">Line width in pixels (default 2).</param>
public sealed record Series(string Name, double[] Y, double[]? X = null, bool Dashed = false, bool PointsOnly = false,
    int? Color = null, LinePattern? Pattern = null, MarkerShape? Marker = null, float? Width = null);

/// <summary>
/// The PNG figures of the CLI, drawn with ScottPlot: training curves, a confusion-matrix heat map, the
/// decision boundary of a 2-D classifier and line plots (optionally on a logarithmic y axis). Every
/// method writes one PNG file (creating its folder) and returns its full path. Text uses the embedded
/// DejaVu Sans (<see cref="PlotFonts"/>), so figures look the same with or without system fonts.
/// </summary>
public static partial class Charts
{
    /// <summary>Default figure width in pixels.</summary>
    public const int Width = 900;

    /// <summary>Default figure height in pixels.</summary>
    public const int Height = 560;

    private static readonly Color[] palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"),
        Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"),
        Color.FromHex("#bcbd22"), Color.FromHex("#17becf"),
    ];

    /// <summary>The colour of series or class <paramref name="index"/> (a fixed 10-colour palette).</summary>
    public static Color ColorOf(int index) => palette[((index % palette.Length) + palette.Length) % palette.Length];

    // ------------------------------------------------------------------ training curves

    /// <summary>
    /// Loss (left) and accuracy (right) per epoch from <paramref name="history"/>, each with the
    /// training curve and, when the history has them, the validation curve.
    /// </summary>
    public static string TrainingCurves(History history, string path, string title = "Training")
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Epochs.Count == 0) throw new ArgumentException("TrainingCurves: the history has no epochs.", nameof(history));
        var epochs = history.Epochs.Select(e => (double)e.Epoch).ToArray();
        bool hasVal = history.Epochs.Any(e => e.ValidationLoss is not null);

        var loss = NewPlot($"{title}: loss", "epoch", "loss");
        AddLine(loss, new Series("training", history.Epochs.Select(e => e.Loss).ToArray(), epochs), 0);
        if (hasVal)
            AddLine(loss, new Series("validation", history.Epochs.Select(e => e.ValidationLoss ?? double.NaN).ToArray(), epochs), 1);
        FinishLinear(loss, epochs, integerX: true);

        var acc = NewPlot($"{title}: accuracy", "epoch", "accuracy (%)");
        AddLine(acc, new Series("training", history.Epochs.Select(e => 100 * e.Accuracy).ToArray(), epochs), 0);
        if (hasVal)
            AddLine(acc, new Series("validation", history.Epochs.Select(e => 100 * (e.ValidationAccuracy ?? double.NaN)).ToArray(), epochs), 1);
        FinishLinear(acc, epochs, integerX: true);
        acc.Legend.Alignment = Alignment.LowerRight;

        return SaveSideBySide([loss, acc], path, Width * 2 - 200, Height, hasVal ? ValidationNote : null);
    }

    /// <summary>The note under training curves with validation: why validation loss can lie below training loss.</summary>
    public const string ValidationNote =
        "Validation loss can lie below training loss: augmentation and dropout act only in training, and the training loss is averaged over an epoch in which the weights still improve.";

    /// <summary>
    /// The title of a training run's plots: the optimiser with its momentum and the schedule, e.g.
    /// "sgd momentum 0.9, cosine" for <c>--optimizer momentum --schedule cosine</c>.
    /// </summary>
    /// <param name="optimizer">The optimiser name of <c>--optimizer</c> (momentum = SGD with momentum, nesterov = SGD with Nesterov momentum).</param>
    /// <param name="momentum">The momentum in use, or null where the optimiser has none.</param>
    /// <param name="schedule">The learning-rate schedule.</param>
    public static string OptimizerTitle(string optimizer, float? momentum, string schedule)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(optimizer);
        string name = optimizer switch
        {
            "momentum" => "sgd",
            "nesterov" => "sgd nesterov",
            _ => optimizer,
        };
        if (momentum is float m && m != 0f) name += " momentum " + m.ToString("0.###", CultureInfo.InvariantCulture);
        return string.IsNullOrWhiteSpace(schedule) ? name : $"{name}, {schedule}";
    }

    // ------------------------------------------------------------------ confusion matrix

    /// <summary>
    /// The confusion matrix as a heat map: rows are the actual classes, columns the predicted ones, each
    /// cell shows its count, and its colour is the fraction of its row (so that rare classes show too).
    /// </summary>
    public static string ConfusionMatrix(ConfusionMatrix matrix, string path, string title = "Confusion matrix", IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        int c = matrix.Classes;
        if (classNames is not null && classNames.Count != c)
            throw new ArgumentException($"ConfusionMatrix: {classNames.Count} class names for {c} classes.", nameof(classNames));
        var fraction = new double[c, c];
        for (int i = 0; i < c; i++)
        {
            long row = 0;
            for (int j = 0; j < c; j++) row += matrix.Counts[i, j];
            for (int j = 0; j < c; j++) fraction[i, j] = row == 0 ? 0 : (double)matrix.Counts[i, j] / row;
        }

        string acc = double.IsNaN(matrix.Accuracy) ? "" : string.Create(CultureInfo.InvariantCulture, $" (accuracy {100 * matrix.Accuracy:0.0}%, {matrix.Total:N0} samples)");
        // The colour bar has no title of its own (ScottPlot draws it over the tick labels): the x label says what the colour is.
        var plot = NewPlot(title + acc, "predicted class   (colour: fraction of the actual class's row)", "actual class");
        // The y axis is inverted so that actual class i sits at y = i, top to bottom. A heat map draws its
        // row 0 at the top of its extent in pixels, which on this inverted axis is y = 0.
        var heat = plot.Add.Heatmap(fraction);
        heat.Colormap = new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues());
        // The extent of a heat map runs from the centre of its first cell to the centre of its last.
        heat.Extent = c == 1 ? new CoordinateRect(-0.5, 0.5, -0.5, 0.5) : new CoordinateRect(0, c - 1, 0, c - 1);
        heat.ManualRange = new ScottPlot.Range(0, 1);
        plot.Add.ColorBar(heat);

        float fontSize = c <= 10 ? 14 : c <= 20 ? 10 : 7;
        void Cell(string text, double x, double y, bool white = false, bool bold = false)
        {
            var t = plot.Add.Text(text, x, y);
            t.Alignment = Alignment.MiddleCenter;
            t.LabelFontSize = bold ? fontSize : fontSize - 1;
            t.LabelFontColor = white ? Colors.White : Colors.Black;
            t.LabelFontName = PlotFonts.Family;
            t.LabelBold = bold;
        }
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++)
                Cell(matrix.Counts[i, j].ToString(CultureInfo.InvariantCulture), j, i, white: fraction[i, j] > 0.5);

        // Margins: the total and recall of each actual class (right), the total and precision of each
        // predicted class (below), the number of samples in the corner.
        static string Pct(double v) => double.IsNaN(v) ? "–" : (100 * v).ToString("0.#", CultureInfo.InvariantCulture) + "%";
        for (int i = 0; i < c; i++)
        {
            long row = 0, col = 0;
            for (int j = 0; j < c; j++) { row += matrix.Counts[i, j]; col += matrix.Counts[j, i]; }
            Cell(row.ToString(CultureInfo.InvariantCulture), c, i);
            Cell(Pct(matrix.Recall(i)), c + 1, i);
            Cell(col.ToString(CultureInfo.InvariantCulture), i, c);
            Cell(Pct(matrix.Precision(i)), i, c + 1);
        }
        Cell(matrix.Total.ToString(CultureInfo.InvariantCulture), c, c, bold: true);
        Cell(Pct(matrix.Accuracy), c + 1, c + 1, bold: true);
        foreach (double at in new[] { c - 0.5, c + 0.5 })
        {
            var v = plot.Add.VerticalLine(at, 1, Colors.Gray);
            var h = plot.Add.HorizontalLine(at, 1, Colors.Gray);
            v.LabelText = h.LabelText = "";
        }

        var names = Enumerable.Range(0, c).Select(i => classNames?[i] ?? i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var positions = Enumerable.Range(0, c + 2).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. names, "total", "recall"]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. names, "total", "precision"]);
        plot.Axes.SetLimits(-0.5, c + 1.5, c + 1.5, -0.5);
        plot.HideGrid();
        int side = Math.Clamp(60 * (c + 2) + 220, 560, 1500);
        return Save(plot, path, side + 120, side);
    }

    // ------------------------------------------------------------------ decision boundary

    /// <summary>
    /// The decision boundary of a classifier of 2-D points: the plane is coloured by the model's score
    /// for class 1 (blue below ½, red above, the colour changing sharply at the boundary) with the
    /// points of <paramref name="data"/> on top, coloured by their class.
    /// </summary>
    /// <param name="classOneScore">Maps a batch of points [N, 2] to one score per point in [0, 1] (a probability or a 0/1 decision).</param>
    /// <param name="data">Points with sample shape [2] and labels.</param>
    /// <param name="path">The PNG to write.</param>
    /// <param name="title">The plot title.</param>
    /// <param name="resolution">Grid cells per axis.</param>
    /// <param name="scoreName">When given (e.g. "P(class 1)"), the score is a probability worth reading: a colour bar shows its scale.</param>
    public static string DecisionBoundary(Func<Tensor, float[]> classOneScore, Data.Dataset data, string path, string title = "Decision boundary", int resolution = 200,
        string? scoreName = null) =>
        Save(BuildDecisionBoundary(classOneScore, data, title, resolution, scoreName), path, scoreName is null ? 720 : 800, 640);

    /// <summary>
    /// The plot of <see cref="DecisionBoundary"/> without saving it. Points the model puts on the other
    /// side of ½ than their label are ringed and listed as "misclassified" in the legend, so a point
    /// that lies on the boundary shows on which side the model puts it.
    /// </summary>
    public static Plot BuildDecisionBoundary(Func<Tensor, float[]> classOneScore, Data.Dataset data, string title = "Decision boundary", int resolution = 200,
        string? scoreName = null)
    {
        ArgumentNullException.ThrowIfNull(classOneScore);
        ArgumentNullException.ThrowIfNull(data);
        if (data.SampleSize != 2) throw new ArgumentException($"DecisionBoundary: needs 2-D points, the data set has samples of {data.SampleSize} values.", nameof(data));
        ArgumentOutOfRangeException.ThrowIfLessThan(resolution, 2);

        double xMin = double.MaxValue, xMax = double.MinValue, yMin = double.MaxValue, yMax = double.MinValue;
        for (int i = 0; i < data.Count; i++)
        {
            var p = data.GetSample(i);
            xMin = Math.Min(xMin, p[0]); xMax = Math.Max(xMax, p[0]);
            yMin = Math.Min(yMin, p[1]); yMax = Math.Max(yMax, p[1]);
        }
        double padX = Math.Max(0.15 * (xMax - xMin), 0.25), padY = Math.Max(0.15 * (yMax - yMin), 0.25);
        xMin -= padX; xMax += padX; yMin -= padY; yMax += padY;

        // Row r of the grid is the r-th line from the top (y = yMax … yMin), column k runs left to right.
        int n = resolution;
        var grid = new float[n * n * 2];
        for (int r = 0; r < n; r++)
            for (int k = 0; k < n; k++)
            {
                int at = 2 * (r * n + k);
                grid[at] = (float)(xMin + (k + 0.5) * (xMax - xMin) / n);
                grid[at + 1] = (float)(yMax - (r + 0.5) * (yMax - yMin) / n);
            }
        var scores = classOneScore(new Tensor(grid, new Shape(n * n, 2)));
        if (scores.Length != n * n)
            throw new InvalidOperationException($"DecisionBoundary: the score function returned {scores.Length} values for {n * n} points.");
        var intensities = new double[n, n];
        for (int r = 0; r < n; r++)
            for (int k = 0; k < n; k++) intensities[r, k] = Math.Clamp((double)scores[r * n + k], 0, 1);

        var plot = NewPlot(title, scoreName is null ? "x₁" : $"x₁   (colour: {scoreName})", "x₂");
        var heat = plot.Add.Heatmap(intensities);
        heat.Colormap = new TwoClassColormap();
        heat.ManualRange = new ScottPlot.Range(0, 1);
        // The extent runs from the centre of the first cell to the centre of the last.
        double halfX = 0.5 * (xMax - xMin) / n, halfY = 0.5 * (yMax - yMin) / n;
        heat.Extent = new CoordinateRect(xMin + halfX, xMax - halfX, yMin + halfY, yMax - halfY);

        for (int cls = 0; cls < Math.Max(data.NumClasses, 2); cls++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < data.Count; i++)
            {
                if (data.Labels[i] != cls) continue;
                var p = data.GetSample(i);
                xs.Add(p[0]);
                ys.Add(p[1]);
            }
            if (xs.Count == 0) continue;
            var m = plot.Add.Markers(xs.ToArray(), ys.ToArray(), cls == 0 ? MarkerShape.FilledCircle : MarkerShape.FilledSquare,
                data.Count <= 50 ? 14 : data.Count <= 500 ? 8 : 5, cls == 0 ? TwoClassColormap.Blue : cls == 1 ? TwoClassColormap.Red : ColorOf(cls));
            m.MarkerLineColor = Colors.Black;
            m.MarkerLineWidth = 1;
            m.LegendText = $"class {cls}";
        }
        // The data points the model gets wrong (score on the other side of ½), ringed.
        var pointScores = classOneScore(data.ToTensor());
        var wrongX = new List<double>();
        var wrongY = new List<double>();
        for (int i = 0; i < data.Count && i < pointScores.Length; i++)
        {
            int predicted = pointScores[i] >= 0.5f ? 1 : 0;
            if (predicted == data.Labels[i] || data.Labels[i] > 1) continue;
            var p = data.GetSample(i);
            wrongX.Add(p[0]);
            wrongY.Add(p[1]);
        }
        if (wrongX.Count > 0)
        {
            var ring = plot.Add.Markers(wrongX.ToArray(), wrongY.ToArray(), MarkerShape.OpenCircle, data.Count <= 50 ? 26 : 14, Colors.Black);
            ring.MarkerLineWidth = 2;
            ring.LegendText = "misclassified";
        }
        if (scoreName is not null) plot.Add.ColorBar(heat);
        plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
        plot.HideGrid();
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>
    /// Turns model outputs into a class-1 score in [0, 1]: one column is taken as a probability when all
    /// values lie in [0, 1] (sigmoid outputs, 0/1 decisions) and squashed by a sigmoid otherwise (logits);
    /// two columns give the softmax probability of column 1.
    /// </summary>
    public static float[] ClassOneScore(Tensor output)
    {
        ArgumentNullException.ThrowIfNull(output);
        int rows = output.Shape[0];
        int cols = output.Length / Math.Max(rows, 1);
        var d = output.ToArray();
        var s = new float[rows];
        if (cols == 1)
        {
            bool probabilities = d.All(v => v is >= 0f and <= 1f);
            for (int i = 0; i < rows; i++) s[i] = probabilities ? d[i] : 1f / (1f + MathF.Exp(-d[i]));
            return s;
        }
        if (cols != 2) throw new ArgumentException($"ClassOneScore: needs 1 or 2 output columns, got {cols}.", nameof(output));
        for (int i = 0; i < rows; i++) s[i] = 1f / (1f + MathF.Exp(d[2 * i] - d[2 * i + 1]));
        return s;
    }

    // ------------------------------------------------------------------ line plots

    /// <summary>
    /// Several lines in one plot (<paramref name="integerX"/>: ticks only at whole numbers, e.g. epochs). With <paramref name="logY"/> the y axis is logarithmic (decades
    /// labelled 10ⁿ); values at or below zero are drawn at the bottom of the plot. A series that stops
    /// being finite, or exceeds <paramref name="clipAbove"/>, is drawn up to that point and marked there
    /// with an ✕ at the top of the plot, its legend saying where it diverged.
    /// </summary>
    public static string Lines(IReadOnlyList<Series> series, string path, string title, string xLabel, string yLabel,
        bool logY = false, double? clipAbove = null, int width = Width, int height = Height, Alignment legend = Alignment.UpperRight,
        bool integerX = false) =>
        Save(BuildLines(series, title, xLabel, yLabel, logY, clipAbove, legend, integerX), path, width, height);

    /// <summary>
    /// Several line plots side by side in one PNG (e.g. the loss and the weight that oscillates); each
    /// plot is built by <see cref="BuildLines"/>.
    /// </summary>
    public static string SideBySide(IReadOnlyList<Plot> plots, string path, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(plots);
        if (plots.Count == 0) throw new ArgumentException("SideBySide: no plots.", nameof(plots));
        return SaveSideBySide([.. plots], path, width, height);
    }

    /// <summary>
    /// The plot of <see cref="Lines"/> without saving it (for <see cref="SideBySide"/> and for tests that
    /// check its plottables and legend). Each series gives exactly one legend entry, in order.
    /// </summary>
    public static Plot BuildLines(IReadOnlyList<Series> series, string title, string xLabel, string yLabel,
        bool logY = false, double? clipAbove = null, Alignment legend = Alignment.UpperRight, bool integerX = false)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Count == 0) throw new ArgumentException("Lines: no series to plot.", nameof(series));
        var plot = NewPlot(title, xLabel, yLabel);

        // Where each series diverges (first non-finite or clipped value) and the finite range shown.
        var cut = new int[series.Count];
        double top = double.MinValue, bottom = double.MaxValue;
        for (int s = 0; s < series.Count; s++)
        {
            var y = series[s].Y;
            int k = 0;
            while (k < y.Length && double.IsFinite(y[k]) && !(clipAbove is double c && y[k] > c)) k++;
            cut[s] = k;
            for (int i = 0; i < k; i++)
            {
                if (logY && !(y[i] > 0)) continue;
                top = Math.Max(top, y[i]);
                bottom = Math.Min(bottom, y[i]);
            }
        }
        if (top == double.MinValue) { top = 1; bottom = logY ? 0.1 : 0; }
        bool anyDiverged = series.Select((s, i) => cut[i] < s.Y.Length).Any(d => d);
        double markLevel = clipAbove is double clip && anyDiverged ? clip : top;
        if (anyDiverged) top = Math.Max(top, markLevel);
        double floor = logY ? bottom : double.NegativeInfinity;

        var allX = new List<double>();
        for (int s = 0; s < series.Count; s++)
        {
            var src = series[s];
            var x = src.X ?? Enumerable.Range(0, src.Y.Length).Select(i => (double)i).ToArray();
            if (x.Length != src.Y.Length) throw new ArgumentException($"Lines: series '{src.Name}' has {x.Length} x values for {src.Y.Length} y values.", nameof(series));
            int k = cut[s];
            var xs = x[..k];
            var ys = src.Y[..k].Select(v => logY ? Math.Log10(Math.Max(v, floor)) : v).ToArray();
            allX.AddRange(x);
            string name = src.Name;
            if (k < src.Y.Length)
            {
                name += string.Create(CultureInfo.InvariantCulture, $" (diverged at {x[k]:0.###})");
                double markY = logY ? Math.Log10(markLevel) : markLevel;
                var mark = plot.Add.Marker(x[k], markY, MarkerShape.Eks, 14, ColorOf(src.Color ?? s));
                mark.MarkerLineWidth = 3;
                if (k > 0)
                {
                    // Connect the last finite point to the mark so the blow-up is visible.
                    var jump = plot.Add.Line(xs[^1], ys[^1], x[k], markY);
                    jump.LineColor = ColorOf(src.Color ?? s);
                    jump.LinePattern = LinePattern.Dotted;
                    jump.LineWidth = 2;
                }
            }
            AddLine(plot, src with { Name = name, Y = ys, X = xs }, s);
        }

        if (integerX && plot.Axes.Bottom.TickGenerator is ScottPlot.TickGenerators.NumericAutomatic auto) auto.IntegerTicksOnly = true;
        if (allX.Count > 0) plot.Axes.SetLimitsX(allX.Min(), allX.Max());
        if (logY)
        {
            double lo = Math.Log10(bottom), hi = Math.Log10(top);
            double pad = Math.Max(0.05 * (hi - lo), 0.1);
            plot.Axes.SetLimitsY(lo - pad, hi + pad);
            UseLogTicks(plot.Axes.Left, lo - pad, hi + pad);
        }
        else
        {
            double pad = Math.Max(0.05 * (top - bottom), 1e-9);
            plot.Axes.SetLimitsY(bottom - pad, top + pad);
        }
        plot.ShowLegend(legend);
        plot.Legend.SymbolWidth = 40; // long enough to show a dash or dot pattern
        return plot;
    }

    /// <summary>One line y over x (the single-series case of <see cref="Lines"/>).</summary>
    public static string Line(double[] x, double[] y, string path, string title, string xLabel, string yLabel, bool logY = false) =>
        Lines([new Series(yLabel, y, x)], path, title, xLabel, yLabel, logY);

    // ------------------------------------------------------------------ helpers

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        PlotFonts.Install();
        var plot = new Plot();
        plot.Font.Set(PlotFonts.Family, FontWeight.Normal, FontSlant.Upright, FontSpacing.Normal);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.Legend.FontName = PlotFonts.Family;
        return plot;
    }

    private static void AddLine(Plot plot, Series s, int index)
    {
        var x = s.X ?? Enumerable.Range(0, s.Y.Length).Select(i => (double)i).ToArray();
        var line = plot.Add.ScatterLine(x, s.Y, ColorOf(s.Color ?? index));
        line.LineWidth = s.PointsOnly ? 0 : s.Width ?? 2;
        line.MarkerSize = s.PointsOnly ? 9 : s.Marker is not null && s.Y.Length <= 60 ? 8 : s.Marker is null && s.Y.Length <= 40 ? 6 : 0;
        if (s.Marker is MarkerShape shape) line.MarkerShape = shape;
        line.LegendText = s.Name;
        if (s.Pattern is LinePattern pattern) line.LinePattern = pattern;
        else if (s.Dashed) line.LinePattern = LinePattern.Dashed;
    }

    private static void FinishLinear(Plot plot, double[] epochs, bool integerX)
    {
        if (integerX && plot.Axes.Bottom.TickGenerator is ScottPlot.TickGenerators.NumericAutomatic auto) auto.IntegerTicksOnly = true;
        if (epochs.Length == 1) plot.Axes.SetLimitsX(epochs[0] - 1, epochs[0] + 1);
        plot.ShowLegend(Alignment.UpperRight);
    }

    // A log10 axis: the data are plotted as log10(y). Over many decades the ticks sit on whole decades
    // and read 10ⁿ; over a few (fewer than 3 labelled decades) they sit at 1, 2 and 5 × 10ⁿ as well, so
    // that the axis can be read.
    private static void UseLogTicks(IAxis axis, double lo, double hi)
    {
        var ticks = LogTicks(lo, hi);
        if (ticks.Count >= 4 && Math.Floor(hi) - Math.Ceiling(lo) < 2)
        {
            var manual = new ScottPlot.TickGenerators.NumericManual();
            foreach (var (at, label) in ticks) manual.AddMajor(at, label);
            for (int e = (int)Math.Floor(lo); e <= (int)Math.Ceiling(hi); e++)
                for (int m = 1; m <= 9; m++)
                {
                    double at = e + Math.Log10(m);
                    if (at >= lo && at <= hi && m is not (1 or 2 or 5)) manual.AddMinor(at);
                }
            axis.TickGenerator = manual;
            return;
        }
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            IntegerTicksOnly = true,
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            LabelFormatter = DecadeLabel,
        };
    }

    /// <summary>
    /// Ticks at 1, 2 and 5 × 10ⁿ between the log10 positions <paramref name="lo"/> and <paramref name="hi"/>:
    /// (log10 of the value, its label, e.g. "0.2").
    /// </summary>
    public static IReadOnlyList<(double At, string Label)> LogTicks(double lo, double hi)
    {
        var ticks = new List<(double, string)>();
        for (int e = (int)Math.Floor(lo); e <= (int)Math.Ceiling(hi); e++)
            foreach (int m in new[] { 1, 2, 5 })
            {
                double at = e + Math.Log10(m);
                if (at < lo - 1e-9 || at > hi + 1e-9) continue;
                double v = m * Math.Pow(10, e);
                string label = e is >= -4 and <= 4 ? v.ToString("0.####", CultureInfo.InvariantCulture) : m == 1 ? DecadeLabel(e) : $"{m}·{DecadeLabel(e)}";
                ticks.Add((at, label));
            }
        return ticks;
    }

    /// <summary>The label of the decade 10^<paramref name="exponent"/>: 0.01, 0.1, 1, 10, 100, else 10ⁿ with a superscript.</summary>
    public static string DecadeLabel(double exponent)
    {
        int e = (int)Math.Round(exponent);
        if (e is >= -2 and <= 2) return Math.Pow(10, e).ToString("0.##", CultureInfo.InvariantCulture);
        const string digits = "⁰¹²³⁴⁵⁶⁷⁸⁹";
        var sup = string.Concat(Math.Abs(e).ToString(CultureInfo.InvariantCulture).Select(ch => digits[ch - '0']));
        return "10" + (e < 0 ? "⁻" : "") + sup;
    }

    private static string Save(Plot plot, string path, int width, int height)
    {
        string full = PrepareFile(path);
        plot.SavePng(full, width, height);
        return full;
    }

    // Several plots next to each other in one PNG.
    // With a note, the plots leave a strip at the bottom where it is written.
    private static string SaveSideBySide(Plot[] plots, string path, int width, int height, string? note = null)
    {
        string full = PrepareFile(path);
        var info = new SKImageInfo(width, height);
        using (var surface = SKSurface.Create(info))
        {
            surface.Canvas.Clear(SKColors.White);
            int strip = note is null ? 0 : 30;
            if (note is not null)
            {
                using var typeface = ScottPlot.Fonts.FontResolvers[0].CreateTypeface(PlotFonts.Family, false, true);
                using var font = new SKFont(typeface ?? SKTypeface.Default, 15);
                using var paint = new SKPaint { Color = SKColors.DimGray, IsAntialias = true };
                surface.Canvas.DrawText(note, 20, height - 10, SKTextAlign.Left, font, paint);
            }
            // Each plot paints its whole canvas, so each gets its own surface, copied into place.
            int w = width / plots.Length;
            for (int i = 0; i < plots.Length; i++)
            {
                using var part = SKSurface.Create(new SKImageInfo(w, height - strip));
                plots[i].Render(part);
                using var snapshot = part.Snapshot();
                surface.Canvas.DrawImage(snapshot, i * w, 0);
            }
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(full);
            png.SaveTo(file);
        }
        return full;
    }

    private static string PrepareFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        return full;
    }

    /// <summary>Blue for class 0, red for class 1, pale near the boundary and a sharp change at ½.</summary>
    private sealed class TwoClassColormap : IColormap
    {
        public static readonly Color Blue = Color.FromHex("#1f5fbf");
        public static readonly Color Red = Color.FromHex("#c8322d");
        private static readonly Color paleBlue = Color.FromHex("#dce8f7");
        private static readonly Color midBlue = Color.FromHex("#8fb3e3");
        private static readonly Color paleRed = Color.FromHex("#f9dedc");
        private static readonly Color midRed = Color.FromHex("#eb9a96");

        public string Name => "two-class";

        public Color GetColor(double position)
        {
            if (double.IsNaN(position)) return Colors.Gray;
            double p = Math.Clamp(position, 0, 1);
            // Certain regions are the mid tone; uncertain ones (near ½) are pale.
            return p < 0.5 ? Mix(midBlue, paleBlue, p / 0.5) : Mix(paleRed, midRed, (p - 0.5) / 0.5);
        }

        private static Color Mix(Color a, Color b, double t) => new(
            (byte)Math.Round(a.R + (b.R - a.R) * t), (byte)Math.Round(a.G + (b.G - a.G) * t), (byte)Math.Round(a.B + (b.B - a.B) * t));
    }
}
