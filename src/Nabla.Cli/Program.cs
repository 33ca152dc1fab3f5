using Nabla.Cli.Commands;

namespace Nabla.Cli;

/// <summary>The <c>nabla</c> command-line tool: one static class per command in <c>Commands/</c>.</summary>
public static class Program
{
    /// <summary>Process entry point.</summary>
    public static int Main(string[] args) => Run(args);

    /// <summary>Runs the tool on the real console and returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args) => Run(args, CliContext.ForConsole());

    /// <summary>Runs the tool in-process, writing plain text (no colours, no live progress) to the given writers.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, CliContext.ForWriters(output, error));

    /// <summary>Runs the tool with the given console context.</summary>
    public static int Run(string[] args, CliContext io)
    {
        var root = Common.Root("nabla: train, evaluate and use neural networks (Nabla, a deep-learning library in C#).");
        root.Subcommands.Add(TrainCommand.Create(io));
        root.Subcommands.Add(EvaluateCommand.Create(io));
        root.Subcommands.Add(PredictCommand.Create(io));
        root.Subcommands.Add(DemoCommand.Create(io));
        root.Subcommands.Add(BenchCommand.Create(io));
        root.Subcommands.Add(ExportCommand.Create(io));
        root.Subcommands.Add(AllReduceCommand.Create(io));
        return Common.Invoke(root, args, io);
    }
}
