using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Stochastic gradient descent in PyTorch's form: g ← ∇ + λw (weight decay); with momentum μ,
/// b ← μb + g, and the step uses b (or g + μb with Nesterov); w ← w − η·step.
/// Full-batch gradient descent is this with a batch holding the whole data set.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimiser.</summary>
    public Sgd(IEnumerable<Parameter> parameters, float learningRate, float momentum = 0f, bool nesterov = false, float weightDecay = 0f)
        : base(parameters, learningRate)
    {
        RequireNonNegative(momentum, "momentum", nameof(momentum));
        if (nesterov && momentum == 0f) throw new ArgumentException("Sgd: Nesterov momentum needs momentum > 0.");
        RequireNonNegative(weightDecay, "weight decay", nameof(weightDecay));
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    /// <summary>Momentum factor μ.</summary>
    public float Momentum { get; }

    /// <summary>Whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 weight decay λ.</summary>
    public float WeightDecay { get; }

    private protected override bool StepAllAtOnce()
    {
        if (WeightDecay != 0f || Nesterov) return false;
        var job = stepJob ??= new SgdJob(Parameters.Count);
        job.Clear();
        job.Momentum = Momentum;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null || !p.RequiresGrad) continue; // as Step: frozen parameters keep their values
            int k = job.Add(p);
            job.First[k] = Momentum != 0f && !HasState(i, "momentum");
            job.Buffers[k] = Momentum != 0f ? State(i, "momentum") : null;
            job.Rates[k] = LearningRateOf(i);
        }
        job.Run();
        return true;
    }

    private SgdJob? stepJob;

    // The fused step over parts of every parameter, with the operations of Update in the same order.
    private sealed class SgdJob(int capacity) : ParameterStepJob(capacity)
    {
        public readonly float[]?[] Buffers = new float[]?[capacity];
        public readonly bool[] First = new bool[capacity];
        public readonly float[] Rates = new float[capacity];
        public float Momentum;

        public override void Invoke(int s, int start, int length)
        {
            // Block by block, so that the momentum buffer the first operation writes is still in L1 when
            // the second reads it (one pass over memory instead of two).
            for (int at = start, end = start + length; at < end; at += Block)
                Update(s, at, Math.Min(Block, end - at));
        }

        private const int Block = 2048;

        private void Update(int s, int start, int length)
        {
            Span<float> w = Weights[s]!.Data.Slice(start, length);
            ReadOnlySpan<float> g = Grads[s]!.Data.Slice(start, length);
            if (Buffers[s] is float[] buffer)
            {
                Span<float> buf = buffer.AsSpan(start, length);
                // PyTorch: the first step initialises the buffer with the gradient itself.
                if (First[s]) g.CopyTo(buf);
                else System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(buf, Momentum, g, buf);
                g = buf;
            }
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(g, -Rates[s], w, w);
        }

        protected override void Release()
        {
            base.Release();
            Array.Clear(Buffers);
        }
    }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        ReadOnlySpan<float> g = WithWeightDecay(index, w, grad, WeightDecay);
        if (Momentum != 0f)
        {
            bool first = !HasState(index, "momentum");
            var buf = State(index, "momentum");
            // PyTorch: the first step initialises the buffer with the gradient itself.
            if (first) g.CopyTo(buf);
            else Kernels.ParallelElementwise.MultiplyAdd(buf, Momentum, g, buf);
            if (Nesterov)
            {
                var step = Scratch(index);
                Kernels.ParallelElementwise.MultiplyAdd(buf, Momentum, g, step);
                Kernels.ParallelElementwise.MultiplyAdd(step, -LearningRate, w, w);
                return;
            }
            g = buf;
        }
        Kernels.ParallelElementwise.MultiplyAdd(g, -LearningRate, w, w);
    }
}
