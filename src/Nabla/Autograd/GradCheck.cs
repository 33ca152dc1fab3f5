namespace Nabla.Autograd;

/// <summary>The outcome of a gradient check: the worst disagreement found and where.</summary>
/// <param name="MaxRelativeError">max |analytic − numeric| / max(|analytic|, |numeric|, <c>floor</c>) over all checked elements.</param>
/// <param name="WorstInput">Index of the input holding the worst element.</param>
/// <param name="WorstElement">Flat index of that element.</param>
/// <param name="Analytic">The analytic derivative there.</param>
/// <param name="Numeric">The central-difference derivative there.</param>
/// <param name="Passed">Whether <see cref="MaxRelativeError"/> is within the tolerance.</param>
public sealed record GradCheckResult(double MaxRelativeError, int WorstInput, int WorstElement, double Analytic, double Numeric, bool Passed)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{(Passed ? "passed" : "FAILED")}: max relative error {MaxRelativeError:G3} at input {WorstInput}, element {WorstElement} (analytic {Analytic:G6}, numeric {Numeric:G6})";
}

/// <summary>
/// Compares an op's analytic gradient (from <see cref="Tensor.Backward(Tensor, bool)"/>) with central
/// finite differences. The output is contracted with a fixed random upstream gradient r, so that
/// the checked scalar is L = Σ r ⊙ f(x) and no symmetry hides a wrong rule. Tensors are float32,
/// so L is accumulated in float64 and the step is large enough (default 1e-2 on inputs of order 1)
/// that rounding stays well below the tolerance; the truncation error of central differences is
/// O(h²). Tests prove that a flipped sign or a transposed gradient fails this check.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks the gradient of <paramref name="f"/> with respect to every input that has
    /// RequiresGrad. Inputs are perturbed in place and restored.
    /// </summary>
    /// <param name="f">The function; it must be deterministic.</param>
    /// <param name="inputs">The inputs (their RequiresGrad is set to true).</param>
    /// <param name="step">Central-difference step h.</param>
    /// <param name="tolerance">Largest acceptable relative error.</param>
    /// <param name="seed">Seed of the random upstream gradient.</param>
    public static GradCheckResult Check(Func<Tensor[], Tensor> f, Tensor[] inputs, float step = 1e-2f, double tolerance = 1e-2, int seed = 1234)
    {
        foreach (var x in inputs) { x.RequiresGrad = true; x.Grad = null; }
        var output = f(inputs);
        var upstream = Tensor.Uniform(output.Shape, 0.5f, 1.5f, new Random(seed));
        // Random signs too, so an error that only scales the gradient cannot cancel.
        var signs = new Random(seed + 1);
        for (int i = 0; i < upstream.Length; i++) if (signs.Next(2) == 0) upstream.Data[i] = -upstream.Data[i];
        output.Backward(upstream);

        const double floor = 1e-3; // absolute scale below which differences count as noise
        double worst = 0, worstA = 0, worstN = 0;
        int worstInput = -1, worstElement = -1;
        using (GradMode.NoGrad())
        {
            for (int t = 0; t < inputs.Length; t++)
            {
                var x = inputs[t];
                var analytic = x.Grad?.ToArray() ?? new float[x.Length];
                for (int i = 0; i < x.Length; i++)
                {
                    float orig = x.Data[i];
                    x.Data[i] = orig + step;
                    double plus = Contract(f(inputs), upstream);
                    x.Data[i] = orig - step;
                    double minus = Contract(f(inputs), upstream);
                    x.Data[i] = orig;
                    double numeric = (plus - minus) / (2.0 * step);
                    double a = analytic[i];
                    double err = Math.Abs(a - numeric) / Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), floor);
                    if (Math.Abs(a - numeric) < floor * 1e-1) err = 0; // both essentially zero
                    if (worstInput < 0 || err > worst) { worst = err; worstA = a; worstN = numeric; worstInput = t; worstElement = i; }
                }
            }
        }
        return new GradCheckResult(worst, worstInput, worstElement, worstA, worstN, worst <= tolerance);
    }

    private static double Contract(Tensor output, Tensor upstream)
    {
        double s = 0;
        var o = output.Data;
        var u = upstream.Data;
        for (int i = 0; i < o.Length; i++) s += (double)o[i] * u[i];
        return s;
    }
}
