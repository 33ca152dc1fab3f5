using System.Globalization;
using System.Text;
using Nabla.Autograd;

namespace Nabla;

/// <summary>
/// A dense, row-major, contiguous array of float32 values of any rank, and a node of the
/// define-by-run autograd graph: an op whose inputs require gradients records how to send the
/// gradient of its result back to them, and <see cref="Backward(bool)"/> replays those records.
/// </summary>
public partial class Tensor
{
    internal float[] data;

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of <paramref name="shape"/>.</summary>
    public Tensor(float[] data, Shape shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Length < shape.Size)
            throw new ArgumentException($"Tensor: {data.Length} values cannot fill shape {shape} ({shape.Size} elements).");
        this.data = data;
        Shape = shape;
    }

    /// <summary>A zero-filled tensor of <paramref name="shape"/> (arena-backed while a <see cref="TensorArena"/> is active).</summary>
    public Tensor(Shape shape) : this(TensorArena.Allocate(shape.Size), shape) { }

    /// <summary>A tensor whose contents are unspecified, for ops that overwrite every element.</summary>
    internal static Tensor Uninitialized(Shape shape) => new(TensorArena.Allocate(shape.Size, clear: false), shape);

    /// <summary>The dimensions.</summary>
    public Shape Shape { get; private set; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Number of elements.</summary>
    public int Length => Shape.Size;

    /// <summary>The elements in row-major order; writes go straight into the tensor.</summary>
    public Span<float> Data => data.AsSpan(0, Shape.Size);

    /// <summary>Whether gradients with respect to this tensor are wanted.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The accumulated gradient (same shape), or null before the first backward pass.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>An optional name, shown in errors and printouts.</summary>
    public string? Name { get; set; }

    // ---- autograd record: filled by ops when gradients are being recorded ----
    internal Tensor[]? Parents;
    internal Action<Tensor>? BackwardFn;
    internal string? OpName;

    /// <summary>The name of the op that produced this tensor, or null for a leaf.</summary>
    public string? GradFn => OpName;

    /// <summary>True when this tensor was not computed by a recorded op.</summary>
    public bool IsLeaf => OpName is null;

    /// <summary>True when this tensor was computed by an op whose graph a backward pass has already freed.</summary>
    internal bool GraphFreed => OpName is not null && BackwardFn is null;

    // ---------------------------------------------------------------- creation

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape) => new(new Shape(shape));

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = new Tensor(new Shape(shape));
        t.Data.Fill(value);
        return t;
    }

    /// <summary>A tensor of zeros with the shape of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => new(like.Shape);

    /// <summary>A rank-0 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => new(new[] { value }, new Shape());

    /// <summary>The values start, start+step, … below end, as a 1-D tensor.</summary>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0 || float.IsNaN(step)) throw new ArgumentException("Arange: step must be non-zero.");
        int n = Math.Max(0, (int)Math.Ceiling((end - start) / step));
        var d = new float[n];
        for (int i = 0; i < n; i++) d[i] = start + i * step;
        return new Tensor(d, new Shape(n));
    }

    /// <summary>The values 0, 1, …, n−1.</summary>
    public static Tensor Arange(int n) => Arange(0, n);

    /// <summary>A tensor of <paramref name="shape"/> holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromArray(float[] values, params int[] shape)
    {
        // No shape means a 1-D tensor, as np.array([v]) has shape (1,); use Scalar for rank 0.
        var s = shape.Length == 0 ? new Shape(values.Length) : new Shape(shape);
        if (values.Length != s.Size)
            throw new ArgumentException($"FromArray: {values.Length} values do not fit shape {s} ({s.Size} elements).");
        return new Tensor((float[])values.Clone(), s);
    }

    /// <summary>A 2-D tensor from a rectangular array.</summary>
    public static Tensor FromArray(float[,] values)
    {
        int r = values.GetLength(0), c = values.GetLength(1);
        var d = new float[r * c];
        for (int i = 0; i < r; i++)
            for (int j = 0; j < c; j++) d[i * c + j] = values[i, j];
        return new Tensor(d, new Shape(r, c));
    }

    /// <summary>Uniform random values in [low, high) from a seeded generator.</summary>
    public static Tensor Uniform(Shape shape, float low, float high, Random rng)
    {
        var t = new Tensor(shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = low + (high - low) * (float)rng.NextDouble();
        return t;
    }

    /// <summary>Normal random values with <paramref name="mean"/> and <paramref name="std"/> from a seeded generator.</summary>
    public static Tensor Normal(Shape shape, float mean, float std, Random rng)
    {
        var t = new Tensor(shape);
        FillNormal(t.Data, mean, std, rng);
        return t;
    }

    internal static void FillNormal(Span<float> d, float mean, float std, Random rng)
    {
        // Box–Muller: two independent normals per pair of uniforms.
        for (int i = 0; i < d.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1));
            d[i] = mean + std * (float)(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < d.Length) d[i + 1] = mean + std * (float)(r * Math.Sin(2 * Math.PI * u2));
        }
    }

    // ---------------------------------------------------------------- access

    /// <summary>The element at a full multi-index (negative indices count from the end).</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get => data[Offset(index)];
        set => data[Offset(index)] = value;
    }

    private int Offset(int[] index)
    {
        if (index.Length != Rank)
            throw new ArgumentException($"Index of rank {index.Length} used on a tensor of shape {Shape}.");
        int off = 0;
        var dims = Shape.Dims;
        for (int i = 0; i < index.Length; i++)
        {
            int ix = index[i] < 0 ? index[i] + dims[i] : index[i];
            if ((uint)ix >= (uint)dims[i])
                throw new IndexOutOfRangeException($"Index {index[i]} is out of range for axis {i} of shape {Shape}.");
            off = off * dims[i] + ix;
        }
        return off;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Length != 1) throw new InvalidOperationException($"Item: tensor of shape {Shape} has {Length} elements, not 1.");
        return data[0];
    }

    /// <summary>A copy of the elements.</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>A copy that shares nothing with this tensor and records no history.</summary>
    public Tensor Clone() => new(ToArray(), Shape);

    /// <summary>The same data without autograd history (shares storage, like PyTorch's detach).</summary>
    public Tensor Detach() => new(data, Shape);

    /// <summary>Copies <paramref name="source"/>'s values into this tensor (shapes must have the same size).</summary>
    public void CopyFrom(Tensor source)
    {
        if (source.Length != Length) throw new ShapeMismatchException("CopyFrom", Shape, source.Shape, "element counts differ");
        source.Data.CopyTo(Data);
    }

    /// <summary>Replaces this tensor's shape in place (same element count); used by layers that reuse buffers.</summary>
    internal void SetShape(Shape shape)
    {
        if (shape.Size > data.Length) throw new ArgumentException($"SetShape: {shape} needs {shape.Size} elements, storage has {data.Length}.");
        Shape = shape;
    }

    // ---------------------------------------------------------------- autograd

    /// <summary>
    /// Back-propagates from this scalar: fills <see cref="Grad"/> of every tensor that requires
    /// gradients and contributed to this one. Gradients add up over repeated calls (zero them
    /// between steps). The graph is freed afterwards, as PyTorch's: a second backward through it
    /// throws unless the first passed <paramref name="retainGraph"/>.
    /// </summary>
    public void Backward(bool retainGraph = false)
    {
        if (Length != 1)
            throw new InvalidOperationException($"Backward: called on a tensor of shape {Shape}; it needs a scalar, or pass the output gradient.");
        Backward(Full(1f, Shape.ToArray()), retainGraph);
    }

    /// <summary>Back-propagates <paramref name="gradOutput"/> (the gradient of some scalar with respect to this tensor); see <see cref="Backward(bool)"/>.</summary>
    public void Backward(Tensor gradOutput, bool retainGraph = false)
    {
        if (gradOutput.Shape != Shape) throw new ShapeMismatchException("Backward", Shape, gradOutput.Shape, "output gradient must match the tensor");
        if (!RequiresGrad) throw new InvalidOperationException("Backward: this tensor does not require gradients (no input of its graph has RequiresGrad, or it was computed under NoGrad).");
        Graph.Backward(this, gradOutput, retainGraph);
    }

    /// <summary>Sets <see cref="Grad"/> to null.</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>The gradient buffer, created as zeros on first use; backward rules add into it.</summary>
    internal Tensor GradBuffer()
    {
        // Leaf gradients outlive the step, so they never come from an arena.
        if (Grad is null) Grad = IsLeaf ? new Tensor(new float[Shape.Size], Shape) : new Tensor(Shape);
        else if (Grad.Shape != Shape) throw new InvalidOperationException($"Gradient shape {Grad.Shape} does not match tensor shape {Shape}.");
        return Grad;
    }

    /// <summary>
    /// The gradient buffer for a backward rule that writes every element: when this is the first
    /// gradient to arrive, a new buffer whose contents are garbage and <c>Overwrite</c> = true (the
    /// rule assigns, and the zero fill that <see cref="GradBuffer"/> would do, 3–4 % of a CNN's
    /// training step, is skipped); else the existing buffer and false (the rule adds).
    /// </summary>
    internal (Tensor Buffer, bool Overwrite) GradTarget()
    {
        if (Grad is not null) return (GradBuffer(), false);
        Grad = IsLeaf ? new Tensor(GC.AllocateUninitializedArray<float>(Shape.Size), Shape) : Uninitialized(Shape);
        return (Grad, true);
    }

    // ---------------------------------------------------------------- printing

    /// <summary>
    /// Nested brackets like numpy, with the shape and grad info. Tensors of more than
    /// <see cref="TensorPrintOptions.Threshold"/> elements show only the first and last
    /// <see cref="TensorPrintOptions.EdgeItems"/> of each axis (see <see cref="PrintOptions"/>).
    /// </summary>
    public override string ToString() => ToString(PrintOptions);

    /// <summary>The printout under <paramref name="options"/>, e.g. <c>t.ToString(TensorPrintOptions.Full)</c> for every element.</summary>
    public string ToString(TensorPrintOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sb = new StringBuilder("tensor(");
        bool abbreviate = Length > options.Threshold;
        if (Rank == 0) sb.Append(Fmt(data[0], options.Precision));
        else AppendNested(sb, 0, 0, 7, abbreviate ? options.EdgeItems : int.MaxValue / 4, options.Precision);
        sb.Append(", shape=").Append(Shape);
        if (OpName is not null) sb.Append(", grad_fn=").Append(OpName);
        else if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    /// <summary>How <see cref="ToString()"/> prints tensors (process-wide, like PyTorch's <c>set_printoptions</c>).</summary>
    public static TensorPrintOptions PrintOptions { get; set; } = new();

    private void AppendNested(StringBuilder sb, int axis, int offset, int indent, int edge, int precision)
    {
        int n = Shape[axis];
        int stride = Shape.Product(axis + 1, Rank);
        bool abbreviate = n > 2 * edge + 1;
        sb.Append('[');
        for (int i = 0; i < n; i++)
        {
            if (abbreviate && i == edge) { sb.Append(axis == Rank - 1 ? "..., " : "...,\n" + new string(' ', indent + axis + 1)); i = n - edge; }
            if (axis == Rank - 1) sb.Append(Fmt(data[offset + i], precision));
            else AppendNested(sb, axis + 1, offset + i * stride, indent, edge, precision);
            if (i < n - 1) sb.Append(axis == Rank - 1 ? ", " : ",\n" + new string(' ', indent + axis + 1));
        }
        sb.Append(']');
    }

    // Fixed-point hides small values (a gradient of 3e-6 would print as 0): those, and huge ones, go scientific.
    private static string Fmt(float v, int precision)
    {
        var digits = new string('#', Math.Clamp(precision, 0, 9));
        return v != 0 && float.IsFinite(v) && (MathF.Abs(v) < 1e-4f || MathF.Abs(v) >= 1e8f)
            ? v.ToString("0." + (digits.Length == 0 ? "" : digits[..Math.Min(3, digits.Length)]) + "e+0", CultureInfo.InvariantCulture)
            : v.ToString(digits.Length == 0 ? "0" : "0." + digits, CultureInfo.InvariantCulture);
    }
}

/// <summary>How tensors print (PyTorch's <c>torch.set_printoptions</c>): set <see cref="Tensor.PrintOptions"/> or pass one to <see cref="Tensor.ToString(TensorPrintOptions)"/>.</summary>
public sealed record TensorPrintOptions
{
    /// <summary>Tensors with more elements than this are abbreviated (default 1000, as PyTorch).</summary>
    public int Threshold { get; init; } = 1000;

    /// <summary>How many leading and trailing items of each axis an abbreviated printout shows (default 3).</summary>
    public int EdgeItems { get; init; } = 3;

    /// <summary>At most this many digits after the decimal point (default 4).</summary>
    public int Precision { get; init; } = 4;

    /// <summary>Every element, whatever the size.</summary>
    public static TensorPrintOptions Full { get; } = new() { Threshold = int.MaxValue };
}
