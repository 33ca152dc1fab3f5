using System.CommandLine;
using System.Diagnostics;
using Nabla.Cli.Demos;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla demo NAME [--out DIR]</c>: runs one of the lecture notes' experiments (or <c>all</c>),
/// prints its figures and writes its plots as PNG files into DIR (default: the current folder).
/// </summary>
public static class DemoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var names = DemoCatalog.All.Select(d => d.Name).Append("all").ToArray();
        var name = new Argument<string>("name") { Description = "Which demo (listed above), or all" };
        name.AcceptOnlyFromAmong(names);
        var output = new Option<string>("--out") { Description = "Folder for the PNG files (created if needed)", DefaultValueFactory = _ => ".", HelpName = "DIR" };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, shuffling and sampling", DefaultValueFactory = _ => 1 };
        var fast = new Option<bool>("--fast") { Description = "A shorter run (fewer epochs and samples), for tests" };
        var longRecipe = new Option<bool>("--long") { Description = "The long recipe of the demos that have one (segment: base 16, 14400 steps of 32 scenes, about an hour on 2 cores, for mean IoU 0.80)" };
        var full = new Option<bool>("--full") { Description = "With all: every demo at full length (otherwise the long-training demos run their short version, a few minutes in all)" };

        int width = DemoCatalog.All.Max(d => d.Name.Length);
        var command = new Command("demo", "Run an experiment of the lecture notes: print its figures and write its plots (PNG).\n\nDemos:\n" +
            string.Join("\n", DemoCatalog.All.Select(d => $"  {d.Name.PadRight(width)}  {d.Description}")) + $"\n  {"all".PadRight(width)}  every demo, one after the other");
        command.Arguments.Add(name);
        foreach (var o in new Option[] { output, seed, fast, full, longRecipe }) command.Options.Add(o);
        command.SetAction(p => Common.Guard(io, () =>
        {
            string which = p.GetValue(name)!;
            bool all = which == "all", fastAll = p.GetValue(fast);
            var run = new DemoRun(io, p.GetValue(output)!, p.GetValue(seed), fastAll) { Long = p.GetValue(longRecipe) };
            var clock = Stopwatch.StartNew();
            var demos = which == "all" ? DemoCatalog.All : [DemoCatalog.Find(which) ?? throw new UsageException($"unknown demo '{which}'.")];
            foreach (var demo in demos)
            {
                run.CurrentDemo = demo.Name;
                // all: the demos that train for minutes run their short version unless --full, so that the set takes minutes.
                if (all) run.Fast = fastAll || (!demo.FullInAll && !p.GetValue(full));
                // all: a demo whose data are missing (e.g. Fashion-MNIST) is skipped, not the whole set.
                try { demo.Run(run); }
                catch (UsageException e) when (all) { io.Line($"  demo {demo.Name} skipped: {e.Message}"); }
            }
            if (all) io.Line($"  wrote {DemoIndex.Write(run, DemoCatalog.All)} (open it in a browser)");
            io.Line();
            io.Line($"{run.Files.Count} PNG file(s) in {run.OutDir} ({DemoRun.F(clock.Elapsed.TotalSeconds, "F1")} s)");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
