using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

public static partial class Ops
{
    /// <summary>σ(x) = 1/(1+e⁻ˣ); derivative σ(1−σ).</summary>
    public static Tensor Sigmoid(Tensor x) => Unary(x, "Sigmoid",
        (a, y) => TensorPrimitives.Sigmoid(a, y),
        (a, y, d) =>
        {
            // σ' = σ − σ²
            TensorPrimitives.Multiply(y, y, d);
            TensorPrimitives.Subtract(y, d, d);
        });

    /// <summary>tanh(x); derivative 1 − tanh².</summary>
    public static Tensor Tanh(Tensor x) => Unary(x, "Tanh",
        (a, y) => TensorPrimitives.Tanh(a, y),
        (a, y, d) =>
        {
            TensorPrimitives.Multiply(y, y, d);
            TensorPrimitives.Negate(d, d);
            TensorPrimitives.Add(d, 1f, d);
        });

    /// <summary>
    /// max(0, x). At exactly 0 the subgradient is ½, as the notes choose (any value in [0, 1] is
    /// valid); it lets gradient descent leave the all-zero start of the one-neuron model.
    /// </summary>
    public static Tensor Relu(Tensor x)
    {
        var r = Tensor.Uninitialized(x.Shape);
        TensorPrimitives.Max(x.Data, 0f, r.Data);
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Relu", [x], g =>
            {
                var (gx, overwrite) = x.GradTarget();
                ActivationKernels.ReluBackward(x.Data, g.Data, gx.Data, accumulate: !overwrite);
            });
        return r;
    }

    /// <summary>x for x &gt; 0, slope·x otherwise.</summary>
    public static Tensor LeakyRelu(Tensor x, float slope = 0.01f) => Unary(x, "LeakyRelu",
        (a, y) => { for (int i = 0; i < a.Length; i++) y[i] = a[i] > 0f ? a[i] : slope * a[i]; },
        (a, y, d) => { for (int i = 0; i < a.Length; i++) d[i] = a[i] > 0f ? 1f : slope; });

    /// <summary>
    /// The Heaviside step of the perceptron: 1 where x &gt; 0, else 0. Its derivative is zero
    /// almost everywhere, so no gradient flows through it (the perceptron learns by its own rule).
    /// </summary>
    public static Tensor Step(Tensor x) => Unary(x, "Step",
        (a, y) => { for (int i = 0; i < a.Length; i++) y[i] = a[i] > 0f ? 1f : 0f; },
        (a, y, d) => d.Clear());

    /// <summary>Softmax over <paramref name="axis"/> (default the last), computed stably by subtracting the maximum.</summary>
    public static Tensor Softmax(Tensor x, int axis = -1) => RowWise(x, axis, SoftmaxLast);

    /// <summary>log(softmax(x)) over <paramref name="axis"/>, computed stably as x − max − log Σ exp(x − max).</summary>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => RowWise(x, axis, LogSoftmaxLast);

    // Row-wise ops work on the last axis; another axis is moved last and back.
    private static Tensor RowWise(Tensor x, int axis, Func<Tensor, int, Tensor> op)
    {
        int ax = x.Shape.NormalizeAxis(axis);
        if (ax == x.Rank - 1) return op(x, -1);
        var moved = Transpose(x, ax, -1);
        return Transpose(op(moved, -1), ax, -1);
    }

    private static Tensor SoftmaxLast(Tensor x, int _)
    {
        int c = x.Shape.Last, rows = x.Length / Math.Max(c, 1);
        var r = Tensor.Uninitialized(x.Shape);
        for (int i = 0; i < rows; i++) SoftmaxRow(x.Data.Slice(i * c, c), r.Data.Slice(i * c, c));
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "Softmax", [x], g =>
            {
                // dx = y ⊙ (g − ⟨g, y⟩) per row
                var gx = x.GradBuffer().Data;
                var tmp = TensorArena.Allocate(c, clear: false);
                for (int i = 0; i < rows; i++)
                {
                    var y = r.Data.Slice(i * c, c);
                    var gy = g.Data.Slice(i * c, c);
                    float dot = TensorPrimitives.Dot(gy, y);
                    TensorPrimitives.Subtract(gy, dot, tmp);
                    TensorPrimitives.FusedMultiplyAdd(tmp, y, gx.Slice(i * c, c), gx.Slice(i * c, c));
                }
            });
        return r;
    }

    private static Tensor LogSoftmaxLast(Tensor x, int _)
    {
        int c = x.Shape.Last, rows = x.Length / Math.Max(c, 1);
        var r = Tensor.Uninitialized(x.Shape);
        for (int i = 0; i < rows; i++) LogSoftmaxRow(x.Data.Slice(i * c, c), r.Data.Slice(i * c, c));
        if (Graph.NeedsGrad(x))
            Graph.Record(r, "LogSoftmax", [x], g =>
            {
                // dx = g − softmax(x)·Σg per row, with softmax = exp(log-softmax)
                var gx = x.GradBuffer().Data;
                var p = TensorArena.Allocate(c, clear: false);
                for (int i = 0; i < rows; i++)
                {
                    var gy = g.Data.Slice(i * c, c);
                    TensorPrimitives.Exp(r.Data.Slice(i * c, c), p);
                    float s = TensorPrimitives.Sum(gy);
                    var dst = gx.Slice(i * c, c);
                    TensorPrimitives.Add(dst, gy, dst);
                    TensorPrimitives.MultiplyAdd(p, -s, dst, dst);
                }
            });
        return r;
    }

    internal static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Divide(y, TensorPrimitives.Sum(y), y);
    }

    internal static void LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        float sumExp = 0f;
        foreach (float v in y) sumExp += MathF.Exp(v);
        TensorPrimitives.Subtract(y, MathF.Log(sumExp), y);
    }
}

public partial class Tensor
{
    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => Ops.Sigmoid(this);
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => Ops.Tanh(this);
    /// <summary>Rectified linear unit.</summary>
    public Tensor Relu() => Ops.Relu(this);
    /// <summary>Softmax over an axis (default the last).</summary>
    public Tensor Softmax(int axis = -1) => Ops.Softmax(this, axis);
    /// <summary>Log-softmax over an axis (default the last).</summary>
    public Tensor LogSoftmax(int axis = -1) => Ops.LogSoftmax(this, axis);
}
