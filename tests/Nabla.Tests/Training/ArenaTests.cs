using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests.Training;

public class ArenaTests
{
    private static (Sequential Model, Dataset Data) Setup(int seed)
    {
        var rng = new Random(seed);
        var model = new Sequential(new Linear(20, 32, rng: rng), new ReLU(), new Linear(32, 16, rng: rng), new Tanh(), new Linear(16, 3, rng: rng));
        var data = Synthetic.Blobs(40, 3, 1.0, seed, dims: 20);
        return (model, data);
    }

    [Fact]
    public void Training_in_an_arena_gives_the_same_weights_as_without()
    {
        var (a, data) = Setup(5);
        var (b, _) = Setup(5);
        var optA = new Adam(a.Parameters(), 1e-2f);
        var optB = new Adam(b.Parameters(), 1e-2f);
        var loss = new CrossEntropyLoss();

        // a: through Trainer.Fit (arena-backed steps); b: a plain loop on the GC heap.
        Trainer.Fit(a, data, loss, optA, new FitOptions { Epochs = 3, BatchSize = 16, Seed = 9 });
        var loader = new DataLoader(data, 16, shuffle: true, seed: 9);
        for (int epoch = 0; epoch < 3; epoch++)
            foreach (var batch in loader.GetEpoch(epoch))
            {
                optB.ZeroGrad();
                loss.Forward(b.Forward(batch.Inputs), batch.Labels).Backward();
                optB.Step();
            }

        foreach (var ((name, pa), (_, pb)) in a.NamedParameters().Zip(b.NamedParameters()))
            Assert.True(pa.Data.SequenceEqual(pb.Data), $"parameter {name} differs");
    }

    [Theory]
    [InlineData("resnet")]
    [InlineData("lenet")]
    public void Convolutional_training_in_an_arena_gives_the_same_weights_as_without(string name)
    {
        // Backward rules that overwrite a first gradient instead of zero-filling and adding
        // (Tensor.GradTarget) must write every element: recycled arena buffers hold the last
        // step's values, so a missed element would show here as a different weight.
        Module Make() => name == "resnet"
            ? new Nabla.Models.ResNet(1, 4, 12, blocks: 1, width: 8, rng: new Random(2))
            : new Nabla.Models.LeNet5(1, 4, 28, new Random(2));
        int side = name == "resnet" ? 12 : 28;
        var a = Make();
        var b = Make();
        var optA = new Sgd(a.Parameters(), 0.05f, momentum: 0.9f);
        var optB = new Sgd(b.Parameters(), 0.05f, momentum: 0.9f);
        var loss = new CrossEntropyLoss();
        var rng = new Random(4);
        var arena = new TensorArena();
        for (int step = 0; step < 4; step++)
        {
            var x = Tensor.FromArray(Enumerable.Range(0, 6 * side * side).Select(_ => (float)rng.NextDouble()).ToArray(), 6, 1, side, side);
            var labels = Enumerable.Range(0, 6).Select(_ => rng.Next(4)).ToArray();
            arena.Reset();
            using (arena.Activate())
            {
                optA.ZeroGrad();
                loss.Forward(a.Forward(x), labels).Backward();
                optA.Step();
            }
            optB.ZeroGrad();
            loss.Forward(b.Forward(x), labels).Backward();
            optB.Step();
        }
        foreach (var ((n, pa), (_, pb)) in a.NamedParameters().Zip(b.NamedParameters()))
            Assert.True(pa.Data.SequenceEqual(pb.Data), $"parameter {n} differs");
    }

    [Fact]
    public void Arena_recycles_buffers_after_reset()
    {
        var arena = new TensorArena();
        Tensor first;
        using (arena.Activate()) first = Tensor.Zeros(64, 64);
        long capacity = arena.Capacity;
        arena.Reset();
        using (arena.Activate())
        {
            var second = Tensor.Zeros(64, 64);
            Assert.Same(first.data, second.data);
            Assert.All(second.ToArray(), v => Assert.Equal(0f, v));
        }
        Assert.Equal(capacity, arena.Capacity);
        Assert.Null(TensorArena.Current);
    }

    [Fact]
    public void Steady_state_training_step_allocates_little_managed_memory()
    {
        var (model, data) = Setup(3);
        var opt = new Adam(model.Parameters(), 1e-3f);
        var loss = new CrossEntropyLoss();
        var arena = new TensorArena();
        var batch = new DataLoader(data, 64).First();
        void Step()
        {
            arena.Reset();
            using var _ = arena.Activate();
            opt.ZeroGrad();
            loss.Forward(model.Forward(batch.Inputs), batch.Labels).Backward();
            opt.Step();
        }
        for (int i = 0; i < 20; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int steps = 50;
        for (int i = 0; i < steps; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
        // Only small graph objects (tensors, closures) remain; the float buffers (here ~40 KB per step) are recycled.
        Assert.True(perStep < 16 * 1024, $"a steady-state step allocated {perStep} bytes");
    }
    [Fact]
    public void Validation_reuses_its_buffers_from_one_epoch_to_the_next()
    {
        // Validation batches of 256 through a 2,048-wide hidden layer: ~2 MB per activation. A fresh
        // arena per validation pass re-allocated them every epoch (a small ResNet: ~350 MB an epoch).
        var rng = new Random(3);
        var model = new Sequential(new Linear(16, 2048, rng: rng), new ReLU(), new Linear(2048, 3, rng: rng));
        var train = Synthetic.Blobs(64, 3, 1.0, 3, dims: 16);
        var validation = Synthetic.Blobs(512, 3, 1.0, 4, dims: 16);
        var perEpoch = new List<long>();
        long last = 0;
        var options = new FitOptions
        {
            Epochs = 4, BatchSize = 32, Seed = 1, Validation = validation,
            OnEpoch = _ =>
            {
                long now = GC.GetAllocatedBytesForCurrentThread();
                perEpoch.Add(now - last);
                last = now;
            },
        };
        last = GC.GetAllocatedBytesForCurrentThread();
        Trainer.Fit(model, train, new CrossEntropyLoss(), new Sgd(model.Parameters(), 0.01f), options);
        // Epoch 1 fills both arenas; later epochs allocate only graph objects and the validation loader's batch.
        Assert.True(perEpoch[0] > 2_000_000, $"epoch 1 allocated only {perEpoch[0]} bytes");
        for (int e = 2; e < perEpoch.Count; e++)
            Assert.True(perEpoch[e] < 1_500_000, $"epoch {e + 1} allocated {perEpoch[e]} bytes");
    }
}
