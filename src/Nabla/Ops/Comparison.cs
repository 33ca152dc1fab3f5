using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

public static partial class Ops
{
    internal static (Shape Shape, int[] Offsets) ResolveIndexForWrite(Shape s, TensorIndex[] index) => ResolveIndex(s, index);

    /// <summary><paramref name="x"/>'s values broadcast to <paramref name="shape"/> (a fresh array), or an error naming <paramref name="op"/>.</summary>
    internal static float[] Expand(Tensor x, Shape shape, string op)
    {
        var merged = Shape.Broadcast(x.Shape, shape, op);
        if (merged != shape) throw new ShapeMismatchException(op, x.Shape, shape, "the value does not broadcast to the target shape");
        var r = new float[shape.Size];
        if (x.Length == shape.Size) x.Data.CopyTo(r);
        else if (shape.Size > 0) Broadcast.Binary<AddOp>(x.Data, x.Shape, new float[shape.Size], shape, r, shape);
        return r;
    }

    // ------------------------------------------------------------ comparisons: masks of 0 and 1

    private static Tensor Compare(Tensor a, Tensor b, string op, Func<float, float, bool> test)
    {
        var so = Shape.Broadcast(a.Shape, b.Shape, op);
        var x = Expand(a, so, op);
        var y = Expand(b, so, op);
        var r = new float[so.Size];
        for (int i = 0; i < r.Length; i++) r[i] = test(x[i], y[i]) ? 1f : 0f;
        return new Tensor(r, so); // masks carry no gradient, as PyTorch's bool tensors
    }

    /// <summary>a &gt; b elementwise with broadcasting: 1 where true, 0 where false (not differentiable).</summary>
    public static Tensor Gt(Tensor a, Tensor b) => Compare(a, b, "Gt", (x, y) => x > y);
    /// <summary>a ≥ b elementwise: a mask of 0 and 1.</summary>
    public static Tensor Ge(Tensor a, Tensor b) => Compare(a, b, "Ge", (x, y) => x >= y);
    /// <summary>a &lt; b elementwise: a mask of 0 and 1.</summary>
    public static Tensor Lt(Tensor a, Tensor b) => Compare(a, b, "Lt", (x, y) => x < y);
    /// <summary>a ≤ b elementwise: a mask of 0 and 1.</summary>
    public static Tensor Le(Tensor a, Tensor b) => Compare(a, b, "Le", (x, y) => x <= y);
    /// <summary>a = b elementwise: a mask of 0 and 1 (NaN equals nothing).</summary>
    public static Tensor Eq(Tensor a, Tensor b) => Compare(a, b, "Eq", (x, y) => x == y);
    /// <summary>a ≠ b elementwise: a mask of 0 and 1.</summary>
    public static Tensor Ne(Tensor a, Tensor b) => Compare(a, b, "Ne", (x, y) => x != y);

    // ------------------------------------------------------------ selection

    /// <summary>
    /// <paramref name="a"/> where <paramref name="condition"/> is non-zero, else <paramref name="b"/>, all three broadcast
    /// together (PyTorch's <c>where</c>). A NaN or infinity in the branch not taken does not reach the result, and the
    /// gradient reaches a only where the condition holds and b only where it does not (as in PyTorch, a branch's own
    /// backward, e.g. √x at 0, can still produce NaN there: mask its input instead).
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b)
    {
        var so = Shape.Broadcast(Shape.Broadcast(condition.Shape, a.Shape, "Where"), b.Shape, "Where");
        var c = Expand(condition, so, "Where");
        var x = Expand(a, so, "Where");
        var y = Expand(b, so, "Where");
        var r = Tensor.Uninitialized(so);
        var rd = r.Data;
        for (int i = 0; i < rd.Length; i++)
        {
            c[i] = c[i] != 0 ? 1f : 0f; // from here on: a's share of the gradient
            rd[i] = c[i] != 0 ? x[i] : y[i];
        }
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "Where", [a, b], g => RouteGradient(g, so, c, a, b));
        return r;
    }

    /// <summary>a where <paramref name="condition"/> holds, else the constant <paramref name="b"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor a, float b) => Where(condition, a, Tensor.Scalar(b));

    /// <summary>Sends g to a where share = 1, to b where share = 0, half to each where share = 0.5 (ties), summing over broadcast dims.</summary>
    private static void RouteGradient(Tensor g, Shape so, float[] shareOfA, Tensor a, Tensor b)
    {
        var gd = g.Data;
        if (a.RequiresGrad)
        {
            var ga = new float[so.Size];
            for (int i = 0; i < ga.Length; i++) ga[i] = gd[i] * shareOfA[i];
            Broadcast.SumInto(ga, so, a.GradBuffer().Data, a.Shape);
        }
        if (b.RequiresGrad)
        {
            var gb = new float[so.Size];
            for (int i = 0; i < gb.Length; i++) gb[i] = gd[i] * (1f - shareOfA[i]);
            Broadcast.SumInto(gb, so, b.GradBuffer().Data, b.Shape);
        }
    }

    /// <summary>
    /// Elementwise maximum with broadcasting. The gradient goes to the larger input; at a tie it is split in half,
    /// as PyTorch does. NaN propagates.
    /// </summary>
    public static Tensor Maximum(Tensor a, Tensor b) => Extremum(a, b, "Maximum", max: true);

    /// <summary>Elementwise minimum with broadcasting; the gradient goes to the smaller input (split at ties).</summary>
    public static Tensor Minimum(Tensor a, Tensor b) => Extremum(a, b, "Minimum", max: false);

    private static Tensor Extremum(Tensor a, Tensor b, string op, bool max)
    {
        var so = Shape.Broadcast(a.Shape, b.Shape, op);
        var x = Expand(a, so, op);
        var y = Expand(b, so, op);
        var r = Tensor.Uninitialized(so);
        var rd = r.Data;
        var share = new float[so.Size];
        for (int i = 0; i < rd.Length; i++)
        {
            float u = x[i], v = y[i];
            if (float.IsNaN(u) || float.IsNaN(v)) { rd[i] = float.NaN; share[i] = 0.5f; continue; }
            bool first = max ? u > v : u < v;
            rd[i] = u == v ? u : first ? u : v;
            share[i] = u == v ? 0.5f : first ? 1f : 0f;
        }
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, op, [a, b], g => RouteGradient(g, so, share, a, b));
        return r;
    }

    /// <summary>
    /// Limits every element to [<paramref name="min"/>, <paramref name="max"/>] (either bound may be null). The gradient is 1
    /// inside the range (bounds included, as PyTorch) and 0 where the value was clipped.
    /// </summary>
    public static Tensor Clamp(Tensor x, float? min = null, float? max = null)
    {
        if (min is float lo && max is float hi && lo > hi)
            throw new ArgumentException($"Clamp: min {lo} is greater than max {hi}.");
        float low = min ?? float.NegativeInfinity, high = max ?? float.PositiveInfinity;
        return Unary(x, "Clamp",
            (a, y) => { for (int i = 0; i < a.Length; i++) y[i] = float.IsNaN(a[i]) ? a[i] : Math.Clamp(a[i], low, high); },
            (a, y, d) => { for (int i = 0; i < a.Length; i++) d[i] = a[i] >= low && a[i] <= high ? 1f : 0f; });
    }
}

