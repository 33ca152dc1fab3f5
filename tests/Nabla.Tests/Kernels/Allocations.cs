using System.Runtime;

namespace Nabla.Tests.Kernels;

/// <summary>Counts the bytes the calling thread allocates, with garbage collection held off meanwhile.</summary>
/// <remarks>
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts the thread's allocation context, which the
/// runtime hands out in quanta of about 8 KB; a collection that another thread triggers during the
/// measured code retires that context, and the count can then move by up to a quantum although the
/// measured code allocated nothing. The GEMM allocation tests saw 7,200-8,000 bytes that way now and
/// then in the young processes of the kernel-test reruns (issue 16). Inside a no-GC region no collection
/// can happen, so the count is exact. Only for tests of <see cref="WorkerPoolSettingsCollection"/>, which
/// runs alone: the region is process-wide, and a second one cannot start while one is open.
/// </remarks>
internal static class Allocations
{
    public static long OnThisThread(Action action)
    {
        // 64 MB of headroom: far more than the runner's threads allocate in a few milliseconds.
        bool region = GC.TryStartNoGCRegion(64L << 20);
        try
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            action();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        finally
        {
            if (region && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
    }
}
