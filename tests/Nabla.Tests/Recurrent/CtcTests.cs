using Nabla.Autograd;
using Nabla.Kernels;
using Nabla.Sequences;
using Nabla.Tests.Core;

namespace Nabla.Tests.Recurrent;

/// <summary>CTC: the notes' collapse examples and α table, the α/β identity, loss and gradient against brute force over all paths, edge cases and decoding.</summary>
public class CtcTests
{
    // Classes for the notes' example: blank, a, b, c, d, e, f.
    private const int Blank = 0, A = 1, B_ = 2, E = 5, F = 6;

    [Fact]
    public void Collapse_reproduces_the_notes_examples()
    {
        int[] aab = [A, A, B_];
        Assert.Equal(aab, CtcDecoder.Collapse([A, Blank, A, B_, Blank]));                  // B(a−ab−)
        Assert.Equal(aab, CtcDecoder.Collapse([Blank, A, A, Blank, Blank, A, A, B_, B_])); // B(−aa−−aabb)
        Assert.Equal([A, B_], CtcDecoder.Collapse([A, A, B_]));                            // a repeat needs a blank
    }

    /// <summary>The notes' table of per-step probabilities for the label "affe" (rows −, a, b, c, d, e, f; 9 steps).</summary>
    private static Tensor NotesProbabilities()
    {
        float[][] rows =
        [
            [0.9f, 0.4f, 0.1f, 0.8f, 0.3f, 0.2f, 0.9f, 0.3f, 0.01f], // −
            [0.09f, 0.5f, 0.8f, 0.15f, 0.1f, 0.1f, 0, 0, 0],        // a
            [0, 0, 0, 0, 0, 0.01f, 0, 0.1f, 0],                       // b
            [0, 0, 0, 0, 0, 0.09f, 0, 0, 0],                          // c
            [0, 0.09f, 0.1f, 0.05f, 0, 0, 0, 0, 0],                   // d
            [0.01f, 0, 0, 0, 0, 0.2f, 0, 0, 0.99f],                   // e
            [0, 0.01f, 0, 0, 0.6f, 0.4f, 0.1f, 0.6f, 0],              // f
        ];
        var t = new Tensor(new Shape(9, 7));
        for (int k = 0; k < 7; k++)
            for (int s = 0; s < 9; s++) t[s, k] = rows[k][s];
        return t;
    }

    private static Tensor Log(Tensor p)
    {
        var r = new Tensor(p.Shape);
        for (int i = 0; i < p.Length; i++) r.Data[i] = MathF.Log(p.Data[i]);
        return r;
    }

    [Fact]
    public void Alpha_table_matches_the_notes_for_affe_and_the_identity_holds_at_every_step()
    {
        var lp = Log(NotesProbabilities());
        int[] label = [A, F, F, E];
        int T = 9, S = 9;
        var alpha = new float[T * S];
        var beta = new float[T * S];
        float logP = CtcKernels.Alpha(lp.Data, 7, T, label, Blank, alpha);
        CtcKernels.Beta(lp.Data, 7, T, label, Blank, beta);
        float[] blankRow = [0.9f, 0.36f, 0.036f, 0.029f, 0.009f];
        float[] aRow = [0.09f, 0.495f, 0.684f, 0.108f, 0.014f, 0.002f];
        for (int t = 0; t < blankRow.Length; t++) Assert.Equal(blankRow[t], MathF.Exp(alpha[t * S + 0]), 3);
        for (int t = 0; t < aRow.Length; t++) Assert.Equal(aRow[t], MathF.Exp(alpha[t * S + 1]), 3);
        Assert.True(logP > -10f && float.IsFinite(logP));
        // P(l|x) = Σ_u α(u,t)·β(u,t) / y(l'_u, t) for every t.
        double p = Math.Exp(logP);
        for (int t = 0; t < T; t++)
        {
            double sum = 0;
            for (int s = 0; s < S; s++)
            {
                int k = s % 2 == 0 ? Blank : label[s / 2];
                double y = NotesProbabilities()[t, k];
                if (y > 0) sum += Math.Exp(alpha[t * S + s]) * Math.Exp(beta[t * S + s]) / y;
            }
            Assert.True(Math.Abs(sum - p) <= 1e-6 + 1e-4 * p, $"t={t}: Σ αβ/y = {sum}, P = {p}");
        }
    }

