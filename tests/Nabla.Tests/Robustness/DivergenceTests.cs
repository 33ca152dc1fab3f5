using Nabla.Cli.Commands;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Tests.Cli;
using Nabla.Training;

namespace Nabla.Tests.Robustness;

/// <summary>Training that cannot go wrong silently: divergence caught within one step, skipped on request; classes confirmed.</summary>
public class DivergenceTests
{
    private static Sequential Mlp(int seed = 1) =>
        new(new Linear(4, 8, rng: new Random(seed)), new ReLU(), new Linear(8, 3, rng: new Random(seed + 1)));

    /// <summary>√(ReLU(x)): finite forward, infinite gradient where ReLU gives exactly 0.</summary>
    private sealed class SqrtRelu : Module
    {
        public override Tensor Forward(Tensor input) => Ops.Sqrt(Ops.Relu(input));
    }

    [Fact]
    public void A_loss_that_explodes_but_stays_finite_is_caught_within_one_step()
    {
        var data = Synthetic.Blobs(40, 3, 1.0, 2, dims: 4);
        var model = Mlp();
        var e = Assert.Throws<TrainingDivergedException>(() =>
            Trainer.Fit(model, data, new HalfSumSquaredErrorLoss(), new Sgd(model.Parameters(), 50f), new FitOptions { Epochs = 50, BatchSize = 8, Seed = 1 }));
        Assert.NotNull(e.Step);
        Assert.Contains($"step {e.Step}", e.Message);
        Assert.Contains("running level", e.Message);
        // Caught at the first step whose loss left the bound: the weights of that step were never applied,
        // so everything the model holds is still finite.
        Assert.All(model.Parameters(), p => Assert.True(p.ToArray().All(float.IsFinite)));
    }

    [Fact]
    public void A_non_finite_gradient_names_the_step_and_the_layer()
    {
        var model = new Sequential(new Linear(2, 4, rng: new Random(1)), new SqrtRelu(), new Linear(4, 2, rng: new Random(2)));
        // Inputs of zero with a zero first-layer bias make ReLU output exactly 0, where √ has an infinite slope.
        model.Parameters()[1].Data.Clear();
        var data = new Dataset(new float[16], [2], [0, 1, 0, 1, 0, 1, 0, 1], 2);
        var e = Assert.Throws<TrainingDivergedException>(() =>
            Trainer.Fit(model, data, new CrossEntropyLoss(), new Sgd(model.Parameters(), 0.1f), new FitOptions { Epochs = 1, BatchSize = 8 }));
        Assert.Equal(1, e.Step);
        Assert.StartsWith("0.", e.Parameter);
        Assert.Contains("step 1", e.Message);
        Assert.Contains($"'{e.Parameter}'", e.Message);
    }

    [Fact]
    public void Divergent_steps_can_be_skipped_and_are_counted()
    {
        var clean = Synthetic.Blobs(40, 3, 1.0, 2, dims: 4);
        var features = clean.Features.ToArray();
        features[5] = float.NaN; // one poisoned sample: its batch's loss is NaN
        var data = new Dataset(features, [4], clean.Labels.ToArray(), 3);
        var model = Mlp();
        var options = new FitOptions { Epochs = 3, BatchSize = 10, Seed = 1, SkipDivergentSteps = true };
        var history = Trainer.Fit(model, data, new CrossEntropyLoss(), new Sgd(model.Parameters(), 0.1f, momentum: 0.9f), options);
        Assert.Equal(3, history.SkippedSteps); // once per epoch
        Assert.All(model.Parameters(), p => Assert.True(p.ToArray().All(float.IsFinite)));
        Assert.True(history.Last.Loss < history.Epochs[0].Loss);

        // Without the option the same data stops training at that step.
        var again = Mlp();
        Assert.Throws<TrainingDivergedException>(() => Trainer.Fit(again, data, new CrossEntropyLoss(), new Sgd(again.Parameters(), 0.1f), new FitOptions { Epochs = 1, BatchSize = 10, Seed = 1 }));
    }

