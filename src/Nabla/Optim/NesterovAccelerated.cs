using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// The notes' accelerated gradient method (Nesterov, in Tibshirani's variant), with w⁽⁻¹⁾ = w⁽⁰⁾:
/// <code>
/// for k = 1, 2, …
///     v⁽ᵏ⁾ = w⁽ᵏ⁻¹⁾ + (k − 2)/(k + 1) · (w⁽ᵏ⁻¹⁾ − w⁽ᵏ⁻²⁾)
///     w⁽ᵏ⁾ = v⁽ᵏ⁾ − α ∇l(v⁽ᵏ⁾)
/// </code>
/// The gradient is taken at the look-ahead point v, not at the current weights, so a step has
/// three parts:
/// <list type="number">
/// <item><see cref="PrepareLookahead"/> (or <see cref="BeforeForward"/>, which a training loop calls
/// before the forward pass) remembers w⁽ᵏ⁻¹⁾ and moves the weights to v⁽ᵏ⁾;</item>
/// <item>the forward pass and <c>Backward()</c> compute ∇l(v⁽ᵏ⁾) — on the whole data set, or on a
/// minibatch for the stochastic variant of the notes;</item>
/// <item><see cref="Optimizer.Step"/> applies w⁽ᵏ⁾ = v⁽ᵏ⁾ − α∇l(v⁽ᵏ⁾).</item>
/// </list>
/// Between steps the weights are the iterate w⁽ᵏ⁾ (so evaluating the model then sees w, not v).
/// <see cref="Optimizer.Step"/> without a prepared look-ahead throws, because the gradient would
/// belong to the wrong point. The look-ahead buffer w⁽ᵏ⁻¹⁾ and the step counter k are saved by
/// <see cref="Optimizer.StateDict"/>.
/// </summary>
public sealed class NesterovAccelerated : Optimizer
{
    // The step (1-based) whose look-ahead point the weights were moved to; 0: none yet.
    private int lookaheadStep;

    /// <summary>Creates the optimiser with step size α = <paramref name="learningRate"/>.</summary>
    public NesterovAccelerated(IEnumerable<Parameter> parameters, float learningRate)
        : base(parameters, learningRate)
    {
    }

    /// <summary>Whether the weights sit at the look-ahead point of the coming step (set by <see cref="PrepareLookahead"/>, used up by Step).</summary>
    public bool IsLookaheadPrepared => lookaheadStep == StepCount + 1;

    /// <summary>The momentum coefficient (k − 2)/(k + 1) of step <paramref name="k"/> (1-based).</summary>
    public static float Coefficient(int k) => (k - 2f) / (k + 1f);

    /// <summary>
    /// Moves every parameter from w⁽ᵏ⁻¹⁾ to the look-ahead point v⁽ᵏ⁾, where k is the coming step,
    /// and remembers w⁽ᵏ⁻¹⁾. Calling it again before <see cref="Optimizer.Step"/> does nothing.
    /// </summary>
    public void PrepareLookahead()
    {
        if (IsLookaheadPrepared) return;
        float c = Coefficient(StepCount + 1);
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (!Parameters[i].RequiresGrad) continue; // frozen: stays where it is
            var w = Parameters[i].Data;
            bool first = !HasState(i, "previous");
            var previous = State(i, "previous");   // w⁽ᵏ⁻²⁾, or nothing yet: w⁽⁻¹⁾ = w⁽⁰⁾
            if (first) w.CopyTo(previous);
            var difference = Scratch(i);
            Kernels.ParallelElementwise.Subtract(w, previous, difference);  // w⁽ᵏ⁻¹⁾ − w⁽ᵏ⁻²⁾
            w.CopyTo(previous);                                   // keep w⁽ᵏ⁻¹⁾ for the next step
            Kernels.ParallelElementwise.MultiplyAdd(difference, c, w, w);    // v⁽ᵏ⁾
        }
        lookaheadStep = StepCount + 1;
    }

    /// <summary>Moves the weights to the look-ahead point: see <see cref="PrepareLookahead"/>.</summary>
    public override void BeforeForward() => PrepareLookahead();

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> gradient)
    {
        // Step() has already counted this step, so a prepared look-ahead carries its number.
        if (lookaheadStep != StepCount)
            throw new InvalidOperationException(
                "NesterovAccelerated: Step() needs the gradient at the look-ahead point; call PrepareLookahead() (or BeforeForward()) before the forward pass.");
        Kernels.ParallelElementwise.MultiplyAdd(gradient, -LearningRate, w, w); // w⁽ᵏ⁾ = v⁽ᵏ⁾ − α∇l(v⁽ᵏ⁾)
    }

    /// <inheritdoc/>
    protected override IEnumerable<(string Name, float Value)> ExtraState() => [("lookahead_step", lookaheadStep)];

    /// <inheritdoc/>
    protected override void LoadExtraState(string name, float value)
    {
        if (name == "lookahead_step") lookaheadStep = (int)value;
    }
}
