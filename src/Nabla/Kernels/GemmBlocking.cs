using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// The data-cache sizes of this CPU, read once: Linux's /sys/devices/system/cpu/cpu0/cache, else
/// CPUID (leaf 4 on Intel, 0x8000001D on AMD, 0x80000005/6 as a last resort), else typical sizes.
/// </summary>
public sealed record CpuCaches(int L1DataBytes, int L2Bytes, long L3Bytes, int L3SharedBy, string Source)
{
    /// <summary>The caches of the CPU this process runs on.</summary>
    public static CpuCaches Current { get; } = Detect();

    /// <summary>The L3 share of one core (the L3 divided among the logical CPUs sharing it).</summary>
    public long L3PerCoreBytes => L3Bytes / Math.Max(1, L3SharedBy);

    /// <summary>"L1d 32 KiB, L2 1024 KiB, L3 32768 KiB (shared by 2), from sysfs".</summary>
    public override string ToString() =>
        $"L1d {L1DataBytes / 1024} KiB, L2 {L2Bytes / 1024} KiB, L3 {L3Bytes / 1024} KiB (shared by {L3SharedBy}), from {Source}";

    private static CpuCaches Detect()
    {
        try
        {
            if (FromSysfs("/sys/devices/system/cpu/cpu0/cache") is { } sys) return sys;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        if (FromCpuid() is { } cpuid) return cpuid;
        return new CpuCaches(32 * 1024, 1024 * 1024, 8L << 20, Environment.ProcessorCount, "defaults");
    }

    /// <summary>Reads the index*/ folders of a sysfs cache directory (internal for tests).</summary>
    internal static CpuCaches? FromSysfs(string dir)
    {
        if (!Directory.Exists(dir)) return null;
        int l1 = 0, l2 = 0, shared = 1;
        long l3 = 0;
        foreach (string index in Directory.GetDirectories(dir, "index*"))
        {
            string Read(string name) => File.Exists(Path.Combine(index, name)) ? File.ReadAllText(Path.Combine(index, name)).Trim() : "";
            string type = Read("type");
            if (type is not ("Data" or "Unified")) continue;
            if (!int.TryParse(Read("level"), NumberStyles.None, CultureInfo.InvariantCulture, out int level)) continue;
            long size = ParseSize(Read("size"));
            if (size <= 0) continue;
            switch (level)
            {
                case 1: l1 = (int)Math.Min(size, int.MaxValue); break;
                case 2: l2 = (int)Math.Min(size, int.MaxValue); break;
                case 3:
                    l3 = size;
                    shared = Math.Max(1, CountCpus(Read("shared_cpu_list")));
                    break;
            }
        }
        if (l1 == 0 || l2 == 0) return null;
        return new CpuCaches(l1, l2, l3 > 0 ? l3 : l2, l3 > 0 ? shared : 1, "sysfs");
    }

    /// <summary>"32K", "1024K", "1M", "32768K" or plain bytes.</summary>
    internal static long ParseSize(string text)
    {
        if (text.Length == 0) return 0;
        long scale = char.ToUpperInvariant(text[^1]) switch { 'K' => 1024, 'M' => 1024 * 1024, 'G' => 1L << 30, _ => 1 };
        string digits = scale == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v * scale : 0;
    }

    /// <summary>Number of CPUs in a list such as "0-1", "0,2,4-7".</summary>
    internal static int CountCpus(string list)
    {
        int count = 0;
        foreach (string part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0) count++;
            else if (int.TryParse(part[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
                     && int.TryParse(part[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int b) && b >= a)
                count += b - a + 1;
        }
        return count;
    }

    private static CpuCaches? FromCpuid()
    {
        if (!X86Base.IsSupported) return null;
        var (maxLeaf, vendor1, vendor2, vendor3) = X86Base.CpuId(0, 0);
        bool amd = vendor1 == 0x68747541; // "Auth"enticAMD
        int maxExt = X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        // Deterministic cache parameters: leaf 4 (Intel) or 0x8000001D (AMD, with TOPOEXT).
        int leaf = amd ? unchecked((int)0x8000001D) : 4;
        bool hasLeaf = amd ? (uint)maxExt >= 0x8000001D : maxLeaf >= 4;
        int l1 = 0, l2 = 0, shared = 1;
        long l3 = 0;
        if (hasLeaf)
        {
            for (int sub = 0; sub < 16; sub++)
            {
                var (eax, ebx, ecx, _) = X86Base.CpuId(leaf, sub);
                int type = eax & 0x1F;
                if (type == 0) break;
                if (type is not (1 or 3)) continue; // data or unified
                int level = (eax >> 5) & 7;
                long size = (long)(((ebx >> 22) & 0x3FF) + 1) * (((ebx >> 12) & 0x3FF) + 1) * ((ebx & 0xFFF) + 1) * ((long)(uint)ecx + 1);
                if (level == 1) l1 = (int)size;
                else if (level == 2) l2 = (int)size;
                else if (level == 3) { l3 = size; shared = ((eax >> 14) & 0xFFF) + 1; }
            }
        }
        if ((l1 == 0 || l2 == 0) && (uint)maxExt >= 0x80000006)
        {
            l1 = ((X86Base.CpuId(unchecked((int)0x80000005), 0).Ecx >> 24) & 0xFF) * 1024;
            var e6 = X86Base.CpuId(unchecked((int)0x80000006), 0);
            l2 = ((e6.Ecx >> 16) & 0xFFFF) * 1024;
            l3 = (long)((e6.Edx >> 18) & 0x3FFF) * 512 * 1024;
            shared = Environment.ProcessorCount;
        }
        if (l1 <= 0 || l2 <= 0) return null;
        return new CpuCaches(l1, l2, l3 > 0 ? l3 : l2, Math.Max(1, Math.Min(shared, Environment.ProcessorCount)), "CPUID");
    }
}

/// <summary>The cache blocking of one micro-kernel: MC/KC/NC (see <see cref="PackedGemm{TK}"/>).</summary>
internal readonly record struct GemmBlocks(int MC, int KC, int NC)
{
    /// <summary>
    /// Blocking for an MR×NR register tile on a CPU with the given caches (the BLIS analytical
    /// model, adjusted by measurement): a B micro-panel (KC×NR floats) of about 1.5× L1d — the
    /// micro-kernel reads it sequentially and the prefetcher streams it from L2 faster than the FMAs
    /// consume it (16 FMAs per 128 bytes), so it need not fit L1; what a larger KC buys is fewer
    /// loads and stores of the C tile per FMA. The packed A block (MC×KC) takes about half of L2,
    /// the packed B block (KC×NC) about half of this core's share of L3. KC is a multiple of 16 in
    /// [64, 384], MC a multiple of MR in [4·MR, 960], NC a multiple of NR in [16·NR, 4096].
    /// Measured on Zen 4 (32 KiB L1d, 1 MiB L2; docs/BENCHMARKS.md): the "half of L1d" rule's KC 128
    /// gave 86 GFLOP/s at 2048² on 1 thread, KC 384 gives 100–104 (OpenBLAS 104); KC 512 was no
    /// faster on 1 thread and slower at some 2-thread MLP shapes.
    /// </summary>
    /// <example>32 KiB L1d, 1 MiB L2 (Cascade Lake, Zen 4), 8×32 tile: KC 384, MC 336.</example>
    public static GemmBlocks For(int mr, int nr, CpuCaches caches)
    {
        int kc = Math.Clamp(caches.L1DataBytes * 3 / 2 / (nr * sizeof(float)) / 16 * 16, 64, 384);
        int mc = Math.Clamp(caches.L2Bytes / 2 / (kc * sizeof(float)) / mr * mr, 4 * mr, 960 / mr * mr);
        long l3 = Math.Max(caches.L3PerCoreBytes, caches.L2Bytes);
        int nc = (int)Math.Clamp(l3 / 2 / (kc * sizeof(float)) / nr * nr, 16 * nr, 4096 / nr * nr);
        return new GemmBlocks(mc, kc, nc);
    }

    /// <summary>
    /// <see cref="For"/> on this CPU, or the override in NABLA_GEMM_BLOCKING ("MC,KC,NC", for
    /// measuring other blockings; each rounded to the tile and clamped as above).
    /// </summary>
    public static GemmBlocks Current(int mr, int nr)
    {
        var b = For(mr, nr, CpuCaches.Current);
        string? env = Environment.GetEnvironmentVariable("NABLA_GEMM_BLOCKING");
        if (env is null) return b;
        string[] parts = env.Split(',', StringSplitOptions.TrimEntries);
        int Get(int i, int fallback) =>
            parts.Length > i && int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : fallback;
        int mc = Math.Clamp(Get(0, b.MC) / mr * mr, mr, 4096 / mr * mr);
        int kc = Math.Clamp(Get(1, b.KC) / 8 * 8, 8, 2048);
        int nc = Math.Clamp(Get(2, b.NC) / nr * nr, nr, 16384 / nr * nr);
        return new GemmBlocks(mc, kc, nc);
    }
}

public static partial class Gemm
{
    /// <summary>
    /// The register tile and cache blocking <paramref name="path"/> uses on this CPU, e.g.
    /// "8×32 tile, MC 960, KC 128, NC 4096" (for benchmark reports).
    /// </summary>
    public static string DescribeBlocking(GemmPath path = GemmPath.Auto) => Resolve(path) switch
    {
        GemmPath.Avx512 => Describe<Avx512Kernel>(),
        GemmPath.Avx2 => Describe<Avx2Kernel>(),
        GemmPath.Vector => Describe<VectorKernel>(),
        _ => Describe<ScalarKernel>(),
    };

    private static string Describe<TK>() where TK : struct, IMicroKernel =>
        $"{TK.MR}×{TK.NR} tile, MC {TK.MC}, KC {TK.KC}, NC {TK.NC}";
}
