using Nabla.Cli.Commands;
using Nabla.Serialization;

namespace Nabla.Tests.Cli;

/// <summary>
/// nabla evaluate/predict on a plain safetensors file — weights only, as PyTorch's
/// <c>safetensors.torch.save_file(model.state_dict(), path)</c> writes them — with the architecture given by --arch.
/// </summary>
public class ArchOptionTests
{
    [Fact]
    public void Evaluate_and_predict_take_weights_without_metadata_plus_an_architecture_file()
    {
        using var dir = new CliTempDir();
        string full = dir.File("full.safetensors");
        var train = NablaCli.Run("train", "--limit", "600", "--epochs", "1", "--layers", "16", "--no-augment", "--threads", "1", "--out", full);
        Assert.True(train.Code == ExitCodes.Ok, train.ToString());

        // The same weights as a bare state dict (no Nabla metadata at all) and the architecture beside them.
        var (model, _) = ModelFile.Load(full);
        string plain = dir.File("plain.safetensors"), arch = dir.File("arch.json");
        SafeTensors.Save(plain, model.StateDict());
        File.WriteAllText(arch, ModelFile.Architecture(model));

        var without = NablaCli.Run("evaluate", "--model", plain);
        Assert.Equal(ExitCodes.Usage, without.Code);
        Assert.Contains("--arch", without.Err);

        var expected = NablaCli.Run("evaluate", "--model", full);
        var actual = NablaCli.Run("evaluate", "--model", plain, "--arch", arch, "--data", Data.DataTestUtil.Mnist10kDir);
        Assert.True(actual.Code == ExitCodes.Ok, actual.ToString());
        Assert.True(expected.Code == ExitCodes.Ok, expected.ToString());
        // The recorded split differs (no seed or limit in the plain file), so compare predictions, not the report.
        var one = NablaCli.Run("predict", "--model", plain, "--arch", arch, "--index", "3", "--data", Data.DataTestUtil.Mnist10kDir);
        Assert.True(one.Code == ExitCodes.Ok, one.ToString());
        Assert.Contains("accuracy", actual.Out);

        var missing = NablaCli.Run("evaluate", "--model", plain, "--arch", dir.File("nope.json"));
        Assert.Equal(ExitCodes.Usage, missing.Code);
        Assert.Contains("nope.json", missing.Err);
    }
}
