namespace Nabla.Optim;

/// <summary>
/// A learning-rate schedule: called once per epoch (after it), it sets the optimiser's
/// <see cref="Optimizer.LearningRate"/> for the next one, as PyTorch's <c>scheduler.step()</c>.
/// The base rate η₀ is the optimiser's rate at the first call unless given. In a
/// <c>Trainer.Fit</c> run, wrap it in <c>Nabla.Training.LearningRateScheduler</c>; in a hand-written
/// loop, call <see cref="Step"/> after each epoch. The schedule counts its own epochs, so it
/// carries on across several Fit calls.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>Creates the schedule; <paramref name="baseLearningRate"/> null takes the optimiser's rate at the first step.</summary>
    protected LearningRateSchedule(float? baseLearningRate)
    {
        if (baseLearningRate is float b && !(b > 0f && float.IsFinite(b)))
            throw new ArgumentOutOfRangeException(nameof(baseLearningRate), $"{GetType().Name}: base learning rate {b} must be positive and finite.");
        BaseLearningRate = baseLearningRate;
    }

    /// <summary>The rate η₀ of the first epoch (known after the first <see cref="Step"/> if not given).</summary>
    public float? BaseLearningRate { get; private set; }

    /// <summary>How many epochs have been stepped.</summary>
    public int Epoch { get; private set; }

    /// <summary>Whether <see cref="Step"/> needs a metric (the monitored loss or accuracy).</summary>
    public virtual bool NeedsMetric => false;

    /// <summary>
    /// Ends an epoch: sets <paramref name="optimizer"/>'s learning rate for the next epoch and returns it.
    /// <paramref name="metric"/> is the monitored value of the epoch just finished (used by <see cref="ReduceLROnPlateau"/>).
    /// </summary>
    public float Step(Optimizer optimizer, double? metric = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (NeedsMetric && metric is null)
            throw new ArgumentException($"{GetType().Name}.Step needs the monitored metric of the epoch.", nameof(metric));
        BaseLearningRate ??= optimizer.LearningRate;
        Epoch++;
        float lr = Next(BaseLearningRate.Value, optimizer.LearningRate, metric);
        optimizer.LearningRate = lr;
        return lr;
    }

    /// <summary>The rate after <see cref="Epoch"/> epochs, from the base rate, the current rate and the epoch's metric.</summary>
    protected abstract float Next(float baseLearningRate, float current, double? metric);
}

/// <summary>η = η₀ · γ^⌊e / s⌋ after e epochs: the rate drops by γ every <c>stepSize</c> epochs (PyTorch's StepLR).</summary>
public sealed class StepLR : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    public StepLR(int stepSize, float gamma = 0.1f, float? baseLearningRate = null) : base(baseLearningRate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        if (!(gamma > 0f)) throw new ArgumentOutOfRangeException(nameof(gamma), $"StepLR: γ = {gamma} must be positive.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>Epochs between drops.</summary>
    public int StepSize { get; }

    /// <summary>Factor γ of each drop.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    protected override float Next(float baseLearningRate, float current, double? metric) =>
        (float)(baseLearningRate * Math.Pow(Gamma, Epoch / StepSize));
}

/// <summary>η = η₀ · γ^e after e epochs (PyTorch's ExponentialLR).</summary>
public sealed class ExponentialLR : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    public ExponentialLR(float gamma, float? baseLearningRate = null) : base(baseLearningRate)
    {
        if (!(gamma > 0f)) throw new ArgumentOutOfRangeException(nameof(gamma), $"ExponentialLR: γ = {gamma} must be positive.");
        Gamma = gamma;
    }

    /// <summary>Factor γ per epoch.</summary>
    public float Gamma { get; }

    /// <inheritdoc/>
    protected override float Next(float baseLearningRate, float current, double? metric) =>
        (float)(baseLearningRate * Math.Pow(Gamma, Epoch));
}

