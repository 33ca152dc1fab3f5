using System.Globalization;
using Nabla.Data;

namespace Nabla.Cli.Commands;

/// <summary>The data a model is trained and tested on.</summary>
/// <param name="Train">Training samples, flattened to [H·W].</param>
/// <param name="Validation">Validation samples.</param>
/// <param name="Test">Test samples.</param>
/// <param name="Folder">Full path of the data folder.</param>
/// <param name="Shipped">Whether this is the repository's data/mnist10k.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Split">How the parts were made, for the log and the metadata.</param>
public sealed record DataSplits(Dataset Train, Dataset Validation, Dataset Test, string Folder, bool Shipped, int Height, int Width, string Split)
{
    /// <summary>A short name: "mnist10k (shipped digits)" or the folder.</summary>
    public string Name => Shipped ? "mnist10k (shipped digits)" : Folder;

    /// <summary>What metadata records as the source: <see cref="ShippedData.Marker"/> or the full folder path.</summary>
    public string Source => Shipped ? ShippedData.Marker : Folder;

    /// <summary>Number of classes.</summary>
    public int Classes => Train.NumClasses;

    /// <summary>Class names: Fashion-MNIST's when the folder looks like it, else the label numbers.</summary>
    public string[] ClassNames => DataLoading.ClassNames(Folder, Classes);
}

/// <summary>Loads MNIST-style folders and splits them reproducibly.</summary>
public static class DataLoading
{
    /// <summary>Fraction of a single-set folder used for training, validation and test.</summary>
    public static readonly double[] SingleSetSplit = [0.6, 0.2, 0.2];

    /// <summary>Fraction of the training file held out for validation when the folder has its own test set.</summary>
    public const double ValidationFraction = 0.2;

    /// <summary>How images are scaled; recorded in model files and applied to images given to predict.</summary>
    public const string Normalization = "pixel/255 (0 = background, 1 = ink)";

    private static readonly string[] FashionNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Resolves <paramref name="dataOption"/> (null: the shipped digits; <see cref="ShippedData.Marker"/> is accepted too)
    /// to a full folder path, failing with a message that names the folder when it does not exist.
    /// </summary>
    public static (string Folder, bool Shipped) Resolve(string? dataOption)
    {
        if (dataOption is null || dataOption == ShippedData.Marker) return (ShippedData.FindOrThrow(), true);
        if (string.IsNullOrWhiteSpace(dataOption)) throw new UsageException("--data: the path is empty; give a folder of MNIST-style IDX files.");
        string full = Path.GetFullPath(dataOption);
        if (!Directory.Exists(full))
            throw new UsageException(File.Exists(full)
                ? $"data folder {full} is a file; --data takes the folder that holds the IDX files."
                : $"data folder {full} does not exist (--data takes a folder of MNIST-style IDX files, e.g. /usr/share/datasets/fashion-mnist).");
        string? shipped = ShippedData.Find();
        bool isShipped = shipped is not null && string.Equals(Path.TrimEndingDirectorySeparator(full), Path.TrimEndingDirectorySeparator(shipped), StringComparison.Ordinal);
        return (full, isShipped);
    }

    /// <summary>
    /// Loads a folder and makes the train/validation/test parts. A single-set folder (like the shipped
    /// digits) is shuffled with <paramref name="seed"/> and cut 60/20/20; a folder with its own test set keeps
    /// it as the test part and holds out 20 % of the training file (seeded) for validation.
    /// <paramref name="limit"/> first keeps a seeded random subset of at most that many samples of each file.
    /// </summary>
    public static DataSplits Load(string? dataOption, int seed, int? limit)
    {
        var (folder, shipped) = Resolve(dataOption);
        var data = MnistFolder.Load(folder);
        int[] shape = data.Train.SampleShape; // [1, H, W]
        int h = shape[^2], w = shape[^1];
        var all = Limit(data.Train.Reshape(h * w), limit, seed);
        if (data.Test is null)
        {
            if (all.Count < 3) throw new UsageException($"{folder} holds {all.Count} samples; at least 3 are needed to split off validation and test sets.");
            var parts = all.Split(SingleSetSplit, seed);
            return new DataSplits(parts[0], parts[1], parts[2], folder, shipped, h, w,
                $"one set of {all.Count} shuffled with seed {seed} and cut 60/20/20: {parts[0].Count} train, {parts[1].Count} validation, {parts[2].Count} test");
        }
        if (all.Count < 2) throw new UsageException($"{folder}: the training file holds {all.Count} samples; at least 2 are needed to split off a validation set.");
        var (train, validation) = all.Split(1 - ValidationFraction, seed);
        var test = Limit(data.Test.Reshape(h * w), limit, seed);
        return new DataSplits(train, validation, test, folder, shipped, h, w,
            $"training file split 80/20 with seed {seed}: {train.Count} train, {validation.Count} validation; test file: {test.Count} test");
    }

    /// <summary>A seeded random subset of at most <paramref name="limit"/> samples (all of them when null).</summary>
    public static Dataset Limit(Dataset data, int? limit, int seed)
    {
        if (limit is not int n || n >= data.Count) return data;
        int[] order = Dataset.SplitIndices(data.Count, [1.0], seed)[0];
        return data.Subset(order[..n]);
    }

    /// <summary>Fashion-MNIST's class names for a folder whose path says "fashion", else "0", "1", ….</summary>
    public static string[] ClassNames(string folder, int classes)
    {
        if (classes == FashionNames.Length && folder.Contains("fashion", StringComparison.OrdinalIgnoreCase)) return (string[])FashionNames.Clone();
        return Enumerable.Range(0, classes).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
    }
}
