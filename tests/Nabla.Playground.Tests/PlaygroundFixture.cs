using System.Diagnostics;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Nabla.Playground.Tests;

/// <summary>Where Debian's Chromium and its WebDriver are, and whether the browser tests can run.</summary>
public static class Chromium
{
    /// <summary>The browser binary (CHROME_BIN overrides).</summary>
    public static string? Browser { get; } = Find(Environment.GetEnvironmentVariable("CHROME_BIN"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");

    /// <summary>The driver binary (CHROMEDRIVER overrides).</summary>
    public static string? Driver { get; } = Find(Environment.GetEnvironmentVariable("CHROMEDRIVER"), "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");

    /// <summary>Why the tests are skipped, or null when they can run.</summary>
    public static string? SkipReason =>
        Browser is null || Driver is null
            ? "Chromium or chromedriver is not installed (apt-get install chromium chromium-driver): the playground's browser tests are skipped."
            : null;

    private static string? Find(params string?[] candidates) => candidates.FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
}

/// <summary>A test that runs in headless Chromium; skipped with a visible reason when Chromium is missing.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when Chromium is not installed.</summary>
    public BrowserFactAttribute()
    {
        if (Chromium.SkipReason is string why) Skip = why;
    }
}

/// <summary>
/// Publishes the playground once (Release, to a temporary folder; NABLA_PLAYGROUND_WWWROOT may name an already
/// published wwwroot instead), serves it on localhost and starts one headless Chromium for all the tests.
/// </summary>
public sealed class PlaygroundFixture : IDisposable
{
    private readonly string? tempDir;

    /// <summary>The published wwwroot folder.</summary>
    public string WwwRoot { get; } = "";

    /// <summary>The server.</summary>
    public StaticServer? Server { get; }

    /// <summary>The browser.</summary>
    public ChromeDriver? Driver { get; }

    /// <summary>Where screenshots and measurements go.</summary>
    public string ArtifactDir { get; }

    /// <summary>Publishes, serves and starts the browser (nothing when Chromium is missing).</summary>
    public PlaygroundFixture()
    {
        ArtifactDir = Environment.GetEnvironmentVariable("NABLA_ARTIFACTS") is { Length: > 0 } a
            ? Path.Combine(a, "playground")
            : Path.Combine(AppContext.BaseDirectory, "playground-artifacts");
        Directory.CreateDirectory(ArtifactDir);
        if (Chromium.SkipReason is not null) return;

        if (Environment.GetEnvironmentVariable("NABLA_PLAYGROUND_WWWROOT") is { Length: > 0 } given)
            WwwRoot = given;
        else
        {
            tempDir = Directory.CreateTempSubdirectory("nabla-playground-").FullName;
            Publish(Path.Combine(tempDir, "publish"));
            WwwRoot = Path.Combine(tempDir, "publish", "wwwroot");
        }
        Server = new StaticServer(WwwRoot);

        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Chromium.Driver)!, Path.GetFileName(Chromium.Driver)!);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = Chromium.Browser };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            "--window-size=1400,1000", $"--user-data-dir={Directory.CreateTempSubdirectory("nabla-chromium-").FullName}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
    }

    private static void Publish(string output)
    {
        string root = RepoRoot();
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "publish", Path.Combine(root, "src", "Nabla.Playground"), "-c", "Release", "-o", output, "-nologo" })
            psi.ArgumentList.Add(arg);
        // The test run's own MSBuild settings must not leak into the nested build.
        foreach (var v in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "VSTEST_HOST_DEBUG" }) psi.Environment.Remove(v);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(true); throw new TimeoutException("dotnet publish of the playground took over 10 minutes."); }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish of src/Nabla.Playground failed ({p.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
    }

    /// <summary>The repository root (the folder with Nabla.slnx).</summary>
    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Nabla.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException($"no Nabla.slnx above {AppContext.BaseDirectory}.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Driver?.Quit(); } catch (WebDriverException) { }
        Server?.Dispose();
        if (tempDir is not null) try { Directory.Delete(tempDir, true); } catch (IOException) { }
    }
}
