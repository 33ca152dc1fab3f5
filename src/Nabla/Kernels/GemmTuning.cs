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
/// <see cref="Gemm.BestPath"/> reads it in later processes.
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

    /// <summary>GFLOP/s of one path in a tuning run.</summary>
    public sealed record PathFigure(GemmPath Path, double GeoMeanGflops, IReadOnlyList<(string Shape, double Gflops)> Shapes);

    /// <summary>The outcome of <see cref="Tune"/>: the figures of every path tried and the winner.</summary>
    public sealed record Result(GemmPath Best, IReadOnlyList<PathFigure> Paths, string CpuKey, string File);

    /// <summary>
    /// Times the supported vector paths (AVX-512, AVX2) on one thread on square 256/512 and the
    /// MLP's 128×784×256 forward and backward products (about 0.5 s in all), records the fastest for this
    /// CPU in <paramref name="file"/> (default <see cref="CacheFile"/>) and returns the figures.
    /// The choice applies to processes started afterwards (<see cref="Gemm.BestPath"/> is read once).
    /// </summary>
    public static Result Tune(string? file = null)
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
        Save(file, CpuKey, best, figures);
        return new Result(best, figures, CpuKey, file);
    }

    private static void Save(string file, string key, GemmPath best, List<PathFigure> figures)
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
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        string tmp = file + ".tmp";
        File.WriteAllText(tmp, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(tmp, file, overwrite: true);
    }

    /// <summary>Best-of-5 GFLOP/s of one product on one thread after a short warm-up.</summary>
    private static double Gflops(GemmPath path, int m, int n, int k, bool transA, bool transB, bool measure = true)
    {
        var rng = new Random(1);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
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
