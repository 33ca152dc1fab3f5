using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// Adam in PyTorch's form, with L2 weight decay added to the gradient (g ← ∇ + λw). With step t:
/// m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ);
/// w ← w − η m̂ / (√v̂ + ε). With <see cref="AmsGrad"/> the running maximum of v replaces v.
/// For decoupled weight decay use <see cref="AdamW"/>.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates the optimiser (PyTorch's defaults: η = 1e-3, β = (0.9, 0.999), ε = 1e-8).</summary>
    public Adam(IEnumerable<Parameter> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 0f, bool amsGrad = false)
        : this(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsGrad, decoupled: false)
    {
    }

    /// <summary>Creates the optimiser; <paramref name="decoupled"/> selects AdamW's weight decay.</summary>
    private protected Adam(IEnumerable<Parameter> parameters, float learningRate, float beta1, float beta2,
        float epsilon, float weightDecay, bool amsGrad, bool decoupled)
        : base(parameters, learningRate)
    {
        string name = GetType().Name;
        if (!(beta1 >= 0f && beta1 < 1f)) throw new ArgumentOutOfRangeException(nameof(beta1), $"{name}: β₁ = {beta1} must be in [0, 1).");
        if (!(beta2 >= 0f && beta2 < 1f)) throw new ArgumentOutOfRangeException(nameof(beta2), $"{name}: β₂ = {beta2} must be in [0, 1).");
        if (!(epsilon >= 0f)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"{name}: epsilon {epsilon} must be non-negative.");
        if (!(weightDecay >= 0f)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"{name}: weight decay {weightDecay} must be non-negative.");
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        AmsGrad = amsGrad;
        decoupledWeightDecay = decoupled;
    }

    private readonly bool decoupledWeightDecay;

    /// <summary>Decay rate β₁ of the first moment (the mean of the gradient).</summary>
    public float Beta1 { get; }

    /// <summary>Decay rate β₂ of the second moment (the mean of the squared gradient).</summary>
    public float Beta2 { get; }

    /// <summary>ε, added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>Weight decay λ: added to the gradient (Adam) or applied to the weights directly (AdamW).</summary>
    public float WeightDecay { get; }

    /// <summary>Whether the running maximum of the second moment is used (AMSGrad).</summary>
    public bool AmsGrad { get; }

    private protected override bool StepAllAtOnce()
    {
        if (AmsGrad || (decoupledWeightDecay && WeightDecay != 0f)) return false;
        var job = stepJob ??= new AdamJob(Parameters.Count);
        job.Clear();
        double biasCorrection1 = 1 - Math.Pow(Beta1, StepCount);
        job.Beta1 = Beta1;
        job.Beta2 = Beta2;
        job.InvSqrtBias2 = (float)(1 / Math.Sqrt(1 - Math.Pow(Beta2, StepCount)));
        job.Epsilon = Epsilon;
        job.L2 = decoupledWeightDecay ? 0f : WeightDecay;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is null || !p.RequiresGrad) continue; // as Step: frozen parameters keep their values
            int k = job.Add(p);
            job.M[k] = State(i, "exp_avg");
            job.V[k] = State(i, "exp_avg_sq");
            job.StepSizes[k] = (float)(LearningRateOf(i) / biasCorrection1);
        }
        job.Run();
        return true;
    }

    private AdamJob? stepJob;

    // The fused Adam step over parts of every parameter: the same kernel and scalars as Update.
    private sealed class AdamJob(int capacity) : ParameterStepJob(capacity)
    {
        public readonly float[]?[] M = new float[]?[capacity], V = new float[]?[capacity];
        public readonly float[] StepSizes = new float[capacity];
        public float Beta1, Beta2, InvSqrtBias2, Epsilon, L2;

        public override void Invoke(int s, int start, int length) => Kernels.OptimizerKernels.AdamStep(
            Weights[s]!.Data.Slice(start, length), Grads[s]!.Data.Slice(start, length), M[s].AsSpan(start, length), V[s].AsSpan(start, length),
            Beta1, Beta2, StepSizes[s], InvSqrtBias2, Epsilon, L2);

        protected override void Release()
        {
            base.Release();
            Array.Clear(M);
            Array.Clear(V);
        }
    }

    /// <inheritdoc/>
    protected override void Update(int index, Span<float> w, ReadOnlySpan<float> grad)
    {
        if (!AmsGrad)
        {
            // The common case in one fused pass over w, g, m and v.
            if (decoupledWeightDecay && WeightDecay != 0f) Kernels.ParallelElementwise.Multiply(w, 1f - LearningRate * WeightDecay, w);
            Kernels.ParallelElementwise.AdamStep(w, grad, State(index, "exp_avg"), State(index, "exp_avg_sq"), Beta1, Beta2,
                (float)(LearningRate / (1 - Math.Pow(Beta1, StepCount))), (float)(1 / Math.Sqrt(1 - Math.Pow(Beta2, StepCount))),
                Epsilon, decoupledWeightDecay ? 0f : WeightDecay);
            return;
        }
        var s = Scratch(index);
        ReadOnlySpan<float> g = grad;
        if (WeightDecay != 0f)
        {
            if (decoupledWeightDecay)
            {
                Kernels.ParallelElementwise.Multiply(w, 1f - LearningRate * WeightDecay, w); // w ← w(1 − ηλ)
            }
            else
            {
                Kernels.ParallelElementwise.MultiplyAdd(w, WeightDecay, grad, s);           // g ← ∇ + λw
                g = s;
            }
        }
        var m = State(index, "exp_avg");
        var v = State(index, "exp_avg_sq");
        Kernels.ParallelElementwise.Lerp(m, g, 1f - Beta1, m);                            // m ← β₁m + (1−β₁)g
        Kernels.ParallelElementwise.Multiply(g, g, s);                                    // (g may alias s: elementwise is safe)
        Kernels.ParallelElementwise.Multiply(v, Beta2, v);
        Kernels.ParallelElementwise.MultiplyAdd(s, 1f - Beta2, v, v);                     // v ← β₂v + (1−β₂)g²

        Span<float> second = v;
        if (AmsGrad)
        {
            var vMax = State(index, "max_exp_avg_sq");
            Kernels.ParallelElementwise.Max(vMax, v, vMax);
            second = vMax;
        }
        int t = StepCount;
        double biasCorrection1 = 1 - Math.Pow(Beta1, t);
        double biasCorrection2 = 1 - Math.Pow(Beta2, t);
        float stepSize = (float)(LearningRate / biasCorrection1);
        float sqrtBiasCorrection2 = (float)Math.Sqrt(biasCorrection2);

        Kernels.ParallelElementwise.Sqrt(second, s);
        Kernels.ParallelElementwise.Divide(s, sqrtBiasCorrection2, s);
        Kernels.ParallelElementwise.Add(s, Epsilon, s);                                   // √v̂ + ε
        Kernels.ParallelElementwise.Divide(m, s, s);
        Kernels.ParallelElementwise.MultiplyAdd(s, -stepSize, w, w);                      // w ← w − η/(1−β₁ᵗ) · m/(√v̂ + ε)
    }
}

/// <summary>
/// AdamW (Loshchilov and Hutter): Adam with decoupled weight decay. The weights shrink by
/// w ← w(1 − ηλ) before the Adam step, instead of λw being added to the gradient, so the decay
/// is not rescaled by the adaptive denominator. Bias correction as in <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates the optimiser (PyTorch's defaults: η = 1e-3, β = (0.9, 0.999), ε = 1e-8, λ = 0.01).</summary>
    public AdamW(IEnumerable<Parameter> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 1e-2f, bool amsGrad = false)
        : base(parameters, learningRate, beta1, beta2, epsilon, weightDecay, amsGrad, decoupled: true)
    {
    }
}
