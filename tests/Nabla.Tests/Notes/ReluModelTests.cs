using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Tests.Notes;

/// <summary>
/// File 001's model problem: one ReLU neuron g(x, w) = r(w₁x + w₂)·w₃ + w₄ fitted to
/// xᵢ = yᵢ = i/10 (i = 0…10) with l(w) = (1/11)·Σ(g(xᵢ, w) − yᵢ)² (the notes' code divides by the
/// number of points), minimised by (sub)gradient descent with r′(0) = ½.
/// </summary>
public class ReluModelTests
{
    private sealed class OneNeuron : Module
    {
        public OneNeuron(params float[] w) => this.w = new Parameter(Tensor.FromArray(w, 4));

        private readonly Parameter w;

        public Parameter W => w;

        public override Tensor Forward(Tensor x)
        {
            Tensor Wi(int i) => Ops.Narrow(w, 0, i, 1);
            return Ops.Relu(x * Wi(0) + Wi(1)) * Wi(2) + Wi(3);
        }
    }

    private static readonly Tensor X = Tensor.FromArray(Enumerable.Range(0, 11).Select(i => i / 10f).ToArray(), 11, 1);

    private static Tensor Loss(OneNeuron model) => Ops.MseLoss(model.Forward(X), X);

    private static double LossAt(params float[] w)
    {
        using var _ = Autograd.GradMode.NoGrad();
        return Loss(new OneNeuron(w)).Item();
    }

