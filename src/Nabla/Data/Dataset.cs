namespace Nabla.Data;

/// <summary>
/// An in-memory labelled data set for classification: <see cref="Count"/> samples, each a block of
/// <see cref="SampleSize"/> floats of shape <see cref="SampleShape"/>, stored row-major one after the
/// other in <see cref="Features"/>, and one integer label in [0, <see cref="NumClasses"/>) per sample.
/// </summary>
/// <remarks>
/// A data set does not copy the arrays it is given and its methods never modify them: <see cref="Subset"/>,
/// <see cref="Split(double[], int)"/> and <see cref="Standardize"/> return new data sets with new arrays, while
/// <see cref="Reshape"/> shares them. A byte data set (<see cref="FromBytes"/>) is the exception: its subsets and
/// splits share its bytes through a list of rows, so that splitting 60,000 images costs 240 KB, not 47 MB.
/// </remarks>
public sealed partial class Dataset
{
    private readonly int[] sampleShape;

    /// <summary>Wraps <paramref name="features"/> and <paramref name="labels"/> (not copied).</summary>
    /// <param name="features">All samples, row-major, one after the other: <c>labels.Length × SampleSize</c> floats.</param>
    /// <param name="sampleShape">Shape of one sample, e.g. <c>[1, 28, 28]</c> or <c>[784]</c>; each dimension at least 1.</param>
    /// <param name="labels">One label per sample, each in [0, <paramref name="numClasses"/>).</param>
    /// <param name="numClasses">Number of classes (at least 1).</param>
    /// <param name="name">An optional name shown by <see cref="ToString"/>.</param>
    /// <exception cref="ArgumentException">The sizes do not agree or a label is out of range.</exception>
    public Dataset(float[] features, int[] sampleShape, int[] labels, int numClasses, string? name = null)
        : this(features ?? throw new ArgumentNullException(nameof(features)), null, sampleShape, labels, numClasses, name)
    {
    }