/// <summary>
/// η = η_min + (η₀ − η_min)(1 + cos(π e / T))/2 after e epochs: half a cosine from η₀ down to
/// η_min over T epochs (PyTorch's CosineAnnealingLR in its closed form; past T the cosine rises
/// again, as there, so choose T as the number of epochs).
/// </summary>
public sealed class CosineAnnealingLR : LearningRateSchedule
{
    /// <summary>Creates the schedule.</summary>
    public CosineAnnealingLR(int tMax, float minLearningRate = 0f, float? baseLearningRate = null) : base(baseLearningRate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tMax, 1);
        if (!(minLearningRate >= 0f)) throw new ArgumentOutOfRangeException(nameof(minLearningRate), $"CosineAnnealingLR: minimum rate {minLearningRate} must be non-negative.");
        TMax = tMax;
        MinLearningRate = minLearningRate;
    }

    /// <summary>Epochs T from η₀ down to η_min.</summary>
    public int TMax { get; }

    /// <summary>The lowest rate η_min.</summary>
    public float MinLearningRate { get; }

    /// <inheritdoc/>
    protected override float Next(float baseLearningRate, float current, double? metric) =>
        (float)(MinLearningRate + (baseLearningRate - MinLearningRate) * (1 + Math.Cos(Math.PI * Epoch / TMax)) / 2);
}

/// <summary>Whether a monitored metric improves by going down (a loss) or up (an accuracy).</summary>
public enum MetricMode
{
    /// <summary>Lower is better.</summary>
    Min,

    /// <summary>Higher is better.</summary>
    Max,
}

/// <summary>
/// Multiplies the rate by <see cref="Factor"/> when the monitored metric has not improved for more
/// than <see cref="Patience"/> epochs (PyTorch's ReduceLROnPlateau, relative threshold): in
/// <see cref="MetricMode.Min"/> mode a value improves on the best if it is below best·(1 − threshold)
/// (above best·(1 + threshold) in Max mode). After a reduction the count of bad epochs restarts,
/// and <see cref="Cooldown"/> epochs pass before bad epochs count again. The rate never falls below
/// <see cref="MinLearningRate"/>.
/// </summary>
public sealed class ReduceLROnPlateau : LearningRateSchedule
{
    private double best;
    private int badEpochs;
    private int cooldownLeft;

    /// <summary>Creates the schedule (PyTorch's defaults: factor 0.1, patience 10, threshold 1e-4).</summary>
    public ReduceLROnPlateau(MetricMode mode = MetricMode.Min, float factor = 0.1f, int patience = 10, float minLearningRate = 0f,
        double threshold = 1e-4, int cooldown = 0) : base(null)
    {
        if (!(factor > 0f && factor < 1f)) throw new ArgumentOutOfRangeException(nameof(factor), $"ReduceLROnPlateau: factor {factor} must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!(minLearningRate >= 0f)) throw new ArgumentOutOfRangeException(nameof(minLearningRate), $"ReduceLROnPlateau: minimum rate {minLearningRate} must be non-negative.");
        if (!(threshold >= 0)) throw new ArgumentOutOfRangeException(nameof(threshold), $"ReduceLROnPlateau: threshold {threshold} must be non-negative.");
        Mode = mode;
        Factor = factor;
        Patience = patience;
        MinLearningRate = minLearningRate;
        Threshold = threshold;
        Cooldown = cooldown;
        best = mode == MetricMode.Min ? double.PositiveInfinity : double.NegativeInfinity;
    }

    /// <summary>Whether lower or higher values of the metric are better.</summary>
    public MetricMode Mode { get; }

    /// <summary>Factor applied to the rate at each reduction.</summary>
    public float Factor { get; }

    /// <summary>Epochs without improvement tolerated before a reduction.</summary>
    public int Patience { get; }

    /// <summary>The lowest rate.</summary>
    public float MinLearningRate { get; }

    /// <summary>Relative improvement needed to count as better.</summary>
    public double Threshold { get; }

    /// <summary>Epochs after a reduction during which bad epochs are not counted.</summary>
    public int Cooldown { get; }

    /// <summary>The best metric seen so far.</summary>
    public double Best => best;

    /// <summary>Epochs since the last improvement (or reduction).</summary>
    public int BadEpochs => badEpochs;

    /// <inheritdoc/>
    public override bool NeedsMetric => true;

    /// <inheritdoc/>
    protected override float Next(float baseLearningRate, float current, double? metric)
    {
        double value = metric!.Value;
        bool better = Mode == MetricMode.Min ? value < best * (1 - Threshold) : value > best * (1 + Threshold);
        // The rule above treats ±∞ as "no best yet"; NaN is never an improvement.
        if (better) { best = value; badEpochs = 0; }
        else badEpochs++;
        if (cooldownLeft > 0) { cooldownLeft--; badEpochs = 0; }
        if (badEpochs > Patience)
        {
            badEpochs = 0;
            cooldownLeft = Cooldown;
            return Math.Max(current * Factor, MinLearningRate);
        }
        return current;
    }
}
