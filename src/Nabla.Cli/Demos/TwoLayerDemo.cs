using Nabla.Cli.Plots;
using Nabla.Data;
using ScottPlot;

namespace Nabla.Cli.Demos;

/// <summary>One hidden size of <see cref="TwoLayerDemo"/>.</summary>
/// <param name="HiddenUnits">Units of the tanh layer.</param>
/// <param name="TrainAccuracy">Accuracy on the 240 training points after 200 epochs.</param>
/// <param name="ValidationAccuracy">Accuracy on the 60 validation points.</param>
/// <param name="FirstLoss">Data loss (mean cross-entropy) before the first update.</param>
/// <param name="LastLoss">Data loss after the last update.</param>
/// <param name="Losses">Data loss before each epoch's update and after the last (epochs + 1 values).</param>
public sealed record TwoLayerRun(int HiddenUnits, double TrainAccuracy, double ValidationAccuracy, double FirstLoss, double LastLoss, double[] Losses);

/// <summary>The figures of <see cref="TwoLayerDemo"/>.</summary>
/// <param name="Runs">One per hidden size.</param>
/// <param name="MaxAutogradDifference">Largest |hand-written backward − autograd| over dW1, db1, dW2, db2.</param>
/// <param name="MaxNumericalRelativeError">Largest relative error of the hand-written gradient against central differences.</param>
/// <param name="TrainCount">Training points.</param>
/// <param name="ValidationCount">Validation points.</param>
public sealed record TwoLayerDemoResult(IReadOnlyList<TwoLayerRun> Runs, double MaxAutogradDifference, double MaxNumericalRelativeError, int TrainCount, int ValidationCount);

/// <summary>
/// Note 003's 2-layer network written as their numpy script: z₁ = XW₁ + b₁, a₁ = tanh z₁,
/// z₂ = a₁W₂ + b₂, softmax; backward δ₃ = probs − onehot, dW₂ = a₁ᵀδ₃, δ₂ = δ₃W₂ᵀ ⊙ (1 − a₁²),
/// dW₁ = Xᵀδ₂, plus λW; full-batch gradient descent with step η/N, Xavier initialisation
/// W ~ N(0, 1)/√fan-in. On 300 points of two interleaved half-moons (80/20 split), 200 epochs, for
/// hidden sizes 1, 2, 3, 5, 20 and 50; and the gradient check of the hand-written backward pass.
/// </summary>
public static class TwoLayerDemo
{
    /// <summary>The hidden sizes compared.</summary>
    public static readonly int[] HiddenSizes = [1, 2, 3, 5, 20, 50];

    /// <summary>The learning rate of the script's <c>parameter_update(model, deltas, learning_rate / len(X))</c>.</summary>
    public const double LearningRate = 2.0;

    /// <summary>The L2 strength λ of <c>dW += reg_lambda * W</c>.</summary>
    public const double RegLambda = 0.01;

    /// <summary>Full-batch epochs.</summary>
    public const int Epochs = 200;

