using System.Diagnostics;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.ExceptionServices;

namespace Nabla.Distributed;

/// <summary>
/// Ranks as threads of one process, sharing memory: for data-parallel training on one machine and for
/// tests of distributed code without MPI. <see cref="Run"/> starts one thread per rank.
/// </summary>
/// <remarks>
/// A collective copies each rank's data into a shared slot, waits at a barrier, and then every rank
/// reduces its own slice of the elements (so an all-reduce of a large buffer is spread over the ranks'
/// threads) in rank order 0, 1, …, which makes the result independent of timing and the same, bit for
/// bit, on every rank. Two sets of slots alternate between consecutive collectives so that one barrier
/// separates a collective's writes from its reads (an all-reduce needs two). A rank that throws, leaves
/// early or does not arrive at a barrier within <see cref="Timeout"/> makes every other rank's pending
/// and later collectives throw <see cref="CommunicatorException"/>.
/// </remarks>
public sealed class InProcessCommunicator : ICommunicator
{
    /// <summary>The timeout used when none is given: two minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    private readonly Group group;
    private long sequence;

    private InProcessCommunicator(Group group, int rank)
    {
        this.group = group;
        Rank = rank;
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int WorldSize => group.Size;

    /// <inheritdoc/>
    public TimeSpan Timeout => group.Timeout;

    /// <inheritdoc/>
    public string Description => $"in-process ({group.Size} threads)";

    /// <summary>
    /// A group of <paramref name="worldSize"/> communicators, one per rank, for threads the caller
    /// starts itself (<see cref="Run"/> does that for you).
    /// </summary>
    public static InProcessCommunicator[] Create(int worldSize, TimeSpan? timeout = null)
    {
        if (worldSize < 1 || worldSize > 4096)
            throw new ArgumentOutOfRangeException(nameof(worldSize), worldSize, "InProcessCommunicator: the world size must be from 1 to 4096.");
        var t = timeout ?? DefaultTimeout;
        if (t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), t, "InProcessCommunicator: the timeout must be positive.");
        var g = new Group(worldSize, t);
        var comms = new InProcessCommunicator[worldSize];
        for (int r = 0; r < worldSize; r++) comms[r] = new InProcessCommunicator(g, r);
        return comms;
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="worldSize"/> threads, one per rank, and waits for them.</summary>
    /// <exception cref="CommunicatorException">A rank did not answer within the timeout.</exception>
    /// <remarks>When a rank throws, that exception (the first failure, not the other ranks' reactions to it) is rethrown here.</remarks>
    public static void Run(int worldSize, Action<ICommunicator> body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run<object?>(worldSize, c => { body(c); return null; }, timeout);
    }

    /// <summary>Runs <paramref name="body"/> on one thread per rank and returns each rank's result, in rank order.</summary>
    /// <inheritdoc cref="Run(int, Action{ICommunicator}, TimeSpan?)"/>
    public static T[] Run<T>(int worldSize, Func<ICommunicator, T> body, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var comms = Create(worldSize, timeout);
        var g = comms[0].group;
        var results = new T[worldSize];
        var finished = new CountdownEvent(worldSize); // not disposed: an abandoned rank may still signal it
        var threads = new Thread[worldSize];
        for (int r = 0; r < worldSize; r++)
        {
            var comm = comms[r];
            threads[r] = new Thread(() =>
            {
                try
                {
                    results[comm.Rank] = body(comm);
                    g.Leave(comm.Rank);
                }
                catch (Exception e)
                {
                    g.Fail(comm.Rank, e);
                }
                finally
                {
                    finished.Signal();
                }
            }, maxStackSize: 16 << 20)
            { IsBackground = true, Name = $"nabla rank {r}" };
        }
        foreach (var t in threads) t.Start();

        // Wait for every rank; once one has failed, give the others a moment to notice and stop, but
        // never wait for a rank that hangs outside a collective (its thread is left running in the background).
        WaitHandle[] handles = [finished.WaitHandle, g.Failed];
        if (WaitHandle.WaitAny(handles) == 1)
            finished.Wait(TimeSpan.FromMilliseconds(Math.Min(g.Timeout.TotalMilliseconds, 5000)));
        if (g.FirstFailure is { } failure)
        {
            if (!finished.IsSet)
            {
                var hung = Enumerable.Range(0, worldSize).Where(r => threads[r].IsAlive).ToList();
                if (failure is CommunicatorException)
                    throw new CommunicatorException($"{failure.Message} Rank(s) {string.Join(", ", hung)} did not stop and were abandoned.", failure.InnerException);
            }
            ExceptionDispatchInfo.Throw(failure);
        }
        return results;
    }

    /// <inheritdoc/>
    public void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum) => AllReduceCore(data, op, "AllReduce(float)");

