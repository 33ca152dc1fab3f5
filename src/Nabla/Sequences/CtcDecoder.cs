using Nabla.Kernels;

namespace Nabla.Sequences;

/// <summary>
/// Turns per-step class scores into label sequences: the collapse map B of the notes (merge
/// repeats, then drop blanks), greedy decoding and prefix beam search.
/// </summary>
public static class CtcDecoder
{
    /// <summary>
    /// The notes' B: merges runs of equal classes, then removes blanks, so
    /// B(a−ab−) = B(−aa−−aabb) = aab.
    /// </summary>
    public static int[] Collapse(IEnumerable<int> path, int blank = 0)
    {
        var result = new List<int>();
        int prev = -1;
        foreach (int k in path)
        {
            if (k != prev && k != blank) result.Add(k);
            prev = k;
        }
        return result.ToArray();
    }

    /// <summary>
    /// Greedy decoding of one sequence: the most likely class per step, collapsed. Scores are
    /// [T, C] (probabilities, log-probabilities or logits: only the argmax matters); the first
    /// <paramref name="length"/> steps are read (all when null).
    /// </summary>
    public static int[] Greedy(Tensor scores, int blank = 0, int? length = null)
    {
        if (scores.Rank != 2) throw new ShapeMismatchException("CtcDecoder.Greedy", scores.Shape, null, "expects scores [T, C]");
        return GreedyStrided(scores.Data, scores.Shape[1], scores.Shape[1], CheckLength(length, scores.Shape[0]), blank);
    }

    /// <summary>Greedy decoding of every sequence of a [T, N, C] batch (lengths per sequence, or all T).</summary>
    public static int[][] GreedyBatch(Tensor scores, int blank = 0, int[]? lengths = null)
    {
        if (scores.Rank != 3) throw new ShapeMismatchException("CtcDecoder.GreedyBatch", scores.Shape, null, "expects scores [T, N, C]");
        int T = scores.Shape[0], N = scores.Shape[1], C = scores.Shape[2];
        if (lengths is not null && lengths.Length != N) throw new ArgumentException($"CtcDecoder.GreedyBatch: {lengths.Length} lengths for a batch of {N}.");
        var result = new int[N][];
        for (int n = 0; n < N; n++)
            result[n] = GreedyStrided(scores.Data.Slice(n * C), N * C, C, CheckLength(lengths?[n], T), blank);
        return result;
    }

    private static int CheckLength(int? length, int T)
    {
        int len = length ?? T;
        if ((uint)len > (uint)T) throw new ArgumentOutOfRangeException(nameof(length), $"CtcDecoder: length {len} is outside [0, {T}].");
        return len;
    }

    private static int[] GreedyStrided(ReadOnlySpan<float> s, int stride, int C, int T, int blank)
    {
        var path = new int[T];
        for (int t = 0; t < T; t++)
        {
            var row = s.Slice(t * stride, C);
            int best = 0;
            for (int k = 1; k < C; k++) if (row[k] > row[best]) best = k;
            path[t] = best;
        }
        return Collapse(path, blank);
    }

    /// <summary>
    /// Prefix beam search over log-probabilities [T, C]: keeps the <paramref name="beamWidth"/>
    /// most probable label prefixes, each with the probability of all paths ending in a blank and
    /// of all ending in its last label, so that paths collapsing to the same prefix add up (which
    /// greedy decoding ignores). Returns the best labelling and its log-probability.
    /// </summary>
    public static (int[] Labels, float LogProbability) BeamSearch(Tensor logProbs, int beamWidth = 8, int blank = 0, int? length = null)
    {
        if (logProbs.Rank != 2) throw new ShapeMismatchException("CtcDecoder.BeamSearch", logProbs.Shape, null, "expects log-probabilities [T, C]");
        if (beamWidth < 1) throw new ArgumentOutOfRangeException(nameof(beamWidth), $"CtcDecoder.BeamSearch: beam width {beamWidth} must be at least 1.");
        int C = logProbs.Shape[1];
        if ((uint)blank >= (uint)C) throw new ArgumentOutOfRangeException(nameof(blank), $"CtcDecoder.BeamSearch: blank {blank} is outside the {C} classes.");
        int T = CheckLength(length, logProbs.Shape[0]);
        var lp = logProbs.Data;
        const float NegInf = float.NegativeInfinity;
        var beams = new Dictionary<string, (int[] Prefix, float Blank, float NonBlank)> { [""] = ([], 0f, NegInf) };
        for (int t = 0; t < T; t++)
        {
            var row = lp.Slice(t * C, C);
            var next = new Dictionary<string, (int[] Prefix, float Blank, float NonBlank)>();
            void Add(int[] prefix, string key, float pb, float pnb)
            {
                if (next.TryGetValue(key, out var e)) next[key] = (e.Prefix, CtcKernels.LogAdd(e.Blank, pb), CtcKernels.LogAdd(e.NonBlank, pnb));
                else next[key] = (prefix, pb, pnb);
            }
            foreach (var (key, (prefix, pb, pnb)) in beams)
            {
                float total = CtcKernels.LogAdd(pb, pnb);
                // Blank: the prefix stays, now ending in a blank.
                Add(prefix, key, total + row[blank], NegInf);
                int last = prefix.Length > 0 ? prefix[^1] : -1;
                for (int k = 0; k < C; k++)
                {
                    if (k == blank) continue;
                    float p = row[k];
                    if (float.IsNegativeInfinity(p)) continue;
                    if (k == last)
                    {
                        // Repeating the last label without a blank in between merges into the same prefix;
                        // after a blank it starts a new copy.
                        Add(prefix, key, NegInf, pnb + p);
                        Add([.. prefix, k], key + "," + k, NegInf, pb + p);
                    }
                    else Add([.. prefix, k], key + "," + k, NegInf, total + p);
                }
            }
            beams = next.OrderByDescending(e => CtcKernels.LogAdd(e.Value.Blank, e.Value.NonBlank)).Take(beamWidth)
                .ToDictionary(e => e.Key, e => e.Value);
        }
        var best = beams.Values.OrderByDescending(e => CtcKernels.LogAdd(e.Blank, e.NonBlank)).First();
        return (best.Prefix, CtcKernels.LogAdd(best.Blank, best.NonBlank));
    }

    /// <summary>Edit (Levenshtein) distance between two label sequences.</summary>
    public static int EditDistance(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var prev = new int[b.Count + 1];
        var cur = new int[b.Count + 1];
        for (int j = 0; j <= b.Count; j++) prev[j] = j;
        for (int i = 1; i <= a.Count; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Count; j++)
                cur[j] = Math.Min(Math.Min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Count];
    }

    /// <summary>Character error rate: total edit distance over total reference length.</summary>
    public static double CharacterErrorRate(IReadOnlyList<int[]> predictions, IReadOnlyList<int[]> references)
    {
        if (predictions.Count != references.Count) throw new ArgumentException($"CharacterErrorRate: {predictions.Count} predictions for {references.Count} references.");
        long edits = 0, chars = 0;
        for (int i = 0; i < predictions.Count; i++)
        {
            edits += EditDistance(predictions[i], references[i]);
            chars += references[i].Length;
        }
        return chars == 0 ? 0 : (double)edits / chars;
    }
}
