using System.Diagnostics;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Cli.Bench;

/// <summary>Figures of one timed training run (medians over the repeats).</summary>
/// <param name="SamplesPerSecond">Training samples per second (forward, loss, backward, optimiser step, batch gathering).</param>
/// <param name="MillisecondsPerStep">Milliseconds per training step.</param>
/// <param name="AllocatedBytesPerStep">Managed bytes allocated per steady-state step, all threads.</param>
/// <param name="Gen0Collections">Gen-0 collections during the allocation run.</param>
/// <param name="Gen2Collections">Gen-2 collections during the allocation run.</param>
/// <param name="AllocationSteps">Steps of the allocation run.</param>
/// <param name="Loss">The loss of the last step (a sanity check that training trains).</param>
/// <param name="Governor">What the loop's <see cref="ThreadCountGovernor"/> did, or null when it ran without one (unless NABLA_ADAPTIVE_THREADS=1).</param>
public sealed record TrainFigures(double SamplesPerSecond, double MillisecondsPerStep, double AllocatedBytesPerStep,
    int Gen0Collections, int Gen2Collections, int AllocationSteps, float Loss, GovernorFigures? Governor = null);

/// <summary>What a benchmark loop's <see cref="ThreadCountGovernor"/> did over the whole run (warm-up included).</summary>
/// <param name="Probes">Probes run.</param>
/// <param name="OneThreadChoices">Probes that chose one thread.</param>
/// <param name="StepsOnOneThread">Steps run on one thread by a choice (probe steps not counted).</param>
public sealed record GovernorFigures(int Probes, int OneThreadChoices, long StepsOnOneThread)
{
    /// <summary>The figures of <paramref name="g"/>, or null without one.</summary>
    public static GovernorFigures? Of(ThreadCountGovernor? g) => g is null ? null : new(g.Probes, g.OneThreadChoices, g.StepsOnOneThread);
}

/// <summary>
/// The end-to-end workload of the issue: an MLP 784-256-128-10 with ReLU, trained with
/// cross-entropy on batches of 128, and run for inference at batch 1 and batch 1000.
/// bench/compare/torch_bench.py is its PyTorch twin: keep the two in step.
/// </summary>
public static class MlpWorkload
{
    /// <summary>Layer widths of the benchmark model.</summary>
    public static readonly int[] Widths = [784, 256, 128, 10];

    /// <summary>The optimiser used when none is named (the same one must run on the reference side).</summary>
    public const string DefaultOptimizer = "adam";

    /// <summary>Optimiser names accepted by <see cref="MakeOptimizer"/>.</summary>
    public static readonly string[] Optimizers = ["adam", "sgd"];

    /// <summary>Describes the optimiser and its hyper-parameters (as written in the JSON).</summary>
    public static string DescribeOptimizer(string name) => name switch
    {
        "adam" => "Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)",
        "sgd" => "SGD(lr=0.01, momentum=0.9)",
        _ => throw new ArgumentException($"unknown optimiser \"{name}\" (known: {string.Join(", ", Optimizers)})"),
    };

    /// <summary>Linear(784→256), ReLU, Linear(256→128), ReLU, Linear(128→10), initialised from <paramref name="seed"/>.</summary>
    public static Sequential Build(int inputs, int seed)
    {
        var rng = new Random(seed);
        return new Sequential(
            new Linear(inputs, Widths[1], rng: rng), new ReLU(),
            new Linear(Widths[1], Widths[2], rng: rng), new ReLU(),
            new Linear(Widths[2], Widths[3], rng: rng));
    }

    /// <summary>The optimiser called <paramref name="name"/> over <paramref name="model"/>'s parameters.</summary>
    public static Optimizer MakeOptimizer(string name, Module model) => name switch
    {
        "adam" => new Adam(model.Parameters(), 1e-3f),
        "sgd" => new Sgd(model.Parameters(), 0.01f, momentum: 0.9f),
        _ => throw new ArgumentException($"unknown optimiser \"{name}\" (known: {string.Join(", ", Optimizers)})"),
    };

    /// <summary>
    /// The benchmark's data: <paramref name="dir"/> (MNIST-style IDX files, flattened to 784 features),
    /// or, when <paramref name="dir"/> is null, 256 random samples (tiny runs only).
    /// </summary>
    public static Dataset LoadData(string? dir)
    {
        if (dir is not null) return MnistFolder.Load(dir, flatten: true).Train;
        var rng = new Random(3);
        const int count = 256;
        var x = new float[count * Widths[0]];
        var y = new int[count];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        for (int i = 0; i < count; i++) y[i] = rng.Next(Widths[^1]);
        return new Dataset(x, [Widths[0]], y, Widths[^1], "synthetic");
    }