public partial class Tensor
{
    /// <summary>Mask of a &gt; b (1/0).</summary>
    public static Tensor operator >(Tensor a, Tensor b) => Ops.Gt(a, b);
    /// <summary>Mask of a &lt; b (1/0).</summary>
    public static Tensor operator <(Tensor a, Tensor b) => Ops.Lt(a, b);
    /// <summary>Mask of a ≥ b (1/0).</summary>
    public static Tensor operator >=(Tensor a, Tensor b) => Ops.Ge(a, b);
    /// <summary>Mask of a ≤ b (1/0).</summary>
    public static Tensor operator <=(Tensor a, Tensor b) => Ops.Le(a, b);
    /// <summary>Mask of a &gt; c (1/0).</summary>
    public static Tensor operator >(Tensor a, float c) => Ops.Gt(a, Scalar(c));
    /// <summary>Mask of a &lt; c (1/0).</summary>
    public static Tensor operator <(Tensor a, float c) => Ops.Lt(a, Scalar(c));
    /// <summary>Mask of a ≥ c (1/0).</summary>
    public static Tensor operator >=(Tensor a, float c) => Ops.Ge(a, Scalar(c));
    /// <summary>Mask of a ≤ c (1/0).</summary>
    public static Tensor operator <=(Tensor a, float c) => Ops.Le(a, Scalar(c));

    /// <summary>Mask of this &gt; other (1/0).</summary>
    public Tensor Gt(Tensor other) => Ops.Gt(this, other);
    /// <summary>Mask of this &gt; c.</summary>
    public Tensor Gt(float c) => Ops.Gt(this, Scalar(c));
    /// <summary>Mask of this ≥ other.</summary>
    public Tensor Ge(Tensor other) => Ops.Ge(this, other);
    /// <summary>Mask of this ≥ c.</summary>
    public Tensor Ge(float c) => Ops.Ge(this, Scalar(c));
    /// <summary>Mask of this &lt; other.</summary>
    public Tensor Lt(Tensor other) => Ops.Lt(this, other);
    /// <summary>Mask of this &lt; c.</summary>
    public Tensor Lt(float c) => Ops.Lt(this, Scalar(c));
    /// <summary>Mask of this ≤ other.</summary>
    public Tensor Le(Tensor other) => Ops.Le(this, other);
    /// <summary>Mask of this ≤ c.</summary>
    public Tensor Le(float c) => Ops.Le(this, Scalar(c));
    /// <summary>Mask of this = other (elementwise; == on tensors stays reference equality in C#).</summary>
    public Tensor Eq(Tensor other) => Ops.Eq(this, other);
    /// <summary>Mask of this = c.</summary>
    public Tensor Eq(float c) => Ops.Eq(this, Scalar(c));
    /// <summary>Mask of this ≠ other.</summary>
    public Tensor Ne(Tensor other) => Ops.Ne(this, other);
    /// <summary>Mask of this ≠ c.</summary>
    public Tensor Ne(float c) => Ops.Ne(this, Scalar(c));

    /// <summary>Elements limited to [min, max].</summary>
    public Tensor Clamp(float? min = null, float? max = null) => Ops.Clamp(this, min, max);
    /// <summary>Elementwise maximum with another tensor.</summary>
    public Tensor Maximum(Tensor other) => Ops.Maximum(this, other);
    /// <summary>Elementwise minimum with another tensor.</summary>
    public Tensor Minimum(Tensor other) => Ops.Minimum(this, other);
}
