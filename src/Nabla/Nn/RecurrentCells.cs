using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// The shared body of <see cref="RnnCell"/>, <see cref="GruCell"/> and <see cref="LstmCell"/>: one
/// time step for custom loops, with PyTorch's names (<c>weight_ih</c> [G·H, I], <c>weight_hh</c>
/// [G·H, H], <c>bias_ih</c>, <c>bias_hh</c>). Input [B, I] (or unbatched [I]), states [B, H].
/// A step runs the same fused op as the sequence layers with one time step.
/// </summary>
public abstract class RecurrentCellBase : Module, IConfigurable
{
    private readonly List<(string Name, Parameter Parameter)> parameters = new();

    /// <summary>Creates the weights, initialised from U(−1/√H, 1/√H) as in PyTorch.</summary>
    protected RecurrentCellBase(RecurrentMode mode, int inputSize, int hiddenSize, bool bias, Random? rng)
    {
        if (inputSize <= 0 || hiddenSize <= 0) throw new ArgumentException($"{GetType().Name}: input size {inputSize} and hidden size {hiddenSize} must be positive.");
        Mode = mode;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        HasBias = bias;
        int GH = Ops.GateCount(mode) * hiddenSize;
        var wih = RegisterParameter("weight_ih", new Parameter(GH, inputSize)); parameters.Add(("weight_ih", wih));
        var whh = RegisterParameter("weight_hh", new Parameter(GH, hiddenSize)); parameters.Add(("weight_hh", whh));
        Parameter? bih = null, bhh = null;
        if (bias)
        {
            bih = RegisterParameter("bias_ih", new Parameter(GH)); parameters.Add(("bias_ih", bih));
            bhh = RegisterParameter("bias_hh", new Parameter(GH)); parameters.Add(("bias_hh", bhh));
        }
        Weights = new RecurrentWeights(wih, whh, bih, bhh);
        float k = 1f / MathF.Sqrt(hiddenSize);
        var r = rng ?? RandomSource.Shared;
        foreach (var (_, p) in parameters) Init.FillUniform(p, r, -k, k);
    }

    /// <summary>The cell.</summary>
    public RecurrentMode Mode { get; }
    /// <summary>Input features.</summary>
    public int InputSize { get; }
    /// <summary>Hidden features.</summary>
    public int HiddenSize { get; }
    /// <summary>Whether the cell has biases.</summary>
    public bool HasBias { get; }
    /// <summary>The gate-stacked weights.</summary>
    public RecurrentWeights Weights { get; }

    /// <inheritdoc/>
    public JsonObject GetConfig()
    {
        var c = new JsonObject { ["input_size"] = InputSize, ["hidden_size"] = HiddenSize, ["bias"] = HasBias };
        if (Mode is RecurrentMode.RnnTanh or RecurrentMode.RnnRelu) c["nonlinearity"] = Mode == RecurrentMode.RnnRelu ? "relu" : "tanh";
        return c;
    }

    /// <summary>One step: the new hidden state and, for LSTM, the new cell state.</summary>
    protected (Tensor H, Tensor? C) Step(Tensor x, Tensor? h, Tensor? c)
    {
        bool unbatched = x.Rank == 1;
        if (x.Rank is not (1 or 2) || x.Shape[^1] != InputSize)
            throw new ShapeMismatchException(Describe(), x.Shape, null, $"expects input [B, {InputSize}] or [{InputSize}]");
        int B = unbatched ? 1 : x.Shape[0];
        var want = unbatched ? new Shape(HiddenSize) : new Shape(B, HiddenSize);
        if (h is not null && h.Shape != want) throw new ShapeMismatchException(Describe() + " hidden state", want, h.Shape, "state must match the batch");
        if (c is not null && c.Shape != want) throw new ShapeMismatchException(Describe() + " cell state", want, c.Shape, "state must match the batch");
        var (y, _, cN) = Ops.RecurrentLayer(Mode, Ops.Reshape(x, 1, B, InputSize), [Weights],
            h is null ? null : Ops.Reshape(h, 1, B, HiddenSize), c is null ? null : Ops.Reshape(c, 1, B, HiddenSize));
        var shape = want.ToArray();
        return (Ops.Reshape(y, shape), cN is null ? null : Ops.Reshape(cN, shape));
    }

    /// <inheritdoc/>
    public override string Describe() => $"{GetType().Name}({InputSize} => {HiddenSize}{(HasBias ? "" : ", bias=false")}"
        + (Mode == RecurrentMode.RnnRelu ? ", nonlinearity=relu)" : ")");
}

/// <summary>One Elman RNN step: h' = tanh(x·Wᵢₕᵀ + bᵢₕ + h·Wₕₕᵀ + bₕₕ) (or ReLU).</summary>
public sealed class RnnCell : RecurrentCellBase
{
    /// <summary>Creates the cell; <paramref name="nonlinearity"/> is "tanh" or "relu".</summary>
    public RnnCell(int inputSize, int hiddenSize, bool bias = true, string nonlinearity = "tanh", Random? rng = null)
        : base(Rnn.ParseNonlinearity(nonlinearity), inputSize, hiddenSize, bias, rng) { }

    /// <summary>"tanh" or "relu".</summary>
    public string Nonlinearity => Mode == RecurrentMode.RnnRelu ? "relu" : "tanh";

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The next hidden state from input [B, I] and hidden state [B, H] (null for zeros).</summary>
    public Tensor Forward(Tensor input, Tensor? h) => Step(input, h, null).H;
}

/// <summary>One GRU step (gates r, z, n; the reset gate scales the hidden projection, as in PyTorch).</summary>
public sealed class GruCell : RecurrentCellBase
{
    /// <summary>Creates the cell.</summary>
    public GruCell(int inputSize, int hiddenSize, bool bias = true, Random? rng = null)
        : base(RecurrentMode.Gru, inputSize, hiddenSize, bias, rng) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>The next hidden state from input [B, I] and hidden state [B, H] (null for zeros).</summary>
    public Tensor Forward(Tensor input, Tensor? h) => Step(input, h, null).H;
}

/// <summary>One LSTM step (gates i, f, g, o).</summary>
public sealed class LstmCell : RecurrentCellBase
{
    /// <summary>Creates the cell.</summary>
    public LstmCell(int inputSize, int hiddenSize, bool bias = true, Random? rng = null)
        : base(RecurrentMode.Lstm, inputSize, hiddenSize, bias, rng) { }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null, null).H;

    /// <summary>The next hidden and cell states from input [B, I] and the states [B, H] (null for zeros).</summary>
    public (Tensor H, Tensor C) Forward(Tensor input, Tensor? h, Tensor? c)
    {
        var (hn, cn) = Step(input, h, c);
        return (hn, cn!);
    }
}
