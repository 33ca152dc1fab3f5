using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// The shared body of <see cref="Rnn"/>, <see cref="Gru"/> and <see cref="Lstm"/>: a stack of
/// recurrent layers, each one or two directions, with PyTorch's parameter names and layouts
/// (<c>weight_ih_l0</c> [G·H, I], <c>weight_hh_l0</c> [G·H, H], <c>bias_ih_l0</c>, <c>bias_hh_l0</c>,
/// <c>_reverse</c> for the backward direction), so that state dicts interchange with PyTorch.
/// </summary>
/// <remarks>
/// Input [T, B, I] (or [B, T, I] with <see cref="BatchFirst"/>; an unbatched [T, I] is accepted too),
/// output [T, B, D·H]; states [L·D, B, H]. Each layer runs as one op (<see cref="Ops.RecurrentLayer"/>).
/// </remarks>
public abstract class RecurrentBase : Module, IConfigurable
{
    private readonly List<(string Name, Parameter Parameter)> parameters = new();
    private readonly RecurrentWeights[][] layers;
    private readonly Random? rng;

    /// <summary>Creates the layers and initialises every weight and bias from U(−1/√H, 1/√H), as PyTorch does.</summary>
    protected RecurrentBase(RecurrentMode mode, int inputSize, int hiddenSize, int numLayers, bool bias, bool batchFirst,
        float dropout, bool bidirectional, Random? rng)
    {
        string name = GetType().Name;
        if (inputSize <= 0 || hiddenSize <= 0) throw new ArgumentException($"{name}: input size {inputSize} and hidden size {hiddenSize} must be positive.");
        if (numLayers < 1) throw new ArgumentException($"{name}: numLayers {numLayers} must be at least 1.");
        if (dropout is < 0f or >= 1f || float.IsNaN(dropout)) throw new ArgumentOutOfRangeException(nameof(dropout), $"{name}: dropout {dropout} must be in [0, 1).");
        Mode = mode;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        HasBias = bias;
        BatchFirst = batchFirst;
        Dropout = dropout;
        Bidirectional = bidirectional;
        this.rng = rng;
        int D = bidirectional ? 2 : 1, GH = Ops.GateCount(mode) * hiddenSize;
        layers = new RecurrentWeights[numLayers][];
        for (int l = 0; l < numLayers; l++)
        {
            layers[l] = new RecurrentWeights[D];
            int inl = l == 0 ? inputSize : D * hiddenSize;
            for (int d = 0; d < D; d++)
            {
                string suffix = $"_l{l}" + (d == 1 ? "_reverse" : "");
                var wih = Add("weight_ih" + suffix, new Parameter(GH, inl));
                var whh = Add("weight_hh" + suffix, new Parameter(GH, hiddenSize));
                var bih = bias ? Add("bias_ih" + suffix, new Parameter(GH)) : null;
                var bhh = bias ? Add("bias_hh" + suffix, new Parameter(GH)) : null;
                layers[l][d] = new RecurrentWeights(wih, whh, bih, bhh);
            }
        }
        ResetParameters(rng ?? RandomSource.Shared);
    }

    private Parameter Add(string name, Parameter p)
    {
        parameters.Add((name, p));
        return RegisterParameter(name, p);
    }

    /// <summary>The cell this layer runs.</summary>
    public RecurrentMode Mode { get; }
    /// <summary>Features per input step.</summary>
    public int InputSize { get; }
    /// <summary>Features of the hidden state (per direction).</summary>
    public int HiddenSize { get; }
    /// <summary>Stacked layers.</summary>
    public int NumLayers { get; }
    /// <summary>Whether the layers have biases.</summary>
    public bool HasBias { get; }
    /// <summary>Whether inputs and outputs are [B, T, features] rather than [T, B, features].</summary>
    public bool BatchFirst { get; }
    /// <summary>Dropout probability applied to the outputs of every layer but the last, in training mode.</summary>
    public float Dropout { get; }
    /// <summary>Whether each layer also runs backwards in time (outputs concatenated on the feature axis).</summary>
    public bool Bidirectional { get; }
    /// <summary>Directions per layer (1 or 2).</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>A parameter by its PyTorch name, e.g. <c>weight_hh_l1_reverse</c>.</summary>
    public Parameter GetParameter(string name) =>
        parameters.FirstOrDefault(p => p.Name == name).Parameter ?? throw new KeyNotFoundException($"{GetType().Name}: no parameter '{name}'.");

    /// <summary>The weights of layer <paramref name="layer"/>, direction <paramref name="direction"/> (1 = reverse).</summary>
    public RecurrentWeights Weights(int layer, int direction = 0) => layers[layer][direction];

    /// <inheritdoc/>
    public virtual JsonObject GetConfig()
    {
        var c = new JsonObject
        {
            ["input_size"] = InputSize,
            ["hidden_size"] = HiddenSize,
            ["num_layers"] = NumLayers,
            ["bias"] = HasBias,
            ["batch_first"] = BatchFirst,
            ["dropout"] = Dropout,
            ["bidirectional"] = Bidirectional,
        };
        if (Mode is RecurrentMode.RnnTanh or RecurrentMode.RnnRelu) c["nonlinearity"] = Mode == RecurrentMode.RnnRelu ? "relu" : "tanh";
        return c;
    }

