using System.Globalization;

namespace Nabla.Cli.Commands;

/// <summary>What <c>nabla train</c> checks before it loads data or trains: output paths and model size.</summary>
public static class TrainPreflight
{
    /// <summary>The most parameters a model may have (400 MB of weights; about 1.6 GB with gradients and Adam's state).</summary>
    public const long MaxParameters = 100_000_000;

    /// <summary>
    /// Checks that <paramref name="path"/> can be written: not empty, not a folder, its folder created if missing,
    /// a file can be created there, and an existing file can be opened for writing. Returns the full path.
    /// </summary>
    public static string WritableFile(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException($"{option}: the file name is empty.");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"{option} '{path}': not a usable file name: {e.Message}");
        }
        if (Directory.Exists(full)) throw new UsageException($"{option} {full} is a folder; give a file name such as {Path.Combine(full, "model.safetensors")}.");
        string dir = Path.GetDirectoryName(full)!;
        try
        {
            if (File.Exists(dir)) throw new UsageException($"{option} {full}: {dir} is a file, not a folder.");
            Directory.CreateDirectory(dir);
            // A probe file in the folder: the model is written there (atomically, through a temporary file).
            string probe = Path.Combine(dir, $".nabla-write-check-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            if (File.Exists(full))
                using (new FileStream(full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} {full} cannot be written: {e.Message}");
        }
        return full;
    }

    /// <summary>Rejects models too large to train here, counting what is known (hidden layers first, then inputs and classes).</summary>
    public static void CheckSize(IReadOnlyList<int> hidden, int? inputs, int? classes)
    {
        long total = 0;
        var sizes = new List<long>();
        if (inputs is int i) sizes.Add(i);
        sizes.AddRange(hidden.Select(h => (long)h));
        if (classes is int c) sizes.Add(c);
        for (int k = 0; k + 1 < sizes.Count; k++) total += sizes[k] * sizes[k + 1] + sizes[k + 1];
        if (total > MaxParameters)
            throw new UsageException(
                $"--layers {string.Join(",", hidden)}{(inputs is null ? "" : $" with {inputs} inputs and {classes} classes")} makes " +
                $"{total.ToString("N0", CultureInfo.InvariantCulture)} parameters ({total * 16 / (1 << 20):N0} MiB with gradients and optimiser state); " +
                $"at most {MaxParameters.ToString("N0", CultureInfo.InvariantCulture)} are allowed.");
    }
}
