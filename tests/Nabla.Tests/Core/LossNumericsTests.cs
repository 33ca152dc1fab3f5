namespace Nabla.Tests.Core;

/// <summary>Values of the losses and the numerical stability of softmax and the fused losses at extreme logits.</summary>
public class LossNumericsTests
{
    private static void AllFinite(Tensor t, string what)
    {
        foreach (float v in t.ToArray())
            if (!float.IsFinite(v)) Assert.Fail($"{what}: {v} in {t}");
    }

    [Fact]
    public void Softmax_is_stable_for_huge_logits()
    {
        var z = Tensor.FromArray([1e4f, -1e4f, 0f, 1e4f, 1e4f, -1e4f], 2, 3);
        var s = z.Softmax();
        AllFinite(s, "softmax");
        Expect.Values([2, 3], [1, 0, 0, 0.5f, 0.5f, 0], s, 1e-6f);
        var ls = z.LogSoftmax();
        AllFinite(ls, "log-softmax");
        Expect.Values([2, 3], [0, -2e4f, -1e4f, -MathF.Log(2), -MathF.Log(2), -2e4f - MathF.Log(2)], ls, 1e-2f);

        // Rows of softmax sum to 1, also over axis 0; shifting the logits changes nothing.
        var r = Tensor.Randn([4, 5], seed: 3) * 3f;
        var p0 = r.Softmax(0).Sum(0);
        Expect.Close(Enumerable.Repeat(1f, 5).ToArray(), p0.Data, 1e-5f, "columns");
        Expect.Close(r.Softmax().ToArray(), (r + 1000f).Softmax().Data, 1e-5f, "shift invariance");
    }

    [Fact]
    public void Softmax_gradient_is_finite_for_huge_logits()
    {
        var z = new Tensor([1e4f, -1e4f, 0f], new Shape(1, 3)) { RequiresGrad = true };
        (z.Softmax() * Tensor.FromArray([1f, 2f, 3f], 1, 3)).Sum().Backward();
        AllFinite(z.Grad!, "softmax gradient");
    }

    [Fact]
    public void CrossEntropy_equals_minus_mean_log_softmax_at_the_target()
    {
        var z = Tensor.Randn([4, 6], seed: 5) * 2f;
        int[] t = [0, 5, 2, 2];
        float expected = 0;
        var ls = z.LogSoftmax();
        for (int i = 0; i < 4; i++) expected -= ls[i, t[i]] / 4;
        Assert.Equal(expected, Ops.CrossEntropy(z, t).Item(), 5);
        Assert.Equal(expected * 4, Ops.CrossEntropy(z, t, Reduction.Sum).Item(), 4);
        Assert.Equal(expected, Ops.NllLoss(ls, t).Item(), 5);

        // The distribution form with one-hot targets gives the same loss.
        var oneHot = Tensor.Zeros(4, 6);
        for (int i = 0; i < 4; i++) oneHot[i, t[i]] = 1f;
        Assert.Equal(expected, Ops.CrossEntropy(z, oneHot).Item(), 5);
    }

    [Fact]
    public void CrossEntropy_is_stable_for_huge_logits()
    {
        var z = new Tensor([1e4f, -1e4f, 0f, -1e4f, 1e4f, 0f], new Shape(2, 3)) { RequiresGrad = true };
        var loss = Ops.CrossEntropy(z, [0, 0]); // row 0 right with certainty, row 1 wrong by 2e4
        Assert.True(float.IsFinite(loss.Item()));
        Assert.Equal(1e4f, loss.Item(), 1);
        var ls = z.LogSoftmax();
        Assert.Equal(-(ls[0, 0] + ls[1, 0]) / 2, loss.Item(), 1);
        loss.Backward();
        AllFinite(z.Grad!, "cross-entropy gradient");
        // (softmax − onehot)/N: row 0 ≈ 0, row 1 = [−1, 1, 0]/2
        Expect.Close([0, 0, 0, -0.5f, 0.5f, 0], z.Grad!.Data, 1e-6f);

        var zd = new Tensor(z.ToArray(), z.Shape) { RequiresGrad = true };
        var onehot = Tensor.FromArray([1f, 0f, 0f, 1f, 0f, 0f], 2, 3);
        var l2 = Ops.CrossEntropy(zd, onehot);
        Assert.Equal(1e4f, l2.Item(), 1);
        l2.Backward();
        AllFinite(zd.Grad!, "distribution cross-entropy gradient");
    }

