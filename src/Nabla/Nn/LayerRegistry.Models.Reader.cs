using Nabla.Models;

namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // The CNN + LSTM line reader (issue 8).
    static partial void RegisterReaderModels()
    {
        Register("CrnnReader", c => new CrnnReader(c.Int("height", 28, min: 4, max: 4096), c.Int("classes", 11, min: 2, max: 1 << 20),
            c.Int("hidden", 128, min: 1, max: 1 << 16), c.Int("layers", 2, min: 1, max: 64), c.Ints("channels", [32, 64, 64], min: 1)));
    }
}
