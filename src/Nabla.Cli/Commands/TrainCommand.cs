using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Nabla.Kernels;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;
using Spectre.Console;

namespace Nabla.Cli.Commands;

/// <summary>
/// <c>nabla train</c>: trains an MLP classifier on an MNIST-style folder (by default the shipped digits),
/// reports per-epoch loss and accuracy, the test accuracy and confusion matrix, and saves the model.
/// </summary>
public static class TrainCommand
{
    /// <summary>The activations --activation accepts.</summary>
    public static readonly string[] Activations = ["relu", "tanh", "sigmoid", "leaky-relu"];

    /// <summary>The learning-rate schedules --schedule accepts.</summary>
    public static readonly string[] Schedules = ["cosine", "constant", "step", "exponential", "plateau"];

    /// <summary>Default hidden layers.</summary>
    public const string DefaultLayers = "256,128";

    /// <summary>Default model file.</summary>
    public const string DefaultOut = "nabla-model.safetensors";

    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext io)
    {
        var data = new Option<string?>("--data") { Description = "Folder of MNIST-style IDX files (default: the shipped digits, data/mnist10k)", HelpName = "DIR" };
        var layers = new Option<string>("--layers") { Description = "Hidden layer sizes, comma-separated (e.g. 256,128; 'none' for a linear model)", DefaultValueFactory = _ => DefaultLayers, HelpName = "SIZES" };
        var activation = new Option<string>("--activation") { Description = "Hidden-layer activation", DefaultValueFactory = _ => "relu" };
        activation.AcceptOnlyFromAmong(Activations);
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training data", HelpName = "N", DefaultValueFactory = _ => 10 }.AtLeast(1);
        var batch = new Option<int>("--batch") { Description = "Mini-batch size", HelpName = "N", DefaultValueFactory = _ => 64 }.AtLeast(1);
        var optimizerName = new Option<string>("--optimizer") { Description = "Optimiser, as Optimizers.Create: sgd (plain; momentum only with --momentum), momentum (SGD with momentum 0.9), nesterov, adagrad, rmsprop, adam, adamw, accelerated (the notes' Nesterov method)", HelpName = "NAME", DefaultValueFactory = _ => "momentum" };
        optimizerName.AcceptOnlyFromAmong([.. Optimizers.Names]);
        var lr = new Option<float>("--lr") { Description = "Learning rate (default: 0.05 for sgd, momentum and nesterov, else the optimiser's usual one)", HelpName = "RATE", DefaultValueFactory = _ => 0.05f }.Positive();
        var momentum = new Option<float>("--momentum") { Description = "Momentum of momentum and nesterov (default 0.9); of sgd and rmsprop only when given", HelpName = "M", DefaultValueFactory = _ => 0.9f };
        momentum.Validators.Add(r =>
        {
            if (!Common.TryGetValue(r, out float m)) return;
            if (!(m >= 0 && m < 1)) r.AddError($"--momentum must be in [0, 1), got {m.ToString(CultureInfo.InvariantCulture)}.");
        });
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, data split and shuffling", HelpName = "N", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Model file to write (safetensors)", DefaultValueFactory = _ => DefaultOut, HelpName = "FILE" };
        var threads = new Option<int?>("--threads") { Description = "Worker threads for the kernels (default: all cores)", HelpName = "N" };
        threads.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out int? t) && t < 1) r.AddError($"--threads must be at least 1, got {t}.");
        });
        var schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule over the epochs", DefaultValueFactory = _ => "cosine" };
        schedule.AcceptOnlyFromAmong(Schedules);
        var dropout = new Option<float>("--dropout") { Description = "Dropout probability after each hidden layer (0: none)", HelpName = "P", DefaultValueFactory = _ => 0f };
        dropout.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out float d) && !(d >= 0 && d < 1)) r.AddError($"--dropout must be in [0, 1), got {d.ToString(CultureInfo.InvariantCulture)}.");
        });
        var earlyStop = new Option<int?>("--early-stop") { Description = "Stop after N epochs without a better validation loss, keeping the best weights", HelpName = "N" };
        earlyStop.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out int? n) && n < 1) r.AddError($"--early-stop must be at least 1, got {n}.");
        });
        var plot = new Option<string?>("--plot") { Description = "Write loss and accuracy curves to FILE (PNG) and the test confusion matrix to FILE-confusion.png", HelpName = "FILE" };
        var augment = new Option<bool>("--augment") { Description = "Augment the training images with random shifts of up to 2 pixels and rotations of up to 10 degrees (default: on for the shipped digits, off for other data)" };
        var noAugment = new Option<bool>("--no-augment") { Description = "Train on the images as they are" };
        var flip = new Option<bool>("--flip") { Description = "Also mirror each training image left-right with probability 1/2 (implies --augment; for clothing and scenes, not for digits or letters, whose meaning a mirror changes)" };
        var diagnostics = new Option<bool>("--diagnostics") { Description = "After each epoch, print what it cost besides the arithmetic: CPU time, garbage collections, bytes allocated, methods compiled by the JIT, page faults; and the time of start-up, data loading and the test set" };
        var limit = new Option<int?>("--limit") { Description = "Use a seeded random subset of at most N samples of each data file (for quick runs)", HelpName = "N", Hidden = true };
        limit.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out int? n) && n < 3) r.AddError($"--limit must be at least 3, got {n}.");
        });

        var classes = new Option<int?>("--classes") { Description = "Number of classes (default: the largest label + 1, checked against the data); a label outside them is an error", HelpName = "N" };
        classes.Validators.Add(r =>
        {
            if (Common.TryGetValue(r, out int? n) && n is < 2 or > 256) r.AddError($"--classes must be from 2 to 256, got {n}.");
        });
        var onDivergence = new Option<string>("--on-divergence") { Description = "What to do with a step whose loss or gradient is not finite or explodes: stop (exit code 3, --out untouched) or skip the step", HelpName = "stop|skip", DefaultValueFactory = _ => "stop" };
        onDivergence.AcceptOnlyFromAmong("stop", "skip");
        var checkpoint = new Option<string?>("--checkpoint") { Description = "Write checkpoints (weights, optimiser, schedule, data position, random states) to DIR at each epoch end, to resume a killed run with --resume DIR", HelpName = "DIR" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "With --checkpoint: also every N steps", HelpName = "N", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var resumeDir = new Option<string?>("--resume") { Description = "Continue the run checkpointed in DIR with its settings (only --threads may be given besides)", HelpName = "DIR" };
        var command = new Command("train", "Train an MLP classifier on MNIST-style images (default: the shipped digits) and save it");
        foreach (var o in new Option[] { data, layers, activation, epochs, batch, optimizerName, lr, momentum, schedule, dropout, earlyStop, augment, noAugment, flip, plot, seed, output, threads, limit, classes, onDivergence, checkpoint, checkpointEvery, resumeDir, diagnostics }) command.Options.Add(o);
        var extras = TrainExtras.Add(command); // --task, --target, --init, --freeze
        var zooModel = ZooModels.AddOption(command); // --model
        var distributed = DistributedTraining.AddOptions(command);
        command.SetAction(p => Common.Guard(io, () => p.GetValue(resumeDir) is string resumeFrom
            ? Run(io, ResumeSettings(p, command, resumeFrom, p.GetValue(threads)))
            : DistributedTraining.Launch(io, p, distributed, rankIo => Run(rankIo, new TrainSettings
        {
            Data = p.GetValue(data),
            Layers = ParseLayers(p.GetValue(layers)!),
            Model = p.GetValue(zooModel)!,
            Activation = p.GetValue(activation)!,
            Epochs = p.GetValue(epochs),
            Batch = p.GetValue(batch),
            Optimizer = p.GetValue(optimizerName)!,
            LearningRate = p.GetResult(lr) is { Implicit: false } ? p.GetValue(lr) : DefaultLearningRate(p.GetValue(optimizerName)!),
            Momentum = p.GetValue(momentum),
            MomentumGiven = p.GetResult(momentum) is { Implicit: false },
            Dropout = p.GetValue(dropout),
            EarlyStop = p.GetValue(earlyStop),
            Plot = p.GetValue(plot),
            Schedule = p.GetValue(schedule)!,
            Augment = (p.GetValue(augment) || p.GetValue(flip)) && p.GetValue(noAugment)
                ? throw new UsageException($"{(p.GetValue(flip) ? "--flip" : "--augment")} and --no-augment contradict each other; give one.")
                : p.GetValue(augment) || p.GetValue(flip) || (!p.GetValue(noAugment) && p.GetValue(data) is null),
            Flip = p.GetValue(flip),
            Seed = p.GetValue(seed),
            Out = p.GetValue(output)!,
            Threads = p.GetValue(threads),
            Limit = p.GetValue(limit),
            Task = p.GetValue(extras.Task)!,
            Target = p.GetValue(extras.Target),
            Init = p.GetValue(extras.Init),
            Freeze = TrainExtras.FreezePrefixes(p.GetValue(extras.Freeze)),
            Classes = p.GetValue(classes),
            SkipDivergentSteps = p.GetValue(onDivergence) == "skip",
            Diagnostics = p.GetValue(diagnostics),
            Checkpoint = p.GetValue(checkpoint),
            CheckpointEvery = p.GetValue(checkpointEvery),
        }))));
        return command;
    }

    /// <summary>The settings of the run to resume; any option given besides --resume and --threads is an error.</summary>
    private static TrainSettings ResumeSettings(ParseResult p, Command command, string dir, int? threads)
    {
        var extra = command.Options.Where(o => o.Name is not ("--resume" or "--threads") && p.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
        if (extra.Count > 0)
            throw new UsageException($"--resume continues the run with its saved settings; drop {string.Join(", ", extra)} (only --threads may be given).");
        return TrainCheckpoint.LoadSettings(dir, threads);
    }

    /// <summary>Parses "256,128" (or "none" for no hidden layer).</summary>
    public static int[] ParseLayers(string text)
    {
        string t = text.Trim();
        if (t.Length == 0) throw new UsageException("--layers is empty; give sizes such as 256,128, or 'none' for a linear model.");
        if (t.Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        var parts = t.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1 || sizes[i] > 1 << 16)
                throw new UsageException($"--layers '{text}': each size must be a whole number from 1 to 65536, separated by commas (e.g. 256,128).");
        return sizes;
    }

    /// <summary>
    /// The learning rate used when --lr is not given: 0.05 for the SGD family (with momentum 0.9 it
    /// reaches ≥ 95 % on the shipped digits and ≥ 88 % on Fashion-MNIST), else <see cref="Optimizers.DefaultLearningRate"/>.
    /// </summary>
    public static float DefaultLearningRate(string optimizer) =>
        optimizer is "sgd" or "momentum" or "nesterov" ? 0.05f : Optimizers.DefaultLearningRate(optimizer);

    /// <summary>
    /// The optimiser of <paramref name="s"/>, the same as <see cref="Optimizers.Create"/> gives for the name: <c>sgd</c> is
    /// plain SGD unless --momentum is given (as PyTorch's SGD), <c>momentum</c> and <c>nesterov</c> take --momentum
    /// (default 0.9), <c>rmsprop</c> takes it only when given.
    /// </summary>
    public static Optimizer CreateOptimizer(TrainSettings s, IEnumerable<Parameter> parameters)
    {
        bool takesMomentum = s.Optimizer is "momentum" or "nesterov";
        if (s.MomentumGiven && !takesMomentum && s.Optimizer is not ("rmsprop" or "sgd"))
            throw new UsageException($"--momentum does not apply to --optimizer {s.Optimizer} (only to sgd, momentum, nesterov and rmsprop).");
        if (s.Optimizer is "momentum" or "nesterov" && s.Momentum == 0f)
            throw new UsageException($"--optimizer {s.Optimizer} needs --momentum above 0 (use --optimizer sgd for plain SGD).");
        float? momentum = takesMomentum || s.MomentumGiven ? s.Momentum : null;
        return Optimizers.Create(s.Optimizer, parameters, s.LearningRate, momentum);
    }

    /// <summary>The learning-rate schedule called <paramref name="name"/> for a run of <paramref name="epochs"/> epochs (null: constant).</summary>
    public static LearningRateSchedule? CreateSchedule(string name, int epochs) => name switch
    {
        "cosine" => new CosineAnnealingLR(epochs),
        "step" => new StepLR(Math.Max(1, epochs / 3), 0.1f),
        "exponential" => new ExponentialLR(0.9f),
        "plateau" => new ReduceLROnPlateau(MetricMode.Min, factor: 0.1f, patience: 2),
        "constant" => null,
        _ => throw new UsageException($"unknown schedule '{name}'; use one of {string.Join(", ", Schedules)}."),
    };

    /// <summary>The MLP: Linear layers of the given sizes with the activation (and dropout, if <paramref name="dropout"/> &gt; 0) between them.</summary>
    public static Sequential BuildModel(int inputs, IReadOnlyList<int> hidden, string activation, int classes, Random rng, float dropout = 0f)
    {
        var model = new Sequential();
        int width = inputs;
        foreach (int h in hidden)
        {
            model.Add(new Linear(width, h, rng: rng));
            model.Add(activation switch
            {
                "relu" => new ReLU(),
                "tanh" => new Tanh(),
                "sigmoid" => new Sigmoid(),
                "leaky-relu" => new LeakyReLU(0.01f),
                _ => throw new UsageException($"unknown activation '{activation}'; use one of {string.Join(", ", Activations)}."),
            });
            if (dropout > 0f) model.Add(new Dropout(dropout, rng));
            width = h;
        }
        model.Add(new Linear(width, classes, rng: rng));
        return model;
    }

    /// <summary>Runs training with <paramref name="s"/>; returns the exit code.</summary>
    public static int Run(CliContext io, TrainSettings s)
    {
        int threadsBefore = WorkerPool.Threads;
        if (s.Threads is int t) WorkerPool.Threads = t;
        try
        {
            return Train(io, s);
        }
        finally
        {
            WorkerPool.Threads = threadsBefore; // leave the process as it was (the tool also runs in-process)
        }
    }

    private static int Train(CliContext io, TrainSettings s)
    {
        var clock = Stopwatch.StartNew();
        // Settings first, so that a run killed at any later moment can be resumed.
        if (s.Checkpoint is string ckDir)
            CheckpointOptions.CleanStaleTemporaries(Path.GetFullPath(ckDir));
        if (s.Checkpoint is string ckNew && !s.Resume)
        {
            if (File.Exists(Path.Combine(Path.GetFullPath(ckNew), CheckpointOptions.FileName)))
                throw new UsageException($"--checkpoint {Path.GetFullPath(ckNew)} already holds a checkpoint; continue it with --resume {Path.GetFullPath(ckNew)} or choose an empty folder.");
            TrainCheckpoint.SaveSettings(ckNew, s);
        }
        string outPath = TrainPreflight.WritableFile("--out", s.Out);
        if (s.Resume) AtomicFile.DeleteStaleTemporaries(outPath); // a run killed while writing --out left its temporary file
        if (s.Plot is string plotPath)
        {
            TrainPreflight.WritableFile("--plot", plotPath);
            TrainPreflight.WritableFile("--plot", ConfusionPlotPath(plotPath));
        }
        TrainPreflight.CheckSize(s.Layers, inputs: null, classes: null);

        if (s.Task == "regression") return TrainExtras.TrainRegression(io, s, outPath);
        var loadStarted = clock.Elapsed;
        var data = DistributedTraining.Load(() => DataLoading.Load(s.Data, s.Seed, s.Limit, s.Classes));
        var loadTime = clock.Elapsed - loadStarted;
        if (data.Classes < 2) throw new UsageException($"{data.Folder}: all labels are 0; a classifier needs at least two classes.");

        if (s.Model == "mlp") TrainPreflight.CheckSize(s.Layers, data.Channels * data.Height * data.Width, data.Classes);
        Module model = s.Model == "mlp" ? BuildModel(data.Channels * data.Height * data.Width, s.Layers, s.Activation, data.Classes, new Random(s.Seed), s.Dropout)
            : ZooModels.Build(s.Model, data, new Random(s.Seed));
        TrainExtras.ApplyTransfer(io, model, s);
        var loss = new CrossEntropyLoss();
        var optimizer = CreateOptimizer(s, model.Parameters());
        var schedule = CreateSchedule(s.Schedule, s.Epochs);
        string arch = s.Model != "mlp" ? ZooModels.Describe(s.Model, data) : string.Join("-", new[] { data.Channels * data.Height * data.Width }.Concat(s.Layers).Append(data.Classes)) + " MLP";

        io.Markup($"[bold]data[/]   {Markup.Escape(data.Name)}: {data.Height}x{data.Width} images, {data.Classes} classes");
        io.Markup($"       {Markup.Escape(data.Split)}");
        io.Markup($"[bold]model[/]  {arch}, {s.Activation}{(s.Dropout > 0 ? $", dropout {Common.F(s.Dropout, "G4")}" : "")}, {model.ParameterCount:N0} parameters");
        string momentumText = optimizer switch
        {
            Sgd { Momentum: > 0f } sgd => $" momentum {Common.F(sgd.Momentum, "G4")}",
            RmsProp { Momentum: > 0f } rms => $" momentum {Common.F(rms.Momentum, "G4")}",
            _ => "",
        };
        io.Markup($"[bold]train[/]  {s.Optimizer} lr {Common.F(s.LearningRate, "G4")} ({s.Schedule}){momentumText}, batch {s.Batch}, {s.Epochs} epochs, " +
                  $"{(s.Augment ? AugmentationText(data.Channels, s.Flip) + " augmentation" : "no augmentation")}{(s.EarlyStop is int es ? $", early stop after {es}" : "")}, seed {s.Seed}, {WorkerPool.Threads} threads");
        if (DistributedTraining.Describe(s.Batch) is string ranks) io.Markup($"       {Markup.Escape(ranks)}");
        // Where the time outside the epochs goes, so that a whole-process figure can be taken apart.
        if (s.Diagnostics) io.Line(string.Create(CultureInfo.InvariantCulture,
            $"       start-up {SinceProcessStart(clock.Elapsed).TotalSeconds:F2} s (process start to the command)  data {loadTime.TotalSeconds:F2} s (read, inflate, split)"));

        var options = new FitOptions { Epochs = s.Epochs, BatchSize = s.Batch, Seed = s.Seed, Validation = data.Validation, SkipDivergentSteps = s.SkipDivergentSteps };
        if (s.Checkpoint is string ckpt)
        {
            var co = new CheckpointOptions(ckpt) { EverySteps = s.CheckpointEvery, Resume = s.Resume };
            options.Checkpoint = co;
            io.Markup($"       checkpoints in {Markup.Escape(co.Directory)}{(s.CheckpointEvery > 0 ? $" every {s.CheckpointEvery} steps and" : "")} at each epoch end{(s.Resume && File.Exists(co.FilePath) ? " (resuming)" : "")}");
        }
        if (s.Augment) options.Augment = data.Channels == 3 ? ZooModels.RgbAugmentation(data).AsAction() : Augmentation(data.Height, data.Width, s.Flip).AsAction();
        options.Callbacks.Add(new DivergenceCheck(s.LearningRate));
        if (s.Diagnostics) options.Callbacks.Add(new EpochDiagnostics(io));
        if (schedule is not null) options.Callbacks.Add(new LearningRateScheduler(schedule, MonitoredMetric.ValidationLoss));
        var stopper = s.EarlyStop is int patience ? new EarlyStopping(MonitoredMetric.ValidationLoss, patience, restoreBestWeights: true) : null;
        if (stopper is not null) options.Callbacks.Add(stopper);
        // --diagnostics prints plain lines (and spares the measured epochs the progress display's redraws).
        History history = io.Interactive && !s.Diagnostics ? FitWithProgress(io, model, data, loss, optimizer, options) : FitPlain(io, model, data, loss, optimizer, options);
        if (history.StoppedReason is string why) io.Line($"stopped early: {why}");
        if (history.SkippedSteps > 0) io.Line($"skipped {history.SkippedSteps} divergent step{(history.SkippedSteps == 1 ? "" : "s")} (--on-divergence skip)");

        var testStarted = clock.Elapsed;
        var test = DistributedTraining.Evaluate(model, data.Test, loss);
        var testTime = clock.Elapsed - testStarted;
        io.Line();
        io.Markup($"[bold]test[/]   loss {Common.F(test.Loss)}  accuracy [bold]{Common.Percent(test.Accuracy)}[/] ({Correct(test.Confusion)}/{test.Confusion.Total})");
        io.Out.Write(Render.Confusion(test.Confusion, data.ClassNames));
        if (s.Diagnostics) io.Line(string.Create(CultureInfo.InvariantCulture, $"       test set {testTime.TotalSeconds:F2} s")
            + (WorkerPool.Threads > 1 && Gemm.ResolvedParallelMacs is long macs ? string.Create(CultureInfo.InvariantCulture,
                $"  GEMMs of ≥ {macs / 1e6:F1} M multiply-adds on all threads ({Gemm.ParallelMacsSource})") : ""));

        var training = new JsonObject
        {
            ["layers"] = new JsonArray(s.Layers.Select(l => (JsonNode)l).ToArray()),
            ["activation"] = s.Activation,
            ["epochs"] = s.Epochs,
            ["batch"] = s.Batch,
            ["optimizer"] = s.Optimizer,
            ["lr"] = s.LearningRate,
            ["momentum"] = optimizer switch { Sgd sgd => sgd.Momentum, RmsProp rms => rms.Momentum, _ => null },
            ["dropout"] = s.Dropout,
            ["early_stop"] = s.EarlyStop,
            ["epochs_run"] = history.Epochs.Count,
            ["schedule"] = s.Schedule,
            ["augment"] = s.Augment ? AugmentationText(data.Channels, s.Flip) : "none",
            ["loss"] = loss.Name,
            ["final_train_loss"] = history.Last.Loss,
            ["final_validation_accuracy"] = history.Last.ValidationAccuracy,
        }.ToJsonString();
        if (!DistributedTraining.IsRoot) return ExitCodes.Ok; // only rank 0 writes the model
        ModelFile.Save(outPath, model, metadata: ModelInfo.Describe(data, s.Seed, s.Limit, training, test.Accuracy));
        io.Markup($"[bold]saved[/]  {Markup.Escape(outPath)} ({new FileInfo(outPath).Length / 1024.0:F0} KiB) in {clock.Elapsed.TotalSeconds:F1} s");
        // Plots come after the model is safe: a plotting failure must not lose the trained model.
        if (s.Plot is string plotFile)
        {
            string curves = Plots.Charts.TrainingCurves(history, plotFile, $"{arch}, {Plots.Charts.OptimizerTitle(s.Optimizer, s.Optimizer is "momentum" or "nesterov" || s.MomentumGiven ? s.Momentum : null, s.Schedule)}");
            string confusion = Plots.Charts.ConfusionMatrix(test.Confusion, ConfusionPlotPath(plotFile), $"{data.Name}: test set", data.ClassNames);
            io.Markup($"[bold]plots[/]  {Markup.Escape(curves)}, {Markup.Escape(confusion)}");
        }
        return ExitCodes.Ok;
    }

    /// <summary>Time from the process's start to the moment <paramref name="sinceCommand"/> ago when the command began (zero where the OS does not say).</summary>
    private static TimeSpan SinceProcessStart(TimeSpan sinceCommand)
    {
        try
        {
            var t = DateTime.Now - Process.GetCurrentProcess().StartTime - sinceCommand;
            return t > TimeSpan.Zero ? t : TimeSpan.Zero;
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
        {
            return TimeSpan.Zero;
        }
    }

    /// <summary>Where --plot FILE puts the confusion matrix: FILE with "-confusion" before its extension (".png" if it has none).</summary>
    public static string ConfusionPlotPath(string plotFile)
    {
        string ext = Path.GetExtension(plotFile);
        string stem = ext.Length == 0 ? plotFile : plotFile[..^ext.Length];
        return stem + "-confusion" + (ext.Length == 0 ? ".png" : ext);
    }

    /// <summary>What the training augmentation does, for the console and the model's metadata.</summary>
    private static string AugmentationText(int channels, bool flip) =>
        channels == 3 ? "flip, crop 1/8, brightness/contrast 0.1" : flip ? "shift 2 px, rotate 10 degrees, flip" : "shift 2 px, rotate 10 degrees";

    /// <summary>The default augmentation: random shifts of up to 2 pixels and rotations of up to 10 degrees, and with <paramref name="flip"/> left–right mirroring of half the images.</summary>
    public static ImageAugmentation Augmentation(int height, int width, bool flip = false)
    {
        var a = new ImageAugmentation(height, width).Shift(2).Rotate(10);
        return flip ? a.FlipHorizontal(0.5) : a;
    }

    private static long Correct(ConfusionMatrix m)
    {
        long c = 0;
        for (int i = 0; i < m.Classes; i++) c += m.Counts[i, i];
        return c;
    }

    /// <summary>One epoch's figures as a line.</summary>
    public static string FormatEpoch(EpochResult r, int epochs)
    {
        string width = epochs.ToString(CultureInfo.InvariantCulture);
        string line = $"epoch {r.Epoch.ToString(CultureInfo.InvariantCulture).PadLeft(width.Length)}/{width}  loss {Common.F(r.Loss)}  acc {Common.Percent(r.Accuracy)}";
        if (r.ValidationLoss is double vl && r.ValidationAccuracy is double va) line += $"  val loss {Common.F(vl)}  val acc {Common.Percent(va)}";
        return line + $"  {Common.F(r.Seconds, "F1")} s";
    }

    private static History FitPlain(CliContext io, Module model, DataSplits data, Loss loss, Optimizer optimizer, FitOptions options)
    {
        io.Line();
        options.OnEpoch = r => io.Line(FormatEpoch(r, options.Epochs));
        return DistributedTraining.Fit(model, data.Train, loss, optimizer, options);
    }

    private static History FitWithProgress(CliContext io, Module model, DataSplits data, Loss loss, Optimizer optimizer, FitOptions options)
    {
        io.Line();
        return io.Out.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                int taskEpoch = 0;
                string total = options.Epochs.ToString(CultureInfo.InvariantCulture);
                string Head(int epoch) => $"epoch {epoch.ToString(CultureInfo.InvariantCulture).PadLeft(total.Length)}/{total}";
                options.OnBatch = b =>
                {
                    if (task is null || taskEpoch != b.Epoch)
                    {
                        task = ctx.AddTask(Head(b.Epoch), maxValue: b.Batches);
                        taskEpoch = b.Epoch;
                    }
                    task.Value = b.Batch;
                    task.Description = $"{Head(b.Epoch)}  loss {Common.F(b.Loss)}";
                };
                options.OnEpoch = r =>
                {
                    if (task is null) return;
                    task.Description = FormatEpoch(r, options.Epochs);
                    task.Value = task.MaxValue;
                    task.StopTask();
                    ctx.Refresh();
                };
                return DistributedTraining.Fit(model, data.Train, loss, optimizer, options);
            });
    }
}

