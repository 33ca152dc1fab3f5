using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using Nabla.Data;
using Nabla.Training;

namespace Nabla.Cli.Commands;

/// <summary>Parsing, invocation and error handling shared by all commands.</summary>
public static class Common
{
    /// <summary>
    /// The root command, named "nabla" whatever the executable is called (a RootCommand takes the name of
    /// the running assembly, Nabla.Cli), with --help and --version.
    /// </summary>
    public static Command Root(string description)
    {
        var root = new Command("nabla", description);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the chosen command; parse errors give exit code 2.</summary>
    public static int Invoke(Command root, string[] args, CliContext io)
    {
        var config = new InvocationConfiguration { Output = io.OutWriter, Error = io.ErrWriter, EnableDefaultExceptionHandler = false };
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke(config);
            return ExitCodes.Usage;
        }
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) io.Error(e.Message);
            var command = parse.CommandResult.Command;
            io.ErrWriter.WriteLine(command == root ? "Run 'nabla --help' for the commands." : $"Run 'nabla {command.Name} --help' for its options.");
            return ExitCodes.Usage;
        }
        return parse.Invoke(config);
    }

    /// <summary>
    /// Runs a command body and turns exceptions into one error line and an exit code: 2 for usage and
    /// input errors, 3 for divergence, 1 for anything unexpected. Set NABLA_DEBUG=1 to see stack traces.
    /// </summary>
    public static int Guard(CliContext io, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            var (code, message) = Describe(e);
            io.Error(message);
            if (Environment.GetEnvironmentVariable("NABLA_DEBUG") is "1" or "true") io.ErrWriter.WriteLine(e.ToString());
            return code;
        }
    }

    private static (int Code, string Message) Describe(Exception e) => e switch
    {
        UsageException => (ExitCodes.Usage, e.Message),
        TrainingDivergedException => (ExitCodes.Diverged, e.Message),
        InvalidDataFileException d => (ExitCodes.Usage, d.Message.Contains(d.Path, StringComparison.Ordinal) ? d.Message : $"{d.Path}: {d.Message}"),
        DirectoryNotFoundException or FileNotFoundException => (ExitCodes.Usage, e.Message),
        UnauthorizedAccessException or IOException => (ExitCodes.Usage, e.Message),
        ShapeMismatchException => (ExitCodes.Usage, e.Message),
        _ => (ExitCodes.Internal, $"unexpected {e.GetType().Name}: {e.Message}"),
    };

    /// <summary>Adds a validator that rejects values below <paramref name="min"/>.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, T min) where T : IComparable<T>
    {
        option.Validators.Add(r =>
        {
            if (TryGetValue(r, out T? v) && v is not null && v.CompareTo(min) < 0) r.AddError($"{option.Name} must be at least {min}, got {v}.");
        });
        return option;
    }

    /// <summary>The value of an option in a validator, or false when it did not parse (that error is already reported).</summary>
    public static bool TryGetValue<T>(OptionResult result, out T? value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default;
            return false;
        }
    }

    /// <summary>Adds a validator that requires a positive, finite value.</summary>
    public static Option<float> Positive(this Option<float> option)
    {
        option.Validators.Add(r =>
        {
            if (!TryGetValue(r, out float v)) return;
            if (!(v > 0) || !float.IsFinite(v)) r.AddError($"{option.Name} must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}.");
        });
        return option;
    }

    /// <summary>Formats a fraction as a percentage, e.g. 0.9531 → "95.31%".</summary>
    public static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    /// <summary>Formats a number with invariant culture.</summary>
    public static string F(double value, string format = "F4") => value.ToString(format, CultureInfo.InvariantCulture);
}
