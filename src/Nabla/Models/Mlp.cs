using System.Text.Json.Nodes;
using Nabla.Nn;

namespace Nabla.Models;

/// <summary>
/// A multilayer perceptron classifier: dense layers of the given hidden sizes, each followed by
/// the activation (and dropout when p &gt; 0), then a dense output layer. Input of any rank is
/// flattened to [N, features]. Its layers are the children of <c>layers</c>.
/// </summary>
public sealed class Mlp : Module
{
    private readonly Sequential layers;

    /// <summary>Creates the network.</summary>
    public Mlp(int inFeatures, int[] hidden, int numClasses, string activation = "relu", float dropout = 0f, Random? rng = null)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        if (inFeatures <= 0 || numClasses <= 0 || hidden.Any(h => h <= 0))
            throw new ArgumentException($"Mlp: sizes {inFeatures}, [{string.Join(", ", hidden)}], {numClasses} must be positive.");
        var r = rng ?? RandomSource.Shared;
        InFeatures = inFeatures; Hidden = (int[])hidden.Clone(); NumClasses = numClasses; ActivationName = activation; Dropout = dropout;
        layers = new Sequential();
        int last = inFeatures;
        foreach (int h in hidden)
        {
            layers.Add(new Linear(last, h, rng: r));
            layers.Add(activation switch
            {
                "relu" => new ReLU(),
                "tanh" => new Tanh(),
                "sigmoid" => new Sigmoid(),
                "leaky-relu" => new LeakyReLU(),
                _ => throw new ArgumentException($"Mlp: unknown activation '{activation}' (relu, tanh, sigmoid, leaky-relu)."),
            });
            if (dropout > 0) layers.Add(new Nn.Dropout(dropout, r));
            last = h;
        }
        layers.Add(new Linear(last, numClasses, rng: r));
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }
    /// <summary>Hidden layer sizes.</summary>
    public IReadOnlyList<int> Hidden { get; }
    /// <summary>Output classes.</summary>
    public int NumClasses { get; }
    /// <summary>The hidden activation's name.</summary>
    public string ActivationName { get; }
    /// <summary>Dropout probability after each hidden layer.</summary>
    public float Dropout { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input.Rank == 2 ? input : Ops.Flatten(input, 1);
        if (x.Rank != 2 || x.Shape[1] != InFeatures)
            throw new ShapeMismatchException("Mlp", input.Shape, null, $"expects {InFeatures} features per sample");
        return layers.Forward(x);
    }

    /// <summary>The constructor arguments as JSON.</summary>
    public JsonObject GetConfig() => new()
    {
        ["in_features"] = InFeatures, ["hidden"] = new JsonArray(Hidden.Select(h => (JsonNode)h).ToArray()), ["num_classes"] = NumClasses,
        ["activation"] = ActivationName, ["dropout"] = Dropout,
    };
}
