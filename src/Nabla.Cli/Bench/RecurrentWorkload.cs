using System.Diagnostics;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Cli.Bench;

/// <summary>
/// The recurrent workloads of <c>nabla bench</c>: an LSTM or GRU classifier reading each 28×28
/// image as 28 steps of 28 features (hidden 128, the last hidden state into Linear(128→10)),
/// cross-entropy, Adam, batch 128; and the CTC loss with its gradient for 32 sequences of 100
/// steps over 11 classes. bench/compare/torch_recurrent.py is the PyTorch twin: keep them in step.
/// </summary>
public static class RecurrentWorkload
{
    /// <summary>Hidden size of the classifier.</summary>
    public const int Hidden = 128;

    /// <summary>CTC case: steps, batch, classes, label length.</summary>
    public const int CtcSteps = 100, CtcBatch = 32, CtcClasses = 11, CtcLabel = 30;

    private sealed class Classifier : Module
    {
        private readonly RecurrentBase rnn;
        private readonly Linear head;

        public Classifier(bool gru, int steps, int features, Random rng)
        {
            Steps = steps;
            Features = features;
            rnn = gru ? new Gru(features, Hidden, batchFirst: true, rng: rng) : new Lstm(features, Hidden, batchFirst: true, rng: rng);
            head = new Linear(Hidden, 10, rng: rng);
        }

        public int Steps { get; }
        public int Features { get; }

        public override Tensor Forward(Tensor input)
        {
            var x = Ops.Reshape(input, input.Shape[0], Steps, Features);
            var h = rnn is Lstm l ? l.Forward(x, null, null).H : ((Gru)rnn).Forward(x, null).H;
            return head.Forward(Ops.Reshape(h, input.Shape[0], Hidden));
        }
    }

    /// <summary>
    /// Processor time (all threads) per step of the last <see cref="Train"/> (median over repeats):
    /// on a shared machine this tracks the work a step costs better than wall-clock time does.
    /// </summary>
    public static double LastCpuMillisecondsPerStep { get; private set; }

    /// <summary>Trains the LSTM (or GRU) classifier on <paramref name="data"/> and times it like the MLP benchmark.</summary>
    public static TrainFigures Train(Dataset data, bool gru, int threads, BenchSettings s)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            int side = (int)Math.Round(Math.Sqrt(data.SampleSize));
            if (side * side != data.SampleSize) throw new ArgumentException($"recurrent bench: samples of {data.SampleSize} features are not square images.");
            var model = new Classifier(gru, side, side, new Random(42));
            model.Train();
            var optimizer = new Adam(model.Parameters(), 1e-3f);
            var loss = new CrossEntropyLoss();
            var loader = new DataLoader(data, s.Batch, shuffle: true, seed: 1, dropLast: true);
            using var batches = Cycle(loader).GetEnumerator();
            float last = float.NaN;
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
                var l = loss.Forward(model.Forward(batch.Inputs), batch.Labels);
                last = l.Item();
                l.Backward();
                optimizer.Step();
                governor?.EndStep();
            }
            return Time(Step, s, () => last) with { Governor = GovernorFigures.Of(governor) };
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }

    private static TrainFigures Time(Action step, BenchSettings s, Func<float> last)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < s.TrainWarmupSteps || warm.Elapsed.TotalSeconds < s.TrainWarmupSeconds; i++) step();
        int steps = s.TrainStepsPerRepeat;
        var rates = new double[s.Repeats];
        var cpu = new double[s.Repeats];
        using var self = Process.GetCurrentProcess();
        for (int r = 0; r < rates.Length; r++)
        {
            self.Refresh();
            var c0 = self.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < steps; i++) step();
            rates[r] = steps * (double)s.Batch / Stopwatch.GetElapsedTime(t0).TotalSeconds;
            self.Refresh();
            cpu[r] = (self.TotalProcessorTime - c0).TotalMilliseconds / steps;
        }
        double rate = Measure.Median(rates);
        LastCpuMillisecondsPerStep = Measure.Median(cpu);
        int allocSteps = Math.Max(3, s.AllocSteps / 4);
        int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < allocSteps; i++) step();
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        return new TrainFigures(rate, 1000.0 * s.Batch / rate, (double)bytes / allocSteps,
            GC.CollectionCount(0) - gen0, GC.CollectionCount(2) - gen2, allocSteps, last());
    }

    /// <summary>
    /// Seconds per CTC loss + gradient of a [100, 32, 11] batch with labels of 30 (mean reduction),
    /// and the processor milliseconds per call (all threads; on a shared machine it tracks the work
    /// better than the wall clock).
    /// </summary>
    public static (double Seconds, double CpuMs) CtcSeconds(int threads, BenchSettings s)
    {
        int saved = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            int T = s.Tiny ? 20 : CtcSteps, N = s.Tiny ? 4 : CtcBatch, L = s.Tiny ? 5 : CtcLabel;
            var rng = new Random(5);
            Tensor lp;
            using (GradMode.NoGrad()) lp = Ops.LogSoftmax(Tensor.Randn([T, N, CtcClasses], seed: 3), -1);
            lp.RequiresGrad = true;
            var targets = new int[N * L];
            for (int i = 0; i < targets.Length; i++) targets[i] = 1 + rng.Next(CtcClasses - 1);
            var inputLengths = Enumerable.Repeat(T, N).ToArray();
            var targetLengths = Enumerable.Repeat(L, N).ToArray();
            var arena = new TensorArena();
            void Call()
            {
                arena.Reset();
                using var active = arena.Activate();
                lp.Grad = null;
                Ops.CtcLoss(lp, targets, inputLengths, targetLengths).Backward();
            }
            double seconds = Measure.SecondsPerCall(Call, s.Repeats, s.WarmupCalls, s.WarmupSeconds, s.BatchSeconds);
            int calls = s.Tiny ? 3 : 50;
            var cpu0 = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            for (int i = 0; i < calls; i++) Call();
            double cpuMs = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / calls;
            return (seconds, cpuMs);
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
