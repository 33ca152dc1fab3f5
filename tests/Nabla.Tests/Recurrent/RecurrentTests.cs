using Nabla.Autograd;
using Nabla.Nn;
using Nabla.Tests.Core;

namespace Nabla.Tests.Recurrent;

/// <summary>
/// The fused recurrent op against a step-by-step composition of gradient-checked primitives
/// (values and every gradient), central-difference checks of every layer and cell, and the
/// notes' BPTT formulas for the vanilla RNN.
/// </summary>
public class RecurrentTests
{
    // ------------------------------------------------------------ reference built from primitives

    private static Tensor Gate(Tensor g, int k, int H) => Ops.Narrow(g, 1, k * H, H);

    /// <summary>One direction step by step with masks for padded steps; returns per-step outputs [B,H] in time order, final h, c.</summary>
    private static (Tensor[] Ys, Tensor H, Tensor? C) ReferenceDirection(RecurrentMode mode, Tensor x, RecurrentWeights w, Tensor h, Tensor? c, int[]? lengths, bool reverse)
    {
        int T = x.Shape[0], B = x.Shape[1], I = x.Shape[2], H = w.WeightHh.Shape[1];
        var ys = new Tensor[T];
        for (int s = 0; s < T; s++)
        {
            int t = reverse ? T - 1 - s : s;
            var xt = Ops.Reshape(Ops.Narrow(x, 0, t, 1), B, I);
            var gi = Ops.Linear(xt, w.WeightIh, w.BiasIh);
            var gh = Ops.Linear(h, w.WeightHh, w.BiasHh);
            Tensor hNew; Tensor? cNew = null;
            switch (mode)
            {
                case RecurrentMode.Lstm:
                {
                    var g = gi + gh;
                    var i = Gate(g, 0, H).Sigmoid(); var f = Gate(g, 1, H).Sigmoid(); var gg = Gate(g, 2, H).Tanh(); var o = Gate(g, 3, H).Sigmoid();
                    cNew = f * c! + i * gg;
                    hNew = o * cNew.Tanh();
                    break;
                }
                case RecurrentMode.Gru:
                {
                    var r = (Gate(gi, 0, H) + Gate(gh, 0, H)).Sigmoid();
                    var z = (Gate(gi, 1, H) + Gate(gh, 1, H)).Sigmoid();
                    var n = (Gate(gi, 2, H) + r * Gate(gh, 2, H)).Tanh();
                    hNew = (1f - z) * n + z * h;
                    break;
                }
                case RecurrentMode.RnnRelu: hNew = (gi + gh).Relu(); break;
                default: hNew = (gi + gh).Tanh(); break;
            }
            if (lengths is not null)
            {
                var m = new Tensor(new Shape(B, 1));
                for (int b = 0; b < B; b++) m.Data[b] = t < lengths[b] ? 1f : 0f;
                hNew = m * hNew + (1f - m) * h;
                if (cNew is not null) cNew = m * cNew + (1f - m) * c!;
                ys[t] = m * hNew;
            }
            else ys[t] = hNew;
            h = hNew;
            c = cNew;
        }
        return (ys, h, c);
    }

    private static Tensor Flat(Tensor t) => Ops.Reshape(t, t.Length);

    private static Tensor ReferenceLayer(RecurrentMode mode, Tensor x, RecurrentWeights[] dirs, Tensor h0, Tensor? c0, int[]? lengths)
    {
        int T = x.Shape[0], B = x.Shape[1], H = dirs[0].WeightHh.Shape[1];
        var perDir = new List<Tensor[]>();
        var finals = new List<Tensor>();
        var cells = new List<Tensor>();
        for (int d = 0; d < dirs.Length; d++)
        {
            var hd = Ops.Reshape(Ops.Narrow(h0, 0, d, 1), B, H);
            var cd = c0 is null ? null : Ops.Reshape(Ops.Narrow(c0, 0, d, 1), B, H);
            var (ys, h, c) = ReferenceDirection(mode, x, dirs[d], hd, cd, lengths, d == 1);
            perDir.Add(ys);
            finals.Add(Flat(h));
            if (c is not null) cells.Add(Flat(c));
        }
        var steps = new List<Tensor>();
        for (int t = 0; t < T; t++) steps.Add(Flat(Ops.Concat(perDir.Select(p => p[t]).ToList(), 1)));
        return Ops.Concat([.. steps, .. finals, .. cells], 0);
    }

