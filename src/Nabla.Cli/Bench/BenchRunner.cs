using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nabla.Kernels;
using Spectre.Console;

namespace Nabla.Cli.Bench;

/// <summary>
/// Runs the workloads of <c>nabla bench</c> and collects one JSON object per figure, in the format
/// that bench/compare/join.py reads: {"machine", "date", …, "results": [{"name": "gemm", …}, …]}.
/// </summary>
public static class BenchRunner
{
    /// <summary>Runs what <paramref name="s"/> asks for, reporting progress on <paramref name="console"/>.</summary>
    public static JsonObject Run(BenchSettings s, IAnsiConsole console)
    {
        var results = new JsonArray();
        string? dataDir = s.DataDir ?? (s.Tiny ? null : MlpWorkload.DefaultDataDir());
        if (!s.Tiny && dataDir is null && s.Mode != BenchMode.Gemm)
            throw new DirectoryNotFoundException("no data folder found: pass --data DIR (MNIST-style IDX files), or install dataset-fashion-mnist.");

        var report = new JsonObject
        {
            ["machine"] = MachineDescription(),
            ["cpu_model"] = CpuModel(),
            ["cores"] = Environment.ProcessorCount,
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["gemm_path"] = Gemm.BestPath.ToString(),
            ["gemm_blocking"] = Gemm.DescribeBlocking(),
            // Resolved here, before anything is timed: without a recorded threshold it is measured now.
            ["gemm_parallel_macs"] = Gemm.ParallelMacs,
            ["gemm_parallel_macs_source"] = Gemm.ParallelMacsSource,
            ["caches"] = CpuCaches.Current.ToString(),
            ["mode"] = ModeName(s.Mode),
            ["quick"] = s.Quick,
            ["sizes"] = s.Tiny ? "tiny" : "standard",
            ["threads"] = new JsonArray(s.Threads.Select(t => (JsonNode)t).ToArray()),
            ["loadavg_start"] = LoadAverage(),
            ["core_to_core_ns_start"] = CoreToCore.Json(),
        };

        if (s.Mode is BenchMode.LenetTrain or BenchMode.ResnetTrain or BenchMode.CnnInfer or BenchMode.Conv)
        {
            ConvWorkload.Run(s, dataDir, report, results, console);
            return Finish(report, results);
        }

        if (s.Mode is BenchMode.LstmTrain or BenchMode.GruTrain or BenchMode.Ctc)
        {
            RunRecurrent(s, dataDir, report, results, console);
            return Finish(report, results);
        }

        if (s.Mode != BenchMode.Gemm)
        {
            var data = MlpWorkload.LoadData(dataDir);
            long afterLoad;
            using (var process = Process.GetCurrentProcess()) afterLoad = process.WorkingSet64;
            report["data"] = dataDir ?? "synthetic";
            report["samples"] = data.Count;
            report["optimizer"] = s.Optimizer;
            report["optimizer_settings"] = MlpWorkload.DescribeOptimizer(s.Optimizer);

            foreach (int t in s.Threads)
            {
                console.MarkupLine($"[grey]mlp_train, {t} thread(s)…[/]");
                var f = MlpWorkload.Train(data, t, s);
                results.Add((JsonNode)new JsonObject
                {
                    ["name"] = "mlp_train",
                    ["threads"] = t,
                    ["batch"] = s.Batch,
                    ["optimizer"] = s.Optimizer,
                    ["samples_per_s"] = Round(f.SamplesPerSecond),
                    ["ms_per_step"] = Round(f.MillisecondsPerStep, 4),
                    ["alloc_bytes_per_step"] = Round(f.AllocatedBytesPerStep),
                    ["gen0_collections"] = f.Gen0Collections,
                    ["gen2_collections"] = f.Gen2Collections,
                    ["alloc_steps"] = f.AllocationSteps,
                    ["loss"] = Round(f.Loss, 4),
                    ["governor"] = GovernorJson(f.Governor),
                });
            }

            if (s.Mode != BenchMode.TrainOnly)
            {
                foreach (int t in s.Threads)
                {
                    console.MarkupLine($"[grey]mlp_infer, {t} thread(s)…[/]");
                    foreach (int batch in new[] { 1, s.InferBatch })
                    {
                        double sec = MlpWorkload.InferSeconds(data, batch, t, s);
                        results.Add((JsonNode)new JsonObject
                        {
                            ["name"] = "mlp_infer",
                            ["threads"] = t,
                            ["batch"] = batch,
                            ["latency_us"] = Round(sec * 1e6, 3),
                            ["samples_per_s"] = Round(batch / sec),
                        });
                    }
                }
            }

            using var self = Process.GetCurrentProcess();
            self.Refresh();
            results.Add((JsonNode)new JsonObject
            {
                ["name"] = "peak_rss",
                ["mode"] = ModeName(s.Mode == BenchMode.TrainOnly ? BenchMode.TrainOnly : BenchMode.Mlp),
                ["bytes"] = self.PeakWorkingSet64,
                ["mib"] = Round(self.PeakWorkingSet64 / 1048576.0, 1),
                ["after_load_mib"] = Round(afterLoad / 1048576.0, 1),
                ["gc_heap_mib"] = Round(GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0, 1),
            });
        }

        if (s.Mode is BenchMode.All or BenchMode.Gemm)
        {
            // The FMA peak first: every GEMM figure is also given as a share of it.
            console.MarkupLine("[grey]FMA peak…[/]");
            var peaks = FmaPeak.MeasureAll(s.Threads, s.Tiny ? 0.005 : s.Quick ? 0.05 : 0.15);
            foreach (var p in peaks)
                results.Add((JsonNode)new JsonObject
                {
                    ["name"] = "fma_peak",
                    ["bits"] = p.Bits,
                    ["threads"] = p.Threads,
                    ["gflops"] = Round(p.Gflops, 1),
                });
            int pathBits = Gemm.BestPath switch { GemmPath.Avx512 => 512, GemmPath.Avx2 => 256, _ => 0 };
            double PeakFor(int threads) => peaks.FirstOrDefault(p => p.Bits == pathBits && p.Threads == threads)?.Gflops ?? 0;
            foreach (var g in s.Tiny ? GemmCase.Tiny : GemmCase.Standard)
            {
                console.MarkupLine($"[grey]gemm {g.Name}…[/]");
                foreach (int t in s.Threads)
                {
                    double sec = GemmWorkload.SecondsPerCall(g, t, s);
                    results.Add((JsonNode)new JsonObject
                    {
                        ["name"] = "gemm",
                        ["shape"] = g.Name,
                        ["m"] = g.M,
                        ["n"] = g.N,
                        ["k"] = g.K,
                        ["trans_a"] = g.TransA,
                        ["trans_b"] = g.TransB,
                        ["threads"] = t,
                        ["gflops"] = Round(g.Flops / sec / 1e9, 2),
                        ["us_per_call"] = Round(sec * 1e6, 3),
                        ["pct_of_peak"] = PeakFor(t) > 0 ? Round(100 * g.Flops / sec / 1e9 / PeakFor(t), 1) : null,
                    });
                }
            }
        }

        return Finish(report, results);
    }

