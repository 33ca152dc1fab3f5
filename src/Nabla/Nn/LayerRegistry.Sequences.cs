using Nabla.Sequences;

namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // Sequence recognition models (src/Nabla/Sequences).
    static partial void RegisterSequences()
    {
        Register("LineReader", c => new LineReader(c.Int("features", min: 1), c.Int("hidden", 128, min: 1), c.Int("layers", 2, min: 1),
            c.Int("classes", 11, min: 2)));
    }
}
