using System.Diagnostics;
using Nabla.Data;
using Nabla.Losses;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Serialization;
using Nabla.Training;

namespace Nabla.Distributed;

/// <summary>
/// <see cref="Trainer.Fit"/> and <see cref="Trainer.Evaluate"/> for data-parallel training: every rank
/// runs the same loop on its share of each global batch (<see cref="DistributedSampler"/>), gradients are
/// averaged by <see cref="DistributedDataParallel"/>, and the figures of every epoch (loss, accuracy,
/// validation) are summed over ranks, so that every rank sees the same <see cref="EpochResult"/>, its
/// callbacks (schedules, early stopping) decide the same, and its replica stays the same.
/// </summary>
/// <remarks>
/// <see cref="FitOptions.BatchSize"/> is the batch of one rank (as in PyTorch and Horovod): a step
/// consumes WorldSize times as many samples. Callbacks, <see cref="FitOptions.OnEpoch"/> and
/// <see cref="FitOptions.OnBatch"/> run on every rank; give rank 0 the ones that write files or logs
/// (or wrap them in <see cref="RootOnlyCallback"/>).
/// </remarks>
public static class DistributedTrainer
{
    // Per-step statistics summed with the first gradient bucket.
    private const int StatLoss = 0, StatCorrect = 1, StatSeen = 2, StatNonFinite = 3, StatCount = 4;

