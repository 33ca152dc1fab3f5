namespace Nabla.Cli.Commands;

/// <summary>Finds the repository's shipped data set (data/mnist10k).</summary>
public static class ShippedData
{
    /// <summary>The name recorded in model metadata for the shipped digits.</summary>
    public const string Marker = "shipped:mnist10k";

    /// <summary>
    /// The data/mnist10k folder of the repository: found by walking up from the current directory, then
    /// from the tool's own folder, to a folder holding Nabla.slnx and data/mnist10k; else the copy that
    /// ships beside the tool (an installed tool). Null if there is none.
    /// </summary>
    public static string? Find()
    {
        string? beside = Beside();
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string data = Path.Combine(d.FullName, "data", "mnist10k");
                if (File.Exists(Path.Combine(d.FullName, "Nabla.slnx")) && Directory.Exists(data)) return data;
            }
        }
        return beside;
    }

    private static string? Beside()
    {
        string data = Path.Combine(AppContext.BaseDirectory, "data", "mnist10k");
        return File.Exists(Path.Combine(data, "images.idx3-ubyte.gz")) ? data : null;
    }

    /// <summary>Like <see cref="Find"/>, but a clear error when the repository is not found.</summary>
    public static string FindOrThrow() => Find() ?? throw new UsageException(
        "the shipped digits (data/mnist10k) were not found: run nabla inside the Nabla repository " +
        "(a folder holding Nabla.slnx and data/mnist10k) or pass --data DIR with a folder of MNIST-style IDX files.");
}
