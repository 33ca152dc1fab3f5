using System.Diagnostics;
using Nabla.Autograd;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;

namespace Nabla.Training;

/// <summary>The figures of one epoch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Loss">Mean training loss over the epoch's samples.</param>
/// <param name="Accuracy">Training accuracy over the epoch (predictions made during training); NaN for regression (float targets).</param>
/// <param name="ValidationLoss">Loss on the validation set, if one was given.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set, if one was given.</param>
/// <param name="LearningRate">The learning rate used in this epoch.</param>
/// <param name="Seconds">Wall time of the epoch, including validation.</param>
public sealed record EpochResult(int Epoch, double Loss, double Accuracy, double? ValidationLoss, double? ValidationAccuracy, float LearningRate, double Seconds);

/// <summary>What <see cref="Trainer.Fit"/> returns: one entry per epoch, and why it stopped.</summary>
public sealed class History
{
    /// <summary>The epochs in order.</summary>
    public List<EpochResult> Epochs { get; } = new();

    /// <summary>Set when a callback stopped training early, with its reason.</summary>
    public string? StoppedReason { get; set; }

    /// <summary>The last epoch.</summary>
    public EpochResult Last => Epochs[^1];

    /// <summary>Divergent steps skipped (with <see cref="FitOptions.SkipDivergentSteps"/>).</summary>
    public int SkippedSteps { get; set; }
}

/// <summary>Loss, accuracy and confusion matrix of a model on a data set.</summary>
/// <param name="Loss">Mean loss per sample.</param>
/// <param name="Accuracy">Fraction classified correctly (NaN for a regression set: see <see cref="Regression"/>).</param>
/// <param name="Confusion">Counts of actual versus predicted classes.</param>
public sealed record EvaluationResult(double Loss, double Accuracy, ConfusionMatrix Confusion)
{
    /// <summary>MSE, MAE and R² for a regression set (float targets); null for classification.</summary>
    public RegressionMetrics? Regression { get; init; }
}

/// <summary>Progress of one training batch, for progress bars.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Batch">1-based batch within the epoch.</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Loss">Running mean loss of the epoch so far.</param>
public readonly record struct BatchProgress(int Epoch, int Batch, int Batches, double Loss);

/// <summary>Hooks into the training loop (early stopping, checkpoints, schedules, logging).</summary>
public interface ITrainingCallback
{
    /// <summary>Called after each epoch; return false to stop training (with a reason in <see cref="History.StoppedReason"/>).</summary>
    bool OnEpochEnd(TrainingContext context, EpochResult result);

    /// <summary>Called once after the last epoch.</summary>
    void OnTrainEnd(TrainingContext context) { }
}

/// <summary>What callbacks can see and change during <see cref="Trainer.Fit"/>.</summary>
public sealed class TrainingContext(Module model, Optimizer optimizer, History history)
{
    /// <summary>The model being trained.</summary>
    public Module Model { get; } = model;

    /// <summary>The optimiser.</summary>
    public Optimizer Optimizer { get; } = optimizer;

    /// <summary>The history so far.</summary>
    public History History { get; } = history;
}

/// <summary>Options of <see cref="Trainer.Fit"/>; every one has a sensible default.</summary>
public sealed class FitOptions
{
    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Samples per gradient step (the whole set gives full-batch gradient descent).</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Seed of the shuffling order.</summary>
    public int Seed { get; set; }

    /// <summary>Whether to reshuffle the training data every epoch.</summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>Data evaluated after every epoch.</summary>
    public Dataset? Validation { get; set; }

    /// <summary>Callbacks run after every epoch, in order.</summary>
    public List<ITrainingCallback> Callbacks { get; } = new();

    /// <summary>Called after every batch (for progress bars).</summary>
    public Action<BatchProgress>? OnBatch { get; set; }

    /// <summary>Called after every epoch (for logging).</summary>
    public Action<EpochResult>? OnEpoch { get; set; }

