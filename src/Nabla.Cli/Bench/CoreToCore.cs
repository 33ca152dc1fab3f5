using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Nabla.Cli.Bench;

/// <summary>
/// How long a cache line takes to go from one core to another and back: two threads hand a counter to
/// each other. Every 2-thread figure depends on it, and on a virtual machine it is not a property of the
/// CPU: the host may run the two virtual CPUs on neighbouring cores or far apart.
/// </summary>
/// <remarks>
/// Measured on this project's 2-core AMD EPYC (Zen 4) guest, session 9: 60–80 ns most of the time and
/// 300–360 ns in spells of seconds (the same with a C program pinning both threads). Nabla's 2-thread MLP
/// training ran at 120–140K samples/s in the first state and 51–61K, slower than one thread, in the
/// second, where every line the threads pass each other (weights, activations, gradients) costs that
/// round trip. The figure is printed at the start and end of every <c>nabla bench</c> run so that a
/// 2-thread figure taken while the cores were far apart can be recognised.
/// </remarks>
public static class CoreToCore
{
    private sealed class Line
    {
#pragma warning disable CS0169, CS0649 // padding: the counter gets a cache line of its own
        private long p0, p1, p2, p3, p4, p5, p6;
        public int Value;
        private long q0, q1, q2, q3, q4, q5, q6;
#pragma warning restore CS0169, CS0649
    }

    /// <summary>The median round trip in nanoseconds over a few bursts, or null on one core or when the other
    /// thread did not keep up (a busy machine).</summary>
    public static double? RoundTripNanoseconds(int tripsPerBurst = 20_000, int bursts = 5)
    {
        if (Environment.ProcessorCount < 2) return null;
        var line = new Line();
        int total = tripsPerBurst * bursts;
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2; // 0.5 s at most
        bool abandoned = false;
        var partner = new Thread(() =>
        {
            for (int i = 0; i < total; i++)
            {
                while (Volatile.Read(ref line.Value) != 2 * i + 1)
                    if (Volatile.Read(ref abandoned)) return;
                Volatile.Write(ref line.Value, 2 * i + 2);
            }
        }) { IsBackground = true, Name = "core-to-core probe" };
        partner.Start();
        var times = new List<double>();
        try
        {
            for (int b = 0, i = 0; b < bursts; b++)
            {
                long start = Stopwatch.GetTimestamp();
                for (int end = i + tripsPerBurst; i < end; i++)
                {
                    Volatile.Write(ref line.Value, 2 * i + 1);
                    while (Volatile.Read(ref line.Value) != 2 * i + 2)
                        if (Stopwatch.GetTimestamp() > deadline) return null;
                }
                times.Add((Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency / tripsPerBurst);
            }
        }
        finally
        {
            Volatile.Write(ref abandoned, true);
            partner.Join();
        }
        times.Sort();
        return times[times.Count / 2];
    }

    /// <summary><see cref="RoundTripNanoseconds"/> rounded, as a JSON value (null when not measured).</summary>
    public static JsonNode? Json() => RoundTripNanoseconds() is double ns ? JsonValue.Create(Math.Round(ns, 1)) : null;
}
