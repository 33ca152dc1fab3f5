using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// Where a command writes: <see cref="Out"/> (Spectre.Console, for tables, bars and progress) and
/// <see cref="ErrWriter"/> (one red line per error). Commands never touch <see cref="Console"/> directly,
/// so tests can run them in-process.
/// </summary>
public sealed class CliContext
{
    private readonly bool errorColor;

    private CliContext(IAnsiConsole output, TextWriter outWriter, TextWriter errWriter, bool interactive, bool errorColor)
    {
        Out = output;
        OutWriter = outWriter;
        ErrWriter = errWriter;
        Interactive = interactive;
        this.errorColor = errorColor;
    }

    /// <summary>Rich output (tables, charts, progress bars).</summary>
    public IAnsiConsole Out { get; }

    /// <summary>The writer behind <see cref="Out"/> (System.CommandLine's help goes here).</summary>
    public TextWriter OutWriter { get; }

    /// <summary>Standard error.</summary>
    public TextWriter ErrWriter { get; }

    /// <summary>Whether live progress bars can be drawn (a terminal); otherwise commands print plain lines.</summary>
    public bool Interactive { get; }

    /// <summary>The process's console: live progress on a terminal, plain lines when redirected.</summary>
    public static CliContext ForConsole()
    {
        var output = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        bool noColor = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));
        bool interactive = !Console.IsOutputRedirected && output.Profile.Capabilities.Interactive && output.Profile.Capabilities.Ansi;
        if (Console.IsOutputRedirected) output.Profile.Width = 120; // a file or pipe: no terminal width to respect
        return new CliContext(output, Console.Out, Console.Error, interactive, errorColor: !Console.IsErrorRedirected && !noColor);
    }

    /// <summary>Plain text to the given writers (no colours, no live display): for tests and embedding.</summary>
    public static CliContext ForWriters(TextWriter output, TextWriter error)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 120;
        return new CliContext(console, output, error, interactive: false, errorColor: false);
    }

    /// <summary>Writes one error line ("error: …") to standard error, in red on a terminal.</summary>
    public void Error(string message)
    {
        if (errorColor) ErrWriter.WriteLine($"\u001b[31merror: {message}\u001b[0m");
        else ErrWriter.WriteLine($"error: {message}");
        ErrWriter.Flush();
    }

    /// <summary>Writes a line of plain text (no markup).</summary>
    public void Line(string text = "") => Out.WriteLine(text);

    /// <summary>Writes a line of Spectre markup.</summary>
    public void Markup(string markup) => Out.MarkupLine(markup);
}
