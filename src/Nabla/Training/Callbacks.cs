using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;

namespace Nabla.Training;

/// <summary>A figure of an epoch that a callback watches.</summary>
public enum MonitoredMetric
{
    /// <summary>Loss on the validation set (<see cref="FitOptions.Validation"/> must be set).</summary>
    ValidationLoss,

    /// <summary>Accuracy on the validation set (<see cref="FitOptions.Validation"/> must be set).</summary>
    ValidationAccuracy,

    /// <summary>Mean training loss of the epoch.</summary>
    Loss,

    /// <summary>Training accuracy of the epoch.</summary>
    Accuracy,
}

/// <summary>Reading monitored figures out of an <see cref="EpochResult"/>.</summary>
public static class MonitoredMetricExtensions
{
    /// <summary>Whether lower (losses) or higher (accuracies) is better.</summary>
    public static MetricMode Mode(this MonitoredMetric monitor) =>
        monitor is MonitoredMetric.ValidationLoss or MonitoredMetric.Loss ? MetricMode.Min : MetricMode.Max;

    /// <summary>The starting "best" value: +∞ for a figure to minimise, −∞ for one to maximise.</summary>
    public static double Worst(this MonitoredMetric monitor) =>
        monitor.Mode() == MetricMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>Whether <paramref name="value"/> beats <paramref name="best"/> by more than <paramref name="minDelta"/>.</summary>
    public static bool Improves(this MonitoredMetric monitor, double value, double best, double minDelta = 0) =>
        monitor.Mode() == MetricMode.Min ? value < best - minDelta : value > best + minDelta;

    /// <summary>The monitored value of <paramref name="result"/>; throws if it needs a validation set that was not given.</summary>
    public static double ValueOf(this MonitoredMetric monitor, EpochResult result) => monitor switch
    {
        MonitoredMetric.Loss => result.Loss,
        MonitoredMetric.Accuracy => result.Accuracy,
        MonitoredMetric.ValidationLoss => result.ValidationLoss ?? throw NoValidation(monitor),
        MonitoredMetric.ValidationAccuracy => result.ValidationAccuracy ?? throw NoValidation(monitor),
        _ => throw new ArgumentOutOfRangeException(nameof(monitor)),
    };

    /// <summary>The monitored value of <paramref name="result"/>, or null when it needs a validation set that was not given.</summary>
    public static double? TryValueOf(this MonitoredMetric monitor, EpochResult result) => monitor switch
    {
        MonitoredMetric.Loss => result.Loss,
        MonitoredMetric.Accuracy => result.Accuracy,
        MonitoredMetric.ValidationLoss => result.ValidationLoss,
        MonitoredMetric.ValidationAccuracy => result.ValidationAccuracy,
        _ => throw new ArgumentOutOfRangeException(nameof(monitor)),
    };

    private static InvalidOperationException NoValidation(MonitoredMetric monitor) =>
        new($"The callback monitors {monitor}, but training has no validation set; set FitOptions.Validation or monitor {MonitoredMetric.Loss}/{MonitoredMetric.Accuracy}.");
}

/// <summary>
/// Stops training when the monitored figure has not improved by more than <see cref="MinDelta"/>
/// for <see cref="Patience"/> epochs in a row (as Keras's EarlyStopping), and, with
/// <see cref="RestoreBestWeights"/>, copies the parameter values of the best epoch back into the
/// model when training ends — whether it stopped early or ran out of epochs.
/// </summary>
public sealed class EarlyStopping : ITrainingCallback
{
    private float[][]? bestWeights;
    private int wait;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The figure watched (default: validation loss).</param>
    /// <param name="patience">Epochs without improvement before stopping.</param>
    /// <param name="minDelta">The least change that counts as an improvement.</param>
    /// <param name="restoreBestWeights">Whether to put the best epoch's weights back at the end.</param>
    public EarlyStopping(MonitoredMetric monitor = MonitoredMetric.ValidationLoss, int patience = 5, double minDelta = 0, bool restoreBestWeights = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        if (!(minDelta >= 0)) throw new ArgumentOutOfRangeException(nameof(minDelta), $"EarlyStopping: min delta {minDelta} must be non-negative.");
        Monitor = monitor;
        Patience = patience;
        MinDelta = minDelta;
        RestoreBestWeights = restoreBestWeights;
        Best = monitor.Worst();
    }

    /// <summary>The figure watched.</summary>
    public MonitoredMetric Monitor { get; }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>The least change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Whether the best epoch's weights are restored at the end.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>The best value seen.</summary>
    public double Best { get; private set; }

    /// <summary>The epoch that gave <see cref="Best"/> (0: none yet).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The epoch after which training was stopped (0: it was not).</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>Whether the weights were restored at the end of training.</summary>
    public bool RestoredWeights { get; private set; }

