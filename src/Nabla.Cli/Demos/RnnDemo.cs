using System.Diagnostics;
using Nabla.Cli.Commands;
using Nabla.Cli.Plots;
using Nabla.Data;
using Nabla.Nn;
using Nabla.Optim;
using Nabla.Sequences;
using ScottPlot;

namespace Nabla.Cli.Demos;

/// <summary>The gate activations of one recurrent model over a line of digits.</summary>
/// <param name="Name">LSTM or GRU.</param>
/// <param name="Gates">Gate name → activations [hidden unit, step] in [0, 1].</param>
/// <param name="MaxStateDifference">Largest difference between the hidden states recomputed from the gates and the layer's output.</param>
/// <param name="Reading">The model's greedy reading of the line.</param>
/// <param name="FirstLoss">Mean CTC loss of the first tenth of training.</param>
/// <param name="LastLoss">Mean CTC loss of the last tenth of training.</param>
public sealed record GateTrace(string Name, IReadOnlyDictionary<string, double[,]> Gates, double MaxStateDifference, string Reading, double FirstLoss, double LastLoss);

/// <summary>The figures of <see cref="RnnDemo"/>.</summary>
/// <param name="HandGradients">∂L/∂(Wₓ, Wₕ, Wₒ, b, x) by the notes' BPTT formulas.</param>
/// <param name="AutogradGradients">The same by Nabla's autograd through its Rnn layer.</param>
/// <param name="MaxGradientDifference">Largest difference between the two.</param>
/// <param name="DeltaHNorms">‖δhₜ‖ per step (notes' BPTT).</param>
/// <param name="DeltaXNorms">‖δxₜ‖ per step: (notes' BPTT, autograd).</param>
/// <param name="Lstm">LSTM gates over the line.</param>
/// <param name="Gru">GRU gates over the line.</param>
/// <param name="LineText">The digits of the line.</param>
public sealed record RnnDemoResult(IReadOnlyDictionary<string, double[]> HandGradients, IReadOnlyDictionary<string, double[]> AutogradGradients,
    double MaxGradientDifference, double[] DeltaHNorms, (double[] Hand, double[] Autograd) DeltaXNorms, GateTrace Lstm, GateTrace Gru, string LineText);

/// <summary>
/// Note 004 §2.7–2.9: the vanilla RNN hₜ = tanh(hₜ₋₁Wₕ + xₜWₓ + b), oₜ = hₜWₒ unrolled over a short
/// sequence, its backpropagation through time written out with the notes' formulas (δhₜ = δoₜWₒᵀ +
/// δgₜ₊₁Wₕᵀ, δgₜ = δhₜ(1 − hₜ²), δWₕ = Σ hₜ₋₁ᵀδgₜ, …) against autograd through Nabla's Rnn layer;
/// then an LSTM and a GRU trained briefly with CTC on lines of handwritten digits, and their gate
/// activations over one line.
/// </summary>
public static class RnnDemo
{
    /// <summary>Steps, input, hidden and output sizes of the unrolled vanilla RNN.</summary>
    public const int Steps = 6, Inputs = 3, Hidden = 4, Outputs = 2;

