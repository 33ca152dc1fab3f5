using Nabla.Classic;
using Nabla.Cli.Plots;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Cli.Demos;

/// <summary>The figures of <see cref="PerceptronDemo"/>.</summary>
/// <param name="Gates">Each gate with the perceptron's training result and final accuracy.</param>
/// <param name="HandBuiltXorAccuracy">Accuracy of the notes' hand-built two-layer XOR network of perceptrons.</param>
/// <param name="MlpXorAccuracy">Accuracy of the trained MLP on XOR.</param>
/// <param name="MlpFinalLoss">Its final binary cross-entropy.</param>
/// <param name="MlpEpochsToSolve">The first epoch (full-batch step) after which it classified all four points, or null.</param>
public sealed record PerceptronDemoResult(
    IReadOnlyList<(string Gate, PerceptronResult Result, double Accuracy)> Gates,
    double HandBuiltXorAccuracy,
    double MlpXorAccuracy,
    double MlpFinalLoss,
    int? MlpEpochsToSolve);

/// <summary>
/// Note 002: the perceptron learning rule separates AND and OR but never XOR; two layers of
/// perceptrons (the notes' hand-built network) and a trained 2-4-1 MLP classify XOR.
/// </summary>
public static class PerceptronDemo
{
    /// <summary>Epoch limit of the perceptron rule.</summary>
    public const int MaxEpochs = 100;

    /// <summary>The truth table of a two-input gate as a data set.</summary>
    public static Dataset Gate(string name, Func<int, int, int> gate)
    {
        var f = new float[8];
        var l = new int[4];
        for (int i = 0; i < 4; i++)
        {
            int a = i >> 1, b = i & 1;
            f[2 * i] = a;
            f[2 * i + 1] = b;
            l[i] = gate(a, b);
        }
        return new Dataset(f, [2], l, 2, name);
    }

