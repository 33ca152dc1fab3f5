using Nabla.Kernels;

namespace Nabla.Tests.Kernels;

/// <summary>
/// FastMath's float32 sigmoid and tanh (the recurrent cells' gates) against the exact functions in
/// double, and its vector paths against its scalar one.
/// </summary>
[Trait("Category", "Kernels")]
public class FastMathTests
{
    // Values across the whole useful range, the branch points of tanh (±0.625) and the clamps of exp.
    private static float[] Sweep()
    {
        var v = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 1e-7f, 0.624999f, 0.625f, 0.625001f, -0.625f, 9f, 15f, 30f, 87f, 88f, 89f, 100f, -87f, -88f, -89f, -100f, 1e30f, -1e30f };
        for (double x = -40; x <= 40; x += 0.0137) v.Add((float)x);
        var rng = new Random(5);
        for (int i = 0; i < 2000; i++) v.Add((float)(Math.Exp(rng.NextDouble() * 12 - 10) * (rng.Next(2) * 2 - 1)));
        return v.ToArray();
    }

    [Fact]
    public void SigmoidIsWithinAFewUlpsOfTheExactValue()
    {
        var x = Sweep();
        var y = new float[x.Length];
        FastMath.Sigmoid(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = 1 / (1 + Math.Exp(-(double)x[i]));
            // Below e^-87 the exact value leaves float32's normal range; the clamp gives ~6e-39.
            if (exact < 1e-37) { Assert.InRange(y[i], 0f, 1e-37f); continue; }
            Assert.True(Math.Abs(y[i] - exact) <= 6e-7 * exact, $"sigmoid({x[i]:R}) = {y[i]:R}, exact {exact:R}");
        }
    }

    [Fact]
    public void TanhIsWithinAFewUlpsOfTheExactValue()
    {
        var x = Sweep();
        var y = new float[x.Length];
        FastMath.Tanh(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double exact = Math.Tanh(x[i]);
            // Relative accuracy everywhere, small arguments included (tanh x ≈ x there).
            Assert.True(Math.Abs(y[i] - exact) <= 6e-7 * Math.Abs(exact) + 1e-44, $"tanh({x[i]:R}) = {y[i]:R}, exact {exact:R}");
        }
    }

    [Fact]
    public void NonFiniteInputsGiveWhatTheFunctionsGive()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        var s = new float[3]; var t = new float[3];
        FastMath.Sigmoid(x, s);
        FastMath.Tanh(x, t);
        Assert.True(float.IsNaN(s[0]) && float.IsNaN(t[0]), "a NaN must stay NaN, not become a finite gate value");
        Assert.Equal(1f, s[1]); Assert.InRange(s[2], 0f, 1e-37f);
        Assert.Equal(1f, t[1]); Assert.Equal(-1f, t[2]);
    }

    [Fact]
    public void EveryLaneAndTheScalarTailGiveTheSameBits()
    {
        var x = Sweep();
        var s = new float[x.Length]; var t = new float[x.Length];
        FastMath.Sigmoid(x, s);
        FastMath.Tanh(x, t);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(FastMath.Sigmoid(x[i])), BitConverter.SingleToInt32Bits(s[i]));
            Assert.Equal(BitConverter.SingleToInt32Bits(FastMath.Tanh(x[i])), BitConverter.SingleToInt32Bits(t[i]));
        }
        // A value keeps its bits whatever its position (vector body or tail) in a span.
        for (int offset = 0; offset < 17; offset++)
        {
            var part = x.AsSpan(offset, 21).ToArray();
            var r = new float[part.Length];
            FastMath.Sigmoid(part, r);
            for (int i = 0; i < part.Length; i++) Assert.Equal(s[offset + i], r[i]);
        }
    }

    [Fact]
    public void InPlaceWorksAndAShortDestinationIsRefused()
    {
        var x = Sweep();
        var copy = (float[])x.Clone();
        var expected = new float[x.Length];
        FastMath.Tanh(x, expected);
        FastMath.Tanh(copy, copy);
        Assert.Equal(expected, copy);
        var e = Assert.Throws<ArgumentException>(() => FastMath.Sigmoid(new float[4], new float[3]));
        Assert.Contains("destination holds 3", e.Message);
    }
}
