using BenchmarkDotNet.Attributes;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Bench;

/// <summary>
/// One training step of the benchmark MLP (784-256-128-10, ReLU, cross-entropy, Adam, batch 128):
/// zero the gradients, forward, loss, backward, optimiser step. [MemoryDiagnoser] reports the bytes
/// a steady-state step allocates. The inputs are random (speed does not depend on the pixels), cycled
/// over a few batches so the caches see more than one. `nabla bench` measures the same step end to
/// end on real data (src/Nabla.Cli/Bench/MlpWorkload.cs).
/// Run: `dotnet run -c Release --project bench/Nabla.Bench -- --filter *TrainingStepBench*`.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBench
{
    private const int Batch = 128, Inputs = 784, Classes = 10, Batches = 8;

    private Sequential _model = null!;
    private Optimizer _optimizer = null!;
    private readonly CrossEntropyLoss _loss = new();
    private Tensor[] _inputs = null!;
    private int[][] _labels = null!;
    private int _next;
    private int _savedThreads;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _savedThreads = WorkerPool.Threads;
        WorkerPool.Threads = Threads;
        var rng = new Random(42);
        _model = new Sequential(
            new Linear(Inputs, 256, rng: rng), new ReLU(),
            new Linear(256, 128, rng: rng), new ReLU(),
            new Linear(128, Classes, rng: rng));
        _optimizer = new Adam(_model.Parameters(), 1e-3f);
        _inputs = new Tensor[Batches];
        _labels = new int[Batches][];
        for (int b = 0; b < Batches; b++)
        {
            var x = new float[Batch * Inputs];
            for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
            _inputs[b] = Tensor.FromArray(x, Batch, Inputs);
            _labels[b] = Enumerable.Range(0, Batch).Select(_ => rng.Next(Classes)).ToArray();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => WorkerPool.Threads = _savedThreads;

    [Benchmark]
    public float Step()
    {
        int b = _next;
        _next = (b + 1) % Batches;
        _optimizer.ZeroGrad();
        var output = _model.Forward(_inputs[b]);
        var loss = _loss.Forward(output, _labels[b]);
        float value = loss.Item();
        loss.Backward();
        _optimizer.Step();
        return value;
    }
}
