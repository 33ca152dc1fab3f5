using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

/// <summary>
/// Differentiable operations on tensors. Each op computes its result with span kernels and, when
/// an input requires gradients, records a backward rule next to its forward (one file per family).
/// Backward rules add into their inputs' gradients, so a tensor used twice receives both parts.
/// </summary>
public static partial class Ops
{
    // ------------------------------------------------------------ broadcasting binary ops

    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var (r, so) = BinaryForward<AddOp>(a, b, "Add");
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "Add", [a, b], g =>
            {
                if (a.RequiresGrad) SumIntoGrad(g.Data, so, a);
                if (b.RequiresGrad) SumIntoGrad(g.Data, so, b);
            });
        return r;
    }

    // t.grad += g summed down to t's shape; a first gradient of t's own shape is a copy (the
    // residual connections of a ResNet), with no zero fill and no add.
    private static void SumIntoGrad(ReadOnlySpan<float> g, Shape so, Tensor t)
    {
        var (buffer, overwrite) = t.GradTarget();
        if (overwrite)
        {
            if (t.Shape == so) { g.CopyTo(buffer.Data); return; }
            buffer.Data.Clear();
        }
        Broadcast.SumInto(g, so, buffer.Data, t.Shape);
    }

    /// <summary>a − b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b)
    {
        var (r, so) = BinaryForward<SubOp>(a, b, "Sub");
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "Sub", [a, b], g =>
            {
                if (a.RequiresGrad) SumIntoGrad(g.Data, so, a);
                if (b.RequiresGrad) Broadcast.SumInto(Negated(g.Data), so, b.GradBuffer().Data, b.Shape);
            });
        return r;
    }

    /// <summary>a · b elementwise with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        var (r, so) = BinaryForward<MulOp>(a, b, "Mul");
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "Mul", [a, b], g =>
            {
                // ∂(ab)/∂a = b: the multiply gate "switches" its inputs.
                if (a.RequiresGrad) Broadcast.SumInto(Times(g, b, so), so, a.GradBuffer().Data, a.Shape);
                if (b.RequiresGrad) Broadcast.SumInto(Times(g, a, so), so, b.GradBuffer().Data, b.Shape);
            });
        return r;
    }

    /// <summary>a / b elementwise with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b)
    {
        var (r, so) = BinaryForward<DivOp>(a, b, "Div");
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "Div", [a, b], g =>
            {
                // ∂(a/b)/∂a = 1/b ; ∂(a/b)/∂b = −a/b² = −r/b.
                var gOverB = TensorArena.Allocate(so.Size, clear: false);
                Broadcast.Binary<DivOp>(g.Data, so, b.Data, b.Shape, gOverB, so);
                if (a.RequiresGrad) Broadcast.SumInto(gOverB, so, a.GradBuffer().Data, a.Shape);
                if (b.RequiresGrad)
                {
                    TensorPrimitives.Multiply(gOverB, r.Data, gOverB);
                    TensorPrimitives.Negate(gOverB, gOverB);
                    Broadcast.SumInto(gOverB, so, b.GradBuffer().Data, b.Shape);
                }
            });
        return r;
    }

    private static (Tensor result, Shape shape) BinaryForward<TOp>(Tensor a, Tensor b, string op) where TOp : struct, IBinaryOp
    {
        var so = Shape.Broadcast(a.Shape, b.Shape, op);
        var r = Tensor.Uninitialized(so);
        Broadcast.Binary<TOp>(a.Data, a.Shape, b.Data, b.Shape, r.Data, so);
        return (r, so);
    }

    private static float[] Times(Tensor g, Tensor other, Shape so)
    {
        var t = TensorArena.Allocate(so.Size, clear: false);
        Broadcast.Binary<MulOp>(g.Data, so, other.Data, other.Shape, t, so);
        return t;
    }

    private static float[] Negated(ReadOnlySpan<float> x)
    {
        var t = TensorArena.Allocate(x.Length, clear: false);
        TensorPrimitives.Negate(x, t);
        return t;
    }

    /// <summary>dst += src (same length).</summary>
    internal static void AddInPlace(Span<float> dst, ReadOnlySpan<float> src) => TensorPrimitives.Add(dst, src, dst);

    // ------------------------------------------------------------ unary ops

    /// <summary>y = f(x) elementwise on spans.</summary>
    internal delegate void SpanMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>∂y/∂x elementwise from (x, y).</summary>
    internal delegate void SpanDerivative(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dydx);

    /// <summary>
    /// Applies a unary elementwise function; <paramref name="derivative"/> computes ∂y/∂x from
    /// (x, y) into a span, multiplied by the incoming gradient in backward.
    /// </summary>
    internal static Tensor Unary(Tensor x, string op, SpanMap forward, SpanDerivative derivative)
    {
        var r = Tensor.Uninitialized(x.Shape);
        forward(x.Data, r.Data);
        if (Graph.NeedsGrad(x))
            Graph.Record(r, op, [x], g =>
            {
                var d = TensorArena.Allocate(x.Length, clear: false);
                derivative(x.Data, r.Data, d);
                var gx = x.GradBuffer().Data;
                TensorPrimitives.FusedMultiplyAdd(g.Data, d, gx, gx);
            });
        return r;
    }

    /// <summary>−x.</summary>
    public static Tensor Neg(Tensor x) => Unary(x, "Neg",
        (a, y) => TensorPrimitives.Negate(a, y),
        (a, y, d) => d.Fill(-1f));

    /// <summary>x + c.</summary>
    public static Tensor Add(Tensor x, float c) => Unary(x, "AddScalar",
        (a, y) => TensorPrimitives.Add(a, c, y),
        (a, y, d) => d.Fill(1f));

    /// <summary>x · c.</summary>
    public static Tensor Mul(Tensor x, float c) => Unary(x, "MulScalar",
        (a, y) => TensorPrimitives.Multiply(a, c, y),
        (a, y, d) => d.Fill(c));

    /// <summary>x raised to the constant power <paramref name="p"/>.</summary>
    public static Tensor Pow(Tensor x, float p) => Unary(x, "Pow",
        (a, y) => TensorPrimitives.Pow(a, p, y),
        (a, y, d) =>
        {
            // d/dx x^p = p·x^(p−1)
            TensorPrimitives.Pow(a, p - 1f, d);
            TensorPrimitives.Multiply(d, p, d);
        });

    /// <summary>eˣ.</summary>
    public static Tensor Exp(Tensor x) => Unary(x, "Exp",
        (a, y) => TensorPrimitives.Exp(a, y),
        (a, y, d) => y.CopyTo(d));

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x) => Unary(x, "Log",
        (a, y) => TensorPrimitives.Log(a, y),
        (a, y, d) => TensorPrimitives.Reciprocal(a, d));

    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x) => Unary(x, "Sqrt",
        (a, y) => TensorPrimitives.Sqrt(a, y),
        (a, y, d) =>
        {
            // d/dx √x = 1/(2√x)
            TensorPrimitives.Multiply(y, 2f, d);
            TensorPrimitives.Reciprocal(d, d);
        });

    /// <summary>|x| (subgradient 0 at 0).</summary>
    public static Tensor Abs(Tensor x) => Unary(x, "Abs",
        (a, y) => TensorPrimitives.Abs(a, y),
        (a, y, d) => { for (int i = 0; i < a.Length; i++) d[i] = SignOrNaN(a[i]); });

    /// <summary>The sign of <paramref name="v"/>, NaN for NaN (MathF.Sign throws on NaN, which would turn a diverged step into an exception inside Backward).</summary>
    internal static float SignOrNaN(float v) => v > 0f ? 1f : v < 0f ? -1f : v == 0f ? 0f : float.NaN;
}

public partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => Ops.Neg(a);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, float c) => Ops.Add(a, c);
    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(float c, Tensor a) => Ops.Add(a, c);
    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, float c) => Ops.Add(a, -c);
    /// <summary>A constant minus a tensor.</summary>
    public static Tensor operator -(float c, Tensor a) => Ops.Add(Ops.Neg(a), c);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, float c) => Ops.Mul(a, c);
    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(float c, Tensor a) => Ops.Mul(a, c);
    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, float c) => Ops.Mul(a, 1f / c);

    /// <summary>Elementwise power by a constant.</summary>
    public Tensor Pow(float p) => Ops.Pow(this, p);
    /// <summary>Elementwise eˣ.</summary>
    public Tensor Exp() => Ops.Exp(this);
    /// <summary>Elementwise natural logarithm.</summary>
    public Tensor Log() => Ops.Log(this);
    /// <summary>Elementwise square root.</summary>
    public Tensor Sqrt() => Ops.Sqrt(this);
    /// <summary>Elementwise absolute value.</summary>
    public Tensor Abs() => Ops.Abs(this);
}
