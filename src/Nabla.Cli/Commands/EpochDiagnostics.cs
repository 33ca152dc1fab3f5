using System.Diagnostics;
using System.Globalization;
using Nabla.Training;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla train --diagnostics</c>: after each epoch, one line with what the epoch cost besides its
/// arithmetic, so that an epoch slower than the others can be explained by measurement: CPU time of the
/// process against wall time (a shared machine shows as wall ≫ CPU), garbage collections per generation
/// and their pause, bytes allocated, methods the JIT compiled (tier-up recompilations show here) and
/// their compile time, and minor/major page faults.
/// </summary>
public sealed class EpochDiagnostics : ITrainingCallback
{
    private readonly CliContext io;
    private Snapshot last;

    /// <summary>Starts counting from now; lines go to <paramref name="io"/>.</summary>
    public EpochDiagnostics(CliContext io)
    {
        this.io = io;
        last = Snapshot.Take();
    }

    /// <summary>Prints the counters' change since the previous epoch (or since construction).</summary>
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        var now = Snapshot.Take();
        io.Line(Format(now.Since(last)));
        last = now;
        return true;
    }

    /// <summary>The line for one epoch's differences.</summary>
    public static string Format(Snapshot d) => string.Create(CultureInfo.InvariantCulture,
        $"       wall {d.Wall.TotalSeconds:F2} s  cpu {d.Cpu.TotalSeconds:F2} s  gc {d.Gen0}/{d.Gen1}/{d.Gen2} (pause {d.GcPause.TotalMilliseconds:F0} ms)  " +
        $"alloc {d.Allocated / 1048576.0:F1} MiB  jit {d.JitMethods} methods {d.JitTime.TotalMilliseconds:F0} ms  " +
        $"faults {d.MinorFaults} minor {d.MajorFaults} major");

    /// <summary>Process counters at one moment (or, from <see cref="Since"/>, their change over an interval).</summary>
    public readonly record struct Snapshot(TimeSpan Wall, TimeSpan Cpu, int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long Allocated,
        long JitMethods, TimeSpan JitTime, long MinorFaults, long MajorFaults)
    {
        /// <summary>The counters now.</summary>
        public static Snapshot Take()
        {
            var (minor, major) = PageFaults();
            return new Snapshot(TimeSpan.FromTicks(Stopwatch.GetTimestamp() * TimeSpan.TicksPerSecond / Stopwatch.Frequency),
                Process.GetCurrentProcess().TotalProcessorTime, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
                GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(), System.Runtime.JitInfo.GetCompiledMethodCount(),
                System.Runtime.JitInfo.GetCompilationTime(), minor, major);
        }

        /// <summary>The change of every counter since <paramref name="before"/>.</summary>
        public Snapshot Since(Snapshot before) => new(Wall - before.Wall, Cpu - before.Cpu, Gen0 - before.Gen0, Gen1 - before.Gen1,
            Gen2 - before.Gen2, GcPause - before.GcPause, Allocated - before.Allocated, JitMethods - before.JitMethods,
            JitTime - before.JitTime, MinorFaults - before.MinorFaults, MajorFaults - before.MajorFaults);

        // Fields 10 and 12 of /proc/self/stat (after the parenthesised command name); zero where there is no procfs.
        private static (long Minor, long Major) PageFaults()
        {
            try
            {
                string stat = File.ReadAllText("/proc/self/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // fields[0] is field 3 (state): minflt is field 10, majflt field 12.
                return (long.Parse(fields[7], CultureInfo.InvariantCulture), long.Parse(fields[9], CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return (0, 0);
            }
        }
    }
}
