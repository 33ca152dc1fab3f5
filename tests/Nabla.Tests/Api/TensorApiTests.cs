using Nabla.Autograd;
using Nabla.Losses;

namespace Nabla.Tests.Api;

/// <summary>The PyTorch-style tensor API: values checked against what PyTorch gives for the same calls.</summary>
public class TensorApiTests
{
    private static Tensor M34() => Tensor.Arange(12).Reshape(3, 4); // [[0,1,2,3],[4,5,6,7],[8,9,10,11]]

    [Fact]
    public void Indexing_and_slicing_follow_pytorch()
    {
        var t = M34();
        Assert.Equal([4], t[0].Shape.ToArray());
        Assert.Equal([4f, 5f, 6f, 7f], t[1].ToArray());
        Assert.Equal([8f, 9f, 10f, 11f], t[-1].ToArray());
        Assert.Equal([1f, 5f, 9f], t[.., 1].ToArray()); // t[:, 1]
        Assert.Equal([3], t[.., 1].Shape.ToArray());
        var block = t[1..3, ^2..]; // t[1:3, -2:]
        Assert.Equal([2, 2], block.Shape.ToArray());
        Assert.Equal([6f, 7f, 10f, 11f], block.ToArray());
        Assert.Equal(6f, t[1][2].Item());
        Assert.Equal(6f, (float)t[1, 2]);
        Assert.Equal([0f, 2f], t[0][TensorIndex.Slice(0, ^0, 2)][..2].ToArray());
        Assert.Equal([0, 4], t[5..].Shape.ToArray()); // clipped like Python slices
        var ex = Assert.Throws<IndexOutOfRangeException>(() => t[3]);
        Assert.Contains("axis 0", ex.Message);
        Assert.Throws<ArgumentException>(() => t[0, 1, 2]);
    }

    [Fact]
    public void Indexing_copies_and_reshape_views_share_storage()
    {
        var t = M34();
        var row = t[0];
        row.Data[0] = 100f;
        Assert.Equal(0f, t[0, 0]); // indexing copies
        var view = t.View(12);
        view.Data[0] = 100f;
        Assert.Equal(100f, t[0, 0]); // view / reshape / unsqueeze share
        t.Unsqueeze(0).Data[1] = 50f;
        Assert.Equal(50f, t[0, 1]);
    }

    [Fact]
    public void Indexed_assignment_broadcasts_and_refuses_a_leaf_that_requires_grad()
    {
        var t = Tensor.Zeros(2, 3);
        t[.., 1] = Tensor.Scalar(7f);
        t[1] = Tensor.FromArray([1f, 2f, 3f]);
        Assert.Equal([0f, 7f, 0f, 1f, 2f, 3f], t.ToArray());
        var w = new Tensor(new Shape(2)) { RequiresGrad = true };
        Assert.Throws<InvalidOperationException>(() => w[0] = Tensor.Scalar(1f));
        using (GradMode.NoGrad()) w[0] = Tensor.Scalar(1f);
        Assert.Equal(1f, w[0].Item());
    }

