using Nabla.Data;
using Nabla.Distributed;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests.Distributed;

public class DataParallelTests
{
    // 194 = 6 × 32 + 2: with 4 ranks of 8 the last global batch gives two ranks one sample and two none.
    private static Dataset Data(int count = 194) => Synthetic.Blobs(count / 3 + 1, 3, 0.8, seed: 5, dims: 6).Subset(Enumerable.Range(0, count).ToArray());

    private static Sequential Model(int seed) =>
        new(new Linear(6, 16, rng: new Random(seed)), new Tanh(), new Linear(16, 3, rng: new Random(seed + 1)));

    private static float[] Flatten(Module m) => m.Parameters().SelectMany(p => p.ToArray()).ToArray();

    private static Optimizer MakeOptimizer(string name, Module m) =>
        name == "adam" ? new Adam(m.Parameters(), 0.01f) : new Sgd(m.Parameters(), 0.1f, momentum: 0.9f);

    private static (float[] Weights, History History) Single(string optimizer, int batch, int epochs)
    {
        var model = Model(1);
        var history = Trainer.Fit(model, Data(), new CrossEntropyLoss(), MakeOptimizer(optimizer, model),
            new FitOptions { Epochs = epochs, BatchSize = batch, Seed = 3 });
        return (Flatten(model), history);
    }

    private static (float[] Weights, History History)[] Parallel(int ranks, string optimizer, int batchPerRank, int epochs, bool overlap, int bucketBytes = 4 << 20) =>
        InProcessCommunicator.Run(ranks, c =>
        {
            var model = Model(1 + 100 * c.Rank); // different initial weights: the broadcast must fix them
            using var ddp = new DistributedDataParallel(model, c, new DistributedDataParallelOptions { OverlapBackward = overlap, BucketCapBytes = bucketBytes });
            var history = DistributedTrainer.Fit(ddp, Data(), new CrossEntropyLoss(), MakeOptimizer(optimizer, model),
                new FitOptions { Epochs = epochs, BatchSize = batchPerRank, Seed = 3 });
            return (Flatten(model), history);
        }, TimeSpan.FromSeconds(60));

    public static TheoryData<int, string, bool, int> Setups() => new()
    {
        { 2, "sgd", false, 4 << 20 },
        { 4, "sgd", false, 4 << 20 },
        { 2, "adam", true, 4 << 20 },
        { 4, "sgd", true, 64 },   // one bucket per parameter, reduced while backward runs
        { 4, "adam", false, 200 },
    };

