namespace Nabla.Data;

/// <summary>The IDX files <see cref="MnistFolder.Find"/> picked in a folder.</summary>
/// <param name="Directory">The folder (full path).</param>
/// <param name="TrainImages">Training images (or the only image file of a single-set folder).</param>
/// <param name="TrainLabels">Training labels (or the only label file of a single-set folder).</param>
/// <param name="TestImages">Test images, or null when the folder has no test set.</param>
/// <param name="TestLabels">Test labels, or null when the folder has no test set.</param>
public sealed record MnistFiles(string Directory, string TrainImages, string TrainLabels, string? TestImages, string? TestLabels);

/// <summary>An MNIST-style data set loaded by <see cref="MnistFolder.Load(string, bool, string?)"/>.</summary>
/// <param name="Train">The training set (or the only set of a single-set folder such as data/mnist10k).</param>
/// <param name="Test">The test set, or null when the folder has none.</param>
/// <param name="Files">The files that were read.</param>
public sealed record MnistData(Dataset Train, Dataset? Test, MnistFiles Files);

/// <summary>
/// Finds and loads an MNIST-style folder: MNIST, Fashion-MNIST (<c>train-images-idx3-ubyte.gz</c>,
/// <c>t10k-labels-idx1-ubyte.gz</c>, …), the <c>train-images.idx3-ubyte</c> spelling, EMNIST
/// (<c>emnist-letters-train-images-idx3-ubyte.gz</c>, pick one with <c>prefix</c>), and single-set folders
/// holding <c>images.idx3-ubyte.gz</c> and <c>labels.idx1-ubyte.gz</c> (like the repository's data/mnist10k).
/// Files may be gzipped or raw (detected by content); when both forms of a name exist the raw one is used.
/// </summary>
public static class MnistFolder
{
    private enum Kind { Images, Labels }
    private enum Part { Train, Test, Single }

    private static readonly float[] ByteToUnit = BuildTable();

    private static float[] BuildTable()
    {
        var t = new float[256];
        for (int i = 0; i < 256; i++) t[i] = i / 255f;
        return t;
    }

    /// <summary>
    /// Loads the training set and, if present, the test set of <paramref name="dir"/>, with pixels scaled to
    /// [0, 1] (byte / 255). Each sample has shape [1, H, W] (channel first), or [H·W] when
    /// <paramref name="flatten"/>. NumClasses is the largest label of either set plus one.
    /// </summary>
    /// <param name="dir">The folder holding the IDX files.</param>
    /// <param name="flatten">Give each sample the shape [H·W] instead of [1, H, W].</param>
    /// <param name="prefix">Only consider files whose name starts with this (e.g. <c>"emnist-letters"</c>); null for all.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataFileException">No usable set of IDX files, or the files are malformed or disagree.</exception>
    public static MnistData Load(string dir, bool flatten = false, string? prefix = null) => Load(dir, null, flatten, prefix);

    /// <summary>
    /// Loads like <see cref="Load(string, bool, string?)"/> with the class count given (from the data set's
    /// documentation or a model's outputs): a label at or above <paramref name="numClasses"/> is an error naming the
    /// file, the sample and the byte offset. When <paramref name="numClasses"/> is null it is the largest label plus
    /// one, confirmed against the data: classes 1 to that largest label must all have samples (class 0 may be
    /// empty, as in EMNIST letters), so one stray label 255 cannot make a 256-class problem.
    /// </summary>
    /// <exception cref="InvalidDataFileException">A label outside the classes, or a stray label.</exception>
    public static MnistData Load(string dir, int? numClasses, bool flatten = false, string? prefix = null)
    {
        var files = Find(dir, prefix);
        var (trainX, trainY) = ReadPair(files.TrainImages, files.TrainLabels);
        (IdxArray X, IdxArray Y)? test = files.TestImages is null ? null : ReadPair(files.TestImages, files.TestLabels!);

        if (test is { } t && (t.X.Dims[1] != trainX.Dims[1] || t.X.Dims[2] != trainX.Dims[2]))
            throw new InvalidDataFileException(files.TestImages!, 8,
                $"{files.TestImages}: test images are {t.X.Dims[1]}x{t.X.Dims[2]} but the training images ({files.TrainImages}) are {trainX.Dims[1]}x{trainX.Dims[2]}.",
                Idx.IsGzip(files.TestImages!));

        if (numClasses is int given)
        {
            if (given < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), $"MnistFolder.Load: numClasses must be at least 1, got {given}.");
            CheckLabels(files.TrainLabels, trainY.GetBytes(), given);
            if (test is { } tl) CheckLabels(files.TestLabels!, tl.Y.GetBytes(), given);
        }
        else
        {
            var labelSets = new List<(string Path, byte[] Labels)> { (files.TrainLabels, trainY.GetBytes()) };
            if (test is { } tl) labelSets.Add((files.TestLabels!, tl.Y.GetBytes()));
            numClasses = ConfirmClassCount(labelSets);
        }
        int classCount = numClasses.Value;

