namespace Nabla.Data;

/// <summary>Byte storage: MNIST-style data stays one byte a value and is converted when a batch is gathered.</summary>
public sealed partial class Dataset
{
    // A byte data set: values are Table[Bytes[i]] (256 entries: 1/255 scaling, standardisation, …).
    // 70k 28×28 images take 55 MB as bytes instead of 219 MB as float32; Features is only
    // materialised if someone asks for the whole float array.
    private readonly byte[]? bytes;
    // Subsets and splits of a byte data set share its bytes: sample i is row rows[i] (null: row i).
    private readonly int[]? rows;
    private float[]? table;
    private float[]? features;

    /// <summary>
    /// A data set stored as bytes: sample values are <c>table[bytes[i]]</c>, computed when a batch is
    /// gathered (<see cref="DataLoader"/>), so 8-bit images take a quarter of the memory of float32.
    /// <see cref="Features"/> still works (it converts the whole set once, on first use).
    /// </summary>
    /// <param name="bytes">All samples, row-major, one after the other: <c>labels.Length × SampleSize</c> bytes (not copied).</param>
    /// <param name="table">The float value of each byte value (256 entries, copied), e.g. v / 255.</param>
    /// <param name="sampleShape">Shape of one sample.</param>
    /// <param name="labels">One label per sample, each in [0, <paramref name="numClasses"/>).</param>
    /// <param name="numClasses">Number of classes (at least 1).</param>
    /// <param name="name">An optional name.</param>
    /// <exception cref="ArgumentException">The sizes do not agree, the table is not 256 long, or a label is out of range.</exception>
    public static Dataset FromBytes(byte[] bytes, float[] table, int[] sampleShape, int[] labels, int numClasses, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(table);
        if (table.Length != 256)
            throw new ArgumentException($"Dataset.FromBytes: the table maps each of the 256 byte values, got {table.Length} entries.", nameof(table));
        var ds = new Dataset(null, bytes, sampleShape, labels, numClasses, name);
        ds.table = (float[])table.Clone();
        return ds;
    }

    /// <summary>Whether the float array has been made (always for float data sets; for byte ones only once <see cref="Features"/> was read).</summary>
    internal bool HasFloatArray => features is not null;

    /// <summary>Whether the values are stored as bytes (see <see cref="FromBytes"/>).</summary>
    public bool StoresBytes => bytes is not null;

    /// <summary>A data set over the same bytes with values <c>map(table[b])</c> (Standardize of a byte data set).</summary>
    private Dataset MapBytes(Func<float, float> map, int[] shape)
    {
        var t = new float[256];
        for (int v = 0; v < 256; v++) t[v] = map(table![v]);
        var ds = new Dataset(null, bytes, shape, Labels, NumClasses, Name, rows) { table = t };
        return ds;
    }

    /// <summary>Writes sample <paramref name="index"/> as floats into <paramref name="dst"/> (SampleSize long).</summary>
    internal void CopySample(int index, Span<float> dst)
    {
        int s = SampleSize;
        if (bytes is null)
        {
            features.AsSpan((int)((long)index * s), s).CopyTo(dst);
            return;
        }
        long row = rows is null ? index : rows[index];
        Kernels.ByteTable.Lookup(bytes.AsSpan((int)(row * s), s), table, dst);
    }

    /// <summary>Hints the CPU to fetch sample <paramref name="index"/>'s bytes (a batch's samples are random rows of a
    /// large array, so each one otherwise waits for its cache misses); does nothing for float data.</summary>
    internal void PrefetchSample(int index)
    {
        if (bytes is null || (uint)index >= (uint)Count) return;
        int s = SampleSize;
        long row = rows is null ? index : rows[index];
        Kernels.ByteTable.Prefetch(bytes.AsSpan((int)(row * s), s));
    }

    private float[] Materialize()
    {
        if (features is not null) return features;
        int s = SampleSize;
        var f = new float[(long)Count * s];
        if (rows is null)
        {
            Kernels.ByteTable.Lookup(bytes, table, f);
        }
        else
        {
            for (int i = 0; i < Count; i++) CopySample(i, f.AsSpan((int)((long)i * s), s));
        }
        return features = f;
    }

    // The subset shares the bytes: only its rows and labels are new (4 + 4 bytes a sample).
    private Dataset SubsetBytes(int[] indices)
    {
        var r = new int[indices.Length];
        var l = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), k, $"Dataset.Subset: index {k} at position {i} is outside [0, {Count}).");
            r[i] = rows is null ? k : rows[k];
            l[i] = Labels[k];
        }
        return new Dataset(null, bytes, sampleShape, l, NumClasses, Name, r) { table = table }.WithTargetsOf(this, indices);
    }

    /// <summary>Mean and standard deviation from a histogram of the byte values (no float copy).</summary>
    private (float Mean, float Std) MeanStdBytes()
    {
        long n = (long)Count * SampleSize;
        if (n == 0) return (0f, 0f);
        var counts = new long[256];
        if (rows is null)
        {
            foreach (byte v in bytes!) counts[v]++;
        }
        else
        {
            int s = SampleSize;
            foreach (int row in rows)
                foreach (byte v in bytes.AsSpan((int)((long)row * s), s)) counts[v]++;
        }
        double sum = 0, sq = 0;
        for (int v = 0; v < 256; v++) sum += counts[v] * (double)table![v];
        double mean = sum / n;
        for (int v = 0; v < 256; v++) { double d = table![v] - mean; sq += counts[v] * d * d; }
        return ((float)mean, (float)Math.Sqrt(sq / n));
    }
}
