namespace Nabla.Nn;

public static partial class LayerRegistry
{
    // The zoo: each family registers its models in a method of its own file.
    static partial void RegisterModels()
    {
        RegisterConvModels();
        RegisterReaderModels();
    }

    static partial void RegisterReaderModels();
}