    /// <summary>Transforms each training batch's inputs in place before the forward pass (augmentation).</summary>
    public Action<Tensor, Random>? Augment { get; set; }

    /// <summary>When set, gradients are rescaled so that their global L2 norm is at most this.</summary>
    public float? ClipGradNorm { get; set; }

    /// <summary>Threshold that turns a single output into a class (0.5 for probabilities, 0 for logits).</summary>
    public float BinaryThreshold { get; set; } = 0.5f;

    /// <summary>
    /// How far a batch's loss may rise above its running level (an exponential average of the accepted steps'
    /// losses, but at least 1) before the step counts as divergence: by default 1000x, three orders of
    /// magnitude. Null turns the check off; non-finite losses and gradients always count.
    /// </summary>
    public double? DivergenceFactor { get; set; } = 1e3;

    /// <summary>
    /// Skip a divergent step (its update is not applied; <see cref="History.SkippedSteps"/> counts it) instead of
    /// stopping with <see cref="TrainingDivergedException"/>. Training still stops after
    /// <see cref="MaxSkippedSteps"/> divergent steps in a row.
    /// </summary>
    public bool SkipDivergentSteps { get; set; }

    /// <summary>Divergent steps skipped in a row before training stops anyway.</summary>
    public int MaxSkippedSteps { get; set; } = 10;

    /// <summary>Write checkpoints (and resume from one): see <see cref="CheckpointOptions"/>. Null: none.</summary>
    public CheckpointOptions? Checkpoint { get; set; }

    /// <summary>
    /// Let the loop time its steps on one thread and on all of <see cref="Kernels.WorkerPool.Threads"/>, and run on one
    /// while that is faster (see <see cref="Kernels.ThreadCountGovernor"/>; results are the same either way). Off by
    /// default; the environment variable NABLA_ADAPTIVE_THREADS=1 turns the default on.
    /// </summary>
    public bool AdaptiveThreads { get; set; } = Kernels.ThreadCountGovernor.EnabledByDefault;
}

/// <summary>
/// Thrown when training diverged: a non-finite loss or gradient, a loss many times its running level, or
/// non-finite weights. <see cref="Step"/> and <see cref="Parameter"/> say where, when known.
/// </summary>
public sealed class TrainingDivergedException(string message, long? step = null, string? parameter = null) : Exception(message)
{
    /// <summary>The 1-based optimisation step (counted over the whole run) that diverged, if known.</summary>
    public long? Step { get; } = step;

    /// <summary>The first parameter, going backward from the loss (e.g. <c>2.weight</c>), whose gradient went bad, if that was the cause.</summary>
    public string? Parameter { get; } = parameter;
}