    [Fact]
    public void Too_many_skipped_steps_in_a_row_still_stop_training()
    {
        var data = new Dataset(Enumerable.Repeat(float.NaN, 4 * 30).ToArray(), [4], new int[30], 3);
        var model = Mlp();
        var e = Assert.Throws<TrainingDivergedException>(() => Trainer.Fit(model, data, new CrossEntropyLoss(), new Sgd(model.Parameters(), 0.1f),
            new FitOptions { Epochs = 1, BatchSize = 1, SkipDivergentSteps = true, MaxSkippedSteps = 5 }));
        Assert.Contains("giving up", e.Message);
    }

    [Fact]
    public void A_stray_label_does_not_make_extra_classes()
    {
        using var t = new CliTempDir();
        var labels = Enumerable.Range(0, 50).Select(i => (byte)(i % 10)).ToArray();
        labels[37] = 255;
        Idx.Write(t.File("images.idx3-ubyte"), new byte[50 * 4 * 4], [50, 4, 4], gzip: false);
        Idx.Write(t.File("labels.idx1-ubyte"), labels, [50], gzip: false);
        var e = Assert.Throws<InvalidDataFileException>(() => MnistFolder.Load(t.Path));
        Assert.Contains("label 255 of sample 37 (offset 45)", e.Message);
        Assert.Contains("classes 10..254", e.Message);
        Assert.Equal(45, e.Offset);
        var given = Assert.Throws<InvalidDataFileException>(() => MnistFolder.Load(t.Path, numClasses: 10));
        Assert.Contains("outside the 10 classes 0..9", given.Message);

        // EMNIST letters: labels 1..26, class 0 empty, is fine.
        var letters = Enumerable.Range(0, 52).Select(i => (byte)(1 + i % 26)).ToArray();
        Idx.Write(t.File("labels.idx1-ubyte"), letters, [52], gzip: false);
        Idx.Write(t.File("images.idx3-ubyte"), new byte[52 * 4 * 4], [52, 4, 4], gzip: false);
        Assert.Equal(27, MnistFolder.Load(t.Path).Train.NumClasses);
    }

    [Fact]
    public void Evaluation_is_sized_by_the_model_when_the_data_holds_only_some_classes()
    {
        var model = new Sequential(new Linear(4, 10, rng: new Random(3)));
        var some = new Dataset(new float[4 * 6].Select((_, i) => (float)Math.Sin(i)).ToArray(), [4], [0, 1, 2, 0, 1, 2], 3);
        var r = Trainer.Evaluate(model, some, new CrossEntropyLoss());
        Assert.Equal(10, r.Confusion.Classes);
        Assert.Equal(6, r.Confusion.Total);
    }

    [Fact]
    public void Cli_a_diverged_run_leaves_a_good_out_file_alone_and_exits_3()
    {
        using var t = new CliTempDir();
        string data = Path.Combine(t.Path, "data");
        FakeMnist.Write(data, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 60, size: 8, classes: 3);
        string model = t.File("m.safetensors");
        var good = NablaCli.Run("train", "--data", data, "--layers", "8", "--epochs", "1", "--out", model);
        Assert.True(good.Code == 0, good.ToString());
        var before = File.ReadAllBytes(model);
        var bad = NablaCli.Run("train", "--data", data, "--layers", "8", "--epochs", "3", "--lr", "1000000", "--out", model);
        Assert.True(bad.Code == ExitCodes.Diverged, bad.ToString());
        Assert.Contains("step", bad.Err);
        Assert.Equal(before, File.ReadAllBytes(model));

        // The model knows 3 classes; test data holding only classes 0 and 1 evaluates with a 3x3 matrix.
        string part = Path.Combine(t.Path, "part");
        FakeMnist.Write(part, "images.idx3-ubyte.gz", "labels.idx1-ubyte.gz", 40, size: 8, classes: 2);
        var ev = NablaCli.Run("evaluate", "--model", model, "--data", part);
        Assert.True(ev.Code == 0, ev.ToString());
    }
}