    /// <summary>Runs the demo: prints the gradients side by side, writes rnn-bptt.png and rnn-gates.png.</summary>
    public static RnnDemoResult Run(DemoRun run)
    {
        run.Heading("Vanilla RNN and backpropagation through time; LSTM and GRU gates (note 004, §2.7–2.9)");
        var (hand, auto, diff, dh, dx, hs, dhMatrix) = Bptt(run);
        var (lstm, gru, line) = Gates(run);
        run.Wrote(Charts.Panels(
        [
            Charts.BuildMatrix(hs, "hidden states hₜ (forward)", "0.00", xLabel: "t", yLabel: "unit", colormap: new ScottPlot.Colormaps.Balance(), range: (-1, 1)),
            Charts.BuildMatrix(dhMatrix, "δhₜ = δoₜWₒᵀ + δgₜ₊₁Wₕᵀ (backward)", "0.00", xLabel: "t", yLabel: "unit", colormap: new ScottPlot.Colormaps.Balance(),
                range: (-MaxAbs(dhMatrix), MaxAbs(dhMatrix))),
            Charts.BuildLines(DeltaXSeries(dx.Hand, dx.Autograd), "‖δxₜ‖: the notes' BPTT and autograd", "t", "‖δxₜ‖", integerX: true),
        ], run.PathOf("rnn-bptt.png"), 3, 600, 480,
            $"Vanilla RNN over {Steps} steps, loss ½Σₜ‖oₜ − targetₜ‖²; largest difference between the written-out BPTT and autograd: {DemoRun.F(diff, "0.0e0")}."),
            "The vanilla RNN unrolled over 6 steps: hidden states, the deltas of backpropagation through time, and δx by the notes' formulas against autograd");

        var img = new double[line.Height, line.Width];
        for (int r = 0; r < line.Height; r++)
            for (int c = 0; c < line.Width; c++) img[r, c] = line.Image[r * line.Width + c];
        var panels = new List<Plot> { Charts.BuildImage(img, $"the line \"{line.Text}\" (steps of {SequenceDemo.Stride} columns)") };
        foreach (var trace in new[] { lstm, gru })
            foreach (var (gate, values) in trace.Gates)
                panels.Add(Charts.BuildMatrix(values, $"{trace.Name} {gate} (read \"{trace.Reading}\")", null, xLabel: "step t", yLabel: "unit",
                    colormap: new ScottPlot.Colormaps.Viridis(), range: (0, 1), colorBar: true));
        run.Wrote(Charts.Panels(panels, run.PathOf("rnn-gates.png"), 1, 1400, 280,
            "Gate activations in [0, 1] (dark 0, yellow 1) per hidden unit and step; the models were trained briefly with CTC."),
            $"LSTM (input, forget, output gates) and GRU (reset, update gates) over a line of handwritten digits \"{line.Text}\"");
        return new RnnDemoResult(hand, auto, diff, dh, dx, lstm, gru, line.Text);
    }

    /// <summary>The series of the ‖δxₜ‖ panel: the notes' BPTT as a line, autograd as markers on it.</summary>
    public static List<Series> DeltaXSeries(double[] hand, double[] autograd)
    {
        var t = Enumerable.Range(0, hand.Length).Select(i => (double)i).ToArray();
        return
        [
            new Series("notes' BPTT: δxₜ = δgₜWₓᵀ", hand, t, Color: 0),
            new Series("autograd (Nabla's Rnn layer)", autograd, t, PointsOnly: true, Color: 1, Marker: MarkerShape.OpenSquare),
        ];
    }

