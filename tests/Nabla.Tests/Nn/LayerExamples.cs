using Nabla.Nn;
using Nabla.Tests.Core;

namespace Nabla.Tests.Nn;

/// <summary>
/// One small example per registered layer type, for <see cref="LayerConformanceTests"/>.
/// </summary>
/// <param name="Create">Makes a small instance (fresh weights each call).</param>
/// <param name="InputShape">A valid input shape.</param>
/// <param name="BadInputShape">An input shape the layer must reject with a clear error; null for layers that accept any shape (elementwise).</param>
/// <param name="Stochastic">The layer is random in training mode (dropout, noise): checked in evaluation mode.</param>
/// <param name="MakeInput">Makes the input from a seed (default: standard normal values); for index inputs such as embeddings.</param>
/// <param name="InputIsDifferentiable">Whether the gradient with respect to the input is checked (false for index inputs).</param>
public sealed record LayerExample(
    Func<Module> Create,
    int[] InputShape,
    int[]? BadInputShape,
    bool Stochastic = false,
    Func<int, Tensor>? MakeInput = null,
    bool InputIsDifferentiable = true)
{
    /// <summary>The input for <paramref name="seed"/>.</summary>
    public Tensor Input(int seed) => MakeInput?.Invoke(seed) ?? Gen.N(seed, InputShape);
}

/// <summary>
/// The example table, filled per family so that each engineer edits a file of their own: add a
/// partial method implementation in a new file (LayerExamples.Convolution.cs, …).
/// </summary>
public static partial class LayerExamples
{
    private static readonly Dictionary<string, LayerExample> table = Build();

    /// <summary>The example of a registered type name, or null.</summary>
    public static LayerExample? Get(string typeName) => table.GetValueOrDefault(typeName);

    private static Dictionary<string, LayerExample> Build()
    {
        var t = new Dictionary<string, LayerExample>(StringComparer.Ordinal);
        AddCore(t);
        AddConvolution(t);
        AddRecurrent(t);
        AddModels(t);
        AddVision(t);
        AddSegmentation(t);
        AddSequences(t);
        AddExtras(t);
        return t;
    }

    static partial void AddConvolution(Dictionary<string, LayerExample> t);
    static partial void AddRecurrent(Dictionary<string, LayerExample> t);
    static partial void AddModels(Dictionary<string, LayerExample> t);
    static partial void AddVision(Dictionary<string, LayerExample> t);
    static partial void AddSegmentation(Dictionary<string, LayerExample> t);
    static partial void AddSequences(Dictionary<string, LayerExample> t);
    static partial void AddExtras(Dictionary<string, LayerExample> t);

    private static void AddCore(Dictionary<string, LayerExample> t)
    {
        t["Linear"] = new(() => new Linear(5, 3), [4, 5], [4, 6]);
        t["Sequential"] = new(() => new Sequential(new Linear(6, 5), new Tanh(), new Sequential(new Linear(5, 4), new Sigmoid()), new Linear(4, 3)), [3, 6], [3, 7]);
        // Elementwise layers: inputs kept away from the kinks at 0.
        t["ReLU"] = new(() => new ReLU(), [3, 4], null, MakeInput: s => Gen.AwayFromZero(s, 0.1f, 3, 4));
        t["LeakyReLU"] = new(() => new LeakyReLU(0.2f), [3, 4], null, MakeInput: s => Gen.AwayFromZero(s, 0.1f, 3, 4));
        t["Sigmoid"] = new(() => new Sigmoid(), [3, 4], null);
        t["Tanh"] = new(() => new Tanh(), [3, 4], null);
        t["Step"] = new(() => new Step(), [3, 4], null, MakeInput: s => Gen.AwayFromZero(s, 0.1f, 3, 4));
        t["Softmax"] = new(() => new Softmax(), [3, 4], null);
        t["LogSoftmax"] = new(() => new LogSoftmax(), [3, 4], null);
        t["Flatten"] = new(() => new Flatten(), [2, 3, 4], null);
        t["Identity"] = new(() => new Identity(), [3, 4], null);
        t["Dropout"] = new(() => new Dropout(0.3f), [3, 4], null, Stochastic: true);
        t["GaussianNoise"] = new(() => new GaussianNoise(0.1f), [3, 4], null, Stochastic: true);
    }
}