    /// <summary>Where the Debian package dataset-fashion-mnist installs Fashion-MNIST.</summary>
    public const string FashionMnistDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// The default data folder: Fashion-MNIST where the Debian package installed it, else the
    /// repository's shipped digits (data/mnist10k), else null.
    /// </summary>
    public static string? DefaultDataDir()
    {
        if (Directory.Exists(FashionMnistDir)) return FashionMnistDir;
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string shipped = Path.Combine(d.FullName, "data", "mnist10k");
                if (File.Exists(Path.Combine(d.FullName, "Nabla.slnx")) && Directory.Exists(shipped)) return shipped;
            }
        }
        return null;
    }

    /// <summary>
    /// Trains a fresh model on <paramref name="data"/> with <paramref name="threads"/> threads:
    /// warm-up steps, then <see cref="BenchSettings.Repeats"/> timed runs of
    /// <see cref="BenchSettings.TrainStepsPerRepeat"/> steps (median), then a run of
    /// <see cref="BenchSettings.AllocSteps"/> steps that counts allocated bytes and collections.
    /// </summary>
    public static TrainFigures Train(Dataset data, int threads, BenchSettings s)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            var model = Build(data.SampleSize, seed: 42);
            model.Train();
            var optimizer = MakeOptimizer(s.Optimizer, model);
            var loss = new CrossEntropyLoss();
            var loader = new DataLoader(data, s.Batch, shuffle: true, seed: 1, dropLast: true);
            using var batches = Cycle(loader).GetEnumerator();
            float last = float.NaN;

            // As Trainer.Fit does: the step's tensors live in an arena recycled by the next step, and
            // (with NABLA_ADAPTIVE_THREADS=1) a governor moves the steps to one thread while that is faster.
            var arena = new TensorArena();
            using var governor = ThreadCountGovernor.EnabledByDefault ? new ThreadCountGovernor() : null;
            void Step()
            {
                governor?.BeginStep();
                batches.MoveNext();
                var batch = batches.Current;
                arena.Reset();
                using var active = arena.Activate();
                optimizer.ZeroGrad();
                var output = model.Forward(batch.Inputs);
                var l = loss.Forward(output, batch.Labels);
                last = l.Item();
                l.Backward();
                optimizer.Step();
                governor?.EndStep();
            }

            var warm = Stopwatch.StartNew();
            for (int i = 0; i < s.TrainWarmupSteps || warm.Elapsed.TotalSeconds < s.TrainWarmupSeconds; i++) Step();

            int steps = s.TrainStepsPerRepeat;
            var rates = new double[s.Repeats];
            for (int r = 0; r < rates.Length; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < steps; i++) Step();
                rates[r] = steps * (double)s.Batch / Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }
            double rate = Measure.Median(rates);

            // All threads' allocations (the worker pool's included), over a separate run.
            int allocSteps = s.AllocSteps;
            int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < allocSteps; i++) Step();
            long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
            gen0 = GC.CollectionCount(0) - gen0;
            gen2 = GC.CollectionCount(2) - gen2;

            return new TrainFigures(rate, 1000.0 * s.Batch / rate, (double)bytes / allocSteps, gen0, gen2, allocSteps, last,
                GovernorFigures.Of(governor));
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }

    /// <summary>Seconds per forward pass of a batch of <paramref name="batch"/> samples (evaluation mode, no gradients).</summary>
    public static double InferSeconds(Dataset data, int batch, int threads, BenchSettings s)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            var model = Build(data.SampleSize, seed: 42);
            model.Eval();
            int n = Math.Min(batch, data.Count);
            var x = new float[batch * data.SampleSize];
            for (int i = 0; i < batch; i++) data.GetSample(i % n).CopyTo(x.AsSpan(i * data.SampleSize));
            var input = Tensor.FromArray(x, batch, data.SampleSize);
            using var _ = GradMode.NoGrad();
            // A serving loop reuses its buffers: each call's outputs go back to the arena.
            var arena = new TensorArena();
            return Measure.SecondsPerCall(() =>
            {
                arena.Reset();
                using var active = arena.Activate();
                model.Forward(input);
            }, s.Repeats,
                s.WarmupCalls, s.WarmupSeconds, s.BatchSeconds);
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }

    private static IEnumerable<Batch> Cycle(DataLoader loader)
    {
        for (int epoch = 0; ; epoch++)
            foreach (var batch in loader.GetEpoch(epoch))
                yield return batch;
    }
}
