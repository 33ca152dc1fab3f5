using System.Diagnostics;

namespace Nabla.Cli.Bench;

/// <summary>
/// Timing helpers shared by the benchmark workloads: warm up (tier-up needs a few hundred calls),
/// size a batch of calls to a target duration, then time several batches and keep the median,
/// because the machines these run on are shared and noisy.
/// </summary>
public static class Measure
{
    /// <summary>Median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("Median of no values.", nameof(values));
        var sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
    }

    /// <summary>
    /// Seconds per call of <paramref name="action"/>: at least <paramref name="warmupCalls"/> calls and
    /// <paramref name="warmupSeconds"/> of warm-up (but no more than <paramref name="maxWarmupSeconds"/>
    /// for slow calls), then <paramref name="repeats"/> timed batches of about
    /// <paramref name="batchSeconds"/> each; returns the median batch's time per call.
    /// </summary>
    public static double SecondsPerCall(Action action, int repeats, int warmupCalls = 300,
        double warmupSeconds = 0.2, double batchSeconds = 0.05, double maxWarmupSeconds = 1.5)
    {
        var sw = Stopwatch.StartNew();
        int calls = 0;
        while ((calls < warmupCalls || sw.Elapsed.TotalSeconds < warmupSeconds)
               && !(calls >= 2 && sw.Elapsed.TotalSeconds >= maxWarmupSeconds))
        {
            action();
            calls++;
        }
        int batch = Math.Max(1, (int)(calls * batchSeconds / sw.Elapsed.TotalSeconds));
        var samples = new double[Math.Max(1, repeats)];
        for (int r = 0; r < samples.Length; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) action();
            samples[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds / batch;
        }
        return Median(samples);
    }
}
