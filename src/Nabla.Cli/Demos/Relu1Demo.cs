using Nabla.Cli.Plots;
using Nabla.Optim;

namespace Nabla.Cli.Demos;

/// <summary>The figures of <see cref="Relu1Demo"/>.</summary>
/// <param name="Traces">Loss per iteration of each method.</param>
/// <param name="SegmentT">Positions t ∈ [0, 1] along the segment.</param>
/// <param name="SegmentLoss">l at (w₁, w₂, w₃, w₄) = (2t, 0, −1 + 2t, 0).</param>
/// <param name="Minima">The claimed global minima and their losses.</param>
/// <param name="ReluSubgradient">The ReLU subgradient autograd uses at −1, 0 and 1.</param>
public sealed record Relu1Result(
    IReadOnlyList<OptimizationTrace> Traces,
    double[] SegmentT,
    double[] SegmentLoss,
    IReadOnlyList<(string Name, float[] W, double Loss)> Minima,
    float[] ReluSubgradient);

/// <summary>
/// Note 001's experiments on the one-neuron ReLU model (<see cref="OneNeuron"/>): (sub)gradient descent
/// with ReLU′(0) = ½ from w = 0 and from w = 1, Nesterov's accelerated method, SGD with batches of 1
/// and 3 (η = 0.1, 200 iterations each), the loss along a segment that shows l is not convex, and the
/// families of global minima (α, 0, 1/α, 0) and (1, β, 1, −β).
/// </summary>
public static class Relu1Demo
{
    /// <summary>Step size of every method, as in the notes.</summary>
    public const float LearningRate = 0.1f;

    /// <summary>Iterations of every method, as in the notes.</summary>
    public const int Iterations = 200;

