namespace Nabla.Kernels;

/// <summary>
/// Connectionist temporal classification for one sequence, in log space: the forward (α) and
/// backward (β) recursions over the blank-extended label l' = (−, l₁, −, l₂, …, l_L, −) of length
/// S = 2L + 1, and the gradient of −log P(l|x) with respect to the log-probabilities.
/// </summary>
/// <remarks>
/// Log-probabilities of step t, class k are read at <c>lp[t·stride + k]</c>, so a sequence of a
/// [T, N, C] batch is passed as the slice starting at its column with stride N·C. α(t, s) and
/// β(t, s) both include y(t, l'ₛ) (Graves' convention, as in the notes), so
/// P(l|x) = Σₛ α(t,s)·β(t,s) / y(t, l'ₛ) at every t. Tables are [T, S], row-major.
/// </remarks>
public static class CtcKernels
{
    /// <summary>log(eᵃ + eᵇ), exact for −∞ operands.</summary>
    public static float LogAdd(float a, float b)
    {
        if (a < b) (a, b) = (b, a);
        if (float.IsNegativeInfinity(b)) return a;
        return a + MathF.Log(1f + MathF.Exp(b - a));
    }

    private static int Label(ReadOnlySpan<int> target, int s, int blank) => (s & 1) == 0 ? blank : target[s >> 1];

    /// <summary>
    /// Fills <paramref name="alpha"/> [T, 2L+1] with log α and returns log P(l|x) (−∞ when no
    /// path of length T yields the label). A transition may skip a blank only between different
    /// labels, so a repeated label needs a blank between its copies.
    /// </summary>
    public static float Alpha(ReadOnlySpan<float> lp, int stride, int T, ReadOnlySpan<int> target, int blank, Span<float> alpha)
    {
        int L = target.Length, S = 2 * L + 1;
        if (T == 0) return L == 0 ? 0f : float.NegativeInfinity;
        alpha.Slice(0, T * S).Fill(float.NegativeInfinity);
        alpha[0] = lp[blank];
        if (L > 0) alpha[1] = lp[target[0]];
        for (int t = 1; t < T; t++)
        {
            var prev = alpha.Slice((t - 1) * S, S);
            var cur = alpha.Slice(t * S, S);
            var row = lp.Slice(t * stride);
            // Only states from which the end is still reachable and which are reachable from the start.
            int lo = Math.Max(0, S - 2 * (T - t)), hi = Math.Min(S - 1, 2 * t + 1);
            for (int s = lo; s <= hi; s++)
            {
                int k = Label(target, s, blank);
                float a = prev[s];
                if (s >= 1) a = LogAdd(a, prev[s - 1]);
                if (s >= 2 && (s & 1) == 1 && target[s >> 1] != target[(s >> 1) - 1]) a = LogAdd(a, prev[s - 2]);
                cur[s] = float.IsNegativeInfinity(a) ? a : a + row[k];
            }
        }
        var last = alpha.Slice((T - 1) * S, S);
        return S >= 2 ? LogAdd(last[S - 1], last[S - 2]) : last[0];
    }

    /// <summary>Fills <paramref name="beta"/> [T, 2L+1] with log β (each including y at its own step).</summary>
    public static void Beta(ReadOnlySpan<float> lp, int stride, int T, ReadOnlySpan<int> target, int blank, Span<float> beta)
    {
        int L = target.Length, S = 2 * L + 1;
        if (T == 0) return;
        beta.Slice(0, T * S).Fill(float.NegativeInfinity);
        var end = beta.Slice((T - 1) * S, S);
        var lastRow = lp.Slice((T - 1) * stride);
        end[S - 1] = lastRow[blank];
        if (L > 0) end[S - 2] = lastRow[target[L - 1]];
        for (int t = T - 2; t >= 0; t--)
        {
            var next = beta.Slice((t + 1) * S, S);
            var cur = beta.Slice(t * S, S);
            var row = lp.Slice(t * stride);
            int lo = Math.Max(0, S - 2 * (T - t)), hi = Math.Min(S - 1, 2 * t + 1);
            for (int s = lo; s <= hi; s++)
            {
                int k = Label(target, s, blank);
                float b = next[s];
                if (s + 1 < S) b = LogAdd(b, next[s + 1]);
                if (s + 2 < S && (s & 1) == 1 && target[s >> 1] != target[(s >> 1) + 1]) b = LogAdd(b, next[s + 2]);
                cur[s] = float.IsNegativeInfinity(b) ? b : b + row[k];
            }
        }
    }

    /// <summary>
    /// Adds scale · ∂(−log P)/∂lp(t,k) = −scale · Σ_{s: l'ₛ = k} α(t,s)β(t,s) / (y(t,k)·P) into
    /// <paramref name="grad"/> (same layout as <paramref name="lp"/>). The occupancies
    /// γ = exp(α + β − log P) lie in [0, 1], so they are summed per class in linear space.
    /// <paramref name="classSums"/> is scratch of at least C floats.
    /// </summary>
    public static void Gradient(ReadOnlySpan<float> lp, int stride, int T, int C, ReadOnlySpan<int> target, int blank,
        ReadOnlySpan<float> alpha, ReadOnlySpan<float> beta, float logP, float scale, Span<float> grad, Span<float> classSums)
    {
        int L = target.Length, S = 2 * L + 1;
        var sums = classSums.Slice(0, C);
        for (int t = 0; t < T; t++)
        {
            sums.Clear();
            var a = alpha.Slice(t * S, S);
            var b = beta.Slice(t * S, S);
            for (int s = 0; s < S; s++)
            {
                float v = a[s] + b[s];
                if (float.IsNegativeInfinity(v)) continue;
                sums[Label(target, s, blank)] += MathF.Exp(v - logP);
            }
            var row = lp.Slice(t * stride, C);
            var g = grad.Slice(t * stride, C);
            // Only the blank and the label's classes can have a non-zero occupancy.
            AddClass(sums, row, g, blank, scale);
            for (int j = 0; j < L; j++) AddClass(sums, row, g, target[j], scale);
        }
    }

    private static void AddClass(Span<float> sums, ReadOnlySpan<float> row, Span<float> g, int k, float scale)
    {
        float sum = sums[k];
        if (sum == 0f) return;
        g[k] -= scale * MathF.Exp(MathF.Log(sum) - row[k]);
        sums[k] = 0f; // each class once, even when the label repeats it
    }
}
