using Nabla.Nn;
using Nabla.Optim;
using Nabla.Sequences;

namespace Nabla.Tests.Recurrent;

/// <summary>A bidirectional GRU learns to transcribe short generated sequences with the CTC loss (seeded, a few seconds).</summary>
public class CtcTrainingTests
{
    private const int Symbols = 3, Features = 5;

    /// <summary>Each label is 2–3 noisy frames of its own pattern; 1–2 noise frames separate labels (so repeats are visible).</summary>
    private static (Tensor X, int[] Steps, int[][] Labels) MakeBatch(Random rng, int n)
    {
        var labels = new int[n][];
        var frames = new List<float[]>[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = Enumerable.Range(0, rng.Next(2, 5)).Select(_ => 1 + rng.Next(Symbols)).ToArray();
            frames[i] = new List<float[]>();
            foreach (int k in labels[i])
            {
                for (int g = rng.Next(1, 3); g > 0; g--) frames[i].Add(Noise(rng, -1));
                for (int r = rng.Next(2, 4); r > 0; r--) frames[i].Add(Noise(rng, k));
            }
            frames[i].Add(Noise(rng, -1));
        }
        var steps = frames.Select(f => f.Count).ToArray();
        int T = steps.Max();
        var x = new Tensor(new Shape(T, n, Features));
        for (int i = 0; i < n; i++)
            for (int t = 0; t < steps[i]; t++)
                frames[i][t].CopyTo(x.Data.Slice((t * n + i) * Features, Features));
        return (x, steps, labels);
    }

    private static float[] Noise(Random rng, int symbol)
    {
        var f = new float[Features];
        for (int j = 0; j < Features; j++) f[j] = 0.3f * (rng.NextSingle() - 0.5f);
        if (symbol > 0) f[symbol - 1] += 1f; else f[Features - 1] += 1f;
        return f;
    }

    [Fact]
    public void A_bidirectional_gru_learns_to_transcribe_with_ctc()
    {
        var rng = new Random(17);
        var gru = new Gru(Features, 16, bidirectional: true, rng: rng);
        var head = new Linear(32, Symbols + 1, rng: rng);
        var opt = new Adam(gru.Parameters().Concat(head.Parameters()), 0.02f);
        Tensor LogProbs(Tensor x, int[] steps)
        {
            var (y, _) = gru.Forward(x, null, steps);
            int T = x.Shape[0], n = x.Shape[1];
            return Ops.Reshape(Ops.LogSoftmax(head.Forward(Ops.Reshape(y, T * n, 32)), -1), T, n, Symbols + 1);
        }
        float first = 0, last = 0;
        for (int step = 0; step < 120; step++)
        {
            var (x, steps, labels) = MakeBatch(rng, 16);
            var loss = Ops.CtcLoss(LogProbs(x, steps), labels, steps);
            if (step == 0) first = loss.Item();
            last = loss.Item();
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        Assert.True(last < 0.2f * first, $"CTC loss fell from {first} to only {last}");

        var (tx, tsteps, tlabels) = MakeBatch(new Random(99), 64);
        int[][] read;
        using (Autograd.GradMode.NoGrad()) read = CtcDecoder.GreedyBatch(LogProbs(tx, tsteps), 0, tsteps);
        int exact = read.Zip(tlabels).Count(p => p.First.SequenceEqual(p.Second));
        Assert.True(exact >= 56, $"only {exact}/64 held-out sequences decoded exactly");
        Assert.True(CtcDecoder.CharacterErrorRate(read, tlabels) < 0.05);
    }
}