    /// <summary>Runs the demo: prints accuracies and the gradient check, writes twolayer-boundaries.png and twolayer-loss.png.</summary>
    public static TwoLayerDemoResult Run(DemoRun run)
    {
        run.Heading("The notes' 2-layer tanh + softmax network, numpy style, on two half-moons (note 003)");
        var (x, y) = Moons(300, 0.2, run.Seed);
        var order = Nabla.Data.Dataset.SplitIndices(300, [0.8, 0.2], run.Seed);
        var (xTrain, yTrain) = Take(x, y, order[0]);
        var (xVal, yVal) = Take(x, y, order[1]);
        run.Line($"300 points of two half-moons (noise 0.2), split 80/20: {yTrain.Length} training, {yVal.Length} validation");
        run.Line($"full-batch gradient descent, η = {DemoRun.F(LearningRate)} on the mean gradient (the script's learning_rate/len(X)),");
        run.Line($"  λ = {DemoRun.F(RegLambda)}, {Epochs} epochs, Xavier initialisation W ~ N(0, 1)/√fan-in, biases 0");

        var runs = new List<TwoLayerRun>();
        var panels = new List<Plot>();
        var train = MakeDataset(xTrain, yTrain, "half-moons (training)");
        foreach (int hidden in HiddenSizes)
        {
            var net = new Net(2, hidden, 2, new Random(run.Seed));
            var losses = new double[Epochs + 1];
            for (int e = 0; e < Epochs; e++)
            {
                var probs = net.Forward(xTrain);
                losses[e] = DataLoss(probs, yTrain);
                var g = net.Backprop(xTrain, yTrain, probs, RegLambda);
                net.Update(g, LearningRate / yTrain.Length);
            }
            losses[Epochs] = DataLoss(net.Forward(xTrain), yTrain);
            double trainAcc = Accuracy(net.Forward(xTrain), yTrain), valAcc = Accuracy(net.Forward(xVal), yVal);
            runs.Add(new TwoLayerRun(hidden, trainAcc, valAcc, losses[0], losses[^1], losses));
            run.Line($"  hidden {hidden,2}: training accuracy {Pct(trainAcc)}, validation {Pct(valAcc)}; loss {DemoRun.F(losses[0], "F3")} → {DemoRun.F(losses[^1], "F3")}");
            var n = net;
            panels.Add(Charts.BuildDecisionBoundary(t =>
            {
                var d = t.ToArray();
                var pts = new double[t.Shape[0], 2];
                for (int i = 0; i < t.Shape[0]; i++) { pts[i, 0] = d[2 * i]; pts[i, 1] = d[2 * i + 1]; }
                var p = n.Forward(pts);
                return Enumerable.Range(0, t.Shape[0]).Select(i => (float)p[i, 1]).ToArray();
            }, train, $"hidden {hidden}: train {Pct(trainAcc)}, validation {Pct(valAcc)}", run.Fast ? 60 : 160));
        }
        run.Wrote(Charts.Panels(panels, run.PathOf("twolayer-boundaries.png"), 3, 620, 540,
            "Training points; ringed: misclassified. The shading is the network's P(class 1)."),
            "Decision boundaries of the 2-layer tanh network for 1, 2, 3, 5, 20 and 50 hidden units, with training and validation accuracy");
        run.Wrote(Charts.Lines(LossSeries(runs), run.PathOf("twolayer-loss.png"), "2-layer network on half-moons: training loss", "epoch", "mean cross-entropy", integerX: true),
            "Training loss per epoch for each hidden size");

        var (autograd, numeric) = GradientCheck(xTrain, yTrain, run.Seed);
        run.Line($"Gradient check (hidden 5, λ = {DemoRun.F(RegLambda)}, all {yTrain.Length} training points):");
        run.Line($"  the script's backward pass vs Nabla's autograd (cross-entropy summed + ½λ‖W‖²): max |difference| {DemoRun.F(autograd, "0.0e0")}");
        run.Line($"  vs central differences (h = 1e-5, in double): max relative error {DemoRun.F(numeric, "0.0e0")}");
        return new TwoLayerDemoResult(runs, autograd, numeric, yTrain.Length, yVal.Length);
    }

    /// <summary>The series of twolayer-loss.png: one per hidden size, in the order of <see cref="HiddenSizes"/>.</summary>
    public static List<Series> LossSeries(IReadOnlyList<TwoLayerRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return runs.Select((r, i) => new Series($"hidden {r.HiddenUnits}", r.Losses, Enumerable.Range(0, r.Losses.Length).Select(e => (double)e).ToArray(), Color: i)).ToList();
    }

    /// <summary>scikit-learn's make_moons: an outer half circle (class 0) and an inner one shifted by (1, −½) (class 1), Gaussian noise, shuffled.</summary>
    public static (double[,] X, int[] Y) Moons(int count, double noise, int seed)
    {
        var rng = new Random(seed);
        int outer = count / 2, inner = count - outer;
        var pts = new List<(double, double, int)>();
        for (int i = 0; i < outer; i++)
        {
            double a = Math.PI * i / Math.Max(outer - 1, 1);
            pts.Add((Math.Cos(a), Math.Sin(a), 0));
        }
        for (int i = 0; i < inner; i++)
        {
            double a = Math.PI * i / Math.Max(inner - 1, 1);
            pts.Add((1 - Math.Cos(a), 0.5 - Math.Sin(a), 1));
        }
        var shuffled = pts.OrderBy(_ => rng.Next()).ToList();
        var x = new double[count, 2];
        var y = new int[count];
        for (int i = 0; i < count; i++)
        {
            x[i, 0] = shuffled[i].Item1 + noise * Gauss(rng);
            x[i, 1] = shuffled[i].Item2 + noise * Gauss(rng);
            y[i] = shuffled[i].Item3;
        }
        return (x, y);
    }

