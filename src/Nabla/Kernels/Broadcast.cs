using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>An elementwise binary function with vectorised span forms (for TensorPrimitives).</summary>
internal interface IBinaryOp
{
    static abstract float Apply(float x, float y);
    static abstract void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d);
    static abstract void Apply(ReadOnlySpan<float> x, float y, Span<float> d);
    static abstract void Apply(float x, ReadOnlySpan<float> y, Span<float> d);
}

internal struct AddOp : IBinaryOp
{
    public static float Apply(float x, float y) => x + y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Add(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Add(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Add(y, x, d);
}

internal struct SubOp : IBinaryOp
{
    public static float Apply(float x, float y) => x - y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Subtract(x, y, d);
}

internal struct MulOp : IBinaryOp
{
    public static float Apply(float x, float y) => x * y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Multiply(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Multiply(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Multiply(y, x, d);
}

internal struct DivOp : IBinaryOp
{
    public static float Apply(float x, float y) => x / y;
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
    public static void Apply(ReadOnlySpan<float> x, float y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
    public static void Apply(float x, ReadOnlySpan<float> y, Span<float> d) => TensorPrimitives.Divide(x, y, d);
}

/// <summary>
/// Numpy-style broadcasting on contiguous row-major buffers. The innermost dimension is handled
/// as one span operation (vectorised); the outer dimensions are walked with an odometer.
/// </summary>
internal static class Broadcast
{
    /// <summary>Strides of <paramref name="s"/> aligned to the dims of <paramref name="outShape"/>, 0 where broadcast.</summary>
    public static int[] AlignedStrides(Shape s, Shape outShape)
    {
        int rank = outShape.Rank;
        var strides = new int[rank];
        var own = s.Strides();
        int lead = rank - s.Rank;
        for (int i = 0; i < rank; i++)
        {
            if (i < lead) continue;
            strides[i] = s[i - lead] == 1 && outShape[i] != 1 ? 0 : own[i - lead];
        }
        return strides;
    }

    /// <summary>d = op(a, b) with broadcasting; d has shape <paramref name="so"/>.</summary>
    public static void Binary<TOp>(ReadOnlySpan<float> a, Shape sa, ReadOnlySpan<float> b, Shape sb, Span<float> d, Shape so)
        where TOp : struct, IBinaryOp
    {
        if (sa.Size == so.Size && sb.Size == so.Size) { TOp.Apply(a, b, d); return; }
        if (sb.Size == 1) { TOp.Apply(a, b[0], d); return; }
        if (sa.Size == 1) { TOp.Apply(a[0], b, d); return; }
        if (so.Rank == 0) { d[0] = TOp.Apply(a[0], b[0]); return; }

        int rank = so.Rank, inner = so[rank - 1];
        var sta = AlignedStrides(sa, so);
        var stb = AlignedStrides(sb, so);
        int rows = so.Size / Math.Max(inner, 1);
        var idx = new int[rank];
        int oa = 0, ob = 0;
        for (int r = 0; r < rows; r++)
        {
            var drow = d.Slice(r * inner, inner);
            bool aRow = sta[rank - 1] != 0 || inner == 1, bRow = stb[rank - 1] != 0 || inner == 1;
            if (aRow && bRow) TOp.Apply(a.Slice(oa, inner), b.Slice(ob, inner), drow);
            else if (aRow) TOp.Apply(a.Slice(oa, inner), b[ob], drow);
            else if (bRow) TOp.Apply(a[oa], b.Slice(ob, inner), drow);
            else drow.Fill(TOp.Apply(a[oa], b[ob]));
            // Odometer over the outer dimensions.
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                idx[ax]++;
                oa += sta[ax]; ob += stb[ax];
                if (idx[ax] < so[ax]) break;
                oa -= sta[ax] * idx[ax]; ob -= stb[ax] * idx[ax];
                idx[ax] = 0;
            }
        }
    }

    /// <summary>
    /// dst (shape <paramref name="target"/>) += src (shape <paramref name="source"/>) summed over
    /// the broadcast dimensions: the backward of broadcasting.
    /// </summary>
    public static void SumInto(ReadOnlySpan<float> src, Shape source, Span<float> dst, Shape target)
    {
        if (source.Size == target.Size) { TensorPrimitives.Add(dst, src, dst); return; }
        if (target.Size == 1) { dst[0] += TensorPrimitives.Sum(src); return; }
        int rank = source.Rank, inner = source[rank - 1];
        var st = AlignedStrides(target, source);
        int rows = source.Size / Math.Max(inner, 1);
        var idx = new int[rank];
        int ot = 0;
        bool rowWise = st[rank - 1] != 0 || inner == 1;
        for (int r = 0; r < rows; r++)
        {
            var srow = src.Slice(r * inner, inner);
            if (rowWise) { var trow = dst.Slice(ot, inner); TensorPrimitives.Add(trow, srow, trow); }
            else dst[ot] += TensorPrimitives.Sum(srow);
            for (int ax = rank - 2; ax >= 0; ax--)
            {
                idx[ax]++;
                ot += st[ax];
                if (idx[ax] < source[ax]) break;
                ot -= st[ax] * idx[ax];
                idx[ax] = 0;
            }
        }
    }
}