    private static (Dictionary<string, double[]> Hand, Dictionary<string, double[]> Auto, double Diff, double[] DeltaH, (double[] Hand, double[] Autograd) DeltaX,
        double[,] Hs, double[,] DeltaHMatrix) Bptt(DemoRun run)
    {
        var rng = new Random(run.Seed);
        var rnn = new Rnn(Inputs, Hidden, rng: rng);
        var wo = new Linear(Hidden, Outputs, bias: false, rng: rng);
        var xData = Enumerable.Range(0, Steps * Inputs).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var target = Enumerable.Range(0, Steps * Outputs).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

        // Autograd: the layer, then oₜ = hₜWₒ and L = ½Σ(oₜ − targetₜ)².
        var x = new Tensor(xData.ToArray(), new Shape(Steps, 1, Inputs)) { RequiresGrad = true };
        var (h, _) = rnn.Forward(x, null);
        var o = wo.Forward(Ops.Reshape(h, Steps, Hidden));
        var err = Ops.Sub(o, Tensor.FromArray(target.ToArray(), Steps, Outputs));
        var loss = Ops.Mul(Ops.Sum(Ops.Mul(err, err)), Tensor.Scalar(0.5f));
        loss.Backward();
        var w = rnn.Weights(0);

        // The notes' formulas with Wₓ = weight_ihᵀ, Wₕ = weight_hhᵀ, b = bias_ih + bias_hh, Wₒ = weightᵀ, in double.
        double[,] Wx = Transposed(w.WeightIh.ToArray(), Hidden, Inputs), Wh = Transposed(w.WeightHh.ToArray(), Hidden, Hidden);
        double[,] Wo = Transposed(((Tensor)wo.NamedParameters().Single().Parameter).ToArray(), Outputs, Hidden);
        var bi = w.BiasIh!.ToArray();
        var bh = w.BiasHh!.ToArray();
        var hs = new double[Steps + 1, Hidden]; // hs[t + 1] = hₜ, hs[0] = h₋₁ = 0
        var os = new double[Steps, Outputs];
        for (int t = 0; t < Steps; t++)
        {
            for (int j = 0; j < Hidden; j++)
            {
                double g = bi[j] + bh[j];
                for (int i = 0; i < Hidden; i++) g += hs[t, i] * Wh[i, j];
                for (int i = 0; i < Inputs; i++) g += xData[t * Inputs + i] * Wx[i, j];
                hs[t + 1, j] = Math.Tanh(g);
            }
            for (int k = 0; k < Outputs; k++)
                for (int j = 0; j < Hidden; j++) os[t, k] += hs[t + 1, j] * Wo[j, k];
        }
        var dWx = new double[Inputs * Hidden];
        var dWh = new double[Hidden * Hidden];
        var dWo = new double[Hidden * Outputs];
        var db = new double[Hidden];
        var dx = new double[Steps * Inputs];
        var dhAll = new double[Hidden, Steps];
        var dgNext = new double[Hidden];
        for (int t = Steps - 1; t >= 0; t--)
        {
            var dOut = new double[Outputs];
            for (int k = 0; k < Outputs; k++) dOut[k] = os[t, k] - target[t * Outputs + k];
            var dg = new double[Hidden];
            for (int j = 0; j < Hidden; j++)
            {
                double dhj = 0;
                for (int k = 0; k < Outputs; k++) dhj += dOut[k] * Wo[j, k];      // δoₜ·Wₒᵀ
                for (int i = 0; i < Hidden; i++) dhj += dgNext[i] * Wh[j, i];    // δgₜ₊₁·Wₕᵀ
                dhAll[j, t] = dhj;
                dg[j] = dhj * (1 - hs[t + 1, j] * hs[t + 1, j]);                 // δgₜ = δhₜ(1 − hₜ²)
            }
            for (int i = 0; i < Inputs; i++)
                for (int j = 0; j < Hidden; j++)
                {
                    dx[t * Inputs + i] += dg[j] * Wx[i, j];                        // δxₜ = δgₜWₓᵀ
                    dWx[i * Hidden + j] += xData[t * Inputs + i] * dg[j];          // δWₓ = Σ xₜᵀδgₜ
                }
            for (int i = 0; i < Hidden; i++)
                for (int j = 0; j < Hidden; j++) dWh[i * Hidden + j] += hs[t, i] * dg[j]; // δWₕ = Σ hₜ₋₁ᵀδgₜ
            for (int j = 0; j < Hidden; j++)
            {
                db[j] += dg[j];                                                    // δb = Σ δgₜ
                for (int k = 0; k < Outputs; k++) dWo[j * Outputs + k] += hs[t + 1, j] * dOut[k]; // δWₒ = Σ hₜᵀδoₜ
            }
            dgNext = dg;
        }

        var hand = new Dictionary<string, double[]> { ["δWₓ"] = dWx, ["δWₕ"] = dWh, ["δWₒ"] = dWo, ["δb"] = db, ["δx"] = dx };
        var auto = new Dictionary<string, double[]>
        {
            ["δWₓ"] = TransposedFlat(w.WeightIh.Grad!.ToArray(), Hidden, Inputs),
            ["δWₕ"] = TransposedFlat(w.WeightHh.Grad!.ToArray(), Hidden, Hidden),
            ["δWₒ"] = TransposedFlat(((Tensor)wo.NamedParameters().Single().Parameter).Grad!.ToArray(), Outputs, Hidden),
            ["δb"] = w.BiasIh.Grad!.ToArray().Select(v => (double)v).ToArray(),
            ["δx"] = x.Grad!.ToArray().Select(v => (double)v).ToArray(),
        };
        double diff = 0;
        run.Line($"Vanilla RNN, {Inputs} inputs, {Hidden} hidden units (tanh), {Outputs} outputs, {Steps} steps, loss L = ½Σₜ‖oₜ − targetₜ‖² = {DemoRun.F(loss.Item(), "0.0000")}");
        run.Line("  gradient      notes' BPTT (first values)                      autograd (first values)                          max |difference|");
        foreach (var key in hand.Keys)
        {
            double d = hand[key].Zip(auto[key]).Max(p => Math.Abs(p.First - p.Second));
            diff = Math.Max(diff, d);
            run.Line($"  {key,-5} {Head(hand[key]),-50} {Head(auto[key]),-50} {DemoRun.F(d, "0.0e0")}");
        }
        // δb: autograd's bias_ih and bias_hh both receive Σ δgₜ.
        diff = Math.Max(diff, db.Zip(w.BiasHh.Grad!.ToArray()).Max(p => Math.Abs(p.First - p.Second)));
        var dhNorms = Enumerable.Range(0, Steps).Select(t => Math.Sqrt(Enumerable.Range(0, Hidden).Sum(j => dhAll[j, t] * dhAll[j, t]))).ToArray();
        double[] Norms(double[] v) => Enumerable.Range(0, Steps).Select(t => Math.Sqrt(Enumerable.Range(0, Inputs).Sum(i => v[t * Inputs + i] * v[t * Inputs + i]))).ToArray();
        run.Line("  ‖δhₜ‖ for t = 0 … " + (Steps - 1) + ": " + string.Join(", ", dhNorms.Select(v => DemoRun.F(v, "0.0000"))));
        var hsT = new double[Hidden, Steps];
        for (int t = 0; t < Steps; t++)
            for (int j = 0; j < Hidden; j++) hsT[j, t] = hs[t + 1, j];
        return (hand, auto, diff, dhNorms, (Norms(dx), Norms(auto["δx"])), hsT, dhAll);
    }