/// <summary>
/// Stops training when an epoch ends with a non-finite training or validation loss: Trainer.Fit checks each
/// batch's loss before the step, so the last step of an epoch can still leave NaN weights behind.
/// </summary>
internal sealed class DivergenceCheck(float learningRate) : ITrainingCallback
{
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        if (!double.IsFinite(result.Loss) || result.ValidationLoss is double v && !double.IsFinite(v))
            throw new TrainingDivergedException(
                $"Training diverged in epoch {result.Epoch}: the {(double.IsFinite(result.Loss) ? "validation" : "training")} loss is " +
                $"{(double.IsFinite(result.Loss) ? result.ValidationLoss : result.Loss)}. Lower the learning rate (now {learningRate.ToString("G4", CultureInfo.InvariantCulture)}).");
        return true;
    }
}

/// <summary>The settings of <c>nabla train</c>.</summary>
public sealed record TrainSettings
{
    /// <summary>Data folder (null: the shipped digits).</summary>
    public string? Data { get; init; }

    /// <summary>Hidden layer sizes.</summary>
    public int[] Layers { get; init; } = [256, 128];

    /// <summary>The model: mlp (of <see cref="Layers"/>), lenet5 or resnet (see <see cref="ZooModels"/>).</summary>
    public string Model { get; init; } = "mlp";

