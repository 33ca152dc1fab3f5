using Nabla.Autograd;

namespace Nabla.Tests.Core;

/// <summary>How the graph records, accumulates and releases gradients.</summary>
public class AutogradTests
{
    private static Tensor Leaf(params float[] values) => new Tensor(values, new Shape(values.Length)) { RequiresGrad = true };

    [Fact]
    public void Tensor_used_twice_in_one_op_gets_both_contributions()
    {
        var x = Leaf(1, 2, -3);
        (x * x).Sum().Backward();
        Expect.Grad([2, 4, -6], x);

        var y = Leaf(1, 2, -3);
        (y + y).Sum().Backward();
        Expect.Grad([2, 2, 2], y);

        var z = Leaf(1, 2, -3);
        (z - z).Sum().Backward();
        Expect.Grad([0, 0, 0], z);
    }

    [Fact]
    public void Gradients_from_two_branches_add_up()
    {
        var x = Leaf(0.5f, -1f);
        var y = x * 3f + x.Exp();
        y.Sum().Backward();
        Expect.Grad([3 + MathF.Exp(0.5f), 3 + MathF.Exp(-1f)], x);
    }

    [Fact]
    public void Diamond_graph_visits_each_node_once()
    {
        // d = (2x + 1)·(6x) = 12x² + 6x, so dd/dx = 24x + 6; a is shared by both branches.
        var x = Leaf(2f);
        var a = x * 2f;
        var b = a + 1f;
        var c = a * 3f;
        var d = b * c;
        d.Backward();
        Assert.Equal(12 * 4 + 12, d.Item());
        Expect.Grad([24 * 2 + 6], x);
        Expect.Grad([12 + 3 * 5], a); // ∂d/∂a = c + 3b with a = 4, b = 5, c = 12
    }

    [Fact]
    public void Leaf_gradients_accumulate_across_backward_calls_and_intermediates_start_afresh()
    {
        var x = Leaf(1f, 2f);
        var q = x * 2f;
        var l1 = q.Sum();
        l1.Backward(retainGraph: true);
        Expect.Grad([2, 2], x);
        Expect.Grad([1, 1], q);

        l1.Backward(); // the same graph again: the leaf accumulates, the intermediate does not
        Expect.Grad([4, 4], x);
        Expect.Grad([1, 1], q);

        (x * x).Sum().Backward(); // a second graph on the same leaf
        Expect.Grad([4 + 2, 4 + 4], x);
    }

    [Fact]
    public void ZeroGrad_clears_and_the_next_pass_starts_from_zero()
    {
        var x = Leaf(1f, -2f);
        (x * x).Sum().Backward();
        (x * x).Sum().Backward();
        Expect.Grad([4, -8], x);
        x.ZeroGrad();
        Assert.Null(x.Grad);
        (x * x).Sum().Backward();
        Expect.Grad([2, -4], x);
    }

