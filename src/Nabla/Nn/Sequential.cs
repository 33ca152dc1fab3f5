using System.Collections;
using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// Layers applied one after another, Keras- and PyTorch-style. Children are named "0", "1", …,
/// so parameters are <c>0.weight</c>, <c>0.bias</c>, <c>2.weight</c>, ….
/// </summary>
public sealed class Sequential : Module, IEnumerable<Module>, IConfigurable
{
    private readonly List<Module> layers = new();

    /// <summary>Creates the model from its layers.</summary>
    public Sequential(params Module[] layers) => this.layers.AddRange(layers);

    /// <summary>Appends a layer (collection-initialiser friendly).</summary>
    public void Add(Module layer) => layers.Add(layer);

    /// <summary>The layers in order.</summary>
    public IReadOnlyList<Module> Layers => layers;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => layers[index];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        for (int i = 0; i < layers.Count; i++)
        {
            // A Linear followed by ReLU, sigmoid or tanh runs as one fused op (same values and
            // gradients, one pass less over memory in each direction).
            if (layers[i] is Linear linear && i + 1 < layers.Count && FusableActivation(layers[i + 1]) is { } act)
            {
                x = linear.Forward(x, act);
                i++;
                continue;
            }
            x = layers[i].Forward(x);
        }
        return x;
    }

    private static Activation? FusableActivation(Module m) => m switch
    {
        ReLU => Activation.Relu,
        Sigmoid => Activation.Sigmoid,
        Tanh => Activation.Tanh,
        _ => null,
    };

    /// <inheritdoc/>
    public override IEnumerable<(string Name, Module Module)> NamedChildren() =>
        layers.Select((l, i) => (i.ToString(System.Globalization.CultureInfo.InvariantCulture), l));

    /// <inheritdoc/>
    public JsonObject GetConfig() => new() { ["layers"] = new JsonArray(layers.Select(l => (JsonNode)LayerRegistry.ToJson(l)).ToArray()) };

    /// <inheritdoc/>
    public IEnumerator<Module> GetEnumerator() => layers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => layers.GetEnumerator();
}
