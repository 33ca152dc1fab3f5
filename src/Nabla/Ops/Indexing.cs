using Nabla.Autograd;

namespace Nabla;

/// <summary>
/// One entry of a tensor index, as in PyTorch's <c>t[0, 1:3, :]</c>: an integer selects one position and
/// drops the axis, a range (<c>1..3</c>, <c>..</c>, <c>^2..</c>) keeps the axis with the chosen positions.
/// Made implicitly from <see cref="int"/>, <see cref="System.Index"/> and <see cref="System.Range"/>.
/// </summary>
public readonly struct TensorIndex
{
    private readonly Index single;
    private readonly Range range;
    private readonly int step;

    private TensorIndex(Index single) { this.single = single; IsSingle = true; step = 1; }

    private TensorIndex(Range range, int step) { this.range = range; this.step = step; }

    /// <summary>True when this entry selects one position (and drops the axis).</summary>
    public bool IsSingle { get; }

    /// <summary>All positions of an axis (<c>:</c> in PyTorch, <c>..</c> in C#).</summary>
    public static TensorIndex All => new(Range.All, 1);

    /// <summary>Positions start, start+step, … below stop (Python's <c>start:stop:step</c>; step ≥ 1).</summary>
    public static TensorIndex Slice(Index start, Index stop, int step = 1)
    {
        if (step < 1) throw new ArgumentOutOfRangeException(nameof(step), $"TensorIndex.Slice: step must be at least 1, got {step}.");
        return new TensorIndex(new Range(start, stop), step);
    }

    /// <summary>Selects one position (negative counts from the end, as in PyTorch).</summary>
    public static implicit operator TensorIndex(int i) => new(i < 0 ? Index.FromEnd(-i) : Index.FromStart(i));

    /// <summary>Selects one position (<c>^1</c> is the last).</summary>
    public static implicit operator TensorIndex(Index i) => new(i);

    /// <summary>Selects a range of positions, keeping the axis.</summary>
    public static implicit operator TensorIndex(Range r) => new(r, 1);

    /// <summary>The positions this entry picks on an axis of length <paramref name="dim"/>; throws naming the axis when out of range.</summary>
    internal int[] Resolve(int dim, int axis, Shape shape)
    {
        if (IsSingle)
        {
            int i = single.GetOffset(dim);
            if ((uint)i >= (uint)dim)
                throw new IndexOutOfRangeException($"Index {(single.IsFromEnd ? "^" + single.Value : single.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))} is out of range for axis {axis} of shape {shape}.");
            return [i];
        }
        // Like Python slices, ranges are clipped to the axis rather than rejected.
        int start = Math.Clamp(range.Start.GetOffset(dim), 0, dim), end = Math.Clamp(range.End.GetOffset(dim), 0, dim);
        int n = end <= start ? 0 : (end - start + step - 1) / step;
        var r = new int[n];
        for (int k = 0; k < n; k++) r[k] = start + k * step;
        return r;
    }
}

public static partial class Ops
{
    /// <summary>
    /// <c>x[index…]</c>: integers select (and drop the axis), ranges keep it; missing trailing entries take
    /// whole axes. The result is a <b>copy</b> (Nabla's tensors are contiguous, so a strided view cannot
    /// share storage), differentiable: the gradient goes back to the picked positions.
    /// <see cref="Reshape"/>, <see cref="Squeeze(Tensor)"/>, <see cref="Unsqueeze"/>, <see cref="Flatten"/>
    /// and <see cref="Tensor.Detach"/> are the operations that return views sharing storage.
    /// </summary>
    public static Tensor Index(Tensor x, params TensorIndex[] index)
    {
        var (shape, offsets) = ResolveIndex(x.Shape, index);
        return GatherOffsets(x, shape, offsets, "Index");
    }

