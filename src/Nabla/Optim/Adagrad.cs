using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Adagrad in PyTorch's form: every weight gets its own step size, shrinking with the sum of its
/// squared gradients. With g ← ∇ + λw (weight decay) and t the step number:
/// η_t = η / (1 + (t − 1)·decay);  s ← s + g²;  w ← w − η_t · g / (√s + ε).
/// The sum s starts at <see cref="InitialAccumulatorValue"/>.
/// </summary>
public sealed class Adagrad : Optimizer
{
    private readonly ScratchBuffer denominator = new();

    /// <summary>Creates the optimiser (PyTorch's defaults: η = 0.01, ε = 1e-10).</summary>
    public Adagrad(IEnumerable<Parameter> parameters, float learningRate = 0.01f, float learningRateDecay = 0f,
        float weightDecay = 0f, float initialAccumulatorValue = 0f, float epsilon = 1e-10f)
        : base(parameters, learningRate)
    {
        RequireNonNegative(learningRateDecay, "learning-rate decay", nameof(learningRateDecay));
        RequireNonNegative(weightDecay, "weight decay", nameof(weightDecay));
        RequireNonNegative(initialAccumulatorValue, "initial accumulator value", nameof(initialAccumulatorValue));
        RequireNonNegative(epsilon, "epsilon", nameof(epsilon));
        LearningRateDecay = learningRateDecay;
        WeightDecay = weightDecay;
        InitialAccumulatorValue = initialAccumulatorValue;
        Epsilon = epsilon;
    }

    /// <summary>Decay of the learning rate per step (0: none).</summary>
    public float LearningRateDecay { get; }

    /// <summary>L2 weight decay λ, added to the gradient.</summary>
    public float WeightDecay { get; }

    /// <summary>The value the sum of squared gradients starts from.</summary>
    public float InitialAccumulatorValue { get; }

    /// <summary>ε, added to the root of the sum for numerical safety.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        ReadOnlySpan<float> g = WithWeightDecay(index, w, grad, WeightDecay);
        bool first = !HasState(index, "sum");
        var sum = State(index, "sum");
        if (first && InitialAccumulatorValue != 0f) sum.AsSpan().Fill(InitialAccumulatorValue);
        float lr = LearningRate / (1f + (StepCount - 1) * LearningRateDecay);

        var d = denominator.Get(w.Length);
        Kernels.ParallelElementwise.Multiply(g, g, d);
        Kernels.ParallelElementwise.Add(sum, d, sum);          // s ← s + g²
        Kernels.ParallelElementwise.Sqrt(sum, d);
        Kernels.ParallelElementwise.Add(d, Epsilon, d);        // √s + ε
        Kernels.ParallelElementwise.Divide(g, d, d);
        Kernels.ParallelElementwise.MultiplyAdd(d, -lr, w, w); // w ← w − η_t g / (√s + ε)
    }
}
