using System.Diagnostics;
using System.Text.Json.Nodes;
using Nabla.Cli.Commands;
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

    private static (Sequential Model, Optimizer Optimizer, FitOptions Options) Setup(string dir, bool resume, int? stopAtStep = null, bool cosine = false)
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
        options.Callbacks.Add(new LearningRateScheduler(cosine ? new CosineAnnealingLR(tMax: 4) : new ReduceLROnPlateau(MetricMode.Min, factor: 0.5f, patience: 1)));
        options.Callbacks.Add(new EarlyStopping(MonitoredMetric.ValidationLoss, patience: 3, restoreBestWeights: true));
        int steps = 0;
        if (stopAtStep is int k) options.OnBatch = _ => { if (++steps == k) throw new Interrupted(); };
        return (model, optimizer, options);
    }

    [Fact]
    public void The_locked_process_wide_generator_is_saved_and_restored_as_a_plain_one()
    {
        // The process-wide generator (a lock around a Random) is in every checkpoint; its state is the plain
        // generator's, so checkpoints written before the lock existed restore into it, and it stays locked.
        var locked = new LockedRandom(42);
        for (int i = 0; i < 10; i++) locked.Next();
        byte[] state = StateSnapshot.Save(locked);
        var plain = new Random(42);
        for (int i = 0; i < 10; i++) plain.Next();
        Assert.Equal(StateSnapshot.Save(plain), state);
        var expected = Enumerable.Range(0, 5).Select(_ => locked.Next()).ToArray();

        var fresh = new LockedRandom(7);
        StateSnapshot.Restore(fresh, state);
        Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => fresh.Next()).ToArray());
        var holder = new RandomHolder { Rng = new LockedRandom(8) };
        var before = holder.Rng;
        StateSnapshot.Restore(holder, StateSnapshot.Save(new RandomHolder { Rng = fresh }));
        Assert.Same(before, holder.Rng);
        Assert.Equal(fresh.Next(), holder.Rng.Next());
    }

    private sealed class RandomHolder
    {
        public Random Rng = new(0);
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
    public void A_run_resumed_after_the_first_epoch_keeps_its_schedules_base_rate()
    {
        // The cosine schedule takes its base rate from the optimiser at its first step (a float? field): a run
        // resumed after that step must not take its decayed rate as the base (issue 16).
        var data = Synthetic.Blobs(30, 3, 1.2, 4, dims: 4); // 12 steps an epoch
        using var t = new CliTempDir();
        var (m0, o0, f0) = Setup(t.File("straight"), resume: false, cosine: true);
        Trainer.Fit(m0, data, new CrossEntropyLoss(), o0, f0);
        foreach (int stop in new[] { 13, 30 })
        {
            string dir = t.File("run-" + stop);
            var (m, o, f) = Setup(dir, resume: false, stopAtStep: stop, cosine: true);
            Assert.Throws<Interrupted>(() => Trainer.Fit(m, data, new CrossEntropyLoss(), o, f));
            var (m1, o1, f1) = Setup(dir, resume: true, cosine: true);
            Trainer.Fit(m1, data, new CrossEntropyLoss(), o1, f1);
            Assert.Equal(o0.LearningRate, o1.LearningRate);
            var reference = m0.StateDict();
            foreach (var (name, w) in m1.StateDict())
                Assert.True(reference[name].ToArray().AsSpan().SequenceEqual(w.ToArray()), $"stop {stop}: '{name}' differs from the uninterrupted run");
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

    /// <summary>
    /// Runs the built CLI as a child process; with <paramref name="killAtWrite"/> (NABLA_ATOMIC_WRITE_KILL_AT) it kills
    /// itself (SIGKILL) in that atomic write of its own: "N" with the temporary file written but not renamed, "N+" just
    /// after the rename.
    /// </summary>
    private static int RunCli(string[] args, string? killAtWrite, string workDir)
    {
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Nabla.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment.Remove("NABLA_ATOMIC_WRITE_PAUSE_MS");
        if (killAtWrite is not null) psi.Environment["NABLA_ATOMIC_WRITE_KILL_AT"] = killAtWrite;
        else psi.Environment.Remove("NABLA_ATOMIC_WRITE_KILL_AT");
        using var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException("nabla train did not finish in 120 s"); }
        p.WaitForExit();
        return p.ExitCode;
    }

    private const int Killed = 137; // 128 + SIGKILL

    [Fact]
    public void Cli_killed_at_every_kind_of_moment_and_resumed_matches_an_uninterrupted_run_bit_for_bit()
    {
        using var t = new CliTempDir();
        string data = Path.Combine(t.Path, "data");
        // 80 images cut 60/20/20: 48 training samples, 8 steps of 6 an epoch. With --checkpoint-every 1 a fresh run's
        // atomic writes are: 1 the settings; then per epoch e (0-based) 2+8e..8+8e after steps 1..7 and 9+8e at the
        // epoch's end (after validation, callbacks and schedule); 25 the end of epoch 3 (training done); 26 --out.
        FakeMnist.Write(data, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 80, size: 8, classes: 3);
        string[] common = ["train", "--data", data, "--layers", "10", "--epochs", "3", "--batch", "6", "--dropout", "0.2", "--augment",
                           "--optimizer", "adam", "--schedule", "cosine", "--early-stop", "2", "--threads", "1", "--checkpoint-every", "1"];
        Assert.Equal(0, RunCli([.. common, "--checkpoint", t.File("ck0"), "--out", t.File("straight.safetensors")], null, t.Path));
        string ck = t.File("ck1"), settings = Path.Combine(ck, TrainCheckpoint.SettingsFile), checkpoint = Path.Combine(ck, CheckpointOptions.FileName);
        string[] fresh = [.. common, "--checkpoint", ck, "--out", t.File("resumed.safetensors")];
        string[] resume = ["train", "--resume", ck];
        // Each kill is counted in the writes of that process: a resumed run writes no settings, and its first write
        // is the checkpoint after the first step it does.
        // Where the checkpoint left by each kill says the run goes on: (epoch, batches of it done); null: no checkpoint.
        var kills = new (string[] Args, string At, string Moment, (int, int)? Saved)[]
        {
            (fresh, "1", "writing the settings", null),
            (fresh, "1+", "settings saved, no checkpoint yet", null),
            (resume, "4", "mid-epoch 1, inside the checkpoint after step 4", (1, 3)),
            (resume, "5", "at the end of epoch 1, inside its epoch-end checkpoint", (1, 7)),
            (resume, "1+", "at the end of epoch 1, just after its epoch-end checkpoint", (2, 0)),
            (resume, "3+", "mid-epoch 2, just after the checkpoint after its step 3", (2, 3)),
            (resume, "13+", "after training (epochs 2 and 3 ended), before --out", (4, 0)),
            (resume, "1", "inside the --out write", (4, 0)),
            (resume, "1+", "with --out written, before the process ended", (4, 0)),
        };
        foreach (var (args, at, moment, saved) in kills)
        {
            Assert.True(RunCli(args, at, t.Path) == Killed, $"the run was not killed {moment} (write {at})");
            Assert.Equal(saved is not null || at == "1+", File.Exists(settings));
            Assert.Equal(saved is not null, File.Exists(checkpoint));
            if (saved is (int epoch, int done))
            {
                var state = JsonNode.Parse(SafeTensors.Load(checkpoint).Metadata["nabla.checkpoint"])!;
                Assert.True((epoch, done) == ((int)state["epoch"]!, (int)state["batches_done"]!),
                    $"killed {moment}: the checkpoint is at epoch {state["epoch"]} after {state["batches_done"]} batches, not {epoch} after {done}");
            }
            Assert.Equal(moment.StartsWith("with --out", StringComparison.Ordinal), File.Exists(t.File("resumed.safetensors")));
        }
        Assert.True(File.Exists(settings) && File.Exists(checkpoint));
        Assert.Equal(0, RunCli(resume, null, t.Path));

        var a = SafeTensors.Load(t.File("straight.safetensors")).Tensors;
        var b = SafeTensors.Load(t.File("resumed.safetensors")).Tensors;
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, w) in a) Assert.True(w.ToArray().AsSpan().SequenceEqual(b[name].ToArray()), $"'{name}' differs after {kills.Length} kills");
        var left = Directory.GetFiles(ck, "*.tmp").Concat(Directory.GetFiles(t.Path, ".resumed*.tmp")).ToArray();
        Assert.True(left.Length == 0, "left behind: " + string.Join(", ", left.Select(Path.GetFileName)));
    }
}