    /// <inheritdoc/>
    public void AllReduce(Span<double> data, ReduceOp op = ReduceOp.Sum) => AllReduceCore(data, op, "AllReduce(double)");

    /// <inheritdoc/>
    public void AllReduce(Span<int> data, ReduceOp op = ReduceOp.Sum)
    {
        Collective.CheckIntegerOp(op, "int");
        AllReduceCore(data, op, "AllReduce(int)");
    }

    /// <inheritdoc/>
    public void AllReduce(Span<long> data, ReduceOp op = ReduceOp.Sum)
    {
        Collective.CheckIntegerOp(op, "long");
        AllReduceCore(data, op, "AllReduce(long)");
    }

    private void AllReduceCore<T>(Span<T> data, ReduceOp op, string name) where T : unmanaged, INumber<T>
    {
        int set = NextSet();
        int n = data.Length, size = WorldSize;
        data.CopyTo(group.Slot<T>(set, Rank, n));
        group.Arrive(Rank, name, n, 0);

        // This rank reduces elements [lo, hi) of every slot into slot 0, in rank order.
        int lo = (int)((long)n * Rank / size), hi = (int)((long)n * (Rank + 1) / size);
        if (hi > lo)
        {
            var acc = ((T[])group.SlotArray(set, 0)).AsSpan(lo, hi - lo);
            for (int r = 1; r < size; r++)
            {
                var other = ((T[])group.SlotArray(set, r)).AsSpan(lo, hi - lo);
                switch (op)
                {
                    case ReduceOp.Sum or ReduceOp.Mean: TensorPrimitives.Add(acc, other, acc); break;
                    case ReduceOp.Max: TensorPrimitives.Max(acc, other, acc); break;
                    case ReduceOp.Min: TensorPrimitives.Min(acc, other, acc); break;
                    default: throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: unknown reduction.");
                }
            }
            if (op == ReduceOp.Mean) TensorPrimitives.Divide(acc, T.CreateChecked(size), acc);
        }
        group.Arrive(Rank, name + " (reduced)", n, 0);
        ((T[])group.SlotArray(set, 0)).AsSpan(0, n).CopyTo(data);
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root = 0)
    {
        Collective.CheckRoot(this, root);
        int set = NextSet();
        if (Rank == root) data.CopyTo(group.Slot<float>(set, Rank, data.Length));
        group.Arrive(Rank, "Broadcast(float)", data.Length, root);
        if (Rank != root) ((float[])group.SlotArray(set, root)).AsSpan(0, data.Length).CopyTo(data);
    }

    /// <inheritdoc/>
    public void AllGather(ReadOnlySpan<float> send, Span<float> receive)
    {
        Collective.CheckGather(this, send.Length, receive.Length);
        int set = NextSet();
        int n = send.Length;
        send.CopyTo(group.Slot<float>(set, Rank, n));
        group.Arrive(Rank, "AllGather(float)", n, 0);
        for (int r = 0; r < WorldSize; r++)
            ((float[])group.SlotArray(set, r)).AsSpan(0, n).CopyTo(receive.Slice(r * n, n));
    }

    /// <inheritdoc/>
    public void Barrier()
    {
        NextSet();
        group.Arrive(Rank, "Barrier", 0, 0);
    }

    /// <summary>Does nothing: the group lives as long as its threads use it.</summary>
    public void Dispose() { }

    private int NextSet() => (int)(sequence++ & 1);