    private static double Gauss(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    // The hand-written gradient against autograd and against central differences.
    private static (double Autograd, double Numeric) GradientCheck(double[,] x, int[] y, int seed)
    {
        var net = new Net(2, 5, 2, new Random(seed + 1));
        var probs = net.Forward(x);
        var g = net.Backprop(x, y, probs, RegLambda);

        int n = y.Length;
        var xt = new Tensor(Flat(x), new Shape(n, 2));
        var w1 = new Tensor(Flat(net.W1), new Shape(2, 5)) { RequiresGrad = true };
        var b1 = new Tensor(net.B1.Select(v => (float)v).ToArray(), new Shape(5)) { RequiresGrad = true };
        var w2 = new Tensor(Flat(net.W2), new Shape(5, 2)) { RequiresGrad = true };
        var b2 = new Tensor(net.B2.Select(v => (float)v).ToArray(), new Shape(2)) { RequiresGrad = true };
        var z2 = Ops.Add(Ops.MatMul(Ops.Tanh(Ops.Add(Ops.MatMul(xt, w1), b1)), w2), b2);
        var reg = Ops.Mul(Ops.Add(Ops.Sum(Ops.Mul(w1, w1)), Ops.Sum(Ops.Mul(w2, w2))), Tensor.Scalar((float)(RegLambda / 2)));
        var loss = Ops.Add(Ops.CrossEntropy(z2, y, Reduction.Sum), reg);
        loss.Backward();
        double auto = new[]
        {
            MaxDiff(Flat(g.W1), w1.Grad!.ToArray()), MaxDiff(g.B1, b1.Grad!.ToArray()),
            MaxDiff(Flat(g.W2), w2.Grad!.ToArray()), MaxDiff(g.B2, b2.Grad!.ToArray()),
        }.Max();

        // Central differences of the same loss in double.
        double Loss() => DataLoss(net.Forward(x), y) * n + RegLambda / 2 * (SumSq(net.W1) + SumSq(net.W2));
        double worst = 0;
        void Check(double[] param, double[] grad)
        {
            for (int i = 0; i < param.Length; i++)
            {
                double keep = param[i];
                param[i] = keep + 1e-5; double up = Loss();
                param[i] = keep - 1e-5; double down = Loss();
                param[i] = keep;
                double num = (up - down) / 2e-5;
                worst = Math.Max(worst, Math.Abs(num - grad[i]) / Math.Max(1e-8, Math.Abs(num) + Math.Abs(grad[i])));
            }
        }
        Check(net.W1Flat, g.W1Flat);
        Check(net.B1, g.B1);
        Check(net.W2Flat, g.W2Flat);
        Check(net.B2, g.B2);
        return (auto, worst);
    }

    /// <summary>The network of the script: weights as arrays, forward, backprop and update written out.</summary>
    private sealed class Net
    {
        public readonly int In, Hidden, Out;
        public readonly double[] W1Flat, B1, W2Flat, B2; // W1 [In, Hidden], W2 [Hidden, Out], row-major
        private double[,] a1 = new double[0, 0];

        public Net(int inputs, int hidden, int outputs, Random rng)
        {
            In = inputs; Hidden = hidden; Out = outputs;
            W1Flat = Enumerable.Range(0, inputs * hidden).Select(_ => Gauss(rng) / Math.Sqrt(inputs)).ToArray();
            B1 = new double[hidden];
            W2Flat = Enumerable.Range(0, hidden * outputs).Select(_ => Gauss(rng) / Math.Sqrt(hidden)).ToArray();
            B2 = new double[outputs];
        }

        private Net(int inputs, int hidden, int outputs)
        {
            In = inputs; Hidden = hidden; Out = outputs;
            W1Flat = new double[inputs * hidden]; B1 = new double[hidden]; W2Flat = new double[hidden * outputs]; B2 = new double[outputs];
        }

        public double[,] W1 => ToMatrix(W1Flat, In, Hidden);
        public double[,] W2 => ToMatrix(W2Flat, Hidden, Out);

        // feedforward: z1 = X.W1 + b1, a1 = tanh(z1), z2 = a1.W2 + b2, probs = softmax(z2).
        public double[,] Forward(double[,] x)
        {
            int n = x.GetLength(0);
            a1 = new double[n, Hidden];
            var probs = new double[n, Out];
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < Hidden; j++)
                {
                    double z = B1[j];
                    for (int k = 0; k < In; k++) z += x[i, k] * W1Flat[k * Hidden + j];
                    a1[i, j] = Math.Tanh(z);
                }
                double max = double.MinValue;
                var z2 = new double[Out];
                for (int c = 0; c < Out; c++)
                {
                    z2[c] = B2[c];
                    for (int j = 0; j < Hidden; j++) z2[c] += a1[i, j] * W2Flat[j * Out + c];
                    max = Math.Max(max, z2[c]);
                }
                double sum = 0;
                for (int c = 0; c < Out; c++) sum += probs[i, c] = Math.Exp(z2[c] - max);
                for (int c = 0; c < Out; c++) probs[i, c] /= sum;
            }
            return probs;
        }