    /// <inheritdoc/>
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        double value = Monitor.ValueOf(result);
        bool improved = Monitor.Improves(value, Best, MinDelta);
        if (improved)
        {
            Best = value;
            BestEpoch = result.Epoch;
            wait = 0;
            if (RestoreBestWeights) CopyWeights(context.Model);
            return true;
        }
        if (++wait < Patience) return true;
        StoppedEpoch = result.Epoch;
        context.History.StoppedReason =
            $"early stopping: {Monitor} did not improve for {Patience} epochs (best {Best:G6} in epoch {BestEpoch})";
        return false;
    }

    /// <inheritdoc/>
    public void OnTrainEnd(TrainingContext context)
    {
        if (!RestoreBestWeights || bestWeights is null) return;
        var parameters = context.Model.Parameters();
        for (int i = 0; i < parameters.Count; i++) bestWeights[i].CopyTo(parameters[i].Data);
        RestoredWeights = true;
    }

    private void CopyWeights(Module model)
    {
        var parameters = model.Parameters();
        bestWeights ??= parameters.Select(p => new float[p.Length]).ToArray();
        if (bestWeights.Length != parameters.Count)
            throw new InvalidOperationException("EarlyStopping: the model's parameters changed during training.");
        for (int i = 0; i < parameters.Count; i++) parameters[i].Data.CopyTo(bestWeights[i]);
    }
}

/// <summary>
/// Saves the model and its optimiser state with <see cref="ModelFile.Save"/> (atomically) after an
/// epoch: only when the monitored figure improved (the default), or after every epoch. The path may
/// contain <c>{epoch}</c>, replaced by the epoch number.
/// </summary>
public sealed class ModelCheckpoint : ITrainingCallback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="path">The file to write; <c>{epoch}</c> in it becomes the epoch number.</param>
    /// <param name="monitor">The figure that decides what "improved" means.</param>
    /// <param name="saveBestOnly">Save only when the figure improved (otherwise after every epoch).</param>
    /// <param name="includeOptimizer">Whether the optimiser state travels with the weights (to resume training).</param>
    public ModelCheckpoint(string path, MonitoredMetric monitor = MonitoredMetric.ValidationLoss, bool saveBestOnly = true, bool includeOptimizer = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
        Monitor = monitor;
        SaveBestOnly = saveBestOnly;
        IncludeOptimizer = includeOptimizer;
        Best = monitor.Worst();
    }

    /// <summary>The file pattern.</summary>
    public string Path { get; }

    /// <summary>The figure watched.</summary>
    public MonitoredMetric Monitor { get; }

    /// <summary>Whether only improvements are saved.</summary>
    public bool SaveBestOnly { get; }

    /// <summary>Whether the optimiser state is saved too.</summary>
    public bool IncludeOptimizer { get; }

    /// <summary>The best value seen.</summary>
    public double Best { get; private set; }

    /// <summary>The files written, in order.</summary>
    public List<string> Saved { get; } = new();

    /// <inheritdoc/>
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        // Saving every epoch works without a validation set; saving the best needs the figure.
        double? value = SaveBestOnly ? Monitor.ValueOf(result) : Monitor.TryValueOf(result);
        bool improved = value is double v && Monitor.Improves(v, Best);
        if (improved) Best = value!.Value;
        if (SaveBestOnly && !improved) return true;
        string file = Path.Replace("{epoch}", result.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var metadata = new Dictionary<string, string>
        {
            ["epoch"] = result.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["loss"] = ModelFile.Format(result.Loss),
        };
        if (result.ValidationLoss is double vl) metadata["val_loss"] = ModelFile.Format(vl);
        if (result.ValidationAccuracy is double va) metadata["val_accuracy"] = ModelFile.Format(va);
        ModelFile.Save(file, context.Model, IncludeOptimizer ? context.Optimizer : null, metadata);
        Saved.Add(file);
        return true;
    }
}

/// <summary>
/// Runs a <see cref="LearningRateSchedule"/> inside <see cref="Trainer.Fit"/>: after each epoch it
/// sets the optimiser's learning rate for the next one, feeding <see cref="ReduceLROnPlateau"/>
/// the monitored figure.
/// </summary>
public sealed class LearningRateScheduler : ITrainingCallback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="schedule">The schedule.</param>
    /// <param name="monitor">The figure passed to schedules that need one (default: validation loss; the schedule's mode must agree).</param>
    public LearningRateScheduler(LearningRateSchedule schedule, MonitoredMetric monitor = MonitoredMetric.ValidationLoss)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (schedule is ReduceLROnPlateau plateau && plateau.Mode != monitor.Mode())
            throw new ArgumentException($"LearningRateScheduler: ReduceLROnPlateau in {plateau.Mode} mode cannot watch {monitor} (better is {monitor.Mode()}).", nameof(monitor));
        Schedule = schedule;
        Monitor = monitor;
    }

    /// <summary>The schedule.</summary>
    public LearningRateSchedule Schedule { get; }

    /// <summary>The figure passed to the schedule.</summary>
    public MonitoredMetric Monitor { get; }

    /// <inheritdoc/>
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        Schedule.Step(context.Optimizer, Schedule.NeedsMetric ? Monitor.ValueOf(result) : null);
        return true;
    }
}