    /// <summary>Hidden activation: relu, tanh, sigmoid or leaky-relu.</summary>
    public string Activation { get; init; } = "relu";

    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Batch size.</summary>
    public int Batch { get; init; } = 64;

    /// <summary>Optimiser name (one of <see cref="Optimizers.Names"/>).</summary>
    public string Optimizer { get; init; } = "momentum";

    /// <summary>Learning rate.</summary>
    public float LearningRate { get; init; } = 0.05f;

    /// <summary>Momentum of sgd, momentum and nesterov (and of rmsprop when <see cref="MomentumGiven"/>).</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Whether --momentum was given on the command line.</summary>
    public bool MomentumGiven { get; init; }

    /// <summary>Dropout probability after each hidden layer (0: none).</summary>
    public float Dropout { get; init; }

    /// <summary>Early-stopping patience in epochs (null: train all epochs).</summary>
    public int? EarlyStop { get; init; }

    /// <summary>PNG for the training curves (the confusion matrix goes next to it), or null.</summary>
    public string? Plot { get; init; }

    /// <summary>Learning-rate schedule: cosine, constant, step, exponential or plateau.</summary>
    public string Schedule { get; init; } = "cosine";

    /// <summary>Whether to augment the training images (shifts and rotations).</summary>
    public bool Augment { get; init; } = true;

