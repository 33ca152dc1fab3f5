using System.Numerics.Tensors;
using Nabla.Autograd;
using Nabla.Kernels;

namespace Nabla;

/// <summary>The cell a recurrent layer runs.</summary>
public enum RecurrentMode
{
    /// <summary>h = tanh(x·Wᵢₕᵀ + bᵢₕ + h₋₁·Wₕₕᵀ + bₕₕ).</summary>
    RnnTanh,
    /// <summary>h = relu(x·Wᵢₕᵀ + bᵢₕ + h₋₁·Wₕₕᵀ + bₕₕ).</summary>
    RnnRelu,
    /// <summary>Long short-term memory, gates i, f, g, o (PyTorch's order).</summary>
    Lstm,
    /// <summary>Gated recurrent unit, gates r, z, n, the reset gate applied to the hidden projection (PyTorch's form).</summary>
    Gru,
}

/// <summary>
/// The weights of one direction of one recurrent layer in PyTorch's gate-stacked layout:
/// <c>weight_ih</c> [G·H, I], <c>weight_hh</c> [G·H, H], <c>bias_ih</c> and <c>bias_hh</c> [G·H]
/// (G = 1 for RNN, 3 for GRU, 4 for LSTM).
/// </summary>
/// <param name="WeightIh">Input-to-hidden weights [G·H, I].</param>
/// <param name="WeightHh">Hidden-to-hidden weights [G·H, H].</param>
/// <param name="BiasIh">Input-side bias [G·H], or null.</param>
/// <param name="BiasHh">Hidden-side bias [G·H], or null.</param>
public sealed record RecurrentWeights(Tensor WeightIh, Tensor WeightHh, Tensor? BiasIh, Tensor? BiasHh);

public static partial class Ops
{
    /// <summary>Gates stacked in a recurrent weight: 1 (RNN), 3 (GRU) or 4 (LSTM).</summary>
    public static int GateCount(RecurrentMode mode) => mode switch { RecurrentMode.Lstm => 4, RecurrentMode.Gru => 3, _ => 1 };

