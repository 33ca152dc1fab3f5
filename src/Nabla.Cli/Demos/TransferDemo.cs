using Nabla.Cli.Commands;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Cli.Demos;

/// <summary>The figures of one transfer-learning run.</summary>
/// <param name="PretrainAccuracy">Test accuracy of the pre-trained network on Fashion-MNIST.</param>
/// <param name="FineTunedAccuracy">Test accuracy on the digits after fine-tuning from the pre-trained body.</param>
/// <param name="ScratchAccuracy">Test accuracy on the digits of the same network trained from scratch on the same labels.</param>
/// <param name="LabelledDigits">How many labelled digits both were trained on.</param>
/// <param name="TestDigits">How many digits they were tested on.</param>
public sealed record TransferResult(double PretrainAccuracy, double FineTunedAccuracy, double ScratchAccuracy, int LabelledDigits, int TestDigits);

/// <summary>
/// The notes' pre-training and transfer: an MLP is pre-trained on Fashion-MNIST (clothes), its 10-way head is replaced,
/// and it is fine-tuned on the shipped handwritten digits using only 10 % of their training labels; the same network
/// trained from scratch on those labels is the baseline. The body's features (strokes, edges, blobs) carry over.
/// </summary>
public static class TransferDemo
{
    /// <summary>The folder Fashion-MNIST is looked for in (Debian's dataset-fashion-mnist package).</summary>
    public const string FashionFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Runs the demo and prints both accuracies.</summary>
    public static void Run(DemoRun run)
    {
        string fashion = Environment.GetEnvironmentVariable("NABLA_FASHION_MNIST") ?? FashionFolder;
        if (!Directory.Exists(fashion))
            throw new UsageException($"Fashion-MNIST was not found in {fashion}: install it with 'apt-get install -y dataset-fashion-mnist' (or set NABLA_FASHION_MNIST to a folder of its IDX files).");
        run.Heading("Transfer learning: pre-train on Fashion-MNIST, fine-tune on 10 % of the digits' labels");
        var result = Experiment(fashion, ShippedData.FindOrThrow(), run.Seed, run.Fast, run.Line);
        run.Line();
        run.Line($"  fine-tuned from Fashion-MNIST: {Common.Percent(result.FineTunedAccuracy)} on {result.TestDigits} test digits");
        run.Line($"  trained from scratch:          {Common.Percent(result.ScratchAccuracy)} (same network, same {result.LabelledDigits} labelled digits, same steps)");
        run.Line($"  transfer gains {DemoRun.F((result.FineTunedAccuracy - result.ScratchAccuracy) * 100, "F1")} points");
    }

    /// <summary>
    /// The experiment: pre-train a 784-256-128-10 MLP on a seeded subset of Fashion-MNIST, then train two copies on 10 % of
    /// the digits' training labels — one starting from the pre-trained body with a new head, one from scratch, with the same
    /// optimiser, epochs and shuffles — and test both on the held-out digits.
    /// </summary>
    public static TransferResult Experiment(string fashionFolder, string digitsFolder, int seed, bool fast, Action<string>? log = null)
    {
        log ??= _ => { };
        int pretrainSamples = fast ? 10000 : 20000, pretrainEpochs = fast ? 3 : 4, fineTuneEpochs = 10;

        var fashion = MnistFolder.Load(fashionFolder, flatten: true);
        var fashionTrain = DataLoading.Limit(fashion.Train, pretrainSamples, seed);
        var fashionTest = DataLoading.Limit(fashion.Test ?? fashion.Train, 2000, seed + 1);
        var digits = MnistFolder.Load(digitsFolder, flatten: true).Train.Split(DataLoading.SingleSetSplit, seed);
        var labelled = DataLoading.Limit(digits[0], digits[0].Count / 10, seed); // 10 % of the training labels
        var digitsTest = digits[2];

        var loss = new CrossEntropyLoss();
        var pre = Mlp(new Random(seed));
        var preOpt = new Sgd(pre.Parameters(), learningRate: 0.05f, momentum: 0.9f);
        Trainer.Fit(pre, fashionTrain, loss, preOpt, new FitOptions { Epochs = pretrainEpochs, BatchSize = 64, Seed = seed });
        double preAcc = Trainer.Evaluate(pre, fashionTest, loss).Accuracy;
        log($"  pre-trained on {fashionTrain.Count} Fashion-MNIST images ({pretrainEpochs} epochs): {Common.Percent(preAcc)} on {fashionTest.Count} of its test images");

        // Transfer: the body's weights, a fresh head (the classes mean something else now).
        var tuned = Mlp(new Random(seed + 100));
        var report = Transfer.CopyMatching(tuned, pre.StateDict(), exclude: "4");
        log($"  transferred {report.Loaded.Count} tensors of the body; new head: {string.Join(", ", report.Skipped.Select(s => s.Name))}");
        // The whole network is fine-tuned (the notes' pre-training: pre-trained start weights instead of random ones);
        // freezing the body instead (tuned.Freeze("0", "2"), the notes' transfer learning) trains only the head.
        var tunedOpt = new Sgd(tuned.Parameters(), learningRate: 0.05f, momentum: 0.9f);
        var fit = new FitOptions { Epochs = fineTuneEpochs, BatchSize = 32, Seed = seed };
        Trainer.Fit(tuned, labelled, loss, tunedOpt, fit);
        double tunedAcc = Trainer.Evaluate(tuned, digitsTest, loss).Accuracy;

        var scratch = Mlp(new Random(seed + 100));
        var scratchOpt = new Sgd(scratch.Parameters(), learningRate: 0.05f, momentum: 0.9f);
        Trainer.Fit(scratch, labelled, loss, scratchOpt, new FitOptions { Epochs = fineTuneEpochs, BatchSize = 32, Seed = seed });
        double scratchAcc = Trainer.Evaluate(scratch, digitsTest, loss).Accuracy;
        log($"  fine-tuned and scratch networks: {fineTuneEpochs} epochs on {labelled.Count} labelled digits");
        return new TransferResult(preAcc, tunedAcc, scratchAcc, labelled.Count, digitsTest.Count);
    }

    private static Sequential Mlp(Random rng) =>
        new(new Linear(784, 256, rng: rng), new ReLU(), new Linear(256, 128, rng: rng), new ReLU(), new Linear(128, 10, rng: rng));
}
