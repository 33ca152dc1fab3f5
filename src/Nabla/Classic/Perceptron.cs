namespace Nabla.Classic;

/// <summary>What <see cref="Perceptron.Train(IReadOnlyList{float[]}, IReadOnlyList{int}, int)"/> returns.</summary>
/// <param name="Converged">Whether an epoch went by without a single mistake (the data were separated).</param>
/// <param name="Epochs">Epochs run, including the last, mistake-free one when it converged.</param>
/// <param name="MistakesPerEpoch">Misclassified examples in each epoch, in order (the last is 0 when it converged).</param>
public sealed record PerceptronResult(bool Converged, int Epochs, IReadOnlyList<int> MistakesPerEpoch);

/// <summary>
/// Rosenblatt's perceptron, as in the notes: a = Σⱼ wⱼxⱼ + b, output h(a) = 1 if a &gt; 0 else 0,
/// and the perceptron learning rule w ← w + η(t − y)x, b ← b + η(t − y) applied example by
/// example; training repeats epochs until one makes no mistake. On linearly separable data it
/// converges after finitely many updates; on data that are not (XOR) it never does, and
/// <see cref="Train(IReadOnlyList{float[]}, IReadOnlyList{int}, int)"/> reports that after its epoch limit. No gradients: this rule is not
/// gradient descent on any loss, and it is kept apart from the autograd world.
/// </summary>
public sealed class Perceptron
{
    private readonly float[] weights;

    /// <summary>
    /// Creates a perceptron with <paramref name="inputs"/> inputs. Without <paramref name="rng"/>
    /// the weights and bias start at zero; with one, at small uniform values in ±<paramref name="initScale"/>
    /// (the notes' "small random values").
    /// </summary>
    public Perceptron(int inputs, float learningRate = 0.1f, Random? rng = null, float initScale = 0.05f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        if (!(learningRate > 0f && float.IsFinite(learningRate)))
            throw new ArgumentOutOfRangeException(nameof(learningRate), $"Perceptron: learning rate η = {learningRate} must be positive and finite.");
        weights = new float[inputs];
        LearningRate = learningRate;
        if (rng is not null)
        {
            for (int j = 0; j < inputs; j++) weights[j] = (float)((rng.NextDouble() * 2 - 1) * initScale);
            Bias = (float)((rng.NextDouble() * 2 - 1) * initScale);
        }
    }

    /// <summary>Number of inputs d.</summary>
    public int Inputs => weights.Length;

    /// <summary>The learning rate η.</summary>
    public float LearningRate { get; }

    /// <summary>The weights w₁…w_d (writable, e.g. to set a hand-built perceptron).</summary>
    public Span<float> Weights => weights;

    /// <summary>The bias b (the notes' w₀ on a constant input 1).</summary>
    public float Bias { get; set; }

    /// <summary>The activation a = w·x + b.</summary>
    public float Activation(ReadOnlySpan<float> x)
    {
        if (x.Length != weights.Length)
            throw new ArgumentException($"Perceptron: input has {x.Length} values, expected {weights.Length}.", nameof(x));
        float a = Bias;
        for (int j = 0; j < x.Length; j++) a += weights[j] * x[j];
        return a;
    }

    /// <summary>The output h(a): 1 if a &gt; 0, else 0.</summary>
    public int Predict(ReadOnlySpan<float> x) => Activation(x) > 0f ? 1 : 0;

    /// <summary>
    /// Applies the learning rule to one example with target <paramref name="target"/> (0 or 1);
    /// returns whether it was misclassified (only then do the weights change).
    /// </summary>
    public bool Learn(ReadOnlySpan<float> x, int target)
    {
        if (target is not (0 or 1)) throw new ArgumentOutOfRangeException(nameof(target), $"Perceptron: target {target} must be 0 or 1.");
        int error = target - Predict(x);
        if (error == 0) return false;
        float step = LearningRate * error;
        for (int j = 0; j < x.Length; j++) weights[j] += step * x[j];
        Bias += step;
        return true;
    }

    /// <summary>One pass over the examples in order; returns the number of mistakes.</summary>
    public int TrainEpoch(IReadOnlyList<float[]> inputs, IReadOnlyList<int> targets)
    {
        Check(inputs, targets);
        return Epoch(inputs, targets);
    }

    private int Epoch(IReadOnlyList<float[]> inputs, IReadOnlyList<int> targets)
    {
        int mistakes = 0;
        for (int i = 0; i < inputs.Count; i++)
            if (Learn(inputs[i], targets[i])) mistakes++;
        return mistakes;
    }

    /// <summary>
    /// Trains epoch after epoch until one makes no mistake, or <paramref name="maxEpochs"/> have run.
    /// </summary>
    public PerceptronResult Train(IReadOnlyList<float[]> inputs, IReadOnlyList<int> targets, int maxEpochs = 100)
    {
        Check(inputs, targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEpochs, 1);
        var mistakes = new List<int>();
        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            int m = Epoch(inputs, targets);
            mistakes.Add(m);
            if (m == 0) return new PerceptronResult(true, epoch, mistakes);
        }
        return new PerceptronResult(false, maxEpochs, mistakes);
    }

    /// <summary>Trains on the rows of <paramref name="inputs"/> [N, d] with 0/1 <paramref name="targets"/>.</summary>
    public PerceptronResult Train(Tensor inputs, int[] targets, int maxEpochs = 100) => Train(Rows(inputs), targets, maxEpochs);

    /// <summary>The fraction of examples classified correctly.</summary>
    public double Accuracy(IReadOnlyList<float[]> inputs, IReadOnlyList<int> targets)
    {
        Check(inputs, targets);
        int correct = 0;
        for (int i = 0; i < inputs.Count; i++) if (Predict(inputs[i]) == targets[i]) correct++;
        return inputs.Count == 0 ? 0 : (double)correct / inputs.Count;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"Perceptron({Inputs} inputs, η={LearningRate}): w=[{string.Join(", ", weights.Select(w => w.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)))}], b={Bias.ToString("G4", System.Globalization.CultureInfo.InvariantCulture)}";

    private static float[][] Rows(Tensor inputs)
    {
        if (inputs.Rank != 2) throw new ArgumentException($"Perceptron: inputs must be [N, d], got {inputs.Shape}.", nameof(inputs));
        int n = inputs.Shape[0], d = inputs.Shape[1];
        var data = inputs.Data;
        var rows = new float[n][];
        for (int i = 0; i < n; i++) rows[i] = data.Slice(i * d, d).ToArray();
        return rows;
    }

    private void Check(IReadOnlyList<float[]> inputs, IReadOnlyList<int> targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        if (inputs.Count != targets.Count)
            throw new ArgumentException($"Perceptron: {inputs.Count} inputs but {targets.Count} targets.");
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Length != weights.Length)
                throw new ArgumentException($"Perceptron: example {i} has {inputs[i].Length} values, expected {weights.Length}.", nameof(inputs));
            if (targets[i] is not (0 or 1))
                throw new ArgumentException($"Perceptron: target {targets[i]} of example {i} must be 0 or 1.", nameof(targets));
        }
    }
}
