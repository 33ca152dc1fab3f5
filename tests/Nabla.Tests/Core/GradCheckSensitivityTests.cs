using Nabla.Autograd;
using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Core;

/// <summary>
/// GradCheck must be able to fail. Each case pairs a real op with a deliberately broken twin
/// (same forward, a wrong backward recorded through the internal <c>Graph.Record</c>): a flipped
/// sign, a transposed gradient, a factor of 2, a missing term, a missing broadcast reduction, an
/// assignment instead of accumulation, a 5 % error. With the default step and tolerance the right
/// rule must pass with a wide margin and the wrong one fail with a wide margin.
/// </summary>
public class GradCheckSensitivityTests
{
    private const double Tolerance = 1e-2; // GradCheck's default

    private sealed record Pair(Func<Tensor[], Tensor> Right, Func<Tensor[], Tensor> Wrong, Func<Tensor[]> Inputs, double WrongAtLeast, int WrongInput);

    private static readonly Dictionary<string, Pair> Pairs = new()
    {
        ["Mul, flipped sign on the left gradient"] = new(t => t[0] * t[1], t => MulFlippedSign(t[0], t[1]), () => [N(1, 3, 4), N(2, 3, 4)], 1.0, 0),
        ["Linear, transposed weight gradient"] = new(t => Ops.Linear(t[0], t[1], null), t => LinearTransposedWeightGradient(t[0], t[1]), () => [N(3, 3, 4), N(4, 4, 4)], 0.3, 1),
        ["MatMul, dA = dC·B instead of dC·Bᵀ"] = new(t => t[0].MatMul(t[1]), t => MatMulUntransposedLeftGradient(t[0], t[1]), () => [N(5, 3, 3), N(6, 3, 3)], 0.3, 0),
        ["Square, factor-2 error (x instead of 2x)"] = new(t => t[0].Pow(2f), t => SquareHalfGradient(t[0]), () => [N(7, 2, 5)], 0.4, 0),
        ["Mean, forgets the 1/N"] = new(t => t[0].Mean(), t => MeanWithoutDivide(t[0]), () => [N(8, 2, 3)], 0.8, 0),
        ["Softmax, drops the −⟨g,y⟩ term"] = new(t => t[0].Softmax(), t => SoftmaxWithoutDotTerm(t[0]), () => [N(9, 3, 4)], 0.3, 0),
        ["Sigmoid, σ instead of σ(1−σ)"] = new(t => t[0].Sigmoid(), t => SigmoidWrongDerivative(t[0]), () => [N(10, 3, 4)], 0.3, 0),
        ["Add [4,3]+[3], no sum over the broadcast rows"] = new(t => t[0] + t[1], t => AddWithoutBroadcastReduction(t[0], t[1]), () => [N(11, 4, 3), N(12, 3)], 0.5, 1),
        ["Mul x·x, assigns instead of accumulating"] = new(t => t[0] * t[0], t => MulAssigning(t[0], t[0]), () => [N(13, 3, 3)], 0.4, 0),
        ["Exp, 5 % too large"] = new(t => t[0].Exp(), t => ExpFivePercentOff(t[0]), () => [N(14, 3, 4)], 3 * Tolerance, 0),
        ["Div, forgets the gradient of the divisor"] = new(t => t[0] / t[1], t => DivWithoutDivisorGradient(t[0], t[1]), () => [N(15, 2, 3), AwayFromZero(16, 0.5f, 2, 3)], 0.9, 1),
    };

