namespace Nabla.Tests.Core;

/// <summary>
/// The computational-graph examples of the backpropagation lecture (seed 003): the add gate
/// distributes, the multiply gate switches, the max gate routes, gradients flowing back into one
/// node add up, and the sigmoid neuron as a chain of primitive gates. In this design intermediate
/// tensors keep their <see cref="Tensor.Grad"/> after Backward, so the values the notes write on
/// the edges of the graph can be checked edge by edge.
/// </summary>
public class NotesGraphTests
{
    private static Tensor S(float v, string name) => new Tensor([v], new Shape()) { RequiresGrad = true, Name = name };

    [Fact]
    public void Add_then_multiply_at_x_minus2_y5_z_minus4()
    {
        // f(x, y, z) = (x + y)·z with q = x + y.
        var x = S(-2, "x");
        var y = S(5, "y");
        var z = S(-4, "z");
        var q = x + y;
        var f = q * z;
        f.Backward();

        Assert.Equal(3f, q.Item());
        Assert.Equal(-12f, f.Item());
        Expect.Grad([1f], f, what: "∂f/∂f");
        Expect.Grad([-4f], q, what: "∂f/∂q = z");   // multiply gate: switches, q receives z
        Expect.Grad([3f], z, what: "∂f/∂z = q");    // … and z receives q
        Expect.Grad([-4f], x, what: "∂f/∂x");       // add gate: distributes ∂f/∂q unchanged
        Expect.Grad([-4f], y, what: "∂f/∂y");
    }

    [Fact]
    public void Sigmoid_neuron_as_a_chain_of_primitive_gates()
    {
        // f(w, x) = 1 / (1 + e^−(w0·x0 + w1·x1 + w2)) with the weighted sum 1:
        // w0 = 2, x0 = −1, w1 = −3, x1 = −2, w2 = −3.
        var w0 = S(2, "w0");
        var x0 = S(-1, "x0");
        var w1 = S(-3, "w1");
        var x1 = S(-2, "x1");
        var w2 = S(-3, "w2");

        var dot = w0 * x0 + w1 * x1 + w2;
        var neg = dot * -1f;        // ×(−1)
        var e = neg.Exp();          // exp
        var den = e + 1f;           // +1
        var f = den.Pow(-1f);       // 1/x
        f.Backward();

        // Forward values along the chain.
        Assert.Equal(1f, dot.Item(), 5);
        Assert.Equal(-1f, neg.Item(), 5);
        Assert.Equal(0.37f, e.Item(), 2);
        Assert.Equal(1.37f, den.Item(), 2);
        Assert.Equal(0.73f, f.Item(), 2);

        // Backward values on the edges, as the notes write them (two decimals).
        const float tol = 0.005f;
        Expect.Grad([-0.53f], den, tol, "1/x gate: −1/1.37² · 1.0");
        Expect.Grad([-0.53f], e, tol, "+1 gate: 1 · (−0.53)");
        Expect.Grad([-0.20f], neg, tol, "exp gate: e^−1 · (−0.53)");
        Expect.Grad([0.20f], dot, tol, "×(−1) gate: −1 · (−0.20)");

        // The whole chain is the sigmoid gate: its local gradient is (1 − 0.73)·0.73 ≈ 0.20.
        float s = f.Item();
        Assert.Equal((1 - s) * s, dot.Grad!.Item(), 5);

        // Into the weights and inputs (multiply gates switch, the add gates distribute).
        Expect.Grad([-0.20f], w0, tol, "∂f/∂w0 = x0 · 0.20");
        Expect.Grad([0.39f], x0, tol, "∂f/∂x0 = w0 · 0.20");
        Expect.Grad([-0.39f], w1, tol, "∂f/∂w1 = x1 · 0.20");
        Expect.Grad([-0.59f], x1, tol, "∂f/∂x1 = w1 · 0.20");
        Expect.Grad([0.20f], w2, tol, "∂f/∂w2 = 0.20");
    }

    [Fact]
    public void Sigmoid_gate_gives_the_same_gradients_as_the_primitive_chain()
    {
        var w = new Tensor([2f, -3f, -3f], new Shape(3)) { RequiresGrad = true };
        var x = Tensor.FromArray([-1f, -2f, 1f]); // the bias w2 as a weight on a constant input 1
        var f = (w * x).Sum().Sigmoid();
        f.Backward();
        Assert.Equal(0.7311f, f.Item(), 4);
        Expect.Grad([-0.1966f, -0.3932f, 0.1966f], w, 1e-4f);
    }

    [Fact]
    public void Max_gate_routes_the_gradient_to_the_larger_input()
    {
        // f = 2·(x·y + max(z, w)) at x = 3, y = −4, z = 2, w = −1: f = −20;
        // the max gate passes its whole gradient to z and none to w.
        var x = S(3, "x");
        var y = S(-4, "y");
        var z = S(2, "z");
        var w = S(-1, "w");
        var m = Ops.Max(Ops.Concat([z.Reshape(1), w.Reshape(1)]), 0);
        var f = (x * y + m) * 2f;
        f.Backward();

        Assert.Equal(-20f, f.Item());
        Expect.Grad([2f], m, what: "∂f/∂max");
        Expect.Grad([-8f], x, what: "∂f/∂x = 2y");
        Expect.Grad([6f], y, what: "∂f/∂y = 2x");
        Expect.Grad([2f], z, what: "∂f/∂z (routed)");
        Expect.Grad([0f], w, what: "∂f/∂w (not the max)");
    }

    [Fact]
    public void Max_over_an_axis_routes_each_column_separately()
    {
        var x = new Tensor([1f, 5f, 3f, 4f, 2f, 6f], new Shape(2, 3)) { RequiresGrad = true };
        var m = x.Max(0); // [4, 5, 6] from rows 1, 0, 1
        Assert.Equal([4f, 5f, 6f], m.ToArray());
        (m * Tensor.FromArray([10f, 20f, 30f])).Sum().Backward();
        Expect.Grad([0f, 20f, 0f, 10f, 0f, 30f], x);
    }

    [Fact]
    public void Gradients_flowing_back_into_one_node_add_up()
    {
        // x feeds two gates; its gradient is the sum of what comes back along both edges.
        var x = S(3, "x");
        var y = S(-2, "y");
        var a = x * y;     // ∂a/∂x = y = −2
        var b = x + y;     // ∂b/∂x = 1
        var f = a + b;
        f.Backward();
        Expect.Grad([-2f + 1f], x);
        Expect.Grad([3f + 1f], y);
    }

    [Fact]
    public void Relu_subgradient_is_half_at_zero()
    {
        // Seed 001: r'(x) is 0 for x < 0, 1 for x > 0, and the notes choose ½ at x = 0.
        var x = new Tensor([-1f, 0f, 1f], new Shape(3)) { RequiresGrad = true };
        var r = x.Relu();
        Assert.Equal([0f, 0f, 1f], r.ToArray());
        r.Sum().Backward();
        Assert.Equal([0f, 0.5f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void Half_sum_squared_error_has_gradient_y_minus_t()
    {
        // Seed 000: C = ½ Σ (t − y)², so ∂C/∂y = y − t (the toy example's output and target).
        var y = new Tensor([0.50f, 0.44f], new Shape(2)) { RequiresGrad = true };
        var t = Tensor.FromArray([0f, 1f]);
        var c = Ops.HalfSumSquaredError(y, t);
        Assert.Equal(0.5f * (0.25f + 0.56f * 0.56f), c.Item(), 6);
        c.Backward();
        Expect.Grad([0.50f, -0.56f], y, 1e-6f);
    }
}