    /// <summary>Loss below which a run counts as converged in the printout.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Runs the experiments, prints the figures and writes relu1-loss.png, relu1-fit.png and relu1-segment.png.</summary>
    public static Relu1Result Run(DemoRun run)
    {
        run.Heading("One ReLU neuron g(x,w) = r(w₁x + w₂)·w₃ + w₄ (note 001)");
        run.Line("data x_i = y_i = i/10, i = 0…10; loss l(w) = (1/11) Σ (g(x_i,w) − y_i)²");
        run.Line("gradients by Nabla's autograd");

        // The subgradient the notes pick: ReLU'(−1), ReLU'(0), ReLU'(1) = 0, ½, 1.
        var probe = Tensor.FromArray([-1f, 0f, 1f]);
        probe.RequiresGrad = true;
        Ops.Relu(probe).Sum().Backward();
        var sub = probe.Grad!.ToArray();
        run.Line($"ReLU subgradient at −1, 0, 1: {DemoRun.Vec(sub)}");

        float[] zeros = [0f, 0f, 0f, 0f], ones = [1f, 1f, 1f, 1f];
        var traces = new List<OptimizationTrace>
        {
            OneNeuron.GradientDescent("gradient descent from w = 0", zeros, LearningRate, Iterations),
            OneNeuron.GradientDescent("gradient descent from w = 1", ones, LearningRate, Iterations),
            OneNeuron.Run("Nesterov from w = 1", ones, p => new NesterovAccelerated([p], LearningRate), Iterations),
            OneNeuron.Run("SGD, batch 1, from w = 1", ones, p => new Sgd([p], LearningRate), Iterations, batch: 1, rng: new Random(run.Seed)),
            OneNeuron.Run("SGD, batch 3, from w = 1", ones, p => new Sgd([p], LearningRate), Iterations, batch: 3, rng: new Random(run.Seed)),
        };

        run.Line();
        run.Line($"η = {DemoRun.F(LearningRate)}, {Iterations} iterations:");
        foreach (var t in traces)
        {
            int? k = t.FirstBelow(Tolerance);
            string reached = k is int i ? $"l < {DemoRun.F(Tolerance)} from iteration {i}" : $"l never below {DemoRun.F(Tolerance)}";
            run.Line($"  {t.Name,-28} l: {DemoRun.F(t.Losses[0], "G4")} → {DemoRun.F(t.Final, "G4")}");
            run.Line($"  {"",-28} w = {DemoRun.Vec(t.FinalWeights, "G4")}; {reached}");
        }
        run.Line("  From w = 0 only w₄ moves (w₃ = 0 blocks every other gradient): the loss");
        run.Line("  falls from 0.35 to the variance of y, 0.1, and stays there; from w = 1");
        run.Line("  the neuron fits the data.");

        run.Wrote(Charts.Lines(LossSeries(traces), run.PathOf("relu1-loss.png"), "One ReLU neuron: loss per iteration (η = 0.1)",
            "iteration k", "l(w⁽ᵏ⁾)", logY: true));
        run.Wrote(Charts.Lines(FitSeries(traces), run.PathOf("relu1-fit.png"), $"One ReLU neuron: g(x, w) after {Iterations} iterations", "x", "g(x, w)",
            legend: ScottPlot.Alignment.LowerRight));

        // The loss along the segment (w₁, w₃) from (0, −1) to (2, 1), w₂ = w₄ = 0.
        var segT = Enumerable.Range(0, 101).Select(i => i / 100.0).ToArray();
        var segLoss = segT.Select(t => OneNeuron.LossAt((float)(2 * t), 0f, (float)(-1 + 2 * t), 0f)).ToArray();
        double l0 = segLoss[0], l1 = segLoss[^1];
        int worst = 0;
        for (int i = 1; i < segT.Length; i++)
            if (segLoss[i] - ((1 - segT[i]) * l0 + segT[i] * l1) > segLoss[worst] - ((1 - segT[worst]) * l0 + segT[worst] * l1)) worst = i;
        double chordAtWorst = (1 - segT[worst]) * l0 + segT[worst] * l1;
        run.Line();
        run.Line("Along the segment (w₁, w₃) = (0, −1) → (2, 1) with w₂ = w₄ = 0,");
        run.Line("i.e. w(t) = (2t, 0, 2t − 1, 0), t ∈ [0, 1]:");
        run.Line($"  l(w(0)) = {DemoRun.F(l0)}, l(w(1)) = {DemoRun.F(l1)}, but l(w({DemoRun.F(segT[worst])})) = {DemoRun.F(segLoss[worst])}");
        run.Line($"  lies above the chord ({DemoRun.F(chordAtWorst)}): l is not convex.");
        int best = Array.IndexOf(segLoss, segLoss.Min());
        run.Line($"  Smallest value on the segment: l(w({DemoRun.F(segT[best])})) = {DemoRun.F(segLoss[best], "G3")}");
        run.Line("  (l = 0 where 4t² − 2t − 1 = 0, t ≈ 0.809: a global minimum).");
        run.Wrote(Charts.Lines(
            SegmentSeries(segT, segLoss),
            run.PathOf("relu1-segment.png"), "l along w(t) = (2t, 0, 2t − 1, 0): not convex", "t", "l(w(t))"));

        // The global minima.
        var minima = new List<(string, float[], double)>();
        foreach (float a in new[] { 0.5f, 1f, 2f, 3f, 10f })
        {
            float[] w = [a, 0f, 1f / a, 0f];
            minima.Add(($"(α, 0, 1/α, 0), α = {DemoRun.F(a)}", w, OneNeuron.LossAt(w)));
        }
        foreach (float b in new[] { 0.5f, 1f, 2f, 5f })
        {
            float[] w = [1f, b, 1f, -b];
            minima.Add(($"(1, β, 1, −β), β = {DemoRun.F(b)}", w, OneNeuron.LossAt(w)));
        }
        run.Line();
        run.Line("Global minima (l ≥ 0, so l = 0 is the least value):");
        foreach (var (name, w, l) in minima) run.Line($"  {name,-28} w = {DemoRun.Vec(w)}  l = {DemoRun.F(l, "G3")}");

        return new Relu1Result(traces, segT, segLoss, minima, sub);
    }