    // What every mode records last: the load and the cores' round trip at the end, then the figures.
    private static JsonObject Finish(JsonObject report, JsonArray results)
    {
        report["loadavg_end"] = LoadAverage();
        report["core_to_core_ns_end"] = CoreToCore.Json();
        report["results"] = results;
        return report;
    }

    private static void RunRecurrent(BenchSettings s, string? dataDir, JsonObject report, JsonArray results, IAnsiConsole console)
    {
        if (s.Mode == BenchMode.Ctc)
        {
            foreach (int t in s.Threads)
            {
                console.MarkupLine($"[grey]ctc, {t} thread(s)…[/]");
                var (sec, cpuMs) = RecurrentWorkload.CtcSeconds(t, s);
                results.Add((JsonNode)new JsonObject
                {
                    ["name"] = "ctc",
                    ["threads"] = t,
                    ["batch"] = RecurrentWorkload.CtcBatch,
                    ["steps"] = RecurrentWorkload.CtcSteps,
                    ["classes"] = RecurrentWorkload.CtcClasses,
                    ["label"] = RecurrentWorkload.CtcLabel,
                    ["latency_us"] = Round(sec * 1e6, 3),
                    ["samples_per_s"] = Round(RecurrentWorkload.CtcBatch / sec),
                    ["cpu_ms_per_call"] = Round(cpuMs, 3),
                });
            }
            return;
        }
        var data = MlpWorkload.LoadData(dataDir);
        report["data"] = dataDir ?? "synthetic";
        report["samples"] = data.Count;
        report["optimizer"] = "adam";
        report["optimizer_settings"] = MlpWorkload.DescribeOptimizer("adam");
        string name = s.Mode == BenchMode.GruTrain ? "gru_train" : "lstm_train";
        foreach (int t in s.Threads)
        {
            console.MarkupLine($"[grey]{name}, {t} thread(s)…[/]");
            var f = RecurrentWorkload.Train(data, s.Mode == BenchMode.GruTrain, t, s);
            results.Add((JsonNode)new JsonObject
            {
                ["name"] = name,
                ["threads"] = t,
                ["batch"] = s.Batch,
                ["optimizer"] = "adam",
                ["samples_per_s"] = Round(f.SamplesPerSecond),
                ["ms_per_step"] = Round(f.MillisecondsPerStep, 4),
                ["cpu_ms_per_step"] = Round(RecurrentWorkload.LastCpuMillisecondsPerStep, 3),
                ["alloc_bytes_per_step"] = Round(f.AllocatedBytesPerStep),
                ["gen0_collections"] = f.Gen0Collections,
                ["gen2_collections"] = f.Gen2Collections,
                ["alloc_steps"] = f.AllocationSteps,
                ["loss"] = Round(f.Loss, 4),
                ["governor"] = GovernorJson(f.Governor),
            });
        }
    }