    /// <summary>
    /// One recurrent layer over a whole sequence, one or two directions (the second runs
    /// backwards in time), as a single op.
    /// </summary>
    /// <param name="mode">The cell.</param>
    /// <param name="x">Input [T, B, I] (sequence first).</param>
    /// <param name="directions">Weights of the forward direction and, for a bidirectional layer, the reverse one.</param>
    /// <param name="h0">Initial hidden states [D, B, H], or null for zeros.</param>
    /// <param name="c0">Initial LSTM cell states [D, B, H], or null for zeros (LSTM only).</param>
    /// <param name="lengths">Valid steps per batch entry (each in [0, T]), or null when all are T.
    /// Steps at or past a sequence's length leave its state unchanged, output zeros and receive no gradient;
    /// the reverse direction starts at each sequence's last valid step.</param>
    /// <returns>Output [T, B, D·H] (directions concatenated on the feature axis), the final hidden
    /// states [D, B, H] and, for LSTM, the final cell states [D, B, H].</returns>
    /// <remarks>
    /// Speed: per direction, one GEMM computes the input projection of all steps (biases pre-filled),
    /// each step adds h₋₁·Wₕₕᵀ into the same gate buffer with one small GEMM and finishes with one
    /// fused elementwise pass per row. Backward runs the steps in reverse with one GEMM per step for
    /// the hidden-state gradient, then computes dWᵢₕ, dWₕₕ and dx as single GEMMs over all steps.
    /// Every buffer comes from the active <see cref="TensorArena"/>, so steady-state training does
    /// not allocate. The final states are separate autograd nodes whose gradients feed the same
    /// backward pass.
    /// </remarks>
    public static (Tensor Output, Tensor H, Tensor? C) RecurrentLayer(RecurrentMode mode, Tensor x, IReadOnlyList<RecurrentWeights> directions,
        Tensor? h0 = null, Tensor? c0 = null, int[]? lengths = null)
    {
        string op = mode.ToString();
        if (directions is null || directions.Count is < 1 or > 2)
            throw new ArgumentException($"{op}: one or two directions of weights are needed.");
        if (x.Rank != 3) throw new ShapeMismatchException(op, x.Shape, null, "expects input [T, B, features]");
        int T = x.Shape[0], B = x.Shape[1], I = x.Shape[2], D = directions.Count;
        int G = GateCount(mode), H = directions[0].WeightHh.Rank == 2 ? directions[0].WeightHh.Shape[1] : 0, GH = G * H;
        bool lstm = mode == RecurrentMode.Lstm, gru = mode == RecurrentMode.Gru;
        foreach (var w in directions)
        {
            if (w.WeightIh.Rank != 2 || w.WeightIh.Shape[0] != GH || w.WeightIh.Shape[1] != I)
                throw new ShapeMismatchException(op, x.Shape, w.WeightIh.Shape, $"weight_ih must be [{GH}, {I}] for this input");
            if (w.WeightHh.Rank != 2 || w.WeightHh.Shape[0] != GH || w.WeightHh.Shape[1] != H)
                throw new ShapeMismatchException(op, w.WeightIh.Shape, w.WeightHh.Shape, $"weight_hh must be [{GH}, {H}]");
            if (w.BiasIh is { } bi && (bi.Rank != 1 || bi.Shape[0] != GH)) throw new ShapeMismatchException(op, w.WeightIh.Shape, bi.Shape, $"bias_ih must be [{GH}]");
            if (w.BiasHh is { } bh && (bh.Rank != 1 || bh.Shape[0] != GH)) throw new ShapeMismatchException(op, w.WeightIh.Shape, bh.Shape, $"bias_hh must be [{GH}]");
        }
        if (H < 1) throw new ArgumentException($"{op}: hidden size must be positive.");
        if (T < 1 || B < 1) throw new ShapeMismatchException(op, x.Shape, null, "needs at least one step and one batch entry");
        var stateShape = new Shape(D, B, H);
        if (h0 is not null && h0.Shape != stateShape) throw new ShapeMismatchException(op, stateShape, h0.Shape, "initial hidden state must be [directions·layers, B, H]");
        if (c0 is not null && !lstm) throw new ArgumentException($"{op}: only an LSTM takes an initial cell state.");
        if (c0 is not null && c0.Shape != stateShape) throw new ShapeMismatchException(op, stateShape, c0.Shape, "initial cell state must be [directions·layers, B, H]");
        if (lengths is not null)
        {
            if (lengths.Length != B) throw new ArgumentException($"{op}: {lengths.Length} lengths given for a batch of {B}.");
            for (int b = 0; b < B; b++)
                if ((uint)lengths[b] > (uint)T) throw new ArgumentOutOfRangeException(nameof(lengths), $"{op}: length {lengths[b]} of batch entry {b} is outside [0, {T}].");
        }

        int BH = B * H, DH = D * H;
        var y = new Tensor(new Shape(T, B, DH)); // zeroed: padded steps output 0
        var hN = Tensor.Uninitialized(stateShape);
        var cN = lstm ? Tensor.Uninitialized(stateShape) : null;
        var saved = new DirectionState[D];
        var xd = x.Data;
        for (int d = 0; d < D; d++)
        {
            var w = directions[d];
            bool reverse = d == 1;
            var s = new DirectionState
            {
                Gates = TensorArena.Allocate(T * B * GH, clear: false),
                States = TensorArena.Allocate((T + 1) * BH, clear: false),
                Cells = lstm ? TensorArena.Allocate((T + 1) * BH, clear: false) : null,
                TanhCells = lstm ? TensorArena.Allocate(T * BH, clear: false) : null,
                HiddenGates = gru ? TensorArena.Allocate(T * B * GH, clear: false) : null,
            };
            saved[d] = s;
            // Input projection of every step in one GEMM, on top of the biases.
            var bias = TensorArena.Allocate(GH);
            if (w.BiasIh is { } bih) TensorPrimitives.Add(bias, bih.Data, bias);
            if (!gru && w.BiasHh is { } bhh0) TensorPrimitives.Add(bias, bhh0.Data, bias);
            bool anyBias = w.BiasIh is not null || (!gru && w.BiasHh is not null);
            var gates = s.Gates.AsSpan();
            if (anyBias) for (int r = 0; r < T * B; r++) bias.AsSpan(0, GH).CopyTo(gates.Slice(r * GH, GH));
            Gemm.Sgemm(false, true, T * B, GH, I, 1f, xd, I, w.WeightIh.Data, I, anyBias ? 1f : 0f, gates, GH);

            int start = reverse ? T : 0;
            var states = s.States.AsSpan();
            if (h0 is null) states.Slice(start * BH, BH).Clear(); else h0.Data.Slice(d * BH, BH).CopyTo(states.Slice(start * BH, BH));
            if (lstm)
            {
                var cs = s.Cells.AsSpan();
                if (c0 is null) cs.Slice(start * BH, BH).Clear(); else c0.Data.Slice(d * BH, BH).CopyTo(cs.Slice(start * BH, BH));
            }
            // Wₕₕ is the same at every step: packed for the kernel once, not T times.
            var packedHh = Gemm.PackB(transB: true, H, GH, w.WeightHh.Data, H, m: B);
            for (int step = 0; step < T; step++)
            {
                int t = reverse ? T - 1 - step : step;
                int prev = reverse ? t + 1 : t, next = reverse ? t : t + 1;
                var hPrev = states.Slice(prev * BH, BH);
                var hNew = states.Slice(next * BH, BH);
                var gt = gates.Slice(t * B * GH, B * GH);
                Span<float> hg = default;
                if (gru)
                {
                    hg = s.HiddenGates.AsSpan(t * B * GH, B * GH);
                    if (w.BiasHh is { } bhh) for (int b = 0; b < B; b++) bhh.Data.CopyTo(hg.Slice(b * GH, GH));
                    Gemm.SgemmPacked(false, true, B, GH, H, 1f, hPrev, H, w.WeightHh.Data, H, w.BiasHh is null ? 0f : 1f, hg, GH, packedHh);
                }
                else Gemm.SgemmPacked(false, true, B, GH, H, 1f, hPrev, H, w.WeightHh.Data, H, 1f, gt, GH, packedHh);
                unsafe
                {
                    fixed (float* pg = gt, phg = hg, pHp = hPrev, pHn = hNew, pc = s.Cells, ptc = s.TanhCells, py = y.Data)
                    {
                        var rows = new ForwardRows
                        {
                            Mode = mode, B = B, H = H, GH = GH, DH = DH, Dir = d, Step = t, Lengths = lengths,
                            Gates = pg, HiddenGates = phg, HPrev = pHp, HNew = pHn, Y = py,
                            CPrev = lstm ? pc + (nint)prev * BH : null, CNew = lstm ? pc + (nint)next * BH : null, TanhC = lstm ? ptc + (nint)t * BH : null,
                        };
                        int chunks = StepChunks(B, H);
                        rows.PerChunk = (B + chunks - 1) / chunks;
                        RunRows(chunks, rows);
                    }
                }
            }
            int end = reverse ? 0 : T;
            states.Slice(end * BH, BH).CopyTo(hN.Data.Slice(d * BH, BH));
            if (lstm) s.Cells.AsSpan(end * BH, BH).CopyTo(cN!.Data.Slice(d * BH, BH));
        }

        var parents = new List<Tensor> { x };
        if (h0 is not null) parents.Add(h0);
        if (c0 is not null) parents.Add(c0);
        foreach (var w in directions)
        {
            parents.Add(w.WeightIh); parents.Add(w.WeightHh);
            if (w.BiasIh is not null) parents.Add(w.BiasIh);
            if (w.BiasHh is not null) parents.Add(w.BiasHh);
        }
        if (!GradMode.IsEnabled || !parents.Any(p => p.RequiresGrad)) return (y, hN, cN);

        // The final states are nodes of their own whose parent is the output: their backward
        // only hands the gradient over, and the output's backward (which runs after them) uses it.
        Tensor? dhN = null, dcN = null;
        Graph.Record(y, op, parents.ToArray(), gy =>
        {
            for (int d = 0; d < D; d++)
                BackwardDirection(mode, d, saved[d], directions[d], x, h0, c0, lengths, gy.Data, dhN, dcN, T, B, I, H, D);
            dhN = null;
            dcN = null;
        });
        Graph.Record(hN, op + ".h_n", [y], g => { dhN = g; y.GradBuffer(); });
        if (cN is not null) Graph.Record(cN, op + ".c_n", [y], g => { dcN = g; y.GradBuffer(); });
        return (y, hN, cN);
    }

