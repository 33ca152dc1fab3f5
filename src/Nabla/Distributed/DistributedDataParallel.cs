using System.Numerics.Tensors;
using System.Runtime.ExceptionServices;
using Nabla.Nn;

namespace Nabla.Distributed;

/// <summary>Settings of <see cref="DistributedDataParallel"/>.</summary>
public sealed class DistributedDataParallelOptions
{
    /// <summary>
    /// Largest gradient bucket in bytes (PyTorch's <c>bucket_cap_mb</c>). One all-reduce per bucket:
    /// bigger buckets cost fewer latencies, smaller ones start reducing earlier during backward.
    /// </summary>
    public int BucketCapBytes { get; set; } = 4 << 20;

    /// <summary>
    /// Reduce each bucket on a background thread as soon as backward has finished its gradients, while
    /// backward goes on with the layers below. Off by default: measured on a 2-core machine it did not pay
    /// (docs/DISTRIBUTED.md); it pays when communication is slow and cores are free.
    /// </summary>
    public bool OverlapBackward { get; set; }
}

/// <summary>
/// Data-parallel training of any <see cref="Module"/> over a group of ranks, as PyTorch's
/// <c>DistributedDataParallel</c> and Horovod do: every rank holds a replica of the model, computes the
/// gradient of its own share of the batch, and the gradients are averaged across ranks by all-reduce
/// before each optimiser step, so the replicas take identical steps and stay identical.
/// </summary>
/// <remarks>
/// <para>
/// Construction broadcasts rank 0's parameters and buffers (everything in <see cref="Module.StateDict"/>)
/// to all ranks. A step is: forward and loss on the local batch, <c>loss.Backward()</c>,
/// <see cref="SynchronizeGradients"/>, <c>optimizer.Step()</c>. Gradients travel in buckets of about
/// <see cref="DistributedDataParallelOptions.BucketCapBytes"/>, filled in reverse parameter order (the order
/// backward produces them) and reduced in a fixed order, the same on every rank. Each rank's gradient is
/// weighted by its share of the global batch (<see cref="BeginStep"/>; 1/WorldSize by default) and the
/// weighted gradients are summed, which for a mean-reduced loss is exactly the gradient of the whole
/// global batch, also when the last batch of an epoch is split unevenly.
/// </para>
/// <para>
/// Parameter names gain the prefix <c>module.</c> as in PyTorch; save <see cref="Module"/> itself to get
/// the plain names.
/// </para>
/// </remarks>
public sealed class DistributedDataParallel : Module, IDisposable
{
    /// <summary>Room for per-step statistics that travel with the first bucket (see <see cref="BeginStep"/>).</summary>
    public const int MaxStatistics = 8;

    private readonly Parameter[] parameters;
    private readonly (int Bucket, int Offset)[] place;
    private readonly Bucket[] buckets;
    private readonly Dictionary<Tensor, int> indexOf = new(ReferenceEqualityComparer.Instance);
    private readonly bool[] ready;
    private readonly List<IDisposable> hooks = new();
    private readonly object gate = new();
    private readonly Thread? reducer;
    private float weight;
    private bool inStep;
    private int stepNumber;
    private int reducedThrough; // buckets [0, reducedThrough) of the current step are reduced
    private Exception? reducerError;
    private bool disposed;

    /// <summary>Wraps <paramref name="module"/> for training over <paramref name="communicator"/>'s ranks and broadcasts rank 0's state.</summary>
    public DistributedDataParallel(Module module, ICommunicator communicator, DistributedDataParallelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(communicator);
        Module = RegisterModule("module", module);
        Communicator = communicator;
        Options = options ?? new DistributedDataParallelOptions();
        if (Options.BucketCapBytes < 4) throw new ArgumentOutOfRangeException(nameof(options), Options.BucketCapBytes, "DistributedDataParallel: BucketCapBytes must be at least 4.");
        parameters = module.Parameters().ToArray();
        if (parameters.Length == 0) throw new ArgumentException("DistributedDataParallel: the module has no parameters to train.", nameof(module));
        for (int i = 0; i < parameters.Length; i++) indexOf[parameters[i]] = i;

        // Buckets in reverse parameter order: backward finishes the last layers first.
        place = new (int, int)[parameters.Length];
        var list = new List<Bucket>();
        int capElements = Math.Max(1, Options.BucketCapBytes / sizeof(float));
        var current = new List<int>();
        long filled = 0;
        for (int i = parameters.Length - 1; i >= 0; i--)
        {
            if (current.Count > 0 && filled + parameters[i].Length > capElements)
            {
                list.Add(new Bucket(current.ToArray(), parameters, list.Count == 0));
                current.Clear();
                filled = 0;
            }
            current.Add(i);
            filled += parameters[i].Length;
        }
        list.Add(new Bucket(current.ToArray(), parameters, list.Count == 0));
        buckets = list.ToArray();
        for (int b = 0; b < buckets.Length; b++)
            for (int k = 0; k < buckets[b].Members.Length; k++) place[buckets[b].Members[k]] = (b, buckets[b].Offsets[k]);
        ready = new bool[parameters.Length];
        weight = 1f / communicator.WorldSize;

        BroadcastState();
        if (Options.OverlapBackward && communicator.WorldSize > 1)
        {
            foreach (var p in parameters) hooks.Add(p.RegisterPostAccumulateGradHook(OnGradReady));
            reducer = new Thread(ReduceLoop) { IsBackground = true, Name = $"nabla DDP reducer (rank {communicator.Rank})" };
            reducer.Start();
        }
    }

