using System.Globalization;
using System.Text.RegularExpressions;
using Nabla.Cli.Commands;
using Nabla.Serialization;

namespace Nabla.Tests.Cli;

/// <summary>Trains one small model on the shipped digits for the tests of <see cref="CliCommandTests"/>.</summary>
public sealed class SmallModelFixture : IDisposable
{
    private readonly CliTempDir dir = new();

    public SmallModelFixture()
    {
        ModelPath = dir.File("model.safetensors");
        Train = NablaCli.Run(TrainArgs(ModelPath));
    }

    /// <summary>A quick training run: 2,000 samples, one hidden layer of 64, two epochs.</summary>
    public static string[] TrainArgs(string output) =>
        ["train", "--limit", "2000", "--epochs", "2", "--layers", "64", "--lr", "0.1", "--no-augment", "--out", output];

    public string ModelPath { get; }

    public NablaCli.Result Train { get; }

    public string Folder => dir.Path;

    public void Dispose() => dir.Dispose();
}

/// <summary>The nabla commands end to end, in-process.</summary>
public class CliCommandTests(SmallModelFixture model) : IClassFixture<SmallModelFixture>
{
    private static double Accuracy(string output, string prefix)
    {
        var m = Regex.Match(output, prefix + @"\s+loss [0-9.]+\s+accuracy ([0-9.]+)%");
        Assert.True(m.Success, $"no '{prefix} … accuracy' line in:\n{output}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static string Predicted(string output)
    {
        var m = Regex.Match(output, @"predicted: (\S+) \(([0-9.]+)%\)");
        Assert.True(m.Success, $"no 'predicted:' line in:\n{output}");
        return m.Groups[1].Value;
    }

    private static void AssertCleanError(NablaCli.Result r, int code, params string[] expected)
    {
        Assert.True(r.Code == code, r.ToString());
        Assert.StartsWith("error: ", r.Err);
        foreach (var e in expected) Assert.Contains(e, r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
        Assert.DoesNotContain("Exception", r.Err);
    }

    [Fact]
    public void TrainReportsEpochsTestAccuracyAndConfusionMatrixAndSavesTheModel()
    {
        var r = model.Train;
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Equal("", r.Err);
        Assert.Matches(@"epoch 1/2\s+loss [0-9.]+\s+acc [0-9.]+%\s+val loss [0-9.]+\s+val acc [0-9.]+%", r.Out);
        Assert.Matches(@"epoch 2/2\s+loss", r.Out);
        Assert.Contains("confusion matrix", r.Out);
        Assert.Contains("saved", r.Out);
        Assert.True(Accuracy(r.Out, "test") > 75, r.Out);
        Assert.True(File.Exists(model.ModelPath));
        Assert.Empty(Directory.GetFiles(model.Folder, "*.tmp")); // written atomically, nothing left behind

        var (tensors, meta) = SafeTensors.Load(model.ModelPath);
        Assert.Equal([64, 784], tensors["0.weight"].Shape.ToArray());
        Assert.Equal("784", meta[ModelInfo.Keys.InputShape]);
        Assert.Equal("28,28", meta[ModelInfo.Keys.ImageShape]);
        Assert.Equal("10", meta[ModelInfo.Keys.Classes]);
        Assert.Equal(ShippedData.Marker, meta[ModelInfo.Keys.Data]);
        Assert.Equal(DataLoading.Normalization, meta[ModelInfo.Keys.Normalization]);
        Assert.Equal("1", meta[ModelInfo.Keys.Seed]);
        Assert.Equal("2000", meta[ModelInfo.Keys.Limit]);
        Assert.Contains("nabla.architecture", meta.Keys);
    }

    [Fact]
    public void EvaluateGivesTheSameTestAccuracyAsTrain()
    {
        var r = NablaCli.Run("evaluate", "--model", model.ModelPath);
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Contains("confusion matrix", r.Out);
        Assert.Contains("recall", r.Out);
        Assert.Equal(Accuracy(model.Train.Out, "test"), Accuracy(r.Out, "test"));
    }

    [Fact]
    public void PredictIndexPrintsTheClassAndProbabilities()
    {
        var r = NablaCli.Run("predict", "--model", model.ModelPath, "--index", "0");
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Contains("class probabilities", r.Out);
        Assert.Matches("label [0-9]", r.Out);
        Assert.Matches("^[0-9]$", Predicted(r.Out));
    }

    [Fact]
    public void PredictOnAPgmOfATestSampleAgreesWithPredictIndex()
    {
        var data = DataLoading.Load(null, seed: 1, limit: 2000);
        using var dir = new CliTempDir();
        for (int index = 0; index < 3; index++)
        {
            string pgm = dir.File($"sample{index}.pgm");
            ImageInput.WritePgm(pgm, 28, 28, data.Test.Features.AsSpan(index * 784, 784));
            var fromImage = NablaCli.Run("predict", "--model", model.ModelPath, "--image", pgm);
            var fromIndex = NablaCli.Run("predict", "--model", model.ModelPath, "--index", index.ToString(CultureInfo.InvariantCulture));
            Assert.True(fromImage.Code == ExitCodes.Ok, fromImage.ToString());
            Assert.DoesNotContain("inverted", fromImage.Out);
            Assert.Equal(Predicted(fromIndex.Out), Predicted(fromImage.Out));
        }
    }

    [Fact]
    public void PredictOnALargeDarkOnLightPngInvertsAndFitsIt()
    {
        using var dir = new CliTempDir();
        string png = dir.File("one.png");
        TestImages.WritePng(png, 120, 90, (x, y) => Math.Abs(x - 60) <= 4 && y is > 10 and < 80 ? 0.05f : 0.95f);
        var r = NablaCli.Run("predict", "--model", model.ModelPath, "--image", png);
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Contains("120x90", r.Out);
        Assert.Contains("inverted", r.Out);
        Assert.Contains("fitted to 28x28", r.Out);
        Predicted(r.Out);
    }

    [Fact]
    public void TheSameSeedGivesTheSameModel()
    {
        using var dir = new CliTempDir();
        string again = dir.File("again.safetensors");
        var r = NablaCli.Run(SmallModelFixture.TrainArgs(again));
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        var a = SafeTensors.Load(model.ModelPath).Tensors;
        var b = SafeTensors.Load(again).Tensors;
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var k in a.Keys) Assert.Equal(a[k].ToArray(), b[k].ToArray());
    }

    [Fact]
    public void AMissingDataFolderIsOneErrorLineNamingIt()
    {
        string missing = Path.Combine(Path.GetTempPath(), "nabla-no-such-folder-" + Guid.NewGuid().ToString("N"));
        var r = NablaCli.Run("train", "--data", missing, "--epochs", "1");
        AssertCleanError(r, ExitCodes.Usage, missing, "does not exist");
        Assert.Single(r.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void AFolderWithoutIdxFilesIsAClearError()
    {
        using var dir = new CliTempDir();
        File.WriteAllText(dir.File("notes.txt"), "hello");
        var r = NablaCli.Run("train", "--data", dir.Path, "--out", dir.File("m.safetensors"));
        AssertCleanError(r, ExitCodes.Usage, dir.Path, "no MNIST-style IDX files", "notes.txt");
    }

    [Fact]
    public void ACorruptModelFileIsAClearError()
    {
        using var dir = new CliTempDir();
        string text = dir.File("not-a-model.safetensors");
        File.WriteAllText(text, "this is not a safetensors file, just some text that is long enough");
        var r = NablaCli.Run("evaluate", "--model", text);
        AssertCleanError(r, ExitCodes.Usage, text, "not a usable Nabla model file");

        string truncated = dir.File("truncated.safetensors");
        byte[] bytes = File.ReadAllBytes(model.ModelPath);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        r = NablaCli.Run("predict", "--model", truncated, "--index", "0");
        AssertCleanError(r, ExitCodes.Usage, truncated, "not a usable Nabla model file");

        r = NablaCli.Run("evaluate", "--model", dir.File("missing.safetensors"));
        AssertCleanError(r, ExitCodes.Usage, dir.File("missing.safetensors"), "does not exist");
    }

    [Fact]
    public void DataOfTheWrongImageSizeIsAClearError()
    {
        using var dir = new CliTempDir();
        FakeMnist.Write(dir.Path, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", count: 30, size: 8);
        var r = NablaCli.Run("evaluate", "--model", model.ModelPath, "--data", dir.Path);
        AssertCleanError(r, ExitCodes.Usage, "8x8", "784");
    }

    [Fact]
    public void ATrainTestFolderKeepsItsTestSetAndEvaluateFindsItAgain()
    {
        using var dir = new CliTempDir();
        string data = Path.Combine(dir.Path, "fake-mnist");
        FakeMnist.Write(data, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", count: 200, seed: 1);
        FakeMnist.Write(data, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", count: 50, seed: 2);
        string file = dir.File("fake.safetensors");
        var r = NablaCli.Run("train", "--data", data, "--epochs", "10", "--batch", "16", "--layers", "16", "--no-augment", "--out", file);
        Assert.True(r.Code == ExitCodes.Ok, r.ToString());
        Assert.Contains("160 train, 40 validation; test file: 50 test", r.Out);
        Assert.True(Accuracy(r.Out, "test") > 90, r.Out);

        var e = NablaCli.Run("evaluate", "--model", file);
        Assert.True(e.Code == ExitCodes.Ok, e.ToString());
        Assert.Contains(data, e.Out);
        Assert.Contains("test set of 50", e.Out);
        Assert.Equal(Accuracy(r.Out, "test"), Accuracy(e.Out, "test"));
    }

    [Fact]
    public void DivergenceIsExitCode3WithAHint()
    {
        using var dir = new CliTempDir();
        string file = dir.File("diverged.safetensors");
        var r = NablaCli.Run("train", "--limit", "300", "--epochs", "1", "--layers", "32", "--lr", "1e8", "--schedule", "constant", "--out", file);
        AssertCleanError(r, ExitCodes.Diverged, "diverged", "learning rate");
        Assert.False(File.Exists(file));
    }

    [Theory]
    [InlineData("train", "--bogus")]
    [InlineData("train", "--activation", "swish")]
    [InlineData("train", "--epochs", "0")]
    [InlineData("train", "--epochs", "many")]
    [InlineData("train", "--lr", "-1")]
    [InlineData("train", "--layers", "128,x")]
    [InlineData("predict", "--model", "m.safetensors")]
    [InlineData("predict", "--model", "m.safetensors", "--index", "1", "--image", "a.png")]
    [InlineData("evaluate")]
    [InlineData("frobnicate")]
    public void BadUsageIsExitCode2(params string[] args)
    {
        var r = NablaCli.Run(args);
        Assert.True(r.Code == ExitCodes.Usage, r.ToString());
        Assert.StartsWith("error: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public void PredictIndexOutOfRangeNamesTheRange()
    {
        var r = NablaCli.Run("predict", "--model", model.ModelPath, "--index", "100000");
        AssertCleanError(r, ExitCodes.Usage, "--index 100000", "400 samples");
    }

    [Fact]
    public void OutIntoAFolderIsAClearError()
    {
        using var dir = new CliTempDir();
        var r = NablaCli.Run("train", "--limit", "300", "--epochs", "1", "--out", dir.Path);
        AssertCleanError(r, ExitCodes.Usage, dir.Path, "is a folder");
    }

    [Fact]
    public void HelpListsTheCommandsAndOptions()
    {
        var none = NablaCli.Run();
        Assert.Equal(ExitCodes.Usage, none.Code);
        Assert.Contains("train", none.Out);
        Assert.Contains("evaluate", none.Out);
        Assert.Contains("predict", none.Out);

        var help = NablaCli.Run("train", "--help");
        Assert.Equal(ExitCodes.Ok, help.Code);
        foreach (var option in new[] { "--data", "--layers", "--activation", "--epochs", "--batch", "--lr", "--momentum", "--seed", "--out", "--threads" })
            Assert.Contains(option, help.Out);
        Assert.Contains("nabla train", help.Out);
    }

    [Fact]
    public void TheShippedDigitsAreFoundFromTheTestFolder()
    {
        string? dir = ShippedData.Find();
        Assert.NotNull(dir);
        Assert.True(File.Exists(Path.Combine(dir, "images.idx3-ubyte.gz")));
        var data = DataLoading.Load(null, seed: 1, limit: null);
        Assert.Equal((6000, 2000, 2000), (data.Train.Count, data.Validation.Count, data.Test.Count));
        Assert.True(data.Shipped);
    }
}