    [Fact]
    public void CrossEntropy_gradient_is_softmax_minus_onehot_over_n()
    {
        var z = new Tensor(Tensor.Randn([3, 4], seed: 9).ToArray(), new Shape(3, 4)) { RequiresGrad = true };
        int[] t = [3, 1, 0];
        Ops.CrossEntropy(z, t).Backward();
        var p = z.Detach().Softmax();
        for (int i = 0; i < 3; i++) p[i, t[i]] -= 1f;
        Expect.Close((p / 3f).ToArray(), z.Grad!.Data, 1e-6f);
    }

    [Fact]
    public void Bce_with_logits_equals_bce_of_sigmoid_for_moderate_logits()
    {
        var z = Tensor.Randn([3, 5], seed: 6) * 2f;
        var t = Tensor.Uniform(new Shape(3, 5), 0f, 1f, new Random(2));
        float fused = Ops.BinaryCrossEntropyWithLogits(z, t).Item();
        float plain = Ops.BinaryCrossEntropy(z.Sigmoid(), t).Item();
        Assert.Equal(plain, fused, 4);
        Assert.Equal(plain * 15, Ops.BinaryCrossEntropyWithLogits(z, t, Reduction.Sum).Item(), 3);

        // And the gradients agree: σ(z) − t either way (over N).
        var z1 = new Tensor(z.ToArray(), z.Shape) { RequiresGrad = true };
        var z2 = new Tensor(z.ToArray(), z.Shape) { RequiresGrad = true };
        Ops.BinaryCrossEntropyWithLogits(z1, t).Backward();
        Ops.BinaryCrossEntropy(z2.Sigmoid(), t).Backward();
        Expect.Close(z2.Grad!.ToArray(), z1.Grad!.Data, 1e-5f);
    }

    [Fact]
    public void Bce_with_logits_is_finite_for_plus_minus_100()
    {
        var z = new Tensor([100f, -100f, 100f, -100f], new Shape(4)) { RequiresGrad = true };
        var t = Tensor.FromArray([0f, 1f, 1f, 0f]);
        var loss = Ops.BinaryCrossEntropyWithLogits(z, t, Reduction.Sum);
        Assert.Equal(200f, loss.Item(), 3); // two confidently wrong (100 each), two right (≈0)
        loss.Backward();
        Expect.Grad([1f, -1f, 0f, 0f], z, 1e-6f);

        // BCE on saturated probabilities stays finite thanks to the clamp.
        var p = Tensor.FromArray([1f, 0f]);
        var bce = Ops.BinaryCrossEntropy(p, Tensor.FromArray([0f, 1f]));
        Assert.True(float.IsFinite(bce.Item()) && bce.Item() > 10f, bce.ToString());
    }

    [Fact]
    public void Bce_values()
    {
        // −[t·log p + (1 − t)·log(1 − p)] averaged.
        var p = Tensor.FromArray([0.9f, 0.2f]);
        var t = Tensor.FromArray([1f, 0f]);
        double expected = -(Math.Log(0.9) + Math.Log(0.8)) / 2;
        Assert.Equal(expected, Ops.BinaryCrossEntropy(p, t).Item(), 5);
    }

    [Fact]
    public void Mse_and_smooth_l1_values()
    {
        var y = Tensor.FromArray([1f, 2f, 3f, 4f]);
        var t = Tensor.FromArray([1f, 0f, 3.5f, 7f]);
        Assert.Equal((0 + 4 + 0.25f + 9) / 4, Ops.MseLoss(y, t).Item(), 6);
        Assert.Equal(0 + 4 + 0.25f + 9, Ops.MseLoss(y, t, Reduction.Sum).Item(), 5);
        // |d| = 0, 2, 0.5, 3 with β = 1: 0, 1.5, 0.125, 2.5
        Assert.Equal((0 + 1.5f + 0.125f + 2.5f) / 4, Ops.SmoothL1Loss(y, t).Item(), 6);
        Assert.Equal(0.3f * (1 + 4 + 9 + 16), Ops.L2Penalty([y], 0.3f).Item(), 4);
    }

    [Fact]
    public void Multiclass_hinge_loss_values()
    {
        // Σ_{j≠t} max(0, s_j − s_t + 1): 2.9 for the first row, 0 for the second, 12.9 for the third.
        var s = Tensor.FromArray([3.2f, 5.1f, -1.7f, 1.3f, 4.9f, 2.0f, 2.2f, 2.5f, -3.1f], 3, 3);
        var loss = Ops.MultiClassHingeLoss(s, [0, 1, 2]);
        Assert.Equal((2.9f + 0f + 12.9f) / 3, loss.Item(), 4);
    }

    [Fact]
    public void Nll_picks_the_target_log_probability()
    {
        var lp = Tensor.FromArray([-0.1f, -2f, -3f, -0.5f], 2, 2);
        Assert.Equal((2f + 3f) / 2, Ops.NllLoss(lp, [1, 0]).Item(), 6);
    }
}
