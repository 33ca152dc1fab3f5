using static Nabla.Tests.Core.Gen;

namespace Nabla.Tests.Core;

/// <summary>Gradient-check cases of the indexing, selection and statistics ops (added to <see cref="OpRegistry"/>).</summary>
internal static class IndexingOpCases
{
    public static List<OpCase> Build()
    {
        var cases = new List<OpCase>();
        void Add(string name, Func<Tensor[], Tensor> f, Func<Tensor[]> inputs, bool zero = false) =>
            cases.Add(new OpCase(name, f, inputs, zero));

        // ---------------------------------------------------------------- indexing and slicing
        Add("Index t[1] [3,4]", t => t[0][1], () => [N(300, 3, 4)]);
        Add("Index t[-1] [3,4] from the end", t => t[0][-1], () => [N(301, 3, 4)]);
        Add("Index t[..,1] [3,4] column", t => t[0][.., 1], () => [N(302, 3, 4)]);
        Add("Index t[1..3, ^2..] [4,5]", t => t[0][1..3, ^2..], () => [N(303, 4, 5)]);
        Add("Index t[0, .., 2] [2,3,4] rank 3", t => t[0][0, .., 2], () => [N(304, 2, 3, 4)]);
        Add("Index step slice [7] ::2", t => t[0][TensorIndex.Slice(0, ^0, 2)], () => [N(305, 7)]);
        Add("Squeeze [3,1,4]", t => t[0].Squeeze() * t[1], () => [N(306, 3, 1, 4), N(307, 3, 4)]);
        Add("Squeeze dim 1 [2,1,3]", t => t[0].Squeeze(1), () => [N(308, 2, 1, 3)]);
        Add("Unsqueeze dim 0 [3,4]", t => t[0].Unsqueeze(0) * t[1], () => [N(309, 3, 4), N(310, 2, 3, 4)]);
        Add("Unsqueeze dim -1 [3]", t => t[0].Unsqueeze(-1) * t[1], () => [N(311, 3), N(312, 3, 2)]);
        Add("Stack dim 0 [2,3]x3", t => Ops.Stack([t[0], t[1], t[2]]), () => [N(313, 2, 3), N(314, 2, 3), N(315, 2, 3)]);
        Add("Stack dim -1 [4]x2", t => Ops.Stack([t[0], t[1]], -1), () => [N(316, 4), N(317, 4)]);
        Add("Cat dim 1 [2,2]+[2,3]", t => Ops.Cat([t[0], t[1]], 1), () => [N(318, 2, 2), N(319, 2, 3)]);
        Add("Split size 2 of [5,3] weighted", t =>
        {
            var parts = t[0].Split(2);
            return Ops.Cat([parts[0] * 2f, parts[1] * -1f, parts[2] * 3f]);
        }, () => [N(320, 5, 3)]);
        Add("Chunk 3 of [2,6] dim 1 weighted", t =>
        {
            var parts = t[0].Chunk(3, 1);
            return parts[0] * 0.5f + parts[1].Exp() + parts[2] * parts[2];
        }, () => [N(321, 2, 6)]);
        var gatherIndex = Tensor.FromArray([0f, 2f, 1f, 1f, 1f, 0f], 2, 3);
        Add("Gather dim 1 [2,4] by [2,3]", t => t[0].Gather(1, gatherIndex), () => [N(322, 2, 4)]);
        var gatherRows = Tensor.FromArray([2f, 0f, 2f, 1f], 1, 4);
        Add("Gather dim 0 [3,4] by [1,4]", t => t[0].Gather(0, gatherRows), () => [N(323, 3, 4)]);
        var scatterIndex = Tensor.FromArray([0f, 2f, 0f, 1f, 2f, 2f], 2, 3);
        Add("ScatterAdd dim 1 [2,4] (both inputs, repeats)", t => t[0].ScatterAdd(1, scatterIndex, t[1]), () => [N(324, 2, 4), N(325, 2, 3)]);
        Add("ScatterAdd dim 0 [3,2] src larger than index", t => t[0].ScatterAdd(0, Tensor.FromArray([2f, 0f], 1, 2), t[1]), () => [N(326, 3, 2), N(327, 2, 3)]);
        Add("IndexSelect dim 0 [4,3] with repeats", t => t[0].IndexSelect(0, Tensor.FromArray([3f, 0f, 3f])), () => [N(328, 4, 3)]);
        Add("IndexSelect dim 1 [2,5]", t => t[0].IndexSelect(1, [4, 1]), () => [N(329, 2, 5)]);

        // ---------------------------------------------------------------- selection
        Add("Clamp [-0.5, 0.7] away from the bounds", t => t[0].Clamp(-0.5f, 0.7f), () => [AwayFrom(330, [-0.5f, 0.7f], 3, 4)]);
        Add("Clamp min only", t => t[0].Clamp(min: 0.2f), () => [AwayFrom(331, [0.2f], 3, 4)]);
        var condition = Tensor.FromArray([1f, 0f, 0f, 1f, 1f, 0f], 2, 3);
        Add("Where [2,3] (both branches)", t => Ops.Where(condition, t[0], t[1]), () => [N(332, 2, 3), N(333, 2, 3)]);
        Add("Where broadcast [2,3] and [3]", t => Ops.Where(condition, t[0], t[1]), () => [N(334, 2, 3), N(335, 3)]);
        Add("Where with a constant", t => Ops.Where(t[0].Gt(0f), t[0], 0.1f), () => [AwayFromZero(336, 0.05f, 3, 3)]);
        Add("Maximum [3,4] and [4]", t => Ops.Maximum(t[0], t[1]), () => [Distinct(337, 3, 4), Distinct(338, 4) + 0.05f]);
        Add("Minimum [3,4] and [3,4]", t => Ops.Minimum(t[0], t[1]), () => [Distinct(339, 3, 4), Distinct(340, 3, 4) + 0.05f]);
        Add("Maximum tie splits the gradient", t => Ops.Maximum(t[0] * 1f, t[0] * 1f), () => [N(341, 2, 3)]);

        // ---------------------------------------------------------------- statistics
        Add("Var all [3,4]", t => t[0].Var(), () => [N(342, 3, 4)]);
        Add("Var dim 1 keepDim [3,4]", t => t[0].Var(1, keepDim: true), () => [N(343, 3, 4)]);
        Add("Var dim 0 population [4,3]", t => t[0].Var(0, correction: 0), () => [N(344, 4, 3)]);
        Add("Std all [5]", t => t[0].Std(), () => [N(345, 5)]);
        Add("Std dim -1 [2,3,4]", t => t[0].Std(-1), () => [N(346, 2, 3, 4)]);
        Add("Norm all [3,4]", t => t[0].Norm(), () => [N(347, 3, 4)]);
        Add("Norm p=1 away from 0", t => t[0].Norm(1f), () => [AwayFromZero(348, 0.1f, 3, 4)]);
        Add("Norm p=3 dim 1 [2,5]", t => t[0].Norm(3f, 1), () => [AwayFromZero(349, 0.1f, 2, 5)]);
        Add("Norm dim 0 keepDim [4,3]", t => t[0].Norm(2f, 0, keepDim: true), () => [N(350, 4, 3)]);
        Add("Min dim 1 [3,4]", t => t[0].Min(1), () => [Distinct(351, 3, 4)]);
        Add("Min all [2,3]", t => t[0].Min(), () => [Distinct(352, 2, 3)]);
        Add("MaxWithIndices values dim 0", t => t[0].MaxWithIndices(0).Values, () => [Distinct(353, 4, 3)]);
        return cases;
    }

