namespace Nabla.Tests.Data;

/// <summary>Paths and temp folders for the data tests.</summary>
internal static class DataTestUtil
{
    /// <summary>The repository root: the first folder above the test binaries holding Nabla.slnx.</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Nabla.slnx"))) return dir.FullName;
            dir = dir.Parent;
        }
        throw new InvalidOperationException($"No folder above {AppContext.BaseDirectory} holds Nabla.slnx.");
    }

    public static string Mnist10kDir => Path.Combine(RepoRoot(), "data", "mnist10k");
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "nabla-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
