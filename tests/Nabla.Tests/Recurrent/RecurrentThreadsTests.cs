using Nabla.Kernels;
using Nabla.Tests.Kernels;

namespace Nabla.Tests.Recurrent;

/// <summary>
/// A recurrent layer's step cells run split by batch rows across the worker threads when a step is
/// big enough; the split must change no bit of the outputs, final states or any gradient — with
/// padded sequences, both directions and a ragged last chunk (33 rows in two chunks).
/// </summary>
[Collection(nameof(WorkerPoolSettingsCollection))]
public class RecurrentThreadsTests
{
    [Theory]
    [InlineData(RecurrentMode.Lstm)]
    [InlineData(RecurrentMode.Gru)]
    [InlineData(RecurrentMode.RnnTanh)]
    [InlineData(RecurrentMode.RnnRelu)]
    public void Two_threads_give_the_bits_of_one(RecurrentMode mode)
    {
        const int T = 5, B = 33, I = 7, H = 128; // 33 × 128 = 4,224 elements a step: two chunks
        Assert.True(B * H / Ops.MinStepChunkElements >= 2, "the step must be big enough to be split");
        var one = Run(mode, T, B, I, H, threads: 1);
        var two = Run(mode, T, B, I, H, threads: 2);
        Assert.Equal(one.Count, two.Count);
        for (int k = 0; k < one.Count; k++) Assert.True(one[k].AsSpan().SequenceEqual(two[k]), $"result {k} differs between 1 and 2 threads");
    }

    private static List<float[]> Run(RecurrentMode mode, int T, int B, int I, int H, int threads)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            int GH = Ops.GateCount(mode) * H;
            var x = Tensor.Randn([T, B, I], seed: 1); x.RequiresGrad = true;
            var dirs = Enumerable.Range(0, 2).Select(d => new RecurrentWeights(
                Param(Tensor.Randn([GH, I], seed: 10 + d) * 0.3f), Param(Tensor.Randn([GH, H], seed: 20 + d) * 0.1f),
                Param(Tensor.Randn([GH], seed: 30 + d) * 0.3f), Param(Tensor.Randn([GH], seed: 40 + d) * 0.3f))).ToArray();
            int[] lengths = Enumerable.Range(0, B).Select(b => 1 + b % T).ToArray();
            var (y, h, c) = Ops.RecurrentLayer(mode, x, dirs, lengths: lengths);
            var loss = (y * y).Sum() + (h * h).Sum() * 0.5f;
            if (c is not null) loss = loss + (c * c).Sum() * 0.25f;
            loss.Backward();
            var results = new List<float[]> { y.ToArray(), h.ToArray(), x.Grad!.ToArray() };
            if (c is not null) results.Add(c.ToArray());
            foreach (var w in dirs) results.AddRange([w.WeightIh.Grad!.ToArray(), w.WeightHh.Grad!.ToArray(), w.BiasIh!.Grad!.ToArray(), w.BiasHh!.Grad!.ToArray()]);
            return results;
        }
        finally { WorkerPool.Threads = saved; }
    }

    private static Tensor Param(Tensor t) { t.RequiresGrad = true; return t; }
}