    [Fact]
    public void Shape_ops_match_pytorch()
    {
        var x = Tensor.Zeros(3, 1, 4, 1);
        Assert.Equal([3, 4], x.Squeeze().Shape.ToArray());
        Assert.Equal([3, 4, 1], x.Squeeze(1).Shape.ToArray());
        Assert.Equal([3, 1, 4, 1], x.Squeeze(0).Shape.ToArray()); // not size 1: unchanged
        Assert.Equal([1, 3, 1, 4, 1], x.Unsqueeze(0).Shape.ToArray());
        Assert.Equal([3, 1, 4, 1, 1], x.Unsqueeze(-1).Shape.ToArray());
        var a = Tensor.FromArray([1f, 2f]);
        var b = Tensor.FromArray([3f, 4f]);
        var s0 = Ops.Stack([a, b]);
        Assert.Equal([2, 2], s0.Shape.ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], s0.ToArray());
        Assert.Equal([1f, 3f, 2f, 4f], Ops.Stack([a, b], 1).ToArray());
        Assert.Equal([1f, 2f, 3f, 4f], Ops.Cat([a, b]).ToArray());
        var parts = Tensor.Arange(5).Split(2);
        Assert.Equal([2, 2, 1], parts.Select(p => p.Length).ToArray());
        Assert.Equal([4f], parts[2].ToArray());
        Assert.Equal([3, 3], Tensor.Arange(6).Chunk(2).Select(p => p.Length).ToArray());
        Assert.Equal([2, 2, 2], Tensor.Arange(6).Chunk(3).Select(p => p.Length).ToArray());
        Assert.Equal([1, 1], Ops.Split(Tensor.Arange(2), [1, 1]).Select(p => p.Length).ToArray());
        Assert.Throws<ArgumentException>(() => Ops.Split(Tensor.Arange(3), [1, 1]));
    }

    [Fact]
    public void Gather_scatter_add_and_index_select_match_pytorch()
    {
        var t = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        // torch.gather(t, 1, [[0,0],[1,0]]) = [[1,1],[4,3]]
        Assert.Equal([1f, 1f, 4f, 3f], t.Gather(1, Tensor.FromArray([0f, 0f, 1f, 0f], 2, 2)).ToArray());
        // zeros(3,5).scatter_add(0, [[0,1,2,0,0],[2,0,0,1,2]], ones(2,5)) = [[1,1,1,1,1]... sums]
        var sa = Tensor.Zeros(3, 5).ScatterAdd(0, Tensor.FromArray([0f, 1f, 2f, 0f, 0f, 2f, 0f, 0f, 1f, 2f], 2, 5), Tensor.Ones(2, 5));
        Assert.Equal([1f, 1f, 1f, 1f, 1f, 0f, 1f, 0f, 1f, 0f, 1f, 0f, 1f, 0f, 1f], sa.ToArray());
        Assert.Equal([3f, 4f, 1f, 2f, 3f, 4f], t.IndexSelect(0, [1, 0, 1]).ToArray());
        Assert.Equal([2f, 4f], t.IndexSelect(1, Tensor.FromArray([1f])).ToArray());
        var ex = Assert.Throws<IndexOutOfRangeException>(() => t.Gather(1, Tensor.FromArray([0f, 2f, 0f, 0f], 2, 2)));
        Assert.Contains("Gather", ex.Message);
        Assert.Throws<IndexOutOfRangeException>(() => t.IndexSelect(0, Tensor.FromArray([0.5f])));
    }

    [Fact]
    public void Comparisons_return_masks_and_where_selects()
    {
        var a = Tensor.FromArray([1f, 2f, 3f]);
        var b = Tensor.FromArray([3f, 2f, 1f]);
        Assert.Equal([0f, 0f, 1f], (a > b).ToArray());
        Assert.Equal([0f, 1f, 1f], (a >= b).ToArray());
        Assert.Equal([1f, 0f, 0f], (a < b).ToArray());
        Assert.Equal([1f, 1f, 0f], (a <= 2f).ToArray());
        Assert.Equal([0f, 1f, 0f], a.Eq(b).ToArray());
        Assert.Equal([1f, 0f, 1f], a.Ne(b).ToArray());
        Assert.Null((a > b).GradFn);
        Assert.Equal([3f, 2f, 3f], Ops.Where(a > b, a, b).ToArray());
        Assert.Equal([3f, 2f, 3f], Ops.Maximum(a, b).ToArray());
        Assert.Equal([1f, 2f, 1f], Ops.Minimum(a, b).ToArray());
        Assert.Equal([0f, 2f, 3f], Ops.Where(a > 1.5f, a, 0f).ToArray());
        Assert.Equal([1.5f, 2f, 2.5f], a.Clamp(1.5f, 2.5f).ToArray());
        Assert.Equal([1f, 2f, 2f], a.Clamp(max: 2f).ToArray());
        // The untaken branch's infinity stays out of the result; each branch gets the gradient only where it was taken.
        Assert.Equal([0f, 0f, MathF.Log(2f)], Ops.Where(a > 1.5f, (a - 1f).Log(), 0f).ToArray()); // log(0) = −∞ not taken
        var u = new Tensor(new[] { 1f, 2f, 3f }, new Shape(3)) { RequiresGrad = true };
        var w = new Tensor(new[] { 4f, 5f, 6f }, new Shape(3)) { RequiresGrad = true };
        Ops.Where(Tensor.FromArray([1f, 0f, 1f]), u, w).Sum().Backward();
        Assert.Equal([1f, 0f, 1f], u.Grad!.ToArray());
        Assert.Equal([0f, 1f, 0f], w.Grad!.ToArray());
    }

    [Fact]
    public void Argmax_max_with_indices_and_statistics_match_pytorch()
    {
        var t = Tensor.FromArray([1f, 5f, 3f, 7f, 2f, 0f], 2, 3);
        Assert.Equal(3f, t.ArgMax().Item()); // flat, as torch.argmax(t)
        Assert.Equal([1f, 0f], t.ArgMax(1).ToArray());
        Assert.Equal([2, 1], t.ArgMax(1, keepDim: true).Shape.ToArray());
        Assert.Equal([0f, 2f], t.ArgMin(1).ToArray());
        var (values, indices) = t.MaxWithIndices(0);
        Assert.Equal([7f, 5f, 3f], values.ToArray());
        Assert.Equal([1f, 0f, 0f], indices.ToArray());
        Assert.Equal(0f, t.Min().Item());
        // torch.tensor([1.,2.,3.,4.]).var() = 1.6667, std = 1.2910; var(unbiased=False) = 1.25
        var v = Tensor.FromArray([1f, 2f, 3f, 4f]);
        Assert.Equal(1.666667f, v.Var().Item(), 5);
        Assert.Equal(1.25f, v.Var(correction: 0).Item(), 5);
        Assert.Equal(1.290994f, v.Std().Item(), 5);
        Assert.Equal([18f, 4.5f, 4.5f], t.Var(0).ToArray(), new FloatTolerance(1e-4f)); // columns (1,7), (5,2), (3,0)
        Assert.Equal(5.477226f, v.Norm().Item(), 5); // sqrt(30)
        Assert.Equal(10f, v.Norm(1f).Item(), 5);
        Assert.Equal([5f, 5f], Tensor.FromArray([3f, 4f, 0f, 5f], 2, 2).Norm(2f, 1).ToArray());
        var z = new Tensor(new float[3], new Shape(3)) { RequiresGrad = true };
        z.Norm().Backward();
        Assert.Equal([0f, 0f, 0f], z.Grad!.ToArray()); // subgradient 0 at 0, not NaN
        Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f]).Var());
    }

    [Fact]
    public void Creation_takes_the_shape_first_and_the_seed_by_name()
    {
        Assert.Equal([2, 5], Tensor.Randn(2, 5).Shape.ToArray());
        Assert.Equal(Tensor.Randn([2, 5], seed: 3).ToArray(), Tensor.Randn([2, 5], seed: 3).ToArray());
        Assert.NotEqual(Tensor.Randn([2, 5], seed: 3).ToArray(), Tensor.Randn([2, 5], seed: 4).ToArray());
        Tensor.ManualSeed(9);
        var first = Tensor.Randn(4).ToArray();
        Tensor.ManualSeed(9);
        Assert.Equal(first, Tensor.Randn(4).ToArray());
        var gen = new Random(1);
        Assert.NotEqual(Tensor.Rand([3], generator: gen).ToArray(), Tensor.Rand([3], generator: gen).ToArray());
        Assert.All(Tensor.Rand([100], seed: 1).ToArray(), v => Assert.InRange(v, 0f, 1f));
        Assert.All(Tensor.RandInt(2, 5, [100], seed: 1).ToArray(), v => Assert.Contains(v, new[] { 2f, 3f, 4f }));
        Assert.Equal([7f, 7f], Tensor.Full([2], 7f).ToArray());
        Assert.Equal([1f, 0f, 0f, 1f], Tensor.Eye(2).ToArray());
        Assert.Equal([0f, 0.5f, 1f], Tensor.Linspace(0, 1, 3).ToArray());
        Assert.Throws<ArgumentException>(() => Tensor.Randn([2], seed: 1, generator: new Random(1)));
    }

    [Fact]
    public void Small_tensors_print_in_full_and_options_change_it()
    {
        var s = Tensor.Arange(20).ToString();
        Assert.DoesNotContain("...", s);
        Assert.Contains("19", s);
        var saved = Tensor.PrintOptions;
        try
        {
            Tensor.PrintOptions = new TensorPrintOptions { Threshold = 10, EdgeItems = 2, Precision = 2 };
            var abbreviated = Tensor.Arange(20).ToString();
            Assert.Contains("[0, 1, ..., 18, 19]", abbreviated);
            Assert.Contains("3.14", Tensor.FromArray([3.14159f]).ToString());
            Assert.DoesNotContain("3.141", Tensor.FromArray([3.14159f]).ToString());
            Assert.DoesNotContain("...", Tensor.Arange(20).ToString(TensorPrintOptions.Full));
        }
        finally { Tensor.PrintOptions = saved; }
    }

    [Fact]
    public void Backward_twice_throws_unless_the_graph_was_retained()
    {
        var x = new Tensor(new[] { 1f, 2f }, new Shape(2)) { RequiresGrad = true };
        var loss = (x * x).Sum();
        loss.Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("retainGraph", ex.Message);
        Assert.Equal([2f, 4f], x.Grad!.ToArray()); // nothing added by the refused pass

        var y = new Tensor(new[] { 1f, 2f }, new Shape(2)) { RequiresGrad = true };
        var l2 = (y * y).Sum();
        l2.Backward(retainGraph: true);
        l2.Backward();
        Assert.Equal([4f, 8f], y.Grad!.ToArray());
    }

    [Fact]
    public void Loss_reductions_follow_pytorch_and_multi_margin_is_hinge_over_classes()
    {
        var scores = Tensor.FromArray([0.1f, 0.2f, 0.4f, 0.8f], 1, 4);
        int[] target = [3];
        // torch.nn.functional.multi_margin_loss([[0.1,0.2,0.4,0.8]], [3]) = 0.3250 (the PyTorch docs' example)
        Assert.Equal(0.325f, new MultiMarginLoss().Forward(scores, target).Item(), 5);
        Assert.Equal(1.3f, new MultiClassHingeLoss().Forward(scores, target).Item(), 5); // C × 0.325
        var logits = Tensor.FromArray([1f, 2f, 0f, 0f, 0f, 3f], 2, 3);
        var none = new CrossEntropyLoss(Reduction.None).Forward(logits, [1, 2]);
        Assert.Equal([2], none.Shape.ToArray());
        float mean = new CrossEntropyLoss().Forward(logits, [1, 2]).Item();
        float sum = new CrossEntropyLoss(Reduction.Sum).Forward(logits, [1, 2]).Item();
        Assert.Equal(mean, none.Mean().Item(), 5);
        Assert.Equal(sum, none.Sum().Item(), 5);
        var p = Tensor.FromArray([0f, 2f, 5f]);
        var q = Tensor.FromArray([0f, 0f, 0f]);
        // smooth_l1_loss(p, q, reduction='none', beta=1) = [0, 1.5, 4.5]
        Assert.Equal([0f, 1.5f, 4.5f], new SmoothL1Loss(reduction: Reduction.None).Forward(p, q).ToArray());
        Assert.Equal(6f, new SmoothL1Loss(reduction: Reduction.Sum).Forward(p, q).Item());
        Assert.Equal([0f, 4f, 25f], new MseLoss(Reduction.None).Forward(p, q).ToArray());
        Assert.Equal(new NllLoss(Reduction.None).Forward(logits.LogSoftmax(), [1, 2]).ToArray(), none.ToArray(), new FloatTolerance(1e-5f));
        var bce = new BceWithLogitsLoss(Reduction.None).Forward(Tensor.FromArray([0f]), Tensor.FromArray([1f]));
        Assert.Equal(MathF.Log(2f), bce.Item(), 5);
    }

    private sealed class FloatTolerance(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => MathF.Abs(a - b) <= tol;
        public int GetHashCode(float v) => 0;
    }
}
