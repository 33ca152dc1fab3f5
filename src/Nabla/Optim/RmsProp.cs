using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// RMSProp in PyTorch's form. With g ← ∇ + λw (weight decay):
/// v ← αv + (1 − α)g²; the denominator is d = √v + ε, or, when <see cref="Centered"/>, with the
/// running mean of the gradient ḡ ← αḡ + (1 − α)g, d = √(v − ḡ²) + ε (an estimate of the
/// variance instead of the second moment). Without momentum w ← w − η g/d; with momentum μ,
/// b ← μb + g/d and w ← w − η b.
/// </summary>
public sealed class RmsProp : Optimizer
{
    private readonly ScratchBuffer second = new();

    /// <summary>Creates the optimiser (PyTorch's defaults: η = 0.01, α = 0.99, ε = 1e-8).</summary>
    public RmsProp(IEnumerable<Parameter> parameters, float learningRate = 0.01f, float alpha = 0.99f, float epsilon = 1e-8f,
        float weightDecay = 0f, float momentum = 0f, bool centered = false)
        : base(parameters, learningRate)
    {
        if (!(alpha >= 0f && alpha < 1f)) throw new ArgumentOutOfRangeException(nameof(alpha), $"RmsProp: smoothing constant α = {alpha} must be in [0, 1).");
        RequireNonNegative(epsilon, "epsilon", nameof(epsilon));
        RequireNonNegative(weightDecay, "weight decay", nameof(weightDecay));
        RequireNonNegative(momentum, "momentum", nameof(momentum));
        Alpha = alpha;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Momentum = momentum;
        Centered = centered;
    }

    /// <summary>Smoothing constant α of the running averages.</summary>
    public float Alpha { get; }

    /// <summary>ε, added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>L2 weight decay λ, added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>Momentum factor μ (0: none).</summary>
    public float Momentum { get; }

    /// <summary>Whether the gradient is normalised by an estimate of its variance rather than its second moment.</summary>
    public bool Centered { get; }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        ReadOnlySpan<float> g = WithWeightDecay(index, w, grad, WeightDecay);
        var squareAvg = State(index, "square_avg");
        var d = second.Get(w.Length);
        Kernels.ParallelElementwise.Multiply(g, g, d);
        Kernels.ParallelElementwise.Multiply(squareAvg, Alpha, squareAvg);
        Kernels.ParallelElementwise.MultiplyAdd(d, 1f - Alpha, squareAvg, squareAvg); // v ← αv + (1−α)g²
        if (Centered)
        {
            var gradAvg = State(index, "grad_avg");
            Kernels.ParallelElementwise.Lerp(gradAvg, g, 1f - Alpha, gradAvg);         // ḡ ← αḡ + (1−α)g
            Kernels.ParallelElementwise.Multiply(gradAvg, gradAvg, d);
            Kernels.ParallelElementwise.Subtract(squareAvg, d, d);
            // v ≥ ḡ² holds in exact arithmetic; rounding must not turn it into the root of a negative.
            Kernels.ParallelElementwise.Max(d, 0f, d);
            Kernels.ParallelElementwise.Sqrt(d, d);
        }
        else
        {
            Kernels.ParallelElementwise.Sqrt(squareAvg, d);
        }
        Kernels.ParallelElementwise.Add(d, Epsilon, d);
        Kernels.ParallelElementwise.Divide(g, d, d);                                   // g / d
        if (Momentum != 0f)
        {
            var buf = State(index, "momentum");
            Kernels.ParallelElementwise.MultiplyAdd(buf, Momentum, d, buf);            // b ← μb + g/d
            Kernels.ParallelElementwise.MultiplyAdd(buf, -LearningRate, w, w);
        }
        else
        {
            Kernels.ParallelElementwise.MultiplyAdd(d, -LearningRate, w, w);
        }
    }
}
