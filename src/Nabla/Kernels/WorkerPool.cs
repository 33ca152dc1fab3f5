using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Nabla.Kernels;

/// <summary>
/// A loop body for <see cref="WorkerPool.ParallelFor{TBody}(int, TBody)"/>. Implement it on a
/// struct: the pool calls <see cref="Invoke"/> on one shared copy from several threads at once, so
/// the struct's fields must only be read, and each index must write to memory no other index touches.
/// </summary>
public interface IParallelForBody
{
    /// <summary>Runs iteration <paramref name="index"/> (0 ≤ index &lt; count).</summary>
    void Invoke(int index);
}

/// <summary>
/// A small persistent pool of worker threads for kernel-sized parallel loops.
/// </summary>
/// <remarks>
/// <para>
/// Why not <c>Parallel.For</c>: on the 2-core machines this library targets it costs 18 µs per call
/// back to back and about 140 µs after a short idle gap, while a training step issues dozens of
/// kernel calls of a few hundred microseconds each. The workers here spin on a shared ticket for a
/// short while after each job (answering a new one within about a microsecond, and yielding the
/// core to anything else that wants it meanwhile), then block on a semaphore, so an idle process
/// does not burn a core. Work is claimed dynamically, so a worker that is late or descheduled just
/// does less of it.
/// </para>
/// <para>
/// Protocol: one job at a time. The caller publishes the job (function pointer, state pointer,
/// count) and then a 64-bit <em>ticket</em> = generation ≪ 32 | next index. Every participant,
/// the calling thread included, claims indices by compare-and-swap on the ticket, which also checks
/// that the generation is still the one whose job fields it read; a job's fields are only rewritten
/// after its generation has been closed (made odd), so a late worker can never run a stale body.
/// The caller returns when every index has finished.
/// </para>
/// <para>
/// A call made while the pool is already running a job (from another thread, or re-entrantly from
/// inside a body) runs serially on the calling thread instead of waiting. Workers are background
/// threads: they never keep the process alive.
/// </para>
/// </remarks>
public static unsafe class WorkerPool
{
    private const int MaxThreads = 256;

    // How long an idle worker spins before blocking. Long enough to bridge the gaps between the
    // kernel calls of one training step, short enough not to steal a core from anyone for long.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    // How long a caller that has run out of indices spins for the others to finish before blocking.
    private static readonly long CallerSpinTicks = Stopwatch.Frequency / 20000; // 50 µs
    private static int _callerSleeping;
    private static readonly SemaphoreSlim _callerWake = new(0);

    private static int _threads = Math.Clamp(Environment.ProcessorCount, 1, MaxThreads);

    // In a browser (WebAssembly) there is one thread: never start workers there, every loop runs serially.
    private static readonly bool SingleThreaded = OperatingSystem.IsBrowser();

    // Job state, written by the caller that holds _busy while the generation is odd (closed).
    private static long _ticket;
    private static delegate*<void*, int, void> _fn;
    private static void* _state;
    private static int _count;
    private static int _workersWanted;
    private static int _done;
    private static Exception? _error;

    private static int _busy;
    private static readonly object _growLock = new();
    private static Worker[] _workers = [];

    /// <summary>
    /// The maximum number of threads (the calling thread included) a parallel loop uses.
    /// Defaults to <see cref="Environment.ProcessorCount"/>; 1 makes every loop serial.
    /// Values are clamped to [1, 256]. Always 1 in a browser (WebAssembly), where no worker thread is started.
    /// On a thread whose training step a <see cref="ThreadCountGovernor"/> has moved to one thread, 1 during that step.
    /// </summary>
    public static int Threads
    {
        get
        {
            int configured = ConfiguredThreads;
            int cap = _threadCap;
            return cap > 0 && cap < configured ? cap : configured;
        }
        set => Volatile.Write(ref _threads, Math.Clamp(value, 1, MaxThreads));
    }

    /// <summary><see cref="Threads"/> as set, without the calling thread's cap.</summary>
    internal static int ConfiguredThreads => SingleThreaded ? 1 : Volatile.Read(ref _threads);

