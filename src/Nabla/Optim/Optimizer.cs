using Nabla.Nn;

namespace Nabla.Optim;

/// <summary>
/// The base of every optimiser: a per-parameter update rule over flat spans, plus named state
/// buffers (momentum, moments…) kept per parameter so they can be saved and restored with the
/// model. Subclasses implement <see cref="Update"/>; <see cref="Step"/> walks the parameters.
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<(int Param, string Name), float[]> state = new();

    /// <summary>Creates the optimiser over <paramref name="parameters"/> with learning rate <paramref name="learningRate"/>.</summary>
    protected Optimizer(IEnumerable<Parameter> parameters, float learningRate)
    {
        Parameters = parameters.ToList();
        if (Parameters.Count == 0) throw new ArgumentException($"{GetType().Name}: no parameters to optimise.");
        if (!(learningRate > 0) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"{GetType().Name}: learning rate {learningRate} must be positive and finite.");
        LearningRate = learningRate;
        groupScales = ParameterGroups.ScalesFor(parameters, Parameters, learningRate);
    }

    // Each parameter's learning rate relative to LearningRate (null: all 1), from ParameterGroups.
    private readonly float[]? groupScales;

    /// <summary>
    /// The learning rate parameter <paramref name="index"/> is updated with: <see cref="LearningRate"/> times its group's
    /// ratio (see <see cref="ParameterGroups"/>), so schedules that change <see cref="LearningRate"/> move every group alike.
    /// </summary>
    public float LearningRateOf(int index) => groupScales is null ? LearningRate : LearningRate * groupScales[index];

    /// <summary>The parameters being optimised, in a fixed order (state is keyed by position).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The current learning rate (schedules change it between epochs or steps).</summary>
    public float LearningRate { get; set; }

    /// <summary>How many steps have been taken (1 during the first update).</summary>
    public int StepCount { get; private set; }

    /// <summary>
    /// Zeroes every parameter's gradient in place (PyTorch's <c>zero_grad(set_to_none=False)</c>), so
    /// that steady-state training steps reuse the gradient buffers instead of allocating new ones.
    /// </summary>
    public void ZeroGrad()
    {
        // One parallel pass over all gradients, in equal shares (see ParallelSegments).
        var job = zeroJob ??= new ZeroJob(Parameters.Count);
        job.Count = 0;
        foreach (var p in Parameters)
        {
            if (p.Grad is null) continue;
            job.Grads[job.Count] = p.Grad;
            job.Lengths[job.Count++] = p.Grad.Data.Length;
        }
        Kernels.ParallelSegments.Run(job.Lengths, job.Count, job);
        Array.Clear(job.Grads); // hold no gradient between steps
    }

    private ZeroJob? zeroJob;

    private sealed class ZeroJob(int capacity) : Kernels.ISegmentBody
    {
        public readonly Tensor?[] Grads = new Tensor?[capacity];
        public readonly int[] Lengths = new int[capacity];
        public int Count;

        public void Invoke(int segment, int start, int length) => Grads[segment]!.Data.Slice(start, length).Clear();
    }

    /// <summary>
    /// Called by a training loop before each forward pass (before the loss whose gradient the next
    /// <see cref="Step"/> uses). Most optimisers take the gradient at the current weights and do
    /// nothing here; <see cref="NesterovAccelerated"/> moves the weights to its look-ahead point,
    /// because its update needs the gradient there.
    /// </summary>
    public virtual void BeforeForward() { }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        StepCount++;
        using var _ = Autograd.GradMode.NoGrad();
        if (!PerParameterSteps && StepAllAtOnce()) return;
        float baseRate = LearningRate;
        try
        {
            for (int i = 0; i < Parameters.Count; i++)
            {
                var p = Parameters[i];
                // A frozen parameter (RequiresGrad false) keeps its values even if it still holds a gradient
                // buffer (zeroed in place) from before it was frozen: momentum or weight decay would move it.
                if (p.Grad is null || !p.RequiresGrad) continue;
                if (groupScales is not null) LearningRate = baseRate * groupScales[i];
                Update(i, p.Data, p.Grad.Data);
            }
        }
        finally
        {
            LearningRate = baseRate;
        }
    }

    /// <summary>
    /// Optimisers whose update is elementwise override this to update every parameter in one parallel loop
    /// (<see cref="Kernels.ParallelSegments"/>) with exactly the values <see cref="Update"/> gives; false means
    /// not in this configuration, and <see cref="Step"/> calls <see cref="Update"/> for each parameter.
    /// </summary>
    private protected virtual bool StepAllAtOnce() => false;

    /// <summary>Forces one <see cref="Update"/> per parameter (tests compare it with <see cref="StepAllAtOnce"/>).</summary>
    internal bool PerParameterSteps { get; set; }

    /// <summary>
    /// The parameters a fused step (<see cref="StepAllAtOnce"/>) updates, and the elementwise update of a part of
    /// one of them; subclasses add the optimiser's state and scalars per slot.
    /// </summary>
    private protected abstract class ParameterStepJob(int capacity) : Kernels.ISegmentBody
    {
        public readonly Tensor?[] Weights = new Tensor?[capacity], Grads = new Tensor?[capacity];
        public readonly int[] Lengths = new int[capacity];
        public int Count;

        /// <summary>Adds parameter <paramref name="p"/> and its gradient; returns its slot.</summary>
        /// <exception cref="ArgumentException">The gradient's length differs from the parameter's (as <see cref="Update"/> would say).</exception>
        public int Add(Parameter p)
        {
            if (p.Grad!.Length != p.Length)
                throw new ArgumentException($"Optimizer.Step: the gradient of {p.Name ?? "a parameter"} of shape {p.Shape} has shape {p.Grad.Shape}.", nameof(p));
            int k = Count++;
            Weights[k] = p;
            Grads[k] = p.Grad;
            Lengths[k] = p.Length;
            return k;
        }

        public abstract void Invoke(int segment, int start, int length);

        /// <summary>Updates every added parameter in one parallel loop, then lets go of them.</summary>
        public void Run()
        {
            Kernels.ParallelSegments.Run(Lengths, Count, this);
            Clear();
        }

        /// <summary>Empties the job (called before adding too: a step that threw may have left slots filled).</summary>
        public void Clear()
        {
            Count = 0;
            Release();
        }

        /// <summary>Clears the references held per slot (nothing is kept between steps).</summary>
        protected virtual void Release()
        {
            Array.Clear(Weights);
            Array.Clear(Grads);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> in place from its gradient.</summary>
    protected abstract void Update(int index, Span<float> weights, ReadOnlySpan<float> gradient);

    /// <summary>The state buffer <paramref name="name"/> of parameter <paramref name="index"/>, zero-initialised on first use.</summary>
    protected float[] State(int index, string name)
    {
        if (!state.TryGetValue((index, name), out var buf))
        {
            buf = new float[Parameters[index].Length];
            state[(index, name)] = buf;
        }
        return buf;
    }

    private float[]? scratch;

    /// <summary>A temporary buffer of at least the parameter's size, shared by all parameters and never saved.</summary>
    protected Span<float> Scratch(int index)
    {
        int n = Parameters[index].Length;
        if (scratch is null || scratch.Length < n) scratch = new float[Parameters.Max(p => p.Length)];
        return scratch.AsSpan(0, n);
    }

    /// <summary>
    /// The gradient with L2 weight decay added (g = ∇ + λw, written to <see cref="Scratch"/>), or
    /// <paramref name="grad"/> itself when λ is 0.
    /// </summary>
    protected ReadOnlySpan<float> WithWeightDecay(int index, ReadOnlySpan<float> w, ReadOnlySpan<float> grad, float weightDecay)
    {
        if (weightDecay == 0f) return grad;
        var decayed = Scratch(index);
        Kernels.ParallelElementwise.MultiplyAdd(w, weightDecay, grad, decayed);
        return decayed;
    }

    /// <summary>Throws unless <paramref name="value"/> is ≥ 0 (NaN included), naming the optimiser and the setting.</summary>
    protected void RequireNonNegative(float value, string setting, string paramName)
    {
        if (!(value >= 0f))
            throw new ArgumentOutOfRangeException(paramName, $"{GetType().Name}: {setting} {value} must be non-negative.");
    }

    /// <summary>Whether a state buffer exists yet.</summary>
    protected bool HasState(int index, string name) => state.ContainsKey((index, name));

    /// <summary>
    /// The optimiser's state as named tensors (<c>state.{param}.{buffer}</c>, plus
    /// <c>hyper.step</c> and <c>hyper.lr</c>), for checkpoints that resume training.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>
        {
            ["hyper.step"] = Tensor.Scalar(StepCount),
            ["hyper.lr"] = Tensor.Scalar(LearningRate),
        };
        foreach (var ((index, name), buf) in state)
            d[$"state.{index}.{name}"] = new Tensor((float[])buf.Clone(), Parameters[index].Shape);
        foreach (var (k, v) in ExtraState()) d[$"extra.{k}"] = Tensor.Scalar(v);
        return d;
    }

    /// <summary>Restores what <see cref="StateDict"/> produced; buffer shapes must match the parameters.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> d)
    {
        state.Clear();
        if (d.TryGetValue("hyper.step", out var s)) StepCount = (int)s.Item();
        if (d.TryGetValue("hyper.lr", out var lr)) LearningRate = lr.Item();
        foreach (var (key, value) in d)
        {
            if (key.StartsWith("extra.", StringComparison.Ordinal)) { LoadExtraState(key[6..], value.Item()); continue; }
            if (!key.StartsWith("state.", StringComparison.Ordinal)) continue;
            var parts = key.Split('.', 3);
            if (parts.Length != 3 || !int.TryParse(parts[1], out int index) || index < 0 || index >= Parameters.Count)
                throw new ArgumentException($"Optimizer state entry '{key}' does not name a parameter of this optimiser ({Parameters.Count} parameters).");
            if (value.Length != Parameters[index].Length)
                throw new ShapeMismatchException($"Optimizer state '{key}'", Parameters[index].Shape, value.Shape, "buffer does not match its parameter");
            state[(index, parts[2])] = value.ToArray();
        }
    }

    /// <summary>Scalar state beyond the per-parameter buffers (e.g. the accelerated method's counter).</summary>
    protected virtual IEnumerable<(string Name, float Value)> ExtraState() => [];

    /// <summary>Restores one value produced by <see cref="ExtraState"/>.</summary>
    protected virtual void LoadExtraState(string name, float value) { }
}
