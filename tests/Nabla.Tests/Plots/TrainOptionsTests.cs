using System.Text.Json.Nodes;
using Nabla.Cli;
using Nabla.Cli.Commands;
using Nabla.Cli.Plots;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Tests.Plots;

/// <summary>`nabla train` with --optimizer, --schedule, --dropout, --early-stop and --plot.</summary>
public sealed class TrainOptionsTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("nabla-train-plot-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private (int Code, string Output, string Error) Train(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(["train", "--limit", "600", "--layers", "16", "--no-augment", .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void PlotWritesCurvesAndConfusionMatrixAndTheModelRecordsTheSettings()
    {
        string model = Path.Combine(dir, "m.safetensors");
        string plot = Path.Combine(dir, "plots", "run.png");
        var (code, output, error) = Train("--epochs", "3", "--optimizer", "adam", "--dropout", "0.2", "--schedule", "step",
            "--early-stop", "5", "--plot", plot, "--out", model);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
        Assert.Equal((2 * Charts.Width - 200, Charts.Height), PngFile.AssertValid(plot, 20 * 1024));
        PngFile.AssertValid(Path.Combine(dir, "plots", "run-confusion.png"), 20 * 1024);
        Assert.Contains("adam lr 0.001 (step)", output);
        Assert.Contains("run-confusion.png", output);

        var (loaded, meta) = ModelFile.Load(model);
        Assert.Contains(((Sequential)loaded).Layers, l => l is Dropout { P: 0.2f });
        var training = JsonNode.Parse(meta[ModelInfo.Keys.Training])!;
        Assert.Equal("adam", training["optimizer"]!.GetValue<string>());
        Assert.Equal(0.2f, training["dropout"]!.GetValue<float>());
        Assert.Equal(5, training["early_stop"]!.GetValue<int>());
        Assert.Equal(3, training["epochs_run"]!.GetValue<int>());
    }

    [Fact]
    public void EarlyStopEndsTrainingWhenTheValidationLossStopsImproving()
    {
        // A learning rate far too large for plain SGD makes the validation loss jump about.
        var (code, output, error) = Train("--epochs", "15", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.5", "--schedule", "constant",
            "--early-stop", "1", "--out", Path.Combine(dir, "e.safetensors"));
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
        Assert.Contains("stopped early", output);
        Assert.DoesNotContain("epoch 15/15", output);
    }

    [Theory]
    [InlineData("momentum")]
    [InlineData("nesterov")]
    [InlineData("adagrad")]
    [InlineData("rmsprop")]
    [InlineData("adamw")]
    [InlineData("accelerated")]
    public void EveryOptimizerTrains(string name)
    {
        var (code, output, error) = Train("--epochs", "1", "--optimizer", name, "--schedule", "exponential", "--out", Path.Combine(dir, name + ".safetensors"));
        Assert.True(code == ExitCodes.Ok, $"{name}: exit code {code}: {error}");
        Assert.Contains($"train  {name} lr", output);
    }

    [Fact]
    public void MomentumForAnOptimizerWithoutOneIsAUsageError()
    {
        var (code, _, error) = Train("--optimizer", "adam", "--momentum", "0.5", "--out", Path.Combine(dir, "x.safetensors"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--momentum does not apply", error);
        Assert.False(File.Exists(Path.Combine(dir, "x.safetensors")));
    }

    [Theory]
    [InlineData("--dropout", "1")]
    [InlineData("--dropout", "-0.1")]
    [InlineData("--early-stop", "0")]
    [InlineData("--optimizer", "lbfgs")]
    [InlineData("--schedule", "linear")]
    public void BadValuesAreUsageErrors(string option, string value)
    {
        var (code, _, error) = Train(option, value, "--out", Path.Combine(dir, "y.safetensors"));
        Assert.Equal(ExitCodes.Usage, code);
        // Our validators name the option; System.CommandLine's list check names the value.
        Assert.True(error.Contains(option, StringComparison.Ordinal) || error.Contains($"'{value}'", StringComparison.Ordinal), error);
    }

    [Fact]
    public void OptimizerSettingsFollowTheOptions()
    {
        var p = new[] { new Parameter(2) };
        Assert.Equal(0.05f, TrainCommand.DefaultLearningRate("sgd"));
        Assert.Equal(Optimizers.DefaultLearningRate("adam"), TrainCommand.DefaultLearningRate("adam"));
        // --optimizer sgd is plain SGD, as Optimizers.Create("sgd") and PyTorch's SGD, unless --momentum is given.
        var sgd = Assert.IsType<Sgd>(TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "sgd", Momentum = 0.9f }, p));
        Assert.Equal(0f, sgd.Momentum);
        Assert.Equal(((Sgd)Optimizers.Create("sgd", p, 0.05f)).Momentum, sgd.Momentum);
        sgd = Assert.IsType<Sgd>(TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "sgd", Momentum = 0.5f, MomentumGiven = true }, p));
        Assert.Equal(0.5f, sgd.Momentum);
        var momentum = Assert.IsType<Sgd>(TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "momentum", Momentum = 0.9f }, p));
        Assert.Equal(0.9f, momentum.Momentum);
        var nesterov = Assert.IsType<Sgd>(TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "nesterov", Momentum = 0.8f }, p));
        Assert.True(nesterov.Nesterov);
        Assert.Equal(0.8f, nesterov.Momentum);
        var rms = Assert.IsType<RmsProp>(TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "rmsprop", Momentum = 0.9f }, p));
        Assert.Equal(0f, rms.Momentum); // the default --momentum is for the SGD family only
        rms = Assert.IsType<RmsProp>(TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "rmsprop", Momentum = 0.5f, MomentumGiven = true }, p));
        Assert.Equal(0.5f, rms.Momentum);
        Assert.Throws<UsageException>(() => TrainCommand.CreateOptimizer(new TrainSettings { Optimizer = "momentum", Momentum = 0f }, p));

        Assert.Null(TrainCommand.CreateSchedule("constant", 10));
        Assert.IsType<CosineAnnealingLR>(TrainCommand.CreateSchedule("cosine", 10));
        Assert.Equal(3, Assert.IsType<StepLR>(TrainCommand.CreateSchedule("step", 10)).StepSize);
        Assert.Equal(1, Assert.IsType<StepLR>(TrainCommand.CreateSchedule("step", 2)).StepSize);
        Assert.IsType<ExponentialLR>(TrainCommand.CreateSchedule("exponential", 10));
        Assert.IsType<ReduceLROnPlateau>(TrainCommand.CreateSchedule("plateau", 10));
    }

    [Fact]
    public void FlipAddsMirroringToTheAugmentationAndTheResumeSettingsKeepIt()
    {
        Assert.Equal(0.5, TrainCommand.Augmentation(28, 28, flip: true).FlipProbability);
        Assert.Equal(0.0, TrainCommand.Augmentation(28, 28).FlipProbability); // digits are never mirrored by default

        string model = Path.Combine(dir, "f.safetensors");
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(["train", "--limit", "600", "--layers", "16", "--epochs", "1", "--flip", "--checkpoint", Path.Combine(dir, "ck"), "--out", model], output, error);
        Assert.True(code == ExitCodes.Ok, $"exit code {code}: {error}");
        Assert.Contains("shift 2 px, rotate 10 degrees, flip augmentation", output.ToString());
        var (_, meta) = ModelFile.Load(model);
        Assert.Equal("shift 2 px, rotate 10 degrees, flip", JsonNode.Parse(meta[ModelInfo.Keys.Training])!["augment"]!.GetValue<string>());
        var resumed = TrainCheckpoint.LoadSettings(Path.Combine(dir, "ck"), threads: null);
        Assert.True(resumed.Flip);
        Assert.True(resumed.Augment);

        code = Program.Run(["train", "--limit", "600", "--flip", "--no-augment", "--out", model], new StringWriter(), error = new StringWriter());
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--flip and --no-augment contradict", error.ToString());
    }

    [Theory]
    [InlineData("curves.png", "curves-confusion.png")]
    [InlineData("out/run", "out/run-confusion.png")]
    [InlineData("a.b/c.PNG", "a.b/c-confusion.PNG")]
    public void ConfusionPlotGoesNextToTheCurves(string plot, string confusion) =>
        Assert.Equal(confusion, TrainCommand.ConfusionPlotPath(plot));
}
