using Nabla.Cli.Plots;

namespace Nabla.Cli.Demos;

/// <summary>
/// Gradient descent on the one-neuron ReLU model (<see cref="OneNeuron"/>) from w = 1 with learning
/// rates from too small to too large (note 003: too small is slow, too large oscillates or diverges).
/// </summary>
public static class LearningRateDemo
{
    /// <summary>The learning rates compared, with what they show.</summary>
    public static IReadOnlyList<(float Rate, string Verdict)> Rates { get; } =
    [
        (0.01f, "too small: slow"),
        (0.1f, "right: converges"),
        (0.5f, "too large: the neuron dies"),
        (1.0f, "too large: oscillates"),
        (1.5f, "too large: diverges"),
    ];

    /// <summary>Iterations per run.</summary>
    public const int Iterations = 200;

    /// <summary>Runs gradient descent with each rate, prints the outcome and writes lr-loss.png; returns the traces in the order of <see cref="Rates"/>.</summary>
    public static IReadOnlyList<OptimizationTrace> Run(DemoRun run)
    {
        run.Heading("Learning rates on the one-neuron ReLU model");
        run.Line($"gradient descent from w = 1, {Iterations} iterations");
        float[] ones = [1f, 1f, 1f, 1f];
        var traces = new List<OptimizationTrace>();
        foreach (var (rate, verdict) in Rates)
        {
            var t = OneNeuron.GradientDescent($"η = {DemoRun.F(rate)} ({verdict})", ones, rate, Iterations);
            traces.Add(t);
            run.Line($"  η = {DemoRun.F(rate),-5} {verdict}");
            if (t.Diverged)
                run.Line($"      diverged at iteration {DivergedAt(t)}: l = {DemoRun.F(t.Final, "G3")} > {DemoRun.F(OneNeuron.DivergenceLevel, "G3")}, ×{DemoRun.F(t.Losses[^1] / t.Losses[^2], "G3")} per step");
            else if (Dead(t.FinalWeights))
            {
                var last = t.Weights.Skip(t.Weights.Count - 4).Select(w => DemoRun.F(w[3], "G3"));
                run.Line($"      final l = {DemoRun.F(t.Final, "G4")}, w = {DemoRun.Vec(t.FinalWeights)}: the ReLU is 0 at every x_i");
                run.Line($"      only w₄ still moves; its last 4 values: {string.Join(", ", last)}");
            }
            else
                run.Line($"      final l = {DemoRun.F(t.Final, "G4")}, w = {DemoRun.Vec(t.FinalWeights)}");
        }
        run.Line($"  A run diverges when l exceeds {DemoRun.F(OneNeuron.DivergenceLevel, "G3")} (it stops there).");
        run.Line("  With η = 0.5 and 1 the first step pushes w₁x + w₂ below 0 for every x_i:");
        run.Line("  the neuron is dead (zero subgradient), and l can only fall to the variance");
        run.Line("  of y, 0.1. Only w₄ learns then, by the factor 1 − 2η per step: |1 − 2η| < 1");
        run.Line("  converges, = 1 (η = 1) oscillates for ever, > 1 (η = 1.5) diverges.");
        run.Line("  At η = 1 the loss stays put while w₄ flips: the right panel shows w₄.");

        var lossPlot = Charts.BuildLines(LossSeries(traces), "Loss per iteration (gradient descent from w = 1)",
            "iteration k", "l(w⁽ᵏ⁾)", logY: true, clipAbove: OneNeuron.DivergenceLevel);
        var w4Plot = Charts.BuildLines(W4Series(traces), $"w₄ over the first {W4Iterations} iterations (the dead-neuron runs)",
            "iteration k", "w₄⁽ᵏ⁾", integerX: true);
        run.Wrote(Charts.SideBySide([lossPlot, w4Plot], run.PathOf("lr-loss.png"), 2 * Charts.Width - 200, Charts.Height));
        return traces;
    }

    /// <summary>Iterations shown in the w₄ panel.</summary>
    public const int W4Iterations = 20;

    /// <summary>|w₄| above which the w₄ panel stops drawing a run (η = 1.5 grows by ×2 per step).</summary>
    public const double W4Limit = 20;

    /// <summary>The iteration at which a trace diverged (its loss first above <see cref="OneNeuron.DivergenceLevel"/> or not finite), or null.</summary>
    public static int? DivergedAt(OptimizationTrace t)
    {
        ArgumentNullException.ThrowIfNull(t);
        for (int k = 0; k < t.Losses.Length; k++)
            if (!double.IsFinite(t.Losses[k]) || t.Losses[k] > OneNeuron.DivergenceLevel) return k;
        return null;
    }

    /// <summary>The loss panel's series: one per rate, colour i for rate i.</summary>
    public static List<Series> LossSeries(IReadOnlyList<OptimizationTrace> traces)
    {
        ArgumentNullException.ThrowIfNull(traces);
        return traces.Select((t, i) => new Series(t.Name, t.Losses, Enumerable.Range(0, t.Losses.Length).Select(k => (double)k).ToArray(), Color: i)).ToList();
    }

    /// <summary>
    /// The w₄ panel's series: w₄ per iteration of the runs whose neuron dies (η = 0.5, 1, 1.5), in the
    /// colours of the loss panel, up to <see cref="W4Iterations"/> or until |w₄| exceeds <see cref="W4Limit"/>.
    /// </summary>
    public static List<Series> W4Series(IReadOnlyList<OptimizationTrace> traces)
    {
        ArgumentNullException.ThrowIfNull(traces);
        var list = new List<Series>();
        for (int i = 0; i < traces.Count && i < Rates.Count; i++)
        {
            if (Rates[i].Rate < 0.5f) continue;
            var w4 = traces[i].Weights.Take(W4Iterations + 1).Select(w => (double)w[3]).ToList();
            int keep = w4.FindIndex(v => Math.Abs(v) > W4Limit);
            string name = $"η = {DemoRun.F(Rates[i].Rate)}";
            if (keep >= 0)
            {
                name += $" (|w₄| > {DemoRun.F(W4Limit)} from k = {keep})";
                w4 = w4.Take(keep).ToList();
            }
            list.Add(new Series(name, [.. w4], Enumerable.Range(0, w4.Count).Select(k => (double)k).ToArray(), Color: i,
                Marker: ScottPlot.MarkerShape.FilledCircle));
        }
        return list;
    }

    // The ReLU is zero at every data point: w₁x_i + w₂ ≤ 0 for all x_i ∈ [0, 1].
    private static bool Dead(float[] w) => w[1] <= 0 && w[0] + w[1] <= 0;
}
