namespace Nabla.Data;

/// <summary>Float targets (regression) beside the integer labels of classification.</summary>
public sealed partial class Dataset
{
    /// <summary>
    /// The float target of every sample, row-major (<see cref="Count"/> × <see cref="TargetSize"/> values), for regression;
    /// null for a classification set. A <see cref="DataLoader"/> batch then carries them in
    /// <see cref="Batch.Targets"/> with shape [N, ...TargetShape], and <c>Trainer.Fit</c>/<c>Evaluate</c> use them.
    /// </summary>
    public float[]? Targets { get; private set; }

    /// <summary>Shape of one sample's target (e.g. <c>[1]</c>), or null for a classification set.</summary>
    public int[]? TargetShape { get; private set; }

    /// <summary>Number of floats in one sample's target (0 for a classification set).</summary>
    public int TargetSize { get; private set; }

    /// <summary>Whether the samples have float targets (regression) rather than class labels.</summary>
    public bool IsRegression => Targets is not null;

    /// <summary>
    /// A regression data set: <paramref name="features"/> as for classification, and <paramref name="targets"/> holding
    /// <paramref name="targetShape"/> floats per sample (default one: shape [1], so batches are [N, 1] like a model's
    /// single output). Arrays are not copied. Targets must be finite.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes do not agree or a target is not finite.</exception>
    public static Dataset Regression(float[] features, int[] sampleShape, float[] targets, int[]? targetShape = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(targets);
        targetShape ??= [1];
        long targetSize = 1;
        foreach (int d in targetShape)
        {
            if (d < 1) throw new ArgumentException($"Dataset.Regression: target shape [{string.Join(", ", targetShape)}] has a dimension below 1.", nameof(targetShape));
            targetSize *= d;
        }
        if (targets.Length % targetSize != 0)
            throw new ArgumentException($"Dataset.Regression: {targets.Length} targets are not a whole number of samples of {targetSize} values.", nameof(targets));
        int count = checked((int)(targets.Length / targetSize));
        for (int i = 0; i < targets.Length; i++)
            if (!float.IsFinite(targets[i]))
                throw new ArgumentException($"Dataset.Regression: target {i / targetSize} (value {targets[i]}) is not a finite number.", nameof(targets));
        // The classification constructor validates the features against the sample count.
        var ds = new Dataset(features, sampleShape, new int[count], 1, name);
        ds.Targets = targets;
        ds.TargetShape = (int[])targetShape.Clone();
        ds.TargetSize = (int)targetSize;
        return ds;
    }

    /// <summary>A regression data set from tensors [N, ...sample] and [N, ...target] (data copied).</summary>
    public static Dataset FromTensors(Tensor inputs, Tensor targets, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Rank < 2 || targets.Rank < 1 || inputs.Shape[0] != targets.Shape[0])
            throw new ArgumentException($"Dataset.FromTensors: inputs {inputs.Shape} and targets {targets.Shape} must both start with the sample count N (inputs [N, ...], targets [N, ...]).");
        int[] targetShape = targets.Rank == 1 ? [1] : targets.Shape.ToArray()[1..];
        return Regression(inputs.ToArray(), inputs.Shape.ToArray()[1..], targets.ToArray(), targetShape, name);
    }

    /// <summary>Copies <paramref name="source"/>'s targets onto this new set: of the samples at <paramref name="indices"/>, or all (shared) when null.</summary>
    private Dataset WithTargetsOf(Dataset source, int[]? indices)
    {
        if (source.Targets is null) return this;
        int t = source.TargetSize;
        float[] targets = source.Targets;
        if (indices is not null)
        {
            targets = new float[(long)indices.Length * t];
            for (int i = 0; i < indices.Length; i++) Array.Copy(source.Targets, (long)indices[i] * t, targets, (long)i * t, t);
        }
        Targets = targets;
        TargetShape = source.TargetShape;
        TargetSize = t;
        return this;
    }
}