        // backprop: delta3 = probs − onehot; dW2 = a1ᵀ.delta3; db2 = Σ delta3; delta2 = delta3.W2ᵀ * (1 − a1²); dW1 = Xᵀ.delta2; db1 = Σ delta2; dW += λW.
        public Net Backprop(double[,] x, int[] y, double[,] probs, double reg)
        {
            int n = y.Length;
            var g = new Net(In, Hidden, Out);
            for (int i = 0; i < n; i++)
            {
                var delta3 = new double[Out];
                for (int c = 0; c < Out; c++) delta3[c] = probs[i, c] - (c == y[i] ? 1 : 0);
                for (int c = 0; c < Out; c++)
                {
                    g.B2[c] += delta3[c];
                    for (int j = 0; j < Hidden; j++) g.W2Flat[j * Out + c] += a1[i, j] * delta3[c];
                }
                for (int j = 0; j < Hidden; j++)
                {
                    double d = 0;
                    for (int c = 0; c < Out; c++) d += delta3[c] * W2Flat[j * Out + c];
                    d *= 1 - a1[i, j] * a1[i, j];
                    g.B1[j] += d;
                    for (int k = 0; k < In; k++) g.W1Flat[k * Hidden + j] += x[i, k] * d;
                }
            }
            for (int i = 0; i < W1Flat.Length; i++) g.W1Flat[i] += reg * W1Flat[i];
            for (int i = 0; i < W2Flat.Length; i++) g.W2Flat[i] += reg * W2Flat[i];
            return g;
        }

        // parameter_update: W += −learning_rate · dW.
        public void Update(Net g, double step)
        {
            for (int i = 0; i < W1Flat.Length; i++) W1Flat[i] -= step * g.W1Flat[i];
            for (int i = 0; i < B1.Length; i++) B1[i] -= step * g.B1[i];
            for (int i = 0; i < W2Flat.Length; i++) W2Flat[i] -= step * g.W2Flat[i];
            for (int i = 0; i < B2.Length; i++) B2[i] -= step * g.B2[i];
        }
    }

    private static double[,] ToMatrix(double[] a, int rows, int cols)
    {
        var m = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) m[r, c] = a[r * cols + c];
        return m;
    }

    private static float[] Flat(double[,] m) => m.Cast<double>().Select(v => (float)v).ToArray();

    private static double SumSq(double[,] m) => m.Cast<double>().Sum(v => v * v);

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs((double)p.First - p.Second));

    private static double MaxDiff(double[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    private static double DataLoss(double[,] probs, int[] y) => y.Select((c, i) => -Math.Log(Math.Max(probs[i, c], 1e-300))).Average();

    private static double Accuracy(double[,] probs, int[] y) => y.Select((c, i) => probs[i, c] >= probs[i, 1 - c] ? 1.0 : 0.0).Average();

    private static (double[,] X, int[] Y) Take(double[,] x, int[] y, int[] idx)
    {
        var xs = new double[idx.Length, 2];
        for (int i = 0; i < idx.Length; i++) { xs[i, 0] = x[idx[i], 0]; xs[i, 1] = x[idx[i], 1]; }
        return (xs, idx.Select(i => y[i]).ToArray());
    }

    private static Dataset MakeDataset(double[,] x, int[] y, string name) => new(Flat(x), [2], y, 2, name);

    private static string Pct(double fraction) => DemoRun.F(100 * fraction, "0.0") + " %";
}