    private static Tensor FusedLayer(RecurrentMode mode, Tensor x, RecurrentWeights[] dirs, Tensor h0, Tensor? c0, int[]? lengths)
    {
        var (y, h, c) = Ops.RecurrentLayer(mode, x, dirs, h0, c0, lengths);
        var parts = new List<Tensor> { Flat(y), Flat(h) };
        if (c is not null) parts.Add(Flat(c));
        return Ops.Concat(parts, 0);
    }

    private static (Tensor[] Inputs, Func<Tensor[], RecurrentWeights[]> Dirs) Make(RecurrentMode mode, int T, int B, int I, int H, int D, bool bias, int seed)
    {
        int GH = Ops.GateCount(mode) * H;
        var list = new List<Tensor> { Tensor.Randn([T, B, I], seed: seed), Tensor.Randn([D, B, H], seed: seed + 1) * 0.5f, Tensor.Randn([D, B, H], seed: seed + 2) * 0.5f };
        for (int d = 0; d < D; d++)
        {
            list.Add(Tensor.Randn([GH, I], seed: seed + 10 + d) * 0.5f);
            list.Add(Tensor.Randn([GH, H], seed: seed + 20 + d) * 0.5f);
            if (bias) { list.Add(Tensor.Randn([GH], seed: seed + 30 + d) * 0.3f); list.Add(Tensor.Randn([GH], seed: seed + 40 + d) * 0.3f); }
        }
        int per = bias ? 4 : 2;
        return (list.ToArray(), t => Enumerable.Range(0, D).Select(d =>
            new RecurrentWeights(t[3 + d * per], t[4 + d * per], bias ? t[5 + d * per] : null, bias ? t[6 + d * per] : null)).ToArray());
    }

