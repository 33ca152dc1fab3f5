namespace Nabla.Onnx;

/// <summary>
/// A tensor in the ONNX graph being built: its name in the graph, and the value Nabla computes for
/// it on the sample input (which gives its shape while exporting: a layer's export can look at the
/// shape it receives, as torch.onnx's symbolic functions do).
/// </summary>
public sealed class OnnxValue
{
    internal OnnxValue(string name, Tensor sample)
    {
        Name = name;
        Sample = sample;
    }

    /// <summary>The value's name in the ONNX graph.</summary>
    public string Name { get; }

    /// <summary>What Nabla computes for this value on the sample input.</summary>
    public Tensor Sample { get; }

    /// <summary>The value's shape on the sample input (its batch dimension is dynamic in the exported graph).</summary>
    public Shape Shape => Sample.Shape;

    /// <summary>The value's rank.</summary>
    public int Rank => Sample.Rank;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Shape}";
}
