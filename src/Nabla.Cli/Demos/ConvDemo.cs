using System.Diagnostics;
using Nabla.Cli.Commands;
using Nabla.Cli.Plots;
using Nabla.Losses;
using Nabla.Models;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;
using ScottPlot;

namespace Nabla.Cli.Demos;

/// <summary>One convolution setting of <see cref="ConvDemo"/> on a small grid.</summary>
/// <param name="Name">Its name in the notes (valid, half padding, …).</param>
/// <param name="InputSize">Side of the square input.</param>
/// <param name="Padding">Zeros added on each side.</param>
/// <param name="Stride">Step of the filter.</param>
/// <param name="Dilation">Spacing of the filter's taps.</param>
/// <param name="OutputSize">Side of Nabla's output.</param>
/// <param name="FormulaSize">⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1.</param>
/// <param name="MaxDifference">Largest difference between Nabla's output and the sum written out.</param>
public sealed record ConvCase(string Name, int InputSize, int Padding, int Stride, int Dilation, int OutputSize, int FormulaSize, double MaxDifference);

/// <summary>The figures of <see cref="ConvDemo"/>.</summary>
/// <param name="Cases">Valid, half and full padding, stride 2, dilation 2 with a 3×3 filter.</param>
/// <param name="TransposedSize">Output side of the transposed convolution of a 2×2 input with a 3×3 filter.</param>
/// <param name="ConvSize">Output side of the convolution of a 4×4 input with a 3×3 filter.</param>
/// <param name="TransposedVsFullConvolution">Largest difference between the transposed convolution and the full convolution with the filter turned by 180°.</param>
/// <param name="TransposedVsGradient">Largest difference between the transposed convolution of δY and autograd's δX of the convolution.</param>
/// <param name="LeNetTestAccuracy">Test accuracy of the briefly trained LeNet-5.</param>
/// <param name="Digit">The label of the digit whose feature maps are drawn.</param>
public sealed record ConvDemoResult(IReadOnlyList<ConvCase> Cases, int TransposedSize, int ConvSize, double TransposedVsFullConvolution,
    double TransposedVsGradient, double LeNetTestAccuracy, int Digit);

/// <summary>
/// Note 004 §2.5 and §4.2: a 3×3 filter on small grids with valid, half and full padding, stride 2
/// and dilation 2 (receptive fields drawn); the transposed convolution 2×2 → 4×4 beside the
/// convolution 4×4 → 2×2 and its identity with the full convolution by the turned filter (the
/// backward pass δX = δY *_F rot180(F)); the filters and feature maps of a LeNet-5 trained briefly
/// on the shipped digits.
/// </summary>
public static class ConvDemo
{
    /// <summary>The 3×3 filter of the grid figures.</summary>
    public static readonly float[,] Filter = { { 0, 1, 2 }, { 2, 2, 0 }, { 0, 1, 2 } };

