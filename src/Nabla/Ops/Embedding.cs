using Nabla.Autograd;

namespace Nabla;

public static partial class Ops
{
    /// <summary>
    /// Rows of <paramref name="weight"/> [V, E] picked by <paramref name="indices"/> (laid out as
    /// <paramref name="shape"/>), giving [shape..., E]. Backward adds each output row's gradient
    /// into its table row, except for <paramref name="paddingIndex"/>.
    /// </summary>
    public static Tensor Embedding(Tensor weight, int[] indices, int[] shape, int? paddingIndex = null)
    {
        if (weight.Rank != 2) throw new ShapeMismatchException("Embedding", weight.Shape, null, "weight must be [num_embeddings, dim]");
        int V = weight.Shape[0], E = weight.Shape[1];
        var idxShape = new Shape(shape);
        if (idxShape.Size != indices.Length)
            throw new ArgumentException($"Embedding: {indices.Length} indices do not fill shape {idxShape}.");
        for (int i = 0; i < indices.Length; i++)
            if ((uint)indices[i] >= (uint)V)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Embedding: index {indices[i]} at position {i} is outside [0, {V}).");
        var outDims = new int[shape.Length + 1];
        shape.CopyTo(outDims, 0);
        outDims[^1] = E;
        var r = Tensor.Uninitialized(new Shape(outDims));
        for (int i = 0; i < indices.Length; i++) weight.Data.Slice(indices[i] * E, E).CopyTo(r.Data.Slice(i * E, E));
        if (Graph.NeedsGrad(weight))
            Graph.Record(r, "Embedding", [weight], g =>
            {
                var gw = weight.GradBuffer().Data;
                for (int i = 0; i < indices.Length; i++)
                    if (indices[i] != paddingIndex) AddInPlace(gw.Slice(indices[i] * E, E), g.Data.Slice(i * E, E));
            });
        return r;
    }
}
