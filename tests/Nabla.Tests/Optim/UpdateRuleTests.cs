using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.Optim;

/// <summary>
/// Every update rule against a reference written here in double precision from the published
/// pseudo-code (PyTorch's documentation for SGD, Adagrad, RMSprop, Adam, AdamW; the notes for the
/// accelerated method), on a fixed sequence of gradients. The references never call the code under
/// test; a few first steps are also checked against numbers worked out by hand.
/// </summary>
public class UpdateRuleTests
{
    private static readonly double[] W0 = [0.5, -1.0, 2.0];

    // Gradients that change sign and size, so momentum, maxima and centring all matter.
    private static readonly double[][] Grads =
    [
        [0.3, -0.2, 1.5],
        [0.1, 0.4, -0.5],
        [-0.6, 0.05, 0.2],
        [0.2, -0.3, 0.01],
        [0.02, 0.9, -1.0],
    ];

    private const double Tolerance = 2e-6;

    /// <summary>Runs the optimiser on one parameter initialised to <see cref="W0"/>, with the gradients given; returns the weights after each step.</summary>
    private static double[][] Run(Func<Parameter, Optimizer> create, bool lookahead = false)
    {
        var p = new Parameter(Tensor.FromArray(W0.Select(v => (float)v).ToArray(), W0.Length));
        var opt = create(p);
        var result = new List<double[]>();
        foreach (var g in Grads)
        {
            if (lookahead) opt.BeforeForward();
            p.Grad = Tensor.FromArray(g.Select(v => (float)v).ToArray(), g.Length);
            opt.Step();
            result.Add(p.ToArray().Select(v => (double)v).ToArray());
        }
        return result.ToArray();
    }

