using System.CommandLine;
using System.Globalization;
using Nabla.Data;
using Nabla.Distributed;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Training;

namespace Nabla.Cli.Commands;

/// <summary>
/// Data-parallel <c>nabla train</c>: <c>--data-parallel N</c> runs N ranks as threads of this process,
/// <c>--distributed</c> makes this process one rank of an MPI job (<c>mpirun -np N nabla train --distributed …</c>).
/// Every rank runs the whole command (so every model the command trains is covered); rank 0 prints and
/// writes files, the others are silent. TrainCommand calls <see cref="Fit"/> and <see cref="Evaluate"/>
/// instead of Trainer's and asks <see cref="IsRoot"/> before writing files.
/// </summary>
public static class DistributedTraining
{
    /// <summary>Exit code when a rank failed or stopped answering (a distributed run only).</summary>
    public const int CommunicationFailed = 4;

    [ThreadStatic] private static RankState? current;

    /// <summary>The rank this thread runs, or null outside a distributed or checkpointed run.</summary>
    public static ICommunicator? Communicator => current?.Comm;

    /// <summary>Whether this thread is rank 0 (or no distributed run): only rank 0 writes files.</summary>
    public static bool IsRoot => current is null || current.Comm.Rank == 0;

    /// <summary>Adds --distributed, --data-parallel, --comm-timeout, --checkpoint and --resume to <paramref name="command"/>.</summary>
    public static DistributedCliOptions AddOptions(Command command)
    {
        var o = new DistributedCliOptions();
        o.DataParallel.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out int? n) && n is < 1 or > 256) r.AddError($"--data-parallel must be from 1 to 256, got {n}.");
        });
        o.Timeout.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out double? t) && !(t > 0)) r.AddError($"--comm-timeout must be a positive number of seconds, got {t?.ToString(CultureInfo.InvariantCulture)}.");
        });
        foreach (var option in new Option[] { o.Distributed, o.DataParallel, o.Timeout, o.Checkpoint, o.Resume, o.Overlap }) command.Options.Add(option);
        return o;
    }

    /// <summary>
    /// Runs <paramref name="body"/> once per rank as the options ask (once, directly, when none is given) and
    /// returns the exit code.
    /// </summary>
    public static int Launch(CliContext io, ParseResult parse, DistributedCliOptions options, Func<CliContext, int> body)
    {
        bool mpi = parse.GetValue(options.Distributed);
        int? ranks = parse.GetValue(options.DataParallel);
        string? checkpoint = parse.GetValue(options.Checkpoint);
        bool resume = parse.GetValue(options.Resume);
        TimeSpan? timeout = parse.GetValue(options.Timeout) is double sec ? TimeSpan.FromSeconds(sec) : null;
        var ddpOptions = new DistributedDataParallelOptions { OverlapBackward = parse.GetValue(options.Overlap) };
        if (mpi && ranks is not null) throw new UsageException("--distributed (MPI ranks) and --data-parallel (threads) exclude each other; give one.");
        if (resume && checkpoint is null) throw new UsageException("--resume needs --checkpoint FILE (the file to continue from).");
        if (checkpoint is not null && Directory.Exists(checkpoint)) throw new UsageException($"--checkpoint {checkpoint} is a folder; give a file name.");

        if (mpi) return LaunchMpi(io, timeout, checkpoint, resume, ddpOptions, body);
        if (ranks is int n) return LaunchThreads(io, n, timeout, checkpoint, resume, ddpOptions, body);
        if (checkpoint is null) return body(io);
        // Checkpoints without distribution: one rank, on this thread.
        return RunRank(io, new RankState(InProcessCommunicator.Create(1, timeout)[0], checkpoint, resume, ddpOptions, io), body);
    }

    private static int LaunchThreads(CliContext io, int n, TimeSpan? timeout, string? checkpoint, bool resume, DistributedDataParallelOptions ddp, Func<CliContext, int> body)
    {
        // The ranks share the cores: each gets its share of the kernel threads unless --threads says otherwise.
        int threadsBefore = WorkerPool.Threads;
        WorkerPool.Threads = Math.Max(1, Environment.ProcessorCount / n);
        var quiet = CliContext.ForWriters(TextWriter.Null, TextWriter.Null);
        var shared = new SharedData();
        try
        {
            var codes = InProcessCommunicator.Run(n, c =>
                RunRank(c.Rank == 0 ? io : quiet, new RankState(c, checkpoint, resume, ddp, io) { Shared = shared }, body), timeout);
            return codes.FirstOrDefault(c => c != ExitCodes.Ok);
        }
        catch (CommunicatorException e)
        {
            io.Error(e.Message);
            return CommunicationFailed;
        }
        finally
        {
            WorkerPool.Threads = threadsBefore;
        }
    }

    private static int LaunchMpi(CliContext io, TimeSpan? timeout, string? checkpoint, bool resume, DistributedDataParallelOptions ddp, Func<CliContext, int> body)
    {
        MpiCommunicator comm;
        try
        {
            comm = MpiCommunicator.Initialize(timeout);
        }
        catch (DllNotFoundException e)
        {
            throw new UsageException(e.Message);
        }
        if (comm.WorldSize == 1 && !MpiCommunicator.LaunchedByMpi)
            io.ErrWriter.WriteLine("warning: --distributed without an MPI launcher runs one rank; start it with mpirun -np N (or srun).");
        var rankIo = comm.Rank == 0 ? io : CliContext.ForWriters(TextWriter.Null, new PrefixWriter($"rank {comm.Rank}: ", io.ErrWriter));
        int code;
        try
        {
            code = RunRank(rankIo, new RankState(comm, checkpoint, resume, ddp, io), b => Common.Guard(b, () => body(b)));
        }
        catch (CommunicatorException e)
        {
            rankIo.Error(e.Message);
            code = CommunicationFailed;
        }
        if (code != ExitCodes.Ok && comm.WorldSize > 1)
            comm.Abort(code); // the other ranks must not wait for this one: end the whole job now
        comm.Dispose();
        return code;
    }

    private static int RunRank(CliContext io, RankState state, Func<CliContext, int> body)
    {
        current = state;
        try
        {
            return body(io);
        }
        finally
        {
            current = null;
        }
    }

    /// <summary>The data, loaded once per process however many ranks (threads) ask for it.</summary>
    public static DataSplits Load(Func<DataSplits> load)
    {
        if (current?.Shared is not { } shared) return load();
        lock (shared) return shared.Data ??= load();
    }

    /// <summary>One line describing the distribution for the training banner, or null outside a distributed run.</summary>
    public static string? Describe(int batchPerRank)
    {
        if (current is not { } s || s.Comm.WorldSize == 1 && s.Comm is InProcessCommunicator) return null;
        return $"{s.Comm.WorldSize} ranks, {s.Comm.Description}; batch {batchPerRank} per rank, {batchPerRank * s.Comm.WorldSize} per step; {WorkerPool.Threads} kernel threads per rank";
    }

    /// <summary>
    /// <see cref="Trainer.Fit"/>, or in a distributed run <see cref="DistributedTrainer.Fit"/> over the
    /// ranks, with the checkpoint and resume the options asked for.
    /// </summary>
    public static History Fit(Module model, Dataset train, Loss loss, Optimizer optimizer, FitOptions options)
    {
        if (current is not { } s) return Trainer.Fit(model, train, loss, optimizer, options);
        int initial = 0;
        if (s.Resume && File.Exists(s.Checkpoint))
        {
            // Replay the epoch-driven schedules to where the run stopped; the checkpoint restores the rate itself.
            initial = DistributedCheckpoint.Load(s.Checkpoint!, model, optimizer);
            if (initial >= options.Epochs)
                throw new UsageException($"{s.Checkpoint} already holds {initial} epochs; ask for more with --epochs (now {options.Epochs}).");
            float lr = optimizer.LearningRate;
            foreach (var cb in options.Callbacks.OfType<LearningRateScheduler>())
                if (!cb.Schedule.NeedsMetric)
                    for (int e = 0; e < initial; e++) cb.Schedule.Step(optimizer);
            optimizer.LearningRate = lr;
            if (s.Comm.Rank == 0) s.Root.Line($"resumed from {s.Checkpoint} after epoch {initial}");
        }
        if (s.Checkpoint is not null) options.Callbacks.Add(new DistributedCheckpoint(s.Checkpoint, s.Comm));
        using var ddp = new DistributedDataParallel(model, s.Comm, s.Options);
        return DistributedTrainer.Fit(ddp, train, loss, optimizer, options, initial);
    }

    /// <summary><see cref="Trainer.Evaluate"/>, or in a distributed run its sum over the ranks' shares.</summary>
    public static EvaluationResult Evaluate(Module model, Dataset data, Loss loss) =>
        current is { } s ? DistributedTrainer.Evaluate(model, data, loss, s.Comm) : Trainer.Evaluate(model, data, loss);

    private sealed class RankState(ICommunicator comm, string? checkpoint, bool resume, DistributedDataParallelOptions options, CliContext root)
    {
        public ICommunicator Comm { get; } = comm;
        public string? Checkpoint { get; } = checkpoint is null ? null : Path.GetFullPath(checkpoint);
        public bool Resume { get; } = resume;
        public DistributedDataParallelOptions Options { get; } = options;
        public CliContext Root { get; } = root;
        public SharedData? Shared { get; init; }
    }

    private sealed class SharedData
    {
        public DataSplits? Data { get; set; }
    }

    /// <summary>Prefixes every line written to standard error with the rank.</summary>
    private sealed class PrefixWriter(string prefix, TextWriter inner) : TextWriter
    {
        private bool lineStart = true;

        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            if (lineStart) inner.Write(prefix);
            inner.Write(value);
            lineStart = value == '\n';
        }

        public override void Flush() => inner.Flush();
    }
}

