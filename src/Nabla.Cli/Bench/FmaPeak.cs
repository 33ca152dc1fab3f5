using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Cli.Bench;

/// <summary>
/// This machine's single-precision FMA peak, measured with a managed probe: 12 independent chains
/// of vector FMAs on registers (more than latency × pipes on any current x86 core), no memory
/// traffic, timed for a short while on 1 thread and on N threads at once. Every GEMM figure is also
/// printed as a percentage of the peak of the width its kernel uses, so that a figure says how far
/// it is from the limit on whatever CPU runs it.
/// </summary>
public static class FmaPeak
{
    /// <summary>GFLOP/s at one vector width and thread count (a multiply-add counts two).</summary>
    public sealed record Figure(int Bits, int Threads, double Gflops);

    /// <summary>Whether <paramref name="bits"/>-wide FMAs exist here (512: AVX-512F; 256: AVX2+FMA).</summary>
    public static bool Supported(int bits) => bits switch
    {
        512 => Avx512F.IsSupported,
        256 => Fma.IsSupported && Avx.IsSupported,
        _ => false,
    };

    /// <summary>Peak GFLOP/s with <paramref name="bits"/>-wide FMAs on <paramref name="threads"/> threads (best of a few rounds).</summary>
    public static double Measure(int bits, int threads, double seconds = 0.1)
    {
        if (!Supported(bits)) return 0;
        Probe(bits, 2000); // JIT and tier-up
        double best = 0;
        for (int round = 0; round < 3; round++)
        {
            long iterations = Calibrate(bits, seconds / 3);
            using var start = new Barrier(threads);
            var elapsed = new double[threads];
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                long t0 = Stopwatch.GetTimestamp();
                Probe(bits, iterations);
                elapsed[t] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }, 256 * 1024) { IsBackground = true }).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            // Every thread did the same work: the slowest one bounds the machine's rate.
            double flops = (double)threads * iterations * 12 * (bits / 32) * 2;
            best = Math.Max(best, flops / elapsed.Max() / 1e9);
        }
        return best;
    }

    /// <summary>The peak at 512 and 256 bits (where supported) for each thread count.</summary>
    public static List<Figure> MeasureAll(IEnumerable<int> threadCounts, double seconds = 0.1)
    {
        var list = new List<Figure>();
        foreach (int bits in new[] { 512, 256 })
            if (Supported(bits))
                foreach (int t in threadCounts)
                    list.Add(new Figure(bits, t, Measure(bits, t, seconds)));
        return list;
    }

    private static long Calibrate(int bits, double seconds)
    {
        long n = 10_000;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            Probe(bits, n);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (s > 0.01 || n > 1L << 34) return Math.Max(1, (long)(n * seconds / Math.Max(s, 1e-9)));
            n *= 4;
        }
    }

    private static float _sink;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Probe(int bits, long iterations)
    {
        if (bits == 512) Probe512(iterations);
        else Probe256(iterations);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Probe512(long n)
    {
        var m = Vector512.Create(0.999999f);
        var d = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d;
        Vector512<float> a6 = a5 + d, a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
        for (long i = 0; i < n; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, d); a1 = Avx512F.FusedMultiplyAdd(a1, m, d);
            a2 = Avx512F.FusedMultiplyAdd(a2, m, d); a3 = Avx512F.FusedMultiplyAdd(a3, m, d);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, d); a5 = Avx512F.FusedMultiplyAdd(a5, m, d);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, d); a7 = Avx512F.FusedMultiplyAdd(a7, m, d);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, d); a9 = Avx512F.FusedMultiplyAdd(a9, m, d);
            a10 = Avx512F.FusedMultiplyAdd(a10, m, d); a11 = Avx512F.FusedMultiplyAdd(a11, m, d);
        }
        var s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        _sink = Vector512.Sum(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Probe256(long n)
    {
        var m = Vector256.Create(0.999999f);
        var d = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0 + d, a2 = a1 + d, a3 = a2 + d, a4 = a3 + d, a5 = a4 + d;
        Vector256<float> a6 = a5 + d, a7 = a6 + d, a8 = a7 + d, a9 = a8 + d, a10 = a9 + d, a11 = a10 + d;
        for (long i = 0; i < n; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, d); a1 = Fma.MultiplyAdd(a1, m, d);
            a2 = Fma.MultiplyAdd(a2, m, d); a3 = Fma.MultiplyAdd(a3, m, d);
            a4 = Fma.MultiplyAdd(a4, m, d); a5 = Fma.MultiplyAdd(a5, m, d);
            a6 = Fma.MultiplyAdd(a6, m, d); a7 = Fma.MultiplyAdd(a7, m, d);
            a8 = Fma.MultiplyAdd(a8, m, d); a9 = Fma.MultiplyAdd(a9, m, d);
            a10 = Fma.MultiplyAdd(a10, m, d); a11 = Fma.MultiplyAdd(a11, m, d);
        }
        var s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
        _sink = Vector256.Sum(s);
    }
}