    private static (GateTrace Lstm, GateTrace Gru, DigitLine Line) Gates(DemoRun run)
    {
        var (folder, _) = DataLoading.Resolve(null);
        var mnist = MnistFolder.Load(folder, flatten: true).Train;
        var (trainGen, testGen) = DigitLineGenerator.Split(mnist.Features, mnist.Labels, 0.2, run.Seed, SequenceDemo.LineHeight);
        var line = testGen.Generate(1, run.Seed * 31 + 5)[0];
        // Long enough (full length) for both to get past CTC's all-blank plateau and read most digits.
        int hidden = 32, batches = run.Fast ? 30 : 1500, batch = run.Fast ? 16 : 32;
        const float lr = 0.01f;
        int features = SequenceDemo.LineHeight * SequenceDemo.Window;
        run.Line($"LSTM and GRU ({hidden} units) + linear layer → 11 classes, CTC, Adam {DemoRun.F(lr)}, {batches} batches of {batch} fresh lines (frames of {SequenceDemo.Window} columns every {SequenceDemo.Stride})");
        var traces = new List<GateTrace>();
        foreach (var mode in new[] { RecurrentMode.Lstm, RecurrentMode.Gru })
        {
            var rng = new Random(run.Seed);
            RecurrentBase layer = mode == RecurrentMode.Lstm ? new Lstm(features, hidden, rng: rng) : new Gru(features, hidden, rng: rng);
            var head = new Linear(hidden, 11, rng: rng);
            var opt = new Adam(layer.Parameters().Concat(head.Parameters()).ToList(), lr);
            var losses = new List<double>();
            var clock = Stopwatch.StartNew();
            for (int b = 0; b < batches; b++)
            {
                var lines = trainGen.Generate(batch, run.Seed * 7919 + 3000 + b);
                var (x, steps, targets) = DigitLineGenerator.Batch(lines, SequenceDemo.Stride, SequenceDemo.Window);
                var lp = Forward(layer, head, x, steps);
                var loss = Ops.CtcLoss(lp, targets, steps);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                losses.Add(loss.Item());
            }
            int tenth = Math.Max(1, batches / 10);
            double first = losses.Take(tenth).Average(), last = losses.TakeLast(tenth).Average();
            var (fx, fsteps, _) = DigitLineGenerator.Batch([line], SequenceDemo.Stride, SequenceDemo.Window);
            string reading;
            using (Autograd.GradMode.NoGrad())
                reading = string.Concat(CtcDecoder.GreedyBatch(Forward(layer, head, fx, fsteps), 0, fsteps)[0].Select(k => k - 1));
            var (gates, stateDiff) = Trace(layer, fx, fsteps[0]);
            string name = mode == RecurrentMode.Lstm ? "LSTM" : "GRU";
            traces.Add(new GateTrace(name, gates, stateDiff, reading, first, last));
            run.Line($"  {name}: CTC loss {DemoRun.F(first, "F3")} → {DemoRun.F(last, "F3")} ({DemoRun.F(clock.Elapsed.TotalSeconds, "F1")} s); the line {line.Text} read as \"{reading}\"");
            run.Line($"    mean gate activations over the line: " + string.Join(", ", gates.Select(g => $"{g.Key} {DemoRun.F(Mean(g.Value), "0.00")}"))
                + $"; hidden states from the gates vs the layer: max difference {DemoRun.F(stateDiff, "0.0e0")}");
        }
        return (traces[0], traces[1], line);
    }

