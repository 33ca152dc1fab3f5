using Nabla.Autograd;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Cli.Demos;

/// <summary>The losses of one optimisation run, one per iterate w⁽⁰⁾, w⁽¹⁾, ….</summary>
/// <param name="Name">Legend text.</param>
/// <param name="Losses">l(w⁽ᵏ⁾) for k = 0, 1, …; when the run diverged it stops at the first non-finite or huge value.</param>
/// <param name="Weights">The iterates w⁽⁰⁾, w⁽¹⁾, … (as many as <paramref name="Losses"/>).</param>
public sealed record OptimizationTrace(string Name, double[] Losses, IReadOnlyList<float[]> Weights)
{
    /// <summary>The last iterate.</summary>
    public float[] FinalWeights => Weights[^1];

    /// <summary>The loss of the last iterate.</summary>
    public double Final => Losses[^1];

    /// <summary>Whether the run stopped because the loss blew up.</summary>
    public bool Diverged => !double.IsFinite(Final) || Final > OneNeuron.DivergenceLevel;

    /// <summary>The first iteration whose loss is below <paramref name="tolerance"/>, or null.</summary>
    public int? FirstBelow(double tolerance)
    {
        for (int k = 0; k < Losses.Length; k++) if (Losses[k] < tolerance) return k;
        return null;
    }
}

/// <summary>
/// The notes' model problem (note 001): one ReLU neuron g(x, w) = r(w₁x + w₂)·w₃ + w₄ fitted to
/// x_i = y_i = i/10, i = 0…10, by minimising l(w) = (1/11) Σ (g(x_i, w) − y_i)². Built from Nabla
/// tensors: w is one <see cref="Parameter"/> of 4 values and the gradient comes from autograd, with
/// the ReLU subgradient ½ at 0 (<see cref="Ops.Relu"/>).
/// </summary>
public static class OneNeuron
{
    /// <summary>The number of intervals n: the data are x_i = i/n for i = 0…n.</summary>
    public const int N = 10;

    /// <summary>A loss above this counts as diverged (the run stops there).</summary>
    public const double DivergenceLevel = 1e6;

    /// <summary>The inputs x_i = i/10, i = 0…10.</summary>
    public static Tensor X { get; } = Tensor.FromArray(Enumerable.Range(0, N + 1).Select(i => i / (float)N).ToArray());

    /// <summary>The targets y_i = x_i.</summary>
    public static Tensor Y { get; } = X.Clone();

    /// <summary>g(x, w) = r(w₁x + w₂)·w₃ + w₄ for every element of <paramref name="x"/>; differentiable in w.</summary>
    public static Tensor Predict(Tensor w, Tensor x)
    {
        if (w.Length != 4) throw new ArgumentException($"OneNeuron: w has {w.Length} values, the model has 4.", nameof(w));
        var w1 = Ops.Narrow(w, 0, 0, 1);
        var w2 = Ops.Narrow(w, 0, 1, 1);
        var w3 = Ops.Narrow(w, 0, 2, 1);
        var w4 = Ops.Narrow(w, 0, 3, 1);
        return Ops.Relu(x * w1 + w2) * w3 + w4;
    }

    /// <summary>The mean squared error of g(·, w) on (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public static Tensor Loss(Tensor w, Tensor x, Tensor y) => (Predict(w, x) - y).Pow(2f).Mean();

    /// <summary>l(w) on the whole data set.</summary>
    public static double LossAt(params float[] w)
    {
        using var _ = GradMode.NoGrad();
        return Loss(Tensor.FromArray(w), X, Y).Item();
    }

    /// <summary>
    /// Runs <paramref name="iterations"/> steps of an optimiser from <paramref name="w0"/>: each step
    /// computes the gradient of the loss on the whole data (or, with <paramref name="batch"/>, on that
    /// many distinct samples drawn afresh every step, as the notes' SGD does) and lets the optimiser update w.
    /// Calls <see cref="Optimizer.BeforeForward"/> before each forward pass (the accelerated method moves
    /// the weights to its look-ahead point there). Records the full-data loss after every step and stops
    /// early when it stops being finite or exceeds <see cref="DivergenceLevel"/>.
    /// </summary>
    public static OptimizationTrace Run(string name, float[] w0, Func<Parameter, Optimizer> optimizer, int iterations, int? batch = null, Random? rng = null)
    {
        var w = new Parameter(Tensor.FromArray(w0));
        var opt = optimizer(w);
        var losses = new List<double> { LossAt(w.ToArray()) };
        var weights = new List<float[]> { w.ToArray() };
        var xs = X.ToArray();
        var ys = Y.ToArray();
        rng ??= new Random(1);
        for (int k = 1; k <= iterations; k++)
        {
            opt.ZeroGrad();
            opt.BeforeForward();
            Tensor xb = X, yb = Y;
            if (batch is int b)
            {
                // np.random.permutation(n)[:b]: b distinct samples.
                var pick = Enumerable.Range(0, xs.Length).OrderBy(_ => rng.Next()).Take(b).ToArray();
                xb = Tensor.FromArray(pick.Select(i => xs[i]).ToArray());
                yb = Tensor.FromArray(pick.Select(i => ys[i]).ToArray());
            }
            Loss(w, xb, yb).Backward();
            opt.Step();
            double l = LossAt(w.ToArray());
            losses.Add(l);
            weights.Add(w.ToArray());
            if (!double.IsFinite(l) || l > DivergenceLevel) break;
        }
        return new OptimizationTrace(name, losses.ToArray(), weights);
    }

    /// <summary>Plain (sub)gradient descent w ← w − η∇l(w) on the whole data.</summary>
    public static OptimizationTrace GradientDescent(string name, float[] w0, float learningRate, int iterations) =>
        Run(name, w0, p => new Sgd([p], learningRate), iterations);
}
