using System.Numerics.Tensors;
using Nabla.Kernels;

namespace Nabla;

// The elementwise part of one time step (the cells between the per-step GEMMs), split by batch rows
// across the worker threads. On one thread it was serial work between two parallel GEMMs, about a
// tenth of an LSTM step (session 8 profile). Each row's values do not depend on the split (the
// kernels are row-local and FastMath's lanes agree with its scalar path), so results are the same
// bits on any number of threads.
public static partial class Ops
{
    /// <summary>The fewest (row × hidden) elements a chunk of a step gets: below that the hand-out (about a microsecond) costs more than the split saves.</summary>
    internal const int MinStepChunkElements = 2048;

    private static int StepChunks(int B, int H) => Math.Clamp(Math.Min(WorkerPool.Threads, B * H / MinStepChunkElements), 1, B);

    private static void RunRows<TBody>(int chunks, TBody body) where TBody : struct, IParallelForBody
    {
        if (chunks == 1) body.Invoke(0);
        else WorkerPool.ParallelFor(chunks, body);
    }

    /// <summary>One forward step's cells for rows [chunk·PerChunk, …): activations, state update, output row.</summary>
    private unsafe struct ForwardRows : IParallelForBody
    {
        public RecurrentMode Mode;
        public int B, H, GH, DH, Dir, Step, PerChunk;
        /// <summary>This step's gates [B, G·H]; GRU's hidden-side gates; states before and after; LSTM cells before and after and tanh(c); the output [T, B, D·H].</summary>
        public float* Gates, HiddenGates, HPrev, HNew, CPrev, CNew, TanhC, Y;
        public int[]? Lengths;

        public readonly void Invoke(int chunk)
        {
            int b0 = chunk * PerChunk, n = Math.Min(PerChunk, B - b0);
            if (n <= 0) return;
            bool lstm = Mode == RecurrentMode.Lstm;
            if (lstm)
            {
                // The chunk's rows at once; padded rows are computed too and then reset to the carried state.
                RecurrentKernels.LstmForwardStep(new Span<float>(Gates + (nint)b0 * GH, n * GH), new ReadOnlySpan<float>(CPrev + (nint)b0 * H, n * H),
                    new Span<float>(CNew + (nint)b0 * H, n * H), new Span<float>(TanhC + (nint)b0 * H, n * H), new Span<float>(HNew + (nint)b0 * H, n * H), n, H);
            }
            for (int b = b0; b < b0 + n; b++)
            {
                var hp = new Span<float>(HPrev + (nint)b * H, H);
                var hn = new Span<float>(HNew + (nint)b * H, H);
                if (Lengths is not null && Step >= Lengths[b])
                {
                    hp.CopyTo(hn);
                    if (lstm) new Span<float>(CPrev + (nint)b * H, H).CopyTo(new Span<float>(CNew + (nint)b * H, H));
                    continue;
                }
                if (Mode == RecurrentMode.Gru) RecurrentKernels.GruForward(new Span<float>(Gates + (nint)b * GH, GH), new ReadOnlySpan<float>(HiddenGates + (nint)b * GH, GH), hp, hn);
                else if (!lstm) RecurrentKernels.RnnForward(new Span<float>(Gates + (nint)b * GH, GH), hn, Mode == RecurrentMode.RnnRelu);
                hn.CopyTo(new Span<float>(Y + ((nint)Step * B + b) * DH + Dir * H, H));
            }
        }
    }

    /// <summary>One backward step's cells for rows [chunk·PerChunk, …): the gate gradients and the carried state gradients.</summary>
    private unsafe struct BackwardRows : IParallelForBody
    {
        public RecurrentMode Mode;
        public int B, H, GH, DH, Dir, Step, Prev, Next, PerChunk;
        /// <summary>Saved gates, GRU's hidden-side gates, LSTM cells and tanh(c), states (all steps); the output gradient; the gate gradients; the carried dh and dc; a [B, H] scratch for dh's total.</summary>
        public float* Gates, HiddenGates, Cells, TanhCells, States, Gy, DG, DGh, Dh, Dc, DhTotal;
        public int[]? Lengths;

        public readonly void Invoke(int chunk)
        {
            int b0 = chunk * PerChunk, end = Math.Min(B, b0 + PerChunk), t = Step;
            nint BH = (nint)B * H;
            for (int b = b0; b < end; b++)
            {
                nint gOff = ((nint)t * B + b) * GH;
                if (Lengths is not null && t >= Lengths[b])
                {
                    // A padded step passes the state gradients through untouched.
                    new Span<float>(DG + gOff, GH).Clear();
                    if (Mode == RecurrentMode.Gru) new Span<float>(DGh + gOff, GH).Clear();
                    continue;
                }
                var dhb = new Span<float>(Dh + (nint)b * H, H);
                var dhTotal = new Span<float>(DhTotal + (nint)b * H, H);
                TensorPrimitives.Add(dhb, new ReadOnlySpan<float>(Gy + ((nint)t * B + b) * DH + Dir * H, H), dhTotal);
                switch (Mode)
                {
                    case RecurrentMode.Lstm:
                        RecurrentKernels.LstmBackward(new ReadOnlySpan<float>(Gates + gOff, GH), new ReadOnlySpan<float>(Cells + Prev * BH + (nint)b * H, H),
                            new ReadOnlySpan<float>(TanhCells + t * BH + (nint)b * H, H), dhTotal, new Span<float>(Dc + (nint)b * H, H), new Span<float>(DG + gOff, GH));
                        dhb.Clear();
                        break;
                    case RecurrentMode.Gru:
                        RecurrentKernels.GruBackward(new ReadOnlySpan<float>(Gates + gOff, GH), new ReadOnlySpan<float>(HiddenGates + gOff, GH),
                            new ReadOnlySpan<float>(States + Prev * BH + (nint)b * H, H), dhTotal, new Span<float>(DG + gOff, GH), new Span<float>(DGh + gOff, GH), dhb);
                        break;
                    default:
                        RecurrentKernels.RnnBackward(new ReadOnlySpan<float>(States + Next * BH + (nint)b * H, H), dhTotal, new Span<float>(DG + gOff, GH), Mode == RecurrentMode.RnnRelu);
                        dhb.Clear();
                        break;
                }
            }
        }
    }
}