    private static (Shape Shape, int[] Offsets) ResolveIndex(Shape s, TensorIndex[] index)
    {
        if (index.Length > s.Rank)
            throw new IndexOutOfRangeException($"Index: {index.Length} indices given for a tensor of shape {s} (rank {s.Rank}).");
        var picks = new int[s.Rank][];
        var outDims = new List<int>();
        for (int ax = 0; ax < s.Rank; ax++)
        {
            var entry = ax < index.Length ? index[ax] : TensorIndex.All;
            picks[ax] = entry.Resolve(s[ax], ax, s);
            if (!entry.IsSingle) outDims.Add(picks[ax].Length);
        }
        var shape = new Shape(outDims.ToArray());
        var strides = s.Strides();
        var offsets = new int[shape.Size];
        if (offsets.Length == 0) return (shape, offsets);
        // Odometer over the picked positions of every axis (selected axes have one position).
        var pos = new int[s.Rank];
        for (int o = 0; o < offsets.Length; o++)
        {
            int off = 0;
            for (int ax = 0; ax < s.Rank; ax++) off += picks[ax][pos[ax]] * strides[ax];
            offsets[o] = off;
            for (int ax = s.Rank - 1; ax >= 0; ax--)
            {
                if (++pos[ax] < picks[ax].Length) break;
                pos[ax] = 0;
            }
        }
        return (shape, offsets);
    }

    /// <summary>r[i] = x[offsets[i]]; backward adds g[i] into x's gradient at offsets[i] (repeats add up).</summary>
    private static Tensor GatherOffsets(Tensor x, Shape shape, int[] offsets, string op)
    {
        var r = Tensor.Uninitialized(shape);
        var xd = x.Data;
        var rd = r.Data;
        for (int i = 0; i < offsets.Length; i++) rd[i] = xd[offsets[i]];
        if (Graph.NeedsGrad(x))
            Graph.Record(r, op, [x], g =>
            {
                var gx = x.GradBuffer().Data;
                var gd = g.Data;
                for (int i = 0; i < offsets.Length; i++) gx[offsets[i]] += gd[i];
            });
        return r;
    }

    /// <summary>Removes every axis of size 1 (a view: storage is shared).</summary>
    public static Tensor Squeeze(Tensor x) => Reshape(x, x.Shape.Where(d => d != 1).ToArray());

    /// <summary>Removes axis <paramref name="dim"/> if its size is 1, else returns the same shape, as PyTorch (a view).</summary>
    public static Tensor Squeeze(Tensor x, int dim)
    {
        int ax = x.Shape.NormalizeAxis(dim);
        if (x.Shape[ax] != 1) return Reshape(x, x.Shape.ToArray());
        var dims = x.Shape.ToList();
        dims.RemoveAt(ax);
        return Reshape(x, dims.ToArray());
    }

    /// <summary>Inserts an axis of size 1 at <paramref name="dim"/> (−1: at the end) — a view.</summary>
    public static Tensor Unsqueeze(Tensor x, int dim)
    {
        int ax = dim < 0 ? dim + x.Rank + 1 : dim;
        if (ax < 0 || ax > x.Rank)
            throw new ArgumentOutOfRangeException(nameof(dim), $"Unsqueeze: dim {dim} is out of range for shape {x.Shape} (valid: {-x.Rank - 1}..{x.Rank}).");
        var dims = x.Shape.ToList();
        dims.Insert(ax, 1);
        return Reshape(x, dims.ToArray());
    }

    /// <summary>Joins tensors along <paramref name="dim"/> (PyTorch's <c>cat</c>); see <see cref="Concat"/>.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0) => Concat(tensors, dim);

