using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Tests.Cli;

/// <summary>
/// The code of README.md's API tour, line for line; <see cref="ReadmeExamplesTests.TheReadmeShowsThisCode"/> checks that
/// every line of the README's C# blocks is here or in ReadmeExamplesTests.cs.
/// </summary>
public class ApiTourTests
{
    [Fact]
    public void TensorsForAPyTorchUser()
    {
        var x = Tensor.Randn([4, 3], seed: 0);        // torch.randn(4, 3) with its own generator
        var row = x[0];                                // x[0]: shape [3]
        var column = x[.., 1];                         // x[:, 1]
        var corner = x[1..3, ^2..];                    // x[1:3, -2:]
        var positive = Ops.Where(x > 0f, x, 0f);       // torch.where(x > 0, x, 0)
        var (values, indices) = x.MaxWithIndices(1);   // torch.max(x, dim=1)
        var predicted = x.ArgMax(1, keepDim: true);    // x.argmax(1, keepdim=True): shape [4, 1]
        var spread = x.Std(0);                         // x.std(0), unbiased
        var batch = Ops.Stack([x, x]).Unsqueeze(1);    // shape [2, 1, 4, 3]
        Console.WriteLine(x);                          // all 12 values (set Tensor.PrintOptions to change)
        // README end

        Assert.Equal([3], row.Shape.ToArray());
        Assert.Equal(x[2, 1], column[2].Item());
        Assert.Equal([2, 2], corner.Shape.ToArray());
        Assert.All(positive.ToArray(), v => Assert.True(v >= 0));
        Assert.Equal(values.ToArray(), Enumerable.Range(0, 4).Select(i => x[i, indices.ToInt32Array()[i]]).ToArray());
        Assert.Equal([4, 1], predicted.Shape.ToArray());
        Assert.Equal([3], spread.Shape.ToArray());
        Assert.Equal([2, 1, 4, 3], batch.Shape.ToArray());
        Assert.DoesNotContain("...", x.ToString());
    }

    // README: a module holding a ModuleList
    class Net : Module
    {
        readonly ModuleList blocks = new(new Linear(3, 8), new Linear(8, 8));
        readonly Linear head = new(8, 2);
        public override Tensor Forward(Tensor x)
        {
            foreach (var block in blocks) x = Ops.Relu(block.Forward(x));
            return head.Forward(x);
        }
    }

    [Fact]
    public void ModulesFreezingAndParameterGroups()
    {
        var x = Tensor.Randn([4, 3], seed: 0);
        var net = new Net();
        Console.WriteLine(string.Join(", ", net.NamedParameters().Select(p => p.Name))); // blocks.0.weight, …, head.bias
        net.Freeze("blocks.0");                        // for p in net.blocks[0].parameters(): p.requires_grad_(False)
        var groups = new ParameterGroups { { net.Parameters().Take(4), 0.001f }, { net.Parameters().Skip(4) } };
        var optimizer = new Sgd(groups, learningRate: 0.01f, momentum: 0.9f); // the body at a tenth of the head's rate
        var labels = Tensor.FromArray([0f, 1f, 1f, 0f]);
        var loss = new CrossEntropyLoss(Reduction.Sum).Forward(net.Forward(x), labels);
        optimizer.ZeroGrad();
        loss.Backward();                               // a second Backward() would throw: pass retainGraph: true to keep the graph
        optimizer.Step();                              // blocks.0 stays as it was
        // README end

        Assert.Equal(["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "head.weight", "head.bias"],
            net.NamedParameters().Select(p => p.Name));
        Assert.Equal(["blocks.0.weight", "blocks.0.bias"], net.FrozenParameterNames());
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
    }

    [Fact]
    public void RegressionAndTransferForAKerasUser()
    {
        using var dir = new CliTempDir();
        string file = dir.File("regressor.safetensors");

        var inputs = Tensor.Rand([500, 2], seed: 1);
        var targets = (inputs[.., 0] * 3f - inputs[.., 1] * 2f + 1f).Unsqueeze(1);   // y = 3a − 2b + 1, shape [500, 1]
        var (train, test) = Dataset.FromTensors(inputs, targets).Split(0.8, seed: 1);
        var model = new Sequential(new Linear(2, 16), new Tanh(), new Linear(16, 1));
        Trainer.Fit(model, train, new MseLoss(), new Adam(model.Parameters(), 0.01f), new FitOptions { Epochs = 60, BatchSize = 32 });
        var metrics = Trainer.Evaluate(model, test, new MseLoss()).Regression!;   // Mse, Mae and R2
        Console.WriteLine($"R² {metrics.R2:F3}, MAE {metrics.Mae:F3}");
        ModelFile.Save(file, model);

        var twoOutputs = new Sequential(new Linear(2, 16), new Tanh(), new Linear(16, 2));   // a new head
        var report = Transfer.LoadPretrained(twoOutputs, file);   // copies 0.weight, 0.bias; keeps the head (shape differs)
        twoOutputs.Freeze("0");                                   // train only the head
        twoOutputs.Insert(2, new Dropout(0.1f));                  // and edit the stack as a list: Replace, RemoveAt, [i]
        // README end

        Assert.True(metrics.R2 > 0.95, $"R² {metrics.R2}");
        Assert.Equal(["0.weight", "0.bias"], report.Loaded);
        Assert.Equal(model[0].Parameters()[0].ToArray(), twoOutputs[0].Parameters()[0].ToArray());
        Assert.IsType<Dropout>(twoOutputs[2]);
    }
}
