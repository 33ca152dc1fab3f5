namespace Nabla.Tests.Core;

/// <summary>Float assertions with tolerances and readable failure messages.</summary>
internal static class Expect
{
    /// <summary>Asserts |expected − actual| ≤ tol elementwise (and equal lengths).</summary>
    public static void Close(float[] expected, ReadOnlySpan<float> actual, float tol = 1e-5f, string? what = null)
    {
        var a = actual.ToArray();
        if (expected.Length != a.Length) Assert.Fail($"{what}: expected {expected.Length} values, got {a.Length}");
        for (int i = 0; i < a.Length; i++)
            if (!(MathF.Abs(expected[i] - a[i]) <= tol)) // the message is built only on failure
                Assert.Fail($"{what}: element {i}: expected {expected[i]}, got {a[i]} (tolerance {tol}); all: [{string.Join(", ", a.Take(50))}]");
    }

    /// <summary>Asserts the tensor's shape and its values.</summary>
    public static void Values(int[] shape, float[] values, Tensor actual, float tol = 1e-5f)
    {
        Assert.Equal(shape, actual.Shape.ToArray());
        Close(values, actual.Data, tol);
    }

    /// <summary>Asserts a tensor's gradient exists and has these values.</summary>
    public static void Grad(float[] values, Tensor t, float tol = 1e-5f, string? what = null)
    {
        Assert.True(t.Grad is not null, $"{what ?? t.Name}: no gradient");
        Close(values, t.Grad!.Data, tol, what ?? t.Name);
    }

    /// <summary>Asserts |expected − actual| ≤ tol.</summary>
    public static void Close(double expected, double actual, double tol, string? what = null) =>
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: expected {expected}, got {actual} (tolerance {tol})");
}
