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
                run.Line($"      diverged: l = {DemoRun.F(t.Final, "G3")} at iteration {t.Losses.Length - 1}, ×{DemoRun.F(t.Losses[^1] / t.Losses[^2], "G3")} per step");
            else if (Dead(t.FinalWeights))
            {
                var last = t.Weights.Skip(t.Weights.Count - 4).Select(w => DemoRun.F(w[3], "G3"));
                run.Line($"      final l = {DemoRun.F(t.Final, "G4")}, w = {DemoRun.Vec(t.FinalWeights)}: the ReLU is 0 at every x_i");
                run.Line($"      only w₄ still moves; its last 4 values: {string.Join(", ", last)}");
            }
            else
                run.Line($"      final l = {DemoRun.F(t.Final, "G4")}, w = {DemoRun.Vec(t.FinalWeights)}");
        }
        run.Line("  With η = 0.5 and 1 the first step pushes w₁x + w₂ below 0 for every x_i:");
        run.Line("  the neuron is dead (zero subgradient), and l can only fall to the variance");
        run.Line("  of y, 0.1. Only w₄ learns then, by the factor 1 − 2η per step: |1 − 2η| < 1");
        run.Line("  converges, = 1 (η = 1) oscillates for ever, > 1 (η = 1.5) diverges.");

        var series = traces.Select(t => new Series(t.Name, t.Losses, Enumerable.Range(0, t.Losses.Length).Select(i => (double)i).ToArray())).ToList();
        run.Wrote(Charts.Lines(series, run.PathOf("lr-loss.png"), "Learning rate: loss per iteration (gradient descent from w = 1)",
            "iteration k", "l(w⁽ᵏ⁾)", logY: true, clipAbove: 1e4));
        return traces;
    }

    // The ReLU is zero at every data point: w₁x_i + w₂ ≤ 0 for all x_i ∈ [0, 1].
    private static bool Dead(float[] w) => w[1] <= 0 && w[0] + w[1] <= 0;
}
