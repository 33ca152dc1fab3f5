using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Tests.Cli;

/// <summary>
/// The code of README.md's library tour, line for line (only the data folder differs: the README runs from the
/// repository root). <see cref="TheReadmeShowsThisCode"/> checks that the two stay the same.
/// </summary>
public class ReadmeExamplesTests
{
    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Nabla.slnx"))) return d.FullName;
        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds Nabla.slnx.");
    }

    private static readonly string Digits = Path.Combine(RepoRoot(), "data", "mnist10k");

    // README: a Module subclass
    class TwoLayerNet : Module
    {
        readonly Linear fc1 = new(784, 128), fc2 = new(128, 10);
        public override Tensor Forward(Tensor x) => fc2.Forward(Ops.Relu(fc1.Forward(x)));
    }

    [Fact]
    public void ModuleWithAManualLoop()
    {
        var (train, test) = MnistFolder.Load(Digits, flatten: true).Train.Split(0.8, seed: 1);
        var model = new TwoLayerNet();
        var loss = new CrossEntropyLoss();
        var optimizer = new Sgd(model.Parameters(), learningRate: 0.1f, momentum: 0.9f);
        var loader = new DataLoader(train, batchSize: 64, shuffle: true, seed: 1);
        for (int epoch = 0; epoch < 3; epoch++)
            foreach (var batch in loader)
            {
                optimizer.ZeroGrad();
                var l = loss.Forward(model.Forward(batch.Inputs), batch.Labels);
                l.Backward();
                optimizer.Step();
            }
        Console.WriteLine($"test accuracy: {Trainer.Evaluate(model, test, loss).Accuracy:P1}");
        // README end

        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], model.NamedParameters().Select(p => p.Name));
        Assert.True(Trainer.Evaluate(model, test, loss).Accuracy > 0.9);
    }

    [Fact]
    public void SequentialWithFitAndEvaluate()
    {
        using var dir = new CliTempDir();
        string file = dir.File("mlp.safetensors");

        var (train, test) = MnistFolder.Load(Digits, flatten: true).Train.Split(0.8, seed: 1);
        var model = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 10));
        var optimizer = new Sgd(model.Parameters(), learningRate: 0.1f, momentum: 0.9f);
        var history = Trainer.Fit(model, train, new CrossEntropyLoss(), optimizer,
            new FitOptions { Epochs = 3, BatchSize = 64, Validation = test, OnEpoch = Console.WriteLine });
        var result = Trainer.Evaluate(model, test, new CrossEntropyLoss());
        Console.WriteLine($"test accuracy {result.Accuracy:P1}\n{result.Confusion}");
        ModelFile.Save(file, model);
        var (loaded, metadata) = ModelFile.Load(file);
        // README end

        Assert.Equal(3, history.Epochs.Count);
        Assert.True(result.Accuracy > 0.9);
        Assert.Equal("nabla", metadata["format"]);
        Assert.Equal(Trainer.Predict(model, test.ToTensor()).ToArray(), Trainer.Predict(loaded, test.ToTensor()).ToArray());
    }

    /// <summary>Every line of README.md's C# blocks is a line of this file (the data path and file name aside).</summary>
    [Fact]
    public void TheReadmeShowsThisCode()
    {
        string root = RepoRoot();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var source = File.ReadAllLines(Path.Combine(root, "tests", "Nabla.Tests", "Cli", "ReadmeExamplesTests.cs"))
            .Concat(File.ReadAllLines(Path.Combine(root, "tests", "Nabla.Tests", "Cli", "ApiTourTests.cs"))) // the API tour
            .Select(l => l.Trim()).ToHashSet();
        var blocks = readme.Split("```csharp").Skip(1).Select(b => b[..b.IndexOf("```", StringComparison.Ordinal)]).ToList();
        Assert.True(blocks.Count >= 5, $"{blocks.Count} C# blocks in README.md");
        foreach (var line in blocks.SelectMany(b => b.Split('\n')).Select(l => l.Trim()))
        {
            if (line.Length == 0 || line.StartsWith("using ", StringComparison.Ordinal) || line.StartsWith("//", StringComparison.Ordinal)) continue;
            string expected = line.Replace("\"data/mnist10k\"", "Digits").Replace("\"mlp.safetensors\"", "file").Replace("\"regressor.safetensors\"", "file");
            Assert.True(source.Contains(expected), $"README line not in ReadmeExamplesTests.cs: {line}");
        }
    }
}