    /// <summary>
    /// Trains <paramref name="ddp"/>'s module on this rank's share of <paramref name="train"/> (the same
    /// data set on every rank). <paramref name="optimizer"/> must optimise the module's parameters.
    /// </summary>
    /// <param name="ddp">The wrapped model.</param>
    /// <param name="train">The whole training set (every rank passes the same).</param>
    /// <param name="loss">The loss; mean-reduced losses give exactly the gradient of the global batch.</param>
    /// <param name="optimizer">The optimiser of this rank's replica.</param>
    /// <param name="options">As for <see cref="Trainer.Fit"/>; the batch size is per rank.</param>
    /// <param name="initialEpoch">Epochs already done (when resuming from a checkpoint): training runs epochs initialEpoch + 1 … Epochs.</param>
    public static History Fit(DistributedDataParallel ddp, Dataset train, Loss loss, Optimizer optimizer, FitOptions? options = null, int initialEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(ddp);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        options ??= new FitOptions();
        if (options.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Fit: epochs must be at least 1, got {options.Epochs}.");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"Fit: batch size must be at least 1, got {options.BatchSize}.");
        if (initialEpoch < 0 || initialEpoch > options.Epochs)
            throw new ArgumentOutOfRangeException(nameof(initialEpoch), initialEpoch, $"Fit: the initial epoch must be in [0, {options.Epochs}].");
        var comm = ddp.Communicator;
        var model = ddp.Module;
        var owned = new HashSet<Tensor>(model.Parameters(), ReferenceEqualityComparer.Instance);
        if (optimizer.Parameters.Any(p => !owned.Contains(p)))
            throw new ArgumentException("DistributedTrainer.Fit: the optimiser holds parameters that are not the wrapped module's.", nameof(optimizer));

        var history = new History();
        var context = new TrainingContext(model, optimizer, history);
        var sampler = new DistributedSampler(train, options.BatchSize, comm.Rank, comm.WorldSize, options.Shuffle, options.Seed);
        // Each rank augments its own samples: a seed per rank, so the ranks do not draw the same transforms.
        var augmentRng = new Random(options.Seed + 7919 + 104729 * comm.Rank);
        var parameters = optimizer.Parameters;
        var arena = new TensorArena();
        var gather = new BatchGather(train);
        Span<float> local = stackalloc float[StatCount];
        Span<float> sum = stackalloc float[StatCount];

        for (int epoch = initialEpoch + 1; epoch <= options.Epochs; epoch++)
        {
            var clock = Stopwatch.StartNew();
            model.Train();
            double lossSum = 0;
            long correct = 0, seen = 0;
            int batchIndex = 0;
            foreach (var (indices, globalCount) in sampler.GetEpoch(epoch - 1))
            {
                batchIndex++;
                arena.Reset();
                local.Clear();
                using (arena.Activate())
                {
                    optimizer.ZeroGrad();
                    optimizer.BeforeForward(); // on every rank, samples or not: the replicas must move alike
                    if (indices.Length > 0)
                    {
                        var (inputs, labels) = gather.Get(indices);
                        if (options.Augment is not null) options.Augment(inputs, augmentRng);
                        var output = ddp.Forward(inputs);
                        var l = loss.Forward(output, labels);
                        float value = l.Item();
                        local[StatSeen] = indices.Length;
                        local[StatCorrect] = Predictions.CountCorrect(output, labels, options.BinaryThreshold);
                        if (float.IsFinite(value)) local[StatLoss] = (float)loss.BatchTotal(value, indices.Length);
                        else local[StatNonFinite] = 1;
                        ddp.BeginStep((float)indices.Length / globalCount, local);
                        if (float.IsFinite(value)) l.Backward();
                    }
                    else ddp.BeginStep(0f, local);
                    ddp.SynchronizeGradients(sum);
                    // Every rank learns of a non-finite loss anywhere from the reduced statistics, so all stop alike.
                    if (sum[StatNonFinite] > 0)
                        throw new TrainingDivergedException(
                            $"Training diverged in epoch {epoch}, batch {batchIndex}: the loss became NaN or infinite on {sum[StatNonFinite]} of {comm.WorldSize} ranks. Lower the learning rate (now {optimizer.LearningRate}) or check the inputs for NaN.");
                    if (options.ClipGradNorm is float max) Trainer.ClipGradNorm(parameters, max);
                    optimizer.Step();
                }
                lossSum += sum[StatLoss];
                correct += (long)sum[StatCorrect];
                seen += (long)sum[StatSeen];
                options.OnBatch?.Invoke(new BatchProgress(epoch, batchIndex, sampler.BatchCount, lossSum / Math.Max(seen, 1)));
            }
            arena.Reset();

            // Buffers (batch-norm statistics) follow rank 0, as in PyTorch; a replica that drifted is caught here.
            ddp.BroadcastBuffers();
            ddp.EnsureReplicasEqual();
            double? valLoss = null, valAcc = null;
            if (options.Validation is not null)
            {
                var ev = Evaluate(model, options.Validation, loss, comm, Math.Max(options.BatchSize, 256), options.BinaryThreshold);
                valLoss = ev.Loss;
                valAcc = ev.Accuracy;
            }
            if (!AllFinite(parameters) || valLoss is double vl && !double.IsFinite(vl))
                throw new TrainingDivergedException(
                    $"Training diverged in epoch {epoch}: the weights are no longer finite (last training loss {lossSum / Math.Max(seen, 1):G3}). Lower the learning rate (now {optimizer.LearningRate}).");
            var result = new EpochResult(epoch, lossSum / seen, (double)correct / seen, valLoss, valAcc, optimizer.LearningRate, clock.Elapsed.TotalSeconds);
            history.Epochs.Add(result);
            options.OnEpoch?.Invoke(result);
            bool go = true;
            foreach (var cb in options.Callbacks) go &= cb.OnEpochEnd(context, result);
            if (!go) break;
        }
        foreach (var cb in options.Callbacks) cb.OnTrainEnd(context);
        return history;
    }

    /// <summary>
    /// <see cref="Trainer.Evaluate"/> over all ranks: each evaluates a contiguous share of
    /// <paramref name="data"/> and the loss totals and confusion matrices are summed, so every rank gets
    /// the figures of the whole set.
    /// </summary>
    public static EvaluationResult Evaluate(Module model, Dataset data, Loss loss, ICommunicator communicator, int batchSize = 256, float binaryThreshold = 0.5f)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(communicator);
        int classes = Math.Max(data.NumClasses, 2);
        var (start, count) = DistributedSampler.Shard(data.Count, communicator.Rank, communicator.WorldSize);
        Span<double> lossSum = [0];
        var counts = new long[classes * classes];
        if (count > 0)
        {
            var share = data.Subset(Enumerable.Range(start, count).ToArray());
            var r = Trainer.Evaluate(model, share, loss, batchSize, binaryThreshold);
            lossSum[0] = r.Loss * count;
            for (int i = 0; i < classes; i++)
                for (int j = 0; j < classes; j++) counts[i * classes + j] = r.Confusion.Counts[i, j];
        }
        communicator.AllReduce(lossSum, ReduceOp.Sum);
        communicator.AllReduce(counts, ReduceOp.Sum);
        var confusion = new ConfusionMatrix(classes);
        for (int i = 0; i < classes; i++)
            for (int j = 0; j < classes; j++)
                for (long k = counts[i * classes + j]; k > 0; k--) confusion.Add(i, j);
        return new EvaluationResult(lossSum[0] / data.Count, confusion.Accuracy, confusion);
    }

