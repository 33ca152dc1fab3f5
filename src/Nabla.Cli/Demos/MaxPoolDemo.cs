using Nabla.Cli.Plots;
using ScottPlot;

namespace Nabla.Cli.Demos;

/// <summary>The figures of <see cref="MaxPoolDemo"/>.</summary>
/// <param name="Input">The notes' 6×6 input.</param>
/// <param name="Output">Nabla's 2×2 max pooling of it (3×3).</param>
/// <param name="GradOutput">The delta fed back into the pooling (δY).</param>
/// <param name="GradInput">The delta Nabla's backward pass routes to the input (δX).</param>
public sealed record MaxPoolDemoResult(double[,] Input, double[,] Output, double[,] GradOutput, double[,] GradInput);

/// <summary>
/// Note 004 §2.6: the 6×6 matrix max-pooled with 2×2 windows and stride 2 into 3×3, and the backward
/// pass that gives each window's delta to the element that was its maximum (δxᵢ = δy where xᵢ is the
/// maximum, 0 elsewhere).
/// </summary>
public static class MaxPoolDemo
{
    /// <summary>The notes' input.</summary>
    public static readonly float[,] NotesInput =
    {
        { 4, 1, 1, 3, 3, 4 },
        { 8, 6, 0, 5, 2, 2 },
        { 0, 6, 9, 5, 1, 8 },
        { 4, 8, 5, 7, 4, 2 },
        { 9, 8, 5, 9, 3, 0 },
        { 3, 6, 7, 4, 7, 5 },
    };

    /// <summary>The notes' result.</summary>
    public static readonly float[,] NotesOutput = { { 8, 5, 4 }, { 8, 9, 8 }, { 9, 9, 7 } };

    /// <summary>Runs the demo: prints the notes' and Nabla's output and the routed deltas, writes maxpool.png.</summary>
    public static MaxPoolDemoResult Run(DemoRun run)
    {
        run.Heading("Max pooling 6×6 → 3×3 (note 004, §2.6)");
        var x = Tensor.FromArray(NotesInput).Reshape(1, 1, 6, 6);
        x.RequiresGrad = true;
        var (y, indices) = Ops.MaxPool2dWithIndices(x, (2, 2));
        // δY = 1 … 9, so that the routing of each window's delta can be read off δX.
        var dy = Tensor.FromArray(Enumerable.Range(1, 9).Select(v => (float)v).ToArray(), 1, 1, 3, 3);
        y.Backward(dy);

        var input = ToMatrix(NotesInput);
        var output = ToMatrix(y.ToArray(), 3, 3);
        var gradOut = ToMatrix(dy.ToArray(), 3, 3);
        var gradIn = ToMatrix(x.Grad!.ToArray(), 6, 6);
        var idx = indices.ToArray();

        run.Line("2×2 windows, stride 2:");
        run.Line($"  {"notes' result",-26} Nabla's MaxPool2d");
        for (int r = 0; r < 3; r++)
            run.Line($"  {Row(ToMatrix(NotesOutput), r),-26} {Row(output, r)}");
        bool same = Enumerable.Range(0, 9).All(i => output[i / 3, i % 3] == NotesOutput[i / 3, i % 3]);
        run.Line(same ? "  identical" : "  DIFFERENT");
        run.Line("Backward: δY = [[1,2,3],[4,5,6],[7,8,9]] goes to each window's maximum, 0 elsewhere (δxᵢ = (xᵢ == max) ? δy : 0):");
        for (int r = 0; r < 6; r++) run.Line($"  {Row(gradIn, r)}");

        var marks = new List<CellMark>();
        for (int k = 0; k < 9; k++) marks.Add(new CellMark((int)idx[k] / 6, (int)idx[k] % 6, k));
        var pIn = Charts.BuildMatrix(input, "X (6×6): each 2×2 window's maximum outlined", "0", xLabel: "column", yLabel: "row", marks: marks);
        var pOut = Charts.BuildMatrix(output, "Y = max pool 2×2 of X (3×3)", "0", xLabel: "column", yLabel: "row",
            marks: Enumerable.Range(0, 9).Select(k => new CellMark(k / 3, k % 3, k)).ToList());
        var pDy = Charts.BuildMatrix(gradOut, "δY (given)", "0", xLabel: "column", yLabel: "row",
            marks: Enumerable.Range(0, 9).Select(k => new CellMark(k / 3, k % 3, k)).ToList());
        var pDx = Charts.BuildMatrix(gradIn, "δX: each δy routed to its window's maximum", "0", xLabel: "column", yLabel: "row", marks: marks);
        foreach (var p in new[] { pIn, pDx }) WindowLines(p, 6);
        run.Wrote(Charts.Panels([pIn, pOut, pDy, pDx], run.PathOf("maxpool.png"), 2, 620, 560,
            "Outline colours pair each window's maximum in X with its output in Y, and each δy with the element of X that receives it."),
            "Forward: the notes' 6×6 matrix pooled to their 3×3 result; backward: each window's delta goes to its maximum only");
        return new MaxPoolDemoResult(input, output, gradOut, gradIn);
    }

    // The borders of the 2×2 windows.
    private static void WindowLines(Plot plot, int side)
    {
        for (int at = 2; at < side; at += 2)
        {
            var v = plot.Add.VerticalLine(at - 0.5, 2, Colors.Gray);
            var h = plot.Add.HorizontalLine(at - 0.5, 2, Colors.Gray);
            v.LabelText = h.LabelText = "";
        }
    }

    private static string Row(double[,] m, int r) =>
        "[" + string.Join(", ", Enumerable.Range(0, m.GetLength(1)).Select(c => DemoRun.F(m[r, c]))) + "]";

    internal static double[,] ToMatrix(float[,] a)
    {
        var m = new double[a.GetLength(0), a.GetLength(1)];
        for (int r = 0; r < a.GetLength(0); r++)
            for (int c = 0; c < a.GetLength(1); c++) m[r, c] = a[r, c];
        return m;
    }

    internal static double[,] ToMatrix(float[] a, int rows, int cols, int offset = 0)
    {
        var m = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) m[r, c] = a[offset + r * cols + c];
        return m;
    }
}