    // One style per method, the same in every figure: colour (palette index), line pattern and marker.
    // Gradient descent from w = 1, Nesterov and SGD end on the same line g(x) = x, so they differ in
    // pattern and marker and gradient descent from w = 1 (the notes' main run) is drawn last, on top.
    private static readonly (int Color, ScottPlot.LinePattern Pattern, ScottPlot.MarkerShape Marker, float Width)[] styles =
    [
        (0, ScottPlot.LinePattern.Solid, ScottPlot.MarkerShape.FilledCircle, 2),
        (1, ScottPlot.LinePattern.Dashed, ScottPlot.MarkerShape.OpenCircle, 3),
        (2, ScottPlot.LinePattern.Dotted, ScottPlot.MarkerShape.FilledTriangleUp, 2.5f),
        (3, ScottPlot.LinePattern.Solid, ScottPlot.MarkerShape.OpenSquare, 1.5f),
        (4, ScottPlot.LinePattern.DenselyDashed, ScottPlot.MarkerShape.FilledDiamond, 1.5f),
    ];

    // The methods in draw order: every other method first, gradient descent from w = 1 (index 1) last.
    private static IEnumerable<int> DrawOrder(int count) => Enumerable.Range(0, count).Where(i => i != 1).Append(1).Where(i => i < count);

    private static Series Styled(int method, string name, double[] y, double[] x)
    {
        var st = styles[method % styles.Length];
        return new Series(name, y, x, Color: st.Color, Pattern: st.Pattern, Marker: st.Marker, Width: st.Width);
    }

    /// <summary>The series of relu1-loss.png: one per method, in draw order, styled as in the other figures.</summary>
    public static List<Series> LossSeries(IReadOnlyList<OptimizationTrace> traces)
    {
        ArgumentNullException.ThrowIfNull(traces);
        return DrawOrder(traces.Count).Select(i => Styled(i, traces[i].Name, traces[i].Losses,
            Enumerable.Range(0, traces[i].Losses.Length).Select(k => (double)k).ToArray())).ToList();
    }

    /// <summary>
    /// The series of relu1-fit.png: the data (black points) and g(x, w) of each method's final weights,
    /// as the notes' ev() draws it, on 25 points plus the kink of the ReLU (so the markers stay legible
    /// and the kink is exact).
    /// </summary>
    public static List<Series> FitSeries(IReadOnlyList<OptimizationTrace> traces)
    {
        ArgumentNullException.ThrowIfNull(traces);
        var fits = new List<Series>
        {
            new("data (x_i, y_i)", OneNeuron.Y.ToArray().Select(v => (double)v).ToArray(), OneNeuron.X.ToArray().Select(v => (double)v).ToArray(),
                PointsOnly: true, Color: 7, Marker: ScottPlot.MarkerShape.FilledCircle),
        };
        foreach (int i in DrawOrder(traces.Count))
        {
            var w = traces[i].FinalWeights;
            var grid = Enumerable.Range(0, 25).Select(k => -0.1 + 1.2 * k / 24.0).ToList();
            if (w[0] != 0f)
            {
                double kink = -w[1] / w[0];
                if (kink > -0.1 && kink < 1.1) grid.Add(kink);
            }
            var xs = grid.Order().ToArray();
            var g = OneNeuron.Predict(Tensor.FromArray(w), Tensor.FromArray(xs.Select(v => (float)v).ToArray())).ToArray();
            fits.Add(Styled(i, traces[i].Name, g.Select(v => (double)v).ToArray(), xs));
        }
        return fits;
    }

    /// <summary>The series of relu1-segment.png: l along the segment and its chord (dashed, its two ends marked).</summary>
    public static List<Series> SegmentSeries(double[] t, double[] loss)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(loss);
        return
        [
            new Series("l(w(t))", loss, t, Color: 0),
            new Series("chord between t = 0 and t = 1", [loss[0], loss[^1]], [t[0], t[^1]], Color: 3, Pattern: ScottPlot.LinePattern.Dashed,
                Marker: ScottPlot.MarkerShape.OpenCircle),
        ];
    }
}
