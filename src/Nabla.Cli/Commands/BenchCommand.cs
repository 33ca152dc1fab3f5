using System.CommandLine;
using System.Globalization;
using Nabla.Cli.Bench;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla bench</c>: end-to-end speed figures — GEMM GFLOP/s per shape and thread count, MLP
/// 784-256-128-10 training samples/s with the bytes a steady-state step allocates, inference latency
/// at batch 1 and throughput at batch 1000, and the peak working set — each the median of several
/// timed repeats after a warm-up. <c>--json FILE</c> writes them for bench/compare/run.sh, which runs
/// the same workloads in PyTorch and NumPy and prints the ratios (docs/BENCHMARKS.md).
/// </summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var threads = new Option<string>("--threads")
        {
            Description = "Thread counts to measure, e.g. 1, 2 or 1,2",
            HelpName = "N[,N…]",
            DefaultValueFactory = _ => "1,2",
        };
        threads.Validators.Add(r =>
        {
            if (!TryParseThreads(r.GetValueOrDefault<string>(), out _))
                r.AddError($"--threads takes thread counts of at least 1 separated by commas (e.g. 1,2), got \"{r.GetValueOrDefault<string>()}\".");
        });
        var data = new Option<string?>("--data")
        {
            Description = $"Folder of MNIST-style IDX files for the MLP (default: {MlpWorkload.FashionMnistDir} when installed, else the shipped digits data/mnist10k)",
            HelpName = "DIR",
        };
        var tune = new Option<bool>("--tune")
        {
            Description = "Time the GEMM paths this CPU supports (about a second), record the fastest for this CPU model in the user's cache folder and exit",
        };
        var quick = new Option<bool>("--quick") { Description = "A short run: fewer warm-up calls, steps and repeats (noisier figures)" };
        var json = new Option<string?>("--json") { Description = "Also write the figures as JSON (read by bench/compare/join.py)", HelpName = "FILE" };
        var mode = new Option<string>("--mode")
        {
            Description = "What to run: all, gemm, mlp (training and inference), train-only (for a clean peak working set), lstm_train, gru_train or ctc",
            DefaultValueFactory = _ => "all",
        };
        mode.AcceptOnlyFromAmong("all", "gemm", "mlp", "train-only", "lstm_train", "gru_train", "ctc", "lenet_train", "resnet_train", "cnn_infer", "conv");
        var optimizer = new Option<string>("--optimizer")
        {
            Description = "Optimiser of the training benchmark (the reference must use the same one)",
            DefaultValueFactory = _ => MlpWorkload.DefaultOptimizer,
        };
        optimizer.AcceptOnlyFromAmong(MlpWorkload.Optimizers);
        // Tiny problems and synthetic data, for the tests: the figures mean nothing.
        var sizes = new Option<string>("--sizes") { Hidden = true, DefaultValueFactory = _ => "standard" };
        sizes.AcceptOnlyFromAmong("standard", "tiny");

        var command = new Command("bench", "Speed figures: GEMM GFLOP/s, MLP training samples/s and allocations, inference latency and throughput, peak memory");
        foreach (var o in new Option[] { threads, data, quick, json, mode, optimizer, sizes, tune }) command.Options.Add(o);
        command.SetAction(p => Common.Guard(io, () =>
        {
            if (p.GetValue(tune)) return Tune(io);
            TryParseThreads(p.GetValue(threads), out var counts);
            string? dir = p.GetValue(data);
            if (dir is not null) dir = DataLoading.Resolve(dir).Folder;
            var settings = new BenchSettings
            {
                Threads = counts,
                DataDir = dir,
                Quick = p.GetValue(quick),
                Tiny = p.GetValue(sizes) == "tiny",
                Mode = p.GetValue(mode) switch
                {
                    "gemm" => BenchMode.Gemm,
                    "mlp" => BenchMode.Mlp,
                    "train-only" => BenchMode.TrainOnly,
                    "lstm_train" => BenchMode.LstmTrain,
                    "gru_train" => BenchMode.GruTrain,
                    "ctc" => BenchMode.Ctc,
                    "lenet_train" => BenchMode.LenetTrain,
                    "resnet_train" => BenchMode.ResnetTrain,
                    "cnn_infer" => BenchMode.CnnInfer,
                    "conv" => BenchMode.Conv,
                    _ => BenchMode.All,
                },
                Optimizer = p.GetValue(optimizer) ?? MlpWorkload.DefaultOptimizer,
            };
            return Run(io, settings, p.GetValue(json));
        }));
        return command;
    }

    /// <summary>Runs the benchmarks, prints the table and writes <paramref name="jsonPath"/> when given.</summary>
    public static int Run(CliContext io, BenchSettings settings, string? jsonPath)
    {
        var report = BenchRunner.Run(settings, io.Out);
        BenchRunner.Render(report, io.Out);
        if (jsonPath is not null)
        {
            BenchRunner.WriteJson(report, jsonPath);
            io.Line($"wrote {Path.GetFullPath(jsonPath)}");
        }
        return ExitCodes.Ok;
    }

    /// <summary><c>nabla bench --tune</c>: times the GEMM paths and records the fastest for this CPU.</summary>
    public static int Tune(CliContext io)
    {
        io.Line($"CPU {Nabla.Kernels.GemmTuning.CpuKey}; caches {Nabla.Kernels.CpuCaches.Current}");
        var result = Nabla.Kernels.GemmTuning.Tune();
        foreach (var f in result.Paths)
            io.Line($"{f.Path,-7} {f.GeoMeanGflops,7:F1} GFLOP/s (geometric mean, 1 thread): "
                + string.Join(", ", f.Shapes.Select(x => $"{x.Shape} {x.Gflops:F1}")));
        io.Line($"fastest: {result.Best}; recorded in {result.File} (used by processes started from now on)");
        foreach (var f in result.ThreadLadder)
            io.Line($"  {f.M}x{f.K}x{f.N,-4} {f.Macs / 1e6,6:F1} M multiply-adds: {f.OneThreadMicros,8:F1} µs on 1 thread, {f.AllThreadsMicros,8:F1} µs on {f.Threads} ({f.Speedup:F2}×)");
        if (result.ThreadLadder.Count > 0)
            io.Line($"products of at least {result.ParallelMacs / 1e6:F1} M multiply-adds run on all threads (each larger ladder size gained ≥ {Nabla.Kernels.GemmTuning.ParallelGain:F1}×); recorded too");
        return ExitCodes.Ok;
    }

    /// <summary>Parses "1", "2" or "1,2" (distinct counts, each at least 1, in the order given).</summary>
    public static bool TryParseThreads(string? text, out int[] counts)
    {
        counts = [];
        if (string.IsNullOrWhiteSpace(text)) return false;
        var list = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1) return false;
            if (!list.Contains(n)) list.Add(n);
        }
        counts = list.ToArray();
        return counts.Length > 0;
    }
}
