using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Data;
using Nabla.Kernels;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Serialization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// The options of <c>nabla train</c> beyond image classification: <c>--task regression --data file.csv --target COL</c>,
/// and transfer learning with <c>--init FILE --freeze PREFIX</c>.
/// </summary>
public static class TrainExtras
{
    /// <summary>The options, added to the train command.</summary>
    public sealed record Options(Option<string> Task, Option<string?> Target, Option<string?> Init, Option<string[]> Freeze);

    /// <summary>Adds --task, --target, --init and --freeze to <paramref name="command"/>.</summary>
    public static Options Add(Command command)
    {
        var task = new Option<string>("--task") { Description = "classification (MNIST-style image folders) or regression (a CSV file with --target)", DefaultValueFactory = _ => "classification" };
        task.AcceptOnlyFromAmong("classification", "regression");
        var target = new Option<string?>("--target") { Description = "For --task regression: the CSV column to predict (name or 0-based number); the other columns are the inputs", HelpName = "COL" };
        var init = new Option<string?>("--init") { Description = "Start from the weights of this model file (transfer learning): tensors whose name and shape match are copied, the rest (e.g. a head of another size) keep their initialisation", HelpName = "FILE" };
        var freeze = new Option<string[]>("--freeze") { Description = "Freeze the parameters under this name prefix (e.g. 0 for the first layer; repeat or comma-separate for several)", HelpName = "PREFIX", AllowMultipleArgumentsPerToken = true };
        foreach (var o in new Option[] { task, target, init, freeze }) command.Options.Add(o);
        return new Options(task, target, init, freeze);
    }