    public static TheoryData<string> Names => new(Pairs.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Right_rule_passes_with_margin(string name)
    {
        var p = Pairs[name];
        var r = GradCheck.Check(p.Right, p.Inputs());
        Assert.True(r.Passed, $"{name}: {r}");
        Assert.True(r.MaxRelativeError <= Tolerance / 4, $"{name}: passes without margin: {r}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Wrong_rule_fails_with_margin(string name)
    {
        var p = Pairs[name];
        var r = GradCheck.Check(p.Wrong, p.Inputs());
        Assert.False(r.Passed, $"{name}: the broken rule passed: {r}");
        Assert.True(r.MaxRelativeError >= p.WrongAtLeast, $"{name}: fails only narrowly: {r}");
        Assert.Equal(p.WrongInput, r.WorstInput);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Broken_twin_has_the_same_forward(string name)
    {
        var p = Pairs[name];
        var inputs = p.Inputs();
        Expect.Close(p.Right(inputs).ToArray(), p.Wrong(inputs).Data, 1e-5f, name);
    }

    [Fact]
    public void A_missing_gradient_is_caught()
    {
        // Records a backward for the first input only; the second silently gets no gradient.
        static Tensor Forgetful(Tensor a, Tensor b)
        {
            var r = new Tensor(a.Shape);
            for (int i = 0; i < r.Length; i++) r.Data[i] = a.Data[i] * b.Data[i];
            return Graph.Record(r, "Forgetful", [a, b], g =>
            {
                var ga = a.GradBuffer().Data;
                for (int i = 0; i < r.Length; i++) ga[i] += g.Data[i] * b.Data[i];
            });
        }
        var res = GradCheck.Check(t => Forgetful(t[0], t[1]), [N(20, 2, 3), N(21, 2, 3)]);
        Assert.False(res.Passed, res.ToString());
        Assert.Equal(1, res.WorstInput);
        Assert.Equal(0.0, res.Analytic);
        Assert.Contains("FAILED", res.ToString());
    }

    [Fact]
    public void Check_restores_the_inputs_and_sets_requires_grad()
    {
        var a = N(22, 3, 4);
        var b = N(23, 4);
        var before = (a.ToArray(), b.ToArray());
        var r = GradCheck.Check(t => (t[0] * t[1]).Tanh(), [a, b]);
        Assert.True(r.Passed, r.ToString());
        Assert.Contains("passed", r.ToString());
        Assert.Equal(before.Item1, a.ToArray());
        Assert.Equal(before.Item2, b.ToArray());
        Assert.True(a.RequiresGrad && b.RequiresGrad);
    }

    [Fact]
    public void Upstream_gradient_is_not_uniform()
    {
        // With an all-ones upstream, Σ softmax = 1 makes every gradient zero and hides the
        // missing term; the random upstream of GradCheck must expose it even then.
        var r = GradCheck.Check(t => SoftmaxWithoutDotTerm(t[0]), [N(24, 2, 4)]);
        Assert.False(r.Passed, r.ToString());
    }

    // ------------------------------------------------------------------ broken twins

    private static Tensor Map(Tensor a, Func<int, float> value)
    {
        var r = new Tensor(a.Shape);
        for (int i = 0; i < r.Length; i++) r.Data[i] = value(i);
        return r;
    }

    private static Tensor MulFlippedSign(Tensor a, Tensor b)
    {
        var r = Map(a, i => a.Data[i] * b.Data[i]);
        return Graph.Record(r, "BrokenMul", [a, b], g =>
        {
            var ga = a.GradBuffer().Data;
            var gb = b.GradBuffer().Data;
            for (int i = 0; i < r.Length; i++)
            {
                ga[i] -= g.Data[i] * b.Data[i]; // wrong: the sign
                gb[i] += g.Data[i] * a.Data[i];
            }
        });
    }

    private static Tensor MulAssigning(Tensor a, Tensor b)
    {
        var r = Map(a, i => a.Data[i] * b.Data[i]);
        return Graph.Record(r, "BrokenMul", [a, b], g =>
        {
            var ga = a.GradBuffer().Data;
            for (int i = 0; i < r.Length; i++) ga[i] = g.Data[i] * b.Data[i]; // wrong: '=' loses the other path
            var gb = b.GradBuffer().Data;
            for (int i = 0; i < r.Length; i++) gb[i] = g.Data[i] * a.Data[i];
        });
    }

    // y = x·Wᵀ with x [N, in], W [out, in]; dW should be dyᵀ·x, this one writes its transpose.
    private static Tensor LinearTransposedWeightGradient(Tensor x, Tensor w)
    {
        int n = x.Shape[0], fin = x.Shape[1], fout = w.Shape[0];
        var y = new Tensor(new Shape(n, fout));
        for (int s = 0; s < n; s++)
            for (int o = 0; o < fout; o++)
            {
                float acc = 0;
                for (int i = 0; i < fin; i++) acc += x[s, i] * w[o, i];
                y[s, o] = acc;
            }
        return Graph.Record(y, "BrokenLinear", [x, w], g =>
        {
            var gx = x.GradBuffer();
            var gw = w.GradBuffer();
            for (int s = 0; s < n; s++)
                for (int o = 0; o < fout; o++)
                    for (int i = 0; i < fin; i++)
                    {
                        gx[s, i] += g[s, o] * w[o, i];
                        gw[i, o] += g[s, o] * x[s, i]; // wrong: [i, o] instead of [o, i]
                    }
        });
    }

    private static Tensor MatMulUntransposedLeftGradient(Tensor a, Tensor b)
    {
        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        var c = new Tensor(new Shape(m, n));
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float acc = 0;
                for (int p = 0; p < k; p++) acc += a[i, p] * b[p, j];
                c[i, j] = acc;
            }
        return Graph.Record(c, "BrokenMatMul", [a, b], g =>
        {
            var ga = a.GradBuffer();
            var gb = b.GradBuffer();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++)
                    {
                        ga[i, p] += g[i, j] * b[j, p]; // wrong: B[j,p] instead of B[p,j] (needs k == n)
                        gb[p, j] += a[i, p] * g[i, j];
                    }
        });
    }

    private static Tensor SquareHalfGradient(Tensor x)
    {
        var r = Map(x, i => x.Data[i] * x.Data[i]);
        return Graph.Record(r, "BrokenSquare", [x], g =>
        {
            var gx = x.GradBuffer().Data;
            for (int i = 0; i < r.Length; i++) gx[i] += g.Data[i] * x.Data[i]; // wrong: missing factor 2
        });
    }

    private static Tensor MeanWithoutDivide(Tensor x)
    {
        var r = Ops.Mean(x.Detach());
        return Graph.Record(r, "BrokenMean", [x], g =>
        {
            var gx = x.GradBuffer().Data;
            for (int i = 0; i < gx.Length; i++) gx[i] += g.Data[0]; // wrong: missing 1/N
        });
    }

    private static Tensor SoftmaxWithoutDotTerm(Tensor x)
    {
        var y = Ops.Softmax(x.Detach());
        return Graph.Record(y, "BrokenSoftmax", [x], g =>
        {
            var gx = x.GradBuffer().Data;
            for (int i = 0; i < gx.Length; i++) gx[i] += y.Data[i] * g.Data[i]; // wrong: y⊙g, not y⊙(g − ⟨g,y⟩)
        });
    }

    private static Tensor SigmoidWrongDerivative(Tensor x)
    {
        var y = Ops.Sigmoid(x.Detach());
        return Graph.Record(y, "BrokenSigmoid", [x], g =>
        {
            var gx = x.GradBuffer().Data;
            for (int i = 0; i < gx.Length; i++) gx[i] += g.Data[i] * y.Data[i]; // wrong: σ, not σ(1−σ)
        });
    }

    private static Tensor AddWithoutBroadcastReduction(Tensor a, Tensor b)
    {
        int cols = a.Shape[1];
        var r = Map(a, i => a.Data[i] + b.Data[i % cols]);
        return Graph.Record(r, "BrokenAdd", [a, b], g =>
        {
            var ga = a.GradBuffer().Data;
            for (int i = 0; i < ga.Length; i++) ga[i] += g.Data[i];
            var gb = b.GradBuffer().Data;
            for (int j = 0; j < cols; j++) gb[j] += g.Data[j]; // wrong: only row 0, not the sum over rows
        });
    }

    private static Tensor ExpFivePercentOff(Tensor x)
    {
        var y = Ops.Exp(x.Detach());
        return Graph.Record(y, "BrokenExp", [x], g =>
        {
            var gx = x.GradBuffer().Data;
            for (int i = 0; i < gx.Length; i++) gx[i] += 1.05f * g.Data[i] * y.Data[i]; // wrong: 5 %
        });
    }

    private static Tensor DivWithoutDivisorGradient(Tensor a, Tensor b)
    {
        var r = Map(a, i => a.Data[i] / b.Data[i]);
        return Graph.Record(r, "BrokenDiv", [a, b], g =>
        {
            var ga = a.GradBuffer().Data;
            for (int i = 0; i < ga.Length; i++) ga[i] += g.Data[i] / b.Data[i];
            _ = b.GradBuffer(); // wrong: the divisor's gradient −a/b² is never added
        });
    }
}