    /// <summary>Stacks tensors of one shape along a new axis <paramref name="dim"/>: n tensors [A,B] → [n,A,B] for dim 0.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        if (tensors.Count == 0) throw new ArgumentException("Stack: no tensors given.");
        foreach (var t in tensors)
            if (t.Shape != tensors[0].Shape) throw new ShapeMismatchException("Stack", tensors[0].Shape, t.Shape, "all tensors must have the same shape");
        return Concat(tensors.Select(t => Unsqueeze(t, dim < 0 ? dim + t.Rank + 1 : dim)).ToArray(), dim < 0 ? dim + tensors[0].Rank + 1 : dim);
    }

    /// <summary>Cuts <paramref name="x"/> along <paramref name="dim"/> into pieces of <paramref name="splitSize"/> (the last may be smaller); copies.</summary>
    public static Tensor[] Split(Tensor x, int splitSize, int dim = 0)
    {
        if (splitSize < 1) throw new ArgumentOutOfRangeException(nameof(splitSize), $"Split: split size must be at least 1, got {splitSize}.");
        int n = x.Shape[x.Shape.NormalizeAxis(dim)];
        var sizes = new List<int>();
        for (int s = 0; s < n; s += splitSize) sizes.Add(Math.Min(splitSize, n - s));
        return Split(x, sizes.ToArray(), dim);
    }

    /// <summary>Cuts <paramref name="x"/> along <paramref name="dim"/> into pieces of the given sizes, which must add up to the axis; copies.</summary>
    public static Tensor[] Split(Tensor x, int[] sizes, int dim = 0)
    {
        int ax = x.Shape.NormalizeAxis(dim);
        if (sizes.Any(s => s < 0) || sizes.Sum() != x.Shape[ax])
            throw new ArgumentException($"Split: sizes [{string.Join(", ", sizes)}] do not add up to axis {ax} of shape {x.Shape} ({x.Shape[ax]}).");
        var parts = new Tensor[sizes.Length];
        int start = 0;
        for (int i = 0; i < sizes.Length; i++) { parts[i] = Narrow(x, ax, start, sizes[i]); start += sizes[i]; }
        return parts;
    }

    /// <summary>Cuts <paramref name="x"/> into <paramref name="chunks"/> pieces along <paramref name="dim"/> of ⌈n/chunks⌉ each (fewer when n is small), as PyTorch's chunk.</summary>
    public static Tensor[] Chunk(Tensor x, int chunks, int dim = 0)
    {
        if (chunks < 1) throw new ArgumentOutOfRangeException(nameof(chunks), $"Chunk: chunks must be at least 1, got {chunks}.");
        int n = x.Shape[x.Shape.NormalizeAxis(dim)];
        return Split(x, Math.Max(1, (n + chunks - 1) / chunks), dim);
    }

    /// <summary>
    /// Integer positions stored in a float tensor (as <see cref="ArgMax(Tensor, int?, bool)"/> returns them), checked to be
    /// whole numbers in [0, <paramref name="dim"/>).
    /// </summary>
    private static int[] ReadIndices(Tensor index, int dim, string op, int axis)
    {
        var d = index.Data;
        var r = new int[d.Length];
        for (int i = 0; i < d.Length; i++)
        {
            float v = d[i];
            if (v != MathF.Floor(v) || v < 0 || v >= dim)
                throw new IndexOutOfRangeException($"{op}: index {v.ToString(System.Globalization.CultureInfo.InvariantCulture)} at position {i} is not a valid position on axis {axis} (size {dim}).");
            r[i] = (int)v;
        }
        return r;
    }

    /// <summary>The slices of <paramref name="x"/> at the given positions of <paramref name="dim"/>, in that order (repeats allowed); copies.</summary>
    public static Tensor IndexSelect(Tensor x, int dim, Tensor index)
    {
        if (index.Rank > 1) throw new ArgumentException($"IndexSelect: the index must be 1-D, got shape {index.Shape}.");
        int ax = x.Shape.NormalizeAxis(dim);
        return IndexSelect(x, ax, ReadIndices(index, x.Shape[ax], "IndexSelect", ax));
    }

    /// <inheritdoc cref="IndexSelect(Tensor, int, Tensor)"/>
    public static Tensor IndexSelect(Tensor x, int dim, int[] index)
    {
        int ax = x.Shape.NormalizeAxis(dim);
        int outer = x.Shape.Product(0, ax), n = x.Shape[ax], inner = x.Shape.Product(ax + 1, x.Rank);
        foreach (int i in index)
            if ((uint)i >= (uint)n) throw new IndexOutOfRangeException($"IndexSelect: index {i} is out of range for axis {ax} of shape {x.Shape}.");
        var shape = x.Shape.With(ax, index.Length);
        var offsets = new int[shape.Size];
        int o = 0;
        for (int a = 0; a < outer; a++)
            foreach (int i in index)
                for (int b = 0; b < inner; b++) offsets[o++] = (a * n + i) * inner + b;
        return GatherOffsets(x, shape, offsets, "IndexSelect");
    }

    /// <summary>
    /// Where each element of <paramref name="index"/> lands, as flat offsets into a tensor of shape
    /// <paramref name="target"/>: the position of the index element with its <paramref name="dim"/> coordinate
    /// replaced by the index value. <paramref name="index"/> has the rank of <paramref name="target"/> and no
    /// larger dims except along <paramref name="dim"/> (PyTorch's rule for gather and scatter_add).
    /// </summary>
    private static int[] ScatterOffsets(Shape target, int dim, Tensor index, string op)
    {
        if (index.Rank != target.Rank)
            throw new ShapeMismatchException(op, target, index.Shape, "the index must have the same rank as the tensor");
        int ax = target.NormalizeAxis(dim);
        for (int d = 0; d < target.Rank; d++)
            if (d != ax && index.Shape[d] > target[d])
                throw new ShapeMismatchException(op, target, index.Shape, $"index dimension {d} is larger than the tensor's");
        var values = ReadIndices(index, target[ax], op, ax);
        var strides = target.Strides();
        var offsets = new int[values.Length];
        var pos = new int[index.Rank];
        for (int i = 0; i < values.Length; i++)
        {
            int off = 0;
            for (int d = 0; d < index.Rank; d++) off += (d == ax ? values[i] : pos[d]) * strides[d];
            offsets[i] = off;
            for (int d = index.Rank - 1; d >= 0; d--)
            {
                if (++pos[d] < index.Shape[d]) break;
                pos[d] = 0;
            }
        }
        return offsets;
    }

    /// <summary>
    /// out[i][j] = x[index[i][j]][j] for <paramref name="dim"/> 0 (and likewise for any axis): picks values along an axis
    /// by a tensor of positions (whole numbers stored as floats). The result has the index's shape. Backward scatters
    /// (adds) the gradient back to the picked positions.
    /// </summary>
    public static Tensor Gather(Tensor x, int dim, Tensor index) =>
        GatherOffsets(x, index.Shape, ScatterOffsets(x.Shape, dim, index, "Gather"), "Gather");

    /// <summary>
    /// A copy of <paramref name="x"/> with out[index[i][j]][j] += src[i][j] for <paramref name="dim"/> 0 (and likewise for any
    /// axis); repeated positions add up. <paramref name="src"/> has at least the index's dims. Gradients: x gets the output
    /// gradient, src gets it gathered at the same positions.
    /// </summary>
    public static Tensor ScatterAdd(Tensor x, int dim, Tensor index, Tensor src)
    {
        if (src.Rank != index.Rank || Enumerable.Range(0, src.Rank).Any(d => index.Shape[d] > src.Shape[d]))
            throw new ShapeMismatchException("ScatterAdd", src.Shape, index.Shape, "src must have the index's rank and at least its dims");
        var offsets = ScatterOffsets(x.Shape, dim, index, "ScatterAdd");
        // The src element for index element i: the same coordinates in src's (possibly larger) shape.
        var srcOffsets = new int[offsets.Length];
        var srcStrides = src.Shape.Strides();
        var pos = new int[index.Rank];
        for (int i = 0; i < offsets.Length; i++)
        {
            int off = 0;
            for (int d = 0; d < index.Rank; d++) off += pos[d] * srcStrides[d];
            srcOffsets[i] = off;
            for (int d = index.Rank - 1; d >= 0; d--)
            {
                if (++pos[d] < index.Shape[d]) break;
                pos[d] = 0;
            }
        }
        var r = Tensor.Uninitialized(x.Shape);
        x.Data.CopyTo(r.Data);
        var rd = r.Data;
        var sd = src.Data;
        for (int i = 0; i < offsets.Length; i++) rd[offsets[i]] += sd[srcOffsets[i]];
        if (Graph.NeedsGrad(x, src))
            Graph.Record(r, "ScatterAdd", [x, src], g =>
            {
                if (x.RequiresGrad) AddInPlace(x.GradBuffer().Data, g.Data);
                if (src.RequiresGrad)
                {
                    var gs = src.GradBuffer().Data;
                    var gd = g.Data;
                    for (int i = 0; i < offsets.Length; i++) gs[srcOffsets[i]] += gd[offsets[i]];
                }
            });
        return r;
    }
}