    // Float storage (features) or byte storage (bytes, see Dataset.Bytes.cs): exactly one is given.
    // rows (byte storage only): sample i is row rows[i] of bytes; null means sample i is row i.
    private Dataset(float[]? features, byte[]? bytes, int[] sampleShape, int[] labels, int numClasses, string? name, int[]? rows = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(labels);
        if (sampleShape.Length == 0)
            throw new ArgumentException("Dataset: the sample shape needs at least one dimension.", nameof(sampleShape));
        long size = 1;
        foreach (int d in sampleShape)
        {
            if (d < 1) throw new ArgumentException($"Dataset: sample shape [{string.Join(", ", sampleShape)}] has a dimension below 1.", nameof(sampleShape));
            size *= d;
        }
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "Dataset: numClasses must be at least 1.");
        long valueCount = features?.Length ?? (rows is null ? bytes!.Length : rows.Length * size);
        if ((long)labels.Length * size != valueCount)
            throw new ArgumentException(
                $"Dataset: {labels.Length} labels × {size} values per sample [{string.Join(", ", sampleShape)}] = {(long)labels.Length * size} features expected, got {valueCount}.",
                bytes is null ? nameof(features) : nameof(bytes));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)numClasses)
                throw new ArgumentException($"Dataset: label {labels[i]} of sample {i} is outside [0, {numClasses}).", nameof(labels));
        this.features = features;
        this.bytes = bytes;
        this.rows = rows;
        Labels = labels;
        this.sampleShape = (int[])sampleShape.Clone();
        SampleSize = (int)size;
        NumClasses = numClasses;
        Name = name;
    }

    /// <summary>Builds a data set from a tensor of shape [N, ...sample] (its data is copied).</summary>
    public static Dataset FromTensor(Tensor inputs, int[] labels, int numClasses, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank < 2)
            throw new ArgumentException($"Dataset.FromTensor: inputs must be [N, ...sample], got {inputs.Shape}.", nameof(inputs));
        int[] shape = inputs.Shape.ToArray();
        if (shape[0] != labels.Length)
            throw new ArgumentException($"Dataset.FromTensor: {shape[0]} samples but {labels.Length} labels.", nameof(labels));
        return new Dataset(inputs.ToArray(), shape[1..], (int[])labels.Clone(), numClasses, name);
    }

    /// <summary>All samples, row-major, one after the other (shared, not a copy).</summary>
    public float[] Features => features ?? Materialize();

    /// <summary>The label of each sample (shared, not a copy).</summary>
    public int[] Labels { get; }

    /// <summary>Shape of one sample (a copy).</summary>
    public int[] SampleShape => (int[])sampleShape.Clone();

    /// <summary>Number of floats in one sample.</summary>
    public int SampleSize { get; }

    /// <summary>Number of classes; every label is in [0, NumClasses).</summary>
    public int NumClasses { get; }

    /// <summary>Number of samples.</summary>
    public int Count => Labels.Length;

    /// <summary>An optional name (e.g. the file it came from).</summary>
    public string? Name { get; }

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> GetSample(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"Dataset has {Count} samples.");
        if (bytes is not null)
        {
            var x = new float[SampleSize]; // one sample converted, not the whole set
            CopySample(index, x);
            return x;
        }
        return Features.AsSpan(index * SampleSize, SampleSize);
    }

    /// <summary>Number of samples of each class (length <see cref="NumClasses"/>).</summary>
    public int[] ClassCounts()
    {
        var c = new int[NumClasses];
        foreach (int l in Labels) c[l]++;
        return c;
    }

    /// <summary>A new data set holding the samples at <paramref name="indices"/>, in that order (an index may
    /// repeat): copies of them for float data, the same bytes (a list of rows) for a byte data set.</summary>
    public Dataset Subset(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int s = SampleSize;
        if (bytes is not null) return SubsetBytes(indices);
        var f = new float[(long)indices.Length * s];
        var l = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), k, $"Dataset.Subset: index {k} at position {i} is outside [0, {Count}).");
            Array.Copy(Features, (long)k * s, f, (long)i * s, s);
            l[i] = Labels[k];
        }
        return new Dataset(f, sampleShape, l, NumClasses, Name).WithTargetsOf(this, indices);
    }

    /// <summary>The first <paramref name="count"/> samples (copied), or all of them if there are fewer.</summary>
    public Dataset Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int n = Math.Min(count, Count);
        var idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        return Subset(idx);
    }

    /// <summary>
    /// Shuffles the samples with a generator seeded by <paramref name="seed"/> and cuts them into parts of
    /// the given <paramref name="fractions"/> (e.g. <c>[0.6, 0.2, 0.2]</c>). The parts are disjoint; when
    /// the fractions add up to 1 they cover every sample (part sizes are rounded by largest remainder),
    /// when they add up to less, the rest is left out. The same seed always gives the same parts.
    /// Not stratified: class proportions vary a little between parts.
    /// </summary>
    /// <exception cref="ArgumentException">A fraction is not positive, or they add up to more than 1.</exception>
    public Dataset[] Split(double[] fractions, int seed)
    {
        int[][] parts = SplitIndices(Count, fractions, seed);
        var r = new Dataset[parts.Length];
        for (int i = 0; i < parts.Length; i++) r[i] = Subset(parts[i]);
        return r;
    }

    /// <summary>Splits into two parts: <paramref name="firstFraction"/> of the samples and the rest (see <see cref="Split(double[], int)"/>).</summary>
    public (Dataset First, Dataset Second) Split(double firstFraction, int seed)
    {
        if (!(firstFraction > 0 && firstFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(firstFraction), firstFraction, "Dataset.Split: the fraction must be in (0, 1).");
        var p = Split(new[] { firstFraction, 1 - firstFraction }, seed);
        return (p[0], p[1]);
    }

    /// <summary>
    /// The index sets <see cref="Split(double[], int)"/> uses: a seeded shuffle of 0..count−1 cut into parts.
    /// </summary>
    public static int[][] SplitIndices(int count, double[] fractions, int seed)
    {
        ArgumentNullException.ThrowIfNull(fractions);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (fractions.Length == 0) throw new ArgumentException("Dataset.Split: give at least one fraction.", nameof(fractions));
        double sum = 0;
        foreach (double f in fractions)
        {
            if (!(f > 0) || double.IsInfinity(f))
                throw new ArgumentException($"Dataset.Split: fractions must be positive, got [{string.Join(", ", fractions)}].", nameof(fractions));
            sum += f;
        }
        if (sum > 1 + 1e-9)
            throw new ArgumentException($"Dataset.Split: fractions [{string.Join(", ", fractions)}] add up to {sum}, more than 1.", nameof(fractions));

        int[] perm = Permutation(count, new Random(seed));
        var sizes = new int[fractions.Length];
        bool whole = Math.Abs(sum - 1) <= 1e-9;
        int assigned = 0;
        var rema = new double[fractions.Length];
        for (int i = 0; i < fractions.Length; i++)
        {
            double exact = fractions[i] * count;
            sizes[i] = (int)Math.Floor(exact);
            rema[i] = exact - sizes[i];
            assigned += sizes[i];
        }
        if (whole)
        {
            // Largest remainder: hand the samples lost to rounding to the parts that lost most (earlier parts win ties).
            var order = Enumerable.Range(0, fractions.Length).OrderByDescending(i => rema[i]).ThenBy(i => i).ToArray();
            for (int k = 0; assigned < count; k++, assigned++) sizes[order[k % order.Length]]++;
        }
        var parts = new int[fractions.Length][];
        int start = 0;
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = perm.AsSpan(start, sizes[i]).ToArray();
            start += sizes[i];
        }
        return parts;
    }

    /// <summary>A new data set with the same data (shared) seen with another sample shape of the same size,
    /// e.g. <c>Reshape(784)</c> to flatten 1×28×28 images.</summary>
    public Dataset Reshape(params int[] newSampleShape)
    {
        ArgumentNullException.ThrowIfNull(newSampleShape);
        long size = 1;
        foreach (int d in newSampleShape) size *= d;
        if (size != SampleSize)
            throw new ArgumentException(
                $"Dataset.Reshape: [{string.Join(", ", newSampleShape)}] holds {size} values, a sample has {SampleSize} ([{string.Join(", ", sampleShape)}]).",
                nameof(newSampleShape));
        if (bytes is not null) return MapBytes(v => v, newSampleShape).WithTargetsOf(this, null);
        return new Dataset(Features, newSampleShape, Labels, NumClasses, Name).WithTargetsOf(this, null);
    }

    /// <summary>Mean and standard deviation of all feature values (population std, computed in double).</summary>
    public (float Mean, float Std) MeanStd()
    {
        if (bytes is not null) return MeanStdBytes();
        if (Features.Length == 0) return (0f, 0f);
        double sum = 0, sq = 0;
        foreach (float v in Features) sum += v;
        double mean = sum / Features.Length;
        foreach (float v in Features) { double d = v - mean; sq += d * d; }
        return ((float)mean, (float)Math.Sqrt(sq / Features.Length));
    }

    /// <summary>A new data set with every feature mapped to <c>(x − mean) / std</c>
    /// (use the training set's <see cref="MeanStd"/> for every part).</summary>
    public Dataset Standardize(float mean, float std)
    {
        if (!(std > 0)) throw new ArgumentOutOfRangeException(nameof(std), std, "Dataset.Standardize: std must be positive.");
        float inv = 1f / std;
        if (bytes is not null) return MapBytes(v => (v - mean) * inv, sampleShape).WithTargetsOf(this, null);
        var f = new float[Features.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (Features[i] - mean) * inv;
        return new Dataset(f, sampleShape, Labels, NumClasses, Name).WithTargetsOf(this, null);
    }

    /// <summary>All samples as one tensor of shape [Count, ...SampleShape] (a copy).</summary>
    public Tensor ToTensor()
    {
        var shape = new int[sampleShape.Length + 1];
        shape[0] = Count;
        sampleShape.CopyTo(shape, 1);
        return new Tensor((float[])Features.Clone(), new Shape(shape));
    }

    /// <summary>For example <c>Dataset "train" [10000 x 1 x 28 x 28], 10 classes</c>.</summary>
    public override string ToString() =>
        $"Dataset{(Name is null ? "" : $" \"{Name}\"")} [{Count} x {string.Join(" x ", sampleShape)}], " +
        (IsRegression ? $"float targets [{string.Join(" x ", TargetShape!)}]" : $"{NumClasses} classes");

    internal static int[] Permutation(int n, Random rng)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Shuffle(p, rng);
        return p;
    }

    /// <summary>Fisher–Yates in place, drawing from <paramref name="rng"/> as <see cref="Permutation"/> does.</summary>
    internal static void Shuffle(int[] p, Random rng)
    {
        for (int i = p.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
    }
}