    /// <summary>Runs the demo: prints sizes and checks, writes conv-padding.png, conv-transposed.png, conv-lenet-filters.png and conv-lenet-maps.png.</summary>
    public static ConvDemoResult Run(DemoRun run)
    {
        run.Heading("Convolution: padding, stride, dilation, transposed convolution; LeNet-5's filters (note 004, §2.5, §4.2)");
        var rng = new Random(run.Seed);
        var kernel = Tensor.FromArray(Filter).Reshape(1, 1, 3, 3);
        run.Line("3×3 filter F = [[0,1,2],[2,2,0],[0,1,2]], inputs of small integers; output side ⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1");
        run.Line("  notes: valid n − k + 1; half padding p = ⌊k/2⌋ keeps the size; full padding p = k − 1 makes it larger");

        var settings = new (string Name, int N, int P, int S, int D)[]
        {
            ("valid (p = 0)", 5, 0, 1, 1), ("half padding (p = 1)", 5, 1, 1, 1), ("full padding (p = 2)", 5, 2, 1, 1),
            ("stride 2 (p = 1)", 5, 1, 2, 1), ("dilation 2 (p = 0)", 7, 0, 1, 2),
        };
        var cases = new List<ConvCase>();
        var panels = new List<Plot>();
        foreach (var (name, n, p, s, d) in settings)
        {
            var input = new float[n, n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++) input[i, j] = rng.Next(4);
            var y = Ops.Conv2d(Tensor.FromArray(input).Reshape(1, 1, n, n), kernel, null, (s, s), Padding.Explicit(p, p), (d, d));
            int o = y.Shape[2];
            int formula = (n + 2 * p - d * 2 - 1) / s + 1;
            var direct = Direct(input, p, s, d, o);
            var got = y.ToArray();
            double diff = 0;
            for (int i = 0; i < o * o; i++) diff = Math.Max(diff, Math.Abs(got[i] - direct[i / o, i % o]));
            cases.Add(new ConvCase(name, n, p, s, d, o, formula, diff));
            run.Line($"  {name,-22} {n}×{n} → {o}×{o} (formula {formula}), max |Nabla − sum written out| = {DemoRun.F(diff)}");

            // The padded input: padding cells white with a grey 0; the receptive fields of the first and last output outlined.
            int m = n + 2 * p;
            var grid = new double[m, m];
            var text = new string?[m, m];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++)
                {
                    bool pad = i < p || j < p || i >= p + n || j >= p + n;
                    grid[i, j] = pad ? double.NaN : input[i - p, j - p];
                    text[i, j] = pad ? "0" : null;
                }
            var marks = new List<CellMark>();
            foreach (var (oi, oj, colour) in new[] { (0, 0, 3), (o - 1, o - 1, 0) })
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) marks.Add(new CellMark(oi * s + a * d, oj * s + b * d, colour));
            var outGrid = MaxPoolDemo.ToMatrix(got, o, o);
            panels.Add(Charts.BuildMatrix(grid, $"{name}: input {n}×{n}" + (p > 0 ? $" + {p} zeros around" : ""), "0", cellText: text, range: (-1.5, 3), // an input 0 is pale blue, padding white
                marks: marks.Distinct().ToList()));
            panels.Add(Charts.BuildMatrix(outGrid, $"output {o}×{o} (stride {s}, dilation {d})", "0",
                marks: [new CellMark(0, 0, 3), new CellMark(o - 1, o - 1, 0)]));
        }
        run.Wrote(Charts.Panels(panels, run.PathOf("conv-padding.png"), 4, 560, 500,
            "Red: the taps of the first output's filter position, blue: of the last; white cells are the zero padding."),
            "A 3×3 filter with valid, half and full padding, stride 2 and dilation 2: the input grids with the receptive fields, and the outputs");

        // Transposed convolution as in the notes: conv 4×4 → 2×2 and transposed conv 2×2 → 4×4 (3×3 filter, stride 1).
        var x4 = new float[4, 4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) x4[i, j] = rng.Next(4);
        var xT = Tensor.FromArray(x4).Reshape(1, 1, 4, 4);
        xT.RequiresGrad = true;
        var conv = Ops.Conv2d(xT, kernel);
        var dy = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 1, 1, 2, 2);
        conv.Backward(dy);
        var transposed = Ops.ConvTranspose2d(dy, kernel);
        var rot = new float[3, 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) rot[i, j] = Filter[2 - i, 2 - j];
        var full = Ops.Conv2d(dy, Tensor.FromArray(rot).Reshape(1, 1, 3, 3), padding: Padding.Full);
        double vsFull = MaxDiff(transposed.ToArray(), full.ToArray());
        double vsGrad = MaxDiff(transposed.ToArray(), xT.Grad!.ToArray());
        int convSize = conv.Shape[2], tSize = transposed.Shape[2];
        run.Line($"Convolution 4×4 → {convSize}×{convSize}; transposed convolution of a 2×2 input → {tSize}×{tSize} (notes: 2×2 → 4×4)");
        run.Line($"  transposed convolution = full convolution (p = 2) with F turned by 180°: max difference {DemoRun.F(vsFull)}");
        run.Line($"  = the backward pass of the convolution, δX = δY *_F rot180(F) (autograd's δX): max difference {DemoRun.F(vsGrad)}");
        var padded = new double[6, 6];
        var padText = new string?[6, 6];
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 6; j++)
            {
                bool inside = i is >= 2 and < 4 && j is >= 2 and < 4;
                padded[i, j] = inside ? dy.ToArray()[(i - 2) * 2 + (j - 2)] : double.NaN;
                padText[i, j] = inside ? null : "0";
            }
        var tPanels = new List<Plot>
        {
            Charts.BuildMatrix(MaxPoolDemo.ToMatrix(x4), "convolution: input 4×4", "0"),
            Charts.BuildMatrix(MaxPoolDemo.ToMatrix(conv.ToArray(), 2, 2), "convolution with F: output 2×2", "0"),
            Charts.BuildMatrix(MaxPoolDemo.ToMatrix(Filter), "F (3×3)", "0"),
            Charts.BuildMatrix(MaxPoolDemo.ToMatrix(dy.ToArray(), 2, 2), "transposed convolution: input 2×2", "0"),
            Charts.BuildMatrix(padded, "the 2×2 input with 2 zeros around (full padding)", "0", cellText: padText),
            Charts.BuildMatrix(MaxPoolDemo.ToMatrix(rot), "F turned by 180°", "0"),
            Charts.BuildMatrix(MaxPoolDemo.ToMatrix(transposed.ToArray(), 4, 4), "transposed convolution: output 4×4", "0"),
        };
        run.Wrote(Charts.Panels(tPanels, run.PathOf("conv-transposed.png"), 3, 520, 460,
            "The transposed convolution of the 2×2 input equals the padded input convolved with the turned filter, and the convolution's backward pass."),
            "Convolution 4×4 → 2×2 and transposed convolution 2×2 → 4×4 with the same 3×3 filter");

        var (accuracy, digit) = LeNet(run);
        return new ConvDemoResult(cases, tSize, convSize, vsFull, vsGrad, accuracy, digit);
    }

    private static (double Accuracy, int Digit) LeNet(DemoRun run)
    {
        var data = DataLoading.Load(null, run.Seed, run.Fast ? 3000 : null);
        int epochs = 2;
        RandomSource.ManualSeed(run.Seed);
        var model = new LeNet5(rng: new Random(run.Seed));
        var loss = new CrossEntropyLoss();
        var clock = Stopwatch.StartNew();
        Trainer.Fit(model, data.Train, loss, new Adam(model.Parameters(), 2e-3f), new FitOptions { Epochs = epochs, BatchSize = 64, Seed = run.Seed });
        double acc = Trainer.Evaluate(model, data.Test, loss).Accuracy;
        run.Line($"LeNet-5 trained briefly on {data.Name}: {data.Train.Count} images, {epochs} epoch(s), Adam 2e-3, {DemoRun.F(clock.Elapsed.TotalSeconds, "F1")} s;");
        run.Line($"  test accuracy {DemoRun.F(100 * acc, "F1")} % ({data.Test.Count} images)");

        var p = model.NamedParameters().ToDictionary(np => np.Name, np => (Tensor)np.Parameter);
        var w1 = p["conv1.weight"];
        var w2 = p["conv2.weight"];
        int digit = data.Test.Labels[0];
        var image = Tensor.FromArray(data.Test.GetSample(0).ToArray(), 1, 1, 28, 28);
        Tensor maps1, pooled1, maps2;
        using (Autograd.GradMode.NoGrad())
        {
            maps1 = Ops.Relu(Ops.Conv2d(image, w1, p["conv1.bias"], padding: 2));
            pooled1 = Ops.MaxPool2d(maps1, 2);
            maps2 = Ops.Relu(Ops.Conv2d(pooled1, w2, p["conv2.bias"]));
        }
        int c1 = w1.Shape[0], c2 = w2.Shape[0];
        run.Line($"  conv1: {c1} filters 5×5 (padding 2) → {c1}×28×28, max pool → {c1}×14×14;");
        run.Line($"  conv2: {c2} filters {w2.Shape[1]}×5×5 → {c2}×10×10; drawn for a test digit {digit}");

        var filters = new List<Plot>();
        var wd = w1.ToArray();
        double lim = wd.Max(v => Math.Abs((double)v));
        for (int f = 0; f < c1; f++)
        {
            var plot = Charts.BuildMatrix(MaxPoolDemo.ToMatrix(wd, 5, 5, f * 25), $"conv1 filter {f}", null, colormap: new ScottPlot.Colormaps.Balance(), range: (-lim, lim), colorBar: f == c1 - 1);
            filters.Add(plot);
        }
        run.Wrote(Charts.Panels(filters, run.PathOf("conv-lenet-filters.png"), 6, 300, 300,
            "Weights of LeNet-5's first layer after brief training (red positive, blue negative, same scale)."),
            "The six 5×5 filters of the first convolution of a LeNet-5 trained briefly on the digits");

        var maps = new List<Plot> { Charts.BuildImage(MaxPoolDemo.ToMatrix(image.ToArray(), 28, 28), $"input: a {digit}") };
        var m1 = maps1.ToArray();
        for (int f = 0; f < c1; f++) maps.Add(Charts.BuildImage(MaxPoolDemo.ToMatrix(m1, 28, 28, f * 784), $"conv1 map {f}", (0, Math.Max(1e-6, m1.Skip(f * 784).Take(784).Max()))));
        var m2 = maps2.ToArray();
        for (int f = 0; f < c2; f++) maps.Add(Charts.BuildImage(MaxPoolDemo.ToMatrix(m2, 10, 10, f * 100), $"conv2 map {f}", (0, Math.Max(1e-6, m2.Skip(f * 100).Take(100).Max()))));
        run.Wrote(Charts.Panels(maps, run.PathOf("conv-lenet-maps.png"), 7, 260, 260,
            "After ReLU; each map on its own scale, dark = strong response."),
            $"Feature maps of LeNet-5 on a test digit {digit}: first layer (28×28) and second layer (10×10)");
        return (acc, digit);
    }

    // The convolution written out: Σ_ab F[a,b] · x[i·s + a·d − p, j·s + b·d − p] (zero outside).
    private static double[,] Direct(float[,] x, int p, int s, int d, int o)
    {
        int n = x.GetLength(0);
        var y = new double[o, o];
        for (int i = 0; i < o; i++)
            for (int j = 0; j < o; j++)
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++)
                    {
                        int r = i * s + a * d - p, c = j * s + b * d - p;
                        if (r >= 0 && r < n && c >= 0 && c < n) y[i, j] += Filter[a, b] * x[r, c];
                    }
        return y;
    }

    private static double MaxDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) return double.PositiveInfinity;
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }
}