    /// <summary>
    /// At most this many threads for the loops the calling thread starts (0: no cap). Per thread, so
    /// that a governed training loop does not change the loops of other threads.
    /// </summary>
    internal static int ThreadCap
    {
        get => _threadCap;
        set => _threadCap = Math.Max(0, value);
    }

    [ThreadStatic] private static int _threadCap;

    /// <summary>
    /// Runs <paramref name="body"/>.Invoke(i) for every i in [0, <paramref name="count"/>) on up to
    /// <see cref="Threads"/> threads, the calling thread included, and returns when all are done.
    /// Indices are handed out dynamically, so a body should do a similar amount of work per index
    /// (or there should be several indices per thread). The first exception thrown by a body is
    /// rethrown here after every index has finished.
    /// </summary>
    /// <typeparam name="TBody">A struct: the call is specialised and allocates nothing.</typeparam>
    public static void ParallelFor<TBody>(int count, TBody body) where TBody : struct, IParallelForBody
        => ParallelFor(count, body, Threads);

    /// <summary>
    /// <see cref="ParallelFor{TBody}(int, TBody)"/> on at most <paramref name="maxThreads"/> threads
    /// (which may exceed <see cref="Threads"/>: kernels that have already decided how to split their
    /// work pass their own count).
    /// </summary>
    internal static void ParallelFor<TBody>(int count, TBody body, int maxThreads) where TBody : struct, IParallelForBody
    {
        if (count <= 0) return;
        int threads = Math.Min(Math.Min(maxThreads, MaxThreads), count);
        if (threads <= 1 || SingleThreaded || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body.Invoke(i);
            return;
        }
        try
        {
            // `body` is a parameter on this frame: its address stays valid until we return, and the
            // GC still reports any references it holds.
            Run(count, threads, &Trampoline<TBody>, Unsafe.AsPointer(ref body));
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Delegate form of <see cref="ParallelFor{TBody}(int, TBody)"/>, for code that is not hot
    /// enough to care about the closure allocation.
    /// </summary>
    public static void ParallelFor(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        ParallelFor(count, new DelegateBody(body));
    }

    private readonly struct DelegateBody(Action<int> body) : IParallelForBody
    {
        public void Invoke(int index) => body(index);
    }

    // Each thread invokes its own copy of the body: the original lives in the calling thread's stack
    // frame, and reading its fields from another core in a hot loop would share cache lines with
    // whatever the caller writes next to it (false sharing).
    private static void Trampoline<TBody>(void* state, int index) where TBody : struct, IParallelForBody
    {
        TBody body = Unsafe.AsRef<TBody>(state);
        body.Invoke(index);
    }

    private static void Run(int count, int threads, delegate*<void*, int, void> fn, void* state)
    {
        int wanted = threads - 1;
        Worker[] workers = EnsureWorkers(wanted);

        // Close the current generation (odd, next index past any count) so that no worker claims an
        // index while the job fields are rewritten, then publish the new even generation.
        long gen = (Volatile.Read(ref _ticket) >> 32) | 1;
        Interlocked.Exchange(ref _ticket, (gen << 32) | int.MaxValue);
        _fn = fn;
        _state = state;
        _count = count;
        _workersWanted = wanted;
        _done = 0;
        _error = null;
        gen = (gen + 1) & 0x7FFF_FFFF; // stays even; the ticket stays non-negative
        Interlocked.Exchange(ref _ticket, gen << 32);

        for (int w = 0; w < wanted; w++) workers[w].Wake();

        RunIndices(gen, fn, state, count, participant: 0, threads);

        WaitForCompletion(count);

        Exception? error = _error;
        _error = null;
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>
    /// Waits until every index has finished. Only indices that some thread has already claimed can be
    /// outstanding, so this waits for running bodies, never for a sleeping worker. It spins briefly,
    /// then blocks: if the worker holding the last index was preempted by another process on its
    /// core, a spinning caller would keep this core busy and the scheduler could not move the worker
    /// here; observed as 2-thread calls several times slower than 1-thread ones on a loaded machine.
    /// </summary>
    private static void WaitForCompletion(int count)
    {
        long deadline = Stopwatch.GetTimestamp() + CallerSpinTicks;
        int i = 0;
        while (Volatile.Read(ref _done) < count)
        {
            if ((++i & 7) == 0) Thread.Yield();
            else Thread.SpinWait(4);
            if ((i & 63) != 0 || Stopwatch.GetTimestamp() < deadline) continue;

            // Same handshake as the workers' sleep: whoever changes the flag back owns the release.
            Interlocked.Exchange(ref _callerSleeping, 1);
            if (Volatile.Read(ref _done) >= count)
            {
                if (Interlocked.Exchange(ref _callerSleeping, 0) == 0) _callerWake.Wait();
                return;
            }
            _callerWake.Wait();
        }
    }

    /// <summary>Called after each finished index: wakes a blocked caller when it was the last one.</summary>
    private static void Finished(int count)
    {
        if (Interlocked.Increment(ref _done) == count
            && Volatile.Read(ref _callerSleeping) == 1 && Interlocked.Exchange(ref _callerSleeping, 0) == 1)
            _callerWake.Release();
    }

    /// <summary>
    /// Claims and runs indices of generation <paramref name="gen"/> until none are left, as
    /// participant <paramref name="participant"/> of <paramref name="participants"/> (the caller is 0).
    /// </summary>
    private static void RunIndices(long gen, delegate*<void*, int, void> fn, void* state, int count,
        int participant, int participants)
    {
        if (count <= MaxHomedCount)
        {
            RunHomedIndices(gen, fn, state, count, participant, participants);
            return;
        }
        while (true)
        {
            long t = Volatile.Read(ref _ticket);
            if ((t >> 32) != gen || (int)t >= count) return;
            if (Interlocked.CompareExchange(ref _ticket, t + 1, t) != t) continue;
            RunOne(fn, state, (int)t, count);
        }
    }

    /// <summary>Jobs of at most this many indices give each participant a home range (see <see cref="PickIndex"/>).</summary>
    internal const int MaxHomedCount = 31;

    /// <summary>
    /// <see cref="RunIndices"/> for a job of at most <see cref="MaxHomedCount"/> indices: the ticket's
    /// low bits are the set of claimed indices, and each participant first takes the indices of its own
    /// range (<see cref="PickIndex"/>). So the same participant runs the same share of a buffer on every
    /// call: an optimiser's moments, a GEMM's packed panel or a layer's gradient stay in that core's
    /// cache from one training step to the next. With first-come claiming a spinning worker could take
    /// the caller's share. While the host placed the two vCPUs far apart (a cache line's round trip
    /// 300+ ns instead of 60–80), Adam alone over 235K weights kept its 2-thread speed with homed
    /// shares (session 10); inside a training step it still slows, as its gradients come from other work.
    /// </summary>
    private static void RunHomedIndices(long gen, delegate*<void*, int, void> fn, void* state, int count,
        int participant, int participants)
    {
        while (true)
        {
            long t = Volatile.Read(ref _ticket);
            if ((t >> 32) != gen) return;
            int index = PickIndex((uint)t, count, participant, participants);
            if (index < 0) return;
            if (Interlocked.CompareExchange(ref _ticket, t | (1L << index), t) != t) continue;
            RunOne(fn, state, index, count);
        }
    }

    /// <summary>
    /// The index participant <paramref name="participant"/> claims next, given the set
    /// <paramref name="claimed"/> of indices already claimed, or −1 when all <paramref name="count"/>
    /// are. Participant p's home is the contiguous range [p·count/P, (p+1)·count/P), taken in order;
    /// once it is used up, the participant takes the last unclaimed index of the job, which is the far
    /// end of somebody else's range, the part its owner would reach last.
    /// </summary>
    internal static int PickIndex(uint claimed, int count, int participant, int participants)
    {
        uint all = (uint)((1L << count) - 1);
        uint free = ~claimed & all;
        if (free == 0) return -1;
        int lo = (int)((long)participant * count / participants);
        int hi = (int)((long)(participant + 1) * count / participants);
        uint home = free & (uint)((1L << hi) - (1L << lo));
        return home != 0 ? System.Numerics.BitOperations.TrailingZeroCount(home) : 31 - System.Numerics.BitOperations.LeadingZeroCount(free);
    }

    private static void RunOne(delegate*<void*, int, void> fn, void* state, int index, int count)
    {
        try
        {
            fn(state, index);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
        }
        finally
        {
            Finished(count);
        }
    }

    private static Worker[] EnsureWorkers(int wanted)
    {
        Worker[] workers = Volatile.Read(ref _workers);
        if (workers.Length >= wanted) return workers;
        lock (_growLock)
        {
            workers = _workers;
            if (workers.Length >= wanted) return workers;
            var grown = new Worker[wanted];
            Array.Copy(workers, grown, workers.Length);
            for (int i = workers.Length; i < wanted; i++) grown[i] = new Worker(i);
            Volatile.Write(ref _workers, grown);
            return grown;
        }
    }

    /// <summary>Whether a parallel loop is running on the pool now (calls made meanwhile run serially).</summary>
    internal static bool IsBusy => Volatile.Read(ref _busy) != 0;

    /// <summary>The worker threads started so far (for tests and diagnostics).</summary>
    internal static IReadOnlyList<Thread> WorkerThreads => [.. Volatile.Read(ref _workers).Select(w => w.Thread)];

    private sealed class Worker
    {
        private readonly int _id;
        private readonly SemaphoreSlim _wake = new(0);
        private int _sleeping;

        public Worker(int id)
        {
            _id = id;
            Thread = new Thread(Loop, 256 * 1024)
            {
                IsBackground = true,
                Name = $"Nabla worker {id + 1}",
            };
            Thread.Start();
        }

        public Thread Thread { get; }

        /// <summary>Called by the job's caller after publishing the ticket.</summary>
        public void Wake()
        {
            // Dekker pairing with the worker: the caller wrote the ticket (full fence) before reading
            // _sleeping; the worker writes _sleeping (full fence) before re-reading the ticket. The
            // exchange makes exactly one side responsible for the semaphore count.
            if (Volatile.Read(ref _sleeping) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1)
                _wake.Release();
        }

        private void Loop()
        {
            long seen = -2; // matches no generation: a worker started mid-job may join it
            while (true)
            {
                long gen = WaitForJob(seen);
                seen = gen;
                // These reads are validated by the compare-and-swap in RunIndices: if the job was
                // closed in between, the generation no longer matches and nothing runs.
                var fn = _fn;
                void* state = _state;
                int count = _count;
                int wanted = Volatile.Read(ref _workersWanted);
                if (_id >= wanted) continue;
                RunIndices(gen, fn, state, count, participant: _id + 1, participants: wanted + 1);
            }
        }

        private static bool IsNew(long ticket, long seen)
        {
            long gen = ticket >> 32;
            return gen != seen && (gen & 1) == 0;
        }

        private long WaitForJob(long seen)
        {
            while (true)
            {
                // Spin, but yield the core on every round: on an idle core sched_yield returns at
                // once (a new job is still seen within about a microsecond), while on a busy one
                // (another process, or this process's own threads under CFS group scheduling) the
                // spinning worker no longer takes time from threads doing real work. Measured on a
                // 2-core machine with the other core busy: pure spinning made 2-thread GEMM calls
                // 2-3× slower than 1-thread ones; yielding brings them back to par.
                long deadline = Stopwatch.GetTimestamp() + SpinTicks;
                while (true)
                {
                    long t = Volatile.Read(ref _ticket);
                    if (IsNew(t, seen)) return t >> 32;
                    Thread.Yield();
                    if (Stopwatch.GetTimestamp() > deadline) break;
                }

                Interlocked.Exchange(ref _sleeping, 1);
                long t2 = Volatile.Read(ref _ticket);
                if (IsNew(t2, seen))
                {
                    // If a caller already took the flag it has released (or will release) the
                    // semaphore for us: consume that release so the count stays balanced.
                    if (Interlocked.Exchange(ref _sleeping, 0) == 0) _wake.Wait();
                    return t2 >> 32;
                }
                _wake.Wait();
            }
        }
    }
}