    /// <summary>The wrapped model (save this one: its parameter names have no <c>module.</c> prefix).</summary>
    public Module Module { get; }

    /// <inheritdoc/>
    /// <remarks>The wrapper owns no parameters: its cached list of the wrapped module's parameters is not
    /// a second copy, so every parameter is named once, under <c>module.</c>.</remarks>
    protected override IEnumerable<(string Name, Parameter Parameter)> OwnParameters() => [];

    /// <summary>The group the gradients are averaged over.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>The settings.</summary>
    public DistributedDataParallelOptions Options { get; }

    /// <summary>Number of gradient buckets (one all-reduce each per step).</summary>
    public int BucketCount => buckets.Length;

    /// <summary>Runs the wrapped model.</summary>
    public override Tensor Forward(Tensor input) => Module.Forward(input);

    /// <inheritdoc/>
    public override string Describe() => $"DistributedDataParallel(rank {Communicator.Rank} of {Communicator.WorldSize}, {buckets.Length} buckets)";

    /// <summary>Copies rank <paramref name="root"/>'s parameters and buffers to every rank.</summary>
    public void BroadcastState(int root = 0)
    {
        foreach (var (_, t) in Module.StateDict()) Communicator.Broadcast(t.Data, root);
    }

    /// <summary>
    /// Copies rank 0's buffers (state that is not a parameter, such as batch-norm running statistics,
    /// which each rank updates from its own data) to every rank, as PyTorch's <c>broadcast_buffers</c>.
    /// </summary>
    public void BroadcastBuffers()
    {
        var isParameter = new HashSet<Tensor>(parameters, ReferenceEqualityComparer.Instance);
        foreach (var (_, t) in Module.StateDict())
            if (!isParameter.Contains(t)) Communicator.Broadcast(t.Data);
    }

    /// <summary>
    /// Starts a training step (optional: without it the weight is 1/WorldSize and no statistics travel).
    /// </summary>
    /// <param name="gradientWeight">This rank's share of the global batch (local samples / global samples): its
    /// gradient is multiplied by it before the ranks' gradients are summed. 0 for a rank without samples this step.</param>
    /// <param name="statistics">Up to <see cref="MaxStatistics"/> numbers (e.g. the local loss total and correct
    /// count) summed over ranks together with the first bucket, at no extra latency;
    /// <see cref="SynchronizeGradients"/> returns the sums.</param>
    public void BeginStep(float gradientWeight, ReadOnlySpan<float> statistics = default)
    {
        if (!(gradientWeight >= 0 && gradientWeight <= 1))
            throw new ArgumentOutOfRangeException(nameof(gradientWeight), gradientWeight, "DistributedDataParallel.BeginStep: the weight is a share of the batch, in [0, 1].");
        if (statistics.Length > MaxStatistics)
            throw new ArgumentException($"DistributedDataParallel.BeginStep: at most {MaxStatistics} statistics, got {statistics.Length}.", nameof(statistics));
        lock (gate)
        {
            if (inStep) throw new InvalidOperationException("DistributedDataParallel.BeginStep: the previous step's gradients were not synchronised (call SynchronizeGradients after each backward).");
            StartStepLocked(gradientWeight);
            var tail = buckets[0].Statistics;
            tail.Clear();
            statistics.CopyTo(tail);
        }
    }

    private void StartStepLocked(float w)
    {
        weight = w;
        inStep = true;
        Array.Clear(ready);
        foreach (var b in buckets) b.Pending = b.Members.Length;
        reducedThrough = 0;
        stepNumber++;
        Monitor.PulseAll(gate);
    }

    /// <summary>
    /// Averages the gradients over all ranks (weighted as set by <see cref="BeginStep"/>): after it every
    /// rank's parameters hold the same gradient. Call it after <c>Backward</c> and before clipping or the
    /// optimiser step; a rank with no samples in a step calls it too (its gradient counts as zero).
    /// </summary>
    /// <param name="statisticsSum">Receives the sums over ranks of the statistics given to <see cref="BeginStep"/>.</param>
    public void SynchronizeGradients(Span<float> statisticsSum = default)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (statisticsSum.Length > MaxStatistics)
            throw new ArgumentException($"DistributedDataParallel.SynchronizeGradients: at most {MaxStatistics} statistics, got {statisticsSum.Length}.", nameof(statisticsSum));
        lock (gate)
        {
            if (!inStep)
            {
                StartStepLocked(1f / Communicator.WorldSize);
                buckets[0].Statistics.Clear();
            }
        }
        // Gradients backward did not announce (no hooks, an unused parameter, a rank without samples).
        for (int i = 0; i < parameters.Length; i++)
            if (!Volatile.Read(ref ready[i])) MarkReady(i);

