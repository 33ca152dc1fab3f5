namespace Nabla;

/// <summary>
/// Reuses tensor storage between training steps. While an arena is active on a thread (see
/// <see cref="Activate"/>), every new op result, intermediate gradient and backward scratch
/// buffer takes its array from the arena; <see cref="Reset"/> makes all of them available again.
/// A training loop activates one arena, resets it at the start of each step, and so reaches a
/// steady state where the large buffers are recycled and the step allocates almost nothing.
/// </summary>
/// <remarks>
/// Only results of the current step may live in the arena: a tensor created while it is active
/// must not be used after the next <see cref="Reset"/> (copy it with <see cref="Tensor.Clone"/>
/// to keep it). Parameters and their gradients are never arena-backed, because they are created
/// outside the step (leaf gradients are allocated with the GC heap).
/// </remarks>
public sealed class TensorArena
{
    [ThreadStatic] private static TensorArena? current;

    // Free arrays by exact length; the shapes of a training step repeat, so exact sizes suffice.
    private readonly Dictionary<int, Stack<float[]>> free = new();
    private readonly List<float[]> inUse = new();

    /// <summary>The arena active on this thread, if any.</summary>
    public static TensorArena? Current => current;

    /// <summary>Arrays handed out since the last reset.</summary>
    public int Outstanding => inUse.Count;

    /// <summary>Total floats held by the arena (in use and free).</summary>
    public long Capacity { get; private set; }

    /// <summary>Makes this arena the current one on this thread until the scope is disposed.</summary>
    public Scope Activate()
    {
        var previous = current;
        current = this;
        return new Scope(previous);
    }

    /// <summary>Returns every array handed out since the last reset to the free lists.</summary>
    public void Reset()
    {
        foreach (var a in inUse)
        {
            if (!free.TryGetValue(a.Length, out var stack)) free[a.Length] = stack = new Stack<float[]>();
            stack.Push(a);
        }
        inUse.Clear();
    }

    /// <summary>An array of exactly <paramref name="length"/> floats, zeroed when <paramref name="clear"/>.</summary>
    internal float[] Rent(int length, bool clear)
    {
        float[] a;
        if (free.TryGetValue(length, out var stack) && stack.Count > 0)
        {
            a = stack.Pop();
            if (clear) Array.Clear(a);
        }
        else
        {
            a = new float[length];
            Capacity += length;
        }
        inUse.Add(a);
        return a;
    }

    /// <summary>Storage for a new tensor or scratch buffer: from the current arena, else the GC heap.</summary>
    internal static float[] Allocate(int length, bool clear = true)
    {
        if (current is { } arena && length > 0) return arena.Rent(length, clear);
        AllocationBudget.Take(length);
        // Results that every element of is written next need no zeroing (the GC skips it for
        // arrays of a few KB and up): it was 5 % of a batch-1 ResNet forward.
        return clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Restores the previously active arena when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly TensorArena? previous;

        internal Scope(TensorArena? previous) => this.previous = previous;

        /// <inheritdoc/>
        public void Dispose() => current = previous;
    }
}
