namespace Nabla.Optim;

/// <summary>
/// A second temporary buffer for update rules that need two at once (the base class offers one,
/// <see cref="Optimizer"/>.Scratch). Grown to the largest parameter on first use, never saved.
/// </summary>
internal sealed class ScratchBuffer
{
    private float[]? buffer;

    /// <summary>A span of <paramref name="length"/> floats; its contents are garbage.</summary>
    public Span<float> Get(int length)
    {
        if (buffer is null || buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }
}
