using System.Text.Json.Nodes;

namespace Nabla.Nn;

/// <summary>
/// A lookup table (PyTorch's <c>nn.Embedding</c>): integer indices [...] → rows of
/// <c>weight</c> [num_embeddings, embedding_dim], output [..., embedding_dim]. Weights start N(0, 1).
/// The row of <see cref="PaddingIndex"/>, if set, starts at zero and receives no gradient.
/// </summary>
public sealed class Embedding : Module, IConfigurable
{
    /// <summary>Creates the table.</summary>
    /// <param name="numEmbeddings">Rows (the vocabulary size).</param>
    /// <param name="embeddingDim">Features per row.</param>
    /// <param name="paddingIndex">A row kept at zero without gradient (negative counts from the end), or null.</param>
    /// <param name="rng">Initialisation generator.</param>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIndex = null, Random? rng = null)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new ArgumentException($"Embedding({numEmbeddings}, {embeddingDim}): sizes must be positive.");
        if (paddingIndex is { } p)
        {
            if (p < -numEmbeddings || p >= numEmbeddings)
                throw new ArgumentOutOfRangeException(nameof(paddingIndex), $"Embedding: padding index {p} is outside [-{numEmbeddings}, {numEmbeddings}).");
            paddingIndex = p < 0 ? p + numEmbeddings : p;
        }
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        PaddingIndex = paddingIndex;
        Weight = RegisterParameter("weight", new Parameter(numEmbeddings, embeddingDim));
        Tensor.FillNormal(Weight.Data, 0f, 1f, rng ?? RandomSource.Shared);
        if (paddingIndex is { } pi) Weight.Data.Slice(pi * embeddingDim, embeddingDim).Clear();
    }

    /// <summary>Rows of the table.</summary>
    public int NumEmbeddings { get; }
    /// <summary>Features per row.</summary>
    public int EmbeddingDim { get; }
    /// <summary>The padding row, or null.</summary>
    public int? PaddingIndex { get; }
    /// <summary>The table [num_embeddings, embedding_dim].</summary>
    public Parameter Weight { get; }

    /// <summary>Looks up indices given as a float tensor of whole numbers (shape [...] → [..., dim]).</summary>
    public override Tensor Forward(Tensor input)
    {
        var idx = new int[input.Length];
        var d = input.Data;
        for (int i = 0; i < idx.Length; i++)
        {
            float v = d[i];
            if (v != MathF.Floor(v) || float.IsNaN(v))
                throw new ArgumentException($"Embedding: input element {i} is {v}, not a whole-number index.");
            idx[i] = (int)v;
        }
        return Forward(idx, input.Shape.ToArray());
    }

    /// <summary>Looks up <paramref name="indices"/> laid out with <paramref name="shape"/> (default 1-D).</summary>
    public Tensor Forward(int[] indices, params int[] shape) =>
        Ops.Embedding(Weight, indices, shape.Length == 0 ? [indices.Length] : shape, PaddingIndex);

    /// <inheritdoc/>
    public JsonObject GetConfig()
    {
        var c = new JsonObject { ["num_embeddings"] = NumEmbeddings, ["embedding_dim"] = EmbeddingDim };
        if (PaddingIndex is { } p) c["padding_idx"] = p;
        return c;
    }

    /// <inheritdoc/>
    public override string Describe() => $"Embedding({NumEmbeddings}, {EmbeddingDim}{(PaddingIndex is { } p ? $", padding_idx={p}" : "")})";
}