/// <summary>The Keras-like training loop: <see cref="Fit"/>, <see cref="Evaluate"/>, <see cref="Predict"/>.</summary>
public static partial class Trainer
{
    /// <summary>
    /// Trains <paramref name="model"/> on <paramref name="train"/> by minimising <paramref name="loss"/>
    /// with <paramref name="optimizer"/>. Throws <see cref="TrainingDivergedException"/> when the
    /// loss stops being finite.
    /// </summary>
    public static History Fit(Module model, Dataset train, Loss loss, Optimizer optimizer, FitOptions? options = null)
    {
        options ??= new FitOptions();
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Fit: epochs must be at least 1, got {options.Epochs}.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Fit: batch size must be at least 1, got {options.BatchSize}.");
        var history = new History();
        var context = new TrainingContext(model, optimizer, history);
        var loader = new DataLoader(train, options.BatchSize, options.Shuffle, options.Seed);
        var augmentRng = new Random(options.Seed + 7919);
        var parameters = optimizer.Parameters;
        var arena = new TensorArena();
        // The validation passes' tensors, recycled from one epoch to the next: a fresh arena per pass
        // made every epoch's validation allocate its activations anew (a small ResNet at batch 256:
        // ~350 MB an epoch, garbage the collector left standing; the process peaked at 2.3 GiB).
        var validationArena = new TensorArena();
        var watch = new DivergenceWatch(model, options);
        var checkpoints = options.Checkpoint is { } co ? new CheckpointRunner(co, model, optimizer, options, train, augmentRng) : null;
        var resume = checkpoints?.TryRestore(history);
        if (resume is { } rs) watch.Restore(rs.Step, rs.Level);
        using var governor = options.AdaptiveThreads ? new Kernels.ThreadCountGovernor() : null;

        for (int epoch = resume?.Point.Epoch ?? 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            model.Train();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int batchIndex = 0, skipBatches = 0;
            if (resume is { } r && r.Point.Epoch == epoch)
                (lossSum, correct, seen, skipBatches) = (r.Point.LossSum, r.Point.Correct, r.Point.Seen, r.Point.BatchesDone);
            foreach (var batch in loader.GetEpoch(epoch - 1))
            {
                batchIndex++;
                if (batchIndex <= skipBatches) continue; // done before the checkpoint the run resumed from
                if (options.Augment is not null) options.Augment(batch.Inputs, augmentRng);
                // Everything the step creates lives in the arena and is recycled by the next step.
                arena.Reset();
                float value;
                governor?.BeginStep();
                using (arena.Activate())
                {
                    optimizer.ZeroGrad();
                    optimizer.BeforeForward(); // e.g. the accelerated method moves to its look-ahead point
                    var output = model.Forward(batch.Inputs);
                    var l = train.IsRegression ? loss.Forward(output, batch.Targets) : loss.Forward(output, batch.Labels);
                    value = l.Item();
                    // Divergence is caught before the step is applied: a bad loss, then a bad gradient.
                    string? problem = watch.CheckLoss(value, epoch, batchIndex, optimizer.LearningRate);
                    if (problem is null)
                    {
                        l.Backward();
                        problem = watch.CheckGradients(epoch, batchIndex, optimizer.LearningRate);
                    }
                    if (problem is not null)
                    {
                        watch.Skip(problem);
                        history.SkippedSteps++;
                        continue;
                    }
                    watch.Accept(value);
                    if (options.ClipGradNorm is float max) ClipGradNorm(parameters, max);
                    optimizer.Step();
                    if (!train.IsRegression) correct += Predictions.CountCorrect(output, batch.Labels, options.BinaryThreshold);
                }
                governor?.EndStep();
                lossSum += loss.BatchTotal(value, batch.Size);
                seen += batch.Size;
                options.OnBatch?.Invoke(new BatchProgress(epoch, batchIndex, loader.BatchCount, lossSum / seen));
                if (checkpoints is not null && options.Checkpoint!.EverySteps > 0 && watch.Step % options.Checkpoint.EverySteps == 0 && batchIndex < loader.BatchCount)
                    checkpoints.Save(new ResumePoint(epoch, batchIndex, lossSum, correct, seen), watch.Step, watch.Level, history.SkippedSteps, history);
            }
            arena.Reset();

            if (seen == 0)
                throw new TrainingDivergedException($"Training diverged in epoch {epoch}: every step of the epoch was skipped as divergent. Lower the learning rate (now {optimizer.LearningRate}).", watch.Step);
            double? valLoss = null, valAcc = null;
            if (options.Validation is not null)
            {
                var ev = EvaluateInArena(model, options.Validation, loss, Math.Max(options.BatchSize, 256), options.BinaryThreshold, validationArena);
                valLoss = ev.Loss;
                valAcc = ev.Accuracy;
            }
            // A huge but finite loss can still leave NaN/∞ weights behind after the step.
            if (!AllFinite(parameters) || valLoss is double vl && !double.IsFinite(vl))
                throw new TrainingDivergedException(
                    $"Training diverged in epoch {epoch}: the weights are no longer finite (last training loss {lossSum / Math.Max(seen, 1):G3}). Lower the learning rate (now {optimizer.LearningRate}).");
            var result = new EpochResult(epoch, lossSum / seen, train.IsRegression ? double.NaN : (double)correct / seen, valLoss, valAcc, optimizer.LearningRate, clock.Elapsed.TotalSeconds);
            history.Epochs.Add(result);
            options.OnEpoch?.Invoke(result);
            bool go = true;
            foreach (var cb in options.Callbacks) go &= cb.OnEpochEnd(context, result);
            // At the epoch's end the run goes on with the next epoch (or, stopped early, with none).
            checkpoints?.Save(new ResumePoint(go ? epoch + 1 : options.Epochs + 1, 0, 0, 0, 0), watch.Step, watch.Level, history.SkippedSteps, history);
            if (!go) break;
        }
        foreach (var cb in options.Callbacks) cb.OnTrainEnd(context);
        return history;
    }