    /// <summary>Normal values kept at least 0.05 from each of <paramref name="kinks"/>.</summary>
    private static Tensor AwayFrom(int seed, float[] kinks, params int[] shape)
    {
        var t = N(seed, shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++)
            foreach (var k in kinks)
                if (MathF.Abs(d[i] - k) < 0.05f) d[i] = d[i] >= k ? k + 0.05f : k - 0.05f;
        return t;
    }
}

/// <summary>Gradient-check cases of the losses' reductions (none, sum) and of PyTorch's MultiMarginLoss.</summary>
internal static class LossReductionCases
{
    public static List<OpCase> Build()
    {
        var cases = new List<OpCase>();
        void Add(string name, Func<Tensor[], Tensor> f, Func<Tensor[]> inputs) => cases.Add(new OpCase(name, f, inputs));
        var bceTarget = Tensor.FromArray([0f, 1f, 1f, 0f, 0.3f, 0.8f], 2, 3);
        int[] labels = [2, 0, 1, 2];
        Add("MseLoss none", t => Ops.MseLoss(t[0], t[1], Reduction.None), () => [N(400, 3, 2), N(401, 3, 2)]);
        Add("BinaryCrossEntropy none", t => Ops.BinaryCrossEntropy(t[0], bceTarget, Reduction.None), () => [U(402, 0.3f, 0.7f, 2, 3)]);
        Add("BinaryCrossEntropyWithLogits none", t => Ops.BinaryCrossEntropyWithLogits(t[0], bceTarget, Reduction.None), () => [AwayFromZero(403, 0.05f, 2, 3)]);
        Add("CrossEntropy class indices none", t => Ops.CrossEntropy(t[0], labels, Reduction.None), () => [N(404, 4, 3)]);
        Add("CrossEntropy distribution none", t => Ops.CrossEntropy(t[0], t[1], Reduction.None), () => [N(405, 3, 4), Distribution(406, 3, 4)]);
        Add("NllLoss none", t => Ops.NllLoss(t[0], labels, Reduction.None), () => [N(407, 4, 3)]);
        Add("MultiClassHingeLoss sum", t => Ops.MultiClassHingeLoss(t[0], labels, 1f, Reduction.Sum), () => [Margins(408, labels, 3, 1f)]);
        Add("MultiClassHingeLoss none", t => Ops.MultiClassHingeLoss(t[0], labels, 1f, Reduction.None), () => [Margins(409, labels, 3, 1f)]);
        Add("MultiMarginLoss p=1 mean", t => Ops.MultiMarginLoss(t[0], labels), () => [Margins(410, labels, 3, 1f)]);
        Add("MultiMarginLoss p=2 margin 0.5 none", t => Ops.MultiMarginLoss(t[0], labels, p: 2, margin: 0.5f, reduction: Reduction.None), () => [Margins(411, labels, 3, 0.5f)]);
        Add("SmoothL1Loss sum", t => Ops.SmoothL1Loss(t[0], t[1], 1f, Reduction.Sum), () => Huber(412, 1f));
        Add("SmoothL1Loss none", t => Ops.SmoothL1Loss(t[0], t[1], 0.5f, Reduction.None), () => Huber(413, 0.5f));
        return cases;
    }

    /// <summary>Scores whose margins s_j − s_t + margin are all at least 0.05 from the kink at 0.</summary>
    private static Tensor Margins(int seed, int[] targets, int classes, float margin)
    {
        for (int s = seed; ; s += 1000)
        {
            var t = N(s, targets.Length, classes) * 1.5f;
            bool ok = true;
            for (int i = 0; i < targets.Length && ok; i++)
                for (int j = 0; j < classes; j++)
                    if (j != targets[i] && MathF.Abs(t[i, j] - t[i, targets[i]] + margin) < 0.05f) ok = false;
            if (ok) return t;
        }
    }

    /// <summary>A prediction/target pair whose differences stay 0.05 from ±β.</summary>
    private static Tensor[] Huber(int seed, float beta)
    {
        for (int s = seed; ; s += 1000)
        {
            var p = N(s, 3, 4) * 1.5f;
            var q = N(s + 5000, 3, 4);
            bool ok = true;
            for (int i = 0; i < p.Length; i++)
                if (MathF.Abs(MathF.Abs(p.Data[i] - q.Data[i]) - beta) < 0.05f) ok = false;
            if (ok) return [p, q];
        }
    }
}