    /// <summary>P(l|x) and ∂(−log P)/∂lp by enumerating all Cᵀ paths (float64).</summary>
    private static (double P, double[] Grad) BruteForce(Tensor lp2d, int[] label, int T)
    {
        int C = lp2d.Shape[1];
        var path = new int[T];
        double total = 0;
        var byStep = new double[T * C];
        long count = (long)Math.Pow(C, T);
        for (long code = 0; code < count; code++)
        {
            long c = code;
            for (int t = 0; t < T; t++) { path[t] = (int)(c % C); c /= C; }
            if (!CtcDecoder.Collapse(path).SequenceEqual(label)) continue;
            double p = 1;
            for (int t = 0; t < T; t++) p *= Math.Exp(lp2d[t, path[t]]);
            total += p;
            for (int t = 0; t < T; t++) byStep[t * C + path[t]] += p;
        }
        var grad = byStep.Select(v => total == 0 ? 0 : -v / total).ToArray();
        return (total, grad);
    }

    [Theory]
    [InlineData(5, 3, new[] { 1, 2 })]
    [InlineData(5, 3, new[] { 1, 1 })]
    [InlineData(6, 4, new[] { 2, 2, 3 })]
    [InlineData(4, 3, new int[0])]
    [InlineData(3, 3, new[] { 2, 2 })]
    public void Loss_and_gradient_equal_brute_force_over_all_paths(int T, int C, int[] label)
    {
        var logits = Tensor.Randn([T, 1, C], seed: T * 10 + C);
        var lp = Ops.LogSoftmax(logits, -1);
        lp.RequiresGrad = true;
        var loss = Ops.CtcLoss(lp, [label], blank: 0, reduction: Reduction.Sum);
        loss.Backward();
        var (p, grad) = BruteForce(Ops.Reshape(lp.Detach(), T, C), label, T);
        Assert.Equal(-Math.Log(p), loss.Item(), 4);
        Expect.Close(grad.Select(v => (float)v).ToArray(), lp.Grad!.Data, 1e-5f, "gradient");
    }

    [Fact]
    public void Batch_with_lengths_and_padded_targets_matches_per_sequence_losses_and_reductions()
    {
        const int T = 6, N = 3, C = 4;
        var lp = Ops.LogSoftmax(Tensor.Randn([T, N, C], seed: 3), -1);
        int[] inputLengths = [6, 4, 5];
        int[] targetLengths = [3, 1, 2];
        int[] padded = [1, 2, 1, 3, 0, 0, 2, 2, 0];
        int[] concatenated = [1, 2, 1, 3, 2, 2];
        var none = Ops.CtcLossPerSample(lp, padded, inputLengths, targetLengths);
        Expect.Close(none.ToArray(), Ops.CtcLossPerSample(lp, concatenated, inputLengths, targetLengths).Data, 0f, "padded vs concatenated");
        int[][] labels = [[1, 2, 1], [3], [2, 2]];
        for (int n = 0; n < N; n++)
        {
            var seq = new Tensor(new Shape(inputLengths[n], C));
            for (int t = 0; t < inputLengths[n]; t++)
                for (int k = 0; k < C; k++) seq[t, k] = lp[t, n, k];
            var (p, _) = BruteForce(seq, labels[n], inputLengths[n]);
            Assert.Equal(-Math.Log(p), none.Data[n], 4);
        }
        float mean = Enumerable.Range(0, N).Select(n => none.Data[n] / targetLengths[n]).Average();
        Assert.Equal(mean, Ops.CtcLoss(lp, concatenated, inputLengths, targetLengths).Item(), 5);
        Assert.Equal(none.ToArray().Sum(), Ops.CtcLoss(lp, concatenated, inputLengths, targetLengths, reduction: Reduction.Sum).Item(), 4);

        // Steps past a sequence's length get no gradient; the gradient check covers the rest.
        var x = Tensor.Randn([T, N, C], seed: 4);
        x.RequiresGrad = true;
        Ops.CtcLoss(Ops.LogSoftmax(x, -1), concatenated, inputLengths, targetLengths).Backward();
        for (int k = 0; k < C; k++) { Assert.Equal(0f, x.Grad![5, 1, k]); Assert.Equal(0f, x.Grad![4, 1, k]); }
        var r = GradCheck.Check(t => Ops.CtcLoss(Ops.LogSoftmax(t[0], -1), concatenated, inputLengths, targetLengths), [Tensor.Randn([T, N, C], seed: 5)]);
        Assert.True(r.Passed, r.ToString());
        var r2 = GradCheck.Check(t => Ops.CtcLossPerSample(t[0], padded, inputLengths, targetLengths), [Ops.LogSoftmax(Tensor.Randn([T, N, C], seed: 6), -1)]);
        Assert.True(r2.Passed, r2.ToString());
    }

