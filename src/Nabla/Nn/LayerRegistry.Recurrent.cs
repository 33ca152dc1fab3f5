namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // The recurrent family: configs under PyTorch's argument names (input_size, hidden_size, …).
    static partial void RegisterRecurrent()
    {
        Register("Rnn", c => new Rnn(c.Int("input_size", min: 1), c.Int("hidden_size", min: 1), c.Int("num_layers", 1, min: 1),
            c.String("nonlinearity", "tanh", "tanh", "relu"), c.Bool("bias", true), c.Bool("batch_first", false),
            c.Float("dropout", 0f, 0f, 0.999f), c.Bool("bidirectional", false)));
        Register("Gru", c => new Gru(c.Int("input_size", min: 1), c.Int("hidden_size", min: 1), c.Int("num_layers", 1, min: 1),
            c.Bool("bias", true), c.Bool("batch_first", false), c.Float("dropout", 0f, 0f, 0.999f), c.Bool("bidirectional", false)));
        Register("Lstm", c => new Lstm(c.Int("input_size", min: 1), c.Int("hidden_size", min: 1), c.Int("num_layers", 1, min: 1),
            c.Bool("bias", true), c.Bool("batch_first", false), c.Float("dropout", 0f, 0f, 0.999f), c.Bool("bidirectional", false)));
        Register("RnnCell", c => new RnnCell(c.Int("input_size", min: 1), c.Int("hidden_size", min: 1), c.Bool("bias", true),
            c.String("nonlinearity", "tanh", "tanh", "relu")));
        Register("GruCell", c => new GruCell(c.Int("input_size", min: 1), c.Int("hidden_size", min: 1), c.Bool("bias", true)));
        Register("LstmCell", c => new LstmCell(c.Int("input_size", min: 1), c.Int("hidden_size", min: 1), c.Bool("bias", true)));
        Register("Highway", c => new Highway(c.Int("features", min: 1), Highway.ParseActivation(c.String("activation", "none", "none", "relu", "sigmoid", "tanh")),
            c.Float("gate_bias", -2f)));
        Register("Embedding", c =>
        {
            int n = c.Int("num_embeddings", min: 1);
            return new Embedding(n, c.Int("embedding_dim", min: 1), c.Has("padding_idx") ? c.Int("padding_idx", min: -n, max: n - 1) : null);
        });
    }
}