    /// <summary>The state the ranks of one group share.</summary>
    private sealed class Group(int size, TimeSpan timeout)
    {
        private readonly object gate = new();
        private readonly Array?[,] slots = new Array?[2, size];
        private readonly (string Op, int Count, int Root)[] posted = new (string, int, int)[size];
        private readonly bool[] arrived = new bool[size];
        private readonly bool[] left = new bool[size];
        private int count;
        private long generation;
        private string? failure;

        public int Size { get; } = size;
        public TimeSpan Timeout { get; } = timeout;
        public ManualResetEvent Failed { get; } = new(false);
        public Exception? FirstFailure { get; private set; }

        /// <summary>This rank's slot of the given set, at least <paramref name="n"/> long (only its own rank writes the reference).</summary>
        public T[] Slot<T>(int set, int rank, int n)
        {
            if (slots[set, rank] is T[] a && a.Length >= n) return a;
            var fresh = new T[Math.Max(n, 1)];
            lock (gate) slots[set, rank] = fresh;
            return fresh;
        }

        public Array SlotArray(int set, int rank) => slots[set, rank]!;

        /// <summary>
        /// The barrier of every collective: records what this rank called, waits for all ranks, and
        /// checks that they all called the same thing. Fails the group on a timeout.
        /// </summary>
        public void Arrive(int rank, string op, int count, int root)
        {
            lock (gate)
            {
                ThrowIfFailed();
                posted[rank] = (op, count, root);
                arrived[rank] = true;
                long gen = generation;
                if (++this.count == Size)
                {
                    // The last to arrive checks that every rank called the same collective (the others may
                    // post their next call as soon as this barrier opens, so only now is the record complete).
                    for (int r = 0; r < Size; r++)
                        if (posted[r] != posted[0])
                            throw FailLocked(new CommunicatorException(
                                $"mismatched collectives: rank 0 called {Describe(posted[0])} while rank {r} called {Describe(posted[r])}."));
                    this.count = 0;
                    Array.Clear(arrived);
                    generation++;
                    Monitor.PulseAll(gate);
                }
                else
                {
                    var clock = Stopwatch.StartNew();
                    while (generation == gen)
                    {
                        ThrowIfFailed();
                        var missing = Enumerable.Range(0, Size).Where(r => !arrived[r]).ToList();
                        if (missing.Any(r => left[r]))
                            throw FailLocked(new CommunicatorException(
                                $"rank {rank} waits in {op}, but rank(s) {string.Join(", ", missing.Where(r => left[r]))} already finished: the ranks made different collective calls."));
                        var remaining = Timeout - clock.Elapsed;
                        if (remaining <= TimeSpan.Zero)
                            throw FailLocked(new CommunicatorException(
                                $"rank {rank} waited {Timeout.TotalSeconds:G3} s in {op} for rank(s) {string.Join(", ", missing)}, which did not arrive: they hang or died."));
                        Monitor.Wait(gate, remaining);
                    }
                    ThrowIfFailed();
                }
            }
        }

        private static string Describe((string Op, int Count, int Root) p) =>
            p.Op.StartsWith("Broadcast", StringComparison.Ordinal) ? $"{p.Op} of {p.Count} from rank {p.Root}" : $"{p.Op} of {p.Count}";

        /// <summary>A rank's body threw: every other rank's collectives fail from now on.</summary>
        public void Fail(int rank, Exception e)
        {
            lock (gate)
            {
                if (failure is not null) return; // the first failure is the cause; the rest are reactions to it
                FirstFailure = e;
                failure = e is CommunicatorException ? e.Message : $"rank {rank} failed: {e.GetType().Name}: {e.Message}";
                Monitor.PulseAll(gate);
            }
            Failed.Set();
        }

        /// <summary>A rank's body returned: ranks still waiting for it can never complete.</summary>
        public void Leave(int rank)
        {
            lock (gate)
            {
                left[rank] = true;
                Monitor.PulseAll(gate);
            }
        }

        private CommunicatorException FailLocked(CommunicatorException e)
        {
            if (failure is null)
            {
                FirstFailure = e;
                failure = e.Message;
                Failed.Set();
            }
            Monitor.PulseAll(gate);
            return e;
        }

        private void ThrowIfFailed()
        {
            if (failure is not null) throw new CommunicatorException($"the distributed group stopped: {failure}");
        }
    }
}