    [Fact]
    public void Impossible_alignment_gives_infinity_or_zero_and_no_gradient()
    {
        var x = Tensor.Randn([2, 2, 3], seed: 7);
        x.RequiresGrad = true;
        var lp = Ops.LogSoftmax(x, -1);
        // [1, 1] needs three steps (a blank between the repeats); [1, 2] fits in two.
        int[][] labels = [[1, 1], [1, 2]];
        var none = Ops.CtcLoss(lp, labels, reduction: Reduction.Sum);
        Assert.True(float.IsPositiveInfinity(none.Item()));
        var perSample = Ops.CtcLossPerSample(lp, [1, 1, 1, 2], [2, 2], [2, 2], zeroInfinity: true);
        Assert.Equal(0f, perSample.Data[0]);
        Assert.True(perSample.Data[1] > 0 && float.IsFinite(perSample.Data[1]));
        var zeroed = Ops.CtcLoss(lp, labels, reduction: Reduction.Sum, zeroInfinity: true);
        zeroed.Backward();
        for (int k = 0; k < 3; k++) { Assert.Equal(0f, x.Grad![0, 0, k]); Assert.Equal(0f, x.Grad![1, 0, k]); }
        Assert.All(x.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(0f, x.Grad![0, 1, 1]);
    }

    [Fact]
    public void Long_sequences_stay_finite_and_agree_with_a_double_precision_recursion()
    {
        const int T = 600, C = 11;
        var lp = Ops.LogSoftmax(Tensor.Randn([T, 1, C], seed: 8) * 3f, -1);
        var rng = new Random(1);
        var label = Enumerable.Range(0, 120).Select(_ => 1 + rng.Next(C - 1)).ToArray();
        lp.RequiresGrad = true;
        var loss = Ops.CtcLoss(lp, [label], reduction: Reduction.Sum);
        loss.Backward();
        Assert.True(float.IsFinite(loss.Item()) && loss.Item() > 100f, $"loss {loss.Item()}");
        Assert.Equal(ReferenceLogP(lp.Detach(), label), -loss.Item(), loss.Item() * 1e-4);
        // Each step's gradient w.r.t. the log-probabilities sums to −1 (the occupancies sum to one).
        for (int t = 0; t < T; t += 97)
        {
            double s = 0;
            for (int k = 0; k < C; k++) s += lp.Grad![t, 0, k];
            Assert.InRange(s, -1.002, -0.998); // float32 tables over 600 steps: about 1e-3 relative

        }
    }

    private static double ReferenceLogP(Tensor lp, int[] label)
    {
        int T = lp.Shape[0], C = lp.Shape[2], S = 2 * label.Length + 1;
        static double Lse(double a, double b) => double.IsNegativeInfinity(a) ? b : double.IsNegativeInfinity(b) ? a : Math.Max(a, b) + Math.Log(1 + Math.Exp(-Math.Abs(a - b)));
        var a = Enumerable.Repeat(double.NegativeInfinity, S).ToArray();
        a[0] = lp[0, 0, 0]; a[1] = lp[0, 0, label[0]];
        for (int t = 1; t < T; t++)
        {
            var n = new double[S];
            for (int s = 0; s < S; s++)
            {
                int k = s % 2 == 0 ? 0 : label[s / 2];
                double v = a[s];
                if (s >= 1) v = Lse(v, a[s - 1]);
                if (s >= 2 && k != 0 && label[s / 2] != label[s / 2 - 1]) v = Lse(v, a[s - 2]);
                n[s] = v + lp[t, 0, k];
            }
            a = n;
        }
        return Lse(a[S - 1], a[S - 2]);
    }

    [Fact]
    public void Bad_arguments_give_clear_errors()
    {
        var lp = Ops.LogSoftmax(Tensor.Randn([4, 2, 3], seed: 1), -1);
        Assert.Contains("blank", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CtcLoss(lp, [1, 0], [4, 4], [1, 1])).Message);
        Assert.Contains("outside the 3 classes", Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CtcLoss(lp, [1, 3], [4, 4], [1, 1])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CtcLoss(lp, [1, 2], [5, 4], [1, 1]));
        Assert.Throws<ArgumentException>(() => Ops.CtcLoss(lp, [1, 2, 1], [4, 4], [1, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CtcLoss(lp, [1, 2], [4, 4], [1, 1], blank: 3));
        Assert.Throws<ShapeMismatchException>(() => Ops.CtcLoss(Tensor.Zeros(4, 3), [1], [4], [1]));
    }

    // ------------------------------------------------------------ decoding

    [Fact]
    public void Greedy_takes_the_argmax_per_step_and_collapses()
    {
        var lp = Log(NotesProbabilities());
        // argmax per step: −, a, a, −, f, f, −, f, e → "affe"
        Assert.Equal([A, F, F, E], CtcDecoder.Greedy(lp));
        var batch = Ops.Reshape(lp, 9, 1, 7);
        Assert.Equal([A, F, F, E], CtcDecoder.GreedyBatch(batch)[0]);
        Assert.Equal([A], CtcDecoder.Greedy(lp, length: 4));
    }

    [Fact]
    public void Beam_search_sums_paths_and_beats_greedy_where_they_differ()
    {
        // Two steps, P(−) = 0.6, P(a) = 0.4: greedy reads "" (P = 0.36) but P("a") = 0.64.
        var lp = Log(Tensor.FromArray([0.6f, 0.4f, 0.6f, 0.4f], 2, 2));
        Assert.Empty(CtcDecoder.Greedy(lp));
        var (labels, logP) = CtcDecoder.BeamSearch(lp, beamWidth: 4);
        Assert.Equal([1], labels);
        Assert.Equal(MathF.Log(0.64f), logP, 5);

        // On random inputs a wide beam finds a labelling at least as probable as greedy's, with its exact probability.
        var lp2 = Ops.Reshape(Ops.LogSoftmax(Tensor.Randn([5, 1, 3], seed: 12), -1), 5, 3);
        var (best, bestLogP) = CtcDecoder.BeamSearch(lp2, beamWidth: 64);
        var (pBest, _) = BruteForce(lp2, best, 5);
        Assert.Equal(Math.Log(pBest), bestLogP, 4);
        var (pGreedy, _) = BruteForce(lp2, CtcDecoder.Greedy(lp2), 5);
        Assert.True(pBest >= pGreedy - 1e-9);
        Assert.Equal(2, CtcDecoder.EditDistance([1, 2, 3], [1, 3, 4]));
        Assert.Equal(0.5, CtcDecoder.CharacterErrorRate([[1, 2], [3]], [[1, 1], [3, 3]]), 6);
    }
}
