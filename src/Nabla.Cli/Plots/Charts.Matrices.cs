using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace Nabla.Cli.Plots;

/// <summary>A cell of a <see cref="Charts.BuildMatrix"/> plot to outline (e.g. the maximum of a pooling window).</summary>
/// <param name="Row">Row (0 = top).</param>
/// <param name="Column">Column (0 = left).</param>
/// <param name="Color">Palette index of the outline's colour.</param>
public sealed record CellMark(int Row, int Column, int Color = 3);

public static partial class Charts
{
    /// <summary>
    /// A matrix as a heat map with row 0 at the top, each cell's value written in it with
    /// <paramref name="format"/> (null: no numbers, e.g. for images). NaN cells are left white and
    /// empty (cells outside a table's band). <paramref name="marks"/> outlines cells.
    /// </summary>
    /// <param name="values">The matrix [rows, columns].</param>
    /// <param name="title">The plot title.</param>
    /// <param name="format">Number format of the cell texts, or null for none.</param>
    /// <param name="rowLabels">Tick labels of the rows (default 0, 1, …).</param>
    /// <param name="columnLabels">Tick labels of the columns (default 0, 1, …).</param>
    /// <param name="xLabel">Label of the x axis (the columns).</param>
    /// <param name="yLabel">Label of the y axis (the rows).</param>
    /// <param name="colormap">Colour map (default: white to blue).</param>
    /// <param name="range">Values mapped to the ends of the colour map (default: the finite minimum and maximum).</param>
    /// <param name="marks">Cells to outline.</param>
    /// <param name="cellText">Texts that replace the formatted values where not null.</param>
    /// <param name="colorBar">Whether to show a colour bar.</param>
    public static Plot BuildMatrix(double[,] values, string title, string? format = "0.###", IReadOnlyList<string>? rowLabels = null,
        IReadOnlyList<string>? columnLabels = null, string xLabel = "", string yLabel = "", IColormap? colormap = null,
        (double Min, double Max)? range = null, IReadOnlyList<CellMark>? marks = null, string?[,]? cellText = null, bool colorBar = false)
    {
        ArgumentNullException.ThrowIfNull(values);
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (rows == 0 || cols == 0) throw new ArgumentException("BuildMatrix: the matrix is empty.", nameof(values));
        if (rowLabels is not null && rowLabels.Count != rows) throw new ArgumentException($"BuildMatrix: {rowLabels.Count} row labels for {rows} rows.", nameof(rowLabels));
        if (columnLabels is not null && columnLabels.Count != cols) throw new ArgumentException($"BuildMatrix: {columnLabels.Count} column labels for {cols} columns.", nameof(columnLabels));
        if (cellText is not null && (cellText.GetLength(0) != rows || cellText.GetLength(1) != cols))
            throw new ArgumentException($"BuildMatrix: cell texts [{cellText.GetLength(0)}, {cellText.GetLength(1)}] for a matrix [{rows}, {cols}].", nameof(cellText));

        var plot = NewPlot(title, xLabel, yLabel);
        double lo = double.MaxValue, hi = double.MinValue;
        foreach (double v in values)
            if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (lo == double.MaxValue) { lo = 0; hi = 1; }
        var (min, max) = range ?? (lo, hi > lo ? hi : lo + 1);

        // As in ConfusionMatrix: the y axis is inverted so that row i sits at y = i, top to bottom, and
        // the extent runs from the centre of the first cell to the centre of the last.
        var heat = plot.Add.Heatmap(values);
        heat.Colormap = colormap ?? new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Blues());
        heat.ManualRange = new ScottPlot.Range(min, max);
        heat.NaNCellColor = Colors.White;
        heat.Extent = new CoordinateRect(cols == 1 ? -0.5 : 0, cols == 1 ? 0.5 : cols - 1, rows == 1 ? -0.5 : 0, rows == 1 ? 0.5 : rows - 1);
        if (colorBar) plot.Add.ColorBar(heat);