    public static TheoryData<RecurrentMode, int, bool, bool> Configurations()
    {
        var data = new TheoryData<RecurrentMode, int, bool, bool>();
        foreach (var mode in new[] { RecurrentMode.RnnTanh, RecurrentMode.RnnRelu, RecurrentMode.Gru, RecurrentMode.Lstm })
            foreach (int D in new[] { 1, 2 })
                foreach (bool withLengths in new[] { false, true })
                    data.Add(mode, D, withLengths, mode != RecurrentMode.RnnRelu || D == 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Fused_layer_equals_the_step_by_step_composition_in_values_and_gradients(RecurrentMode mode, int D, bool withLengths, bool bias)
    {
        const int T = 5, B = 3, I = 4, H = 6;
        int[]? lengths = withLengths ? [5, 2, 0] : null;
        bool lstm = mode == RecurrentMode.Lstm;
        var (a, dirsA) = Make(mode, T, B, I, H, D, bias, 100 + D);
        var (b, dirsB) = Make(mode, T, B, I, H, D, bias, 100 + D);
        foreach (var t in a.Concat(b)) t.RequiresGrad = true;
        var fused = FusedLayer(mode, a[0], dirsA(a), a[1], lstm ? a[2] : null, lengths);
        var reference = ReferenceLayer(mode, b[0], dirsB(b), b[1], lstm ? b[2] : null, lengths);
        Expect.Close(reference.ToArray(), fused.Data, 2e-5f, "values");
        var upstream = Tensor.Randn([fused.Length], seed: 7);
        fused.Backward(upstream);
        reference.Backward(upstream);
        for (int i = 0; i < a.Length; i++)
        {
            if (i == 2 && !lstm) continue;
            Assert.NotNull(a[i].Grad);
            Expect.Close(b[i].Grad!.ToArray(), a[i].Grad!.Data, 5e-5f, $"gradient of input {i}");
        }
    }

    [Theory]
    [InlineData(RecurrentMode.Lstm, 2, true)]
    [InlineData(RecurrentMode.Gru, 2, true)]
    [InlineData(RecurrentMode.RnnTanh, 2, false)]
    [InlineData(RecurrentMode.Lstm, 1, false)]
    public void Fused_layer_passes_the_gradient_check(RecurrentMode mode, int D, bool withLengths)
    {
        bool lstm = mode == RecurrentMode.Lstm;
        var (inputs, dirs) = Make(mode, 4, 2, 3, 3, D, true, 300);
        int[]? lengths = withLengths ? [4, 2] : null;
        // A smaller step than the default: tanh over several steps curves enough for O(h²) to show.
        var result = GradCheck.Check(t => FusedLayer(mode, t[0], dirs(t), t[1], lstm ? t[2] : null, lengths), inputs, step: 3e-3f);
        Assert.True(result.Passed, result.ToString());
    }

    // ------------------------------------------------------------ layers and cells

    private static Tensor[] WithParameters(Module m, params Tensor[] inputs) =>
        [.. inputs, .. m.Parameters()];

    [Theory]
    [InlineData("rnn", 2, true, false)]
    [InlineData("rnn-relu", 1, false, true)]
    [InlineData("gru", 2, true, true)]
    [InlineData("lstm", 2, true, true)]
    [InlineData("lstm", 1, false, false)]
    public void Layers_pass_the_gradient_check_with_several_layers_bidirectional_and_lengths(string kind, int layers, bool bidirectional, bool batchFirst)
    {
        var rng = new Random(5);
        RecurrentBase m = kind switch
        {
            "rnn" => new Rnn(3, 4, layers, bidirectional: bidirectional, batchFirst: batchFirst, rng: rng),
            "rnn-relu" => new Rnn(3, 4, layers, "relu", bidirectional: bidirectional, batchFirst: batchFirst, rng: rng),
            "gru" => new Gru(3, 4, layers, bidirectional: bidirectional, batchFirst: batchFirst, rng: rng),
            _ => new Lstm(3, 4, layers, bidirectional: bidirectional, batchFirst: batchFirst, rng: rng),
        };
        int D = bidirectional ? 2 : 1;
        var x = batchFirst ? Tensor.Randn([2, 4, 3], seed: 1) : Tensor.Randn([4, 2, 3], seed: 1);
        var h0 = Tensor.Randn([layers * D, 2, 4], seed: 2) * 0.5f;
        var c0 = Tensor.Randn([layers * D, 2, 4], seed: 3) * 0.5f;
        int[] lengths = [4, 3];
        var inputs = WithParameters(m, x, h0, c0);
        var result = GradCheck.Check(t =>
        {
            if (m is Lstm lstm)
            {
                var (y, h, c) = lstm.Forward(t[0], t[1], t[2], lengths);
                return Ops.Concat([Flat(y), Flat(h), Flat(c)], 0);
            }
            var (y2, h2) = m is Rnn r ? r.Forward(t[0], t[1], lengths) : ((Gru)m).Forward(t[0], t[1], lengths);
            return Ops.Concat([Flat(y2), Flat(h2), Flat(t[2]) * 0f], 0);
        }, inputs);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void Parameters_have_pytorch_names_and_shapes()
    {
        var lstm = new Lstm(5, 7, numLayers: 2, bidirectional: true);
        var names = lstm.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Shape.ToArray());
        Assert.Equal(16, names.Count);
        Assert.Equal([28, 5], names["weight_ih_l0"]);
        Assert.Equal([28, 7], names["weight_hh_l0_reverse"]);
        Assert.Equal([28, 14], names["weight_ih_l1"]);
        Assert.Equal([28], names["bias_hh_l1_reverse"]);
        var gru = new Gru(3, 4);
        Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], gru.NamedParameters().Select(p => p.Name));
        Assert.Equal([12, 3], gru.GetParameter("weight_ih_l0").Shape.ToArray());
        var cell = new LstmCell(3, 2);
        Assert.Equal(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], cell.NamedParameters().Select(p => p.Name));
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("gru")]
    [InlineData("lstm")]
    public void Cells_pass_the_gradient_check_and_equal_one_layer_step(string kind)
    {
        var rng = new Random(9);
        RecurrentCellBase cell = kind switch { "rnn" => new RnnCell(3, 4, rng: rng), "gru" => new GruCell(3, 4, rng: rng), _ => new LstmCell(3, 4, rng: rng) };
        var x = Tensor.Randn([2, 3], seed: 4);
        var h = Tensor.Randn([2, 4], seed: 5) * 0.5f;
        var c = Tensor.Randn([2, 4], seed: 6) * 0.5f;
        Tensor Run(Tensor[] t) => cell switch
        {
            LstmCell l => Ops.Concat([Flat(l.Forward(t[0], t[1], t[2]).H), Flat(l.Forward(t[0], t[1], t[2]).C)], 0),
            RnnCell r => r.Forward(t[0], t[1]) + t[2] * 0f,
            _ => ((GruCell)cell).Forward(t[0], t[1]) + t[2] * 0f,
        };
        var result = GradCheck.Check(Run, WithParameters(cell, x, h, c));
        Assert.True(result.Passed, result.ToString());

        // A cell step equals the first step of the reference composition.
        using var _ = GradMode.NoGrad();
        var (ys, hRef, cRef) = ReferenceDirection(cell.Mode, Ops.Reshape(x, 1, 2, 3), cell.Weights, h, c, null, false);
        var got = cell is LstmCell lc ? lc.Forward(x, h, c).H : cell is RnnCell rc ? rc.Forward(x, h) : ((GruCell)cell).Forward(x, h);
        Expect.Close(hRef.ToArray(), got.Data, 1e-5f, "cell step");
    }

    [Fact]
    public void Padded_steps_do_not_change_the_state_output_zeros_and_get_no_gradient()
    {
        var lstm = new Lstm(2, 3, rng: new Random(1));
        var x = Tensor.Randn([4, 2, 2], seed: 2);
        x.RequiresGrad = true;
        var (y, h, c) = lstm.Forward(x, null, null, [4, 2]);
        // Entry 1 has length 2: its final state is its state after step 1, its later outputs are zero.
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(y[1, 1, j], h[0, 1, j]);
            Assert.Equal(0f, y[2, 1, j]);
            Assert.Equal(0f, y[3, 1, j]);
        }
        (y.Sum() + h.Sum() + c.Sum()).Backward();
        for (int t = 2; t < 4; t++)
            for (int k = 0; k < 2; k++) Assert.Equal(0f, x.Grad![t, 1, k]);
        Assert.NotEqual(0f, x.Grad![3, 0, 0]);
        // The same sequence alone, truncated, gives the same final states.
        var alone = Ops.Narrow(Ops.Narrow(x.Detach(), 1, 1, 1), 0, 0, 2);
        var (_, h1, c1) = lstm.Forward(alone, null, null);
        Expect.Close(h1.ToArray(), Ops.Narrow(h, 1, 1, 1).Data, 1e-6f, "h");
        Expect.Close(c1.ToArray(), Ops.Narrow(c, 1, 1, 1).Data, 1e-6f, "c");
    }

    [Fact]
    public void Bidirectional_reverse_direction_starts_at_each_sequences_last_valid_step()
    {
        var gru = new Gru(2, 3, bidirectional: true, rng: new Random(2));
        var x = Tensor.Randn([5, 2, 2], seed: 3);
        var (y, h) = gru.Forward(x, null, [5, 3]);
        var alone = Ops.Narrow(Ops.Narrow(x, 1, 1, 1), 0, 0, 3);
        var (y1, h1) = gru.Forward(alone, null);
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < 6; j++) Assert.Equal(y1[t, 0, j], y[t, 1, j], 5);
        Expect.Close(h1.ToArray(), Ops.Narrow(h, 1, 1, 1).Data, 1e-6f, "h_n");
    }

    [Fact]
    public void Batch_first_and_unbatched_inputs_agree_with_sequence_first()
    {
        var a = new Lstm(3, 4, numLayers: 2, rng: new Random(3));
        var b = new Lstm(3, 4, numLayers: 2, batchFirst: true, rng: new Random(3));
        var x = Tensor.Randn([5, 2, 3], seed: 4);
        var ya = a.Forward(x);
        var yb = b.Forward(x.Transpose(0, 1));
        Expect.Close(ya.ToArray(), yb.Transpose(0, 1).Data, 1e-6f, "batch first");
        var single = Ops.Reshape(Ops.Narrow(x, 1, 0, 1), 5, 3);
        var (ys, hs, _) = a.Forward(single, null, null);
        Assert.Equal([5, 4], ys.Shape.ToArray());
        Assert.Equal([2, 4], hs.Shape.ToArray());
        Expect.Close(Ops.Narrow(ya, 1, 0, 1).ToArray(), ys.Data, 1e-6f, "unbatched");
    }

    [Fact]
    public void Dropout_between_layers_acts_only_in_training()
    {
        var m = new Gru(3, 8, numLayers: 2, dropout: 0.5f, rng: new Random(4));
        var x = Tensor.Randn([4, 2, 3], seed: 6);
        var t1 = m.Forward(x).ToArray();
        var t2 = m.Forward(x).ToArray();
        Assert.NotEqual(t1, t2);
        m.Eval();
        Assert.Equal(m.Forward(x).ToArray(), m.Forward(x).ToArray());
    }

    [Fact]
    public void Bad_shapes_and_lengths_give_clear_errors()
    {
        var lstm = new Lstm(3, 4);
        var e1 = Assert.Throws<ShapeMismatchException>(() => lstm.Forward(Tensor.Zeros(5, 2, 7)));
        Assert.Contains("Lstm", e1.Message);
        Assert.Throws<ShapeMismatchException>(() => lstm.Forward(Tensor.Zeros(5, 2, 3), Tensor.Zeros(2, 2, 4), null));
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => lstm.Forward(Tensor.Zeros(5, 2, 3), null, null, [6, 1]));
        Assert.Contains("length 6", e2.Message);
        Assert.Throws<ArgumentException>(() => lstm.Forward(Tensor.Zeros(5, 2, 3), null, null, [5]));
        Assert.Throws<ArgumentException>(() => new Rnn(3, 4, nonlinearity: "sigmoid"));
    }

    // ------------------------------------------------------------ the notes' BPTT formulas

    [Fact]
    public void Notes_rnn_backpropagation_through_time_equals_autograd()
    {
        // h_t = tanh(h_{t-1}·W_h + x_t·W_x + b), o_t = h_t·W_o; loss Σ_t Σ r_t ⊙ o_t.
        const int T = 4, m = 3, hs = 5, l = 2;
        var rnn = new Rnn(m, hs, rng: new Random(11));
        var wo = Tensor.Randn([hs, l], seed: 12) * 0.5f;
        wo.RequiresGrad = true;
        var x = Tensor.Randn([T, 1, m], seed: 13);
        x.RequiresGrad = true;
        var r = Tensor.Randn([T, l], seed: 14);
        var y = rnn.Forward(x);                                   // [T,1,H]
        var o = Ops.Reshape(y, T, hs).MatMul(wo);                 // [T,l]
        (o * r).Sum().Backward();

        // The notes' matrices in their x·W orientation: W_x = weight_ihᵀ, W_h = weight_hhᵀ.
        var Wx = rnn.GetParameter("weight_ih_l0").Transpose().ToArray();  // [m, H]
        var Wh = rnn.GetParameter("weight_hh_l0").Transpose().ToArray();  // [H, H]
        var b = (rnn.GetParameter("bias_ih_l0") + rnn.GetParameter("bias_hh_l0")).ToArray();
        var Wo = wo.ToArray();
        var h = new double[T + 1, hs]; // h[t+1] = h_t, h[0] = h_{-1} = 0
        for (int t = 0; t < T; t++)
            for (int j = 0; j < hs; j++)
            {
                double g = b[j];
                for (int k = 0; k < hs; k++) g += h[t, k] * Wh[k * hs + j];
                for (int k = 0; k < m; k++) g += x[t, 0, k] * Wx[k * hs + j];
                h[t + 1, j] = Math.Tanh(g);
            }
        var dWh = new double[hs * hs]; var dWx = new double[m * hs]; var dWo = new double[hs * l]; var db = new double[hs]; var dx = new double[T * m];
        var dgNext = new double[hs];
        for (int t = T - 1; t >= 0; t--)
        {
            var dg = new double[hs];
            for (int j = 0; j < hs; j++)
            {
                // δh_t = δo_t·W_oᵀ + δg_{t+1}·W_hᵀ ;  δg_t = δh_t·(1 − h_t²)
                double dh = 0;
                for (int q = 0; q < l; q++) dh += r[t, q] * Wo[j * l + q];
                for (int k = 0; k < hs; k++) dh += dgNext[k] * Wh[j * hs + k];
                dg[j] = dh * (1 - h[t + 1, j] * h[t + 1, j]);
            }
            for (int j = 0; j < hs; j++)
            {
                db[j] += dg[j];                                                        // δb = Σ δg_t
                for (int k = 0; k < hs; k++) dWh[k * hs + j] += h[t, k] * dg[j];       // δW_h = Σ h_{t−1}ᵀ·δg_t
                for (int k = 0; k < m; k++) dWx[k * hs + j] += x[t, 0, k] * dg[j];     // δW_x = Σ x_tᵀ·δg_t
                for (int q = 0; q < l; q++) dWo[j * l + q] += h[t + 1, j] * r[t, q];   // δW_o = Σ h_tᵀ·δo_t
            }
            for (int k = 0; k < m; k++)
                for (int j = 0; j < hs; j++) dx[t * m + k] += dg[j] * Wx[k * hs + j];  // δx_t = δg_t·W_xᵀ
            dgNext = dg;
        }
        var gWx = rnn.GetParameter("weight_ih_l0").Grad!.Transpose().ToArray();
        var gWh = rnn.GetParameter("weight_hh_l0").Grad!.Transpose().ToArray();
        Expect.Close(dWx.Select(v => (float)v).ToArray(), gWx, 1e-4f, "δW_x");
        Expect.Close(dWh.Select(v => (float)v).ToArray(), gWh, 1e-4f, "δW_h");
        Expect.Close(dWo.Select(v => (float)v).ToArray(), wo.Grad!.Data, 1e-4f, "δW_o");
        Expect.Close(db.Select(v => (float)v).ToArray(), rnn.GetParameter("bias_ih_l0").Grad!.Data, 1e-4f, "δb (input side)");
        Expect.Close(db.Select(v => (float)v).ToArray(), rnn.GetParameter("bias_hh_l0").Grad!.Data, 1e-4f, "δb (hidden side)");
        Expect.Close(dx.Select(v => (float)v).ToArray(), x.Grad!.Data, 1e-4f, "δx");
    }

    // ------------------------------------------------------------ highway and embedding

    [Fact]
    public void Highway_follows_the_notes_formula_starts_with_a_small_gate_and_passes_the_gradient_check()
    {
        var hw = new Highway(4, rng: new Random(3));
        var x = Tensor.Randn([3, 4], seed: 8);
        var y = hw.Forward(x);
        using (GradMode.NoGrad())
        {
            var t = Ops.Linear(x, hw.GateWeight, hw.GateBiasParameter).Sigmoid();
            var expected = Ops.Linear(x, hw.Weight, hw.Bias) * t + x * (1f - t);
            Expect.Close(expected.ToArray(), y.Data, 1e-5f, "formula");
            Assert.All(t.ToArray(), v => Assert.True(v < 0.3f, $"gate {v} should start small"));
        }
        var r = GradCheck.Check(ts => hw.Forward(ts[0]), WithParameters(hw, Tensor.Randn([2, 3, 4], seed: 9)));
        Assert.True(r.Passed, r.ToString());
    }

    [Fact]
    public void Embedding_looks_up_rows_and_skips_the_padding_index_in_backward()
    {
        var e = new Embedding(5, 3, paddingIndex: 0, rng: new Random(1));
        Assert.All(e.Weight.ToArray().Take(3), v => Assert.Equal(0f, v));
        var y = e.Forward(Tensor.FromArray([1f, 0f, 4f, 1f], 2, 2));
        Assert.Equal([2, 2, 3], y.Shape.ToArray());
        Expect.Close(e.Weight.ToArray().Skip(12).Take(3).ToArray(), Ops.Narrow(Ops.Reshape(y, 4, 3), 0, 2, 1).Data, 0f, "row 4");
        (y * Tensor.Randn([2, 2, 3], seed: 2)).Sum().Backward();
        Assert.All(e.Weight.Grad!.ToArray().Take(3), v => Assert.Equal(0f, v));
        var r = GradCheck.Check(t => Ops.Embedding(t[0], [1, 2, 1, 3], [2, 2]), [Tensor.Randn([4, 3], seed: 3)]);
        Assert.True(r.Passed, r.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => e.Forward([5]));
        Assert.Throws<ArgumentException>(() => e.Forward(Tensor.FromArray([1.5f])));
    }
}
