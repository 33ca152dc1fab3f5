using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// Batch normalisation over channel axis 1 (the shared part of <see cref="BatchNorm1d"/> and
/// <see cref="BatchNorm2d"/>). Learnable γ (<c>weight</c>, ones) and β (<c>bias</c>, zeros) when
/// affine; running statistics <c>running_mean</c> (zeros), <c>running_var</c> (ones) and
/// <c>num_batches_tracked</c> kept as buffers, as PyTorch names them, so that state dicts
/// interchange. Training mode normalises with the batch's statistics and updates the running ones
/// (momentum 0.1; null momentum means a cumulative average); evaluation mode uses the running ones.
/// </summary>
public abstract class BatchNormBase : Module, IConfigurable
{
    private protected BatchNormBase(int numFeatures, float eps, float? momentum, bool affine, bool trackRunningStats)
    {
        string name = GetType().Name;
        if (numFeatures <= 0) throw new ArgumentException($"{name}: feature count {numFeatures} must be positive.");
        if (!(eps > 0) || !float.IsFinite(eps)) throw new ArgumentException($"{name}: eps {eps} must be positive.");
        if (momentum is float m && !(m >= 0 && m <= 1)) throw new ArgumentException($"{name}: momentum {m} must be in [0, 1].");
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum; Affine = affine; TrackRunningStats = trackRunningStats;
        if (affine)
        {
            Weight = RegisterParameter("weight", new Parameter(Tensor.Ones(numFeatures)));
            Bias = RegisterParameter("bias", new Parameter(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = RegisterBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = RegisterBuffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = RegisterBuffer("num_batches_tracked", Tensor.Scalar(0f));
        }
    }

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }
    /// <summary>Added to the variance before the square root.</summary>
    public float Eps { get; }
    /// <summary>Weight of the newest batch in the running statistics; null: cumulative average.</summary>
    public float? Momentum { get; }
    /// <summary>Whether γ and β are learned.</summary>
    public bool Affine { get; }
    /// <summary>Whether running statistics are kept (else batch statistics are used in evaluation too).</summary>
    public bool TrackRunningStats { get; }
    /// <summary>γ [C], or null when not affine.</summary>
    public Parameter? Weight { get; }
    /// <summary>β [C], or null when not affine.</summary>
    public Parameter? Bias { get; }
    /// <summary>The running mean [C] (a buffer: saved, not learned).</summary>
    public Tensor? RunningMean { get; }
    /// <summary>The running (unbiased) variance [C] (a buffer).</summary>
    public Tensor? RunningVar { get; }
    /// <summary>How many training batches have updated the running statistics (a buffer).</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <summary>Checks the input rank and channel count.</summary>
    private protected abstract void CheckInput(Tensor input);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, Activation.None);

    /// <summary>The batch norm followed by <paramref name="activation"/> (none or ReLU), fused into one op.</summary>
    public Tensor Forward(Tensor input, Activation activation)
    {
        CheckInput(input);
        if (input.Shape[1] != NumFeatures)
            throw new ShapeMismatchException(Describe(), input.Shape, null, $"expects {NumFeatures} channels on axis 1");
        bool useBatch = IsTraining || !TrackRunningStats;
        float momentum = Momentum ?? 0f;
        if (IsTraining && TrackRunningStats)
        {
            NumBatchesTracked!.Data[0] += 1;
            if (Momentum is null) momentum = 1f / NumBatchesTracked.Data[0];
        }
        bool update = IsTraining && TrackRunningStats;
        return Ops.BatchNorm(input, update || !useBatch ? RunningMean : null, update || !useBatch ? RunningVar : null, Weight, Bias, useBatch, momentum, Eps, activation);
    }

    /// <summary>The constructor arguments as JSON (PyTorch's names).</summary>
    public JsonObject GetConfig() => new()
    {
        ["num_features"] = NumFeatures, ["eps"] = Eps, ["momentum"] = Momentum is float m ? JsonValue.Create(m) : null,
        ["affine"] = Affine, ["track_running_stats"] = TrackRunningStats,
    };

    /// <inheritdoc/>
    public override string Describe() =>
        $"{GetType().Name}({NumFeatures}, eps={Eps:G}, momentum={(Momentum is float m ? m.ToString("G", System.Globalization.CultureInfo.InvariantCulture) : "None")}, affine={Affine}, track_running_stats={TrackRunningStats})";
}

/// <summary>Batch normalisation of [N, C] features or [N, C, L] sequences (PyTorch's <c>nn.BatchNorm1d</c>).</summary>
public sealed class BatchNorm1d : BatchNormBase
{
    /// <summary>Creates the layer.</summary>
    public BatchNorm1d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats) { }

    private protected override void CheckInput(Tensor input)
    {
        if (input.Rank is not (2 or 3)) throw new ShapeMismatchException(Describe(), input.Shape, null, $"expects input [N, {NumFeatures}] or [N, {NumFeatures}, L]");
    }
}

/// <summary>Batch normalisation of [N, C, H, W] images per channel (PyTorch's <c>nn.BatchNorm2d</c>).</summary>
public sealed class BatchNorm2d : BatchNormBase
{
    /// <summary>Creates the layer.</summary>
    public BatchNorm2d(int numFeatures, float eps = 1e-5f, float? momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
        : base(numFeatures, eps, momentum, affine, trackRunningStats) { }

    private protected override void CheckInput(Tensor input)
    {
        if (input.Rank != 4) throw new ShapeMismatchException(Describe(), input.Shape, null, $"expects input [N, {NumFeatures}, H, W]");
    }
}
