using System.Collections;

namespace Nabla;

/// <summary>
/// The dimensions of a tensor, outermost first (row-major). Immutable; two shapes are equal when
/// their dimensions are. A rank-0 shape (no dimensions) describes a scalar with one element.
/// </summary>
public sealed class Shape : IReadOnlyList<int>, IEquatable<Shape>
{
    private readonly int[] dims;

    /// <summary>Creates a shape from its dimensions; every dimension must be non-negative.</summary>
    public Shape(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long size = 1;
        foreach (int d in dims)
        {
            if (d < 0) throw new ArgumentException($"Shape {Format(dims)}: dimensions must be non-negative.");
            size *= d;
            if (size > Array.MaxLength) throw new ArgumentException($"Shape {Format(dims)} has more elements than an array can hold.");
        }
        this.dims = (int[])dims.Clone();
        Size = (int)size;
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>Number of elements (the product of the dimensions; 1 for a scalar).</summary>
    public int Size { get; }

    /// <summary>Number of dimensions (same as <see cref="Rank"/>).</summary>
    public int Count => dims.Length;

    /// <summary>The dimension at <paramref name="axis"/>; negative axes count from the end.</summary>
    public int this[int axis] => dims[NormalizeAxis(axis)];

    /// <summary>The last dimension (1 for a scalar).</summary>
    public int Last => dims.Length == 0 ? 1 : dims[^1];

    /// <summary>The dimensions as a new array.</summary>
    public int[] ToArray() => (int[])dims.Clone();

    internal ReadOnlySpan<int> Dims => dims;

    /// <summary>Turns a possibly negative axis into an index in [0, Rank).</summary>
    public int NormalizeAxis(int axis)
    {
        int a = axis < 0 ? axis + dims.Length : axis;
        if (a < 0 || a >= dims.Length)
            throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for shape {this}.");
        return a;
    }

    /// <summary>Product of the dimensions in [from, to).</summary>
    internal int Product(int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++) p *= dims[i];
        return p;
    }

    /// <summary>The shape with dimension <paramref name="axis"/> replaced (or removed when <paramref name="value"/> is null).</summary>
    internal Shape With(int axis, int? value)
    {
        var list = new List<int>(dims);
        if (value is null) list.RemoveAt(axis); else list[axis] = value.Value;
        return new Shape(list.ToArray());
    }

    /// <summary>Row-major strides (in elements) of a contiguous tensor of this shape.</summary>
    internal int[] Strides()
    {
        var s = new int[dims.Length];
        int acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
        return s;
    }

    /// <summary>
    /// The numpy broadcast of two shapes: dimensions are aligned from the right and each pair must be
    /// equal or contain a 1. Throws naming <paramref name="op"/> and both shapes otherwise.
    /// </summary>
    public static Shape Broadcast(Shape a, Shape b, string op)
    {
        if (a.Equals(b)) return a;
        int rank = Math.Max(a.Rank, b.Rank);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Rank ? 1 : a.dims[i - (rank - a.Rank)];
            int db = i < rank - b.Rank ? 1 : b.dims[i - (rank - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ShapeMismatchException(op, a, b, "shapes cannot be broadcast together");
            r[i] = da == 1 ? db : da;
        }
        return new Shape(r);
    }

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && dims.AsSpan().SequenceEqual(other.dims);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int d in dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Formats as <c>[2, 3]</c>.</summary>
    public override string ToString() => Format(dims);

    private static string Format(int[] dims) => "[" + string.Join(", ", dims) + "]";

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() => ((IEnumerable<int>)dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => dims.GetEnumerator();

    /// <summary>Shapes compare by value.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Shapes compare by value.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    /// <summary>Lets an int array stand where a shape is expected.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);
}

/// <summary>Thrown when an operation receives tensors whose shapes do not fit together.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the error for <paramref name="op"/> with the shapes involved.</summary>
    public ShapeMismatchException(string op, Shape a, Shape? b, string detail)
        : base(b is null ? $"{op}: {detail} (shape {a})." : $"{op}: {detail} (shapes {a} and {b}).")
    {
        Op = op;
        Left = a;
        Right = b;
    }

    /// <summary>The operation that failed.</summary>
    public string Op { get; }

    /// <summary>The first shape.</summary>
    public Shape Left { get; }

    /// <summary>The second shape, if the op had two operands.</summary>
    public Shape? Right { get; }
}
