using System.CommandLine;
using System.Globalization;
using Nabla.Data;
using Nabla.Models;
using Nabla.Nn;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla train --model lenet5|resnet|mlp</c>: builds the library's zoo models for the loaded
/// data (channels, square image size, classes), and lets evaluate and predict use them.
/// </summary>
public static class ZooModels
{
    /// <summary>The names --model accepts.</summary>
    public static readonly string[] Names = ["mlp", "lenet5", "resnet"];

    /// <summary>Adds --model to <paramref name="command"/>.</summary>
    public static Option<string> AddOption(Command command)
    {
        var model = new Option<string>("--model")
        {
            Description = "Model: mlp (dense layers of --layers), lenet5 (LeNet-5) or resnet (a small ResNet with batch norm: three stages of two basic blocks, 16/32/64 channels)",
            DefaultValueFactory = _ => "mlp",
            HelpName = "NAME",
        };
        model.AcceptOnlyFromAmong(Names);
        command.Options.Add(model);
        return model;
    }

    /// <summary>The zoo model <paramref name="name"/> for images of <paramref name="data"/>.</summary>
    public static Module Build(string name, DataSplits data, Random rng)
    {
        if (data.Height != data.Width)
            throw new UsageException($"--model {name} takes square images; {data.Folder} holds {data.Height}x{data.Width} images (use --model mlp).");
        if (data.Height < 12)
            throw new UsageException($"--model {name} needs images of at least 12x12; {data.Folder} holds {data.Height}x{data.Width}.");
        return name switch
        {
            "lenet5" => new LeNet5(data.Channels, data.Classes, data.Height, rng),
            "resnet" => new ResNet(data.Channels, data.Classes, data.Height, blocks: 2, width: 16, rng: rng),
            _ => throw new UsageException($"unknown --model '{name}'; use one of {string.Join(", ", Names)}."),
        };
    }

    /// <summary>A one-line description for the log, e.g. "LeNet-5 on 1x28x28".</summary>
    public static string Describe(string name, DataSplits data) =>
        (name == "lenet5" ? "LeNet-5" : "ResNet-14 (3 stages x 2 basic blocks, batch norm)") + $" on {data.Channels}x{data.Height}x{data.Width} images";

    /// <summary>Colour augmentation for RGB data: flip, crop with 4 pixels of padding, brightness and contrast ±0.1.</summary>
    public static RgbAugmentation RgbAugmentation(DataSplits data) =>
        new RgbAugmentation(data.Channels, data.Height, data.Width).FlipHorizontal().Crop(data.Height / 8).BrightnessContrast(0.1f, 0.1f);

    /// <summary>
    /// What evaluate and predict need to know of a zoo model loaded from <paramref name="path"/>, or
    /// null when <paramref name="model"/> is not one.
    /// </summary>
    internal static ModelInfo? Info(string path, Module model, Dictionary<string, string> meta)
    {
        var (channels, size, classes) = model switch
        {
            LeNet5 l => (l.InChannels, l.InputSize, l.NumClasses),
            ResNet r => (r.InChannels, r.InputSize, r.NumClasses),
            Mlp m => (1, (int)Math.Sqrt(m.InFeatures), m.NumClasses),
            _ => (0, 0, 0),
        };
        if (classes == 0) return null;
        int inputs = model is Mlp mlp ? mlp.InFeatures : channels * size * size;
        var names = meta.GetValueOrDefault(ModelInfo.Keys.ClassNames)?.Split('|');
        if (names is null || names.Length != classes) names = Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        return new ModelInfo { Model = model, Metadata = meta, Path = path, Inputs = inputs, Outputs = classes, Image = (size, inputs / Math.Max(1, size * channels)), ClassNames = names };
    }
}

public static partial class DataLoading
{
    /// <summary>A CIFAR-10 folder: its test batch for testing and 20 % of the training batches (seeded) for validation; samples flattened to [3072].</summary>
    private static DataSplits LoadCifar10(string folder, bool shipped, int seed, int? limit)
    {
        var data = Cifar10.Load(folder, flatten: true);
        var all = Limit(data.Train, limit, seed);
        if (all.Count < 2) throw new UsageException($"{folder}: the training batches hold {all.Count} samples; at least 2 are needed to split off a validation set.");
        var (train, validation) = all.Split(1 - ValidationFraction, seed);
        var test = data.Test is null ? validation : Limit(data.Test, limit, seed);
        return new DataSplits(train, validation, test, folder, shipped, 32, 32,
            $"CIFAR-10 training batches split 80/20 with seed {seed}: {train.Count} train, {validation.Count} validation; " +
            (data.Test is null ? "no test_batch.bin: the validation part doubles as test" : $"test batch: {test.Count} test"), Channels: 3);
    }

    // CIFAR-10's names from batches.meta.txt (or its defaults), when they match the class count.
    private static string[] Cifar10ClassNames(string folder, int classes)
    {
        var names = Cifar10.ClassNames(folder);
        return names.Length == classes ? names : Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }
}
