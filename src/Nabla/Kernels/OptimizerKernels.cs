using System.Numerics;

namespace Nabla.Kernels;

/// <summary>Fused optimiser updates: one pass over weights, gradient and state instead of one per term.</summary>
public static class OptimizerKernels
{
    /// <summary>
    /// One Adam step in a single pass (memory-bound: five streams read or written once):
    /// g ← ∇ + λw;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − s·m / (√v·c + ε), where
    /// <paramref name="stepSize"/> s = η/(1−β₁ᵗ) and <paramref name="invSqrtBias2"/> c = 1/√(1−β₂ᵗ).
    /// </summary>
    public static void AdamStep(Span<float> w, ReadOnlySpan<float> grad, Span<float> m, Span<float> v,
        float beta1, float beta2, float stepSize, float invSqrtBias2, float epsilon, float l2)
    {
        int n = w.Length;
        if (grad.Length != n || m.Length != n || v.Length != n) throw new ArgumentException("AdamStep: spans differ in length.");
        float c1 = 1f - beta1, c2 = 1f - beta2;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var vb1 = new Vector<float>(beta1);
            var vb2 = new Vector<float>(beta2);
            var vc1 = new Vector<float>(c1);
            var vc2 = new Vector<float>(c2);
            var vl2 = new Vector<float>(l2);
            var vStep = new Vector<float>(-stepSize);
            var vInv = new Vector<float>(invSqrtBias2);
            var vEps = new Vector<float>(epsilon);
            for (; i <= n - width; i += width)
            {
                var wv = new Vector<float>(w.Slice(i));
                var g = Vector.FusedMultiplyAdd(vl2, wv, new Vector<float>(grad.Slice(i)));
                var mv = Vector.FusedMultiplyAdd(vb1, new Vector<float>(m.Slice(i)), vc1 * g);
                var vv = Vector.FusedMultiplyAdd(vb2, new Vector<float>(v.Slice(i)), vc2 * g * g);
                var denom = Vector.FusedMultiplyAdd(Vector.SquareRoot(vv), vInv, vEps);
                wv = Vector.FusedMultiplyAdd(vStep, mv / denom, wv);
                mv.CopyTo(m.Slice(i));
                vv.CopyTo(v.Slice(i));
                wv.CopyTo(w.Slice(i));
            }
        }
        for (; i < n; i++)
        {
            float g = grad[i] + l2 * w[i];
            m[i] = beta1 * m[i] + c1 * g;
            v[i] = beta2 * v[i] + c2 * g * g;
            w[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) * invSqrtBias2 + epsilon);
        }
    }
}