    private static bool AllFinite(IReadOnlyList<Parameter> parameters)
    {
        foreach (var p in parameters)
            if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(p.Data))) return false;
        return true;
    }

    /// <summary>Copies the samples of one step into reused buffers.</summary>
    private sealed class BatchGather(Dataset data)
    {
        private readonly int[] sampleShape = data.SampleShape;
        private float[] inputs = [];
        private int[] labels = [];
        private Shape? shape;

        public (Tensor Inputs, int[] Labels) Get(int[] indices)
        {
            int n = indices.Length, s = data.SampleSize;
            if (labels.Length != n)
            {
                inputs = new float[(long)n * s];
                labels = new int[n];
                var dims = new int[sampleShape.Length + 1];
                dims[0] = n;
                sampleShape.CopyTo(dims, 1);
                shape = new Shape(dims);
            }
            for (int j = 0; j < n; j++)
            {
                Array.Copy(data.Features, (long)indices[j] * s, inputs, (long)j * s, s);
                labels[j] = data.Labels[indices[j]];
            }
            return (new Tensor(inputs, shape!), labels);
        }
    }
}

/// <summary>
/// Runs a callback on rank 0 only (one that writes files, logs or plots) and tells every rank whether it
/// asked to stop, so that all ranks stop together.
/// </summary>
public sealed class RootOnlyCallback(ITrainingCallback inner, ICommunicator communicator) : ITrainingCallback
{
    /// <inheritdoc/>
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        Span<float> go = [1f];
        if (communicator.Rank == 0) go[0] = inner.OnEpochEnd(context, result) ? 1f : 0f;
        communicator.Broadcast(go);
        return go[0] != 0f;
    }

    /// <inheritdoc/>
    public void OnTrainEnd(TrainingContext context)
    {
        if (communicator.Rank == 0) inner.OnTrainEnd(context);
        communicator.Barrier();
    }
}

/// <summary>
/// A minimal checkpoint for resuming data-parallel training: after every epoch rank 0 writes the model,
/// the optimiser state and the epoch number to one safetensors file (atomically: a crash leaves the
/// previous checkpoint). <see cref="Load"/> on every rank restores them; the file does not depend on the
/// number of ranks, so a run can resume with a different one. The file must be on a file system all
/// ranks see (as a cluster's shared home or scratch is).
/// </summary>
public sealed class DistributedCheckpoint(string path, ICommunicator communicator, Func<int, IReadOnlyDictionary<string, string>>? metadata = null) : ITrainingCallback
{
    /// <summary>The metadata key holding the number of completed epochs.</summary>
    public const string EpochKey = "nabla.checkpoint.epoch";

    /// <summary>The file.</summary>
    public string Path { get; } = path;

    /// <inheritdoc/>
    public bool OnEpochEnd(TrainingContext context, EpochResult result)
    {
        if (communicator.Rank == 0)
        {
            var meta = new Dictionary<string, string>(metadata?.Invoke(result.Epoch) ?? new Dictionary<string, string>())
            {
                [EpochKey] = result.Epoch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["nabla.checkpoint.world_size"] = communicator.WorldSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            ModelFile.Save(Path, context.Model, context.Optimizer, meta);
        }
        return true;
    }

    /// <summary>
    /// Loads a checkpoint into <paramref name="model"/> and <paramref name="optimizer"/> and returns the number
    /// of epochs it had completed (pass it to <see cref="DistributedTrainer.Fit"/> as the initial epoch).
    /// </summary>
    public static int Load(string path, Module model, Optimizer optimizer)
    {
        var meta = ModelFile.LoadWeights(path, model, optimizer);
        if (!meta.TryGetValue(EpochKey, out var e) || !int.TryParse(e, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int epoch))
            throw new InvalidDataFileException(path, 0, $"not a training checkpoint: the metadata has no '{EpochKey}'.");
        return epoch;
    }
}
