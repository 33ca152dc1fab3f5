using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nabla.Kernels;

/// <summary>
/// Measured GEMM path preference per CPU model. Capability alone picks the widest vectors; where
/// that is not the fastest (e.g. a CPU whose 512-bit units run at a lower clock), <c>nabla bench
/// --tune</c> times each supported vector path on a few shapes for a few milliseconds and records
/// the winner in the user's cache folder (<see cref="CacheFile"/>), keyed by <see cref="CpuKey"/>;
/// <see cref="Gemm.BestPath"/> reads it in later processes. The same run measures, per CPU model,
/// from which size a packed product gains from running on all threads (<see cref="Gemm.ParallelMacs"/>);
/// where no run recorded that, the first multi-threaded product of a process measures it (about
/// 0.3 s) and records it (<see cref="RecordParallelMacs"/>).
/// </summary>
public static class GemmTuning
{
    /// <summary>
    /// The tuning cache: NABLA_CACHE_DIR, else $XDG_CACHE_HOME/nabla, else ~/.cache/nabla (the local
    /// application-data folder on Windows), file gemm-tune.json.
    /// </summary>
    public static string CacheFile
    {
        get
        {
            string? dir = Environment.GetEnvironmentVariable("NABLA_CACHE_DIR");
            if (string.IsNullOrEmpty(dir))
            {
                string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
                dir = !string.IsNullOrEmpty(xdg) ? Path.Combine(xdg, "nabla")
                    : OperatingSystem.IsWindows() ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "nabla")
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "nabla");
            }
            return Path.Combine(dir, "gemm-tune.json");
        }
    }

    /// <summary>
    /// This CPU's identity: its brand string and, on x86, family/model/stepping and whether it has
    /// AVX-512 (a VM may hide it), e.g. "AMD EPYC | 25/17/1 | avx512".
    /// </summary>
    public static string CpuKey
    {
        get
        {
            var sb = new StringBuilder(BrandString());
            if (X86Base.IsSupported)
            {
                int eax = X86Base.CpuId(1, 0).Eax;
                int family = (eax >> 8) & 0xF, model = (eax >> 4) & 0xF, stepping = eax & 0xF;
                if (family == 0xF) family += (eax >> 20) & 0xFF;
                if (family >= 6) model += ((eax >> 16) & 0xF) << 4;
                sb.Append(CultureInfo.InvariantCulture, $" | {family}/{model}/{stepping}");
            }
            sb.Append(Gemm.HasAvx512 ? " | avx512" : Gemm.HasAvx2 ? " | avx2" : " | other");
            return sb.ToString();
        }
    }

    /// <summary>The CPUID brand string on x86, else /proc/cpuinfo's model name, else the architecture.</summary>
    public static string BrandString()
    {
        if (X86Base.IsSupported && (uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax >= 0x80000004)
        {
            var bytes = new byte[48];
            for (int i = 0; i < 3; i++)
            {
                var (a, b, c, d) = X86Base.CpuId(unchecked((int)0x80000002) + i, 0);
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 16), a);
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 4), b);
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 8), c);
                BitConverter.TryWriteBytes(bytes.AsSpan(i * 16 + 12), d);
            }
            string s = Encoding.ASCII.GetString(bytes).TrimEnd('\0').Trim();
            if (s.Length > 0) return string.Join(' ', s.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        return CpuInfoModelName();
    }

    /// <summary>The CPU model as lscpu's "Model name" (read from /proc/cpuinfo), or the architecture.</summary>
    public static string CpuInfoModelName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and > 0)
                        return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The path recorded for this CPU in the cache, if any (errors reading it are ignored).</summary>
    public static GemmPath? CachedPath() => CachedPath(CacheFile, CpuKey);

    internal static GemmPath? CachedPath(string file, string key)
    {
        try
        {
            if (!File.Exists(file)) return null;
            var root = JsonNode.Parse(File.ReadAllText(file)) as JsonObject;
            string? path = (string?)root?[key]?["path"];
            return Enum.TryParse(path, ignoreCase: true, out GemmPath p) && p != GemmPath.Auto ? p : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The thread threshold recorded for this CPU in the cache, if any (errors reading it are ignored).</summary>
    public static long? CachedParallelMacs() => CachedParallelMacs(CacheFile, CpuKey);

    internal static long? CachedParallelMacs(string file, string key)
    {
        try
        {
            if (!File.Exists(file)) return null;
            var root = JsonNode.Parse(File.ReadAllText(file)) as JsonObject;
            return root?[key]?["parallel_macs"] is JsonValue v && v.TryGetValue(out long macs) && macs >= 0 ? macs : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>GFLOP/s of one path in a tuning run.</summary>
    public sealed record PathFigure(GemmPath Path, double GeoMeanGflops, IReadOnlyList<(string Shape, double Gflops)> Shapes);

    /// <summary>One product of the thread-threshold ladder: best time per call on one thread and on all.</summary>
    public sealed record ThreadFigure(int M, int K, int N, int Threads, double OneThreadMicros, double AllThreadsMicros)
    {
        /// <summary>Multiply-adds of the product.</summary>
        public long Macs => (long)M * N * K;

        /// <summary>How many times faster the product ran on all threads.</summary>
        public double Speedup => OneThreadMicros / AllThreadsMicros;
    }

    /// <summary>
    /// The outcome of <see cref="Tune"/>: the figures of every path tried, the winner, and the thread
    /// threshold with the ladder it came from (empty on a one-core machine, where nothing is measured).
    /// </summary>
    public sealed record Result(GemmPath Best, IReadOnlyList<PathFigure> Paths, string CpuKey, string File,
        long ParallelMacs, IReadOnlyList<ThreadFigure> ThreadLadder);

    // The ladder: products from 0.13 M to 17 M multiply-adds (the MLP's 128×256×128 layers, the GRU's
    // and LSTM's per-step 128×128×384/512 products, 256³), each timed on one thread and on all.
    private static readonly (int M, int K, int N)[] Ladder =
        [(32, 64, 64), (64, 64, 64), (64, 128, 64), (128, 128, 64), (128, 128, 128), (128, 256, 128), (128, 128, 384), (128, 128, 512), (256, 256, 256)];

    /// <summary>A product runs on all threads from the first ladder size where it, and every larger one, is at least this much faster.</summary>
    internal const double ParallelGain = 1.1;

    /// <summary>
    /// Times the packed products of the ladder on one thread and on <paramref name="threads"/>,
    /// alternating the two so that a moment of noise hits both, and returns the smallest size from
    /// which every product ran at least <see cref="ParallelGain"/> times faster on all threads
    /// (twice the largest size when none did) with the figures. Walking down from the largest size, a
    /// size that falls short is timed up to twice more before it sets the threshold: on a shared 2-core host one
    /// noisy size at the top otherwise sent the threshold to "never" while 128×256×128 gained 1.6×.
    /// </summary>
    public static (long ParallelMacs, IReadOnlyList<ThreadFigure> Figures) MeasureParallelMacs(GemmPath path, int threads)
    {
        var figures = new List<ThreadFigure>();
        if (threads < 2) return (Gemm.DefaultParallelMacs, figures);
        foreach (var (m, k, n) in Ladder) figures.Add(TimeLadderSize(path, threads, m, k, n));
        long threshold = 2 * figures[^1].Macs;
        for (int i = figures.Count - 1; i >= 0; i--)
        {
            for (int retry = 0; retry < 2 && figures[i].Speedup < ParallelGain; retry++)
            {
                var again = TimeLadderSize(path, threads, figures[i].M, figures[i].K, figures[i].N);
                if (again.Speedup > figures[i].Speedup) figures[i] = again;
            }
            if (figures[i].Speedup < ParallelGain) break;
            threshold = figures[i].Macs;
        }
        return (threshold, figures);
    }

    private static ThreadFigure TimeLadderSize(GemmPath path, int threads, int m, int k, int n)
    {
        var ops = new Operands(m, n, k);
        void Call(int t) => Gemm.SgemmCore(path, t, GemmAlgorithm.Packed, false, false, m, n, k,
            1f, ops.A, k, ops.B, n, 0f, ops.C, n, exactThreads: true);
        var sw = Stopwatch.StartNew();
        int calls = 0;
        while (calls < 30 || sw.Elapsed.TotalMilliseconds < 10) { Call(1); Call(threads); calls++; }
        int batch = Math.Max(1, (int)(calls * 0.002 / sw.Elapsed.TotalSeconds));
        double one = double.MaxValue, all = double.MaxValue;
        for (int r = 0; r < 7; r++)
        {
            one = Math.Min(one, TimePerCall(() => Call(1), batch));
            all = Math.Min(all, TimePerCall(() => Call(threads), batch));
        }
        return new ThreadFigure(m, k, n, threads, one * 1e6, all * 1e6);
    }

    private static double TimePerCall(Action call, int batch)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < batch; i++) call();
        return Stopwatch.GetElapsedTime(t0).TotalSeconds / batch;
    }

    // Seeded operands of an m×k by k×n product.
    private sealed class Operands
    {
        public readonly float[] A, B, C;

        public Operands(int m, int n, int k)
        {
            var rng = new Random(1);
            A = new float[m * k];
            B = new float[k * n];
            C = new float[m * n];
            for (int i = 0; i < A.Length; i++) A[i] = (float)rng.NextDouble() - 0.5f;
            for (int i = 0; i < B.Length; i++) B[i] = (float)rng.NextDouble() - 0.5f;
        }
    }

    /// <summary>
    /// Times the supported vector paths (AVX-512, AVX2) on one thread on square 256/512 and the
    /// MLP's 128×784×256 forward and backward products (about 0.5 s in all), records the fastest for this
    /// CPU in <paramref name="file"/> (default <see cref="CacheFile"/>), then measures on that path
    /// from which size a product gains from all threads (<see cref="MeasureParallelMacs"/>, about
    /// 0.3 s) and records that too. Returns the figures. The choices apply to processes started
    /// afterwards (<see cref="Gemm.BestPath"/> and <see cref="Gemm.ParallelMacs"/> are read once).
    /// </summary>
    /// <param name="file">The cache file (default <see cref="CacheFile"/>).</param>
    /// <param name="threads">Threads for the threshold (default <see cref="WorkerPool.Threads"/>).</param>
    public static Result Tune(string? file = null, int? threads = null)
    {
        file ??= CacheFile;
        (int M, int N, int K, bool TA, bool TB)[] shapes =
            [(256, 256, 256, false, false), (512, 512, 512, false, false), (128, 256, 784, false, false),
             (784, 256, 128, true, false), (128, 784, 256, false, true)];
        GemmPath[] paths = [.. new[] { GemmPath.Avx512, GemmPath.Avx2 }.Where(Gemm.IsSupported)];
        if (paths.Length == 0) paths = [Gemm.Capable()];
        // Warm every path up first (tier-1 code needs ~30 calls and a background compile), so
        // the first path measured is not the one that pays for the JIT.
        var warm = Stopwatch.StartNew();
        for (int round = 0; round < 40 || warm.Elapsed.TotalMilliseconds < 300; round++)
            foreach (var path in paths)
                Gflops(path, 128, 256, 128, false, false, measure: false);
        var figures = new List<PathFigure>();
        foreach (var path in paths)
        {
            var per = new List<(string, double)>();
            double logSum = 0;
            foreach (var (m, n, k, ta, tb) in shapes)
            {
                double g = Gflops(path, m, n, k, ta, tb);
                per.Add(($"{m}x{k}x{n}{(ta ? ".dW" : tb ? ".dX" : "")}", g));
                logSum += Math.Log(g);
            }
            figures.Add(new PathFigure(path, Math.Exp(logSum / shapes.Length), per));
        }
        var best = figures.Count == 0 ? Gemm.Capable() : figures.MaxBy(f => f.GeoMeanGflops)!.Path;
        int t = threads ?? WorkerPool.Threads;
        var (parallelMacs, ladder) = MeasureParallelMacs(best, t);
        Save(file, CpuKey, best, figures, t > 1 ? parallelMacs : null);
        return new Result(best, figures, CpuKey, file, parallelMacs, ladder);
    }

    /// <summary>
    /// Records <paramref name="parallelMacs"/> for this CPU in the cache (<see cref="CacheFile"/>), keeping
    /// a path already recorded there: the first-use measurement of <see cref="Gemm.ParallelMacs"/>. A cache
    /// that cannot be written is left alone (the next process measures again).
    /// </summary>
    internal static void RecordParallelMacs(long parallelMacs, string? file = null)
    {
        file ??= CacheFile;
        try
        {
            JsonObject root;
            try
            {
                root = File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? [] : [];
            }
            catch (JsonException)
            {
                root = [];
            }
            var entry = root[CpuKey] as JsonObject ?? [];
            entry["parallel_macs"] = parallelMacs;
            entry["parallel_macs_date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            root[CpuKey] = entry;
            WriteAtomically(file, root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void WriteAtomically(string file, JsonObject root)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        // A name of this process's own: test processes that measure at the same time do not share it.
        string tmp = $"{file}.{Environment.ProcessId}.tmp";
        File.WriteAllText(tmp, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(tmp, file, overwrite: true);
    }

    private static void Save(string file, string key, GemmPath best, List<PathFigure> figures, long? parallelMacs)
    {
        JsonObject root;
        try
        {
            root = File.Exists(file) ? JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? [] : [];
        }
        catch (JsonException)
        {
            root = [];
        }
        var gflops = new JsonObject();
        foreach (var f in figures) gflops[f.Path.ToString()] = Math.Round(f.GeoMeanGflops, 1);
        root[key] = new JsonObject
        {
            ["path"] = best.ToString(),
            ["gflops_geomean"] = gflops,
            ["parallel_macs"] = parallelMacs,
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        WriteAtomically(file, root);
    }

    /// <summary>Best-of-5 GFLOP/s of one product on one thread after a short warm-up.</summary>
    private static double Gflops(GemmPath path, int m, int n, int k, bool transA, bool transB, bool measure = true)
    {
        var ops = new Operands(m, n, k);
        float[] a = ops.A, b = ops.B, c = ops.C;
        int lda = transA ? m : k, ldb = transB ? k : n;
        void Call() => Gemm.SgemmCore(path, 1, GemmAlgorithm.Auto, transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
        if (!measure)
        {
            Call();
            return 0;
        }
        var sw = Stopwatch.StartNew();
        int calls = 0;
        while (calls < 20 || sw.Elapsed.TotalMilliseconds < 15) { Call(); calls++; }
        int batch = Math.Max(1, (int)(calls * 0.003 / sw.Elapsed.TotalSeconds));
        double best = double.MaxValue;
        for (int r = 0; r < 5; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) Call();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds / batch);
        }
        return 2.0 * m * n * k / best / 1e9;
    }
}
