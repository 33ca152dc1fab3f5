using Nabla.Autograd;
using System.Numerics.Tensors;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// The same elements viewed with another shape (storage is shared, nothing is copied). One
    /// dimension may be −1 and is then inferred.
    /// </summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var dims = (int[])shape.Clone();
        string requested = "[" + string.Join(", ", shape) + "]";
        if (dims.Count(d => d == -1) > 1 || dims.Any(d => d < -1))
            throw new ShapeMismatchException("Reshape", x.Shape, null, $"cannot reshape to {requested}: only one dimension may be −1, and none other negative");
        int infer = Array.IndexOf(dims, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < dims.Length; i++) if (i != infer) known *= dims[i];
            if (known == 0 || x.Length % known != 0)
                throw new ShapeMismatchException("Reshape", x.Shape, null, $"cannot infer the −1 dimension of {requested}");
            dims[infer] = x.Length / known;
        }
        var s = new Shape(dims);
        if (s.Size != x.Length) throw new ShapeMismatchException("Reshape", x.Shape, s, "element counts differ");
        var r = new Tensor(x.data, s);
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Reshape", [x], g => AddInPlace(x.GradBuffer().Data, g.Data));
        return r;
    }

    /// <summary>Flattens all dimensions from <paramref name="startAxis"/> on into one: [N,C,H,W] → [N, C·H·W].</summary>
    public static Tensor Flatten(Tensor x, int startAxis = 1)
    {
        int a = x.Rank == 0 ? 0 : x.Shape.NormalizeAxis(startAxis);
        var dims = new int[a + 1];
        for (int i = 0; i < a; i++) dims[i] = x.Shape[i];
        dims[a] = x.Shape.Product(a, x.Rank);
        return Reshape(x, dims);
    }

    /// <summary>Reorders the axes: result axis i is input axis <paramref name="axes"/>[i]. Materialises the result.</summary>
    public static Tensor Permute(Tensor x, params int[] axes)
    {
        if (axes.Length != x.Rank || axes.Select(x.Shape.NormalizeAxis).Distinct().Count() != x.Rank)
            throw new ArgumentException($"Permute: axes [{string.Join(", ", axes)}] are not a permutation of the {x.Rank} axes of shape {x.Shape}.");
        var perm = axes.Select(x.Shape.NormalizeAxis).ToArray();
        var outShape = new Shape(perm.Select(p => x.Shape[p]).ToArray());
        var r = Tensor.Uninitialized(outShape);
        PermuteCopy(x.Data, x.Shape, perm, r.Data, accumulate: false);
        if (Graph.NeedsGrad(x))
        {
            var inverse = new int[perm.Length];
            for (int i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
            Graph.Record(r, "Permute", [x], g => PermuteCopy(g.Data, outShape, inverse, x.GradBuffer().Data, accumulate: true));
        }
        return r;
    }

    /// <summary>Swaps two axes (by default the last two: the matrix transpose).</summary>
    public static Tensor Transpose(Tensor x, int axis0 = -2, int axis1 = -1)
    {
        if (x.Rank < 2) throw new ArgumentException($"Transpose: needs at least 2 dimensions, got shape {x.Shape}.");
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        int a = x.Shape.NormalizeAxis(axis0), b = x.Shape.NormalizeAxis(axis1);
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }

    private static void PermuteCopy(ReadOnlySpan<float> src, Shape srcShape, int[] perm, Span<float> dst, bool accumulate)
    {
        int rank = perm.Length;
        if (rank == 0) { if (accumulate) dst[0] += src[0]; else dst[0] = src[0]; return; }
        var srcStrides = srcShape.Strides();
        // Walk the destination in order; its axis i advances the source by srcStrides[perm[i]].
        var step = new int[rank];
        var extent = new int[rank];
        for (int i = 0; i < rank; i++) { step[i] = srcStrides[perm[i]]; extent[i] = srcShape[perm[i]]; }
        // When the last axis stays last (a batch-first RNN's [B,T,F] ↔ [T,B,F]), whole rows are
        // contiguous on both sides: copy them as blocks and walk only the outer axes.
        int run = perm[rank - 1] == rank - 1 ? Math.Max(1, srcShape[rank - 1]) : 1;
        int walked = run > 1 ? rank - 1 : rank;
        var idx = new int[rank];
        int so = 0;
        for (int o = 0; o < dst.Length; o += run)
        {
            if (run > 1)
            {
                var d = dst.Slice(o, run);
                if (accumulate) TensorPrimitives.Add(d, src.Slice(so, run), d); else src.Slice(so, run).CopyTo(d);
            }
            else if (accumulate) dst[o] += src[so]; else dst[o] = src[so];
            for (int ax = walked - 1; ax >= 0; ax--)
            {
                idx[ax]++;
                so += step[ax];
                if (idx[ax] < extent[ax]) break;
                so -= step[ax] * idx[ax];
                idx[ax] = 0;
            }
        }
    }

    /// <summary>The slice [start, start+length) of <paramref name="axis"/> (copied).</summary>
    public static Tensor Narrow(Tensor x, int axis, int start, int length)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        int dim = x.Shape[ax];
        if (start < 0 || length < 0 || start + length > dim)
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: range [{start}, {start + length}) is outside axis {ax} of shape {x.Shape}.");
        int outer = x.Shape.Product(0, ax), inner = x.Shape.Product(ax + 1, x.Rank);
        var r = Tensor.Uninitialized(x.Shape.With(ax, length));
        for (int o = 0; o < outer; o++)
            x.Data.Slice((o * dim + start) * inner, length * inner).CopyTo(r.Data.Slice(o * length * inner, length * inner));
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Narrow", [x], g =>
            {
                var gx = x.GradBuffer().Data;
                for (int o = 0; o < outer; o++)
                    AddInPlace(gx.Slice((o * dim + start) * inner, length * inner), g.Data.Slice(o * length * inner, length * inner));
            });
        return r;
    }

    /// <summary>Rows [start, start+count) along the first axis.</summary>
    public static Tensor SliceRows(Tensor x, int start, int count) => Narrow(x, 0, start, count);

    /// <summary>Joins tensors along <paramref name="axis"/>; all other dimensions must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int axis = 0)
    {
        if (parts.Count == 0) throw new ArgumentException("Concat: no tensors given.");
        var first = parts[0];
        int ax = first.Shape.NormalizeAxis(axis);
        int total = 0;
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank) throw new ShapeMismatchException("Concat", first.Shape, p.Shape, "ranks differ");
            for (int i = 0; i < p.Rank; i++)
                if (i != ax && p.Shape[i] != first.Shape[i])
                    throw new ShapeMismatchException("Concat", first.Shape, p.Shape, $"dimensions other than axis {ax} differ");
            total += p.Shape[ax];
        }
        int outer = first.Shape.Product(0, ax), inner = first.Shape.Product(ax + 1, first.Rank);
        var r = Tensor.Uninitialized(first.Shape.With(ax, total));
        int offset = 0;
        var offsets = new int[parts.Count];
        for (int pi = 0; pi < parts.Count; pi++)
        {
            var p = parts[pi];
            offsets[pi] = offset;
            int len = p.Shape[ax] * inner;
            for (int o = 0; o < outer; o++)
                p.Data.Slice(o * len, len).CopyTo(r.Data.Slice((o * total + offset) * inner, len));
            offset += p.Shape[ax];
        }
        var inputs = parts.ToArray();
        if (GradMode.IsEnabled && inputs.Any(p => p.RequiresGrad))
            Graph.Record(r, "Concat", inputs, g =>
            {
                for (int pi = 0; pi < inputs.Length; pi++)
                {
                    var p = inputs[pi];
                    if (!p.RequiresGrad) continue;
                    int len = p.Shape[ax] * inner;
                    var gp = p.GradBuffer().Data;
                    for (int o = 0; o < outer; o++)
                        AddInPlace(gp.Slice(o * len, len), g.Data.Slice((o * total + offsets[pi]) * inner, len));
                }
            });
        return r;
    }
}

public partial class Tensor
{
    /// <summary>Same elements, another shape (see <see cref="Ops.Reshape"/>).</summary>
    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);
    /// <summary>Swaps two axes (default: the last two).</summary>
    public Tensor Transpose(int axis0 = -2, int axis1 = -1) => Ops.Transpose(this, axis0, axis1);
    /// <summary>The matrix transpose of a 2-D tensor.</summary>
    public Tensor T => Ops.Transpose(this);
    /// <summary>Rows [start, start+count) along the first axis.</summary>
    public Tensor SliceRows(int start, int count) => Ops.SliceRows(this, start, count);
    /// <summary>Flattens from <paramref name="startAxis"/> on.</summary>
    public Tensor Flatten(int startAxis = 1) => Ops.Flatten(this, startAxis);
}