    [Fact]
    public void ReluSubgradient_IsZeroHalfOne()
    {
        var x = Tensor.FromArray([-1f, 0f, 1f], 3);
        x.RequiresGrad = true;
        Ops.Sum(Ops.Relu(x)).Backward();
        Assert.Equal([0f, 0.5f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void FamiliesOfGlobalMinima_HaveLossZero()
    {
        Assert.Equal(0.0, LossAt(1, 0, 1, 0));                        // ŵ: g(x) = r(x) = x on the data
        foreach (float alpha in new[] { 0.5f, 2f, 3f, 10f })
            Assert.True(LossAt(alpha, 0, 1 / alpha, 0) < 1e-12, $"α = {alpha}");   // r(αx)/α = r(x)
        foreach (float beta in new[] { 0.25f, 1f, 2f })
            Assert.True(LossAt(1, beta, 1, -beta) < 1e-12, $"β = {beta}");       // r(x + β) − β = x for x ≥ 0
        Assert.True(LossAt(1, 0, 1.1f, 0) > 0);
    }

    [Fact]
    public void TheLossIsNotConvex()
    {
        // Along (w₁, w₃) from (0, −1) to (2, 1) with w₂ = w₄ = 0 at parameter t: g = 2t(2t − 1)x, so
        // l(t) = 0.35·(4t² − 2t − 1)²  (0.35 = Σxᵢ²/11). l(0) = l(½) = 0.35 but l(¼) = 0.546875:
        // above the chord, which a convex function never is.
        double l0 = LossAt(0, 0, -1, 0), lHalf = LossAt(1, 0, 0, 0), lQuarter = LossAt(0.5f, 0, -0.5f, 0);
        Assert.Equal(0.35, l0, 6);
        Assert.Equal(0.35, lHalf, 6);
        Assert.Equal(0.546875, lQuarter, 6);
        Assert.True(lQuarter > (l0 + lHalf) / 2);
    }

    [Fact]
    public void GradientDescentFromZero_MovesAndLowersTheLoss()
    {
        // At w = 0 every residual is −xᵢ: ∂l/∂w₄ = −2·mean(x) = −1. ∂l/∂w₃ = (2/11)Σ(g − y)·r(0) = 0,
        // and ∂l/∂w₁, ∂l/∂w₂ carry the factor w₃ = 0 — so only w₄ moves, whatever r′(0) is.
        var model = new OneNeuron(0, 0, 0, 0);
        var opt = new Sgd(model.Parameters(), 0.1f);
        Loss(model).Backward();
        Assert.Equal([0f, 0f, 0f, -1f], model.W.Grad!.ToArray());
        opt.Step();
        Assert.Equal([0f, 0f, 0f, 0.1f], model.W.ToArray());
        Assert.Equal(0.26, LossAt(0, 0, 0, 0.1f), 6);     // 0.35 − 0.2·0.5 + 0.01

        // The notes' GD(w0 = 0, lr = 0.1, 200 steps): w₄ → mean(y) = ½, the constant fit with
        // loss var(y) = 0.1. The neuron itself stays dead (w₁ = w₂ = w₃ = 0).
        for (int k = 1; k < 200; k++)
        {
            opt.ZeroGrad();
            Loss(model).Backward();
            opt.Step();
        }
        Assert.Equal(0.5, model.W[3].Item(), 5);
        Assert.Equal(0f, model.W[0].Item());
        Assert.Equal(0.1, LossAt(model.W.ToArray()), 5);
    }

    [Fact]
    public void AtTheKink_TheHalfSubgradientLetsTheNeuronLearn()
    {
        // At w = (0, 0, 1, 0) every pre-activation is exactly 0. With r′(0) = ½:
        // ∂l/∂w₁ = (2/11)Σ(−xᵢ)·1·½·xᵢ = −0.35, ∂l/∂w₂ = (2/11)Σ(−xᵢ)·½ = −0.5,
        // ∂l/∂w₃ = (2/11)Σ(−xᵢ)·r(0) = 0, ∂l/∂w₄ = (2/11)Σ(−xᵢ) = −1.
        var model = new OneNeuron(0, 0, 1, 0);
        Loss(model).Backward();
        var g = model.W.Grad!.ToArray();
        Assert.Equal(-0.35, g[0], 5);
        Assert.Equal(-0.5, g[1], 5);
        Assert.Equal(0.0, g[2], 6);
        Assert.Equal(-1.0, g[3], 5);

        var opt = new Sgd(model.Parameters(), 0.1f);
        double start = LossAt(0, 0, 1, 0);
        for (int k = 0; k < 200; k++)
        {
            opt.ZeroGrad();
            Loss(model).Backward();
            opt.Step();
        }
        Assert.True(LossAt(model.W.ToArray()) < start / 100, $"loss {start} → {LossAt(model.W.ToArray())}");
    }

    [Fact]
    public void AcceleratedGradientDescent_FromOnes_BeatsPlainGradientDescent()
    {
        // The notes compare SubGD and Nesterov from w0 = (1, 1, 1, 1) with lr = 0.1 and 200 steps.
        double Run(Func<Parameter, Optimizer> create, out double first)
        {
            var model = new OneNeuron(1, 1, 1, 1);
            var opt = create(model.W);
            first = LossAt(1, 1, 1, 1);
            for (int k = 0; k < 200; k++)
            {
                opt.ZeroGrad();
                opt.BeforeForward();
                Loss(model).Backward();
                opt.Step();
            }
            return LossAt(model.W.ToArray());
        }
        double gd = Run(p => new Sgd([p], 0.1f), out double start);
        double nesterov = Run(p => new NesterovAccelerated([p], 0.1f), out _);
        Assert.True(gd < start, $"GD {start} → {gd}");
        Assert.True(nesterov < gd, $"Nesterov {nesterov} vs GD {gd}");
    }

    [Fact]
    public void StochasticAccelerated_OnMinibatches_LowersTheLoss()
    {
        // The notes' stochastic Nesterov: the gradient at v from a random minibatch of 3 points.
        var model = new OneNeuron(1, 1, 1, 1);
        var opt = new NesterovAccelerated(model.Parameters(), 0.1f);
        var rng = new Random(123);
        double start = LossAt(1, 1, 1, 1);
        for (int k = 0; k < 300; k++)
        {
            var idx = Enumerable.Range(0, 11).OrderBy(_ => rng.Next()).Take(3).ToArray();
            var xb = Tensor.FromArray(idx.Select(i => i / 10f).ToArray(), 3, 1);
            opt.ZeroGrad();
            opt.BeforeForward();
            Ops.MseLoss(model.Forward(xb), xb).Backward();
            opt.Step();
        }
        Assert.True(LossAt(model.W.ToArray()) < start / 10);
    }
}
