using System.Globalization;
using Nabla.Cli.Plots;
using Nabla.Kernels;
using Nabla.Sequences;

namespace Nabla.Cli.Demos;

/// <summary>A cell of the notes' α or β table that differs from the recursion, with the reason.</summary>
/// <param name="Table">"α" or "β".</param>
/// <param name="State">Position u in the blank-extended label − a − f − f − e −.</param>
/// <param name="Step">Time step t.</param>
/// <param name="Notes">The notes' value.</param>
/// <param name="Nabla">Nabla's value.</param>
public sealed record CtcCellDifference(string Table, int State, int Step, double Notes, double Nabla);

/// <summary>The figures of <see cref="CtcDemo"/>.</summary>
/// <param name="Alpha">Nabla's α [9 states, 9 steps] (NaN outside the band of states that can still reach the end).</param>
/// <param name="Beta">Nabla's β [9, 9] (NaN outside the band).</param>
/// <param name="ProbabilityPerStep">Σᵤ α(u,t)β(u,t)/y(l'ᵤ,t) at each t: P(l|x) nine times.</param>
/// <param name="LossProbability">exp(−CtcLoss) of the same output (Nabla's loss op).</param>
/// <param name="NotesProbabilityAtT6">The same sum at t = 6 from the notes' own α and β values.</param>
/// <param name="Differences">The notes' cells that differ from the recursion by more than their rounding.</param>
/// <param name="NotesCellsCompared">How many of the notes' cells were compared.</param>
/// <param name="Collapsed">B of the notes' strings (a−ab−, −aa−−aabb), as text.</param>
/// <param name="GreedyPath">The most likely class per step, as text.</param>
/// <param name="GreedyLabel">B of the greedy path.</param>
/// <param name="BeamLabel">The best label of a prefix beam search of width 8.</param>
public sealed record CtcDemoResult(double[,] Alpha, double[,] Beta, double[] ProbabilityPerStep, double LossProbability, double NotesProbabilityAtT6,
    IReadOnlyList<CtcCellDifference> Differences, int NotesCellsCompared, string[] Collapsed, string GreedyPath, string GreedyLabel, string BeamLabel);

/// <summary>
/// Note 004 §5: the CTC example of the label "affe" over T = 9 steps with the notes' table of output
/// probabilities (classes −, a … f), Nabla's α and β (forward–backward recursion, in log space) as
/// heat maps beside the notes' printed values, P(l|x), the collapse B on the notes' strings and the
/// greedy decoding of the same output.
/// </summary>
public static class CtcDemo
{
    /// <summary>Class names: the blank, then a … f.</summary>
    public static readonly string[] Classes = ["−", "a", "b", "c", "d", "e", "f"];

    /// <summary>The notes' probabilities P(class | t), one row per class, one column per step.</summary>
    public static readonly double[,] Probabilities =
    {
        { 0.9, 0.4, 0.1, 0.8, 0.3, 0.2, 0.9, 0.3, 0.01 },
        { 0.09, 0.5, 0.8, 0.15, 0.1, 0.1, 0, 0, 0 },
        { 0, 0, 0, 0, 0, 0.01, 0, 0.1, 0 },
        { 0, 0, 0, 0, 0, 0.09, 0, 0, 0 },
        { 0, 0.09, 0.1, 0.05, 0, 0, 0, 0, 0 },
        { 0.01, 0, 0, 0, 0, 0.2, 0, 0, 0.99 },
        { 0, 0.01, 0, 0, 0.6, 0.4, 0.1, 0.6, 0 },
    };

    /// <summary>The label "affe" as classes.</summary>
    public static readonly int[] Label = [1, 6, 6, 5];

    /// <summary>The blank-extended label l' = − a − f − f − e −.</summary>
    public static readonly string[] Extended = ["−", "a", "−", "f", "−", "f", "−", "e", "−"];

