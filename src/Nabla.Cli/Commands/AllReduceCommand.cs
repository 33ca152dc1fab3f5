using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Nabla.Distributed;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla allreduce</c>: checks and measures the all-reduce of a distributed setup — in-process ranks
/// (<c>--data-parallel N</c>) or an MPI job (<c>mpirun -np N nabla allreduce --distributed</c>). For each
/// size it verifies the result (integers exactly, floats within tolerance, the same bits on every rank)
/// and reports latency and bandwidth.
/// </summary>
public static class AllReduceCommand
{
    /// <summary>Default sizes, in float elements.</summary>
    public const string DefaultSizes = "1,256,4096,65536,262144,1048576,4194304";

    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var distributed = new Option<bool>("--distributed") { Description = "Be one rank of an MPI job (mpirun -np N nabla allreduce --distributed)" };
        var ranks = new Option<int?>("--data-parallel") { Description = "N ranks as threads of this process", HelpName = "N" };
        ranks.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out int? n) && n is < 1 or > 256) r.AddError($"--data-parallel must be from 1 to 256, got {n}.");
        });
        var sizes = new Option<string>("--sizes") { Description = "Element counts, comma-separated", HelpName = "N[,N…]", DefaultValueFactory = _ => DefaultSizes };
        var checkOnly = new Option<bool>("--check-only") { Description = "Verify the results without timing them" };
        var timeout = new Option<double>("--comm-timeout") { Description = "Seconds a rank waits for the others before failing", HelpName = "SECONDS", DefaultValueFactory = _ => 60 };

        var command = new Command("allreduce", "Check and measure all-reduce over in-process ranks (--data-parallel N) or MPI (--distributed)");
        foreach (var o in new Option[] { distributed, ranks, sizes, checkOnly, timeout }) command.Options.Add(o);
        command.SetAction(p => Common.Guard(io, () =>
        {
            var counts = ParseSizes(p.GetValue(sizes)!);
            bool timed = !p.GetValue(checkOnly);
            var t = TimeSpan.FromSeconds(p.GetValue(timeout));
            if (p.GetValue(distributed))
            {
                if (p.GetValue(ranks) is not null) throw new UsageException("--distributed and --data-parallel exclude each other; give one.");
                MpiCommunicator comm;
                try { comm = MpiCommunicator.Initialize(t); }
                catch (DllNotFoundException e) { throw new UsageException(e.Message); }
                try
                {
                    Measure(comm.Rank == 0 ? io : null, comm, counts, timed);
                }
                catch (Exception e) when (comm.WorldSize > 1)
                {
                    io.Error($"rank {comm.Rank}: {e.Message}");
                    comm.Abort(ExitCodes.Internal);
                }
                comm.Dispose();
                return ExitCodes.Ok;
            }
            int n = p.GetValue(ranks) ?? 2;
            try
            {
                InProcessCommunicator.Run(n, c => Measure(c.Rank == 0 ? io : null, c, counts, timed), t);
            }
            catch (CommunicatorException e)
            {
                io.Error(e.Message);
                return DistributedTraining.CommunicationFailed;
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static int[] ParseSizes(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1 || result[i] > 1 << 26)
                throw new UsageException($"--sizes '{text}': each size must be a whole number of elements from 1 to {1 << 26}.");
        if (result.Length == 0) throw new UsageException("--sizes needs at least one size.");
        return result;
    }

    private static void Measure(CliContext? io, ICommunicator c, int[] counts, bool timed)
    {
        io?.Markup($"[bold]all-reduce[/]  {Markup.Escape(c.Description)}; {Environment.ProcessorCount} cores visible to rank 0");
        var table = new Table().AddColumns("elements", "bytes", "check", "latency µs", "algbw GB/s", "busbw GB/s");
        foreach (var col in table.Columns.Skip(1)) col.RightAligned();
        foreach (int n in counts)
        {
            string check = Check(c, n);
            string latency = "", alg = "", bus = "";
            if (timed)
            {
                double seconds = Time(c, n);
                double bytes = 4.0 * n;
                latency = (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture);
                alg = (bytes / seconds / 1e9).ToString("F3", CultureInfo.InvariantCulture);
                // NCCL's "bus bandwidth": what each link carries in a ring all-reduce, 2(N−1)/N of the data.
                bus = (bytes / seconds / 1e9 * 2 * (c.WorldSize - 1) / c.WorldSize).ToString("F3", CultureInfo.InvariantCulture);
            }
            table.AddRow(n.ToString("N0", CultureInfo.InvariantCulture), (4L * n).ToString("N0", CultureInfo.InvariantCulture), check, latency, alg, bus);
        }
        io?.Out.Write(table);
    }

    // Floats, ints and longs with rank-dependent values; throws on any difference.
    private static string Check(ICommunicator c, int n)
    {
        int size = c.WorldSize;
        var f = new float[n];
        var ints = new int[n];
        var longs = new long[n];
        for (int i = 0; i < n; i++)
        {
            f[i] = FloatValue(i, c.Rank);
            ints[i] = i % 1000 - c.Rank * 7;
            longs[i] = (1L << 40) + i + c.Rank;
        }
        c.AllReduce(f, ReduceOp.Sum);
        c.AllReduce(ints, ReduceOp.Sum);
        c.AllReduce(longs, ReduceOp.Sum);
        long rankSum = (long)size * (size - 1) / 2;
        double worst = 0;
        for (int i = 0; i < n; i++)
        {
            if (ints[i] != (long)(i % 1000) * size - rankSum * 7) throw new InvalidOperationException($"int all-reduce of {n}: element {i} is {ints[i]}, expected {(long)(i % 1000) * size - rankSum * 7}.");
            if (longs[i] != (1L << 40) * size + (long)i * size + rankSum) throw new InvalidOperationException($"long all-reduce of {n}: element {i} is {longs[i]}.");
            double expected = 0;
            for (int r = 0; r < size; r++) expected += FloatValue(i, r);
            worst = Math.Max(worst, Math.Abs(f[i] - expected) / Math.Max(1, Math.Abs(expected)));
        }
        if (worst > 1e-5) throw new InvalidOperationException($"float all-reduce of {n}: relative error {worst:G3} above 1e-5.");
        // Every rank must hold the same bits: compare a checksum's spread.
        Span<double> sums = [Checksum(f), -Checksum(f)];
        c.AllReduce(sums, ReduceOp.Max);
        if (sums[0] != -sums[1]) throw new InvalidOperationException($"float all-reduce of {n}: the ranks' results differ.");
        return $"ok ({worst:G2})";
    }

    private static float FloatValue(int i, int rank) => (float)Math.Sin(i * 0.01 + rank) + rank * 0.5f;

    private static double Checksum(float[] f)
    {
        double s = 0;
        for (int i = 0; i < f.Length; i++) s += f[i] * (double)(i % 101 + 1);
        return s;
    }

    // Seconds per all-reduce: the median of 5 rounds of back-to-back calls, the slowest rank's figure.
    private static double Time(ICommunicator c, int n)
    {
        var data = new float[n];
        int iterations = Math.Clamp((int)((64L << 20) / (4L * n)), 3, 2000);
        for (int i = 0; i < 3; i++) c.AllReduce(data);
        var rounds = new double[5];
        for (int r = 0; r < rounds.Length; r++)
        {
            c.Barrier();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < iterations; i++) c.AllReduce(data);
            rounds[r] = Stopwatch.GetElapsedTime(start).TotalSeconds / iterations;
        }
        Array.Sort(rounds);
        Span<double> t = [rounds[rounds.Length / 2]];
        c.AllReduce(t, ReduceOp.Max);
        return t[0];
    }
}
