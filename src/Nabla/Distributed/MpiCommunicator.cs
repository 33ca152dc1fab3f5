using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Nabla.Distributed;

/// <summary>
/// The ranks of an MPI job (<c>mpirun -np N …</c>, Slurm's <c>srun</c>), through the system's MPI library
/// (Open MPI or an MPICH-ABI library: MPICH, Intel MPI, MVAPICH, Cray MPICH) loaded at run time:
/// nothing MPI is needed to build or to run without it.
/// </summary>
/// <remarks>
/// <para>
/// The library is found by its standard names (<c>libmpi.so.40</c> for Open MPI; <c>libmpi.so.12</c> or
/// <c>libmpich.so.12</c> for MPICH), or at the path in the <c>NABLA_MPI_LIBRARY</c> environment variable.
/// The two families differ in their handles: Open MPI's <c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>,
/// <c>MPI_SUM</c>… are addresses of exported objects (<c>ompi_mpi_comm_world</c>…), MPICH's are integer
/// constants fixed by its ABI; both are handled.
/// </para>
/// <para>
/// MPI can be initialised once per process: <see cref="Initialize"/> returns the one world communicator
/// and its <see cref="Dispose"/> finalises MPI for good. MPI calls are serialised by a lock (the library is
/// asked for <c>MPI_THREAD_SERIALIZED</c>), so gradient buckets may be reduced from a background thread.
/// A watchdog thread ends the whole job with <c>MPI_Abort</c> and a message naming the collective when
/// one waits longer than <see cref="Timeout"/>: a rank that hangs or dies never leaves the others
/// waiting forever (a rank that exits is normally noticed by mpirun itself, which stops the job).
/// </para>
/// </remarks>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    /// <summary>The timeout used when none is given: five minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Exit code of a job aborted by the watchdog.</summary>
    public const int WatchdogExitCode = 4;

    private static readonly object initLock = new();
    private static MpiCommunicator? world;

    private readonly MpiApi api;
    private readonly object callLock = new();
    private readonly Thread watchdog;
    private long opStarted; // Stopwatch timestamp of the collective in flight, 0 when idle
    private string opName = "";
    private volatile bool disposed;

    private MpiCommunicator(MpiApi api, string libraryPath, TimeSpan timeout)
    {
        this.api = api;
        Timeout = timeout;
        Rank = api.Rank();
        WorldSize = api.Size();
        LibraryPath = libraryPath;
        watchdog = new Thread(Watch) { IsBackground = true, Name = "nabla MPI watchdog" };
        watchdog.Start();
    }

    /// <inheritdoc/>
    public int Rank { get; }

    /// <inheritdoc/>
    public int WorldSize { get; }

    /// <inheritdoc/>
    public TimeSpan Timeout { get; }

    /// <summary>The MPI library in use.</summary>
    public string LibraryPath { get; }

    /// <summary>"Open MPI" or "MPICH ABI".</summary>
    public string Family => api.Family;

    /// <inheritdoc/>
    public string Description => $"MPI ({Family}, {LibraryPath}, {WorldSize} ranks)";

    /// <summary>The standard names tried, in order, when NABLA_MPI_LIBRARY is not set.</summary>
    public static readonly string[] LibraryNames = ["libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so", "libmpich.so"];

    /// <summary>Whether this process looks as if an MPI launcher (mpirun, mpiexec, srun) started it.</summary>
    public static bool LaunchedByMpi =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null
        || Environment.GetEnvironmentVariable("PMI_SIZE") is not null
        || Environment.GetEnvironmentVariable("PMIX_RANK") is not null
        || Environment.GetEnvironmentVariable("MPI_LOCALNRANKS") is not null
        || Environment.GetEnvironmentVariable("SLURM_PROCID") is not null && Environment.GetEnvironmentVariable("SLURM_NTASKS") is not null;

    /// <summary>Whether an MPI library can be loaded (without initialising it).</summary>
    public static bool IsAvailable => TryLoad(out var handle, out _, out _) && Release(handle);

    private static bool Release(nint handle)
    {
        NativeLibrary.Free(handle);
        return true;
    }

    /// <summary>
    /// Loads the MPI library, initialises MPI and returns the world communicator (the same one on
    /// every call until it is disposed).
    /// </summary>
    /// <exception cref="DllNotFoundException">No MPI library is installed: the message says what to install.</exception>
    public static MpiCommunicator Initialize(TimeSpan? timeout = null)
    {
        lock (initLock)
        {
            if (world is not null) return world;
            if (!TryLoad(out var handle, out string path, out string tried))
                throw new DllNotFoundException(
                    $"distributed training needs an MPI library, and none was found (tried {tried}). Install Open MPI " +
                    "(Debian/Ubuntu: apt-get install openmpi-bin) or MPICH, launch with `mpirun -np N nabla train --distributed …`, " +
                    "or set NABLA_MPI_LIBRARY to the library's path. To use the cores of one machine without MPI, use --data-parallel N.");
            var api = NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _)
                ? (MpiApi)new OpenMpiApi(handle)
                : new MpichApi(handle);
            api.Init();
            var t = timeout ?? DefaultTimeout;
            if (t <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), t, "MpiCommunicator: the timeout must be positive.");
            world = new MpiCommunicator(api, path, t);
            return world;
        }
    }

    private static bool TryLoad(out nint handle, out string path, out string tried)
    {
        string? env = Environment.GetEnvironmentVariable("NABLA_MPI_LIBRARY");
        string[] names = string.IsNullOrWhiteSpace(env) ? OrderedNames() : [env];
        tried = string.Join(", ", names);
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out handle))
            {
                path = name;
                return true;
            }
        }
        handle = 0;
        path = "";
        return false;
    }

    // Under MPICH's launcher (hydra sets PMI_SIZE, Open MPI's sets OMPI_*) try the MPICH names first,
    // so that a machine with both libraries loads the one that matches mpirun.
    private static string[] OrderedNames() =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is null && Environment.GetEnvironmentVariable("PMI_SIZE") is not null
            ? ["libmpi.so.12", "libmpich.so.12", "libmpi.so.40", "libmpi.so", "libmpich.so"]
            : LibraryNames;

    /// <inheritdoc/>
    public void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum)
    {
        fixed (float* p = data) Reduce("AllReduce(float)", p, data.Length, MpiType.Float, op);
        if (op == ReduceOp.Mean) System.Numerics.Tensors.TensorPrimitives.Divide(data, (float)WorldSize, data);
    }

    /// <inheritdoc/>
    public void AllReduce(Span<double> data, ReduceOp op = ReduceOp.Sum)
    {
        fixed (double* p = data) Reduce("AllReduce(double)", p, data.Length, MpiType.Double, op);
        if (op == ReduceOp.Mean) System.Numerics.Tensors.TensorPrimitives.Divide(data, (double)WorldSize, data);
    }

    /// <inheritdoc/>
    public void AllReduce(Span<int> data, ReduceOp op = ReduceOp.Sum)
    {
        Collective.CheckIntegerOp(op, "int");
        fixed (int* p = data) Reduce("AllReduce(int)", p, data.Length, MpiType.Int, op);
    }

    /// <inheritdoc/>
    public void AllReduce(Span<long> data, ReduceOp op = ReduceOp.Sum)
    {
        Collective.CheckIntegerOp(op, "long");
        fixed (long* p = data) Reduce("AllReduce(long)", p, data.Length, MpiType.Long, op);
    }

    private void Reduce(string name, void* data, int count, MpiType type, ReduceOp op)
    {
        var mpiOp = op switch
        {
            ReduceOp.Sum or ReduceOp.Mean => MpiOp.Sum,
            ReduceOp.Max => MpiOp.Max,
            ReduceOp.Min => MpiOp.Min,
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, $"{name}: unknown reduction."),
        };
        if (count == 0) return;
        Call(name, () => api.AllReduceInPlace(data, count, type, mpiOp));
    }

    /// <inheritdoc/>
    public void Broadcast(Span<float> data, int root = 0)
    {
        Collective.CheckRoot(this, root);
        if (data.IsEmpty) return;
        fixed (float* p = data)
        {
            float* q = p;
            int n = data.Length;
            Call("Broadcast(float)", () => api.Broadcast(q, n, MpiType.Float, root));
        }
    }

    /// <inheritdoc/>
    public void AllGather(ReadOnlySpan<float> send, Span<float> receive)
    {
        Collective.CheckGather(this, send.Length, receive.Length);
        if (send.IsEmpty) return;
        fixed (float* s = send)
        fixed (float* r = receive)
        {
            float* ss = s, rr = r;
            int n = send.Length;
            Call("AllGather(float)", () => api.AllGather(ss, rr, n));
        }
    }

    /// <inheritdoc/>
    public void Barrier() => Call("Barrier", api.Barrier);

    private void Call(string name, Func<int> mpiCall)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        lock (callLock)
        {
            opName = name;
            Volatile.Write(ref opStarted, Stopwatch.GetTimestamp());
            int rc;
            try
            {
                rc = mpiCall();
            }
            finally
            {
                Volatile.Write(ref opStarted, 0);
            }
            if (rc != 0) throw new CommunicatorException($"rank {Rank}: MPI {name} failed: {api.ErrorString(rc)} (code {rc}).");
        }
    }

    private void Watch()
    {
        while (!disposed)
        {
            Thread.Sleep(250);
            long started = Volatile.Read(ref opStarted);
            if (started == 0 || disposed) continue;
            var waited = Stopwatch.GetElapsedTime(started);
            if (waited < Timeout) continue;
            Console.Error.WriteLine(
                $"error: rank {Rank} of {WorldSize}: {opName} has waited {waited.TotalSeconds:F0} s for the other ranks (timeout {Timeout.TotalSeconds:G4} s): " +
                "a rank hangs or died. Aborting the job (MPI_Abort); resume it from its last checkpoint.");
            Console.Error.Flush();
            api.Abort(WatchdogExitCode);
            Environment.Exit(WatchdogExitCode); // MPI_Abort should not return; make sure this process does not hang either
        }
    }

    /// <summary>
    /// Ends the whole job at once with <paramref name="exitCode"/> (MPI_Abort): what a rank does when it fails
    /// and the others must not wait for it.
    /// </summary>
    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        api.Abort(exitCode);
        Environment.Exit(exitCode);
    }

    /// <summary>Finalises MPI (after a barrier); MPI cannot be used again in this process.</summary>
    public void Dispose()
    {
        lock (initLock)
        {
            if (disposed) return;
            disposed = true;
            lock (callLock) api.FinalizeMpi();
        }
    }

    internal enum MpiType { Float, Double, Int, Long }

    internal enum MpiOp { Sum, Max, Min }

    /// <summary>The dozen MPI calls used, over one of the two handle conventions.</summary>
    private abstract class MpiApi(nint lib)
    {
        private readonly delegate* unmanaged<int*, int> initialized = (delegate* unmanaged<int*, int>)Export(lib, "MPI_Initialized");
        private readonly delegate* unmanaged<int*, int> finalized = (delegate* unmanaged<int*, int>)Export(lib, "MPI_Finalized");
        private readonly delegate* unmanaged<int*, byte***, int, int*, int> initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export(lib, "MPI_Init_thread");
        private readonly delegate* unmanaged<int> finalize = (delegate* unmanaged<int>)Export(lib, "MPI_Finalize");
        private readonly delegate* unmanaged<int, byte*, int*, int> errorString = (delegate* unmanaged<int, byte*, int*, int>)Export(lib, "MPI_Error_string");

        public abstract string Family { get; }

        public void Init()
        {
            int flag;
            initialized(&flag);
            if (flag != 0) return; // the host application initialised MPI already
            int provided;
            const int Serialized = 2; // MPI_THREAD_SERIALIZED in both families
            int rc = initThread(null, null, Serialized, &provided);
            if (rc != 0) throw new CommunicatorException($"MPI_Init_thread failed with code {rc}.");
            ThreadLevel = provided;
        }

        /// <summary>The thread level MPI granted (2 = serialised calls from any thread).</summary>
        public int ThreadLevel { get; private set; } = 2;

        public void FinalizeMpi()
        {
            int flag;
            finalized(&flag);
            if (flag == 0) finalize();
        }

        public string ErrorString(int code)
        {
            var buf = stackalloc byte[1024];
            int len = 0;
            return errorString(code, buf, &len) == 0 ? System.Text.Encoding.ASCII.GetString(buf, Math.Clamp(len, 0, 1024)) : "unknown MPI error";
        }

        public abstract int Rank();
        public abstract int Size();
        public abstract int AllReduceInPlace(void* data, int count, MpiType type, MpiOp op);
        public abstract int Broadcast(void* data, int count, MpiType type, int root);
        public abstract int AllGather(void* send, void* receive, int count);
        public abstract int Barrier();
        public abstract void Abort(int code);

        protected static nint Export(nint lib, string name) =>
            NativeLibrary.TryGetExport(lib, name, out var p) ? p
                : throw new EntryPointNotFoundException($"the MPI library does not export {name}; is it an MPI-3 implementation?");
    }

    /// <summary>Open MPI: handles are pointers to exported objects; MPI_IN_PLACE is (void*)1.</summary>
    private sealed class OpenMpiApi(nint lib) : MpiApi(lib)
    {
        private static readonly void* InPlace = (void*)1;
        private readonly nint comm = Export(lib, "ompi_mpi_comm_world");
        private readonly nint[] types = [Export(lib, "ompi_mpi_float"), Export(lib, "ompi_mpi_double"), Export(lib, "ompi_mpi_int"), Export(lib, "ompi_mpi_long")];
        private readonly nint[] ops = [Export(lib, "ompi_mpi_op_sum"), Export(lib, "ompi_mpi_op_max"), Export(lib, "ompi_mpi_op_min")];
        private readonly delegate* unmanaged<nint, int*, int> commRank = (delegate* unmanaged<nint, int*, int>)Export(lib, "MPI_Comm_rank");
        private readonly delegate* unmanaged<nint, int*, int> commSize = (delegate* unmanaged<nint, int*, int>)Export(lib, "MPI_Comm_size");
        private readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export(lib, "MPI_Allreduce");
        private readonly delegate* unmanaged<void*, int, nint, int, nint, int> bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export(lib, "MPI_Bcast");
        private readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export(lib, "MPI_Allgather");
        private readonly delegate* unmanaged<nint, int> barrier = (delegate* unmanaged<nint, int>)Export(lib, "MPI_Barrier");
        private readonly delegate* unmanaged<nint, int, int> abort = (delegate* unmanaged<nint, int, int>)Export(lib, "MPI_Abort");

        public override string Family => "Open MPI";
        public override int Rank() { int r; commRank(comm, &r); return r; }
        public override int Size() { int s; commSize(comm, &s); return s; }
        public override int AllReduceInPlace(void* data, int count, MpiType type, MpiOp op) => allreduce(InPlace, data, count, types[(int)type], ops[(int)op], comm);
        public override int Broadcast(void* data, int count, MpiType type, int root) => bcast(data, count, types[(int)type], root, comm);
        public override int AllGather(void* send, void* receive, int count) => allgather(send, count, types[0], receive, count, types[0], comm);
        public override int Barrier() => barrier(comm);
        public override void Abort(int code) => abort(comm, code);
    }

    /// <summary>The MPICH ABI (MPICH, Intel MPI, MVAPICH, Cray): handles are int constants; MPI_IN_PLACE is (void*)-1.</summary>
    private sealed class MpichApi(nint lib) : MpiApi(lib)
    {
        private static readonly void* InPlace = (void*)-1;
        private const int Comm = 0x44000000;
        private static readonly int[] types = [0x4c00040a, 0x4c00080b, 0x4c000405, 0x4c000807]; // MPI_FLOAT, MPI_DOUBLE, MPI_INT, MPI_LONG
        private static readonly int[] ops = [0x58000003, 0x58000001, 0x58000002]; // MPI_SUM, MPI_MAX, MPI_MIN
        private readonly delegate* unmanaged<int, int*, int> commRank = (delegate* unmanaged<int, int*, int>)Export(lib, "MPI_Comm_rank");
        private readonly delegate* unmanaged<int, int*, int> commSize = (delegate* unmanaged<int, int*, int>)Export(lib, "MPI_Comm_size");
        private readonly delegate* unmanaged<void*, void*, int, int, int, int, int> allreduce = (delegate* unmanaged<void*, void*, int, int, int, int, int>)Export(lib, "MPI_Allreduce");
        private readonly delegate* unmanaged<void*, int, int, int, int, int> bcast = (delegate* unmanaged<void*, int, int, int, int, int>)Export(lib, "MPI_Bcast");
        private readonly delegate* unmanaged<void*, int, int, void*, int, int, int, int> allgather = (delegate* unmanaged<void*, int, int, void*, int, int, int, int>)Export(lib, "MPI_Allgather");
        private readonly delegate* unmanaged<int, int> barrier = (delegate* unmanaged<int, int>)Export(lib, "MPI_Barrier");
        private readonly delegate* unmanaged<int, int, int> abort = (delegate* unmanaged<int, int, int>)Export(lib, "MPI_Abort");

        public override string Family => "MPICH ABI";
        public override int Rank() { int r; commRank(Comm, &r); return r; }
        public override int Size() { int s; commSize(Comm, &s); return s; }
        public override int AllReduceInPlace(void* data, int count, MpiType type, MpiOp op) => allreduce(InPlace, data, count, types[(int)type], ops[(int)op], Comm);
        public override int Broadcast(void* data, int count, MpiType type, int root) => bcast(data, count, types[(int)type], root, Comm);
        public override int AllGather(void* send, void* receive, int count) => allgather(send, count, types[0], receive, count, types[0], Comm);
        public override int Barrier() => barrier(Comm);
        public override void Abort(int code) => abort(Comm, code);
    }
}
