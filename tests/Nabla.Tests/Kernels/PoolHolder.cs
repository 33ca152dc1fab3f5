using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// Holds the <see cref="WorkerPool"/> busy from another thread until disposed, so that every
/// parallel call made meanwhile takes the pool's serial fallback on its calling thread — the
/// situation a test otherwise only meets by chance when a neighbouring test uses the pool.
/// Use it only in tests of <see cref="WorkerPoolSettingsCollection"/> (nobody else may hold the pool).
/// </summary>
internal sealed class PoolHolder : IDisposable
{
    private readonly ManualResetEventSlim _release = new(false);
    private readonly Thread _thread;

    public PoolHolder()
    {
        var held = new ManualResetEventSlim(false);
        var release = _release;
        // Two indices on up to two threads: the pool is taken even on a one-core machine (the
        // second index then runs on the holder's thread after the first).
        _thread = new Thread(() => WorkerPool.ParallelFor(2, new HoldBody(held, release), 2))
        { IsBackground = true, Name = "pool holder" };
        _thread.Start();
        if (!held.Wait(TimeSpan.FromSeconds(30)))
            throw new InvalidOperationException("the pool holder never started");
        if (!WorkerPool.IsBusy)
            throw new InvalidOperationException("the pool holder ran serially: someone else held the pool");
    }

    private readonly struct HoldBody(ManualResetEventSlim held, ManualResetEventSlim release) : IParallelForBody
    {
        public void Invoke(int index)
        {
            held.Set();
            release.Wait();
        }
    }

    public void Dispose()
    {
        _release.Set();
        _thread.Join();
        _release.Dispose();
    }
}
