using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// Sigmoid and tanh over spans in float32 arithmetic, for the recurrent cells, whose gates are
/// mostly these two functions.
/// </summary>
/// <remarks>
/// <para>Why not <c>TensorPrimitives.Sigmoid/Tanh</c>: in .NET 10 their exp widens every lane to
/// double. A profile of LSTM training on one thread put 18 % of the step there (session 8). Here
/// exp is Cephes' <c>expf</c>: n = round(x·log₂e), a degree-6 polynomial for e^r on
/// |r| ≤ ln2/2 and 2ⁿ built in the exponent bits. tanh takes Cephes' odd polynomial for
/// |x| &lt; 0.625, where 1 − 2/(e^{2x} + 1) would lose relative accuracy, and that formula above.
/// Both stay within a few float32 ulps of the exact function (tested against double).</para>
/// <para>The AVX-512, AVX2 and scalar paths do the same operations in the same order, each fused
/// multiply-add fused, so a value does not depend on which path or lane computed it. The 512- and
/// 256-bit versions are written out twice because .NET 10's Vector512/Vector256 do not expose a
/// common generic interface (ISimdVector is not implemented publicly).</para>
/// </remarks>
public static class FastMath
{
    // Cephes expf: the argument is clamped so that 2ⁿ stays a normal float (n in [−126, 127]).
    private const float ExpMin = -87.33654f, ExpMax = 88f;
    private const float Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
        P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    // Cephes tanhf for |x| < 0.625: x + x³·T(x²).
    private const float TanhSmall = 0.625f;
    private const float T0 = -5.70498872745e-3f, T1 = 2.06390887954e-2f, T2 = -5.37397155531e-2f,
        T3 = 1.33314422036e-1f, T4 = -3.33332819422e-1f;

    /// <summary>y = 1 / (1 + e^{−x}) elementwise; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"FastMath.Sigmoid: destination holds {y.Length} values, source {x.Length}.", nameof(y));
        int n = x.Length, i = 0;
        ref float xs = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float ys = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Avx512F.IsSupported) // also where .NET prefers 256-bit vectors (Intel), as the GEMM does
            for (; i <= n - 16; i += 16)
                Sigmoid(Vector512.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        else if (Avx2.IsSupported && Fma.IsSupported)
            for (; i <= n - 8; i += 8)
                Sigmoid(Vector256.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        for (; i < n; i++) y[i] = Sigmoid(x[i]);
    }

    /// <summary>y = tanh(x) elementwise; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"FastMath.Tanh: destination holds {y.Length} values, source {x.Length}.", nameof(y));
        int n = x.Length, i = 0;
        ref float xs = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref float ys = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        if (Avx512F.IsSupported) // also where .NET prefers 256-bit vectors (Intel), as the GEMM does
            for (; i <= n - 16; i += 16)
                Tanh(Vector512.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        else if (Avx2.IsSupported && Fma.IsSupported)
            for (; i <= n - 8; i += 8)
                Tanh(Vector256.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        for (; i < n; i++) y[i] = Tanh(x[i]);
    }

    /// <summary>e^x in float32 (Cephes' expf; x clamped to [−87.3, 88]).</summary>
    public static float Exp(float x)
    {
        x = Math.Clamp(x, ExpMin, ExpMax);
        float n = MathF.Round(x * Log2E);
        float r = MathF.FusedMultiplyAdd(n, -Ln2Hi, x);
        r = MathF.FusedMultiplyAdd(n, -Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(P0, r, P1);
        p = MathF.FusedMultiplyAdd(p, r, P2);
        p = MathF.FusedMultiplyAdd(p, r, P3);
        p = MathF.FusedMultiplyAdd(p, r, P4);
        p = MathF.FusedMultiplyAdd(p, r, P5);
        float e = MathF.FusedMultiplyAdd(p, r * r, r) + 1f;
        return e * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    /// <summary>1 / (1 + e^{−x}) in float32.</summary>
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    /// <summary>tanh(x) in float32.</summary>
    public static float Tanh(float x)
    {
        float a = MathF.Abs(x);
        if (a < TanhSmall)
        {
            float z = x * x;
            float p = MathF.FusedMultiplyAdd(T0, z, T1);
            p = MathF.FusedMultiplyAdd(p, z, T2);
            p = MathF.FusedMultiplyAdd(p, z, T3);
            p = MathF.FusedMultiplyAdd(p, z, T4);
            return MathF.FusedMultiplyAdd(p * z, x, x);
        }
        float t = 1f - 2f / (Exp(2f * a) + 1f);
        return MathF.CopySign(t, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpMin)), Vector512.Create(ExpMax));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        var e = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        return e * Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Tanh(Vector512<float> x)
    {
        var a = Vector512.Abs(x);
        var z = x * x;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(T0), z, Vector512.Create(T1));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T2));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T3));
        p = Vector512.FusedMultiplyAdd(p, z, Vector512.Create(T4));
        var small = Vector512.FusedMultiplyAdd(p * z, x, x);
        var two = Vector512.Create(2f);
        var large = Vector512<float>.One - two / (Exp(two * a) + Vector512<float>.One);
        large |= x & Vector512.Create(-0f); // copy the sign
        return Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(TanhSmall)), small, large);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpMin)), Vector256.Create(ExpMax));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        var e = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        return e * Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Tanh(Vector256<float> x)
    {
        var a = Vector256.Abs(x);
        var z = x * x;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(T0), z, Vector256.Create(T1));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T2));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T3));
        p = Vector256.FusedMultiplyAdd(p, z, Vector256.Create(T4));
        var small = Vector256.FusedMultiplyAdd(p * z, x, x);
        var two = Vector256.Create(2f);
        var large = Vector256<float>.One - two / (Exp(two * a) + Vector256<float>.One);
        large |= x & Vector256.Create(-0f); // copy the sign
        return Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(TanhSmall)), small, large);
    }
}
