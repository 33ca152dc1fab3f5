namespace Nabla.Distributed;

/// <summary>How <see cref="ICommunicator.AllReduce(Span{float}, ReduceOp)"/> combines the ranks' values.</summary>
public enum ReduceOp
{
    /// <summary>The sum over ranks.</summary>
    Sum,

    /// <summary>The sum divided by the world size (floating-point types only).</summary>
    Mean,

    /// <summary>The largest value over ranks.</summary>
    Max,

    /// <summary>The smallest value over ranks.</summary>
    Min,
}

/// <summary>
/// The collective operations data-parallel training needs, over a group of <see cref="WorldSize"/>
/// ranks (processes under MPI, threads in one process for <see cref="InProcessCommunicator"/>).
/// </summary>
/// <remarks>
/// Every rank must make the same collective calls in the same order with the same element counts,
/// as in MPI. A call returns once this rank's part is done; afterwards every rank holds the same
/// result, bit for bit (the reduction order does not depend on timing). A rank that fails or stops
/// answering makes the others' calls throw <see cref="CommunicatorException"/> within the timeout
/// instead of waiting forever.
/// </remarks>
public interface ICommunicator : IDisposable
{
    /// <summary>This rank's number, 0 … <see cref="WorldSize"/> − 1; rank 0 is the one that writes files and logs.</summary>
    int Rank { get; }

    /// <summary>Number of ranks in the group.</summary>
    int WorldSize { get; }

    /// <summary>A short description of the transport, e.g. "in-process (4 threads)" or "MPI (Open MPI, libmpi.so.40)".</summary>
    string Description { get; }

    /// <summary>How long a collective may wait for the other ranks before it fails.</summary>
    TimeSpan Timeout { get; }

    /// <summary>Replaces <paramref name="data"/> on every rank by the element-wise reduction of all ranks' <paramref name="data"/>.</summary>
    void AllReduce(Span<float> data, ReduceOp op = ReduceOp.Sum);

    /// <inheritdoc cref="AllReduce(Span{float}, ReduceOp)"/>
    void AllReduce(Span<double> data, ReduceOp op = ReduceOp.Sum);

    /// <summary>Integer all-reduce (exact); <see cref="ReduceOp.Mean"/> is not allowed.</summary>
    void AllReduce(Span<int> data, ReduceOp op = ReduceOp.Sum);

    /// <inheritdoc cref="AllReduce(Span{int}, ReduceOp)"/>
    void AllReduce(Span<long> data, ReduceOp op = ReduceOp.Sum);

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="data"/> into every other rank's.</summary>
    void Broadcast(Span<float> data, int root = 0);

    /// <summary>
    /// Gathers every rank's <paramref name="send"/> (the same length on all ranks) into
    /// <paramref name="receive"/> (WorldSize × that length), rank 0's block first.
    /// </summary>
    void AllGather(ReadOnlySpan<float> send, Span<float> receive);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();
}

/// <summary>A collective failed: another rank failed, did not answer within the timeout, or MPI reported an error.</summary>
public sealed class CommunicatorException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CommunicatorException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>Argument checks shared by the communicators.</summary>
internal static class Collective
{
    public static void CheckRoot(ICommunicator c, int root)
    {
        if ((uint)root >= (uint)c.WorldSize)
            throw new ArgumentOutOfRangeException(nameof(root), root, $"Broadcast: root {root} is not a rank of this group (world size {c.WorldSize}).");
    }

    public static void CheckGather(ICommunicator c, int send, int receive)
    {
        if ((long)send * c.WorldSize != receive)
            throw new ArgumentException($"AllGather: the receive buffer must hold world size {c.WorldSize} × {send} = {(long)send * c.WorldSize} elements, got {receive}.");
    }

    public static void CheckIntegerOp(ReduceOp op, string type)
    {
        if (op == ReduceOp.Mean)
            throw new ArgumentException($"AllReduce({type}): ReduceOp.Mean is only defined for float and double; use Sum and divide.");
    }
}
