using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>A layer without constructor arguments: its configuration is empty.</summary>
public abstract class ParameterlessLayer : Module, IConfigurable
{
    /// <inheritdoc/>
    public JsonObject GetConfig() => new();
}

/// <summary>max(0, x) elementwise.</summary>
public sealed class ReLU : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Relu(input);
}

/// <summary>x for x &gt; 0, slope·x otherwise.</summary>
public sealed class LeakyReLU(float slope = 0.01f) : Module, IConfigurable
{
    /// <summary>The slope for negative inputs.</summary>
    public float Slope { get; } = slope;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.LeakyRelu(input, Slope);

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["negative_slope"] = Slope };

    /// <inheritdoc/>
    public override string Describe() => $"LeakyReLU({Slope})";
}

/// <summary>The logistic sigmoid 1/(1+e⁻ˣ).</summary>
public sealed class Sigmoid : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Sigmoid(input);
}

/// <summary>The hyperbolic tangent.</summary>
public sealed class Tanh : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Tanh(input);
}

/// <summary>The Heaviside step of the perceptron (1 where x &gt; 0); passes no gradient.</summary>
public sealed class Step : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Step(input);
}

/// <summary>Softmax over the last axis.</summary>
public sealed class Softmax : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Softmax(input);
}

/// <summary>Log-softmax over the last axis (pair it with <see cref="Nabla.Losses.NllLoss"/>).</summary>
public sealed class LogSoftmax : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.LogSoftmax(input);
}

/// <summary>[N, d1, d2, …] → [N, d1·d2·…].</summary>
public sealed class Flatten : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Rank <= 2 ? input : Ops.Flatten(input, 1);
}

/// <summary>Passes its input through unchanged.</summary>
public sealed class Identity : ParameterlessLayer
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}

/// <summary>
/// Inverted dropout: in training mode each element is zeroed with probability p and the survivors
/// are scaled by 1/(1−p), so that evaluation mode is the identity.
/// </summary>
public sealed class Dropout : Module, IConfigurable
{
    private readonly Random? rng;

    /// <summary>Creates the layer; <paramref name="rng"/> defaults to <see cref="RandomSource.Shared"/>.</summary>
    public Dropout(float p = 0.5f, Random? rng = null)
    {
        if (p is < 0f or >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout: probability {p} must be in [0, 1).");
        P = p;
        this.rng = rng;
    }

    /// <summary>Probability of dropping an element.</summary>
    public float P { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (!IsTraining || P == 0f) return input;
        var r = rng ?? RandomSource.Shared;
        var mask = new Tensor(input.Shape);
        float keep = 1f / (1f - P);
        var m = mask.Data;
        for (int i = 0; i < m.Length; i++) m[i] = r.NextSingle() >= P ? keep : 0f;
        return input * mask;
    }

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["p"] = P };

    /// <inheritdoc/>
    public override string Describe() => $"Dropout(p={P})";
}

/// <summary>Adds N(0, σ²) noise to its input in training mode (a regulariser); identity in evaluation.</summary>
public sealed class GaussianNoise(float std, Random? rng = null) : Module, IConfigurable
{
    /// <summary>Standard deviation of the noise.</summary>
    public float Std { get; } = std;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (!IsTraining || Std == 0f) return input;
        return input + Tensor.Normal(input.Shape, 0f, Std, rng ?? RandomSource.Shared);
    }

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["std"] = Std };

    /// <inheritdoc/>
    public override string Describe() => $"GaussianNoise(std={Std})";
}
