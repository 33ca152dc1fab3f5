namespace Nabla.Data;

/// <summary>One-hot encoding of class labels.</summary>
public static class OneHot
{
    /// <summary>
    /// A tensor of shape [labels.Length, <paramref name="numClasses"/>] with a 1 in column
    /// <c>labels[i]</c> of row i and 0 elsewhere.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, numClasses).</exception>
    public static Tensor Encode(int[] labels, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        var data = new float[(long)labels.Length * numClasses];
        Encode(labels, numClasses, data);
        return new Tensor(data, new Shape(labels.Length, numClasses));
    }

    /// <summary>
    /// Writes the one-hot rows of <paramref name="labels"/> into <paramref name="destination"/>
    /// (at least labels.Length × numClasses floats; that part is overwritten), allocating nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A label is outside [0, numClasses).</exception>
    public static void Encode(ReadOnlySpan<int> labels, int numClasses, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        long need = (long)labels.Length * numClasses;
        if (destination.Length < need)
            throw new ArgumentException($"OneHot.Encode: {labels.Length} labels × {numClasses} classes need {need} floats, the destination has {destination.Length}.", nameof(destination));
        destination[..(int)need].Clear();
        for (int i = 0; i < labels.Length; i++)
        {
            int l = labels[i];
            if ((uint)l >= (uint)numClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), l, $"OneHot.Encode: label {l} at position {i} is outside [0, {numClasses}).");
            destination[i * numClasses + l] = 1f;
        }
    }

    /// <summary>The index of the largest value in each row of a [N, C] tensor (the first one on ties).</summary>
    public static int[] Decode(Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Rank != 2) throw new ArgumentException($"OneHot.Decode: expected a [N, C] tensor, got {scores.Shape}.", nameof(scores));
        int n = scores.Shape[0], c = scores.Shape[1];
        var r = new int[n];
        ReadOnlySpan<float> d = scores.Data;
        for (int i = 0; i < n; i++)
        {
            var row = d.Slice(i * c, c);
            int best = 0;
            for (int j = 1; j < c; j++) if (row[j] > row[best]) best = j;
            r[i] = best;
        }
        return r;
    }
}
