namespace Nabla;

/// <summary>
/// A per-thread cap on the float elements that new tensors and parameters may take while a model is rebuilt
/// from a file: the file's own tensors bound what an honest architecture needs, so a forged one
/// (<c>Linear(20000, 20000)</c> in a 100 KB file) fails before its buffer is made instead of after.
/// </summary>
internal static class AllocationBudget
{
    [ThreadStatic] private static long remaining;
    [ThreadStatic] private static bool active;
    [ThreadStatic] private static long limit;

    /// <summary>Caps allocations on this thread at <paramref name="floats"/> elements until the scope is disposed.</summary>
    public static Scope Limit(long floats)
    {
        var scope = new Scope(active, remaining, limit);
        active = true;
        remaining = floats;
        limit = floats;
        return scope;
    }

    /// <summary>Takes <paramref name="count"/> elements from the budget, if one is active; throws when it would go below zero.</summary>
    public static void Take(long count)
    {
        if (!active || count <= 0) return;
        if (count > remaining)
            throw new AllocationBudgetExceededException(count, limit, limit - remaining);
        remaining -= count;
    }

    /// <summary>A new zeroed array of <paramref name="count"/> floats, taken from the budget (never from an arena).</summary>
    public static float[] NewArray(int count)
    {
        Take(count);
        return new float[count];
    }

    /// <summary>Restores the previous budget.</summary>
    public readonly struct Scope(bool wasActive, long wasRemaining, long wasLimit) : IDisposable
    {
        /// <inheritdoc/>
        public void Dispose()
        {
            active = wasActive;
            remaining = wasRemaining;
            limit = wasLimit;
        }
    }
}

/// <summary>Thrown when an allocation would exceed the active <see cref="AllocationBudget"/>.</summary>
internal sealed class AllocationBudgetExceededException(long requested, long limit, long used)
    : Exception($"an allocation of {requested} floats would exceed the budget of {limit} ({used} already used)")
{
    /// <summary>Floats asked for.</summary>
    public long Requested { get; } = requested;

    /// <summary>The budget.</summary>
    public long Limit { get; } = limit;

    /// <summary>Taken before this request.</summary>
    public long Used { get; } = used;
}
