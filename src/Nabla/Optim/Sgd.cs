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