        var train = ToDataset(trainX, trainY, classCount, flatten, files.TestImages is null ? "all" : "train");
        var testSet = test is { } t3 ? ToDataset(t3.X, t3.Y, classCount, flatten, "test") : null;
        return new MnistData(train, testSet, files);
    }

    /// <summary>
    /// Picks the image and label files of <paramref name="dir"/> without reading them (see the class remarks
    /// for the names recognised).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataFileException">No IDX files, an ambiguous choice, or images without labels (or the reverse).</exception>
    public static MnistFiles Find(string dir, string? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string full = Path.GetFullPath(dir);
        if (!System.IO.Directory.Exists(full))
            throw new DirectoryNotFoundException($"MNIST folder not found: {full}" +
                (File.Exists(full) ? " (that is a file; give the folder that holds the IDX files)." : "."));

        var entries = new DirectoryInfo(full).GetFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal).ToArray();
        var slots = new Dictionary<(Part, Kind), List<string>>();
        foreach (var e in entries)
        {
            if (e is not FileInfo) continue;
            if (prefix is not null && !e.Name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) continue;
            if (!Classify(e.Name, out var part, out var kind)) continue;
            if (!slots.TryGetValue((part, kind), out var list)) slots[(part, kind)] = list = new List<string>();
            list.Add(e.FullName);
        }

        if (slots.Count == 0)
        {
            string listing = entries.Length == 0 ? "it is empty" :
                "it holds: " + string.Join(", ", entries.Take(30).Select(e => e is DirectoryInfo ? e.Name + "/" : e.Name)) +
                (entries.Length > 30 ? $", … ({entries.Length} entries)" : "");
            throw new InvalidDataFileException(full, -1,
                $"{full}: no MNIST-style IDX files found{(prefix is null ? "" : $" starting with \"{prefix}\"")} " +
                "(expected names like train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-…, or images.idx3-ubyte[.gz] " +
                $"and labels.idx1-ubyte[.gz]); {listing}.");
        }

        string? Pick(Part p, Kind k)
        {
            if (!slots.TryGetValue((p, k), out var list)) return null;
            if (list.Count == 1) return list[0];
            // The same name raw and gzipped: use the raw one (no decompression needed).
            var raw = list.Where(f => !f.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)).ToList();
            if (raw.Count == 1 && list.All(f => f == raw[0] || string.Equals(f, raw[0] + ".gz", StringComparison.OrdinalIgnoreCase)))
                return raw[0];
            throw new InvalidDataFileException(full, -1,
                $"{full}: ambiguous {(p == Part.Test ? "test" : p == Part.Train ? "training" : "")} {(k == Kind.Images ? "image" : "label")} files: " +
                string.Join(", ", list.Select(Path.GetFileName)) + "; pass a prefix to choose one set (e.g. \"emnist-letters\").");
        }

        string? si = Pick(Part.Single, Kind.Images), sl = Pick(Part.Single, Kind.Labels);
        string? ti = Pick(Part.Train, Kind.Images), tl = Pick(Part.Train, Kind.Labels);
        string? vi = Pick(Part.Test, Kind.Images), vl = Pick(Part.Test, Kind.Labels);

        if ((si ?? sl) is not null && (ti ?? tl ?? vi ?? vl) is not null)
            throw new InvalidDataFileException(full, -1,
                $"{full}: both a single set ({Names(si, sl)}) and train/test files ({Names(ti, tl, vi, vl)}); keep one layout per folder.");

        if ((si ?? sl) is not null)
        {
            RequireBoth(full, "", si, sl);
            return new MnistFiles(full, si!, sl!, null, null);
        }
        RequireBoth(full, "training ", ti, tl);
        RequireBoth(full, "test ", vi, vl, allowNeither: true);
        if (ti is null)
            throw new InvalidDataFileException(full, -1, $"{full}: found test files ({Names(vi, vl)}) but no training images and labels.");
        return new MnistFiles(full, ti, tl!, vi, vl);
    }

    private static string Names(params string?[] paths) =>
        string.Join(", ", paths.Where(p => p is not null).Select(p => Path.GetFileName(p!)));

    private static void RequireBoth(string dir, string what, string? images, string? labels, bool allowNeither = false)
    {
        if (images is null && labels is null)
        {
            if (allowNeither) return;
            throw new InvalidDataFileException(dir, -1, $"{dir}: no {what}image and label files found.");
        }
        if (images is null)
            throw new InvalidDataFileException(dir, -1, $"{dir}: {what}labels {Path.GetFileName(labels)} found but no matching {what}images (…images-idx3-ubyte[.gz]).");
        if (labels is null)
            throw new InvalidDataFileException(dir, -1, $"{dir}: {what}images {Path.GetFileName(images)} found but no matching {what}labels (…labels-idx1-ubyte[.gz]).");
    }

    private static bool Classify(string fileName, out Part part, out Kind kind)
    {
        part = Part.Single;
        kind = Kind.Images;
        string n = fileName.ToLowerInvariant();
        if (n.EndsWith(".gz", StringComparison.Ordinal)) n = n[..^3];
        var tokens = n.Split('-', '.', '_');
        bool idx3 = tokens.Contains("idx3"), idx1 = tokens.Contains("idx1");
        bool images = tokens.Contains("images") || tokens.Contains("image");
        bool labels = tokens.Contains("labels") || tokens.Contains("label");
        if (idx3 && images && !labels) kind = Kind.Images;
        else if (idx1 && labels && !images) kind = Kind.Labels;
        else return false;
        bool train = tokens.Contains("train"), test = tokens.Contains("t10k") || tokens.Contains("test");
        if (train && test) return false;
        part = train ? Part.Train : test ? Part.Test : Part.Single;
        return true;
    }

    private static (IdxArray Images, IdxArray Labels) ReadPair(string imagesPath, string labelsPath)
    {
        var x = Idx.Read(imagesPath);
        if (x.ElementType != IdxType.UInt8 || x.Rank != 3)
            throw new InvalidDataFileException(imagesPath, 2,
                $"{imagesPath}: expected images as UInt8 [count x height x width] (magic 00 00 08 03), found {x}.", Idx.IsGzip(imagesPath));
        var y = Idx.Read(labelsPath);
        if (y.ElementType != IdxType.UInt8 || y.Rank != 1)
            throw new InvalidDataFileException(labelsPath, 2,
                $"{labelsPath}: expected labels as UInt8 [count] (magic 00 00 08 01), found {y}.", Idx.IsGzip(labelsPath));
        if (x.Count != y.Count)
            throw new InvalidDataFileException(labelsPath, 4,
                $"{labelsPath}: holds {y.Count} labels at offset 4 but {imagesPath} holds {x.Count} images; they must match.", Idx.IsGzip(labelsPath));
        return (x, y);
    }

    // Labels are UInt8 [count]: label i sits at byte 8 + i of the (decompressed) file.
    private static void CheckLabels(string path, byte[] labels, int numClasses)
    {
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= numClasses)
                throw new InvalidDataFileException(path, 8 + i,
                    $"{path}: label {labels[i]} of sample {i} (offset {8 + i}{(Idx.IsGzip(path) ? " of the decompressed gzip data" : "")}) is outside the {numClasses} classes 0..{numClasses - 1}.",
                    Idx.IsGzip(path));
    }

    private static int ConfirmClassCount(List<(string Path, byte[] Labels)> sets)
    {
        var counts = new long[256];
        foreach (var (_, labels) in sets) foreach (byte v in labels) counts[v]++;
        int max = 255;
        while (max > 0 && counts[max] == 0) max--;
        var empty = Enumerable.Range(1, Math.Max(0, max - 1)).Where(c => counts[c] == 0).ToList();
        if (empty.Count == 0) return max + 1;
        // Name the sample holding the largest label: most likely the stray one.
        foreach (var (path, labels) in sets)
        {
            int i = Array.IndexOf(labels, (byte)max);
            if (i < 0) continue;
            throw new InvalidDataFileException(path, 8 + i,
                $"{path}: label {max} of sample {i} (offset {8 + i}{(Idx.IsGzip(path) ? " of the decompressed gzip data" : "")}) would make {max + 1} classes, " +
                $"but {empty.Count} of them have no samples ({Describe(empty)}); a stray label? Give the class count (nabla train --classes N).",
                Idx.IsGzip(path));
        }
        return max + 1;
    }

    private static string Describe(List<int> classes)
    {
        var runs = new List<string>();
        for (int i = 0; i < classes.Count;)
        {
            int j = i;
            while (j + 1 < classes.Count && classes[j + 1] == classes[j] + 1) j++;
            runs.Add(i == j ? $"{classes[i]}" : $"{classes[i]}..{classes[j]}");
            i = j + 1;
        }
        return "classes " + string.Join(", ", runs.Take(5)) + (runs.Count > 5 ? ", …" : "");
    }

    private static Dataset ToDataset(IdxArray images, IdxArray labelsIdx, int numClasses, bool flatten, string name)
    {
        // Kept as bytes (a quarter of the memory); each batch is converted when it is gathered.
        byte[] px = images.GetBytes();
        byte[] lb = labelsIdx.GetBytes();
        var labels = new int[lb.Length];
        for (int i = 0; i < lb.Length; i++) labels[i] = lb[i];
        int[] d = images.Dims;
        int[] shape = flatten ? new[] { d[1] * d[2] } : new[] { 1, d[1], d[2] };
        return Dataset.FromBytes(px, ByteToUnit, shape, labels, numClasses, name);
    }
}
