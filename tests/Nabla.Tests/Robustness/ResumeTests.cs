using System.Diagnostics;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Tests.Cli;
using Nabla.Training;

namespace Nabla.Tests.Robustness;

/// <summary>Resumable training: an interrupted run, resumed from its checkpoints, ends with the weights of an uninterrupted one, bit for bit.</summary>
public class ResumeTests
{
    private sealed class Interrupted : Exception;

    private static (Sequential Model, Optimizer Optimizer, FitOptions Options) Setup(string dir, bool resume, int? stopAtStep = null)
    {
        var rng = new Random(11);
        var model = new Sequential(new Linear(4, 12, rng: rng), new ReLU(), new Dropout(0.3f, rng), new Linear(12, 3, rng: rng));
        var optimizer = new Adam(model.Parameters(), 0.01f);
        var options = new FitOptions
        {
            Epochs = 4, BatchSize = 8, Seed = 5,
            Validation = Synthetic.Blobs(10, 3, 1.0, 9, dims: 4),
            Checkpoint = new CheckpointOptions(dir) { EverySteps = 3, Resume = resume },
            Augment = (x, r) => { var d = x.Data; for (int i = 0; i < d.Length; i++) d[i] += (float)(r.NextDouble() - 0.5) * 0.01f; },
        };
        options.Callbacks.Add(new LearningRateScheduler(new ReduceLROnPlateau(MetricMode.Min, factor: 0.5f, patience: 1)));
        options.Callbacks.Add(new EarlyStopping(MonitoredMetric.ValidationLoss, patience: 3, restoreBestWeights: true));
        int steps = 0;
        if (stopAtStep is int k) options.OnBatch = _ => { if (++steps == k) throw new Interrupted(); };
        return (model, optimizer, options);
    }

    [Fact]
    public void A_run_interrupted_anywhere_and_resumed_ends_with_the_same_weights()
    {
        var data = Synthetic.Blobs(30, 3, 1.2, 4, dims: 4); // 90 samples: 12 steps an epoch
        using var t = new CliTempDir();
        var (m0, o0, f0) = Setup(t.File("straight"), resume: false);
        var h0 = Trainer.Fit(m0, data, new CrossEntropyLoss(), o0, f0);
        var reference = m0.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

        foreach (int[] stops in new[] { new[] { 1 }, new[] { 5, 3 }, new[] { 12, 13 }, new[] { 7, 9, 11 } })
        {
            string dir = t.File("run-" + string.Join("-", stops));
            bool first = true;
            foreach (int stop in stops)
            {
                var (m, o, f) = Setup(dir, resume: !first, stopAtStep: stop);
                Assert.Throws<Interrupted>(() => Trainer.Fit(m, data, new CrossEntropyLoss(), o, f));
                first = false;
            }
            var (m1, o1, f1) = Setup(dir, resume: true);
            var h1 = Trainer.Fit(m1, data, new CrossEntropyLoss(), o1, f1);
            foreach (var (name, w) in m1.StateDict())
                Assert.True(reference[name].AsSpan().SequenceEqual(w.ToArray()), $"stops {string.Join(",", stops)}: '{name}' differs from the uninterrupted run");
            Assert.Equal(h0.Epochs.Select(e => e.Loss), h1.Epochs.Select(e => e.Loss));
            Assert.Equal(o0.LearningRate, o1.LearningRate);
        }
    }

    [Fact]
    public void Stale_temporary_files_of_a_killed_writer_are_removed_at_the_next_start()
    {
        using var t = new CliTempDir();
        string stale = t.File(".checkpoint.safetensors.4242.0123456789abcdef.tmp");
        File.WriteAllBytes(stale, new byte[100]);
        var (m, o, f) = Setup(t.Path, resume: true);
        Trainer.Fit(m, Synthetic.Blobs(5, 3, 1.0, 1, dims: 4), new CrossEntropyLoss(), o, f);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(t.File(CheckpointOptions.FileName)));
    }

    [Fact]
    public void A_checkpoint_of_another_run_is_refused_by_name()
    {
        using var t = new CliTempDir();
        var (m, o, f) = Setup(t.Path, resume: false);
        Trainer.Fit(m, Synthetic.Blobs(5, 3, 1.0, 1, dims: 4), new CrossEntropyLoss(), o, f);
        var (m2, o2, f2) = Setup(t.Path, resume: true);
        f2.BatchSize = 4;
        var e = Assert.Throws<InvalidDataFileException>(() => Trainer.Fit(m2, Synthetic.Blobs(5, 3, 1.0, 1, dims: 4), new CrossEntropyLoss(), o2, f2));
        Assert.Contains("batch_size 8", e.Message);
    }

    /// <summary>Runs the built CLI as a child process, killing it after <paramref name="killAfterMs"/> (if given) ms.</summary>
    private static (int Code, bool Killed) RunCli(string[] args, int? killAfterMs, string workDir)
    {
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Nabla.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NABLA_ATOMIC_WRITE_PAUSE_MS"] = "25"; // checkpoint writes take a while: kills land inside them too
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (killAfterMs is int ms && !p.WaitForExit(ms))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (p.ExitCode, true);
        }
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("nabla train did not finish in 120 s"); }
        return (p.ExitCode, false);
    }

    [Fact]
    public void Cli_killed_at_random_moments_and_resumed_matches_an_uninterrupted_run_bit_for_bit()
    {
        using var t = new CliTempDir();
        string data = Path.Combine(t.Path, "data");
        FakeMnist.Write(data, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 80, size: 8, classes: 3);
        string[] common = ["train", "--data", data, "--layers", "10", "--epochs", "3", "--batch", "6", "--dropout", "0.2", "--augment",
                           "--optimizer", "adam", "--early-stop", "2", "--threads", "1", "--checkpoint-every", "1"];
        var straight = RunCli([.. common, "--checkpoint", t.File("ck0"), "--out", t.File("straight.safetensors")], null, t.Path);
        Assert.Equal(0, straight.Code);

        var rng = new Random(2024);
        int kills = 0;
        bool done = false;
        for (int attempt = 0; attempt < 12 && !done; attempt++)
        {
            // Killed before it saved its settings, a run cannot be resumed: it is started again.
            bool started = File.Exists(Path.Combine(t.File("ck1"), "train-settings.json"));
            string[] args = started ? ["train", "--resume", t.File("ck1")] : [.. common, "--checkpoint", t.File("ck1"), "--out", t.File("resumed.safetensors")];
            // The first few runs are killed; then one runs to the end.
            var r = RunCli(args, attempt < 4 ? rng.Next(300, 1500) : null, t.Path);
            kills += r.Killed ? 1 : 0;
            done = !r.Killed && r.Code == 0;
            Assert.True(r.Killed || r.Code == 0, $"resume exited with {r.Code}");
        }
        Assert.True(done, "the resumed run never finished");
        Assert.True(kills >= 1, "no run was killed: the test did not test resuming");
        var a = SafeTensors.Load(t.File("straight.safetensors")).Tensors;
        var b = SafeTensors.Load(t.File("resumed.safetensors")).Tensors;
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, w) in a) Assert.True(w.ToArray().AsSpan().SequenceEqual(b[name].ToArray()), $"'{name}' differs after {kills} kills");
        var left = Directory.GetFiles(t.File("ck1"), "*.tmp");
        Assert.True(left.Length == 0, "left behind: " + string.Join(", ", left.Select(Path.GetFileName)));
    }
}