        if (reducer is null)
        {
            foreach (var b in buckets) Communicator.AllReduce(b.Buffer, ReduceOp.Sum);
        }
        else
        {
            lock (gate)
            {
                while (reducedThrough < buckets.Length && reducerError is null) Monitor.Wait(gate);
                if (reducerError is { } e)
                {
                    inStep = false;
                    ExceptionDispatchInfo.Throw(e);
                }
            }
        }

        for (int i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            var (b, offset) = place[i];
            p.Grad ??= new Tensor(new float[p.Length], p.Shape);
            buckets[b].Buffer.AsSpan(offset, p.Length).CopyTo(p.Grad.Data);
        }
        buckets[0].Statistics[..statisticsSum.Length].CopyTo(statisticsSum);
        lock (gate) inStep = false;
    }

    private void OnGradReady(Tensor t)
    {
        if (!indexOf.TryGetValue(t, out int i)) return;
        lock (gate)
        {
            if (!inStep) StartStepLocked(1f / Communicator.WorldSize);
            if (ready[i]) return; // a second backward before synchronising: the gradient accumulated, it is copied at SynchronizeGradients
        }
        MarkReady(i);
    }

    // Copies parameter i's weighted gradient into its bucket; the bucket's last member hands it to the reducer.
    private void MarkReady(int i)
    {
        var p = parameters[i];
        var (b, offset) = place[i];
        var dest = buckets[b].Buffer.AsSpan(offset, p.Length);
        if (p.Grad is null || weight == 0f) dest.Clear();
        else TensorPrimitives.Multiply(p.Grad.Data, weight, dest);
        lock (gate)
        {
            ready[i] = true;
            if (--buckets[b].Pending == 0) Monitor.PulseAll(gate);
        }
    }

    // The background reducer: buckets strictly in index order (the same on every rank), each once it is full.
    private void ReduceLoop()
    {
        int seenStep = 0;
        while (true)
        {
            lock (gate)
            {
                while (!disposed && stepNumber == seenStep) Monitor.Wait(gate);
                if (disposed) return;
                seenStep = stepNumber;
            }
            for (int b = 0; b < buckets.Length; b++)
            {
                lock (gate)
                {
                    while (!disposed && buckets[b].Pending > 0) Monitor.Wait(gate);
                    if (disposed) return;
                }
                try
                {
                    Communicator.AllReduce(buckets[b].Buffer, ReduceOp.Sum);
                }
                catch (Exception e)
                {
                    lock (gate)
                    {
                        reducerError = e;
                        Monitor.PulseAll(gate);
                    }
                    return;
                }
                lock (gate)
                {
                    reducedThrough = b + 1;
                    Monitor.PulseAll(gate);
                }
            }
        }
    }

    /// <summary>
    /// Checks that every rank's parameters are still the same (a checksum compared by all-reduce) and, if
    /// not, copies rank 0's to all; returns whether they were the same. Cheap: two small collectives.
    /// </summary>
    public bool EnsureReplicasEqual()
    {
        double sum = 0, weighted = 0;
        int k = 0;
        foreach (var p in parameters)
        {
            var d = p.Data;
            for (int i = 0; i < d.Length; i++, k++)
            {
                sum += d[i];
                weighted += d[i] * (double)((k % 7919) + 1);
            }
        }
        Span<double> v = [sum, weighted, -sum, -weighted];
        Communicator.AllReduce(v, ReduceOp.Max);
        bool same = v[0] == -v[2] && v[1] == -v[3];
        if (!same) BroadcastState();
        return same;
    }

    /// <summary>Stops the background reducer and removes the gradient hooks (the wrapped module is untouched).</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            Monitor.PulseAll(gate);
        }
        foreach (var h in hooks) h.Dispose();
        hooks.Clear();
    }

    private sealed class Bucket
    {
        public Bucket(int[] members, Parameter[] parameters, bool first)
        {
            Members = members;
            Offsets = new int[members.Length];
            int n = 0;
            for (int k = 0; k < members.Length; k++)
            {
                Offsets[k] = n;
                n += parameters[members[k]].Length;
            }
            Length = n;
            Buffer = new float[n + (first ? MaxStatistics : 0)];
        }

        public int[] Members { get; }
        public int[] Offsets { get; }
        public int Length { get; }
        public float[] Buffer { get; }
        public Span<float> Statistics => Buffer.AsSpan(Length);
        public int Pending { get; set; }
    }
}