    /// <summary>Runs the demo, prints its figures and writes the decision-boundary PNGs.</summary>
    public static PerceptronDemoResult Run(DemoRun run)
    {
        run.Heading("The perceptron learning rule on AND, OR and XOR (note 002)");
        run.Line($"η = 0.1, weights and bias start at 0, at most {MaxEpochs} epochs");
        var gates = new (string Name, Dataset Data)[]
        {
            ("AND", Gate("and", (a, b) => a & b)),
            ("OR", Gate("or", (a, b) => a | b)),
            ("XOR", Gate("xor", (a, b) => a ^ b)),
        };
        var results = new List<(string, PerceptronResult, double)>();
        foreach (var (name, data) in gates)
        {
            var rows = Enumerable.Range(0, data.Count).Select(i => data.GetSample(i).ToArray()).ToList();
            var p = new Perceptron(2, 0.1f);
            var r = p.Train(rows, data.Labels, MaxEpochs);
            double acc = p.Accuracy(rows, data.Labels);
            results.Add((name, r, acc));
            string outcome = r.Converged
                ? $"converged after {r.Epochs} epochs ({r.MistakesPerEpoch.Sum()} updates)"
                : $"did not converge in {r.Epochs} epochs ({r.MistakesPerEpoch[^1]} mistakes in the last)";
            run.Line($"  {name,-4} {outcome}");
            run.Line($"       w = {DemoRun.Vec(p.Weights)}, b = {DemoRun.F(p.Bias)}, accuracy {Pct(acc)}");
            if (!r.Converged) run.Line("       XOR is not linearly separable: no line splits its classes");
            run.Wrote(Charts.DecisionBoundary(x => Rows(x).Select(v => (float)p.Predict(v)).ToArray(), data,
                run.PathOf($"perceptron-{name.ToLowerInvariant()}.png"),
                $"Perceptron on {name}: {(r.Converged ? $"converged in {r.Epochs} epochs" : $"no convergence in {r.Epochs} epochs")}"));
        }

        var xor = Synthetic.Xor();

        // The notes' XOR network: two step neurons (OR-like and AND-like) and one on top.
        run.Heading("Two layers of perceptrons: the notes' hand-built XOR network");
        var fixedRng = new Random(0); // the weights are set by hand below
        var hidden = new Linear(2, 2, rng: fixedRng);
        hidden.Weight.Data.Fill(1f);                     // W¹ = [[1, 1], [1, 1]]
        hidden.Bias!.Data[0] = -1.5f;                    // b¹ = [−1.5, −0.5]
        hidden.Bias!.Data[1] = -0.5f;
        var top = new Linear(2, 1, rng: fixedRng);
        top.Weight.Data[0] = -1f;                        // W² = [−1, 1]
        top.Weight.Data[1] = 1f;
        top.Bias!.Data[0] = -0.5f;                       // b² = [−0.5]
        var handBuilt = new Sequential(hidden, new Step(), top, new Step());
        var handOut = Trainer.Predict(handBuilt, xor.ToTensor()).ToArray();
        double handAcc = Enumerable.Range(0, 4).Count(i => (int)handOut[i] == xor.Labels[i]) / 4.0;
        run.Line("  W¹ = [[1, 1], [1, 1]], b¹ = [−1.5, −0.5], W² = [−1, 1], b² = [−0.5], steps");
        run.Line($"  outputs for (0,0), (0,1), (1,0), (1,1): {DemoRun.Vec(handOut)}; accuracy {Pct(handAcc)}");
        run.Wrote(Charts.DecisionBoundary(x => Charts.ClassOneScore(Trainer.Predict(handBuilt, x)), xor,
            run.PathOf("perceptron-xor-two-layers.png"), "XOR by two layers of perceptrons (the notes' weights)"));

        // A small MLP learns XOR by gradient descent.
        int epochs = run.Fast ? 300 : 500;
        run.Heading("A 2-4-1 MLP learns XOR by gradient descent");
        run.Line("tanh hidden layer, sigmoid output, binary cross-entropy;");
        run.Line($"Adam η = 0.05, {epochs} full-batch steps");
        var rng = new Random(run.Seed);
        var mlp = new Sequential(new Linear(2, 4, rng: rng), new Tanh(), new Linear(4, 1, rng: rng), new Sigmoid());
        var loss = new BceLoss();
        var opt = new Adam(mlp.Parameters(), 0.05f);
        var history = Trainer.Fit(mlp, xor, loss, opt, new FitOptions { Epochs = epochs, BatchSize = 4, Shuffle = false, Seed = run.Seed });
        var eval = Trainer.Evaluate(mlp, xor, loss);
        var probs = Trainer.Predict(mlp, xor.ToTensor()).ToArray();
        int? solved = null;
        for (int k = 0; k < history.Epochs.Count; k++)
            if (history.Epochs[k].Accuracy >= 1.0) { solved = history.Epochs[k].Epoch; break; }
        run.Line($"  {mlp.ParameterCount} parameters; loss {DemoRun.F(history.Epochs[0].Loss)} → {DemoRun.F(eval.Loss)}; accuracy {Pct(eval.Accuracy)}");
        if (solved is int s) run.Line($"  all four points right from step {s} on");
        run.Line($"  P(class 1) for (0,0), (0,1), (1,0), (1,1): {DemoRun.Vec(probs, "F3")}");
        run.Wrote(Charts.DecisionBoundary(x => Charts.ClassOneScore(Trainer.Predict(mlp, x)), xor,
            run.PathOf("mlp-xor.png"), $"2-4-1 MLP on XOR after {epochs} steps: accuracy {Pct(eval.Accuracy)}", scoreName: "P(class 1)"));

        return new PerceptronDemoResult(results, handAcc, eval.Accuracy, eval.Loss, solved);
    }

    private static string Pct(double fraction) => DemoRun.F(100 * fraction, "0.#") + "%";

    private static float[][] Rows(Tensor x)
    {
        int n = x.Shape[0], d = x.Length / Math.Max(n, 1);
        var data = x.ToArray();
        var rows = new float[n][];
        for (int i = 0; i < n; i++) rows[i] = data.AsSpan(i * d, d).ToArray();
        return rows;
    }
}