    private static Tensor Forward(RecurrentBase layer, Linear head, Tensor x, int[] steps)
    {
        int T = x.Shape[0], N = x.Shape[1];
        var y = layer switch
        {
            Lstm l => l.Forward(x, null, null, steps).Output,
            Gru g => g.Forward(x, null, steps).Output,
            _ => throw new InvalidOperationException(),
        };
        var logits = head.Forward(Ops.Reshape(y, T * N, layer.HiddenSize));
        return Ops.Reshape(Ops.LogSoftmax(logits, -1), T, N, 11);
    }

    // The gates step by step from the layer's weights (PyTorch's equations), checked against the layer's output.
    private static (Dictionary<string, double[,]> Gates, double StateDiff) Trace(RecurrentBase layer, Tensor frames, int T)
    {
        var w = layer.Weights(0);
        int H = layer.HiddenSize, I = layer.InputSize, G = Ops.GateCount(layer.Mode);
        var wi = w.WeightIh.ToArray();
        var wh = w.WeightHh.ToArray();
        var bi = w.BiasIh!.ToArray();
        var bh = w.BiasHh!.ToArray();
        var x = frames.ToArray();
        Tensor output;
        using (Autograd.GradMode.NoGrad())
            output = layer is Lstm l ? l.Forward(frames, null, null, [T]).Output : ((Gru)layer).Forward(frames, null, [T]).Output;
        var yOut = output.ToArray();
        string[] names = layer.Mode == RecurrentMode.Lstm ? ["input gate i", "forget gate f", "output gate o"] : ["reset gate r", "update gate z"];
        var gates = names.ToDictionary(n => n, _ => new double[H, T]);
        var h = new double[H];
        var c = new double[H];
        double diff = 0;
        static double Sig(double v) => 1 / (1 + Math.Exp(-v));
        for (int t = 0; t < T; t++)
        {
            var xi = new double[G * H];
            var hh = new double[G * H];
            for (int r = 0; r < G * H; r++)
            {
                double a = bi[r], b = bh[r];
                for (int k = 0; k < I; k++) a += wi[r * I + k] * x[t * I + k];
                for (int k = 0; k < H; k++) b += wh[r * H + k] * h[k];
                xi[r] = a;
                hh[r] = b;
            }
            var next = new double[H];
            for (int j = 0; j < H; j++)
            {
                if (layer.Mode == RecurrentMode.Lstm)
                {
                    double ig = Sig(xi[j] + hh[j]), fg = Sig(xi[H + j] + hh[H + j]), gg = Math.Tanh(xi[2 * H + j] + hh[2 * H + j]), og = Sig(xi[3 * H + j] + hh[3 * H + j]);
                    c[j] = fg * c[j] + ig * gg;
                    next[j] = og * Math.Tanh(c[j]);
                    gates[names[0]][j, t] = ig; gates[names[1]][j, t] = fg; gates[names[2]][j, t] = og;
                }
                else
                {
                    double r = Sig(xi[j] + hh[j]), z = Sig(xi[H + j] + hh[H + j]), n = Math.Tanh(xi[2 * H + j] + r * hh[2 * H + j]);
                    next[j] = (1 - z) * n + z * h[j];
                    gates[names[0]][j, t] = r; gates[names[1]][j, t] = z;
                }
                diff = Math.Max(diff, Math.Abs(next[j] - yOut[t * H + j]));
            }
            h = next;
        }
        return (gates, diff);
    }

    private static double[,] Transposed(float[] a, int rows, int cols)
    {
        var m = new double[cols, rows];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) m[c, r] = a[r * cols + c];
        return m;
    }

    private static double[] TransposedFlat(float[] a, int rows, int cols)
    {
        var m = new double[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) m[c * rows + r] = a[r * cols + c];
        return m;
    }

    private static string Head(double[] v) => "[" + string.Join(", ", v.Take(4).Select(x => DemoRun.F(x, "0.00000"))) + (v.Length > 4 ? ", …]" : "]");

    private static double Mean(double[,] m)
    {
        double s = 0;
        foreach (double v in m) s += v;
        return s / m.Length;
    }

    private static double MaxAbs(double[,] m)
    {
        double s = 1e-9;
        foreach (double v in m) s = Math.Max(s, Math.Abs(v));
        return s;
    }
}