public partial class Tensor
{
    /// <summary>
    /// <c>t[i]</c>: the sub-tensor at position <paramref name="i"/> of the first axis (negative counts from the end), one
    /// rank lower — a [3,4] tensor gives a [4] tensor, a [4] tensor a rank-0 one (read it with <see cref="Item"/> or a
    /// cast to float). A differentiable <b>copy</b>, see <see cref="Ops.Index"/>; setting it copies values in.
    /// Use <c>t[i, j]</c> (all indices) for a float.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[int i]
    {
        get => Ops.Index(this, i);
        set => SetIndexed([i], value);
    }

    /// <summary>
    /// <c>t[.., 1]</c>, <c>t[1..3]</c>, <c>t[0, ^1]</c>: PyTorch-style indexing with integers and ranges (see
    /// <see cref="TensorIndex"/>); a differentiable copy (<see cref="Ops.Index"/>). Setting copies values in, broadcasting
    /// the value (e.g. <c>t[.., 0] = Tensor.Scalar(1)</c>).
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[params TensorIndex[] index]
    {
        get => Ops.Index(this, index);
        set => SetIndexed(index, value);
    }

    private void SetIndexed(TensorIndex[] index, Tensor value)
    {
        // PyTorch refuses in-place writes into a leaf that requires grad while recording; so do we.
        if (RequiresGrad && GradMode.IsEnabled)
            throw new InvalidOperationException("Indexed assignment into a tensor that requires gradients: do it under GradMode.NoGrad() (as for parameter updates) or on a detached copy.");
        var (shape, offsets) = Ops.ResolveIndexForWrite(Shape, index);
        var expanded = Ops.Expand(value, shape, "Index assignment");
        for (int i = 0; i < offsets.Length; i++) data[offsets[i]] = expanded[i];
    }

