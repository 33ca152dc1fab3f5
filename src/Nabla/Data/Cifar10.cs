using System.Globalization;

namespace Nabla.Data;

/// <summary>The CIFAR-10 sets read from a folder: training (data_batch_1..5), test (test_batch) and class names.</summary>
/// <param name="Train">The training records, in file order (the batches that exist, in number order).</param>
/// <param name="Test">The test records, or null when test_batch.bin is absent.</param>
/// <param name="ClassNames">From batches.meta.txt, or CIFAR-10's names when it is absent.</param>
public sealed record Cifar10Data(Dataset Train, Dataset? Test, string[] ClassNames);

/// <summary>
/// Reads the binary version of CIFAR-10 (Krizhevsky 2009): files of records of one label byte and
/// 3072 pixel bytes — 1024 red, then 1024 green, then 1024 blue values of a 32×32 image, row by
/// row — so each record is already a channel-major [3, 32, 32] image. Pixels are scaled to [0, 1].
/// </summary>
public static class Cifar10
{
    /// <summary>Bytes per record: one label and 3·32·32 pixels.</summary>
    public const int RecordSize = 1 + 3 * 32 * 32;

    /// <summary>CIFAR-10's class names, used when the folder has no batches.meta.txt.</summary>
    public static readonly IReadOnlyList<string> DefaultClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Whether <paramref name="dir"/> looks like a CIFAR-10 binary folder (it holds data_batch_1.bin or test_batch.bin).</summary>
    public static bool IsFolder(string dir) =>
        Directory.Exists(dir) && (File.Exists(Path.Combine(dir, "data_batch_1.bin")) || File.Exists(Path.Combine(dir, "test_batch.bin")));

    /// <summary>
    /// Loads a folder. Samples have the shape [3, 32, 32] (or [3072] when <paramref name="flatten"/>).
    /// Every file's size is checked to be a whole number of records before anything is allocated,
    /// and every label to be below the number of classes; errors name the file and byte offset.
    /// </summary>
    public static Cifar10Data Load(string dir, bool flatten = false)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"CIFAR-10 folder {dir} does not exist.");
        var trainFiles = new List<string>();
        for (int i = 1; i <= 5; i++)
        {
            string f = Path.Combine(dir, $"data_batch_{i}.bin");
            if (File.Exists(f)) trainFiles.Add(f);
        }
        string testFile = Path.Combine(dir, "test_batch.bin");
        bool hasTest = File.Exists(testFile);
        if (trainFiles.Count == 0)
            throw new InvalidDataFileException(dir, -1, $"{dir}: no CIFAR-10 training batches (data_batch_1.bin … data_batch_5.bin).");
        var names = ClassNames(dir);
        int[] shape = flatten ? [RecordSize - 1] : [3, 32, 32];
        var train = ReadRecords(trainFiles, names.Length, shape, "cifar10-train");
        var test = hasTest ? ReadRecords([testFile], names.Length, shape, "cifar10-test") : null;
        return new Cifar10Data(train, test, names);
    }

    /// <summary>Reads the records of <paramref name="files"/> (concatenated) into one dataset.</summary>
    public static Dataset ReadRecords(IReadOnlyList<string> files, int classes, int[] sampleShape, string? name = null)
    {
        long total = 0;
        foreach (var f in files)
        {
            SafeFile.Check(f, "CIFAR-10 batch file"); // regular files only (a FIFO would block, a device never end)
            long len = new FileInfo(f).Length;
            if (len == 0 || len % RecordSize != 0)
                throw new InvalidDataFileException(f, len - len % RecordSize,
                    $"{f}: {len} bytes is not a whole number of CIFAR-10 records of {RecordSize} bytes (1 label + 3072 pixels); the record at byte {len - len % RecordSize} is truncated or the file is not CIFAR-10.");
            total += len / RecordSize;
        }
        if (total * (RecordSize - 1) > Array.MaxLength)
            throw new InvalidDataFileException(files[0], -1, $"{string.Join(", ", files)}: {total} records are too many to hold in memory.");
        int n = (int)total;
        var features = new float[(long)n * (RecordSize - 1)];
        var labels = new int[n];
        var record = new byte[RecordSize];
        int index = 0;
        foreach (var f in files)
        {
            using var stream = SafeFile.OpenRead(f, "CIFAR-10 batch file");
            long offset = 0;
            while (true)
            {
                int read = stream.ReadAtLeast(record, RecordSize, throwOnEndOfStream: false);
                if (read == 0) break;
                if (read < RecordSize) throw new InvalidDataFileException(f, offset, $"{f}: truncated record at byte {offset}.");
                if (record[0] >= classes)
                    throw new InvalidDataFileException(f, offset, $"{f}: label {record[0]} at byte {offset} is not below the {classes} classes.");
                labels[index] = record[0];
                var dst = features.AsSpan(index * (RecordSize - 1), RecordSize - 1);
                for (int i = 0; i < dst.Length; i++) dst[i] = record[i + 1] / 255f;
                index++;
                offset += RecordSize;
            }
        }
        return new Dataset(features, sampleShape, labels, classes, name);
    }

    /// <summary>The class names of a CIFAR-10 folder: batches.meta.txt, one per line (blank lines ignored), or <see cref="DefaultClassNames"/>.</summary>
    public static string[] ClassNames(string dir)
    {
        string meta = Path.Combine(dir, "batches.meta.txt");
        if (!File.Exists(meta)) return DefaultClassNames.ToArray();
        if (new FileInfo(meta).Length > 1 << 20) throw new InvalidDataFileException(meta, -1, $"{meta}: over 1 MiB; not a CIFAR-10 class list.");
        var names = File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        if (names.Length is < 2 or > 256)
            throw new InvalidDataFileException(meta, -1, $"{meta}: {names.Length.ToString(CultureInfo.InvariantCulture)} class names; expected 2 to 256 (one per line).");
        return names;
    }
}