/// <summary>The options <see cref="DistributedTraining.AddOptions"/> adds to a command.</summary>
public sealed class DistributedCliOptions
{
    /// <summary>--distributed</summary>
    public Option<bool> Distributed { get; } = new("--distributed")
    {
        Description = "Be one rank of an MPI job: mpirun -np N nabla train --distributed … (gradients averaged over the ranks; --batch is per rank)",
    };

    /// <summary>--data-parallel N</summary>
    public Option<int?> DataParallel { get; } = new("--data-parallel")
    {
        Description = "Train on N ranks as threads of this process, averaging gradients as --distributed does (--batch is per rank)",
        HelpName = "N",
    };

    /// <summary>--comm-timeout SECONDS</summary>
    public Option<double?> Timeout { get; } = new("--comm-timeout")
    {
        Description = "Seconds a rank waits for the others before the run stops with an error (default: 120 in-process, 300 under MPI)",
        HelpName = "SECONDS",
    };

    /// <summary>--checkpoint FILE</summary>
    public Option<string?> Checkpoint { get; } = new("--checkpoint")
    {
        Description = "Write model, optimiser state and epoch to FILE after every epoch (atomically, rank 0 only)",
        HelpName = "FILE",
    };

    /// <summary>--resume</summary>
    public Option<bool> Resume { get; } = new("--resume")
    {
        Description = "Continue from --checkpoint FILE when it exists (with the same or a different number of ranks)",
    };

    /// <summary>--overlap (hidden)</summary>
    public Option<bool> Overlap { get; } = new("--overlap") { Description = "Reduce gradient buckets while backward runs", Hidden = true };
}
