using System.Text.RegularExpressions;
using Nabla.Cli.Commands;

namespace Nabla.Tests.Cli;

/// <summary><c>nabla train --diagnostics</c>: one line of process counters per epoch, each a difference over that epoch, and the time outside the epochs.</summary>
public class EpochDiagnosticsTests
{
    [Fact]
    public void Each_epoch_is_followed_by_its_counters()
    {
        using var dir = new CliTempDir();
        var r = NablaCli.Run("train", "--limit", "600", "--epochs", "2", "--layers", "16", "--no-augment", "--threads", "1",
            "--diagnostics", "--out", dir.File("m.safetensors"));
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        var lines = r.Out.Split('\n').Select(l => l.Trim()).ToArray();
        var pattern = new Regex(@"^wall (\d+\.\d\d) s  cpu (\d+\.\d\d) s  gc (\d+)/(\d+)/(\d+) \(pause \d+ ms\)  alloc (\d+\.\d) MiB  jit (\d+) methods \d+ ms  faults (\d+) minor (\d+) major$");
        var diag = lines.Select(l => pattern.Match(l)).Where(m => m.Success).ToArray();
        Assert.True(diag.Length == 2, r.Out);
        for (int e = 0; e < 2; e++)
        {
            // Each counter line comes right after its epoch line.
            int at = Array.FindIndex(lines, l => l == diag[e].Value);
            Assert.StartsWith($"epoch {e + 1}/2", lines[at - 1]);
            Assert.True(double.Parse(diag[e].Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 0);
            Assert.True(double.Parse(diag[e].Groups[6].Value, System.Globalization.CultureInfo.InvariantCulture) >= 0);
        }
        // The time outside the epochs: start-up and data before the first epoch, the test set after the last.
        int phases = Array.FindIndex(lines, l => Regex.IsMatch(l, @"^start-up \d+\.\d\d s \(process start to the command\)  data \d+\.\d\d s \(read, inflate, split\)$"));
        Assert.True(phases >= 0 && phases < Array.FindIndex(lines, l => l.StartsWith("epoch 1/2", StringComparison.Ordinal)), r.Out);
        int testLine = Array.FindIndex(lines, l => Regex.IsMatch(l, @"^test set \d+\.\d\d s$"));
        Assert.True(testLine > Array.FindIndex(lines, l => l == diag[1].Value), r.Out);
    }

    [Fact]
    public void Differences_are_taken_between_snapshots()
    {
        var a = EpochDiagnostics.Snapshot.Take();
        var junk = new byte[4 << 20];
        GC.KeepAlive(junk);
        var d = EpochDiagnostics.Snapshot.Take().Since(a);
        Assert.True(d.Allocated >= 4 << 20);
        Assert.True(d.Wall >= TimeSpan.Zero && d.Cpu >= TimeSpan.Zero);
        Assert.Contains("alloc 4.0 MiB", EpochDiagnostics.Format(d with { Allocated = 4 << 20 }));
    }
}
