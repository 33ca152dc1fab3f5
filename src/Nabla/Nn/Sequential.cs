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

    /// <summary>The layer at <paramref name="index"/> (negative counts from the end, as <c>model[-1]</c> in PyTorch); setting it replaces the layer.</summary>
    public Module this[int index]
    {
        get => layers[At(index, "this[]")];
        set => Replace(index, value);
    }

    /// <summary>Inserts <paramref name="layer"/> before position <paramref name="index"/> (0..Count; PyTorch's <c>insert</c>).</summary>
    public void Insert(int index, Module layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int i = index < 0 ? index + layers.Count : index;
        if (i < 0 || i > layers.Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"Sequential.Insert: position {index} is outside 0..{layers.Count}.");
        layers.Insert(i, layer);
    }

    /// <summary>Replaces the layer at <paramref name="index"/> (e.g. a new head for transfer learning) and returns the old one.</summary>
    public Module Replace(int index, Module layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        int i = At(index, "Replace");
        var old = layers[i];
        layers[i] = layer;
        return old;
    }

    /// <summary>Removes the layer at <paramref name="index"/> and returns it; the later layers move up (their names change).</summary>
    public Module RemoveAt(int index)
    {
        int i = At(index, "RemoveAt");
        var old = layers[i];
        layers.RemoveAt(i);
        return old;
    }

    /// <summary>Number of layers.</summary>
    public int Count => layers.Count;

    private int At(int index, string op)
    {
        int i = index < 0 ? index + layers.Count : index;
        if (i < 0 || i >= layers.Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"Sequential.{op}: index {index} is out of range for {layers.Count} layers.");
        return i;
    }

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
            // In inference, Conv2d → BatchNorm2d (→ activation) runs as one convolution with the
            // batch norm folded into its weights and bias.
            if (layers[i] is Conv2d fc && i + 1 < layers.Count && layers[i + 1] is BatchNorm2d bn && ConvBatchNormFusion.CanFold(fc, bn, x))
            {
                var foldAct = i + 2 < layers.Count ? FusableActivation(layers[i + 2]) : null;
                x = ConvBatchNormFusion.Forward(fc, bn, x, foldAct ?? Activation.None);
                i += foldAct is null ? 1 : 2;
                continue;
            }
            if (layers[i] is Conv2d conv && i + 1 < layers.Count && FusableActivation(layers[i + 1]) is { } convAct)
            {
                x = conv.Forward(x, convAct);
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
