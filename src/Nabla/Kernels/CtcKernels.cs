using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

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

    /// <summary>log(eᵃ + eᵇ + eᶜ) with one logarithm (two when called as two <see cref="LogAdd"/>s).</summary>
    private static float LogAdd3(float a, float b, float c)
    {
        float m = MathF.Max(a, MathF.Max(b, c));
        if (float.IsNegativeInfinity(m)) return m;
        return m + MathF.Log(MathF.Exp(a - m) + MathF.Exp(b - m) + MathF.Exp(c - m));
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
        if (Vector256.IsHardwareAccelerated && T > 1)
        {
            using var w = new RowScratch(S);
            // The transition from s − 2 is allowed only onto a label that differs from the one before the blank.
            for (int s = 0; s < S; s++)
            {
                w.Labels[s] = Label(target, s, blank);
                w.Skip[s] = s >= 2 && (s & 1) == 1 && target[s >> 1] != target[(s >> 1) - 1] ? 0f : Dead;
            }
            for (int t = 1; t < T; t++)
            {
                // prev shifted right by two: Shifted[j + 2] = α(t−1, j), the two slots before it dead.
                var prev = alpha.Slice((t - 1) * S, S);
                TensorPrimitives.Max(prev, Dead, w.Shifted.AsSpan(2, S));
                var row = lp.Slice(t * stride);
                for (int j = 0; j < S; j++) w.Emit[j] = row[w.Labels[j]];
                RowStep(w.Shifted, 2, 1, 0, w.Skip, w.Emit, w.Out, S);
                int lo = Math.Max(0, S - 2 * (T - t)), hi = Math.Min(S - 1, 2 * t + 1);
                if (lo <= hi) w.Out.AsSpan(lo, hi - lo + 1).CopyTo(alpha.Slice(t * S + lo, hi - lo + 1));
            }
        }
        else
        {
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
                    if (s >= 2 && (s & 1) == 1 && target[s >> 1] != target[(s >> 1) - 1]) a = LogAdd3(a, prev[s - 1], prev[s - 2]);
                    else if (s >= 1) a = LogAdd(a, prev[s - 1]);
                    cur[s] = float.IsNegativeInfinity(a) ? a : a + row[k];
                }
            }
        }
        var last = alpha.Slice((T - 1) * S, S);
        return S >= 2 ? LogAdd(last[S - 1], last[S - 2]) : last[0];
    }

    // A finite stand-in for log 0 inside the vector recursion (so that max and differences stay
    // finite); anything at or below DeadLimit is turned back into −∞ when stored.
    private const float Dead = -1e30f, DeadLimit = -1e29f;

    /// <summary>
    /// One row of the recursion for every s at once, 8 lanes at a time: out[s] = log(e^a + e^b + e^c) + emit[s]
    /// with a = src[s + ia], b = src[s + ib], c = src[s + ic] + skip[s] (a single logarithm around
    /// the row's maxima), −∞ where all three are dead. Buffers are padded to whole vectors.
    /// </summary>
    private static void RowStep(float[] src, int ia, int ib, int ic, float[] skip, float[] emit, float[] output, int S)
    {
        var dead = Vector256.Create(DeadLimit);
        var negInf = Vector256.Create(float.NegativeInfinity);
        for (int s = 0; s < S; s += Vector256<float>.Count)
        {
            var a = Vector256.LoadUnsafe(ref src[s + ia]);
            var b = Vector256.LoadUnsafe(ref src[s + ib]);
            var c = Vector256.LoadUnsafe(ref src[s + ic]) + Vector256.LoadUnsafe(ref skip[s]);
            var m = Vector256.Max(a, Vector256.Max(b, c));
            var sum = Vector256.Exp(a - m) + Vector256.Exp(b - m) + Vector256.Exp(c - m);
            var r = m + Vector256.Log(sum) + Vector256.LoadUnsafe(ref emit[s]);
            Vector256.ConditionalSelect(Vector256.GreaterThan(m, dead), r, negInf).StoreUnsafe(ref output[s]);
        }
    }

    /// <summary>Pooled per-sequence row buffers of the vector recursion, padded to whole vectors (plus two slots of shift).</summary>
    private readonly struct RowScratch : IDisposable
    {
        public readonly float[] Shifted, Skip, Emit, Out;
        public readonly int[] Labels;

        public RowScratch(int S)
        {
            int padded = (S + Vector256<float>.Count - 1) / Vector256<float>.Count * Vector256<float>.Count + 2;
            Shifted = ArrayPool<float>.Shared.Rent(padded + 2);
            Skip = ArrayPool<float>.Shared.Rent(padded);
            Emit = ArrayPool<float>.Shared.Rent(padded);
            Out = ArrayPool<float>.Shared.Rent(padded);
            Labels = ArrayPool<int>.Shared.Rent(S);
            // Lanes past S read dead states and contribute nothing (their results are not stored).
            Shifted.AsSpan(0, padded + 2).Fill(Dead);
            Skip.AsSpan(0, padded).Fill(Dead);
            Emit.AsSpan(0, padded).Clear();
        }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(Shifted);
            ArrayPool<float>.Shared.Return(Skip);
            ArrayPool<float>.Shared.Return(Emit);
            ArrayPool<float>.Shared.Return(Out);
            ArrayPool<int>.Shared.Return(Labels);
        }
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
        if (Vector256.IsHardwareAccelerated && T > 1)
        {
            using var w = new RowScratch(S);
            for (int s = 0; s < S; s++)
            {
                w.Labels[s] = Label(target, s, blank);
                w.Skip[s] = s + 2 < S && (s & 1) == 1 && target[s >> 1] != target[(s >> 1) + 1] ? 0f : Dead;
            }
            for (int t = T - 2; t >= 0; t--)
            {
                // Shifted[j] = β(t+1, j), the slots past S dead.
                var next = beta.Slice((t + 1) * S, S);
                TensorPrimitives.Max(next, Dead, w.Shifted.AsSpan(0, S));
                var row = lp.Slice(t * stride);
                for (int j = 0; j < S; j++) w.Emit[j] = row[w.Labels[j]];
                RowStep(w.Shifted, 0, 1, 2, w.Skip, w.Emit, w.Out, S);
                int lo = Math.Max(0, S - 2 * (T - t)), hi = Math.Min(S - 1, 2 * t + 1);
                if (lo <= hi) w.Out.AsSpan(lo, hi - lo + 1).CopyTo(beta.Slice(t * S + lo, hi - lo + 1));
            }
            return;
        }
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
                if (s + 2 < S && (s & 1) == 1 && target[s >> 1] != target[(s >> 1) + 1]) b = LogAdd3(b, next[s + 1], next[s + 2]);
                else if (s + 1 < S) b = LogAdd(b, next[s + 1]);
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
        float[] occupancy = ArrayPool<float>.Shared.Rent(S);
        var occ = occupancy.AsSpan(0, S);
        // Per class, a vector pass over all C classes costs less than a scalar log and exp for each
        // class on the label when the alphabet is not much larger than the label.
        bool everyClass = C <= 16 * (L + 1);
        float[] classTerms = everyClass ? ArrayPool<float>.Shared.Rent(C) : [], classLogs = everyClass ? ArrayPool<float>.Shared.Rent(C) : [];
        for (int t = 0; t < T; t++)
        {
            sums.Clear();
            // γ(t, s) = exp(α + β − log P) for the whole row in three vector passes (exp(−∞) = 0).
            TensorPrimitives.Add(alpha.Slice(t * S, S), beta.Slice(t * S, S), occ);
            TensorPrimitives.Subtract(occ, logP, occ);
            TensorPrimitives.Exp(occ, occ);
            for (int s = 0; s < S; s++) sums[(s & 1) == 0 ? blank : target[s >> 1]] += occ[s];
            var row = lp.Slice(t * stride, C);
            var g = grad.Slice(t * stride, C);
            if (everyClass)
            {
                // A small alphabet: every class in four vector passes, exp(log 0 − y) = 0 for the
                // classes off the label (y clamped to the finite stand-in so that −∞ − −∞ cannot occur).
                var term = classTerms.AsSpan(0, C);
                TensorPrimitives.Max(row, Dead, term);
                var logs = classLogs.AsSpan(0, C);
                TensorPrimitives.Log(sums, logs);
                TensorPrimitives.Subtract(logs, term, term);
                TensorPrimitives.Exp(term, term);
                TensorPrimitives.MultiplyAdd(term, -scale, g, g);
                continue;
            }
            // Only the blank and the label's classes can have a non-zero occupancy.
            AddClass(sums, row, g, blank, scale);
            for (int j = 0; j < L; j++) AddClass(sums, row, g, target[j], scale);
        }
        ArrayPool<float>.Shared.Return(occupancy);
        if (classTerms.Length > 0) { ArrayPool<float>.Shared.Return(classTerms); ArrayPool<float>.Shared.Return(classLogs); }
    }

    private static void AddClass(Span<float> sums, ReadOnlySpan<float> row, Span<float> g, int k, float scale)
    {
        float sum = sums[k];
        if (sum == 0f) return;
        g[k] -= scale * MathF.Exp(MathF.Log(sum) - row[k]);
        sums[k] = 0f; // each class once, even when the label repeats it
    }
}
