using System.Numerics.Tensors;
using Nabla.Autograd;

namespace Nabla;

public static partial class Ops
{
    /// <summary>Sum of all elements (a scalar). Backward: the gradient is spread to every element.</summary>
    public static Tensor Sum(Tensor x)
    {
        var r = Tensor.Scalar(SumDouble(x.Data));
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Sum", [x], g => TensorPrimitives.Add(x.GradBuffer().Data, g.Data[0], x.GradBuffer().Data));
        return r;
    }

    /// <summary>Mean of all elements (a scalar).</summary>
    public static Tensor Mean(Tensor x)
    {
        if (x.Length == 0) throw new ArgumentException($"Mean: tensor of shape {x.Shape} is empty.");
        var r = Tensor.Scalar(SumDouble(x.Data) / x.Length);
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Mean", [x], g => TensorPrimitives.Add(x.GradBuffer().Data, g.Data[0] / x.Length, x.GradBuffer().Data));
        return r;
    }

    // Sums long spans pairwise in float64 so that loss values over many elements stay accurate.
    private static float SumDouble(ReadOnlySpan<float> x)
    {
        double s = 0;
        const int block = 1024;
        for (int i = 0; i < x.Length; i += block)
            s += TensorPrimitives.Sum(x.Slice(i, Math.Min(block, x.Length - i)));
        return (float)s;
    }

    /// <summary>Sum over <paramref name="axis"/>; the axis is kept with size 1 when <paramref name="keepDim"/>.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false) => AxisSum(x, axis, keepDim, mean: false);

    /// <summary>Mean over <paramref name="axis"/>.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) => AxisSum(x, axis, keepDim, mean: true);

    private static Tensor AxisSum(Tensor x, int axis, bool keepDim, bool mean)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        int outer = x.Shape.Product(0, ax), dim = x.Shape[ax], inner = x.Shape.Product(ax + 1, x.Rank);
        float scale = mean ? 1f / Math.Max(dim, 1) : 1f;
        var r = new Tensor(x.Shape.With(ax, keepDim ? 1 : null));
        var rd = r.Data;
        for (int o = 0; o < outer; o++)
        {
            var dst = rd.Slice(o * inner, inner);
            for (int d = 0; d < dim; d++) AddInPlace(dst, x.Data.Slice((o * dim + d) * inner, inner));
            if (mean) TensorPrimitives.Multiply(dst, scale, dst);
        }
        if (Graph.NeedsGrad(x))
            Graph.Record(r, mean ? "MeanAxis" : "SumAxis", [x], g =>
            {
                var gx = x.GradBuffer().Data;
                for (int o = 0; o < outer; o++)
                {
                    var src = g.Data.Slice(o * inner, inner);
                    for (int d = 0; d < dim; d++)
                    {
                        var dst = gx.Slice((o * dim + d) * inner, inner);
                        TensorPrimitives.MultiplyAdd(src, scale, dst, dst);
                    }
                }
            });
        return r;
    }

    /// <summary>Maximum over <paramref name="axis"/>. Backward routes the gradient to the (first) arg-max: the max gate.</summary>
    public static Tensor Max(Tensor x, int axis, bool keepDim = false)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        int outer = x.Shape.Product(0, ax), dim = x.Shape[ax], inner = x.Shape.Product(ax + 1, x.Rank);
        if (dim == 0) throw new ArgumentException($"Max: axis {ax} of shape {x.Shape} is empty.");
        var r = Tensor.Uninitialized(x.Shape.With(ax, keepDim ? 1 : null));
        var where = ArgMaxIndices(x.Data, outer, dim, inner);
        var xd = x.Data;
        var rd = r.Data;
        for (int i = 0; i < where.Length; i++) rd[i] = xd[where[i]];
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Max", [x], g =>
            {
                var gx = x.GradBuffer().Data;
                for (int i = 0; i < where.Length; i++) gx[where[i]] += g.Data[i];
            });
        return r;
    }

    /// <summary>Maximum of all elements (a scalar).</summary>
    public static Tensor Max(Tensor x) => Max(Reshape(x, x.Length), 0);

    // Flat offsets of the maxima of each (outer, inner) fibre.
    private static int[] ArgMaxIndices(ReadOnlySpan<float> x, int outer, int dim, int inner)
    {
        var where = new int[outer * inner];
        for (int o = 0; o < outer; o++)
        {
            if (inner == 1)
            {
                where[o] = o * dim + TensorPrimitives.IndexOfMax(x.Slice(o * dim, dim));
                continue;
            }
            for (int i = 0; i < inner; i++)
            {
                int best = o * dim * inner + i;
                for (int d = 1; d < dim; d++)
                {
                    int at = (o * dim + d) * inner + i;
                    if (x[at] > x[best]) best = at;
                }
                where[o * inner + i] = best;
            }
        }
        return where;
    }
}

public partial class Tensor
{
    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => Ops.Sum(this);
    /// <summary>Sum over an axis.</summary>
    public Tensor Sum(int axis, bool keepDim = false) => Ops.Sum(this, axis, keepDim);
    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Ops.Mean(this);
    /// <summary>Mean over an axis.</summary>
    public Tensor Mean(int axis, bool keepDim = false) => Ops.Mean(this, axis, keepDim);
    /// <summary>Maximum over an axis.</summary>
    public Tensor Max(int axis, bool keepDim = false) => Ops.Max(this, axis, keepDim);
}
