using Nabla.Nn;
using Nabla.Sequences;

namespace Nabla.Tests.Nn;

public static partial class LayerExamples
{
    static partial void AddRecurrent(Dictionary<string, LayerExample> t)
    {
        t["Rnn"] = new(() => new Rnn(3, 4, numLayers: 2, bidirectional: true), [4, 2, 3], [4, 2, 5]);
        t["Gru"] = new(() => new Gru(3, 4, batchFirst: true), [2, 4, 3], [2, 4, 2]);
        t["Lstm"] = new(() => new Lstm(3, 4, numLayers: 2, bidirectional: true, dropout: 0.2f), [4, 2, 3], [4, 2, 5], Stochastic: true);
        t["RnnCell"] = new(() => new RnnCell(3, 4, nonlinearity: "tanh"), [2, 3], [2, 4]);
        t["GruCell"] = new(() => new GruCell(3, 4), [2, 3], [2, 4]);
        t["LstmCell"] = new(() => new LstmCell(3, 4), [2, 3], [2, 4]);
        t["Highway"] = new(() => new Highway(4), [3, 4], [3, 5]);
        // No padding index here: its row gets no gradient by design, which central differences would flag
        // (RecurrentTests covers it). A "bad" input is one of non-whole numbers.
        t["Embedding"] = new(() => new Embedding(6, 3), [2, 3], [2, 3],
            MakeInput: s => { var r = new Random(s); return Tensor.FromArray(Enumerable.Range(0, 6).Select(_ => (float)r.Next(6)).ToArray(), 2, 3); },
            InputIsDifferentiable: false);
    }

    static partial void AddSequences(Dictionary<string, LayerExample> t)
    {
        t["LineReader"] = new(() => new LineReader(5, hidden: 3, layers: 1, classes: 4), [4, 2, 5], [4, 2, 6]);
    }
}