    // Null (no governor; NABLA_ADAPTIVE_THREADS=1 adds one) or what it did, so that a slow 2-thread figure says whether it ran on one.
    private static JsonObject? GovernorJson(GovernorFigures? g) => g is null ? null : new JsonObject
    {
        ["probes"] = g.Probes,
        ["one_thread_choices"] = g.OneThreadChoices,
        ["steps_on_one_thread"] = g.StepsOnOneThread,
    };

    /// <summary>Prints the figures of <paramref name="report"/> as a table.</summary>
    public static void Render(JsonObject report, IAnsiConsole console)
    {
        console.MarkupLine($"[bold]{Markup.Escape((string?)report["machine"] ?? "")}[/], {Markup.Escape((string?)report["runtime"] ?? "")}, GEMM path {Markup.Escape((string?)report["gemm_path"] ?? "")}, {Markup.Escape((string?)report["date"] ?? "")}");
        if (report["caches"] is JsonNode caches)
            console.MarkupLine($"caches {Markup.Escape((string?)caches ?? "")}; GEMM blocking {Markup.Escape((string?)report["gemm_blocking"] ?? "")}"
                + (report["gemm_parallel_macs"] is JsonNode pm ? $"; products of ≥ {(long)pm / 1e6:F1} M multiply-adds on all threads ({Markup.Escape((string?)report["gemm_parallel_macs_source"] ?? "")})" : ""));
        if (report["core_to_core_ns_start"] is JsonNode c2c)
            console.MarkupLine($"core-to-core round trip {c2c} ns at the start, {report["core_to_core_ns_end"]?.ToString() ?? "?"} ns at the end (well above 100 ns the two cores are far apart, and 2-thread figures drop)");
        if (report["data"] is JsonNode data)
            console.MarkupLine($"data {Markup.Escape((string?)data ?? "")} ({report["samples"]} samples), optimiser {Markup.Escape((string?)report["optimizer_settings"] ?? "")}");
        var table = new Table().AddColumns("figure", "case", "threads", "value", "unit", "notes");
        table.Columns[2].RightAligned();
        table.Columns[3].RightAligned();
        foreach (var r in (report["results"] as JsonArray ?? []).OfType<JsonObject>())
        {
            string name = (string?)r["name"] ?? "";
            string threads = r["threads"]?.ToString() ?? "";
            var (what, value, unit, notes) = name switch
            {
                "gemm" => ((string?)r["shape"] ?? "", Fmt(r["gflops"], "F1"), "GFLOP/s",
                    $"{Fmt(r["us_per_call"], "F1")} µs/call" + (r["pct_of_peak"] is JsonNode pct ? $", {Fmt(pct, "F0")} % of FMA peak" : "")),
                "fma_peak" => ($"{r["bits"]}-bit FMA", Fmt(r["gflops"], "F1"), "GFLOP/s", "managed probe, no memory traffic"),
                "mlp_train" or "lstm_train" or "gru_train" => ($"batch {r["batch"]}, {r["optimizer"]}", Fmt(r["samples_per_s"], "N0"), "samples/s",
                    $"{Fmt(r["alloc_bytes_per_step"], "N0")} B/step, GCs: {r["gen0_collections"]} gen0, {r["gen2_collections"]} gen2 in {r["alloc_steps"]} steps"
                    + (r["governor"] is JsonNode g && (long?)g["steps_on_one_thread"] > 0 ? $"; {g["steps_on_one_thread"]} steps moved to 1 thread" : "")),
                "mlp_infer" when (int?)r["batch"] == 1 => ("batch 1", Fmt(r["latency_us"], "F1"), "µs", $"{Fmt(r["samples_per_s"], "N0")} samples/s"),
                "mlp_infer" => ($"batch {r["batch"]}", Fmt(r["samples_per_s"], "N0"), "samples/s", $"{Fmt(r["latency_us"], "F1")} µs/batch"),
                "ctc" => ($"{r["batch"]}×{r["steps"]} steps, {r["classes"]} classes", Fmt(r["latency_us"], "F1"), "µs", "loss + gradient"),
                "cnn_infer" => ((string?)r["model"] ?? "", Fmt(r["latency_us_batch1"], "F1"), "µs", $"batch 1; {Fmt(r["samples_per_s_batch256"], "N0")} samples/s at batch 256"),
                "lenet_train" or "resnet_train" => ($"batch {r["batch"]}", Fmt(r["samples_per_s"], "N0"), "samples/s", ""),
                "conv" => ($"{r["layer"]}, batch {r["batch"]}", Fmt(r["forward_gflops"], "F1"), "GFLOP/s",
                    $"forward; input gradient {Fmt(r["backward_data_gflops"], "F1")}, weight gradient {Fmt(r["backward_weight_gflops"], "F1")}, GEMM of the same size {Fmt(r["gemm_same_size_gflops"], "F1")}"),
                "peak_rss" => ((string?)r["mode"] ?? "", Fmt(r["mib"], "F1"), "MiB", $"peak working set ({Fmt(r["after_load_mib"], "F0")} MiB after loading the data)"),
                _ => ("", "", "", ""),
            };
            table.AddRow(Markup.Escape(name), Markup.Escape(what), threads, value, Markup.Escape(unit), Markup.Escape(notes));
        }
        console.Write(table);
    }

    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/> as indented JSON.</summary>
    public static void WriteJson(JsonObject report, string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>The CPU model (lscpu's "Model name", read from /proc/cpuinfo) or the architecture.</summary>
    public static string CpuModel() => Nabla.Kernels.GemmTuning.CpuInfoModelName();

    /// <summary>The 1-minute load average (Linux), to judge how noisy a run was; null elsewhere.</summary>
    public static double? LoadAverage()
    {
        try
        {
            if (!File.Exists("/proc/loadavg")) return null;
            string first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>"model, N cores".</summary>
    public static string MachineDescription() => $"{CpuModel()}, {Environment.ProcessorCount} cores";

    /// <summary>The command-line spelling of a mode.</summary>
    public static string ModeName(BenchMode mode) => mode switch
    {
        BenchMode.TrainOnly => "train-only",
        BenchMode.LstmTrain => "lstm_train",
        BenchMode.GruTrain => "gru_train",
        BenchMode.Ctc => "ctc",
        BenchMode.LenetTrain => "lenet_train",
        BenchMode.ResnetTrain => "resnet_train",
        BenchMode.CnnInfer => "cnn_infer",
        _ => mode.ToString().ToLowerInvariant(),
    };

    private static double Round(double v, int digits = 1) => Math.Round(v, digits);

    private static string Fmt(JsonNode? node, string format) =>
        node is null ? "" : node.GetValue<double>().ToString(format, CultureInfo.InvariantCulture);
}