        if (format is not null || cellText is not null)
        {
            float fontSize = Math.Max(cols, rows) <= 6 ? 16 : Math.Max(cols, rows) <= 10 ? 12 : 9;
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    double v = values[r, c];
                    string? text = cellText?[r, c] ?? (format is null || double.IsNaN(v) ? null : v.ToString(format, CultureInfo.InvariantCulture));
                    if (string.IsNullOrEmpty(text)) continue;
                    var t = plot.Add.Text(text, c, r);
                    t.Alignment = Alignment.MiddleCenter;
                    t.LabelFontSize = fontSize;
                    t.LabelFontName = PlotFonts.Family;
                    // White text on dark cells, whichever end of the colour map is dark.
                    double at = double.IsFinite(v) && max > min ? Math.Clamp((v - min) / (max - min), 0, 1) : 0;
                    var cell = double.IsFinite(v) ? heat.Colormap.GetColor(at) : Colors.White;
                    t.LabelFontColor = 0.299 * cell.R + 0.587 * cell.G + 0.114 * cell.B < 128 ? Colors.White : Colors.Black;
                }
        }
        foreach (var m in marks ?? [])
        {
            if ((uint)m.Row >= (uint)rows || (uint)m.Column >= (uint)cols)
                throw new ArgumentOutOfRangeException(nameof(marks), $"BuildMatrix: mark ({m.Row}, {m.Column}) outside the matrix [{rows}, {cols}].");
            var rect = plot.Add.Rectangle(m.Column - 0.45, m.Column + 0.45, m.Row - 0.45, m.Row + 0.45);
            rect.FillStyle.Color = Colors.Transparent;
            rect.LineStyle.Color = ColorOf(m.Color);
            rect.LineStyle.Width = 3;
        }

        // A tick per row and column, or per k-th where there are too many to read.
        int rowStep = (rows + 15) / 16, colStep = (cols + 23) / 24;
        var colTicks = Enumerable.Range(0, cols).Where(i => i % colStep == 0).ToArray();
        var rowTicks = Enumerable.Range(0, rows).Where(i => i % rowStep == 0).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(colTicks.Select(i => (double)i).ToArray(),
            colTicks.Select(i => columnLabels?[i] ?? i.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(rowTicks.Select(i => (double)i).ToArray(),
            rowTicks.Select(i => rowLabels?[i] ?? i.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.SetLimits(-0.5, cols - 0.5, rows - 0.5, -0.5);
        plot.HideGrid();
        return plot;
    }

    /// <summary>An image (values in [0, 1], 1 = ink) as a grey heat map without numbers or ticks.</summary>
    public static Plot BuildImage(double[,] pixels, string title, (double Min, double Max)? range = null)
    {
        var plot = BuildMatrix(pixels, title, format: null, colormap: new ScottPlot.Colormaps.Reversed(new ScottPlot.Colormaps.Grayscale()), range: range ?? (0, 1));
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
        return plot;
    }

    /// <summary>
    /// Several plots in a grid of <paramref name="columns"/> columns (row by row) in one PNG, each
    /// <paramref name="panelWidth"/> × <paramref name="panelHeight"/> pixels; an optional
    /// <paramref name="note"/> is written under them.
    /// </summary>
    public static string Panels(IReadOnlyList<Plot> plots, string path, int columns, int panelWidth, int panelHeight, string? note = null)
    {
        ArgumentNullException.ThrowIfNull(plots);
        if (plots.Count == 0) throw new ArgumentException("Panels: no plots.", nameof(plots));
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(panelWidth, 50);
        ArgumentOutOfRangeException.ThrowIfLessThan(panelHeight, 50);
        columns = Math.Min(columns, plots.Count);
        int rows = (plots.Count + columns - 1) / columns;
        int strip = note is null ? 0 : 30;
        string full = PrepareFile(path);
        using (var surface = SKSurface.Create(new SKImageInfo(columns * panelWidth, rows * panelHeight + strip)))
        {
            surface.Canvas.Clear(SKColors.White);
            for (int i = 0; i < plots.Count; i++)
            {
                using var part = SKSurface.Create(new SKImageInfo(panelWidth, panelHeight));
                plots[i].Render(part);
                using var snapshot = part.Snapshot();
                surface.Canvas.DrawImage(snapshot, i % columns * panelWidth, i / columns * panelHeight);
            }
            if (note is not null)
            {
                using var typeface = ScottPlot.Fonts.FontResolvers[0].CreateTypeface(PlotFonts.Family, false, true);
                using var font = new SKFont(typeface ?? SKTypeface.Default, 15);
                using var paint = new SKPaint { Color = SKColors.DimGray, IsAntialias = true };
                surface.Canvas.DrawText(note, 20, rows * panelHeight + strip - 10, SKTextAlign.Left, font, paint);
            }
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            using var file = File.Create(full);
            png.SaveTo(file);
        }
        return full;
    }

    /// <summary>Saves one plot built by a Build… method as a PNG.</summary>
    public static string SavePlot(Plot plot, string path, int width = Width, int height = Height)
    {
        ArgumentNullException.ThrowIfNull(plot);
        return Save(plot, path, width, height);
    }
}
