using Nabla.Serialization;
using Nabla.Tests.Cli;

namespace Nabla.Tests.Distributed;

public class DistributedCliTests
{
    private static string[] Train(string output, int batch, params string[] extra) =>
        ["train", "--limit", "600", "--epochs", "2", "--layers", "16", "--batch", batch.ToString(), "--no-augment", "--schedule", "cosine",
         "--seed", "4", "--threads", "1", "--out", output, .. extra];

    private static float[] Weights(string file) =>
        SafeTensors.Load(file).Tensors.OrderBy(kv => kv.Key).SelectMany(kv => kv.Value.ToArray()).ToArray();

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"weight {i}: {expected[i]} vs {actual[i]}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void DataParallelRanksGiveTheWeightsOfOneProcessWithAnNTimesLargerBatch(int ranks)
    {
        using var dir = new CliTempDir();
        var single = NablaCli.Run(Train(dir.File("one.safetensors"), 8 * ranks));
        Assert.True(single.Code == 0, single.ToString());
        var parallel = NablaCli.Run(Train(dir.File("dp.safetensors"), 8, "--data-parallel", ranks.ToString()));
        Assert.True(parallel.Code == 0, parallel.ToString());
        Assert.Contains($"{ranks} ranks, in-process ({ranks} threads); batch 8 per rank, {8 * ranks} per step", parallel.Out);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(parallel.Out, "epoch 2/2"));
        Assert.Contains(single.Out.Split('\n').First(l => l.StartsWith("test", StringComparison.Ordinal)), parallel.Out);
        AssertClose(Weights(dir.File("one.safetensors")), Weights(dir.File("dp.safetensors")));
    }

    [Fact]
    public void ACheckpointedRunResumesWithAnotherRankCount()
    {
        using var dir = new CliTempDir();
        string ckpt = dir.File("run.ckpt");
        string[] Args(string file, int epochs, int batch, params string[] extra) =>
            ["train", "--limit", "600", "--epochs", epochs.ToString(), "--layers", "16", "--batch", batch.ToString(), "--no-augment",
             "--schedule", "constant", "--seed", "4", "--threads", "1", "--out", file, .. extra];

        // Reference: 4 epochs in one process with batch 16.
        var reference = NablaCli.Run(Args(dir.File("ref.safetensors"), 4, 16));
        Assert.True(reference.Code == 0, reference.ToString());
        // The same run cut in two: 2 epochs on 2 ranks of 8, then epochs 3 and 4 on 4 ranks of 4 (the same global batch).
        var first = NablaCli.Run(Args(dir.File("a.safetensors"), 2, 8, "--data-parallel", "2", "--checkpoint", ckpt));
        Assert.True(first.Code == 0, first.ToString());
        Assert.True(File.Exists(ckpt));
        var second = NablaCli.Run(Args(dir.File("b.safetensors"), 4, 4, "--data-parallel", "4", "--checkpoint", ckpt, "--resume"));
        Assert.True(second.Code == 0, second.ToString());
        Assert.Contains("after epoch 2", second.Out);
        Assert.Contains("epoch 3/4", second.Out);
        Assert.DoesNotContain("epoch 2/4", second.Out);
        AssertClose(Weights(dir.File("ref.safetensors")), Weights(dir.File("b.safetensors")));
        // Nothing left to do: a clear error rather than an empty run.
        var again = NablaCli.Run(Args(dir.File("c.safetensors"), 4, 4, "--checkpoint", ckpt, "--resume"));
        Assert.Equal(2, again.Code);
        Assert.Contains("already holds 4 epochs", again.Err);
    }

    [Theory]
    [InlineData("--distributed", "--data-parallel", "2")]
    [InlineData("--resume")]
    public void ContradictoryOptionsAreUsageErrors(params string[] extra)
    {
        using var dir = new CliTempDir();
        var r = NablaCli.Run(Train(dir.File("m.safetensors"), 8, extra));
        Assert.Equal(2, r.Code);
        Assert.StartsWith("error: --", r.Err);
    }

    [Fact]
    public void DistributedWithoutMpiSaysWhatToInstall()
    {
        string? before = Environment.GetEnvironmentVariable("NABLA_MPI_LIBRARY");
        try
        {
            Environment.SetEnvironmentVariable("NABLA_MPI_LIBRARY", "/nonexistent/libmpi-for-a-test.so");
            using var dir = new CliTempDir();
            var r = NablaCli.Run(Train(dir.File("m.safetensors"), 8, "--distributed"));
            Assert.Equal(2, r.Code);
            Assert.Contains("needs an MPI library", r.Err);
            Assert.Contains("apt-get install openmpi-bin", r.Err);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NABLA_MPI_LIBRARY", before);
        }
    }

    [Fact]
    public void AllReduceCommandChecksInProcessRanks()
    {
        var r = NablaCli.Run("allreduce", "--data-parallel", "3", "--check-only", "--sizes", "1,5,100000");
        Assert.True(r.Code == 0, r.ToString());
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(r.Out, @"\bok \(").Count);
    }
}