    /// <summary>Mean loss, accuracy and confusion matrix of <paramref name="model"/> on <paramref name="data"/>, in evaluation mode.</summary>
    public static EvaluationResult Evaluate(Module model, Dataset data, Loss loss, int batchSize = 256, float binaryThreshold = 0.5f)
        => EvaluateInArena(model, data, loss, batchSize, binaryThreshold, new TensorArena());

    // Evaluate with the caller's arena, so repeated evaluations (one per epoch) reuse its buffers.
    internal static EvaluationResult EvaluateInArena(Module model, Dataset data, Loss loss, int batchSize, float binaryThreshold, TensorArena arena)
    {
        if (data.IsRegression) return EvaluateRegression(model, data, loss, batchSize, arena);
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            // Sized by the data's classes or the model's outputs, whichever is larger: a model may predict a class
            // that the data set (a subset, say) does not hold.
            ConfusionMatrix? confusion = null;
            double lossSum = 0;
            foreach (var batch in new DataLoader(data, batchSize))
            {
                arena.Reset();
                using var active = arena.Activate();
                var output = model.Forward(batch.Inputs);
                lossSum += loss.BatchTotal(loss.Forward(output, batch.Labels).Item(), batch.Size);
                var predicted = Predictions.Classes(output, binaryThreshold);
                confusion ??= new ConfusionMatrix(Math.Max(Math.Max(data.NumClasses, 2), output.Rank >= 2 ? output.Shape[^1] : 0));
                for (int i = 0; i < predicted.Length; i++) confusion.Add(batch.Labels[i], predicted[i]);
            }
            confusion ??= new ConfusionMatrix(Math.Max(data.NumClasses, 2));
            return new EvaluationResult(lossSum / data.Count, confusion.Accuracy, confusion);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    /// <summary>The model's outputs for <paramref name="inputs"/> [N, …], computed in evaluation mode without recording gradients.</summary>
    public static Tensor Predict(Module model, Tensor inputs, int batchSize = 1024)
    {
        bool wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            int n = inputs.Shape[0];
            if (n <= batchSize) return model.Forward(inputs);
            var parts = new List<Tensor>();
            for (int start = 0; start < n; start += batchSize)
                parts.Add(model.Forward(Ops.SliceRows(inputs, start, Math.Min(batchSize, n - start))));
            return Ops.Concat(parts, 0);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    private static bool AllFinite(IReadOnlyList<Parameter> parameters)
    {
        foreach (var p in parameters)
        {
            // NaN and ±∞ propagate through a sum, so one vectorised pass per parameter suffices.
            if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(p.Data))) return false;
        }
        return true;
    }

    /// <summary>Rescales all gradients so that their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, float maxNorm)
    {
        var list = parameters.Where(p => p.Grad is not null).ToList();
        double sq = 0;
        foreach (var p in list)
        {
            float n = System.Numerics.Tensors.TensorPrimitives.Norm(p.Grad!.Data);
            sq += (double)n * n;
        }
        double norm = Math.Sqrt(sq);
        if (norm > maxNorm && norm > 0)
        {
            float scale = (float)(maxNorm / norm);
            foreach (var p in list) System.Numerics.Tensors.TensorPrimitives.Multiply(p.Grad!.Data, scale, p.Grad!.Data);
        }
        return norm;
    }
}
