using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// A fully connected layer y = x·Wᵀ + b. Input [N, in], output [N, out]; weight [out, in] (the
/// PyTorch layout, so saved weights interchange), bias [out].
/// </summary>
public sealed class Linear : Module, IConfigurable
{
    /// <summary>Creates the layer and initialises it from <paramref name="rng"/> (default: <see cref="RandomSource.Shared"/>).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Initializer init = Initializer.Default, Random? rng = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear({inFeatures} => {outFeatures}): feature counts must be positive.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Init = init;
        Weight = RegisterParameter("weight", new Parameter(outFeatures, inFeatures));
        Bias = bias ? RegisterParameter("bias", new Parameter(outFeatures)) : null;
        ResetParameters(rng ?? RandomSource.Shared);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>How the weights were initialised.</summary>
    public Initializer Init { get; }

    /// <summary>The weight [out, in].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias [out], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Re-draws the weights (and zeroes or re-draws the bias).</summary>
    public void ResetParameters(Random rng)
    {
        float bound = 1f / MathF.Sqrt(InFeatures);
        switch (Init)
        {
            case Initializer.Default: Nn.Init.FillUniform(Weight, rng, -bound, bound); break;
            case Initializer.SmallNormal: Nn.Init.SmallNormal(Weight, rng); break;
            case Initializer.XavierUniform: Nn.Init.XavierUniform(Weight, rng); break;
            case Initializer.XavierNormal: Nn.Init.XavierNormal(Weight, rng); break;
            case Initializer.HeNormal: Nn.Init.HeNormal(Weight, rng); break;
            case Initializer.HeUniform: Nn.Init.HeUniform(Weight, rng); break;
        }
        if (Bias is null) return;
        if (Init == Initializer.Default) Nn.Init.FillUniform(Bias, rng, -bound, bound);
        else Bias.Data.Clear();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, Activation.None);

    /// <summary>The layer followed by <paramref name="activation"/>, fused into one op.</summary>
    public Tensor Forward(Tensor input, Activation activation)
    {
        if (input.Rank != 2 || input.Shape[1] != InFeatures)
            throw new ShapeMismatchException($"Linear({InFeatures} => {OutFeatures})", input.Shape, Weight.Shape, $"expects input [N, {InFeatures}]");
        return Ops.Linear(input, Weight, Bias, activation);
    }

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["in_features"] = InFeatures, ["out_features"] = OutFeatures, ["bias"] = Bias is not null };

    /// <inheritdoc/>
    public override string Describe() => $"Linear({InFeatures} => {OutFeatures}{(Bias is null ? ", bias=false" : "")})";
}
