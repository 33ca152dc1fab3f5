using System.Diagnostics;
using Nabla.Serialization;
using Nabla.Tests.Cli;

namespace Nabla.Tests.Distributed;

/// <summary>Runs tests only where Open MPI's mpirun is installed (.ci/run installs openmpi-bin); otherwise they show as skipped with the reason.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (Mpi.Run is null) Skip = "mpirun (Open MPI) is not installed: apt-get install openmpi-bin";
    }
}

/// <inheritdoc cref="MpiFactAttribute"/>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute()
    {
        if (Mpi.Run is null) Skip = "mpirun (Open MPI) is not installed: apt-get install openmpi-bin";
    }
}

/// <summary>Starts `mpirun -np N dotnet Nabla.Cli.dll …` and the like.</summary>
internal static class Mpi
{
    public static readonly string? Run = new[] { "/usr/bin/mpirun.openmpi", "/usr/local/bin/mpirun", "/usr/bin/mpirun" }.FirstOrDefault(File.Exists);

    private static string Cli => Path.Combine(AppContext.BaseDirectory, "Nabla.Cli.dll");

    public static ProcessStartInfo StartInfo(int ranks, string marker, params string[] args)
    {
        var psi = new ProcessStartInfo(Run!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (Environment.UserName == "root") psi.ArgumentList.Add("--allow-run-as-root");
        foreach (var a in new[] { "--oversubscribe", "-np", ranks.ToString(), "-x", "NABLA_TEST_MARKER", "dotnet", Cli }) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("NABLA_MPI_LIBRARY"); // another test may point it at a missing file
        psi.Environment["NABLA_TEST_MARKER"] = marker;
        psi.Environment["NO_COLOR"] = "1";
        return psi;
    }

    public static (int Code, string Out, string Err) RunToEnd(int ranks, params string[] args)
    {
        using var p = Process.Start(StartInfo(ranks, Guid.NewGuid().ToString("N"), args))!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"mpirun {string.Join(' ', args)} did not finish within 3 minutes");
        }
        return (p.ExitCode, output.Result, err.Result);
    }

    /// <summary>The process id of rank <paramref name="rank"/> of the job started with <paramref name="marker"/>.</summary>
    public static int? FindRank(string marker, int rank)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var env = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (env.Contains($"NABLA_TEST_MARKER={marker}") && env.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }
}

[Trait("Category", "Mpi")]
public class MpiTests
{
    private static string[] TrainArgs(string output, int batch, params string[] extra) =>
        ["train", "--limit", "600", "--epochs", "2", "--layers", "16", "--batch", batch.ToString(), "--no-augment", "--schedule", "constant",
         "--seed", "4", "--threads", "1", "--out", output, .. extra];

    private static void AssertSameWeights(string expectedFile, string actualFile)
    {
        var expected = SafeTensors.Load(expectedFile).Tensors;
        var actual = SafeTensors.Load(actualFile).Tensors;
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, e) in expected)
        {
            var a = actual[name].ToArray();
            var ev = e.ToArray();
            for (int i = 0; i < ev.Length; i++)
                Assert.True(Math.Abs(ev[i] - a[i]) <= 1e-5f * (1 + Math.Abs(ev[i])), $"{name}[{i}]: one process {ev[i]}, MPI {a[i]}");
        }
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void RanksUnderMpirunGiveTheWeightsOfOneProcessWithAnNTimesLargerBatch(int ranks)
    {
        using var dir = new CliTempDir();
        var single = NablaCli.Run(TrainArgs(dir.File("one.safetensors"), 8 * ranks));
        Assert.True(single.Code == 0, single.ToString());
        var (code, output, err) = Mpi.RunToEnd(ranks, TrainArgs(dir.File("mpi.safetensors"), 8, "--distributed"));
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Contains($"{ranks} ranks, MPI (Open MPI", output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "epoch 2/2")); // only rank 0 prints
        AssertSameWeights(dir.File("one.safetensors"), dir.File("mpi.safetensors"));
    }

    [MpiFact]
    public void AllReduceOverMpiIsExactForIntegersAndCloseForFloatsFromOneElementToMillions()
    {
        var (code, output, err) = Mpi.RunToEnd(2, "allreduce", "--distributed", "--check-only", "--sizes", "1,7,1000,65537,4194307");
        Assert.True(code == 0, $"exit {code}\n{output}\n{err}");
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(output, @"\bok \(").Count);
    }

    [MpiFact]
    public void ARankThatHangsMakesTheJobStopWithAClearError()
    {
        string marker = Guid.NewGuid().ToString("N");
        using var dir = new CliTempDir();
        using var p = Process.Start(Mpi.StartInfo(2, marker, "train", "--distributed", "--comm-timeout", "2", "--limit", "1000", "--epochs", "200",
            "--layers", "16", "--no-augment", "--out", dir.File("m.safetensors")))!;
        var err = p.StandardError.ReadToEndAsync();
        int? victim = null;
        try
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null && !System.Text.RegularExpressions.Regex.IsMatch(line, @"epoch +1/")) { }
            Assert.NotNull(line);
            victim = Mpi.FindRank(marker, 1);
            Assert.NotNull(victim);
            Process.Start("kill", ["-STOP", victim.Value.ToString()])!.WaitForExit();
            var rest = p.StandardOutput.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "the job should stop after the 2 s timeout, not hang");
            Assert.NotEqual(0, p.ExitCode);
            Assert.Contains("a rank hangs or died", err.Result);
        }
        finally
        {
            if (victim is int v) Process.Start("kill", ["-KILL", v.ToString()])?.WaitForExit();
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }

    [MpiFact]
    public void ARankThatDiesMakesTheJobStop()
    {
        string marker = Guid.NewGuid().ToString("N");
        using var dir = new CliTempDir();
        using var p = Process.Start(Mpi.StartInfo(2, marker, "train", "--distributed", "--comm-timeout", "60", "--limit", "1000", "--epochs", "200",
            "--layers", "16", "--no-augment", "--out", dir.File("m.safetensors")))!;
        var err = p.StandardError.ReadToEndAsync();
        try
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null && !System.Text.RegularExpressions.Regex.IsMatch(line, @"epoch +1/")) { }
            Assert.NotNull(line);
            var victim = Mpi.FindRank(marker, 1);
            Assert.NotNull(victim);
            Process.Start("kill", ["-KILL", victim.Value.ToString()])!.WaitForExit();
            _ = p.StandardOutput.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "the job should stop when a rank dies");
            Assert.NotEqual(0, p.ExitCode);
            Assert.False(File.Exists(dir.File("m.safetensors")));
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
    }
}