    /// <summary>
    /// The notes' α values as printed, by (state, first step, values). The rows of the converted text
    /// lost some column positions; each row is placed where its recursion puts it (the band of states
    /// reachable from the start that can still reach the end).
    /// </summary>
    public static readonly (int State, int From, double[] Values)[] NotesAlpha =
    [
        (0, 0, [0.9, 0.36, 0.036, 0.029, 0.009]),
        (1, 0, [0.09, 0.495, 0.684, 0.108, 0.014, 0.002]),
        (2, 1, [0.036, 0.053, 0.590, 0.209, 0.045]),
        (3, 1, [0.008, 0, 0, 0.419, 0.257, 0.030]),
        (4, 2, [0, 0, 0, 0.168, 0.383]),
        (5, 2, [0, 0, 0, 0, 0.017, 0.240]),
        (6, 3, [0, 0, 0, 0, 0.005]),
        (7, 3, [0, 0, 0, 0]),
        (8, 4, [0, 0, 0]),
    ];

    /// <summary>The notes' β values (only steps 6 to 8 are printed).</summary>
    public static readonly (int State, int From, double[] Values)[] NotesBeta =
    [
        (3, 6, [0.000]),
        (4, 6, [0.535]),
        (5, 6, [0.089, 0.594]),
        (6, 6, [0.267, 0.297]),
        (7, 6, [0.000, 0.000, 0.990]),
        (8, 6, [0.003, 0.003, 0.010]),
    ];

