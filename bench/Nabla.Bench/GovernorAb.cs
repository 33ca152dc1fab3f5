using System.Diagnostics;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Bench;

/// <summary>
/// `governor-ab [blocks] [data-dir]`: the benchmark MLP (784-256-128-10, Adam, batch 128) trained on
/// 2 threads in blocks of 2.5 s, alternately with a fixed thread count and with a
/// <see cref="ThreadCountGovernor"/>, printing samples/s per block and what the governor did. The
/// host's far-vCPU spells come and go, so neighbouring blocks are the comparison.
/// </summary>
public static class GovernorAb
{
    /// <summary>Runs the comparison.</summary>
    public static void Run(string[] args)
    {
        int blocks = args.Length > 0 ? int.Parse(args[0]) : 20;
        string dir = args.Length > 1 ? args[1] : "/usr/share/datasets/fashion-mnist";
        var data = MnistFolder.Load(dir, flatten: true).Train;
        var rng = new Random(42);
        var model = new Sequential(new Linear(784, 256, rng: rng), new ReLU(), new Linear(256, 128, rng: rng), new ReLU(), new Linear(128, 10, rng: rng));
        model.Train();
        var optimizer = new Adam(model.Parameters(), 1e-3f);
        var loss = new CrossEntropyLoss();
        var loader = new DataLoader(data, 128, shuffle: true, seed: 1, dropLast: true);
        using var batches = Cycle(loader).GetEnumerator();
        var arena = new TensorArena();
        WorkerPool.Threads = 2;
        for (int block = 0; block < blocks; block++)
        {
            using var governor = block % 2 == 1 ? new ThreadCountGovernor() : null;
            long t0 = Stopwatch.GetTimestamp();
            int steps = 0;
            while (Stopwatch.GetElapsedTime(t0).TotalSeconds < 2.5)
            {
                governor?.BeginStep();
                batches.MoveNext();
                var batch = batches.Current;
                arena.Reset();
                using (arena.Activate())
                {
                    optimizer.ZeroGrad();
                    loss.Forward(model.Forward(batch.Inputs), batch.Labels).Backward();
                    optimizer.Step();
                }
                governor?.EndStep();
                steps++;
            }
            double rate = steps * 128 / Stopwatch.GetElapsedTime(t0).TotalSeconds;
            Console.WriteLine($"{(governor is null ? "fixed   " : "governed")} {rate,8:F0} samples/s"
                + (governor is null ? "" : $"  probes {governor.Probes}, chose one thread {governor.OneThreadChoices}, steps on one {governor.StepsOnOneThread}"));
        }
    }

    private static IEnumerable<Batch> Cycle(DataLoader loader)
    {
        for (int epoch = 0; ; epoch++)
            foreach (var batch in loader.GetEpoch(epoch))
                yield return batch;
    }
}