    private sealed class DirectionState
    {
        public float[] Gates = null!;
        public float[] States = null!;
        public float[]? Cells, TanhCells, HiddenGates;
    }

    private static void BackwardDirection(RecurrentMode mode, int d, DirectionState s, RecurrentWeights w, Tensor x, Tensor? h0, Tensor? c0,
        int[]? lengths, ReadOnlySpan<float> gy, Tensor? dhN, Tensor? dcN, int T, int B, int I, int H, int D)
    {
        int G = GateCount(mode), GH = G * H, BH = B * H, DH = D * H;
        bool lstm = mode == RecurrentMode.Lstm, gru = mode == RecurrentMode.Gru, reverse = d == 1;
        var dG = TensorArena.Allocate(T * B * GH, clear: false);
        var dGh = gru ? TensorArena.Allocate(T * B * GH, clear: false) : dG;
        var dh = TensorArena.Allocate(BH);
        var dc = lstm ? TensorArena.Allocate(BH) : null;
        var dhTotal = TensorArena.Allocate(BH, clear: false); // a row per batch entry: the rows run in parallel
        if (dhN is not null) dhN.Data.Slice(d * BH, BH).CopyTo(dh);
        if (dcN is not null && dc is not null) dcN.Data.Slice(d * BH, BH).CopyTo(dc);
        var states = s.States.AsSpan();
        var packedHh = Gemm.PackB(transB: false, GH, H, w.WeightHh.Data, H, m: B); // once, not at every step
        for (int step = T - 1; step >= 0; step--)
        {
            int t = reverse ? T - 1 - step : step;
            int prev = reverse ? t + 1 : t, next = reverse ? t : t + 1;
            unsafe
            {
                fixed (float* pg = s.Gates, phg = s.HiddenGates, pc = s.Cells, ptc = s.TanhCells, pst = states, pgy = gy, pdg = dG, pdgh = dGh, pdh = dh, pdc = dc, ptot = dhTotal)
                {
                    var cells = new BackwardRows
                    {
                        Mode = mode, B = B, H = H, GH = GH, DH = DH, Dir = d, Step = t, Prev = prev, Next = next, Lengths = lengths,
                        Gates = pg, HiddenGates = phg, Cells = pc, TanhCells = ptc, States = pst, Gy = pgy, DG = pdg, DGh = pdgh, Dh = pdh, Dc = pdc, DhTotal = ptot,
                    };
                    int chunks = StepChunks(B, H);
                    cells.PerChunk = (B + chunks - 1) / chunks;
                    RunRows(chunks, cells);
                }
            }
            // dh₋₁ += dGₜ·Wₕₕ (padded rows of dGₜ are zero, so their dh passes through unchanged).
            Gemm.SgemmPacked(false, false, B, H, GH, 1f, dGh.AsSpan(t * B * GH, B * GH), GH, w.WeightHh.Data, H, 1f, dh, H, packedHh);
        }
        if (h0 is not null && h0.RequiresGrad) AddInPlace(h0.GradBuffer().Data.Slice(d * BH, BH), dh);
        if (c0 is not null && c0.RequiresGrad) AddInPlace(c0.GradBuffer().Data.Slice(d * BH, BH), dc);

        // Weight gradients over all steps at once: dWᵢₕ = dGᵀ·X, dWₕₕ = dGₕᵀ·H₋₁ (the states that
        // entered each step lie contiguously: slots 0..T−1 forward, 1..T in reverse), dX = dG·Wᵢₕ.
        int rows = T * B;
        if (w.WeightIh.RequiresGrad)
        {
            // As dWᵢₕᵀ = Xᵀ·dG ([I, G·H], wide) and then transposed in: with I small (28 features)
            // the [G·H, I] product is a narrow output that GEMM handles poorly.
            var dwt = TensorArena.Allocate(I * GH);
            Gemm.Sgemm(true, false, I, GH, rows, 1f, x.Data, I, dG, GH, 0f, dwt, GH);
            var dw = w.WeightIh.GradBuffer().Data;
            for (int g = 0; g < GH; g++)
                for (int i = 0; i < I; i++) dw[g * I + i] += dwt[i * GH + g];
        }
        if (w.WeightHh.RequiresGrad)
            Gemm.Sgemm(true, false, GH, H, rows, 1f, dGh, GH, states.Slice(reverse ? BH : 0, rows * H), H, 1f, w.WeightHh.GradBuffer().Data, H);
        if (x.RequiresGrad) Gemm.Sgemm(false, false, rows, I, GH, 1f, dG, GH, w.WeightIh.Data, I, 1f, x.GradBuffer().Data, I);
        bool needBi = w.BiasIh is { RequiresGrad: true }, needBh = w.BiasHh is { RequiresGrad: true };
        if (needBi || needBh)
        {
            // Bias gradients are column sums over all steps, added row by row into one G·H row that
            // stays in L1 (a GEMV with a row of ones took 5 % of a GRU step in perf, session 8).
            var db = TensorArena.Allocate(GH);
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, dG.AsSpan(r * GH, GH), db);
            if (needBi) AddInPlace(w.BiasIh!.GradBuffer().Data, db);
            if (needBh)
            {
                // Without a GRU the hidden-side gate gradients are the input side's; with one they
                // differ only in the n block (dn⊙r).
                if (gru)
                {
                    var dn = db.AsSpan(2 * H, H);
                    dn.Clear();
                    for (int r = 0; r < rows; r++) TensorPrimitives.Add(dn, dGh.AsSpan(r * GH + 2 * H, H), dn);
                }
                AddInPlace(w.BiasHh!.GradBuffer().Data, db);
            }
        }
    }

}