    private static void AssertClose(double[][] expected, double[][] actual, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int s = 0; s < expected.Length; s++)
            for (int i = 0; i < expected[s].Length; i++)
                Assert.True(Math.Abs(expected[s][i] - actual[s][i]) <= tolerance * Math.Max(1, Math.Abs(expected[s][i])),
                    $"step {s + 1}, element {i}: expected {expected[s][i]:R}, got {actual[s][i]:R}");
    }

    // ------------------------------------------------------------ references (PyTorch docs pseudo-code)

    private static double[][] SgdReference(double lr, double momentum = 0, bool nesterov = false, double weightDecay = 0)
    {
        var w = (double[])W0.Clone();
        var b = new double[w.Length];
        var result = new List<double[]>();
        for (int t = 1; t <= Grads.Length; t++)
        {
            for (int i = 0; i < w.Length; i++)
            {
                double g = Grads[t - 1][i] + weightDecay * w[i];
                if (momentum != 0)
                {
                    b[i] = t > 1 ? momentum * b[i] + g : g;
                    g = nesterov ? g + momentum * b[i] : b[i];
                }
                w[i] -= lr * g;
            }
            result.Add((double[])w.Clone());
        }
        return result.ToArray();
    }

    private static double[][] AdagradReference(double lr, double lrDecay = 0, double weightDecay = 0, double initialSum = 0, double eps = 1e-10)
    {
        var w = (double[])W0.Clone();
        var sum = Enumerable.Repeat(initialSum, w.Length).ToArray();
        var result = new List<double[]>();
        for (int t = 1; t <= Grads.Length; t++)
        {
            double clr = lr / (1 + (t - 1) * lrDecay);
            for (int i = 0; i < w.Length; i++)
            {
                double g = Grads[t - 1][i] + weightDecay * w[i];
                sum[i] += g * g;
                w[i] -= clr * g / (Math.Sqrt(sum[i]) + eps);
            }
            result.Add((double[])w.Clone());
        }
        return result.ToArray();
    }

    private static double[][] RmsPropReference(double lr, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false)
    {
        var w = (double[])W0.Clone();
        var v = new double[w.Length];
        var gAvg = new double[w.Length];
        var b = new double[w.Length];
        var result = new List<double[]>();
        for (int t = 1; t <= Grads.Length; t++)
        {
            for (int i = 0; i < w.Length; i++)
            {
                double g = Grads[t - 1][i] + weightDecay * w[i];
                v[i] = alpha * v[i] + (1 - alpha) * g * g;
                double vt = v[i];
                if (centered)
                {
                    gAvg[i] = alpha * gAvg[i] + (1 - alpha) * g;
                    vt -= gAvg[i] * gAvg[i];
                }
                if (momentum > 0)
                {
                    b[i] = momentum * b[i] + g / (Math.Sqrt(vt) + eps);
                    w[i] -= lr * b[i];
                }
                else
                {
                    w[i] -= lr * g / (Math.Sqrt(vt) + eps);
                }
            }
            result.Add((double[])w.Clone());
        }
        return result.ToArray();
    }

    private static double[][] AdamReference(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0, bool amsGrad = false, bool decoupled = false)
    {
        var w = (double[])W0.Clone();
        var m = new double[w.Length];
        var v = new double[w.Length];
        var vMax = new double[w.Length];
        var result = new List<double[]>();
        for (int t = 1; t <= Grads.Length; t++)
        {
            for (int i = 0; i < w.Length; i++)
            {
                double g = Grads[t - 1][i];
                if (decoupled) w[i] -= lr * weightDecay * w[i];
                else g += weightDecay * w[i];
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                double mHat = m[i] / (1 - Math.Pow(beta1, t));
                // PyTorch's implementation keeps the maximum of the raw second moment, then corrects it.
                vMax[i] = Math.Max(vMax[i], v[i]);
                double vHat = (amsGrad ? vMax[i] : v[i]) / (1 - Math.Pow(beta2, t));
                w[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            result.Add((double[])w.Clone());
        }
        return result.ToArray();
    }

    private static double[][] AcceleratedReference(double lr)
    {
        // The notes, file 001: w⁽⁻¹⁾ = w⁽⁰⁾; v = w⁽ᵏ⁻¹⁾ + (k−2)/(k+1)(w⁽ᵏ⁻¹⁾ − w⁽ᵏ⁻²⁾); w⁽ᵏ⁾ = v − α∇l(v).
        var older = (double[])W0.Clone();
        var old = (double[])W0.Clone();
        var result = new List<double[]>();
        for (int k = 1; k <= Grads.Length; k++)
        {
            var next = new double[old.Length];
            for (int i = 0; i < old.Length; i++)
            {
                double v = old[i] + (k - 2.0) / (k + 1.0) * (old[i] - older[i]);
                next[i] = v - lr * Grads[k - 1][i];
            }
            older = old;
            old = next;
            result.Add((double[])next.Clone());
        }
        return result.ToArray();
    }

    // ------------------------------------------------------------ SGD

    [Fact]
    public void Sgd_Plain_FirstStepByHand_AndAllSteps()
    {
        var steps = Run(p => new Sgd([p], 0.1f));
        // w − 0.1·g: 0.5 − 0.03, −1 + 0.02, 2 − 0.15
        AssertClose([[0.47, -0.98, 1.85]], steps[..1]);
        AssertClose(SgdReference(0.1), steps);
    }

    [Fact]
    public void Sgd_Momentum_MatchesReference()
    {
        var steps = Run(p => new Sgd([p], 0.1f, momentum: 0.9f));
        // Step 2: b = 0.9·0.3 + 0.1 = 0.37, so w₀ = 0.47 − 0.037.
        Assert.Equal(0.433, steps[1][0], 6);
        AssertClose(SgdReference(0.1, momentum: 0.9), steps);
    }

    [Fact]
    public void Sgd_Nesterov_MatchesReference()
    {
        var steps = Run(p => new Sgd([p], 0.1f, momentum: 0.9f, nesterov: true));
        // Step 1: b = g, step g + 0.9·b = 1.9·g: 0.5 − 0.1·1.9·0.3 = 0.443.
        Assert.Equal(0.443, steps[0][0], 6);
        AssertClose(SgdReference(0.1, momentum: 0.9, nesterov: true), steps);
    }

    [Fact]
    public void Sgd_WeightDecay_MatchesReference()
    {
        var steps = Run(p => new Sgd([p], 0.1f, weightDecay: 0.01f));
        // Step 1: g = 0.3 + 0.01·0.5 = 0.305, w = 0.5 − 0.0305.
        Assert.Equal(0.4695, steps[0][0], 6);
        AssertClose(SgdReference(0.1, weightDecay: 0.01), steps);
        AssertClose(SgdReference(0.05, momentum: 0.8, nesterov: true, weightDecay: 0.1),
            Run(p => new Sgd([p], 0.05f, momentum: 0.8f, nesterov: true, weightDecay: 0.1f)));
    }

    // ------------------------------------------------------------ Adagrad

    [Fact]
    public void Adagrad_FirstStepIsLrTimesSign()
    {
        // s = g², so the first step is −η·g/|g|.
        var steps = Run(p => new Adagrad([p], 0.1f));
        AssertClose([[0.4, -0.9, 1.9]], steps[..1]);
    }

    [Fact]
    public void Adagrad_MatchesReference()
    {
        AssertClose(AdagradReference(0.1), Run(p => new Adagrad([p], 0.1f)));
        AssertClose(AdagradReference(0.05, lrDecay: 0.1, weightDecay: 0.2, initialSum: 0.5),
            Run(p => new Adagrad([p], 0.05f, learningRateDecay: 0.1f, weightDecay: 0.2f, initialAccumulatorValue: 0.5f)));
    }

    // ------------------------------------------------------------ RMSProp

    [Fact]
    public void RmsProp_FirstStepByHand()
    {
        // v = 0.01·g², so the step is −η·g/(0.1|g|) = −10η·sign(g) (ε aside).
        var steps = Run(p => new RmsProp([p], 0.01f));
        AssertClose([[0.4, -0.9, 1.9]], steps[..1], 1e-5);
    }

    [Theory]
    [InlineData(0.0, false, 0.0)]
    [InlineData(0.9, false, 0.0)]
    [InlineData(0.0, true, 0.0)]
    [InlineData(0.5, true, 0.1)]
    public void RmsProp_MatchesReference(double momentum, bool centered, double weightDecay)
    {
        var expected = RmsPropReference(0.01, alpha: 0.9, weightDecay: weightDecay, momentum: momentum, centered: centered);
        var actual = Run(p => new RmsProp([p], 0.01f, alpha: 0.9f, weightDecay: (float)weightDecay, momentum: (float)momentum, centered: centered));
        AssertClose(expected, actual, 1e-5);
    }

    // ------------------------------------------------------------ Adam, AdamW

    [Fact]
    public void Adam_FirstStepIsLrTimesSign()
    {
        // With bias correction m̂ = g and v̂ = g² after one step: Δw = −η·g/(|g| + ε).
        var steps = Run(p => new Adam([p], 0.01f));
        AssertClose([[0.49, -0.99, 1.99]], steps[..1], 1e-6);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.1, false)]
    [InlineData(0.0, true)]
    [InlineData(0.05, true)]
    public void Adam_MatchesReference(double weightDecay, bool amsGrad)
    {
        AssertClose(AdamReference(0.01, weightDecay: weightDecay, amsGrad: amsGrad),
            Run(p => new Adam([p], 0.01f, weightDecay: (float)weightDecay, amsGrad: amsGrad)));
        AssertClose(AdamReference(0.05, beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: weightDecay, amsGrad: amsGrad),
            Run(p => new Adam([p], 0.05f, beta1: 0.8f, beta2: 0.9f, epsilon: 1e-6f, weightDecay: (float)weightDecay, amsGrad: amsGrad)));
    }

    [Fact]
    public void AdamW_DecouplesWeightDecay()
    {
        AssertClose(AdamReference(0.01, weightDecay: 0.1, decoupled: true), Run(p => new AdamW([p], 0.01f, weightDecay: 0.1f)));
        AssertClose(AdamReference(0.01, weightDecay: 0.01, amsGrad: true, decoupled: true), Run(p => new AdamW([p], 0.01f, amsGrad: true)));
        // Step 1 by hand: w(1 − ηλ) − η·sign(g): 0.5·0.999 − 0.01.
        var steps = Run(p => new AdamW([p], 0.01f, weightDecay: 0.1f));
        Assert.Equal(0.4895, steps[0][0], 6);
        // Decoupled decay is not Adam with L2: the results differ.
        var l2 = Run(p => new Adam([p], 0.01f, weightDecay: 0.1f));
        Assert.NotEqual(l2[^1][0], steps[^1][0], 6);
    }

    // ------------------------------------------------------------ the notes' accelerated method

    [Fact]
    public void Accelerated_MatchesTheNotes()
    {
        var steps = Run(p => new NesterovAccelerated([p], 0.1f), lookahead: true);
        // k = 1, 2: the look-ahead is w⁽ᵏ⁻¹⁾ itself (no history, then coefficient 0).
        Assert.Equal(0.47, steps[0][0], 6);
        Assert.Equal(0.46, steps[1][0], 6);
        // k = 3: v = 0.46 + ¼(0.46 − 0.47) = 0.4575; w = 0.4575 + 0.06.
        Assert.Equal(0.5175, steps[2][0], 6);
        AssertClose(AcceleratedReference(0.1), steps);
    }

    [Fact]
    public void Accelerated_Coefficients()
    {
        Assert.Equal(-0.5f, NesterovAccelerated.Coefficient(1));
        Assert.Equal(0f, NesterovAccelerated.Coefficient(2));
        Assert.Equal(0.25f, NesterovAccelerated.Coefficient(3));
        Assert.Equal(0.4f, NesterovAccelerated.Coefficient(4));
    }

    [Fact]
    public void Accelerated_MovesToTheLookaheadPoint_AndRefusesAStepWithoutIt()
    {
        var p = new Parameter(Tensor.FromArray([1f], 1));
        var opt = new NesterovAccelerated([p], 0.5f);
        p.Grad = Tensor.FromArray([1f], 1);
        var e = Assert.Throws<InvalidOperationException>(opt.Step);
        Assert.Contains("PrepareLookahead", e.Message);

        opt = new NesterovAccelerated([p], 0.5f);
        for (int k = 1; k <= 3; k++)
        {
            opt.PrepareLookahead();
            opt.PrepareLookahead(); // idempotent
            Assert.True(opt.IsLookaheadPrepared);
            if (k == 3) Assert.Equal(0.0 + 0.25 * (0.0 - 0.5), p[0].Item(), 6); // w⁽¹⁾ = 0.5, w⁽²⁾ = 0
            p.Grad = Tensor.FromArray([1f], 1);
            opt.Step();
            Assert.False(opt.IsLookaheadPrepared);
        }
    }

    // ------------------------------------------------------------ factory

    [Fact]
    public void Factory_CreatesEveryNamedOptimizer()
    {
        var p = new Parameter(3);
        Assert.IsType<Sgd>(Optimizers.Create("sgd", [p], 0.1f));
        Assert.Equal(0.9f, Assert.IsType<Sgd>(Optimizers.Create("momentum", [p], 0.1f)).Momentum);
        Assert.True(Assert.IsType<Sgd>(Optimizers.Create("Nesterov", [p], 0.1f)).Nesterov);
        Assert.IsType<Adagrad>(Optimizers.Create("adagrad", [p], 0.1f));
        Assert.IsType<RmsProp>(Optimizers.Create("rmsprop", [p], 0.1f));
        Assert.IsType<Adam>(Optimizers.Create("adam", [p], 0.1f));
        Assert.Equal(0.01f, Assert.IsType<AdamW>(Optimizers.Create("adamw", [p], 0.1f)).WeightDecay);
        Assert.IsType<NesterovAccelerated>(Optimizers.Create("accelerated", [p], 0.1f));
        foreach (var name in Optimizers.Names)
        {
            Assert.Equal(0.25f, Optimizers.Create(name, [p], 0.25f).LearningRate);
            Assert.True(Optimizers.DefaultLearningRate(name) > 0);
        }
        var e = Assert.Throws<ArgumentException>(() => Optimizers.Create("lbfgs", [p], 0.1f));
        Assert.Contains("adamw", e.Message);
    }

    [Fact]
    public void InvalidHyperparameters_AreRejected()
    {
        var p = new Parameter(3);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([p], 0.1f, beta1: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RmsProp([p], 0.1f, alpha: -0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Adagrad([p], 0.1f, weightDecay: -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NesterovAccelerated([p], 0f));
    }
}