    /// <summary>The value of a one-element tensor (same as <see cref="Item"/>).</summary>
    public static explicit operator float(Tensor t) => t.Item();

    /// <summary>Removes every axis of size 1 (a view).</summary>
    public Tensor Squeeze() => Ops.Squeeze(this);
    /// <summary>Removes axis <paramref name="dim"/> if its size is 1 (a view).</summary>
    public Tensor Squeeze(int dim) => Ops.Squeeze(this, dim);
    /// <summary>Inserts an axis of size 1 at <paramref name="dim"/> (a view).</summary>
    public Tensor Unsqueeze(int dim) => Ops.Unsqueeze(this, dim);
    /// <summary>Same elements, another shape: PyTorch's <c>view</c> (storage shared).</summary>
    public Tensor View(params int[] shape) => Ops.Reshape(this, shape);
    /// <summary>Pieces of <paramref name="splitSize"/> along <paramref name="dim"/>.</summary>
    public Tensor[] Split(int splitSize, int dim = 0) => Ops.Split(this, splitSize, dim);
    /// <summary><paramref name="chunks"/> pieces along <paramref name="dim"/>.</summary>
    public Tensor[] Chunk(int chunks, int dim = 0) => Ops.Chunk(this, chunks, dim);
    /// <summary>Values picked along <paramref name="dim"/> by <paramref name="index"/>.</summary>
    public Tensor Gather(int dim, Tensor index) => Ops.Gather(this, dim, index);
    /// <summary>A copy with <paramref name="src"/> added at <paramref name="index"/> along <paramref name="dim"/>.</summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src) => Ops.ScatterAdd(this, dim, index, src);
    /// <summary>Slices at the given positions of <paramref name="dim"/>.</summary>
    public Tensor IndexSelect(int dim, Tensor index) => Ops.IndexSelect(this, dim, index);
    /// <summary>Slices at the given positions of <paramref name="dim"/>.</summary>
    public Tensor IndexSelect(int dim, int[] index) => Ops.IndexSelect(this, dim, index);
}