    /// <summary>Runs the demo: prints the tables, P(l|x), B and the greedy decoding; writes ctc-probabilities.png and ctc-alpha-beta.png.</summary>
    public static CtcDemoResult Run(DemoRun run)
    {
        run.Heading("CTC: the notes' example \"affe\" (note 004, §5)");
        int C = Classes.Length, T = Probabilities.GetLength(1), S = 2 * Label.Length + 1;
        var lp = new float[T * C];
        for (int t = 0; t < T; t++)
            for (int k = 0; k < C; k++) lp[t * C + k] = MathF.Log((float)Probabilities[k, t]); // log 0 = −∞: an impossible class
        for (int t = 0; t < T; t++)
        {
            double sum = 0;
            for (int k = 0; k < C; k++) sum += Probabilities[k, t];
            if (Math.Abs(sum - 1) > 1e-9) run.Line($"  note: the probabilities of step {t} sum to {DemoRun.F(sum)}");
        }

        var logAlpha = new float[T * S];
        var logBeta = new float[T * S];
        float logP = CtcKernels.Alpha(lp, C, T, Label, 0, logAlpha);
        CtcKernels.Beta(lp, C, T, Label, 0, logBeta);
        var alpha = Table(logAlpha, T, S);
        var beta = Table(logBeta, T, S);

        var perStep = new double[T];
        for (int t = 0; t < T; t++)
            for (int u = 0; u < S; u++)
            {
                double y = Probabilities[u % 2 == 0 ? 0 : Label[u / 2], t];
                if (y > 0 && double.IsFinite(alpha[u, t]) && double.IsFinite(beta[u, t])) perStep[t] += alpha[u, t] * beta[u, t] / y;
            }
        var logProbs = new Tensor(lp.ToArray(), new Shape(T, 1, C));
        double lossP = Math.Exp(-Ops.CtcLoss(logProbs, [Label], reduction: Reduction.Sum).Item());

        var notesAlpha = NotesTable(NotesAlpha, S, T);
        var notesBeta = NotesTable(NotesBeta, S, T);
        var differences = new List<CtcCellDifference>();
        int compared = 0;
        foreach (var (name, notes, mine) in new[] { ("α", notesAlpha, alpha), ("β", notesBeta, beta) })
            for (int u = 0; u < S; u++)
                for (int t = 0; t < T; t++)
                {
                    if (double.IsNaN(notes[u, t])) continue;
                    compared++;
                    double v = double.IsNaN(mine[u, t]) ? 0 : mine[u, t];
                    // The notes print 3 decimals.
                    if (Math.Abs(v - notes[u, t]) > 0.0015) differences.Add(new CtcCellDifference(name, u, t, notes[u, t], v));
                }
        double notesP6 = 0;
        for (int u = 0; u < S; u++)
        {
            double a = notesAlpha[u, 6], b = notesBeta[u, 6], y = Probabilities[u % 2 == 0 ? 0 : Label[u / 2], 6];
            if (!double.IsNaN(a) && !double.IsNaN(b) && y > 0) notesP6 += a * b / y;
        }

        run.Line("Output probabilities (the notes' table; rows −, a … f, columns t = 0 … 8), label l = affe, l' = − a − f − f − e −");
        run.Line("α(u, t) and β(u, t) include y at step t, as in the notes; per state the notes' values (· not printed there), then Nabla's:");
        PrintTable(run, "α", notesAlpha, alpha);
        PrintTable(run, "β", notesBeta, beta);
        run.Line($"{compared} printed cells compared; {compared - differences.Count} agree to the notes' 3 decimals, {differences.Count} differ:");
        foreach (var d in differences)
            run.Line($"  {d.Table}({Extended[d.State]} at u = {d.State}, t = {d.Step}): notes {DemoRun.F(d.Notes, "0.000")}, recursion {DemoRun.F(d.Nabla, "0.0000")}");
        run.Line($"  The notes' α(f, t = 1) = 0.008 is 0.09 · 0.09 (P(d) of step 1), the recursion's 0.09 · P(f) = 0.09 · 0.01 = {DemoRun.F(alpha[3, 1], "0.0000")};");
        run.Line($"  their α(−, t = 5) = 0.168 is α(f, 4) · P(f, 5) = 0.419 · 0.4, where the blank's P(−, 5) = 0.2 gives {DemoRun.F(alpha[4, 5], "0.0000")};");
        run.Line("  the other differences follow from that one (the mathematics wins, as the notes' README says).");
        run.Line("P(l|x) = Σᵤ α(u,t)β(u,t) / y(l'ᵤ, t), the same at every t:");
        run.Line("  " + string.Join("  ", perStep.Select((p, t) => $"t={t}: {DemoRun.F(p, "0.0000")}")));
        run.Line($"  exp(−CtcLoss) = {DemoRun.F(lossP, "0.0000")} (Nabla's loss op), −log P(l|x) = {DemoRun.F(-Math.Log(lossP), "0.0000")}");
        run.Line($"  from the notes' own α and β at t = 6: {DemoRun.F(notesP6, "0.000")} (with the slip above)");

        string Text(IEnumerable<int> k) => string.Concat(k.Select(i => i == 0 ? "-" : Classes[i]));
        int[] Parse(string s) => s.Select(ch => ch == '-' ? 0 : Array.IndexOf(Classes, ch.ToString())).ToArray();
        string[] notesStrings = ["a-ab-", "-aa--aabb"];
        var collapsed = notesStrings.Select(s => Text(CtcDecoder.Collapse(Parse(s)))).ToArray();
        run.Line("The collapse B (merge repeats, then drop blanks):");
        for (int i = 0; i < notesStrings.Length; i++) run.Line($"  B({notesStrings[i]}) = {collapsed[i]}   (notes: aab)");
        var preimage = Paths(5, 3).Where(p => Text(CtcDecoder.Collapse(p)) == "aab").Select(p => Text(p)).ToList();
        run.Line($"  B⁻¹(aab) among the paths of length 5 over {{−, a, b}}: {preimage.Count} paths, {string.Join(", ", preimage)}");

        var probs = new Tensor(lp.Select(MathF.Exp).ToArray(), new Shape(T, C));
        var greedyPath = Enumerable.Range(0, T).Select(t => Enumerable.Range(0, C).MaxBy(k => Probabilities[k, t])).ToArray();
        double pathP = greedyPath.Select((k, t) => Probabilities[k, t]).Aggregate(1.0, (a, b) => a * b);
        string greedy = Text(CtcDecoder.Greedy(probs));
        var (beamLabels, beamLogP) = CtcDecoder.BeamSearch(new Tensor(lp.ToArray(), new Shape(T, C)), beamWidth: 8);
        run.Line("Greedy decoding of the same output (most likely class per step, then B):");
        run.Line($"  path {Text(greedyPath)} (probability {DemoRun.F(pathP, "0.0000")}) → {greedy}");
        run.Line($"  prefix beam search (width 8): {Text(beamLabels)} with P = {DemoRun.F(Math.Exp(beamLogP), "0.0000")}");

        // Figures: the probability table with the greedy path, then α and β beside the notes' values.
        var pPlot = Charts.BuildMatrix(Probabilities, "P(class | t): the notes' network output; outlined: the greedy path", "0.##",
            rowLabels: Classes, xLabel: "t", yLabel: "class", marks: greedyPath.Select((k, t) => new CellMark(k, t)).ToList(), range: (0, 1));
        run.Wrote(Charts.SavePlot(pPlot, run.PathOf("ctc-probabilities.png"), 900, 560),
            $"The notes' output probabilities; the greedy path {Text(greedyPath)} collapses to {greedy}");

        var rows = Enumerable.Range(0, S).Select(u => $"{u} {Extended[u]}").ToArray();
        var marksA = differences.Where(d => d.Table == "α").Select(d => new CellMark(d.State, d.Step)).ToList();
        var marksB = differences.Where(d => d.Table == "β").Select(d => new CellMark(d.State, d.Step)).ToList();
        var plots = new[]
        {
            Charts.BuildMatrix(alpha, "α(u, t): Nabla", "0.000", rows, xLabel: "t", yLabel: "u  l'ᵤ", marks: marksA, range: (0, 1)),
            Charts.BuildMatrix(notesAlpha, "α(u, t): the notes' printed values", "0.000", rows, xLabel: "t", yLabel: "u  l'ᵤ", marks: marksA, range: (0, 1)),
            Charts.BuildMatrix(beta, "β(u, t): Nabla", "0.000", rows, xLabel: "t", yLabel: "u  l'ᵤ", marks: marksB, range: (0, 1)),
            Charts.BuildMatrix(notesBeta, "β(u, t): the notes' printed values (t ≥ 6)", "0.000", rows, xLabel: "t", yLabel: "u  l'ᵤ", marks: marksB, range: (0, 1)),
        };
        run.Wrote(Charts.Panels(plots, run.PathOf("ctc-alpha-beta.png"), 2, 820, 620,
            string.Create(CultureInfo.InvariantCulture, $"Blank cells: outside the band of states that are reachable and can still reach the end. Outlined: cells where the notes differ. P(l|x) = {perStep[0]:0.0000}.")),
            "α and β of \"affe\" computed by Nabla's CTC recursion, beside the values printed in the notes");
        return new CtcDemoResult(alpha, beta, perStep, lossP, notesP6, differences, compared, collapsed, Text(greedyPath), greedy, Text(beamLabels));
    }