    /// <summary>The prefixes of --freeze, split on commas.</summary>
    public static string[] FreezePrefixes(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray();

    /// <summary>Applies --init and --freeze to a freshly built model, printing what was loaded and frozen.</summary>
    public static void ApplyTransfer(CliContext io, Module model, TrainSettings s)
    {
        if (s.Init is string init)
        {
            string full = Path.GetFullPath(init);
            if (!File.Exists(full)) throw new UsageException($"--init {full} does not exist (give a model file written by 'nabla train' or PyTorch's safetensors).");
            TransferReport report;
            try
            {
                report = Transfer.LoadPretrained(model, full);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--init: {e.Message}");
            }
            io.Markup($"[bold]init[/]   {Markup.Escape(full)}: {Markup.Escape(report.ToString())}");
        }
        if (s.Freeze.Length > 0)
        {
            try
            {
                model.Freeze(s.Freeze);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--freeze: {e.Message}");
            }
            var frozen = model.FrozenParameterNames();
            io.Markup($"[bold]freeze[/] {Markup.Escape(string.Join(", ", frozen))} ({model.Parameters().Where(p => !p.RequiresGrad).Sum(p => (long)p.Length):N0} parameters not trained)");
        }
    }

    /// <summary>
    /// <c>nabla train --task regression --data FILE.csv --target COL</c>: an MLP regressor on the other columns, trained on
    /// standardised inputs and targets with the MSE loss; the standardisation is folded into the first and last layers
    /// before saving, so the saved model takes raw CSV values and predicts the target in its own units.
    /// </summary>
    public static int TrainRegression(CliContext io, TrainSettings s, string outPath)
    {
        var clock = Stopwatch.StartNew();
        if (s.Data is null) throw new UsageException("--task regression needs --data FILE.csv (a CSV file with a header line).");
        if (s.Target is null) throw new UsageException("--task regression needs --target COL, the column to predict.");
        string file = Path.GetFullPath(s.Data);
        if (Directory.Exists(file)) throw new UsageException($"--data {file} is a folder; --task regression reads a CSV file.");
        var table = Csv.Read(file);
        var all = table.ToRegression(s.Target);
        if (all.Count < 5) throw new UsageException($"{file} holds {all.Count} rows; at least 5 are needed to split off validation and test rows.");
        var parts = all.Split(DataLoading.SingleSetSplit, s.Seed);
        var (train, validation, test) = (parts[0], parts[1], parts[2]);
        int f = all.SampleSize;
        int t = table.ColumnIndex(s.Target);
        string[] inputs = table.Columns.Where((_, j) => j != t).ToArray();

        // Standardise each input column and the target with the training rows' statistics.
        var (mu, sigma) = ColumnStats(train.Features, f);
        var (tMu, tSigma) = ColumnStats(train.Targets!, 1);
        Dataset Scale(Dataset d)
        {
            var x = (float[])d.Features.Clone();
            for (int i = 0; i < x.Length; i++) x[i] = (x[i] - mu[i % f]) / sigma[i % f];
            var y = d.Targets!.Select(v => (v - tMu[0]) / tSigma[0]).ToArray();
            return Dataset.Regression(x, [f], y);
        }

        var model = TrainCommand.BuildModel(f, s.Layers, s.Activation, 1, new Random(s.Seed), s.Dropout);
        ApplyTransfer(io, model, s);
        var loss = new MseLoss();
        var optimizer = TrainCommand.CreateOptimizer(s, model.Parameters());
        var schedule = TrainCommand.CreateSchedule(s.Schedule, s.Epochs);
        io.Markup($"[bold]data[/]   {Markup.Escape(file)}: {all.Count} rows, target '{Markup.Escape(table.Columns[t])}', {f} input columns");
        io.Markup($"       shuffled with seed {s.Seed} and cut 60/20/20: {train.Count} train, {validation.Count} validation, {test.Count} test");
        io.Markup($"[bold]model[/]  {string.Join("-", new[] { f }.Concat(s.Layers).Append(1))} MLP regressor, {s.Activation}, {model.ParameterCount:N0} parameters, MSE on standardised values");
        io.Markup($"[bold]train[/]  {s.Optimizer} lr {Common.F(s.LearningRate, "G4")} ({s.Schedule}), batch {s.Batch}, {s.Epochs} epochs, seed {s.Seed}, {WorkerPool.Threads} threads");

        var options = new FitOptions
        {
            Epochs = s.Epochs, BatchSize = s.Batch, Seed = s.Seed, Validation = Scale(validation),
            OnEpoch = r => io.Line(FormattableString.Invariant(
                $"epoch {r.Epoch,3}/{s.Epochs}  loss {r.Loss:F4}  val loss {r.ValidationLoss:F4}  {r.Seconds:F1} s")),
        };
        options.Callbacks.Add(new DivergenceCheck(s.LearningRate));
        if (schedule is not null) options.Callbacks.Add(new LearningRateScheduler(schedule, MonitoredMetric.ValidationLoss));
        if (s.EarlyStop is int patience) options.Callbacks.Add(new EarlyStopping(MonitoredMetric.ValidationLoss, patience, restoreBestWeights: true));
        var history = Trainer.Fit(model, Scale(train), loss, optimizer, options);
        if (history.StoppedReason is string why) io.Line($"stopped early: {why}");

        FoldStandardization(model, mu, sigma, tMu[0], tSigma[0]);
        var result = Trainer.Evaluate(model, test, loss).Regression!;
        var baseline = RegressionMetrics.Compute(Enumerable.Repeat(tMu[0], test.Count).ToArray(), test.Targets!);
        io.Line();
        io.Markup($"[bold]test[/]   MSE {Common.F(result.Mse)}  MAE {Common.F(result.Mae)}  R² [bold]{Common.F(result.R2)}[/] " +
                  $"(predicting the training mean: MSE {Common.F(baseline.Mse)}, MAE {Common.F(baseline.Mae)})");

        var meta = new Dictionary<string, string>
        {
            ["nabla.task"] = "regression",
            [ModelInfo.Keys.Data] = file,
            ["nabla.target"] = table.Columns[t],
            ["nabla.input_columns"] = string.Join("|", inputs),
            [ModelInfo.Keys.InputShape] = f.ToString(CultureInfo.InvariantCulture),
            [ModelInfo.Keys.Seed] = s.Seed.ToString(CultureInfo.InvariantCulture),
            ["nabla.test_mse"] = ModelFile.Format(result.Mse),
            ["nabla.test_mae"] = ModelFile.Format(result.Mae),
            ["nabla.test_r2"] = ModelFile.Format(result.R2),
            [ModelInfo.Keys.Training] = new JsonObject
            {
                ["layers"] = new JsonArray(s.Layers.Select(l => (JsonNode)l).ToArray()),
                ["activation"] = s.Activation, ["epochs"] = s.Epochs, ["batch"] = s.Batch, ["optimizer"] = s.Optimizer,
                ["lr"] = s.LearningRate, ["schedule"] = s.Schedule, ["loss"] = loss.Name,
            }.ToJsonString(),
        };
        ModelFile.Save(outPath, model, metadata: meta);
        io.Markup($"[bold]saved[/]  {Markup.Escape(outPath)} (takes the raw input columns {Markup.Escape(string.Join(", ", inputs))}; predicts '{Markup.Escape(table.Columns[t])}' in its units) in {clock.Elapsed.TotalSeconds:F1} s");
        return ExitCodes.Ok;
    }

    /// <summary>Per-column mean and standard deviation (1 where a column is constant) of row-major values with <paramref name="columns"/> columns.</summary>
    private static (float[] Mean, float[] Std) ColumnStats(float[] values, int columns)
    {
        int rows = values.Length / columns;
        var mean = new double[columns];
        var sq = new double[columns];
        for (int i = 0; i < values.Length; i++) mean[i % columns] += values[i];
        for (int j = 0; j < columns; j++) mean[j] /= rows;
        for (int i = 0; i < values.Length; i++) { double d = values[i] - mean[i % columns]; sq[i % columns] += d * d; }
        var std = sq.Select(v => Math.Sqrt(v / rows)).Select(v => v > 1e-12 ? (float)v : 1f).ToArray();
        return (mean.Select(v => (float)v).ToArray(), std);
    }

    /// <summary>
    /// Rewrites the first and last Linear layers so that the model takes raw inputs and gives raw targets:
    /// W(x − μ)/σ + b = (W/σ)x + (b − W μ/σ) in front, and y·s + m behind.
    /// </summary>
    private static void FoldStandardization(Sequential model, float[] mu, float[] sigma, float targetMean, float targetStd)
    {
        var linears = model.Layers.OfType<Linear>().ToList();
        var first = linears[0];
        var last = linears[^1];
        int outF = first.OutFeatures, inF = first.InFeatures;
        var w = first.Weight.Data;
        var b = first.Bias!.Data;
        for (int o = 0; o < outF; o++)
        {
            double shift = 0;
            for (int i = 0; i < inF; i++)
            {
                w[o * inF + i] /= sigma[i];
                shift += w[o * inF + i] * mu[i];
            }
            b[o] -= (float)shift;
        }
        var lw = last.Weight.Data;
        var lb = last.Bias!.Data;
        for (int k = 0; k < lw.Length; k++) lw[k] *= targetStd;
        for (int k = 0; k < lb.Length; k++) lb[k] = lb[k] * targetStd + targetMean;
    }
}
