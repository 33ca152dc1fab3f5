using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// Matrix product. [m,k]·[k,n] → [m,n]; batched [b,m,k]·[b,k,n] → [b,m,n]; and
    /// [b,m,k]·[k,n] → [b,m,n] (one matrix shared by the batch). Backward: dA = dC·Bᵀ, dB = Aᵀ·dC,
    /// both computed by GEMM reading the operand transposed (no transpose is materialised).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Rank == 2 && b.Rank == 2) return MatMul2D(a, b);
        if (a.Rank == 3 && (b.Rank == 3 || b.Rank == 2)) return MatMulBatched(a, b);
        throw new ShapeMismatchException("MatMul", a.Shape, b.Shape, "expects [m,k]·[k,n], [b,m,k]·[b,k,n] or [b,m,k]·[k,n]");
    }

    private static Tensor MatMul2D(Tensor a, Tensor b)
    {
        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        if (b.Shape[0] != k) throw new ShapeMismatchException("MatMul", a.Shape, b.Shape, "inner dimensions differ");
        var r = Tensor.Uninitialized(new Shape(m, n));
        Gemm.Sgemm(false, false, m, n, k, 1f, a.Data, k, b.Data, n, 0f, r.Data, n);
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "MatMul", [a, b], g =>
            {
                if (a.RequiresGrad) Gemm.Sgemm(false, true, m, k, n, 1f, g.Data, n, b.Data, n, 1f, a.GradBuffer().Data, k);
                if (b.RequiresGrad) Gemm.Sgemm(true, false, k, n, m, 1f, a.Data, k, g.Data, n, 1f, b.GradBuffer().Data, n);
            });
        return r;
    }

    private static Tensor MatMulBatched(Tensor a, Tensor b)
    {
        int batch = a.Shape[0], m = a.Shape[1], k = a.Shape[2];
        bool shared = b.Rank == 2;
        int bk = shared ? b.Shape[0] : b.Shape[1], n = shared ? b.Shape[1] : b.Shape[2];
        if (bk != k || (!shared && b.Shape[0] != batch))
            throw new ShapeMismatchException("MatMul", a.Shape, b.Shape, "batch or inner dimensions differ");
        if (shared)
        {
            // One GEMM over all rows: [b·m, k]·[k, n].
            var flat = MatMul2D(Reshape(a, batch * m, k), b);
            return Reshape(flat, batch, m, n);
        }
        var r = Tensor.Uninitialized(new Shape(batch, m, n));
        int sa = m * k, sb = k * n, sc = m * n;
        for (int i = 0; i < batch; i++)
            Gemm.Sgemm(false, false, m, n, k, 1f, a.Data.Slice(i * sa, sa), k, b.Data.Slice(i * sb, sb), n, 0f, r.Data.Slice(i * sc, sc), n);
        if (Graph.NeedsGrad(a, b))
            Graph.Record(r, "BatchedMatMul", [a, b], g =>
            {
                for (int i = 0; i < batch; i++)
                {
                    var gi = g.Data.Slice(i * sc, sc);
                    if (a.RequiresGrad) Gemm.Sgemm(false, true, m, k, n, 1f, gi, n, b.Data.Slice(i * sb, sb), n, 1f, a.GradBuffer().Data.Slice(i * sa, sa), k);
                    if (b.RequiresGrad) Gemm.Sgemm(true, false, k, n, m, 1f, a.Data.Slice(i * sa, sa), k, gi, n, 1f, b.GradBuffer().Data.Slice(i * sb, sb), n);
                }
            });
        return r;
    }

    /// <summary>
    /// The dense layer y = x·Wᵀ + b in one op: x is [N, in], W is [out, in] (PyTorch's layout),
    /// b is [out] or null. Backward: dx = dy·W, dW = dyᵀ·x, db = Σₙ dy.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias) => Linear(x, weight, bias, Activation.None);

    /// <summary>
    /// act(x·Wᵀ + b) in one op: the bias and the activation are applied to the GEMM's output in
    /// place, and the backward pass multiplies the incoming gradient by the activation's
    /// derivative in one pass before the two GEMMs (dx = dz·W, dW = dzᵀ·x, db = Σₙ dz).
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, Activation activation)
    {
        if (x.Rank != 2 || weight.Rank != 2 || x.Shape[1] != weight.Shape[1])
            throw new ShapeMismatchException("Linear", x.Shape, weight.Shape, "expects input [N, in] and weight [out, in]");
        int n = x.Shape[0], fin = x.Shape[1], fout = weight.Shape[0];
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != fout))
            throw new ShapeMismatchException("Linear", weight.Shape, bias.Shape, "bias must be [out]");
        bool needs = GradMode.IsEnabled && (x.RequiresGrad || weight.RequiresGrad || (bias?.RequiresGrad ?? false));
        var shape = new Shape(n, fout);
        // ReLU's backward needs the pre-activation z (its subgradient at exactly 0 is ½), so z gets
        // its own buffer then; sigmoid and tanh differentiate from their output alone.
        bool keepZ = needs && activation == Activation.Relu;
        var z = keepZ ? Tensor.Uninitialized(shape) : null;
        var y = Tensor.Uninitialized(shape);
        var zd = (z ?? y).Data;
        // The packed GEMM adds the bias, and applies a ReLU that needs no separate z, to each tile it
        // finishes. Other kernels (batch 1, a narrow output) take row passes, split over the threads for
        // large outputs (see DenseRows).
        bool fuseRelu = activation == Activation.Relu && !keepZ;
        if (Gemm.SgemmBiasRelu(false, true, n, fout, fin, x.Data, fin, weight.Data, fin, bias is null ? default : bias.Data, fuseRelu, zd, fout))
        {
            if (!fuseRelu) DenseRows.Activate(zd, y.Data, n, fout, activation);
        }
        else
        {
            if (bias is not null) DenseRows.FillBias(zd, bias.Data, n);
            Gemm.Sgemm(false, true, n, fout, fin, 1f, x.Data, fin, weight.Data, fin, bias is null ? 0f : 1f, zd, fout);
            DenseRows.Activate(zd, y.Data, n, fout, activation);
        }
        if (!needs) return y;
        string name = activation == Activation.None ? "Linear" : "Linear+" + activation;
        return Graph.Record(y, name, bias is null ? [x, weight] : [x, weight, bias], g =>
        {
            ReadOnlySpan<float> dz = g.Data;
            if (activation != Activation.None)
            {
                var buf = TensorArena.Allocate(n * fout, clear: false);
                switch (activation)
                {
                    case Activation.Relu: ActivationKernels.ReluBackward(z!.Data, g.Data, buf, accumulate: false); break;
                    case Activation.Sigmoid: ActivationKernels.SigmoidBackward(y.Data, g.Data, buf); break;
                    case Activation.Tanh: ActivationKernels.TanhBackward(y.Data, g.Data, buf); break;
                }
                dz = buf;
            }
            if (x.RequiresGrad) Gemm.Sgemm(false, false, n, fin, fout, 1f, dz, fout, weight.Data, fin, 1f, x.GradBuffer().Data, fin);
            if (weight.RequiresGrad) Gemm.Sgemm(true, false, fout, fin, n, 1f, dz, fout, x.Data, fin, 1f, weight.GradBuffer().Data, fin);
            if (bias is not null && bias.RequiresGrad)
            {
                var db = bias.GradBuffer().Data;
                for (int i = 0; i < n; i++) TensorPrimitives.Add(db, dz.Slice(i * fout, fout), db);
            }
        });
    }
}

/// <summary>An activation that <see cref="Ops.Linear(Tensor, Tensor, Tensor?, Activation)"/> can fuse.</summary>
public enum Activation
{
    /// <summary>No activation (identity).</summary>
    None,
    /// <summary>max(0, z).</summary>
    Relu,
    /// <summary>1/(1+e⁻ᶻ).</summary>
    Sigmoid,
    /// <summary>tanh(z).</summary>
    Tanh,
}

public partial class Tensor
{
    /// <summary>Matrix product (see <see cref="Ops.MatMul"/>).</summary>
    public Tensor MatMul(Tensor other) => Ops.MatMul(this, other);
}
