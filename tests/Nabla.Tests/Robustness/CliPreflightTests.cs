using System.Globalization;
using Nabla.Cli.Commands;
using Nabla.Tests.Cli;

namespace Nabla.Tests.Robustness;

/// <summary>nabla checks what it is given before it trains: paths, sizes, numbers in any locale, command names.</summary>
public class CliPreflightTests
{
    [Fact]
    public void A_mistyped_command_gets_a_suggestion()
    {
        var r = NablaCli.Run("trian", "--epochs", "1");
        Assert.Equal(ExitCodes.Usage, r.Code);
        Assert.Contains("unknown command 'trian' (did you mean 'train'?)", r.Err);
        Assert.Contains("(did you mean 'evaluate'?)", NablaCli.Run("evalute").Err);
        Assert.DoesNotContain("did you mean", NablaCli.Run("zzzzzz").Err);
    }

    [Fact]
    public void Absurd_sizes_and_empty_strings_are_rejected_before_any_data_is_read()
    {
        using var t = new CliTempDir();
        string missing = t.File("no-such-data"); // would fail later, if the checks did not come first
        foreach (var (args, says) in new (string[], string)[]
                 {
                     (["--layers", "65536,65536"], "4,295,032,832 parameters"),
                     (["--layers", ""], "--layers is empty"),
                     (["--out", ""], "--out: the file name is empty"),
                     (["--out", " "], "--out: the file name is empty"),
                     (["--plot", ""], "--plot: the file name is empty"),
                     (["--data", ""], "--data: the path is empty"),
                 })
        {
            string[] all = args.Contains("--data") ? ["train", .. args] : ["train", "--data", missing, .. args];
            var r = NablaCli.Run(all);
            Assert.True(r.Code == ExitCodes.Usage, string.Join(" ", all) + "\n" + r);
            Assert.Contains(says, r.Err);
        }
    }

    [Fact]
    public void Unwritable_out_and_plot_paths_fail_at_once_and_missing_folders_are_created()
    {
        using var t = new CliTempDir();
        string data = Path.Combine(t.Path, "data");
        FakeMnist.Write(data, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 40, size: 8, classes: 2);
        File.WriteAllText(t.File("afile"), "x");
        var r = NablaCli.Run("train", "--data", data, "--layers", "4", "--epochs", "1", "--out", Path.Combine(t.File("afile"), "m.safetensors"));
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.DoesNotContain("epoch", r.Out);
        r = NablaCli.Run("train", "--data", data, "--layers", "4", "--epochs", "1", "--out", t.File("m.safetensors"), "--plot", Path.Combine(t.File("afile"), "p.png"));
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.DoesNotContain("epoch", r.Out);
        Assert.False(File.Exists(t.File("m.safetensors")));

        string nested = Path.Combine(t.Path, "new", "folder", "m.safetensors");
        r = NablaCli.Run("train", "--data", data, "--layers", "4", "--epochs", "1", "--out", nested, "--plot", Path.Combine(t.Path, "plots", "curves.png"));
        Assert.True(r.Code == 0, r.ToString());
        Assert.True(File.Exists(nested));
        Assert.True(File.Exists(Path.Combine(t.Path, "plots", "curves.png")));
        // The model is saved before the plots are drawn.
        Assert.True(r.Out.IndexOf("saved", StringComparison.Ordinal) < r.Out.IndexOf("plots", StringComparison.Ordinal), r.Out);
    }

    [Fact]
    public void Numbers_are_read_with_the_invariant_culture_under_a_german_locale()
    {
        CultureInfo german;
        try { german = CultureInfo.GetCultureInfo("de-DE"); }
        catch (CultureNotFoundException) { return; }
        using var t = new CliTempDir();
        string data = Path.Combine(t.Path, "data");
        FakeMnist.Write(data, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 40, size: 8, classes: 2);
        var before = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = german;
        try
        {
            var r = NablaCli.Run("train", "--data", data, "--layers", "4", "--epochs", "1", "--lr", "0.05", "--dropout", "0.25", "--out", t.File("m.safetensors"));
            Assert.True(r.Code == 0, r.ToString());
            Assert.Contains("lr 0.05 ", r.Out);
            Assert.Contains("dropout 0.25", r.Out);
            Assert.Same(german, CultureInfo.CurrentCulture); // restored after the command
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }
}