    /// <summary>Re-draws all weights and biases from U(−1/√H, 1/√H).</summary>
    public void ResetParameters(Random rng)
    {
        float k = 1f / MathF.Sqrt(HiddenSize);
        foreach (var (_, p) in parameters) Init.FillUniform(p, rng, -k, k);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Run(input, null, null, null).Output;

    /// <summary>Runs the stack; states are [L·D, B, H] (or [L·D, H] for an unbatched input).</summary>
    protected (Tensor Output, Tensor H, Tensor? C) Run(Tensor input, Tensor? h0, Tensor? c0, int[]? lengths)
    {
        string name = GetType().Name;
        bool unbatched = input.Rank == 2;
        if (input.Rank is not (2 or 3) || input.Shape[^1] != InputSize)
            throw new ShapeMismatchException(Describe(), input.Shape, null,
                $"expects input {(BatchFirst ? "[B, T, " : "[T, B, ")}{InputSize}] (or unbatched [T, {InputSize}])");
        var x = unbatched ? Ops.Reshape(input, input.Shape[0], 1, InputSize) : BatchFirst ? Ops.Transpose(input, 0, 1) : input;
        int B = x.Shape[1], D = Directions, L = NumLayers;
        h0 = PrepareState(h0, "h0", unbatched, B);
        c0 = PrepareState(c0, "c0", unbatched, B);
        var hs = new Tensor[L];
        var cs = Mode == RecurrentMode.Lstm ? new Tensor[L] : null;
        for (int l = 0; l < L; l++)
        {
            var hl = h0 is null ? null : L == 1 ? h0 : Ops.Narrow(h0, 0, l * D, D);
            var cl = c0 is null ? null : L == 1 ? c0 : Ops.Narrow(c0, 0, l * D, D);
            var (y, h, c) = Ops.RecurrentLayer(Mode, x, layers[l], hl, cl, lengths);
            hs[l] = h;
            if (cs is not null) cs[l] = c!;
            x = l < L - 1 && IsTraining && Dropout > 0f ? ApplyDropout(y) : y;
        }
        var hN = L == 1 ? hs[0] : Ops.Concat(hs, 0);
        var cN = cs is null ? null : L == 1 ? cs[0] : Ops.Concat(cs, 0);
        if (unbatched)
        {
            int T = x.Shape[0];
            return (Ops.Reshape(x, T, D * HiddenSize), Ops.Reshape(hN, L * D, HiddenSize), cN is null ? null : Ops.Reshape(cN, L * D, HiddenSize));
        }
        return (BatchFirst ? Ops.Transpose(x, 0, 1) : x, hN, cN);

        Tensor? PrepareState(Tensor? s, string what, bool single, int batch)
        {
            if (s is null) return null;
            var want = single ? new Shape(L * D, HiddenSize) : new Shape(L * D, batch, HiddenSize);
            if (s.Shape != want) throw new ShapeMismatchException($"{name}.Forward({what})", want, s.Shape, "initial state must be [layers·directions, B, hidden]");
            return single ? Ops.Reshape(s, L * D, 1, HiddenSize) : s;
        }
    }

    private Tensor ApplyDropout(Tensor y)
    {
        var r = rng ?? RandomSource.Shared;
        var mask = new Tensor(y.Shape);
        float keep = 1f / (1f - Dropout);
        var m = mask.Data;
        for (int i = 0; i < m.Length; i++) m[i] = r.NextSingle() >= Dropout ? keep : 0f;
        return y * mask;
    }

    /// <inheritdoc/>
    public override string Describe()
    {
        var parts = new List<string> { $"{InputSize} => {HiddenSize}" };
        if (NumLayers != 1) parts.Add($"layers={NumLayers}");
        if (Mode == RecurrentMode.RnnRelu) parts.Add("nonlinearity=relu");
        if (!HasBias) parts.Add("bias=false");
        if (BatchFirst) parts.Add("batch_first=true");
        if (Dropout > 0) parts.Add($"dropout={Dropout}");
        if (Bidirectional) parts.Add("bidirectional=true");
        return $"{GetType().Name}({string.Join(", ", parts)})";
    }
}

/// <summary>
/// Elman RNN (PyTorch's <c>nn.RNN</c>): hₜ = tanh(xₜ·Wᵢₕᵀ + bᵢₕ + hₜ₋₁·Wₕₕᵀ + bₕₕ), or ReLU instead of tanh.
/// </summary>
public sealed class Rnn : RecurrentBase
{
    /// <summary>Creates the layer stack.</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="nonlinearity">"tanh" or "relu".</param>
    /// <param name="bias">Whether to use biases.</param>
    /// <param name="batchFirst">Input and output as [B, T, features].</param>
    /// <param name="dropout">Dropout between layers (training mode).</param>
    /// <param name="bidirectional">Also run backwards in time.</param>
    /// <param name="rng">Initialisation and dropout generator (default <see cref="RandomSource.Shared"/>).</param>
    public Rnn(int inputSize, int hiddenSize, int numLayers = 1, string nonlinearity = "tanh", bool bias = true, bool batchFirst = false,
        float dropout = 0f, bool bidirectional = false, Random? rng = null)
        : base(ParseNonlinearity(nonlinearity), inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, rng) { }

    /// <summary>"tanh" or "relu".</summary>
    public string Nonlinearity => Mode == RecurrentMode.RnnRelu ? "relu" : "tanh";

    internal static RecurrentMode ParseNonlinearity(string s) => s switch
    {
        "tanh" => RecurrentMode.RnnTanh,
        "relu" => RecurrentMode.RnnRelu,
        _ => throw new ArgumentException($"Rnn: nonlinearity '{s}' is not 'tanh' or 'relu'."),
    };

    /// <summary>Output [T, B, D·H] and final hidden states [L·D, B, H].</summary>
    /// <param name="input">[T, B, I] (or [B, T, I] when batch-first).</param>
    /// <param name="h0">Initial hidden states [L·D, B, H], or null for zeros.</param>
    /// <param name="lengths">Valid steps per sequence, or null.</param>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0, int[]? lengths = null)
    {
        var (y, h, _) = Run(input, h0, null, lengths);
        return (y, h);
    }
}

/// <summary>
/// Gated recurrent unit (PyTorch's <c>nn.GRU</c>): r = σ(Wᵢᵣx + bᵢᵣ + Wₕᵣh + bₕᵣ), z likewise,
/// n = tanh(Wᵢₙx + bᵢₙ + r⊙(Wₕₙh + bₕₙ)), h' = (1 − z)⊙n + z⊙h; gates stacked r, z, n.
/// </summary>
public sealed class Gru : RecurrentBase
{
    /// <summary>Creates the layer stack (arguments as <see cref="Rnn"/>'s).</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to use biases.</param>
    /// <param name="batchFirst">Input and output as [B, T, features].</param>
    /// <param name="dropout">Dropout between layers (training mode).</param>
    /// <param name="bidirectional">Also run backwards in time.</param>
    /// <param name="rng">Initialisation and dropout generator.</param>
    public Gru(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
        float dropout = 0f, bool bidirectional = false, Random? rng = null)
        : base(RecurrentMode.Gru, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, rng) { }

    /// <summary>Output [T, B, D·H] and final hidden states [L·D, B, H].</summary>
    /// <param name="input">[T, B, I] (or [B, T, I] when batch-first).</param>
    /// <param name="h0">Initial hidden states [L·D, B, H], or null for zeros.</param>
    /// <param name="lengths">Valid steps per sequence, or null.</param>
    public (Tensor Output, Tensor H) Forward(Tensor input, Tensor? h0, int[]? lengths = null)
    {
        var (y, h, _) = Run(input, h0, null, lengths);
        return (y, h);
    }
}

/// <summary>
/// Long short-term memory (PyTorch's <c>nn.LSTM</c>): gates i, f, g, o stacked in that order,
/// c' = f⊙c + i⊙g, h' = o⊙tanh(c').
/// </summary>
public sealed class Lstm : RecurrentBase
{
    /// <summary>Creates the layer stack (arguments as <see cref="Rnn"/>'s).</summary>
    /// <param name="inputSize">Features per input step.</param>
    /// <param name="hiddenSize">Features of the hidden state.</param>
    /// <param name="numLayers">Stacked layers.</param>
    /// <param name="bias">Whether to use biases.</param>
    /// <param name="batchFirst">Input and output as [B, T, features].</param>
    /// <param name="dropout">Dropout between layers (training mode).</param>
    /// <param name="bidirectional">Also run backwards in time.</param>
    /// <param name="rng">Initialisation and dropout generator.</param>
    public Lstm(int inputSize, int hiddenSize, int numLayers = 1, bool bias = true, bool batchFirst = false,
        float dropout = 0f, bool bidirectional = false, Random? rng = null)
        : base(RecurrentMode.Lstm, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional, rng) { }

    /// <summary>Output [T, B, D·H], final hidden states and final cell states [L·D, B, H].</summary>
    /// <param name="input">[T, B, I] (or [B, T, I] when batch-first).</param>
    /// <param name="h0">Initial hidden states [L·D, B, H], or null for zeros.</param>
    /// <param name="c0">Initial cell states [L·D, B, H], or null for zeros.</param>
    /// <param name="lengths">Valid steps per sequence, or null.</param>
    public (Tensor Output, Tensor H, Tensor C) Forward(Tensor input, Tensor? h0, Tensor? c0, int[]? lengths = null)
    {
        var (y, h, c) = Run(input, h0, c0, lengths);
        return (y, h, c!);
    }
}