    [Fact]
    public void NoGrad_records_nothing()
    {
        var x = Leaf(1f, 2f);
        Assert.True(GradMode.IsEnabled);
        Tensor y, z;
        using (GradMode.NoGrad())
        {
            Assert.False(GradMode.IsEnabled);
            y = (x * x).Exp().Sum();
            using (GradMode.NoGrad()) z = x.Reshape(1, 2).MatMul(x.Reshape(2, 1)).Reshape(1);
            Assert.False(GradMode.IsEnabled); // nested scopes: still off after the inner one ends
        }
        Assert.True(GradMode.IsEnabled);
        foreach (var t in new[] { y, z })
        {
            Assert.False(t.RequiresGrad);
            Assert.Null(t.GradFn);
            Assert.True(t.IsLeaf);
        }
        Assert.Equal(MathF.Exp(1) + MathF.Exp(4), y.Item(), 4);
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("NoGrad", ex.Message);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void NoGrad_is_per_thread()
    {
        using (GradMode.NoGrad())
        {
            bool other = false;
            var thread = new Thread(() => other = GradMode.IsEnabled);
            thread.Start();
            thread.Join();
            Assert.True(other);
        }
    }

    [Fact]
    public void Constant_inputs_get_no_gradient()
    {
        var x = Leaf(1f, 2f, 3f);
        var c = Tensor.FromArray([4f, 5f, 6f]);
        var w = Tensor.FromArray([1f, 1f, 1f]);
        Assert.False(c.RequiresGrad);
        (x * c + w).Sum().Backward();
        Expect.Grad([4, 5, 6], x);
        Assert.Null(c.Grad);
        Assert.Null(w.Grad);

        var k = c * w; // nothing requires gradients: nothing is recorded
        Assert.False(k.RequiresGrad);
        Assert.Null(k.GradFn);
        var ex = Assert.Throws<InvalidOperationException>(() => k.Sum().Backward());
        Assert.Contains("does not require gradients", ex.Message);
    }

    [Fact]
    public void Results_name_their_op()
    {
        var a = Leaf(1f, 2f);
        var b = Leaf(3f, 4f);
        Assert.Equal("Add", (a + b).GradFn);
        Assert.Equal("Mul", (a * b).GradFn);
        Assert.Equal("MatMul", a.Reshape(1, 2).MatMul(b.Reshape(2, 1)).GradFn);
        Assert.Equal("Sum", a.Sum().GradFn);
        Assert.False((a + b).IsLeaf);
        Assert.True(a.IsLeaf);
        Assert.Null(a.GradFn);
    }

    [Fact]
    public void Backward_on_a_non_scalar_without_gradient_says_why()
    {
        var x = new Tensor(new Shape(2, 3)) { RequiresGrad = true };
        var y = x * 2f;
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("scalar", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);

        // With an explicit output gradient it works and weights the elements.
        y.Backward(Tensor.Full(0.5f, 2, 3));
        Expect.Grad([1, 1, 1, 1, 1, 1], x);

        var bad = Assert.Throws<ShapeMismatchException>(() => y.Backward(Tensor.Ones(3, 2)));
        Assert.Contains("Backward", bad.Message);
        Assert.Contains("[3, 2]", bad.Message);
    }

    [Fact]
    public void Detach_shares_data_and_stops_the_gradient()
    {
        var x = Leaf(2f, -3f);
        var d = x.Detach();
        Assert.False(d.RequiresGrad);
        Assert.True(d.IsLeaf);
        Assert.Equal(x.ToArray(), d.ToArray());
        (x * d).Sum().Backward(); // d is a constant: ∂/∂x = d, not 2x
        Expect.Grad([2f, -3f], x);
        Assert.Null(d.Grad);

        d.Data[0] = 7f; // storage is shared, like PyTorch's detach
        Assert.Equal(7f, x.Data[0]);

        var y = (x * 2f).Detach();
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
    }

    [Fact]
    public void Clone_copies_without_history()
    {
        var x = Leaf(1f, 2f);
        var c = (x * 2f).Clone();
        Assert.False(c.RequiresGrad);
        c.Data[0] = 9f;
        Assert.Equal(1f, x.Data[0]);
    }

    [Fact]
    public void Long_chains_do_not_overflow_the_stack()
    {
        var x = Leaf(0f);
        var y = x;
        for (int i = 0; i < 20_000; i++) y = y + 1f;
        y.Backward();
        Assert.Equal(20_000f, y.Item());
        Expect.Grad([1f], x);
    }

    [Fact]
    public void Backward_from_a_leaf_seeds_its_own_gradient()
    {
        var x = new Tensor([3f], new Shape()) { RequiresGrad = true };
        x.Backward();
        Expect.Grad([1f], x);
    }

    [Fact]
    public void NaN_inputs_give_NaN_gradients_instead_of_exceptions()
    {
        // A diverged step must surface as NaN (which training can detect), not as an exception from Backward.
        var x = Leaf(float.NaN, -2f, 0f);
        x.Abs().Sum().Backward();
        Assert.True(float.IsNaN(x.Grad!.Data[0]));
        Assert.Equal([-1f, 0f], x.Grad!.ToArray()[1..]);

        var p = Leaf(float.NaN, 3f);
        Ops.SmoothL1Loss(p, Tensor.FromArray([0f, 0f])).Backward();
        Assert.True(float.IsNaN(p.Grad!.Data[0]));
        Assert.Equal(0.5f, p.Grad!.Data[1]);
    }

    [Fact]
    public void Gradient_is_exactly_zero_through_step()
    {
        var x = Leaf(-1f, 0f, 0.5f, 2f);
        var y = Ops.Step(x);
        Assert.Equal([0f, 0f, 1f, 1f], y.ToArray());
        (y * 3f).Sum().Backward();
        Assert.Equal([0f, 0f, 0f, 0f], x.Grad!.ToArray());
    }
}