    /// <summary>Whether the augmentation also mirrors grayscale images left–right (RGB augmentation always does).</summary>
    public bool Flip { get; init; }

    /// <summary>Seed.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Model file.</summary>
    public string Out { get; init; } = TrainCommand.DefaultOut;

    /// <summary>Kernel threads (null: leave as is).</summary>
    public int? Threads { get; init; }

    /// <summary>Seeded subset size per data file (null: all).</summary>
    public int? Limit { get; init; }

    /// <summary>classification (image folders) or regression (a CSV file with <see cref="Target"/>).</summary>
    public string Task { get; init; } = "classification";

    /// <summary>The CSV column to predict (regression).</summary>
    public string? Target { get; init; }

    /// <summary>A model file whose matching weights start the model (transfer learning), or null.</summary>
    public string? Init { get; init; }

    /// <summary>Name prefixes of the parameters to freeze.</summary>
    public string[] Freeze { get; init; } = [];

    /// <summary>Number of classes (null: the largest label + 1, confirmed against the data).</summary>
    public int? Classes { get; init; }

    /// <summary>Skip divergent steps instead of stopping (--on-divergence skip).</summary>
    public bool SkipDivergentSteps { get; init; }

    /// <summary>Print each epoch's CPU time, collections, allocation, JIT compilations and page faults (<c>--diagnostics</c>).</summary>
    public bool Diagnostics { get; init; }

    /// <summary>Checkpoint folder (null: no checkpoints).</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Steps between checkpoints (0: epoch ends only).</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Whether this run resumes the one checkpointed in <see cref="Checkpoint"/>.</summary>
    public bool Resume { get; init; }
}