    // [T·S] log table → [S, T] probabilities; NaN outside the band the kernels fill.
    private static double[,] Table(float[] log, int T, int S)
    {
        var m = new double[S, T];
        for (int t = 0; t < T; t++)
        {
            int lo = Math.Max(0, S - 2 * (T - t)), hi = Math.Min(S - 1, 2 * t + 1);
            for (int u = 0; u < S; u++) m[u, t] = u < lo || u > hi ? double.NaN : Math.Exp(log[t * S + u]);
        }
        return m;
    }

    private static double[,] NotesTable((int State, int From, double[] Values)[] rows, int S, int T)
    {
        var m = new double[S, T];
        for (int u = 0; u < S; u++)
            for (int t = 0; t < T; t++) m[u, t] = double.NaN;
        foreach (var (u, from, values) in rows)
            for (int i = 0; i < values.Length; i++) m[u, from + i] = values[i];
        return m;
    }

    // Two lines per state, the notes' values and Nabla's, so that the table fits 80 columns.
    private static void PrintTable(DemoRun run, string name, double[,] notes, double[,] mine)
    {
        int S = mine.GetLength(0), T = mine.GetLength(1);
        run.Line($"  {name}(u, t)     " + string.Concat(Enumerable.Range(0, T).Select(t => $"t={t}".PadLeft(6))));
        for (int u = 0; u < S; u++)
        {
            string Cells(double[,] m, bool band) => string.Concat(Enumerable.Range(0, T).Select(t =>
                double.IsNaN(m[u, t]) ? (band && !double.IsNaN(mine[u, t]) ? "·" : "").PadLeft(6) : DemoRun.F(m[u, t], "0.000").PadLeft(6)));
            run.Line($"  {u} {Extended[u]}  notes " + Cells(notes, true));
            run.Line($"        Nabla " + Cells(mine, false));
        }
    }

    private static IEnumerable<int[]> Paths(int length, int classes)
    {
        int total = (int)Math.Pow(classes, length);
        for (int i = 0; i < total; i++)
        {
            var p = new int[length];
            for (int j = length - 1, v = i; j >= 0; j--, v /= classes) p[j] = v % classes;
            yield return p;
        }
    }
}
