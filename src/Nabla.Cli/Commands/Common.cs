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
        if (args[0].Length > 0 && args[0][0] != '-' && !root.Subcommands.Any(c => c.Name == args[0] || c.Aliases.Contains(args[0])))
        {
            string? near = Suggest(args[0], root.Subcommands.Select(c => c.Name));
            io.Error($"unknown command '{args[0]}'{(near is null ? "" : $" (did you mean '{near}'?)")}");
            io.ErrWriter.WriteLine($"Commands: {string.Join(", ", root.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}. Run 'nabla --help' for more.");
            return ExitCodes.Usage;
        }
        // Options are parsed and numbers printed the same way everywhere: under a German locale "--lr 0.05" is 0.05.
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            return InvokeParsed(root, args, io, config);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    /// <summary>The closest of <paramref name="names"/> to <paramref name="word"/> (edit distance at most 2), or null.</summary>
    public static string? Suggest(string word, IEnumerable<string> names)
    {
        string? best = null;
        int bestDistance = 3;
        foreach (var n in names)
        {
            int d = EditDistance(word.ToLowerInvariant(), n.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (n, d);
        }
        return best;
    }

    // Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps ("trian" → "train": 1).
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    private static int InvokeParsed(Command root, string[] args, CliContext io, InvocationConfiguration config)
    {
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
