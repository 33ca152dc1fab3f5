using Nabla.Data;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Tests.Kernels;

[Trait("Category", "Kernels")]
public class ThreadCountGovernorTests
{
    // A governor on a fake clock in microseconds; each step takes what the caller says for the
    // thread count the step was given.
    private sealed class Harness : IDisposable
    {
        private long now;
        private readonly int saved = WorkerPool.Threads;
        public readonly ThreadCountGovernor Governor;

        public Harness()
        {
            if (WorkerPool.Threads < 2) WorkerPool.Threads = 2;
            Governor = new ThreadCountGovernor(() => now, 1_000_000);
        }

        /// <summary>Runs <paramref name="steps"/> steps; returns how many ran on one thread.</summary>
        public int Run(int steps, long oneThreadMicros, long allThreadsMicros)
        {
            int onOne = 0;
            for (int i = 0; i < steps; i++)
            {
                Governor.BeginStep();
                bool one = WorkerPool.Threads == 1;
                if (one) onOne++;
                now += one ? oneThreadMicros : allThreadsMicros;
                Governor.EndStep();
            }
            return onOne;
        }

        public void Dispose()
        {
            Governor.Dispose();
            WorkerPool.Threads = saved;
        }
    }

    [Fact]
    public void AHealthyMachineStaysOnAllThreadsAfterOneProbe()
    {
        using var h = new Harness();
        int onOne = h.Run(2000, oneThreadMicros: 1600, allThreadsMicros: 1000);
        Assert.Equal(1, h.Governor.Probes);
        Assert.Equal(0, h.Governor.OneThreadChoices);
        Assert.Equal(ThreadCountGovernor.ProbeSteps, onOne); // the probe's own steps, nothing else
        Assert.False(h.Governor.OnOneThread);
    }

    [Fact]
    public void ASpellWhereTwoThreadsAreSlowerMovesToOneThreadAndBackAfterIt()
    {
        using var h = new Harness();
        h.Run(200, 1600, 1000);
        Assert.False(h.Governor.OnOneThread);

        // The spell: all threads now 2.5 ms a step, one thread 1.6 ms. Caught within the window
        // of eight steps plus a probe.
        int onOne = h.Run(400, 1600, 2500);
        Assert.True(h.Governor.OnOneThread);
        Assert.Equal(1, h.Governor.OneThreadChoices);
        Assert.True(onOne >= 400 - 8 - 2 * ThreadCountGovernor.ProbeSteps, $"{onOne} of 400 steps on one thread");

        // Over: after a second on one thread the governor tries all threads again and stays there.
        h.Run(1500, 1600, 1000);
        Assert.False(h.Governor.OnOneThread);
        int probes = h.Governor.Probes;
        Assert.Equal(0, h.Run(500, 1600, 1000));
        Assert.Equal(probes, h.Governor.Probes);
    }

    [Fact]
    public void WanderingStepTimesDoNotSetOffAProbeAtEveryWobble()
    {
        // Steps on all threads that wander between 1.0 and 1.6 ms in runs of 20 (one thread is slower
        // still): every other run crosses the 1.3× trigger, but probes that keep all threads back off.
        using var h = new Harness();
        for (int run = 0; run < 150; run++) h.Run(20, 1800, run % 2 == 0 ? 1000 : 1600);
        Assert.Equal(0, h.Governor.OneThreadChoices);
        Assert.InRange(h.Governor.Probes, 2, 10);
    }

    [Fact]
    public void OneThreadMustBeClearlyFasterToBeChosen()
    {
        using var h = new Harness();
        h.Run(100, oneThreadMicros: 980, allThreadsMicros: 1000); // 2 % faster: within the noise
        Assert.False(h.Governor.OnOneThread);
        Assert.Equal(0, h.Governor.OneThreadChoices);
    }

    [Fact]
    public void TheCapHoldsOnTheGovernedThreadOnlyAndEndsWithDispose()
    {
        using var h = new Harness();
        h.Run(100, 500, 1000);
        Assert.True(h.Governor.OnOneThread);
        h.Governor.BeginStep();
        Assert.Equal(1, WorkerPool.Threads);
        int elsewhere = 0;
        var other = new Thread(() => elsewhere = WorkerPool.Threads);
        other.Start();
        other.Join();
        Assert.True(elsewhere >= 2);
        h.Governor.EndStep();
        h.Governor.Dispose();
        Assert.True(WorkerPool.Threads >= 2);
    }

    [Fact]
    public void WithOneThreadConfiguredItDoesNothing()
    {
        int saved = WorkerPool.Threads;
        try
        {
            WorkerPool.Threads = 1;
            long now = 0;
            var g = new ThreadCountGovernor(() => now, 1_000_000);
            for (int i = 0; i < 100; i++)
            {
                g.BeginStep();
                now += 1000;
                g.EndStep();
            }
            Assert.Equal(0, g.Probes);
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }

    [Fact]
    public void FitGivesTheSameWeightsOnOneThreadAndOnTwo()
    {
        // What the governor relies on: kernels split rows and columns, never a reduction, so a step
        // computes the same bits whatever the thread count, and moving steps between one thread and
        // all of them changes no result. The layer is big enough (64×512×256 per product) for the
        // GEMMs to run on two threads.
        int saved = WorkerPool.Threads;
        try
        {
            var rng = new Random(5);
            int n = 512, d = 256;
            var x = new float[n * d];
            var y = new int[n];
            for (int i = 0; i < n; i++)
            {
                y[i] = rng.Next(4);
                for (int j = 0; j < d; j++) x[i * d + j] = (float)rng.NextDouble() + (j % 4 == y[i] ? 1f : 0f);
            }
            var data = new Dataset(x, [d], y, 4, "generated");
            float[] Train(int threads, bool adaptive)
            {
                WorkerPool.Threads = threads;
                var r = new Random(9);
                var model = new Sequential(new Linear(d, 512, rng: r), new ReLU(), new Linear(512, 4, rng: r));
                var opt = new Adam(model.Parameters(), 1e-3f);
                var history = Trainer.Fit(model, data, new CrossEntropyLoss(), opt,
                    new FitOptions { Epochs = 3, BatchSize = 64, Seed = 1, AdaptiveThreads = adaptive });
                Assert.True(history.Last.Accuracy > 0.9, $"accuracy {history.Last.Accuracy}");
                return model.Parameters().SelectMany(p => p.Data.ToArray()).ToArray();
            }
            float[] one = Train(1, adaptive: false);
            Assert.Equal(one, Train(2, adaptive: false));
            Assert.Equal(one, Train(2, adaptive: true));
        }
        finally
        {
            WorkerPool.Threads = saved;
        }
    }
}