    [Theory]
    [MemberData(nameof(Setups))]
    public void RanksGiveTheWeightsOfOneProcessWithAnNTimesLargerBatch(int ranks, string optimizer, bool overlap, int bucketBytes)
    {
        const int perRank = 8, epochs = 3;
        var (expected, expectedHistory) = Single(optimizer, perRank * ranks, epochs);
        var results = Parallel(ranks, optimizer, perRank, epochs, overlap, bucketBytes);
        for (int r = 0; r < ranks; r++)
        {
            Assert.True(results[0].Weights.AsSpan().SequenceEqual(results[r].Weights), $"rank {r}'s weights differ from rank 0's");
            Assert.Equal(epochs, results[r].History.Epochs.Count);
        }
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - results[0].Weights[i]) <= 1e-4f * (1 + Math.Abs(expected[i])),
                $"weight {i}: one process {expected[i]}, {ranks} ranks {results[0].Weights[i]}");
        for (int e = 0; e < epochs; e++)
        {
            Assert.Equal(expectedHistory.Epochs[e].Loss, results[0].History.Epochs[e].Loss, 1e-4);
            Assert.Equal(expectedHistory.Epochs[e].Accuracy, results[0].History.Epochs[e].Accuracy, 1e-9);
        }
        Assert.True(results[0].History.Last.Loss < results[0].History.Epochs[0].Loss, "the loss should fall");
    }

    [Fact]
    public void TheSamplerVisitsEverySampleOnceAndTheRanksStepTogether()
    {
        var data = Data(101);
        foreach (int ranks in new[] { 1, 2, 3, 4 })
            for (int epoch = 0; epoch < 2; epoch++)
            {
                var seen = new List<int>();
                var steps = new List<int>();
                for (int r = 0; r < ranks; r++)
                {
                    var s = new DistributedSampler(data, 8, r, ranks, shuffle: true, seed: 9);
                    var batches = s.GetEpoch(epoch).ToList();
                    steps.Add(batches.Count);
                    Assert.Equal(s.BatchCount, batches.Count);
                    foreach (var (indices, global) in batches)
                    {
                        Assert.True(indices.Length <= 8);
                        Assert.True(global <= 8 * ranks);
                        seen.AddRange(indices);
                    }
                }
                Assert.All(steps, n => Assert.Equal(steps[0], n));
                seen.Sort();
                Assert.Equal(Enumerable.Range(0, data.Count), seen);
            }
        // The global batches are those of a DataLoader with the N-times larger batch and the same seed.
        var loader = new DataLoader(data, 16, shuffle: true, seed: 9);
        var first = loader.GetEpoch(1).First().Indices;
        var parts = Enumerable.Range(0, 2).SelectMany(r => new DistributedSampler(data, 8, r, 2, true, 9).GetEpoch(1).First().Indices);
        Assert.Equal(first, parts);
    }

    [Fact]
    public void EvaluationOverRanksEqualsOneProcess()
    {
        var data = Data(103);
        var model = Model(4);
        var expected = Trainer.Evaluate(model, data, new CrossEntropyLoss());
        var results = InProcessCommunicator.Run(3, c => DistributedTrainer.Evaluate(Model(4), data, new CrossEntropyLoss(), c));
        foreach (var r in results)
        {
            Assert.Equal(expected.Loss, r.Loss, 1e-5);
            Assert.Equal(expected.Accuracy, r.Accuracy);
            Assert.Equal(expected.Confusion.Counts, r.Confusion.Counts);
        }
    }

    [Fact]
    public void ADivergingRankStopsAllRanksWithTheSameError()
    {
        var e = Assert.Throws<TrainingDivergedException>(() => InProcessCommunicator.Run(2, c =>
        {
            var model = Model(1);
            using var ddp = new DistributedDataParallel(model, c);
            var data = Data();
            if (c.Rank == 1) data = new Dataset(Enumerable.Repeat(float.NaN, data.Features.Length).ToArray(), data.SampleShape, data.Labels, 3);
            DistributedTrainer.Fit(ddp, data, new CrossEntropyLoss(), MakeOptimizer("sgd", model), new FitOptions { Epochs = 1, BatchSize = 8 });
        }, TimeSpan.FromSeconds(60)));
        Assert.Contains("1 of 2 ranks", e.Message);
    }

    [Fact]
    public void ResumingFromACheckpointWithADifferentRankCountContinuesTheSameRun()
    {
        using var dir = new Nabla.Tests.Cli.CliTempDir();
        string path = dir.File("ckpt.safetensors");
        const int epochs = 4;
        // Reference: 4 epochs on 2 ranks of 8 (global batch 16).
        var reference = Parallel(2, "adam", 8, epochs, overlap: false)[0].Weights;

        // 2 epochs on 2 ranks of 8, checkpointed; then epochs 3-4 on 4 ranks of 4 (the same global batch).
        InProcessCommunicator.Run(2, c =>
        {
            var model = Model(1);
            using var ddp = new DistributedDataParallel(model, c);
            var options = new FitOptions { Epochs = 2, BatchSize = 8, Seed = 3 };
            options.Callbacks.Add(new DistributedCheckpoint(path, c));
            DistributedTrainer.Fit(ddp, Data(), new CrossEntropyLoss(), MakeOptimizer("adam", model), options);
        });
        var resumed = InProcessCommunicator.Run(4, c =>
        {
            var model = Model(50); // overwritten by the checkpoint
            var optimizer = MakeOptimizer("adam", model);
            int done = DistributedCheckpoint.Load(path, model, optimizer);
            Assert.Equal(2, done);
            using var ddp = new DistributedDataParallel(model, c);
            var history = DistributedTrainer.Fit(ddp, Data(), new CrossEntropyLoss(), optimizer, new FitOptions { Epochs = epochs, BatchSize = 4, Seed = 3 }, initialEpoch: done);
            Assert.Equal([3, 4], history.Epochs.Select(e => e.Epoch));
            return Flatten(model);
        });
        for (int i = 0; i < reference.Length; i++)
            Assert.True(Math.Abs(reference[i] - resumed[0][i]) <= 1e-4f * (1 + Math.Abs(reference[i])), $"weight {i}: {reference[i]} vs resumed {resumed[0][i]}");
    }

    [Fact]
    public void TheWrapperBroadcastsRankZerosStateAndNamesParametersAsPyTorch()
    {
        var results = InProcessCommunicator.Run(2, c =>
        {
            var model = Model(1 + c.Rank);
            using var ddp = new DistributedDataParallel(model, c, new DistributedDataParallelOptions { BucketCapBytes = 100 });
            Assert.Equal(model.NamedParameters().Select(p => "module." + p.Name), ddp.NamedParameters().Select(p => p.Name));
            Assert.True(ddp.BucketCount > 1);
            Assert.True(ddp.EnsureReplicasEqual());
            return Flatten(model);
        });
        Assert.Equal(Flatten(Model(1)), results[1]);
    }

    [Fact]
    public void GradientsAreReadyHooksFireOncePerLeafAfterItsLastUse()
    {
        var w = new Parameter(Tensor.FromArray([1f, 2f], 2));
        var fired = new List<float[]>();
        using var h = w.RegisterPostAccumulateGradHook(t => fired.Add(t.Grad!.ToArray()));
        var y = Ops.Sum(Ops.Mul(w, w)) + Ops.Sum(w); // two uses of w
        y.Backward();
        var only = Assert.Single(fired);
        Assert.Equal([3f, 5f], only);
    }
}
