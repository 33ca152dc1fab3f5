using System.Numerics;
using System.Numerics.Tensors;

namespace Nabla.Kernels;

/// <summary>Activations and their backward passes on spans, fused with the incoming gradient.</summary>
public static class ActivationKernels
{
    /// <summary>
    /// dz = g ⊙ ReLU′(z) (or dz += … when <paramref name="accumulate"/>), with ReLU′ = 1 for z &gt; 0,
    /// ½ at exactly 0 (the notes' subgradient) and 0 below. Vectorised with <see cref="Vector{T}"/>.
    /// </summary>
    public static void ReluBackward(ReadOnlySpan<float> z, ReadOnlySpan<float> g, Span<float> dz, bool accumulate)
    {
        if (z.Length != g.Length || dz.Length != z.Length) throw new ArgumentException("ReluBackward: spans differ in length.");
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            for (; i <= z.Length - w; i += w)
            {
                var r = ReluGradient(new Vector<float>(z.Slice(i)), new Vector<float>(g.Slice(i)));
                if (accumulate) r += new Vector<float>(dz.Slice(i));
                r.CopyTo(dz.Slice(i));
            }
        }
        for (; i < z.Length; i++)
        {
            float r = ReluGradient(z[i], g[i]);
            dz[i] = accumulate ? dz[i] + r : r;
        }
    }

    /// <summary>g·ReLU′(z), with ReLU′(0) = ½ (the subgradient's midpoint, as <see cref="Ops.Relu"/> has it).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> ReluGradient(Vector<float> z, Vector<float> g) =>
        Vector.ConditionalSelect(Vector.GreaterThan(z, Vector<float>.Zero), g,
            Vector.ConditionalSelect(Vector.Equals(z, Vector<float>.Zero), g * new Vector<float>(0.5f), Vector<float>.Zero));

    /// <summary>g·ReLU′(z), with ReLU′(0) = ½.</summary>
    internal static float ReluGradient(float z, float g) => z > 0f ? g : z == 0f ? 0.5f * g : 0f;

    /// <summary>dz = g ⊙ σ′ where σ′ = y(1−y) from the sigmoid's output y (overwrites dz).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz)
    {
        TensorPrimitives.Multiply(y, y, dz);
        TensorPrimitives.Subtract(y, dz, dz);
        TensorPrimitives.Multiply(dz, g, dz);
    }

    /// <summary>dz = g ⊙ (1 − y²) from tanh's output y (overwrites dz).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> g, Span<float> dz)
    {
        TensorPrimitives.Multiply(y, y, dz);
        TensorPrimitives.Subtract(1f, dz, dz);
        TensorPrimitives.Multiply(dz, g, dz);
    }
}
