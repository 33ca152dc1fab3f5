using System.Text.Json;
using Nabla.Cli;
using Nabla.Cli.Commands;

namespace Nabla.Tests.Cli;

/// <summary>
/// `nabla bench` end to end on tiny sizes: the command runs and its JSON has the structure that
/// bench/compare/join.py reads. No figure is checked (these are not timing tests).
/// </summary>
// The command sets WorkerPool.Threads while it runs: keep it away from tests that depend on it.
[Collection("WorkerPoolSettingsCollection")]
public class BenchCommandTests
{
    [Fact]
    public void QuickTinyRunWritesTheJsonReport()
    {
        string dir = Directory.CreateTempSubdirectory("nabla-bench-").FullName;
        try
        {
            string json = Path.Combine(dir, "bench.json");
            var output = new StringWriter();
            var error = new StringWriter();
            int code = Program.Run(["bench", "--quick", "--sizes", "tiny", "--threads", "1,2", "--json", json], output, error);
            Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
            Assert.Contains("mlp_train", output.ToString());

            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            Assert.Contains("cores", root.GetProperty("machine").GetString());
            Assert.True(DateTime.TryParse(root.GetProperty("date").GetString(), out _));
            var results = root.GetProperty("results").EnumerateArray().ToList();

            var gemm = results.Where(r => Name(r) == "gemm").ToList();
            Assert.NotEmpty(gemm);
            foreach (var g in gemm)
            {
                Assert.True(g.GetProperty("m").GetInt32() > 0 && g.GetProperty("n").GetInt32() > 0 && g.GetProperty("k").GetInt32() > 0);
                Assert.True(g.GetProperty("gflops").GetDouble() > 0);
            }
            Assert.Equal([1, 2], gemm.Select(g => g.GetProperty("threads").GetInt32()).Distinct().Order());
            Assert.Contains(gemm, g => g.GetProperty("trans_a").GetBoolean());
            Assert.False(string.IsNullOrEmpty(root.GetProperty("gemm_blocking").GetString()));
            Assert.False(string.IsNullOrEmpty(root.GetProperty("caches").GetString()));

            // The FMA peak (where the CPU has 256- or 512-bit FMA) and each GEMM figure as a share of it.
            var peaks = results.Where(r => Name(r) == "fma_peak").ToList();
            if (System.Runtime.Intrinsics.X86.Fma.IsSupported)
            {
                Assert.Contains(peaks, p => p.GetProperty("bits").GetInt32() == 256 && p.GetProperty("threads").GetInt32() == 1);
                Assert.All(peaks, p => Assert.True(p.GetProperty("gflops").GetDouble() > 0));
                if (Nabla.Kernels.Gemm.BestPath is Nabla.Kernels.GemmPath.Avx512 or Nabla.Kernels.GemmPath.Avx2)
                    Assert.All(gemm, g => Assert.True(g.GetProperty("pct_of_peak").GetDouble() > 0));
            }
            Assert.Contains(gemm, g => g.GetProperty("trans_b").GetBoolean());

            var train = results.Where(r => Name(r) == "mlp_train").ToList();
            Assert.Equal(2, train.Count);
            foreach (var t in train)
            {
                Assert.True(t.GetProperty("samples_per_s").GetDouble() > 0);
                Assert.True(t.GetProperty("alloc_bytes_per_step").GetDouble() >= 0);
                Assert.True(t.GetProperty("gen2_collections").GetInt32() >= 0);
                Assert.True(t.GetProperty("batch").GetInt32() > 0);
            }

            var infer = results.Where(r => Name(r) == "mlp_infer").ToList();
            Assert.Contains(infer, r => r.GetProperty("batch").GetInt32() == 1 && r.GetProperty("latency_us").GetDouble() > 0);
            Assert.Contains(infer, r => r.GetProperty("batch").GetInt32() > 1 && r.GetProperty("samples_per_s").GetDouble() > 0);

            var peak = Assert.Single(results, r => Name(r) == "peak_rss");
            Assert.True(peak.GetProperty("bytes").GetInt64() > 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1,x")]
    [InlineData("")]
    public void BadThreadCountsAreUsageErrors(string threads)
    {
        var error = new StringWriter();
        int code = Program.Run(["bench", "--sizes", "tiny", "--threads", threads], new StringWriter(), error);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--threads", error.ToString());
    }

    private static string? Name(JsonElement r) => r.GetProperty("name").GetString();
}
