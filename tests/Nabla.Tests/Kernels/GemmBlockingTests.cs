using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>Cache detection, the blocking derived from it, and the per-CPU tuning cache (issue #11).</summary>
[Trait("Category", "Kernels")]
public class GemmBlockingTests
{
    [Fact]
    public void ReadsCacheSizesFromASysfsTree()
    {
        using var t = new Nabla.Tests.Data.TempDir();
        void Index(int i, string level, string type, string size, string shared)
        {
            string d = Path.Combine(t.Path, "cache", $"index{i}");
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "level"), level + "\n");
            File.WriteAllText(Path.Combine(d, "type"), type + "\n");
            File.WriteAllText(Path.Combine(d, "size"), size + "\n");
            File.WriteAllText(Path.Combine(d, "shared_cpu_list"), shared + "\n");
        }
        // Cascade Lake-like: 32K L1d, 32K L1i (ignored), 1M L2, 35.75M L3 shared by 0-1.
        Index(0, "1", "Data", "32K", "0");
        Index(1, "1", "Instruction", "32K", "0");
        Index(2, "2", "Unified", "1024K", "0");
        Index(3, "3", "Unified", "36608K", "0-1");
        var c = CpuCaches.FromSysfs(Path.Combine(t.Path, "cache"));
        Assert.NotNull(c);
        Assert.Equal(32 * 1024, c.L1DataBytes);
        Assert.Equal(1024 * 1024, c.L2Bytes);
        Assert.Equal(36608L * 1024, c.L3Bytes);
        Assert.Equal(2, c.L3SharedBy);
        Assert.Null(CpuCaches.FromSysfs(Path.Combine(t.Path, "missing")));
    }

    [Theory]
    [InlineData("32K", 32 * 1024)]
    [InlineData("1M", 1024 * 1024)]
    [InlineData("49152", 49152)]
    [InlineData("", 0)]
    [InlineData("abcK", 0)]
    public void ParsesSysfsSizes(string text, long bytes) => Assert.Equal(bytes, CpuCaches.ParseSize(text));

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1", 2)]
    [InlineData("0,2,4-7", 6)]
    public void CountsCpuLists(string list, int count) => Assert.Equal(count, CpuCaches.CountCpus(list));

    [Fact]
    public void BlockingFollowsTheCaches()
    {
        // 32 KiB L1d (Cascade Lake, Zen 4): a 384-deep 8×32 B micro-panel (48 KiB, 1.5× L1d); A block half of L2.
        var small = GemmBlocks.For(8, 32, new CpuCaches(32 * 1024, 1024 * 1024, 32L << 20, 2, "test"));
        Assert.Equal(384, small.KC);
        Assert.Equal(336, small.MC);
        Assert.Equal(4096, small.NC);
        // 48 KiB L1d (Zen 5): the cap, 384.
        Assert.Equal(384, GemmBlocks.For(8, 32, new CpuCaches(48 * 1024, 1024 * 1024, 32L << 20, 2, "test")).KC);
        // A 256 KiB L2 (Skylake client): a smaller A block, still a multiple of MR.
        var client = GemmBlocks.For(6, 16, new CpuCaches(32 * 1024, 256 * 1024, 8L << 20, 4, "test"));
        Assert.Equal(384, client.KC);
        Assert.Equal(84, client.MC);
        Assert.Equal(0, client.MC % 6);
        // Absurd reports stay within the clamps.
        var tiny = GemmBlocks.For(8, 32, new CpuCaches(1024, 2048, 0, 1, "test"));
        Assert.Equal(64, tiny.KC);
        Assert.Equal(32, tiny.MC);
        Assert.Equal(512, tiny.NC);
    }

    [Fact]
    public void EveryKernelHasAValidBlocking()
    {
        foreach (var path in new[] { GemmPath.Avx512, GemmPath.Avx2, GemmPath.Vector, GemmPath.Scalar })
            Assert.Matches(@"^\d+×\d+ tile, MC \d+, KC \d+, NC \d+$", Gemm.DescribeBlocking(path));
    }

    [Fact]
    public void TuningRecordsAPathPerCpuAndReadsItBack()
    {
        using var t = new Nabla.Tests.Data.TempDir();
        string file = Path.Combine(t.Path, "sub", "gemm-tune.json");
        Assert.Null(GemmTuning.CachedPath(file, GemmTuning.CpuKey));

        var result = GemmTuning.Tune(file, threads: 2);
        Assert.True(Gemm.IsSupported(result.Best));
        Assert.NotEmpty(result.Paths);
        Assert.All(result.Paths, p => Assert.True(p.GeoMeanGflops > 0));
        Assert.Equal(result.Best, GemmTuning.CachedPath(file, GemmTuning.CpuKey));
        Assert.Null(GemmTuning.CachedPath(file, "some other CPU"));

        // The thread threshold: measured on a ladder of sizes (1 thread against 2), recorded per CPU.
        Assert.NotEmpty(result.ThreadLadder);
        Assert.All(result.ThreadLadder, f => Assert.True(f.OneThreadMicros > 0 && f.AllThreadsMicros > 0 && f.Threads == 2));
        Assert.Contains(result.ParallelMacs, result.ThreadLadder.Select(f => f.Macs).Append(2 * result.ThreadLadder[^1].Macs));
        // Every ladder size from the threshold up gained; the one just below it did not.
        Assert.All(result.ThreadLadder.Where(f => f.Macs >= result.ParallelMacs), f => Assert.True(f.Speedup >= GemmTuning.ParallelGain));
        if (result.ThreadLadder.LastOrDefault(f => f.Macs < result.ParallelMacs) is { } below)
            Assert.True(below.Speedup < GemmTuning.ParallelGain);
        Assert.Equal(result.ParallelMacs, GemmTuning.CachedParallelMacs(file, GemmTuning.CpuKey));
        Assert.Null(GemmTuning.CachedParallelMacs(file, "some other CPU"));
        // On one thread there is nothing to decide: nothing is measured and no threshold recorded.
        string single = Path.Combine(t.Path, "single.json");
        var one = GemmTuning.Tune(single, threads: 1);
        Assert.Empty(one.ThreadLadder);
        Assert.Null(GemmTuning.CachedParallelMacs(single, GemmTuning.CpuKey));

        // A damaged cache is ignored, not an error.
        File.WriteAllText(file, "{ not json");
        Assert.Null(GemmTuning.CachedPath(file, GemmTuning.CpuKey));
        Assert.Null(GemmTuning.CachedParallelMacs(file, GemmTuning.CpuKey));
        File.WriteAllText(file, """{ "x": { "path": "NoSuchPath", "parallel_macs": "many" }, "y": { "parallel_macs": -5 } }""");
        Assert.Null(GemmTuning.CachedPath(file, "x"));
        Assert.Null(GemmTuning.CachedParallelMacs(file, "x"));
        Assert.Null(GemmTuning.CachedParallelMacs(file, "y"));
    }

    [Fact]
    public void FirstUseMeasurementRecordsItsThresholdBesideARecordedPath()
    {
        // Gemm.ParallelMacs measures at first use where nothing is recorded and writes only its
        // threshold: a path recorded by an earlier tuning run stays, and a file that is not there yet is made.
        using var t = new Nabla.Tests.Data.TempDir();
        string file = Path.Combine(t.Path, "new", "gemm-tune.json");
        GemmTuning.RecordParallelMacs(3_000_000, file);
        Assert.Equal(3_000_000, GemmTuning.CachedParallelMacs(file, GemmTuning.CpuKey));
        Assert.Null(GemmTuning.CachedPath(file, GemmTuning.CpuKey));

        File.WriteAllText(file, $$"""{ "{{GemmTuning.CpuKey}}": { "path": "Avx2", "parallel_macs": 1 }, "other": { "path": "Avx512" } }""");
        GemmTuning.RecordParallelMacs(2_097_152, file);
        Assert.Equal(2_097_152, GemmTuning.CachedParallelMacs(file, GemmTuning.CpuKey));
        Assert.Equal(GemmPath.Avx2, GemmTuning.CachedPath(file, GemmTuning.CpuKey));
        Assert.Equal(GemmPath.Avx512, GemmTuning.CachedPath(file, "other"));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(file)!, "*.tmp"));

        // A damaged file is replaced, and a folder that cannot be written is no error.
        File.WriteAllText(file, "{ not json");
        GemmTuning.RecordParallelMacs(5, file);
        Assert.Equal(5, GemmTuning.CachedParallelMacs(file, GemmTuning.CpuKey));
        string blocked = Path.Combine(t.Path, "a-file");
        File.WriteAllText(blocked, "");
        GemmTuning.RecordParallelMacs(7, Path.Combine(blocked, "gemm-tune.json"));
    }

    [Fact]
    public void Avx512IsUsedWheneverTheCpuHasIt()
    {
        // Also under DOTNET_PreferredVectorBitWidth=256 (Intel's default), where
        // Vector512.IsHardwareAccelerated is false: CI runs the kernel tests that way too.
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, Gemm.IsSupported(GemmPath.Avx512));
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported
            && Environment.GetEnvironmentVariable("NABLA_GEMM_PATH") is null
            && GemmTuning.CachedPath() is null)
            Assert.Equal(GemmPath.Avx512, Gemm.BestPath);
    }
}
