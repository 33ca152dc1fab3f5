using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// The highway layer of the notes: y = (x·W + b)·T + x·(1 − T) with the transform gate
/// T = σ(x·W_T + b_T). Input [..., F], output the same shape. The gate bias starts negative
/// (<see cref="GateBias"/>, default −2) so that T ≈ 0.12 and a deep stack begins close to the
/// identity, letting gradients pass through many layers. Parameters: <c>weight</c>, <c>bias</c>,
/// <c>gate_weight</c>, <c>gate_bias</c> (weights [F, F] in the PyTorch [out, in] layout).
/// </summary>
public sealed class Highway : Module, IConfigurable
{
    /// <summary>Creates the layer.</summary>
    /// <param name="features">F, the size of the last axis of input and output.</param>
    /// <param name="activation">Applied to x·W + b (the notes use none; ReLU is common in practice).</param>
    /// <param name="gateBias">Initial value of every gate bias (negative: start near the identity).</param>
    /// <param name="rng">Initialisation generator.</param>
    public Highway(int features, Activation activation = Activation.None, float gateBias = -2f, Random? rng = null)
    {
        if (features <= 0) throw new ArgumentException($"Highway: features {features} must be positive.");
        Features = features;
        Activation = activation;
        GateBias = gateBias;
        Weight = RegisterParameter("weight", new Parameter(features, features));
        Bias = RegisterParameter("bias", new Parameter(features));
        GateWeight = RegisterParameter("gate_weight", new Parameter(features, features));
        GateBiasParameter = RegisterParameter("gate_bias", new Parameter(features));
        var r = rng ?? RandomSource.Shared;
        float k = 1f / MathF.Sqrt(features);
        Init.FillUniform(Weight, r, -k, k);
        Init.FillUniform(Bias, r, -k, k);
        Init.FillUniform(GateWeight, r, -k, k);
        GateBiasParameter.Data.Fill(gateBias);
    }

    /// <summary>Features F.</summary>
    public int Features { get; }
    /// <summary>The activation of the transform branch.</summary>
    public Activation Activation { get; }
    /// <summary>The initial gate bias.</summary>
    public float GateBias { get; }
    /// <summary>W [F, F] ([out, in]).</summary>
    public Parameter Weight { get; }
    /// <summary>b [F].</summary>
    public Parameter Bias { get; }
    /// <summary>W_T [F, F].</summary>
    public Parameter GateWeight { get; }
    /// <summary>b_T [F].</summary>
    public Parameter GateBiasParameter { get; }

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["features"] = Features, ["activation"] = Activation.ToString().ToLowerInvariant(), ["gate_bias"] = GateBias };

    internal static Activation ParseActivation(string s) => s switch
    {
        "none" => Activation.None,
        "relu" => Activation.Relu,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        _ => throw new ArgumentException($"Highway: activation '{s}' is not none, relu, sigmoid or tanh."),
    };

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank < 1 || input.Shape[^1] != Features)
            throw new ShapeMismatchException(Describe(), input.Shape, null, $"expects input [..., {Features}]");
        var x = input.Rank == 2 ? input : Ops.Reshape(input, input.Length / Features, Features);
        var h = Ops.Linear(x, Weight, Bias, Activation);
        var t = Ops.Linear(x, GateWeight, GateBiasParameter, Activation.Sigmoid);
        // (xW+b)·T + x·(1−T) = x + T·(h − x)
        var y = x + t * (h - x);
        return input.Rank == 2 ? y : Ops.Reshape(y, input.Shape.ToArray());
    }

    /// <inheritdoc/>
    public override string Describe() => $"Highway({Features}{(Activation == Activation.None ? "" : ", " + Activation)}, gate_bias={GateBias})";
}
